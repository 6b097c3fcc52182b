"""Alarm budget: how often each signal method alarms on ordinary months, and how fast it sees an outbreak.

``python -m benchmarks.alarm_budget [--series 200] [--years 10] [--seed 17] [--output FILE]``

A script, not a test (issue 17): it generates long monthly district series with what real
HMIS counts have, plants outbreaks of known start and size, runs every method on the same
months and prints, per method:

* **alarms per 100 outbreak-free series-months** — months judged that hold no planted
  excess (the months just after an outbreak count: an alarm there is still a false one);
* **outbreaks caught** — share with an alarm in one of their months, and share caught
  within 2 months (an alarm in the first or second month), overall and for the outbreaks
  that at least double the seasonal expectation;
* **median months to the first alarm** (0 = the month the outbreak starts), over the caught.

It then compares each method with the issue's targets for the pipeline's default (at most 5
alarms per 100 outbreak-free series-months; at least 90 % of the outbreaks that double the
seasonal expectation caught within 2 months) and writes the figures to
``benchmarks/results/alarm-budget-<date>.json``.

The series (all from one seed, so a run is repeatable): a level between 3 and 300 cases a
month (log-uniform), a monsoon peak (July-September) between 1.5 and 6 times the dry-season
trough, a trend between -5 % and +8 % a year, overdispersed counts (negative binomial,
variance 1-2.5 times the mean: reporting facilities come and go), and reporting gaps — 3 % of
months missing (not reported, or skipped by the pipeline as too partly reported). One to
three outbreaks per series in the judged years, 1-3 months long, adding 0.5, 1, 2 or 3 times
the month's seasonal expectation (so 1.5x to 4x the usual count), half of them in the
season.

Every method judges months from the fifth year on (Farrington's monthly settings need 3
years and a month of history; EARS a few months), on the raw counts: EARS C1-C3 with the
reference's defaults (:mod:`hmis.signals.ears`), Farrington with this pipeline's monthly
settings (:data:`hmis.signals.farrington.MONTHLY_ORIGINAL`, ``MONTHLY_NOUFAILY``). The
pipeline's own guards on EARS (block ratios, Poisson floor, ``min_count``) are not applied:
this measures the methods.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

from hmis.signals.ears import ears_c
from hmis.signals.farrington import MONTHLY_NOUFAILY, MONTHLY_ORIGINAL, farrington_flexible

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results"
FIRST_JUDGED_YEAR = 4  # 0-based: months from the fifth year on are judged
TARGET_FALSE_ALARMS = 5.0  # per 100 outbreak-free series-months
TARGET_CAUGHT_DOUBLING = 0.90  # share of outbreaks >= 2x the seasonal expectation, within 2 months
EXCESS_FACTORS = (0.5, 1.0, 2.0, 3.0)  # planted cases, as a multiple of the seasonal expectation


def _methods() -> dict:
    def ears(method):
        return lambda values, judged: _alarms_from(ears_c(values, method), judged)

    def farrington(settings):
        return lambda values, judged: _alarms_from(farrington_flexible(values, positions=judged, **settings), judged)

    return {
        "EARS C1": ears("C1"),
        "EARS C2": ears("C2"),
        "EARS C3": ears("C3"),
        "Farrington (original, monthly)": farrington(MONTHLY_ORIGINAL),
        "Farrington (Noufaily, monthly)": farrington(MONTHLY_NOUFAILY),
    }


def _alarms_from(result, judged: np.ndarray) -> np.ndarray:
    """Alarm per judged month (False where the method gave none or could not judge)."""
    alarms = dict(zip(result["position"].tolist(), result["alarm"].fillna(False).astype(bool).tolist(), strict=True))
    return np.array([alarms.get(int(p), False) for p in judged])


def generate(rng, n_series: int, years: int) -> list[dict]:
    """Series with their expectation, planted outbreaks and missing months."""
    months = 12 * years
    month_of_year = np.arange(months) % 12
    series = []
    for _ in range(n_series):
        level = np.exp(rng.uniform(np.log(3), np.log(300)))
        peak_ratio = rng.uniform(1.5, 6.0)
        # Log-cosine season peaking mid-August; the peak is peak_ratio times the trough.
        season = np.exp(np.log(peak_ratio) / 2 * np.cos(2 * np.pi * (month_of_year - 7.5) / 12))
        trend = np.exp(rng.uniform(-0.05, 0.08) / 12 * np.arange(months))
        expected = level * season * trend
        dispersion = rng.uniform(1.0, 2.5)
        mean = expected.copy()
        outbreaks = []
        first_judged = 12 * FIRST_JUDGED_YEAR
        taken = np.zeros(months, dtype=bool)
        for _ in range(rng.integers(1, 4)):
            length = int(rng.integers(1, 4))
            in_season = rng.random() < 0.5
            candidates = [m for m in range(first_judged, months - length)
                          if (month_of_year[m] in (6, 7, 8)) == in_season and not taken[max(m - 3, 0) : m + length + 3].any()]
            if not candidates:
                continue
            start = int(rng.choice(candidates))
            factor = float(rng.choice(EXCESS_FACTORS))
            mean[start : start + length] += factor * expected[start : start + length]
            taken[start : start + length] = True
            outbreaks.append({"start": start, "length": length, "excess_factor": factor})
        if dispersion > 1.0001:
            counts = rng.negative_binomial(mean / (dispersion - 1), 1 / dispersion).astype(float)
        else:
            counts = rng.poisson(mean).astype(float)
        missing = rng.random(months) < 0.03
        missing[[o["start"] for o in outbreaks]] = False  # an outbreak's first month is always reported
        counts[missing] = np.nan
        series.append({"counts": counts, "outbreak": taken, "outbreaks": outbreaks})
    return series


def evaluate(series: list[dict], method) -> dict:
    judged_alarms, judged_free = 0, 0
    found = []  # per outbreak: (excess factor, months to first alarm or None)
    seconds = time.perf_counter()
    for item in series:
        counts = item["counts"]
        judged = np.arange(12 * FIRST_JUDGED_YEAR, len(counts))
        judged = judged[~np.isnan(counts[judged])]
        alarms = method(counts, judged)
        free = ~item["outbreak"][judged]
        judged_free += int(free.sum())
        judged_alarms += int(alarms[free].sum())
        by_month = dict(zip(judged.tolist(), alarms.tolist(), strict=True))
        for outbreak in item["outbreaks"]:
            months = range(outbreak["start"], outbreak["start"] + outbreak["length"])
            delays = [m - outbreak["start"] for m in months if by_month.get(m, False)]
            found.append((outbreak["excess_factor"], delays[0] if delays else None))
    seconds = time.perf_counter() - seconds

    def caught(rows, within=None):
        if not rows:
            return None
        return sum(d is not None and (within is None or d < within) for _, d in rows) / len(rows)

    doubling = [row for row in found if row[0] >= 1.0]
    delays = [d for _, d in found if d is not None]
    return {
        "outbreak_free_series_months": judged_free,
        "false_alarms": judged_alarms,
        "alarms_per_100_outbreak_free": 100 * judged_alarms / judged_free if judged_free else None,
        "outbreaks": len(found),
        "caught": caught(found),
        "caught_within_2_months": caught(found, within=2),
        "doubling_outbreaks": len(doubling),
        "doubling_caught": caught(doubling),
        "doubling_caught_within_2_months": caught(doubling, within=2),
        "caught_by_excess_factor": {str(f): caught([r for r in found if r[0] == f]) for f in EXCESS_FACTORS},
        "median_months_to_first_alarm": float(np.median(delays)) if delays else None,
        "seconds": round(seconds, 1),
    }


def _meets(figures: dict) -> dict:
    false_ok = figures["alarms_per_100_outbreak_free"] <= TARGET_FALSE_ALARMS
    caught_ok = (figures["doubling_caught_within_2_months"] or 0) >= TARGET_CAUGHT_DOUBLING
    return {"false_alarms": false_ok, "doubling_caught_within_2_months": caught_ok, "both": false_ok and caught_ok}


def _percent(value) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"


def table(results: dict) -> str:
    header = (f"{'method':<32} {'alarms/100 free':>15} {'caught':>8} {'<=2 mo':>8} "
              f"{'2x caught':>9} {'2x <=2 mo':>9} {'median delay':>12} {'target':>7} {'time':>6}")
    lines = [header, "-" * len(header)]
    for name, figures in results.items():
        meets = _meets(figures)
        lines.append(
            f"{name:<32} {figures['alarms_per_100_outbreak_free']:>15.2f} {_percent(figures['caught']):>8} "
            f"{_percent(figures['caught_within_2_months']):>8} {_percent(figures['doubling_caught']):>9} "
            f"{_percent(figures['doubling_caught_within_2_months']):>9} "
            f"{figures['median_months_to_first_alarm'] if figures['median_months_to_first_alarm'] is not None else '-':>12} "
            f"{'met' if meets['both'] else 'missed':>7} {figures['seconds']:>5.0f}s"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.alarm_budget", description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=200, help="generated series (200)")
    parser.add_argument("--years", type=int, default=10, help="years per series (10; at least 5)")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--output", type=Path, help="where to write the JSON (default benchmarks/results/alarm-budget-<date>.json)")
    args = parser.parse_args(argv)
    if args.years <= FIRST_JUDGED_YEAR:
        parser.error(f"--years must be more than {FIRST_JUDGED_YEAR}: months from year {FIRST_JUDGED_YEAR + 1} on are judged")
    series = generate(np.random.default_rng(args.seed), args.series, args.years)
    results = {}
    for name, method in _methods().items():
        print(f"running {name} ...", file=sys.stderr, flush=True)
        results[name] = evaluate(series, method)
    print(table(results))
    print(f"\ntargets for the default: <= {TARGET_FALSE_ALARMS:g} alarms per 100 outbreak-free series-months, "
          f">= {100 * TARGET_CAUGHT_DOUBLING:.0f} % of outbreaks that double the seasonal expectation caught "
          "within 2 months")
    outbreaks = sum(len(s["outbreaks"]) for s in series)
    print(f"{args.series} series x {args.years} years (seed {args.seed}); {outbreaks} planted outbreaks; "
          f"judged from year {FIRST_JUDGED_YEAR + 1}")
    output = args.output or RESULTS / f"alarm-budget-{date.today().isoformat()}.json"
    document = {
        "benchmark": "alarm-budget",
        "date": date.today().isoformat(),
        "machine": {"nproc": os.cpu_count()},
        "parameters": {"series": args.series, "years": args.years, "seed": args.seed,
                       "first_judged_year": FIRST_JUDGED_YEAR + 1, "excess_factors": list(EXCESS_FACTORS),
                       "planted_outbreaks": outbreaks},
        "settings": {"Farrington (original, monthly)": MONTHLY_ORIGINAL,
                     "Farrington (Noufaily, monthly)": MONTHLY_NOUFAILY},
        "targets": {"alarms_per_100_outbreak_free_at_most": TARGET_FALSE_ALARMS,
                    "doubling_caught_within_2_months_at_least": TARGET_CAUGHT_DOUBLING},
        "methods": {name: figures | {"meets": _meets(figures)} for name, figures in results.items()},
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(f"written to {output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
