"""The Farrington flexible method: an upper bound for this month from the same season of past years.

This module computes what the reference implementation computes: ``farringtonFlexible`` of
the R package ``surveillance`` (file ``R/farringtonFlexible.R`` and the Anscombe residuals and
weights of ``R/algo_farrington.R``, checked against release 1.20.3 on R 4.2.2; see
``tests/unit/signals/test_farrington.py``), for one regular series of counts with integer
time points (R's ``sts`` with ``epochAsDate = FALSE``). It covers the original method of
Farrington et al. (1996) and the improvements of Noufaily et al. (2013).

Parameters (R's name in brackets) and the reference's defaults:

* ``freq`` — periods per year (the ``sts`` frequency): 12 here, months;
* ``b`` = 5 — years back; ``w`` = 3 — half-window: the periods ``t - j*freq - w`` ..
  ``t - j*freq + w`` of the years ``j = 1..b`` are the reference values, with the current
  window ``t - w .. t``;
* ``no_periods`` [noPeriods] = 1 — with more than 1, the rest of every year (between two
  windows) also enters the fit, split into ``no_periods - 1`` blocks of nearly equal length,
  and a factor with one level per block (the windows are level ``no_periods``) carries the
  season (Noufaily);
* ``past_weeks_not_included`` [pastWeeksNotIncluded] = ``w`` — the last periods ``t - p ..
  t`` never enter the fit, so an outbreak that is building does not raise its own baseline;
* ``trend`` = True, ``p_threshold_trend`` [pThresholdTrend] = 0.05 — a linear trend is kept
  only if ``b >= 3``, its t-test's p-value is below the threshold and the prediction for
  ``t`` is not above the largest reference value; otherwise the model is refitted without;
* ``reweight`` = True, ``weights_threshold`` [weightsThreshold] = 2.58 — reference values
  whose standardised Anscombe residual is above the threshold (past outbreaks) get weight
  ``gamma / s^2``, the others ``gamma``, with ``gamma`` so the weights sum to the number
  of values; the model is refitted with these weights and the dispersion recomputed;
* ``alpha`` = 0.05 — one-sided level of the upper bound, ``z = qnorm(1 - alpha)``;
* ``threshold_method`` [thresholdMethod] = ``"delta"`` — ``"delta"``: Farrington's bound on
  the ``powertrans`` scale, ``U = (mu^e + z * sqrt(v))^(1/e)`` with ``e = 2/3`` (also
  ``1/2`` and ``"none"``, ``e = 1``) and ``v`` the variance of ``Y^e - mu^e`` by the delta
  method: ``(4/9) mu^(1/3) tau`` for 2/3, ``tau / 4`` for 1/2, ``mu tau`` for none, where
  ``tau = phi + se(mu)^2 / mu``. ``"nbPlugin"``: the ``1 - alpha`` quantile of a negative
  binomial with mean ``mu`` and variance ``phi * mu`` (Poisson if ``phi = 1``); ``"muan"``:
  the same quantile with the mean replaced by the ``1 - alpha`` quantile of its own
  estimate, ``exp(eta + z * se(eta))`` (Noufaily);
* ``powertrans`` = ``"2/3"``; ``fit_fun`` [fitFun] = ``"algo.farrington.fitGLM.flexible"``
  (the only one the reference has);
* ``limit54`` = (5, 4) — no alarm (and no bound) unless the last 4 periods, the current one
  included, hold at least 5 cases;
* ``population_offset`` [populationOffset] = False — with True, ``log(population)`` is an
  offset and ``population`` must be given.

The model is a quasi-Poisson GLM with log link on the reference values (missing values left
out), ``log mu = a [+ beta * t] [+ season(block)]``, time in periods from the series' first
(1-based, as in R), fitted as R's ``glm`` fits it (:mod:`hmis.signals.quasipoisson`). The
dispersion is ``phi = max(1, Pearson chi^2 / df)``. An alarm needs the count above the bound
(the reference's score ``(y - f) / (U - f) > 1``, ``f`` the prediction on the fit's scale),
enough recent cases (``limit54``) and a count above zero.

The monthly settings of this pipeline (:data:`MONTHLY_ORIGINAL`, :data:`MONTHLY_NOUFAILY`):
the reference's defaults are weekly (``b = 5`` years, ``w = 3`` weeks). No published
monthly convention for ``farringtonFlexible`` was found, so: ``b = 3`` — the history the
pipeline requires before it uses Farrington (issue 17), and the least with which the
reference allows a trend; ``w = 1`` — a 3-month window (the weekly ``w = 3`` is 7 weeks,
under 2 months; 5 months would flatten a 3-month monsoon peak). Noufaily's weekly settings
(10 periods: 9 five-week blocks between 7-week windows; 26 weeks left out; 2.58; the
negative binomial quantile with the estimated mean plugged in) become ``no_periods = 10``
(nine one-month blocks), 6 months left out, 2.58, ``nbPlugin``. Everything else is the
reference's default. ``benchmarks/alarm_budget.py`` measures what these settings cost in
false alarms and catch in outbreaks.

Where this differs from the reference: R stops with an error for a ``no_periods`` so large
that a block would be empty (its ``a:(a-1)`` ranges write the wrong periods), for a
``range`` whose windows reach before the series, and for a current level missing from the
fit; here each is an :class:`FarringtonError` with the reason. Where a seasonal block holds a
single reference value (possible with ``no_periods > 1`` and missing values), its leverage is
1 and R's Anscombe residual is ``+-Inf`` or NaN depending on rounding: no implementation can
reproduce that, and the cross-check avoids it.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import pandas as pd
from scipy import stats

from hmis.signals import quasipoisson

THRESHOLD_METHODS = ("delta", "nbPlugin", "muan")
POWER_TRANSFORMS = {"2/3": 2 / 3, "1/2": 1 / 2, "none": 1.0}
FIT_FUNCTIONS = ("algo.farrington.fitGLM.flexible",)
RESULT_COLUMNS = [
    "position", "observed", "expected", "upper_bound", "threshold", "alarm", "score", "p_value",
    "phi", "trend", "trend_coefficient", "mu0", "enough_cases",
]

# The reference's defaults (surveillance 1.20.3), apart from freq, which R takes from the series.
R_DEFAULTS = dict(
    b=5, w=3, reweight=True, weights_threshold=2.58, trend=True, p_threshold_trend=0.05, alpha=0.05,
    limit54=(5, 4), powertrans="2/3", fit_fun="algo.farrington.fitGLM.flexible", population_offset=False,
    no_periods=1, past_weeks_not_included=None, threshold_method="delta",
)
# Python parameter for each of R's control names (the cross-check passes R's lists).
R_CONTROL_NAMES = {
    "b": "b", "w": "w", "reweight": "reweight", "weightsThreshold": "weights_threshold", "trend": "trend",
    "pThresholdTrend": "p_threshold_trend", "alpha": "alpha", "limit54": "limit54", "powertrans": "powertrans",
    "fitFun": "fit_fun", "populationOffset": "population_offset", "noPeriods": "no_periods",
    "pastWeeksNotIncluded": "past_weeks_not_included", "thresholdMethod": "threshold_method",
}
# This pipeline's monthly settings: see the module docstring for why.
MONTHLY_ORIGINAL = dict(freq=12, b=3, w=1)
MONTHLY_NOUFAILY = dict(freq=12, b=3, w=1, no_periods=10, past_weeks_not_included=6, threshold_method="nbPlugin")
# R's qnbinom/qpois search for the smallest x with P(X <= x) >= p (1 - 64 eps), so a
# cumulative probability a rounding error below p still counts as reaching it.
QUANTILE_FUZZ = 1 - 64 * np.finfo(float).eps


class FarringtonError(ValueError):
    """Parameters or a series the method cannot work with; the message says why."""


@dataclass(frozen=True)
class _Model:
    fit: quasipoisson.Fit
    has_trend: bool
    phi: float
    # The weights R's object carries when summary() and predict() read it: after
    # reweighting, fitGLM.flexible stores the prior weights omega in model$weights, where
    # glm keeps the working weights, so R's standard errors and trend p-value use
    # sum(omega * r^2) / df with working residuals r. phi was taken before that, from the
    # true Pearson statistic. Reproduced as it is.
    summary_weights: np.ndarray

    def summary_dispersion(self) -> float:
        return self.fit.dispersion(self.summary_weights)


def first_evaluated(*, freq: int = 12, b: int = R_DEFAULTS["b"], w: int = R_DEFAULTS["w"]) -> int:
    """0-based position of the first period the reference evaluates by default (``freq * b + w``)."""
    return freq * b + w


def _exp(value: float) -> float:
    # R's exp overflows to Inf without a word; so does this.
    with np.errstate(over="ignore"):
        return float(np.exp(value))


def _r_max1(value: float) -> float:
    # R's max(x, 1) is NaN for a NaN x, where Python's max would give either.
    return value if np.isnan(value) else max(value, 1.0)


def _blocks(n: int, k: int, *, freq: int, b: int, w: int, p: int) -> np.ndarray:
    """Level of every period for time point ``k`` (1-based), NaN outside the fit (R's ``blocks``)."""
    levels = np.full(n + 1, np.nan)  # index 0 unused: positions are 1-based here, as in R
    levels[k - w : k + 1] = p
    for year in range(1, b + 1):
        reference = k - year * freq
        levels[reference - w : reference + w + 1] = p
        if p != 1:
            gap = freq - 2 * w - 1  # periods between two windows
            lengths = np.full(p - 1, gap // (p - 1))
            lengths[: gap % (p - 1)] += 1
            starts = reference + w + 1 + np.concatenate([[0], np.cumsum(lengths)])
            for level in range(1, p):
                levels[starts[level - 1] : starts[level]] = level
    return levels[1:]


def _design(wtime: np.ndarray, groups: np.ndarray, levels: np.ndarray, time_trend: bool, factors: bool) -> np.ndarray:
    columns = [np.ones(len(wtime))]
    if time_trend:
        columns.append(wtime)
    if factors:
        # Treatment contrasts: the first (smallest) level is the intercept's.
        columns += [(groups == level).astype(float) for level in levels[1:]]
    return np.column_stack(columns)


def _design_row(k: int, p: int, levels: np.ndarray, time_trend: bool, factors: bool) -> np.ndarray:
    return _design(np.array([float(k)]), np.array([float(p)]), levels, time_trend, factors)[0]


def _anscombe_residuals(fit: quasipoisson.Fit, y: np.ndarray, phi: float) -> np.ndarray:
    raw = 1.5 * (y ** (2 / 3) * fit.mu ** (-1 / 6) - fit.mu ** (1 / 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        return raw / np.sqrt(phi * (1 - fit.hat_values()))


def _outbreak_weights(s: np.ndarray, threshold: float) -> np.ndarray:
    above = s > threshold
    with np.errstate(divide="ignore"):
        inverse_square = np.where(above, s**-2.0, 1.0)
    gamma = len(s) / np.sum(inverse_square)
    return gamma * inverse_square


class _Data:
    """The reference values of one time point: R's ``algo.farrington.data.glm``."""

    def __init__(self, values, population, k, *, freq, b, w, p, left_out):
        levels_all = _blocks(len(values), k, freq=freq, b=b, w=w, p=p)
        in_fit = levels_all.copy()
        in_fit[max(k - left_out, 1) - 1 : k] = np.nan
        index = np.flatnonzero(~np.isnan(in_fit))
        # R makes the factor before dropping missing counts, so a level whose counts are
        # all missing still has a (zero) column: the QR then drops it, as R's does.
        self.levels = np.unique(levels_all[index])
        keep = index[~np.isnan(values[index])]
        self.y = values[keep]
        self.wtime = (keep + 1).astype(float)
        self.groups = levels_all[keep]
        self.offset = None if population is None else np.log(population[keep])


def _fit_flexible(data: _Data, *, time_trend, factors, reweight, weights_threshold) -> _Model | None:
    """R's ``algo.farrington.fitGLM.flexible``: fit, fall back without trend, reweight."""
    x = _design(data.wtime, data.groups, data.levels, time_trend, factors)
    fit = quasipoisson.fit(data.y, x, offset=data.offset)
    if not fit.converged:
        if time_trend:
            time_trend = False
            x = _design(data.wtime, data.groups, data.levels, False, factors)
            fit = quasipoisson.fit(data.y, x, offset=data.offset)
        if not fit.converged:
            return None
    phi = _r_max1(fit.dispersion())
    summary_weights = fit.working_weights
    if reweight:
        omega = _outbreak_weights(_anscombe_residuals(fit, data.y, phi), weights_threshold)
        # R does not check this refit's convergence.
        fit = quasipoisson.fit(data.y, x, weights=omega, offset=data.offset)
        phi = _r_max1(fit.dispersion())
        summary_weights = omega
    return _Model(fit=fit, has_trend=time_trend, phi=phi, summary_weights=summary_weights)


def _predict(model: _Model, row: np.ndarray, offset: float) -> tuple[float, float]:
    """Link-scale prediction and standard error as ``predict.glm(se.fit = TRUE)`` gives them."""
    eta, unscaled_se = model.fit.linear_predictor(row, offset)
    return eta, unscaled_se * np.sqrt(model.summary_dispersion())


def _trend_p_value(model: _Model) -> float:
    fit = model.fit
    if 1 not in fit.kept:
        return float("nan")  # the trend column was dropped (R stops here with an error)
    position = int(np.flatnonzero(fit.kept == 1)[0])
    se = np.sqrt(model.summary_dispersion() * fit.unscaled_covariance()[position, position])
    t = fit.coefficients[1] / se
    return float(2 * stats.t.sf(abs(t), fit.df_residual))


def _r_quantile(distribution, parameters: tuple, probability: float) -> float:
    """R's discrete quantile: the smallest x with ``cdf(x) >= probability`` (with R's fuzz)."""
    target = probability * QUANTILE_FUZZ
    x = float(distribution.ppf(target, *parameters))
    if not np.isfinite(x):
        return x
    while x > 0 and distribution.cdf(x - 1, *parameters) >= target:
        x -= 1
    while distribution.cdf(x, *parameters) < target:
        x += 1
    return x


def _threshold_delta(mu0, se_mu0, phi, exponent, z, y):
    tau = phi + se_mu0**2 / mu0
    variance = {2 / 3: 4 / 9 * mu0 ** (1 / 3) * tau, 1 / 2: tau / 4, 1.0: mu0 * tau}[exponent]
    se = np.sqrt(variance)
    upper = (mu0**exponent + z * se) ** (1 / exponent)
    p_value = float(stats.norm.sf(y**exponent, loc=mu0**exponent, scale=se)) if not np.isnan(y) else np.nan
    return upper, p_value


def _threshold_noufaily(eta0, se_eta0, phi, alpha, z, method, y):
    mean = _exp(eta0) if method == "nbPlugin" else _exp(eta0 + z * se_eta0)
    if mean == np.inf:
        return np.nan, np.nan
    # Unfrozen distributions: freezing one costs more than the whole fit.
    if phi > 1:
        distribution, parameters = stats.nbinom, (mean / (phi - 1), 1 / phi)
    else:
        distribution, parameters = stats.poisson, (mean,)
    upper = _r_quantile(distribution, parameters, 1 - alpha)
    p_value = float(distribution.sf(y - 1, *parameters)) if not np.isnan(y) else np.nan
    return upper, p_value


def _check(freq, b, w, no_periods, left_out, limit54, powertrans, threshold_method, fit_fun, alpha):
    for name, value, least in (("freq", freq, 1), ("b", b, 1), ("w", w, 0), ("no_periods", no_periods, 1),
                               ("past_weeks_not_included", left_out, 0)):
        if int(value) != value or value < least:
            raise FarringtonError(f"{name} must be a whole number of at least {least}, not {value}")
    if 2 * w + 1 > freq:
        raise FarringtonError(f"a window of 2 * w + 1 = {2 * w + 1} periods does not fit in a year of {freq}")
    gap = freq - 2 * w - 1
    if no_periods > 1 and no_periods - 1 > gap:
        raise FarringtonError(
            f"no_periods = {no_periods} needs {no_periods - 1} blocks between windows; a year of {freq} periods "
            f"with w = {w} has room for {gap}"
        )
    cases, periods = limit54
    if not (cases >= 0 and periods > 0 and int(periods) == periods):
        raise FarringtonError(f"limit54 must be (cases >= 0, periods > 0), not {limit54}")
    if powertrans not in POWER_TRANSFORMS:
        raise FarringtonError(f"powertrans must be one of {', '.join(POWER_TRANSFORMS)}, not {powertrans!r}")
    if threshold_method not in THRESHOLD_METHODS:
        raise FarringtonError(f"threshold_method must be one of {', '.join(THRESHOLD_METHODS)}, not {threshold_method!r}")
    if fit_fun not in FIT_FUNCTIONS:
        raise FarringtonError(f"fit_fun must be {FIT_FUNCTIONS[0]!r}, not {fit_fun!r}")
    if not 0 < alpha < 1:
        raise FarringtonError(f"alpha must be between 0 and 1 (exclusive), not {alpha}")


def farrington_flexible(
    observed,
    *,
    freq: int = 12,
    b: int = R_DEFAULTS["b"],
    w: int = R_DEFAULTS["w"],
    reweight: bool = R_DEFAULTS["reweight"],
    weights_threshold: float = R_DEFAULTS["weights_threshold"],
    trend: bool = R_DEFAULTS["trend"],
    p_threshold_trend: float = R_DEFAULTS["p_threshold_trend"],
    alpha: float = R_DEFAULTS["alpha"],
    limit54: tuple[float, int] = R_DEFAULTS["limit54"],
    powertrans: str = R_DEFAULTS["powertrans"],
    fit_fun: str = R_DEFAULTS["fit_fun"],
    population_offset: bool = R_DEFAULTS["population_offset"],
    population=None,
    no_periods: int = R_DEFAULTS["no_periods"],
    past_weeks_not_included: int | None = R_DEFAULTS["past_weeks_not_included"],
    threshold_method: str = R_DEFAULTS["threshold_method"],
    positions=None,
) -> pd.DataFrame:
    """Apply the Farrington flexible method to one regular series of counts (NaN for a missing period).

    Parameters are the reference's (see the module docstring). ``positions`` are the 0-based
    periods to judge (R's ``range`` minus one); by default every period from
    :func:`first_evaluated` to the end.

    Returns one row per judged period: ``position``; ``observed``; ``expected`` (the fitted
    mean, NaN when ``limit54`` is not met, as in R); ``upper_bound`` (R's ``upperbound``:
    NaN when ``limit54`` is not met or no model converged); ``threshold`` (the same bound
    before ``limit54`` hides it); ``alarm`` (pandas nullable boolean, missing only where no
    model converged); ``score`` (R's ``(y - f) / (U - f)``), ``p_value`` (probability of a
    count at least the observed), ``phi`` (dispersion used), ``trend`` (whether the trend was
    kept), ``trend_coefficient`` (per period, NaN without trend), ``mu0`` (R's ``mu0Vector``:
    ``exp(eta)`` for nbPlugin, ``exp(qnorm(1 - alpha, f, se(f)))`` otherwise, on whatever
    scale ``f`` is, as R computes it) and ``enough_cases`` (``limit54``; missing when a
    count in its window is). Raises :class:`FarringtonError` for bad parameters or a series
    too short for the first judged period.
    """
    values = np.asarray(observed, dtype=float)
    if values.ndim != 1:
        raise FarringtonError("the series must be one-dimensional")
    left_out = w if past_weeks_not_included is None else past_weeks_not_included
    _check(freq, b, w, no_periods, left_out, limit54, powertrans, threshold_method, fit_fun, alpha)
    n = len(values)
    start = first_evaluated(freq=freq, b=b, w=w)
    if positions is None:
        if n <= start:
            raise FarringtonError(
                f"Farrington with b = {b} years of {freq} periods and w = {w} needs at least {start + 1} periods; "
                f"the series has {n}"
            )
        positions = np.arange(start, n)
    positions = np.asarray(positions, dtype=int)
    if len(positions) and (positions.min() < start or positions.max() >= n):
        raise FarringtonError(f"positions must lie between {start} and {n - 1} (b years and w periods of history)")
    pop = None
    if population_offset:
        if population is None:
            raise FarringtonError("population_offset needs population, one value per period")
        pop = np.asarray(population, dtype=float)
        if pop.shape != values.shape:
            raise FarringtonError(f"population has {pop.size} values; the series has {n}")
    z = NormalDist().inv_cdf(1 - alpha)
    factors = no_periods != 1
    cases, periods = limit54
    rows = []
    for position in positions:
        k = int(position) + 1  # R's 1-based time point, which is also the trend's time
        y = values[position]
        data = _Data(values, pop, k, freq=freq, b=b, w=w, p=no_periods, left_out=left_out)
        if factors and float(no_periods) not in data.levels:
            raise FarringtonError(f"period {position}: no reference value is left in the current season's level")
        row = dict(position=int(position), observed=y)
        recent = values[max(k - periods, 0) : k]
        enough = bool(np.sum(recent) >= cases) if not np.isnan(recent).any() else None
        offset_now = float(np.log(pop[position])) if pop is not None else 0.0
        model = _fit_flexible(data, time_trend=trend, factors=factors, reweight=reweight,
                              weights_threshold=weights_threshold)
        if model is None:
            rows.append(row | dict(expected=np.nan, upper_bound=np.nan, threshold=np.nan, alarm=pd.NA,
                                   score=np.nan, p_value=np.nan, phi=np.nan, trend=pd.NA,
                                   trend_coefficient=np.nan, mu0=np.nan, enough_cases=enough))
            continue
        keep_trend = False
        if model.has_trend:
            fit_row = _design_row(k, no_periods, data.levels, True, factors)
            predicted = quasipoisson.link_inverse(_predict(model, fit_row, offset_now)[0])
            keep_trend = (b >= 3 and _trend_p_value(model) < p_threshold_trend
                          and predicted <= np.max(data.y))
            if not keep_trend:
                model = _fit_flexible(data, time_trend=False, factors=factors, reweight=reweight,
                                      weights_threshold=weights_threshold)
        eta0, se_eta0 = _predict(model, _design_row(k, no_periods, data.levels, model.has_trend, factors),
                                 offset_now)
        if threshold_method == "delta":
            fitted = quasipoisson.link_inverse(eta0)
            se_fitted = se_eta0 * fitted  # the delta method, as predict(type = "response") does
            upper, p_value = _threshold_delta(fitted, se_fitted, model.phi, POWER_TRANSFORMS[powertrans], z, y)
            expected = fitted
            mu0 = _exp(fitted + z * se_fitted)
        else:
            fitted, se_fitted = eta0, se_eta0
            upper, p_value = _threshold_noufaily(eta0, se_eta0, model.phi, alpha, z, threshold_method, y)
            expected = _exp(eta0)
            mu0 = _exp(eta0) if threshold_method == "nbPlugin" else _exp(eta0 + z * se_eta0)
        with np.errstate(divide="ignore", invalid="ignore"):
            score = (y - fitted) / (upper - fitted) if not np.isnan(upper) else np.nan
        judged_score = score if enough else np.nan
        alarm = bool(not np.isnan(judged_score) and judged_score > 1 and y != 0)
        rows.append(row | dict(
            expected=expected if (enough and not np.isnan(upper)) else np.nan,
            upper_bound=upper if enough else np.nan,
            threshold=upper,
            alarm=alarm,
            score=score,
            p_value=p_value,
            phi=model.phi,
            trend=keep_trend,
            trend_coefficient=float(model.fit.coefficients[1]) if keep_trend else np.nan,
            mu0=mu0,
            enough_cases=enough,
        ))
    result = pd.DataFrame(rows, columns=RESULT_COLUMNS)
    result["alarm"] = result["alarm"].astype("boolean")
    result["trend"] = result["trend"].astype("boolean")
    result["enough_cases"] = result["enough_cases"].astype("boolean")
    return result
