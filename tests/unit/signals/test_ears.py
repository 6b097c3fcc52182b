"""EARS C1/C2/C3 on short series, checked against values worked out by hand.

Every expected number below is derived in the comments; the same series were also run
through R's ``surveillance::earsC`` (release 1.20.3) and gave the same upper bounds and
alarms (to the 6 decimals R printed).
Thresholds: z(0.001) = qnorm(0.999) = 3.0902323, z(0.025) = qnorm(0.975) = 1.9599640.
"""

import math

import numpy as np
import pandas as pd
import pytest

from hmis.signals.ears import EarsError, ears_c, first_evaluated, threshold

pytestmark = pytest.mark.unit

Z_001 = 3.090232306167813
Z_025 = 1.9599639845400536
# The baseline 2, 4, 6, 4, 2, 4, 6: mean 28 / 7 = 4; squared deviations 4+0+4+0+4+0+4 = 16;
# sd = sqrt(16 / 6) = 1.6329932.
BASE = [2, 4, 6, 4, 2, 4, 6]
BASE_SD = math.sqrt(16 / 6)


def alarms(result: pd.DataFrame) -> list:
    return [None if value is pd.NA else bool(value) for value in result["alarm"]]


def test_thresholds_and_first_evaluated_periods_are_the_reference_defaults():
    assert threshold(0.001) == pytest.approx(Z_001, abs=1e-12)
    assert threshold(0.025) == pytest.approx(Z_025, abs=1e-12)
    # 0-based: C1 from the 8th period, C2 from the 10th, C3 from the 12th (baseline 7).
    assert [first_evaluated(m) for m in ("C1", "C2", "C3")] == [7, 9, 11]
    assert first_evaluated("C2", baseline=3) == 5


def test_c1_uses_the_seven_periods_just_before():
    # U1 = 4 + 3.0902323 * 1.6329932 = 4 + 5.0463282 = 9.0463282; 10 > 9.0463 -> alarm.
    result = ears_c(BASE + [10], "C1")
    assert result["position"].tolist() == [7]
    assert result["expected"].iloc[0] == pytest.approx(4.0)
    assert result["sd"].iloc[0] == pytest.approx(BASE_SD)
    assert result["upper_bound"].iloc[0] == pytest.approx(9.046328224516841, abs=1e-9)
    assert alarms(result) == [True]


def test_c2_skips_a_two_period_guard_band():
    # At the 10th period the baseline is periods 1-7 (t-9 .. t-3): the same 4 and 1.633, so
    # the two 9s in the guard band do not count. U2 = 9.0463282 and 10 alarms.
    result = ears_c(BASE + [9, 9, 10], "C2")
    assert result["position"].tolist() == [9]
    assert result["expected"].iloc[0] == pytest.approx(4.0)
    assert result["upper_bound"].iloc[0] == pytest.approx(9.046328224516841, abs=1e-9)
    assert alarms(result) == [True]
    # C1 on the same series evaluates from the 8th period and sees the 9s in its baseline.
    assert ears_c(BASE + [9, 9, 10], "C1")["position"].tolist() == [7, 8, 9]


def test_flat_baseline_has_zero_sd_and_min_sigma_sets_a_floor():
    series = [5] * 8 + [6]
    # sd 0: U1 = 5; 5 is not above 5, 6 is.
    plain = ears_c(series, "C1")
    assert plain["sd"].tolist() == [0.0, 0.0]
    assert plain["upper_bound"].tolist() == [5.0, 5.0]
    assert alarms(plain) == [False, True]
    # min_sigma 1: U1 = 5 + 3.0902323 * 1 = 8.0902323, neither alarms; sd is reported unfloored.
    floored = ears_c(series, "C1", min_sigma=1)
    assert floored["upper_bound"].tolist() == pytest.approx([8.090232306167813] * 2)
    assert floored["sd"].tolist() == [0.0, 0.0]
    assert alarms(floored) == [False, False]


def test_all_zero_baseline():
    series = [0] * 8 + [1]
    # U1 = 0: a single case alarms without a floor; with min_sigma 0.5, U1 = 1.5451162.
    assert alarms(ears_c(series, "C1")) == [False, True]
    floored = ears_c(series, "C1", min_sigma=0.5)
    assert floored["upper_bound"].tolist() == pytest.approx([1.5451161530839065] * 2)
    assert alarms(floored) == [False, False]


def test_a_missing_month_makes_every_window_holding_it_missing():
    series = [3, np.nan, 3, 4, 5, 4, 3, 4, 5, 6]
    result = ears_c(series, "C1")
    # t = 8th and 9th periods: the 2nd period is in their baseline -> no bound, no verdict.
    assert result["upper_bound"].iloc[:2].isna().all()
    assert alarms(result)[:2] == [None, None]
    # t = 10th: baseline 3, 4, 5, 4, 3, 4, 5 -> mean 4, squared deviations 1+0+1+0+1+0+1 = 4,
    # sd = sqrt(4 / 6) = 0.8164966; U1 = 4 + 3.0902323 * 0.8164966 = 6.5231641; 6 does not alarm.
    assert result["expected"].iloc[2] == pytest.approx(4.0)
    assert result["sd"].iloc[2] == pytest.approx(math.sqrt(4 / 6))
    assert result["upper_bound"].iloc[2] == pytest.approx(6.523164112258421, abs=1e-9)
    assert alarms(result)[2] is False
    # The missing month itself, when evaluated, has no verdict either.
    missing_now = ears_c([3, 4, 5, 4, 3, 4, 5, np.nan], "C1")
    assert alarms(missing_now) == [None] and missing_now["upper_bound"].iloc[0] == pytest.approx(6.523164112258421)


