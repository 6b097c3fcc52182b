"""The CDC Early Aberration Reporting System (EARS) methods C1, C2 and C3.

This module computes what the reference implementation computes: ``earsC`` of the R
package ``surveillance`` (file ``R/earsC.R``, checked against release 1.20.3), for one
regular series of counts ``Y(1), ..., Y(n)`` (1-based below, as in the reference).

Parameters and their defaults (the reference's):

* ``baseline`` ``b`` = 7 periods (at least 3);
* ``alpha`` = 0.001 for C1 and C2, 0.025 for C3; the threshold is
  ``z = qnorm(1 - alpha)`` (3.0902 for 0.001, 1.9600 for 0.025);
* ``min_sigma`` = 0: a floor for the standard deviation, ``max(S, min_sigma)``.

Sample means and standard deviations use the ``b`` baseline values, the standard deviation
with divisor ``b - 1`` (R's ``sd``).

C1 ("mild"), evaluated from period ``b + 1``::

    Ybar1(t) = mean(Y(t-b), ..., Y(t-1))           S1(t) = sd(same values)
    U1(t)    = Ybar1(t) + z * max(S1(t), min_sigma)
    alarm(t) = Y(t) > U1(t)

C2 ("medium"): the same with a guard band of two periods between baseline and ``t``,
evaluated from period ``b + 3``::

    Ybar2(t) = mean(Y(t-b-2), ..., Y(t-3))         S2(t) = sd(same values)
    U2(t)    = Ybar2(t) + z * max(S2(t), min_sigma)
    alarm(t) = Y(t) > U2(t)

C3 ("ultra"): built on the C2 statistics of ``t`` and the two previous periods, so it needs
two more periods and is evaluated from period ``b + 5``::

    C2(i)    = (Y(i) - Ybar2(i)) / max(S2(i), min_sigma)          for i = t-2, t-1, t
    P(t)     = max(0, C2(t-2) - 1) + max(0, C2(t-1) - 1)
    U3(t)    = max(0, Y(t) + max(S2(t), min_sigma) * (z - P(t)))
    alarm(t) = Y(t) > U3(t)

The reference's documentation describes C3 as ``sum_{i=t-2..t} max(0, C2(i) - 1) >= z``
with ``U3 = Ybar2(t) + S2(t) * (z - P(t))``; its code, reproduced here, adds
``Y(t)`` instead of ``Ybar2(t)``, so a C3 alarm at ``t`` happens exactly when the two
previous periods' excess ``P(t)`` is above ``z`` (and ``Y(t) > 0``): C3 confirms a rise that
C2 saw in the previous two periods. The ``expected`` and ``sd`` reported for C3 are
``Ybar2(t)`` and ``S2(t)``.

Missing values (NaN) propagate as in R: any missing value in a window makes that period's
expected value, bound and alarm missing. With ``min_sigma = 0`` a flat baseline has
``S = 0``: C1/C2 then alarm on any count above the baseline mean, and C3's ``C2(i)`` is
infinite (or undefined for ``0 / 0``), again as in R.

One difference: the reference fails with an error for C3 when only one period can be
evaluated (its ``as.matrix`` on a single baseline row); here that period is computed with
the same formula as every other.
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pandas as pd

METHODS = ("C1", "C2", "C3")
DEFAULT_BASELINE = 7
MIN_BASELINE = 3
DEFAULT_ALPHA = {"C1": 0.001, "C2": 0.001, "C3": 0.025}
# Periods skipped between the baseline window and the period evaluated.
GUARD_BAND = {"C1": 0, "C2": 2, "C3": 2}
RESULT_COLUMNS = ["position", "observed", "expected", "sd", "upper_bound", "alarm"]


class EarsError(ValueError):
    """Parameters or a series the methods cannot work with; the message says why."""


def threshold(alpha: float) -> float:
    """``z = qnorm(1 - alpha)``, the standard normal quantile the bound is built on."""
    if not 0 < alpha < 1:
        raise EarsError(f"alpha must be between 0 and 1 (exclusive), not {alpha}")
    return NormalDist().inv_cdf(1 - alpha)


def first_evaluated(method: str, baseline: int = DEFAULT_BASELINE) -> int:
    """0-based position of the first period ``method`` evaluates (the reference's default range).

    C1: ``baseline`` (the 8th period for 7), C2: ``baseline + 2`` (10th), C3: ``baseline + 4`` (12th).
    """
    _check_method(method)
    return baseline + {"C1": 0, "C2": 2, "C3": 4}[method]


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise EarsError(f"method must be one of {', '.join(METHODS)}, not {method!r}")


def _windows(values: np.ndarray, positions: np.ndarray, baseline: int, lag: int) -> np.ndarray:
    """Rows of ``baseline`` values ending ``lag + 1`` periods before each position."""
    offsets = np.arange(baseline + lag, lag, -1)  # oldest first, like the reference
    return values[positions[:, None] - offsets[None, :]]


def _mean_sd(windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # Plain mean and ddof=1 deviation: a NaN anywhere in a window gives NaN, as R's
    # mean() and sd() do without na.rm.
    mean = windows.mean(axis=1)
    sd = np.sqrt(((windows - mean[:, None]) ** 2).sum(axis=1) / (windows.shape[1] - 1))
    return mean, sd


def _floor(sd: np.ndarray, min_sigma: float) -> np.ndarray:
    # R's pmax(sd, minSigma) keeps NA: fmax would not, so use maximum (NaN-propagating).
    return np.maximum(sd, min_sigma)


def ears_c(
    observed,
    method: str = "C1",
    baseline: int = DEFAULT_BASELINE,
    alpha: float | None = None,
    min_sigma: float = 0.0,
) -> pd.DataFrame:
    """Apply EARS ``method`` to one regular series of counts (NaN for a missing period).

    Returns one row per evaluated period, from :func:`first_evaluated` to the end, with the
    0-based ``position`` in ``observed``, ``observed``, ``expected`` (baseline mean), ``sd``
    (baseline standard deviation before ``min_sigma``), ``upper_bound`` and ``alarm``
    (pandas nullable boolean: missing where the reference gives NA). Raises
    :class:`EarsError` for bad parameters or a series too short for any evaluation.
    """
    _check_method(method)
    if int(baseline) != baseline or baseline < MIN_BASELINE:
        raise EarsError(f"baseline must be a whole number of at least {MIN_BASELINE} periods, not {baseline}")
    baseline = int(baseline)
    if min_sigma < 0 or not np.isfinite(min_sigma):
        raise EarsError(f"min_sigma must be 0 or more, not {min_sigma}")
    z = threshold(DEFAULT_ALPHA[method] if alpha is None else alpha)
    values = np.asarray(observed, dtype=float)
    if values.ndim != 1:
        raise EarsError("the series must be one-dimensional")
    start = first_evaluated(method, baseline)
    if len(values) <= start:
        raise EarsError(
            f"{method} with a baseline of {baseline} needs at least {start + 1} periods; the series has {len(values)}"
        )
    positions = np.arange(start, len(values))
    current = values[positions]

    with np.errstate(divide="ignore", invalid="ignore"):
        if method in ("C1", "C2"):
            mean, sd = _mean_sd(_windows(values, positions, baseline, GUARD_BAND[method]))
            upper = mean + z * _floor(sd, min_sigma)
        else:
            # C2 statistics for t-2, t-1 and t of every evaluated t.
            c2_positions = np.arange(start - 2, len(values))
            c2_mean, c2_sd = _mean_sd(_windows(values, c2_positions, baseline, 2))
            c2 = (values[c2_positions] - c2_mean) / _floor(c2_sd, min_sigma)
            excess = np.maximum(0.0, c2 - 1.0)
            previous = excess[:-2] + excess[1:-1]
            mean, sd = c2_mean[2:], c2_sd[2:]
            upper = np.maximum(0.0, current + _floor(sd, min_sigma) * (z - previous))

    alarm = pd.array(current > upper, dtype="boolean")
    alarm[np.isnan(current) | np.isnan(upper)] = pd.NA
    return pd.DataFrame(
        {
            "position": positions,
            "observed": current,
            "expected": mean,
            "sd": sd,
            "upper_bound": upper,
            "alarm": alarm,
        },
        columns=RESULT_COLUMNS,
    )
