"""Write ``tests/fixtures/signals/farrington_r.json``: R's farringtonFlexible on generated series.

The tests compare :func:`hmis.signals.farrington.farrington_flexible` with these results and
never need R. To regenerate (after a change of cases or settings here, or to check another
release of ``surveillance``)::

    apt-get install -y r-base-core r-cran-surveillance      # Debian's packages, by hand
    .venv/bin/python -m hmis_dev.r_reference.make_farrington_fixture [--output FILE]

It generates the series (fixed seed, so the same file comes out for the same R), writes them
with their settings to a scratch file, runs ``farrington.R`` beside this file with
``Rscript`` and stores series, settings and R's results together. The series are monthly
(``frequency = 12``) and cover what the method has to get right: seasonal with a
monsoon-like peak at several levels, trends up and down, past and current outbreaks (the
reweighting), sparse counts and zeros (``limit54``, Poisson dispersion), overdispersed
counts, missing months, the shortest history each setting accepts, and a population offset.
Every series runs under the pipeline's two monthly settings and two more of :data:`SETTINGS`
in turn, among those it suits (settings with seasonal blocks skip series with missing
months, where a block can be left with a single value and R's result depends on rounding;
see :mod:`hmis.signals.farrington`).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from hmis.signals.farrington import R_CONTROL_NAMES, first_evaluated

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "signals" / "farrington_r.json"
SEED = 20240917

# Settings in R's control names. Original Farrington (delta), then Noufaily's.
SETTINGS = {
    "r_defaults": {},
    "monthly_original": {"b": 3, "w": 1},
    "monthly_original_no_limit": {"b": 3, "w": 1, "limit54": [0, 4]},
    "half_power_no_reweight": {"b": 3, "w": 2, "powertrans": "1/2", "reweight": False},
    "no_power_alpha01_no_trend": {"b": 4, "w": 1, "powertrans": "none", "alpha": 0.01, "trend": False},
    "farrington_1996_weights": {"b": 3, "w": 1, "weightsThreshold": 1, "pThresholdTrend": 1},
    "noufaily_nbplugin": {"b": 3, "w": 1, "noPeriods": 10, "pastWeeksNotIncluded": 6, "thresholdMethod": "nbPlugin"},
    "noufaily_muan_no_limit": {"b": 3, "w": 1, "noPeriods": 10, "pastWeeksNotIncluded": 6,
                               "thresholdMethod": "muan", "limit54": [0, 4]},
    "noufaily_four_seasons": {"b": 4, "w": 2, "noPeriods": 4, "pastWeeksNotIncluded": 2,
                              "thresholdMethod": "muan", "alpha": 0.01, "weightsThreshold": 1},
    "noufaily_no_reweight_short_gap": {"b": 3, "w": 1, "noPeriods": 5, "pastWeeksNotIncluded": 0,
                                       "thresholdMethod": "nbPlugin", "reweight": False, "limit54": [2, 2]},
}
# What the fixture keeps of R's results (the score and mu0 follow from these).
KEPT = ("error", "first", "upperbound", "alarm", "expected", "pvalue", "phi", "trend", "trendVector")
FACTOR_SETTINGS = {name for name, control in SETTINGS.items() if control.get("noPeriods", 1) != 1}


def _first(control: dict) -> int:
    return first_evaluated(freq=12, b=control.get("b", 5), w=control.get("w", 3))


def _monsoon(months: int, phase: int = 0) -> np.ndarray:
    """Seasonal multiplier with a peak in July-September (month index 6-8) and a dry-season trough."""
    month = (np.arange(months) + phase) % 12
    return np.exp(0.9 * np.cos(2 * np.pi * (month - 7.5) / 12))


def _counts(rng, mean: np.ndarray, dispersion: float = 1.0) -> np.ndarray:
    if dispersion <= 1:
        return rng.poisson(mean).astype(float)
    size = mean / (dispersion - 1)
    return rng.negative_binomial(size, 1 / dispersion).astype(float)


def series_cases(rng) -> list[dict]:
    """The generated series: name, counts (NaN missing) and population (or None)."""
    cases = []

    def add(name, values, population=None):
        cases.append({"name": name, "series": values, "population": population})

    for level in (2, 8, 30, 250):
        for length in (72, 96):
            add(f"seasonal_mean{level}_{length}m", _counts(rng, level * _monsoon(length, rng.integers(12))))
    for slope in (0.02, -0.015, 0.035):
        months = np.arange(84)
        add(f"trend_{slope:+.3f}", _counts(rng, 15 * _monsoon(84) * np.exp(slope * months)))
        add(f"trend_flat_season_{slope:+.3f}", _counts(rng, 20 * np.exp(slope * months), dispersion=1.5))
    for start in (14, 30, 50, 66):
        mean = 10 * _monsoon(80)
        values = _counts(rng, mean)
        values[start : start + 3] += rng.poisson(2.5 * mean[start : start + 3])
        add(f"outbreak_at_{start}", values)
    for repeat in range(3):
        mean = 25 * _monsoon(90)
        values = _counts(rng, mean, dispersion=2.0)
        for start in rng.choice(np.arange(5, 85), size=3, replace=False):
            values[start : start + 2] *= 3
        add(f"past_outbreaks_{repeat}", values)
    for mean_level in (0.2, 0.6, 1.5):
        add(f"sparse_mean{mean_level}", _counts(rng, np.full(80, mean_level)))
    values = _counts(rng, 3 * _monsoon(76))
    values[40:52] = 0
    add("zeros_for_a_year", values)
    add("all_zero_but_one", np.concatenate([np.zeros(70), [3.0]]))
    for dispersion in (3.0, 6.0):
        add(f"overdispersed_{dispersion:g}", _counts(rng, 40 * _monsoon(84), dispersion=dispersion))
    for share in (0.05, 0.15):
        values = _counts(rng, 12 * _monsoon(84))
        values[rng.random(84) < share] = np.nan
        add(f"missing_{int(share * 100)}pct", values)
    for extra in (0, 1, 4):
        add(f"short_38_plus_{extra}", _counts(rng, 9 * _monsoon(38 + extra)))
        add(f"short_64_plus_{extra}", _counts(rng, 9 * _monsoon(64 + extra)))
    population = np.round(50000 * np.exp(0.01 * np.arange(84)))
    add("population_growing", _counts(rng, population / 2500 * _monsoon(84)), population)
    return cases


# The pipeline's two monthly settings run on every series; each series also runs under
# two of the others, in turn, so every setting meets a range of series and the tests stay fast.
PIPELINE_SETTINGS = ("monthly_original", "noufaily_nbplugin")
SETTINGS_PER_SERIES = 4


def build_cases(rng) -> tuple[dict, list[dict]]:
    """The series by name, and the (series, setting) pairs to run."""
    series_by_name, cases = {}, []
    others = [name for name in SETTINGS if name not in PIPELINE_SETTINGS]
    turn = 0
    for series in series_cases(rng):
        values = series["series"]
        has_missing = bool(np.isnan(values).any())

        def suits(setting, values=values, has_missing=has_missing):
            return len(values) > _first(SETTINGS[setting]) and not (has_missing and setting in FACTOR_SETTINGS)

        chosen = [name for name in PIPELINE_SETTINGS if suits(name)]
        for _ in range(len(others)):
            if len(chosen) >= SETTINGS_PER_SERIES:
                break
            candidate = others[turn % len(others)]
            turn += 1
            if suits(candidate):
                chosen.append(candidate)
        series_by_name[series["name"]] = {
            "values": [None if np.isnan(v) else float(v) for v in values],
            "population": None if series["population"] is None else [float(v) for v in series["population"]],
        }
        for setting in chosen:
            control = SETTINGS[setting]
            if series["population"] is not None:
                control = control | {"populationOffset": True}
            cases.append({"name": f"{series['name']}/{setting}", "series_name": series["name"],
                          "setting": setting, "control": control})
    return series_by_name, cases


def run_r(cases: list[dict]) -> dict:
    rscript = shutil.which("Rscript")
    if rscript is None:
        sys.exit("Rscript not found: apt-get install -y r-base-core r-cran-surveillance")
    with tempfile.TemporaryDirectory() as scratch:
        source, target = Path(scratch) / "input.json", Path(scratch) / "output.json"
        source.write_text(json.dumps({"cases": cases}))
        # Fixed arguments: the Rscript found on PATH, this folder's script, two scratch files.
        subprocess.run([rscript, str(HERE / "farrington.R"), str(source), str(target)], check=True)  # noqa: S603
        return json.loads(target.read_text())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=FIXTURE)
    args = parser.parse_args(argv)
    unknown = {name for control in SETTINGS.values() for name in control} - set(R_CONTROL_NAMES)
    if unknown:
        sys.exit(f"settings use control names the Python side does not know: {sorted(unknown)}")
    series_by_name, cases = build_cases(np.random.default_rng(SEED))
    output = run_r([case | {"series": series_by_name[case["series_name"]]["values"],
                            "population": series_by_name[case["series_name"]]["population"]} for case in cases])
    by_name = {result["name"]: result for result in output["results"]}
    for case in cases:
        result = by_name[case["name"]]
        case["r"] = {key: result[key] for key in KEPT if key in result}
    fixture = {
        "about": "surveillance::farringtonFlexible on generated monthly series; "
                 "made by dev/hmis_dev/r_reference/make_farrington_fixture.py",
        "r_version": output["r_version"],
        "surveillance_version": output["surveillance_version"],
        "seed": SEED,
        "series": series_by_name,
        "cases": cases,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(fixture, separators=(",", ":")) + "\n")
    errors = sum("error" in case["r"] for case in cases)
    print(f"{len(cases)} cases ({errors} where R raised an error) written to {args.output}")


if __name__ == "__main__":
    main()
