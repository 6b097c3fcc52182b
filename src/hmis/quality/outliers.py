"""Outliers against each facility's own history (WHO Data Quality Review).

For a value x of one item at one facility, the baseline is that facility's accepted values of
the same item in the previous ``window`` months (12 by default); with fewer than
``min_months`` (3) the value is not judged.

- z-score: z = (x − mean) / sd (sample sd); moderate when |z| ≥ 2, extreme when |z| ≥ 3.
  Not computed when sd is 0.
- modified z-score (robust to earlier outliers): M = 0.6745 · (x − median) / MAD, where
  MAD is the median absolute deviation from the median; moderate when |M| ≥ 3.5, extreme
  when |M| ≥ 5. When MAD is 0, M = 0.7979 · (x − median) / MeanAD (mean absolute deviation
  from the median); when that is 0 too, the value is not judged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

Z_MODERATE, Z_EXTREME = 2.0, 3.0
MODZ_MODERATE, MODZ_EXTREME = 3.5, 5.0
MIN_ABS_DEVIATION = 10.0
MIN_REL_DEVIATION = 0.5


@dataclass(frozen=True)
class Scores:
    z: float | None
    modified_z: float | None
    z_class: str | None
    modified_z_class: str | None
    baseline_months: int
    mean: float | None
    median: float | None


def classify(score: float | None, moderate: float, extreme: float) -> str | None:
    if score is None or np.isnan(score):
        return None
    magnitude = abs(score)
    if magnitude >= extreme:
        return "extreme"
    if magnitude >= moderate:
        return "moderate"
    return "ok"


def score(value: float, baseline: list[float] | np.ndarray, min_months: int = 3) -> Scores:
    """Scores of one value against its baseline (see the module docstring)."""
    history = np.asarray(baseline, dtype=float)
    n = len(history)
    if n < min_months:
        return Scores(None, None, None, None, n, None, None)
    mean, sd = history.mean(), history.std(ddof=1)
    z = (value - mean) / sd if sd > 0 else None
    median = float(np.median(history))
    deviations = np.abs(history - median)
    mad = float(np.median(deviations))
    if mad > 0:
        modified = 0.6745 * (value - median) / mad
    else:
        mean_ad = float(deviations.mean())
        modified = 0.7979 * (value - median) / mean_ad if mean_ad > 0 else None
    return Scores(
        z=None if z is None else float(z),
        modified_z=None if modified is None else float(modified),
        z_class=classify(z, Z_MODERATE, Z_EXTREME),
        modified_z_class=classify(modified, MODZ_MODERATE, MODZ_EXTREME),
        baseline_months=n, mean=float(mean), median=median,
    )


def baseline_stats(history: pd.DataFrame) -> pd.DataFrame:
    """Per (facility_id, item_code): months, mean, sample sd, median, MAD and MeanAD."""
    if history.empty:
        return pd.DataFrame(columns=["facility_id", "item_code", "n", "mean", "sd", "median", "mad", "mean_ad"])
    grouped = history.groupby(["facility_id", "item_code"])["value"]
    stats = grouped.agg(n="count", mean="mean", sd="std", median="median").reset_index()
    deviation = (history["value"] - grouped.transform("median")).abs()
    spread = deviation.groupby([history["facility_id"], history["item_code"]]).agg(mad="median", mean_ad="mean")
    return stats.merge(spread.reset_index(), on=["facility_id", "item_code"])


def _classes(scores: np.ndarray, moderate: float, extreme: float) -> pd.Series:
    magnitude = np.abs(scores)
    labels = np.where(magnitude >= extreme, "extreme", np.where(magnitude >= moderate, "moderate", "ok")).astype(object)
    labels[np.isnan(scores)] = None
    return pd.Series(labels, dtype=object)


def score_rows(rows: pd.DataFrame, history: pd.DataFrame, min_months: int = 3,
               min_abs: float = MIN_ABS_DEVIATION, min_rel: float = MIN_REL_DEVIATION) -> pd.DataFrame:
    """Scores for each row of ``rows`` (facility_id, item_code, value) from ``history``
    (facility_id, item_code, value: the baseline months only, already windowed).

    The same arithmetic as :func:`score`, vectorised over the whole batch."""
    stats = baseline_stats(history)
    merged = rows[["facility_id", "item_code", "value"]].merge(stats, on=["facility_id", "item_code"], how="left")
    value = merged["value"].astype(float).to_numpy()
    n = merged["n"].fillna(0).to_numpy()
    enough = (n >= min_months) & ~np.isnan(value)
    with np.errstate(divide="ignore", invalid="ignore"):
        sd = merged["sd"].astype(float).to_numpy()
        z = np.where(enough & (sd > 0), (value - merged["mean"].astype(float).to_numpy()) / sd, np.nan)
        median = merged["median"].astype(float).to_numpy()
        mad = merged["mad"].astype(float).to_numpy()
        mean_ad = merged["mean_ad"].astype(float).to_numpy()
        modified = np.where(mad > 0, 0.6745 * (value - median) / mad,
                            np.where(mean_ad > 0, 0.7979 * (value - median) / mean_ad, np.nan))
        modified = np.where(enough, modified, np.nan)
        deviation = np.abs(value - median)
        material = (deviation >= min_abs) & (deviation >= min_rel * np.abs(median))
    z_class = _classes(z, Z_MODERATE, Z_EXTREME)
    modified_class = _classes(modified, MODZ_MODERATE, MODZ_EXTREME)
    z_class[~material & z_class.notna().to_numpy()] = "ok"
    modified_class[~material & modified_class.notna().to_numpy()] = "ok"
    result = pd.DataFrame(
        {
            "z_score": z,
            "modified_z": modified,
            "z_class": z_class.set_axis(rows.index),
            "modified_z_class": modified_class.set_axis(rows.index),
            "baseline_mean": np.where(enough, merged["mean"].astype(float), np.nan),
            "baseline_median": np.where(enough, median, np.nan),
            "baseline_months": n.astype(int),
        },
        index=rows.index,
    )
    return result
