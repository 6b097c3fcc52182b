"""Outlier arithmetic checked against values computed by hand."""

import math

import pytest

from hmis.quality.outliers import score

pytestmark = pytest.mark.unit


def test_z_score_by_hand():
    # baseline 10, 12, 14: mean 12, sample sd 2 -> z of 18 = (18 - 12) / 2 = 3 (extreme)
    s = score(18, [10, 12, 14])
    assert s.z == pytest.approx(3.0)
    assert s.z_class == "extreme"
    assert score(16, [10, 12, 14]).z_class == "moderate"  # z = 2
    assert score(15.9, [10, 12, 14]).z_class == "ok"  # z = 1.95


def test_modified_z_by_hand():
    # baseline 10, 11, 12, 13, 50: median 12, |dev| 2,1,0,1,38 -> MAD 1
    # M(17) = 0.6745 * (17 - 12) / 1 = 3.3725 (ok), M(18) = 4.047 (moderate), M(20) = 5.396 (extreme)
    base = [10, 11, 12, 13, 50]
    assert score(17, base).modified_z == pytest.approx(3.3725)
    assert score(17, base).modified_z_class == "ok"
    assert score(18, base).modified_z_class == "moderate"
    assert score(20, base).modified_z == pytest.approx(5.396)
    assert score(20, base).modified_z_class == "extreme"
    # the earlier spike (50) inflates the sd, so plain z misses what the robust form sees
    assert score(20, base).z_class == "ok"


def test_mad_zero_falls_back_to_mean_absolute_deviation():
    # baseline 5, 5, 5, 9: median 5, |dev| 0,0,0,4 -> MAD 0, MeanAD 1
    # M(9) = 0.7979 * (9 - 5) / 1 = 3.1916 (ok); M(12) = 0.7979 * 7 = 5.5853 (extreme)
    assert score(9, [5, 5, 5, 9]).modified_z == pytest.approx(3.1916)
    assert score(12, [5, 5, 5, 9]).modified_z == pytest.approx(5.5853)
    assert score(12, [5, 5, 5, 9]).modified_z_class == "extreme"


def test_flat_baseline_is_not_judged():
    s = score(100, [7, 7, 7, 7])
    assert s.z is None and s.modified_z is None and s.z_class is None


def test_fewer_than_three_months_is_skipped():
    s = score(1000, [1, 2])
    assert (s.z, s.modified_z, s.baseline_months) == (None, None, 2)


def test_negative_direction_counts_too():
    s = score(0, [40, 42, 44, 46, 48])
    assert s.z < -3 and s.z_class == "extreme"
    assert not math.isnan(s.modified_z)


def test_vectorised_batch_scores_match_the_single_value_arithmetic():
    import numpy as np
    import pandas as pd

    from hmis.quality.outliers import score_rows

    rng = np.random.default_rng(7)
    history = pd.DataFrame(
        [(f"F{f}", f"I{i}", float(v)) for f in range(6) for i in range(4)
         for v in rng.poisson(20 + 5 * f, size=2 + (f + i) % 9)], columns=["facility_id", "item_code", "value"])
    history.loc[history.index[::7], "value"] = 20.0  # ties, to reach MAD = 0 in some groups
    rows = pd.DataFrame([(f"F{f}", f"I{i}", float(rng.integers(0, 80))) for f in range(7) for i in range(4)],
                        columns=["facility_id", "item_code", "value"])
    batch = score_rows(rows, history, min_abs=0, min_rel=0)
    for position, (f, i, v) in enumerate(rows.itertuples(index=False)):
        base = history[(history.facility_id == f) & (history.item_code == i)]["value"].tolist()
        one = score(v, base)
        got = batch.iloc[position]
        for expected, actual in ((one.z, got.z_score), (one.modified_z, got.modified_z)):
            if expected is None:
                assert np.isnan(actual)
            else:
                assert actual == pytest.approx(expected)
        assert (one.z_class, one.modified_z_class) == (got.z_class, got.modified_z_class)


def test_small_or_proportionally_small_changes_are_not_called_outliers():
    import pandas as pd

    from hmis.quality.outliers import score_rows

    history = pd.DataFrame(
        [("BIG", "opd", v) for v in (10000.0, 10050.0, 9990.0, 10020.0, 10010.0)]
        + [("TINY", "dengue", v) for v in (0.0, 1.0, 0.0, 1.0, 0.0)],
        columns=["facility_id", "item_code", "value"])
    rows = pd.DataFrame([("BIG", "opd", 10400.0), ("BIG", "opd", 16000.0), ("TINY", "dengue", 6.0),
                         ("TINY", "dengue", 14.0)], columns=["facility_id", "item_code", "value"])
    textbook = score_rows(rows, history, min_abs=0, min_rel=0)
    guarded = score_rows(rows, history)
    assert textbook["z_class"].tolist() == ["extreme"] * 4
    # +4 % of a big count and +6 cases are noise; +60 % and +14 cases are worth a call
    assert guarded["z_class"].tolist() == ["ok", "extreme", "ok", "extreme"]
