"""Warning-level problems planted on the real rules: :mod:`hmis_dev.demo.quality_warnings`."""

from __future__ import annotations

from collections import Counter

import pytest

from hmis.reference.periods import financial_year
from hmis_dev.demo.generator import generate
from hmis_dev.demo.quality_warnings import EXTREME_FLOOR
from hmis_dev.demo.scale import typical_maxima

from .landing import AS_OF, counts_of, pipeline_rule_failures, scan

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def warned(tmp_path_factory):
    root = tmp_path_factory.mktemp("warned")
    return root, generate(root, AS_OF, quality_warnings=True)


def test_planted_warnings_are_valid_files_in_the_truth(warned, demo):
    root, truth = warned
    for period in truth.periods:
        kinds = Counter(kind for _, p, kind in truth.warnings if p == period)
        assert kinds == {"first_trimester_gt_total": 2, "penta3_gt_penta1": 1, "extreme_value": 1}
    written = {(entry["facility_id"], entry["period"]): entry for entry in scan(root, truth.periods)}
    for facility_id, period, kind in truth.warnings:
        entry = written[(facility_id, period)]
        assert entry["problem"] is None  # a warning never makes a file unreadable
        assert entry["values"] == truth.values[(facility_id, period)]
        assert truth.status[(facility_id, period)] == "on_time"
        # The same seed without warnings wrote the clean file this one was planted in.
        clean = counts_of(demo[1].values[(facility_id, period)])
        counts = counts_of(entry["values"])
        changed = {element for element in counts if counts[element] != clean[element]}
        if kind == "first_trimester_gt_total":
            assert changed == {"1.1.1"} and counts["1.1.1"] > counts["1.1"]
        elif kind == "penta3_gt_penta1":
            assert changed == {"9.1.8"} and counts["9.1.8"] > counts["9.1.6"] >= 20
        else:
            (element,) = changed
            assert element in ("8.13", "8.12", "14.2.1")
            assert counts[element] >= 10 * clean[element]
            # Far above the typical maximum, or absurd for any facility where there is none.
            limit = typical_maxima().get(element)
            if limit is None:
                assert counts[element] >= EXTREME_FLOOR > 100_000
            else:
                assert counts[element] >= 2 * limit
    assert generate(root / "plain", truth.as_of).warnings == []


def test_rule_failures_are_the_planted_ones_as_the_pipeline_judges_them(warned):
    _, truth = warned
    assert truth.rule_failures == pipeline_rule_failures(truth.values)
    planted = {(f, p): kind for f, p, kind in truth.warnings}
    for (facility_id, period), failed in truth.rule_failures.items():
        kind = planted.get((facility_id, period))
        if kind == "first_trimester_gt_total":
            assert failed == ["anc.first_trimester_le_registered"]
        elif kind == "penta3_gt_penta1":
            assert "consistency.penta1_to_penta3_dropout" in failed
        else:
            # A year-to-date rule still carries an earlier month's planted Penta-3 excess.
            assert failed == ["imm.penta3_le_penta1_fytd"]
            assert any(
                f == facility_id
                and k == "penta3_gt_penta1"
                and p < period
                and financial_year(p) == financial_year(period)
                for f, p, k in truth.warnings
            )
    assert all(key in truth.rule_failures for key, kind in planted.items() if kind != "extreme_value")
