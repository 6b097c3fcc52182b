# Reference results of surveillance::farringtonFlexible for the Python cross-check.
#
# Not part of the product or of the tests: the tests read the JSON this produces
# (tests/fixtures/signals/farrington_r.json). Run it through the driver, which writes the
# input and merges the output:
#
#   apt-get install -y r-base-core r-cran-surveillance    # once, by hand (jsonlite comes with it)
#   .venv/bin/python -m hmis_dev.r_reference.make_farrington_fixture
#
# or by itself: Rscript dev/hmis_dev/r_reference/farrington.R INPUT.json OUTPUT.json
# INPUT holds {"cases": [{"name", "series", "population" (or null), "control"}]}, with
# control in R's names (b, w, noPeriods, ...); missing counts are null. OUTPUT holds, per
# case, what the sts object returned for the default range, or the error R raised.

suppressPackageStartupMessages({
  library(jsonlite)
  library(surveillance)
})

args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 2) stop("usage: Rscript farrington.R INPUT.json OUTPUT.json")
input <- fromJSON(args[1], simplifyVector = TRUE, simplifyDataFrame = FALSE)

run_case <- function(case) {
  y <- as.numeric(sapply(case$series, function(v) if (is.null(v)) NA else v))
  population <- if (is.null(case$population)) NULL else matrix(as.numeric(case$population), ncol = 1)
  series <- if (is.null(population)) {
    sts(observed = matrix(y, ncol = 1), start = c(2000, 1), frequency = 12)
  } else {
    sts(observed = matrix(y, ncol = 1), start = c(2000, 1), frequency = 12, population = population)
  }
  # Settings are scalars except limit54; jsonlite reads them as length-1 vectors already.
  control <- case$control
  control$glmWarnings <- FALSE
  if (!is.null(control$limit54)) control$limit54 <- as.numeric(control$limit54)
  result <- tryCatch(farringtonFlexible(series, control = control),
                     error = function(e) conditionMessage(e))
  if (is.character(result)) return(list(name = unbox(case$name), error = unbox(result)))
  list(
    name = unbox(case$name),
    first = unbox(length(y) - nrow(observed(result)) + 1L),  # the default range runs to the end
    upperbound = as.numeric(upperbound(result)[, 1]),
    alarm = as.logical(alarms(result)[, 1]),
    expected = as.numeric(result@control$expected[, 1]),
    score = as.numeric(result@control$score[, 1]),
    pvalue = as.numeric(result@control$pvalue[, 1]),
    phi = as.numeric(result@control$phiVector[, 1]),
    trend = as.numeric(result@control$trend[, 1]),
    trendVector = as.numeric(result@control$trendVector[, 1]),
    mu0Vector = as.numeric(result@control$mu0Vector[, 1])
  )
}

results <- lapply(input$cases, run_case)
output <- list(
  r_version = unbox(R.version.string),
  surveillance_version = unbox(as.character(packageVersion("surveillance"))),
  results = results
)
writeLines(toJSON(output, digits = NA, na = "null"), args[2])
