"""Monthly disease series per area from the warehouse, and the signals the pipeline keeps.

For every watched disease (the data elements of :mod:`hmis.reference.diseases`, e.g. 11.3.1
dengue RDT positive or 14.4.1 inpatient malaria) and every block and district, the accepted
monthly counts (``facts.monthly_value``, disaggregation ``TOTAL``) are summed over the area's
facilities (``ref.facility``) with the outpatient visits (elements 14.2.1 + 14.2.2) of the
same facilities that reported the disease (``sql/signals/series.sql``). The EARS methods
(:mod:`hmis.signals.ears`) then run on one series per area and disease, and the results go
to ``marts.disease_signals``.

Monthly facility counts are not the daily syndromic counts EARS was built for: raw counts
rise every monsoon in every block (dengue, malaria, typhoid), with attendance, and dip when a
facility does not report. So the pipeline runs the reference methods on series that remove
what is common, with these documented defaults (:class:`SignalSettings`):

* **Blocks** — the standardised ratio ``R = (O + k) / (E + k)``, where ``O`` is the block's
  count, ``E`` the count expected at the rate of the rest of the district this month
  (``E = block visits x other blocks' cases / other blocks' visits``, over facilities
  reporting the disease: a block's own rise does not raise what it is expected to have)
  and ``k = 5`` a continuity allowance so months with a handful of cases do not swing the
  ratio. A rise in one block stands out; a district-wide season or a facility that did
  not report cancels out. ``min_sigma = 0.1`` on ``R``: an alarm needs a block at least
  ~31 % (C1/C2: ``3.09 x 0.1``) above what its baseline ratio predicts.
* **Districts** — cases per 1,000 outpatient visits, with the reference's ``min_sigma = 0``.
  A district-wide rise (the dengue season) is a real rise for the district and alarms.
  Outpatient visits are the one measure of attendance for every disease, inpatient and
  laboratory counts included.
* **Every area** — an alarm also needs at least ``min_count = 5`` cases, so tiny numbers
  never alarm, and a count above what chance allows around the expected count: more than
  ``z`` Poisson standard deviations, ``O > expected + z x sqrt(max(expected, 1))`` (``z`` of
  the method's alpha; ``poisson_floor``). Seven monthly values often look steadier than
  Poisson counts are, so without it the 13 watched diseases of nine blocks gave a few
  chance alarms every season on counts of 5-16. Baseline (7) and alpha (0.001 for C1/C2,
  0.025 for C3) are the reference's.

The mart reports everything on the case-count scale: for a series value ``s = (O + a) / b``
(``a = k, b = E + k`` for blocks; ``a = 0, b = visits / 1000`` for districts) the expected
count is ``mean(s) x b - a``, the standard deviation ``sd(s) x b`` and the upper bound
``U(s) x b - a``, so ``alarm`` is ``O > upper_bound`` (and ``O >= min_count``, and above the
Poisson floor).

Provisional months (not yet due, or under HMIS_COMPLETE_SHARE, 90 %, reported) are judged like the others
but never alarmed: :mod:`hmis.signals.completeness` records each result's class and what the
method found (``would_alarm``), and clears ``alarm`` on them.

Series are monthly because the warehouse holds monthly reports; the ``hmis signals``
command also takes weekly series.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from hmis.platform.warehouse import copy_rows, statement
from hmis.reference.diseases import disease_elements
from hmis.reference.periods import parse_period, shift_period
from hmis.signals.completeness import apply_classes, load_classes
from hmis.signals.ears import DEFAULT_ALPHA, DEFAULT_BASELINE, METHODS, EarsError, ears_c, first_evaluated, threshold

SQL = "signals/series.sql"
# The denominator of every rate: allopathic and AYUSH outpatient attendance.
VISIT_ELEMENTS = ("14.2.1", "14.2.2")
COUNT_COLUMNS = ["district", "block", "period", "item_code", "observed", "visits"]
BLOCK_BASIS = "standardised_ratio"
DISTRICT_BASIS = "rate_per_1000_visits"
MART_COLUMNS = [
    "area_level", "area", "district", "item_code", "period", "method", "observed", "expected", "sd",
    "upper_bound", "alarm", "basis", "series_value", "completeness", "would_alarm", "built_at",
]
# What compute_signals gives: the method's verdicts before the completeness rule.
COMPUTED_COLUMNS = [c for c in MART_COLUMNS if c not in ("completeness", "would_alarm", "built_at")]


@dataclass(frozen=True)
class SignalSettings:
    """The pipeline's choices; see the module docstring for why each differs (or not) from EARS."""

    baseline: int = DEFAULT_BASELINE
    methods: tuple[str, ...] = METHODS
    block_min_sigma: float = 0.1
    district_min_sigma: float = 0.0
    continuity: float = 5.0
    min_count: int = 5
    poisson_floor: bool = True


