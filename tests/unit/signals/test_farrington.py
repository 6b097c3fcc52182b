"""The Farrington flexible method against R's ``surveillance::farringtonFlexible``, and by hand.

The reference values are R's, computed once and stored in
``tests/fixtures/signals/farrington_r.json`` (made by
``dev/hmis_dev/r_reference/make_farrington_fixture.py``, which says how to regenerate it);
R is not needed here. Every case is one generated monthly series under one setting of R's
control list: same upper bounds within 1e-6 relative, same alarms, same trend decisions.
"""

import json
import math
from pathlib import Path

import numpy as np
import pytest

from hmis.signals.farrington import (
    MONTHLY_NOUFAILY,
    MONTHLY_ORIGINAL,
    R_CONTROL_NAMES,
    FarringtonError,
    farrington_flexible,
    first_evaluated,
)

pytestmark = pytest.mark.unit

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "signals" / "farrington_r.json"
REFERENCE = json.loads(FIXTURE.read_text())
RELATIVE = 1e-6


def _values(items) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in items], dtype=float)


def _kwargs(control: dict) -> dict:
    return {R_CONTROL_NAMES[name]: tuple(value) if name == "limit54" else value for name, value in control.items()}


def _close(ours: np.ndarray, theirs: np.ndarray, *, relative: float, absolute: float = 0.0) -> bool:
    """Same missing values, and the others within ``relative`` (or ``absolute`` near zero)."""
    if not np.array_equal(np.isnan(ours), np.isnan(theirs)):
        return False
    both = ~np.isnan(theirs)
    return bool(np.all(np.abs(ours[both] - theirs[both]) <= np.maximum(relative * np.abs(theirs[both]), absolute)))


@pytest.fixture(scope="module")
def computed() -> dict:
    """Our results for every reference case, computed once."""
    results = {}
    for case in REFERENCE["cases"]:
        series = REFERENCE["series"][case["series_name"]]
        results[case["name"]] = farrington_flexible(
            _values(series["values"]), population=series["population"], **_kwargs(case["control"])
        )
    return results


def test_the_fixture_covers_both_methods_and_many_series():
    settings = {case["setting"] for case in REFERENCE["cases"]}
    assert REFERENCE["surveillance_version"] == "1.20.3"
    assert len(REFERENCE["series"]) >= 35
    assert {"r_defaults", "monthly_original", "noufaily_nbplugin", "noufaily_muan_no_limit"} <= settings
    methods = {case["control"].get("thresholdMethod", "delta") for case in REFERENCE["cases"]}
    assert methods == {"delta", "nbPlugin", "muan"}
    assert not [case["name"] for case in REFERENCE["cases"] if "error" in case["r"]]
    # The fixture's two pipeline settings are the module's.
    assert _kwargs(next(c for c in REFERENCE["cases"] if c["setting"] == "monthly_original")["control"]) | {
        "freq": 12} == MONTHLY_ORIGINAL
    assert _kwargs(next(c for c in REFERENCE["cases"] if c["setting"] == "noufaily_nbplugin")["control"]) | {
        "freq": 12} == MONTHLY_NOUFAILY


@pytest.mark.parametrize("case", REFERENCE["cases"], ids=[case["name"] for case in REFERENCE["cases"]])
def test_matches_r(case, computed):
    ours, theirs = computed[case["name"]], case["r"]
    assert ours["position"].iloc[0] + 1 == theirs["first"]
    assert len(ours) == len(theirs["upperbound"])
    assert _close(ours["upper_bound"].to_numpy(float), _values(theirs["upperbound"]), relative=RELATIVE)
    assert ours["alarm"].astype(object).tolist() == theirs["alarm"]
    assert ours["trend"].astype(int).tolist() == [int(v) for v in theirs["trend"]]
    assert _close(ours["phi"].to_numpy(float), _values(theirs["phi"]), relative=RELATIVE)
    # Expected values and p-values can be ~1e-10 apart where the fit's mean is near zero;
    # the trend coefficient where it is ~1e-17 (a flat fit): compare those near zero absolutely.
    assert _close(ours["expected"].to_numpy(float), _values(theirs["expected"]), relative=RELATIVE, absolute=1e-9)
    assert _close(ours["p_value"].to_numpy(float), _values(theirs["pvalue"]), relative=RELATIVE, absolute=1e-9)
    assert _close(ours["trend_coefficient"].to_numpy(float), _values(theirs["trendVector"]),
                  relative=RELATIVE, absolute=1e-12)