def test_c3_sums_the_excess_of_the_two_previous_c2_statistics():
    series = BASE + [4, 2, 12, 14, 20, 3]
    result = ears_c(series, "C3")
    assert result["position"].tolist() == [11, 12]
    # C2(10th) = (12 - 4) / 1.6329932 = 4.8989795
    # C2(11th): baseline 4, 6, 4, 2, 4, 6, 4 -> mean 30/7 = 4.2857143, sd 1.3801311,
    #           C2 = (14 - 4.2857143) / 1.3801311 = 7.0386687
    # P = (4.8989795 - 1) + (7.0386687 - 1) = 9.9376482
    # 12th: baseline 6, 4, 2, 4, 6, 4, 2 -> mean 4, sd 1.6329932;
    #       U3 = max(0, Y + S * (z - P)) = 20 + 1.6329932 * (1.9599640 - 9.9376482) = 6.9724962
    assert result["expected"].iloc[0] == pytest.approx(4.0)
    assert result["sd"].iloc[0] == pytest.approx(BASE_SD)
    assert result["upper_bound"].iloc[0] == pytest.approx(6.972496243639949, abs=1e-9)
    # 13th: P = (7.0386687 - 1) + (C2(12th) = (20 - 4) / 1.6329932 = 9.7979590 - 1) = 14.8366277;
    #       baseline 4, 2, 4, 6, 4, 2, 12 -> mean 4.8571429, sd 3.4364988;
    #       3 + 3.4364988 * (1.9599640 - 14.8366277) < 0, so U3 = 0 and even 3 cases alarm:
    #       the reference's C3 confirms the rise seen in the two previous periods.
    assert result["expected"].iloc[1] == pytest.approx(34 / 7)
    assert result["upper_bound"].iloc[1] == 0.0
    assert alarms(result) == [True, True]


def test_c3_without_a_rise_does_not_alarm():
    series = BASE + BASE[:5] + [6]
    result = ears_c(series, "C3")
    assert alarms(result) == [False, False]


def test_parameters_are_checked():
    with pytest.raises(EarsError, match="at least 3"):
        ears_c(BASE + [1], "C1", baseline=2)
    with pytest.raises(EarsError, match="method"):
        ears_c(BASE + [1], "C4")
    with pytest.raises(EarsError, match="needs at least 10 periods"):
        ears_c(BASE + [1, 2], "C2")
    with pytest.raises(EarsError, match="alpha"):
        ears_c(BASE + [1], "C1", alpha=1.5)
    with pytest.raises(EarsError, match="min_sigma"):
        ears_c(BASE + [1], "C1", min_sigma=-1)


def test_alpha_and_baseline_change_the_bound():
    # Baseline 3 of 2, 4, 6: mean 4, sd 2; alpha 0.05 -> z = 1.6448536, U1 = 4 + 3.2897073.
    result = ears_c([2, 4, 6, 8], "C1", baseline=3, alpha=0.05)
    assert result["upper_bound"].tolist() == pytest.approx([7.289707253902945])
    assert alarms(result) == [True]


def test_pipeline_series_report_counts_and_alarm_only_above_the_bound_and_min_count():
    from hmis.signals.series import compute_signals

    periods = [f"2026-{month:02d}" for month in range(1, 13)]
    rows = []
    for index, period in enumerate(periods):
        rise = 3 if index >= 9 else 1  # block B triples from October; A stays level
        rows += [("D", "A", period, "11.3.1", 40, 10000), ("D", "B", period, "11.3.1", 20 * rise, 5000),
                 ("D", "C", period, "11.3.1", 1 if index == 11 else 0, 500)]
    counts = pd.DataFrame(rows, columns=["district", "block", "period", "item_code", "observed", "visits"])
    signals = compute_signals(counts)
    alarmed = signals[signals["alarm"].fillna(False).astype(bool)]
    assert set(zip(alarmed["area_level"], alarmed["area"])) <= {("block", "B"), ("district", "D")}
    assert {("block", "B")} <= set(zip(alarmed["area_level"], alarmed["area"]))
    # One case in block C is far above its zero baseline, but below the minimum count of 5.
    c = signals[(signals["area"] == "C") & (signals["period"] == "2026-12")]
    assert not c["alarm"].astype(bool).any()
    assert (alarmed["observed"] > alarmed["upper_bound"]).all() and (alarmed["observed"] >= 5).all()
    # Block expected counts are on the count scale: A's are 40 (its steady share of the district).
    a = signals[(signals["area"] == "A") & (signals["method"] == "C1") & (signals["period"] == "2026-08")]
    assert a["expected"].iloc[0] == pytest.approx(40.0)