def load_counts(conn) -> pd.DataFrame:
    """Disease counts and visits per district, block, period and disease element (accepted values)."""
    with conn.cursor() as cur:
        cur.execute(statement(SQL, "counts"),
                    {"elements": list(disease_elements()), "visit_elements": list(VISIT_ELEMENTS)})
        rows = cur.fetchall()
    conn.rollback()
    return pd.DataFrame(rows, columns=COUNT_COLUMNS)


def month_range(first: str, last: str) -> list[str]:
    """Every period from ``first`` to ``last`` inclusive."""
    (y1, m1), (y2, m2) = parse_period(first), parse_period(last)
    return [shift_period(first, offset) for offset in range((y2 * 12 + m2) - (y1 * 12 + m1) + 1)]


def _evaluate(series: np.ndarray, observed: np.ndarray, offset: np.ndarray, scale: np.ndarray,
              method: str, min_sigma: float, settings: SignalSettings) -> pd.DataFrame | None:
    """EARS on ``series`` and its results mapped back to counts (None if the series is too short)."""
    if len(series) <= first_evaluated(method, settings.baseline):
        return None
    try:
        result = ears_c(series, method, settings.baseline, None, min_sigma)
    except EarsError:
        return None
    at = result["position"].to_numpy()
    b, a = scale[at], offset[at]
    out = pd.DataFrame({
        "position": at,
        "observed": observed[at],
        "expected": result["expected"].to_numpy() * b - a,
        "sd": result["sd"].to_numpy() * b,
        "upper_bound": result["upper_bound"].to_numpy() * b - a,
        "series_value": result["observed"].to_numpy(),
    })
    alarm = result["alarm"].copy()
    alarm[(observed[at] < settings.min_count) & alarm.notna().to_numpy()] = False
    if settings.poisson_floor:
        expected = out["expected"].to_numpy(float)
        z = threshold(DEFAULT_ALPHA[method])
        with np.errstate(invalid="ignore"):
            chance = ~(observed[at] > expected + z * np.sqrt(np.maximum(expected, 1.0)))
        alarm[chance & alarm.notna().to_numpy()] = False
    out["alarm"] = alarm.to_numpy()
    out["method"] = method
    return out