def test_the_cross_check_sees_alarms_trends_and_limit54():
    alarms = sum(sum(v is True for v in case["r"]["alarm"]) for case in REFERENCE["cases"])
    trends = sum(sum(case["r"]["trend"]) for case in REFERENCE["cases"])
    hidden = sum(sum(v is None for v in case["r"]["upperbound"]) for case in REFERENCE["cases"])
    assert alarms >= 50 and trends >= 50 and hidden >= 50


def test_flat_poisson_series_by_hand():
    # 40 months of exactly 10, one month judged with b = 3, w = 1 and no trend: the fit is
    # mu = 10 with phi = max(0 / df, 1) = 1 and se(eta)^2 = phi_hat / sum(mu) = 0, so
    # tau = 1 and the 2/3-power bound is (10^(2/3) + z * sqrt(4/9 * 10^(1/3)))^(3/2).
    series = [10.0] * 39 + [20.0]
    result = farrington_flexible(series, b=3, w=1, trend=False, reweight=False)
    z = 1.6448536269514722
    upper = (10 ** (2 / 3) + z * math.sqrt(4 / 9 * 10 ** (1 / 3))) ** 1.5
    assert result["position"].tolist() == [37, 38, 39]
    last = result.iloc[-1]
    assert last["expected"] == pytest.approx(10.0, rel=1e-7)
    assert last["phi"] == 1.0
    assert last["upper_bound"] == pytest.approx(upper, rel=1e-7)
    assert bool(last["alarm"]) is True
    # nbPlugin with phi = 1 is the Poisson quantile: qpois(0.95, 10) = 15.
    noufaily = farrington_flexible(series, b=3, w=1, trend=False, reweight=False, threshold_method="nbPlugin")
    assert noufaily.iloc[-1]["upper_bound"] == 15.0


def test_limit54_hides_the_bound_and_the_alarm():
    series = [0.0] * 36 + [1.0, 0.0, 0.0, 3.0]  # 4 cases in the last 4 months: fewer than 5
    result = farrington_flexible(series, b=3, w=1).iloc[-1]
    assert bool(result["enough_cases"]) is False
    assert math.isnan(result["upper_bound"]) and not math.isnan(result["threshold"])
    assert bool(result["alarm"]) is False
    assert bool(farrington_flexible(series, b=3, w=1, limit54=(4, 4)).iloc[-1]["enough_cases"]) is True


def test_first_evaluated_and_bad_parameters():
    assert first_evaluated(freq=12, b=3, w=1) == 37
    assert first_evaluated() == 63  # R's defaults b = 5, w = 3 on monthly data
    with pytest.raises(FarringtonError, match="needs at least 38 periods"):
        farrington_flexible([1.0] * 37, b=3, w=1)
    with pytest.raises(FarringtonError, match="no_periods"):
        farrington_flexible([1.0] * 60, b=3, w=1, no_periods=11)
    with pytest.raises(FarringtonError, match="threshold_method"):
        farrington_flexible([1.0] * 60, b=3, w=1, threshold_method="quantile")
    with pytest.raises(FarringtonError, match="population"):
        farrington_flexible([1.0] * 60, b=3, w=1, population_offset=True)
    with pytest.raises(FarringtonError, match="positions"):
        farrington_flexible([1.0] * 60, b=3, w=1, positions=[10])