def compute_signals(counts: pd.DataFrame, settings: SignalSettings = SignalSettings()) -> pd.DataFrame:
    """Signals for every block and district, disease, evaluable period and method.

    ``counts`` has the columns of :func:`load_counts`. Months with no accepted value for an
    area and disease are missing (NaN) in its series, as in the reference. Returns the
    mart's columns before the completeness rule (:data:`COMPUTED_COLUMNS`; ``alarm`` is the
    method's verdict, whatever the month's class).
    """
    frames = []
    if counts.empty:
        return pd.DataFrame(columns=COMPUTED_COLUMNS)
    counts = counts.astype({"observed": "int64", "visits": "int64"})
    for (district, item), group in counts.groupby(["district", "item_code"], sort=True):
        periods = month_range(group["period"].min(), group["period"].max())
        totals = group.groupby("period")[["observed", "visits"]].sum().reindex(periods)
        observed = totals["observed"].to_numpy(float)
        per_thousand = totals["visits"].to_numpy(float) / 1000.0
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = np.where(per_thousand > 0, observed / per_thousand, np.nan)
        frames += _area_signals("district", district, district, item, periods, rate, observed,
                                np.zeros(len(periods)), per_thousand, settings.district_min_sigma, settings)
        for block, rows in group.groupby("block", sort=True):
            block_totals = rows.set_index("period")[["observed", "visits"]].reindex(periods)
            block_observed = block_totals["observed"].to_numpy(float)
            # The rest of the district's rate: a block's own rise must not raise what it is
            # expected to have (with few blocks it would hide itself).
            rest_cases = observed - np.nan_to_num(block_observed)
            rest_visits = totals["visits"].to_numpy(float) - np.nan_to_num(block_totals["visits"].to_numpy(float))
            with np.errstate(divide="ignore", invalid="ignore"):
                expected = block_totals["visits"].to_numpy(float) * np.where(
                    rest_visits > 0, rest_cases / rest_visits, np.nan)
            scale = expected + settings.continuity
            ratio = (block_observed + settings.continuity) / scale
            frames += _area_signals("block", block, district, item, periods, ratio, block_observed,
                                    np.full(len(periods), settings.continuity), scale,
                                    settings.block_min_sigma, settings)
    if not frames:
        return pd.DataFrame(columns=COMPUTED_COLUMNS)
    return pd.concat(frames, ignore_index=True)


def _area_signals(level: str, area: str, district: str, item: str, periods: list[str], series: np.ndarray,
                  observed: np.ndarray, offset: np.ndarray, scale: np.ndarray, min_sigma: float,
                  settings: SignalSettings) -> list[pd.DataFrame]:
    frames = []
    for method in settings.methods:
        result = _evaluate(series, observed, offset, scale, method, min_sigma, settings)
        if result is None:
            continue
        result = result[~np.isnan(result["observed"].to_numpy(float))]
        if result.empty:
            continue
        result = result.assign(
            area_level=level, area=area, district=district, item_code=item,
            period=[periods[p] for p in result["position"]],
            basis=BLOCK_BASIS if level == "block" else DISTRICT_BASIS,
        )
        frames.append(result.drop(columns="position"))
    return frames


def rebuild(conn, built_at: datetime, settings: SignalSettings = SignalSettings()) -> dict:
    """Recompute every signal from the accepted values and replace the mart atomically.

    Each result carries its area-month's completeness class as of ``built_at`` (the run's
    moment); provisional months never alarm (:mod:`hmis.signals.completeness`).
    """
    signals = apply_classes(compute_signals(load_counts(conn), settings), load_classes(conn, built_at))

    def clean(value):
        if value is None or value is pd.NA:
            return None
        if isinstance(value, float) and not np.isfinite(value):
            return None
        return value

    flags = ("alarm", "would_alarm")
    rows = []
    for record in signals.to_dict("records"):
        row = {c: clean(record[c]) if c in ("expected", "sd", "upper_bound", "series_value") + flags else record[c]
               for c in MART_COLUMNS[:-1]}
        row["observed"] = int(row["observed"])
        for flag in flags:
            row[flag] = None if row[flag] is None else bool(row[flag])
        rows.append([row[c] for c in MART_COLUMNS[:-1]] + [built_at])
    with conn, conn.cursor() as cur:
        cur.execute("DELETE FROM marts.disease_signals")
        written = copy_rows(cur, "marts.disease_signals", MART_COLUMNS, rows)
    at = {c: MART_COLUMNS.index(c) for c in ("alarm", "would_alarm", "completeness")}
    alarms = sum(1 for row in rows if row[at["alarm"]])
    withheld = sum(1 for row in rows if row[at["would_alarm"]] and not row[at["alarm"]])
    provisional = sum(1 for row in rows if row[at["completeness"]] == "provisional")
    return {"signals": written, "alarms": alarms, "provisional_signals": provisional,
            "provisional_rises": withheld}
