"""The truth and its JSON: :mod:`hmis_dev.demo.truth`."""

from __future__ import annotations

import json
import re

import pytest

from hmis.reference.formats import STOCK_SUB_ITEMS, TOTAL

from .landing import BLOCK_LGD, PERIODS

pytestmark = pytest.mark.unit


def test_truth_serialises_to_json(tmp_path, demo):
    _, truth = demo
    path = tmp_path / "out" / "truth.json"
    truth.save(path)
    loaded = json.loads(path.read_text(encoding="utf-8"))
    assert loaded == json.loads(json.dumps(truth.to_json()))
    assert loaded["as_of"] == "2026-11-27T06:00:00+05:30"
    assert loaded["periods"] == PERIODS
    assert len(loaded["registered_ids"]) == 266 and len(loaded["unregistered_ids"]) == 54
    assert sum(len(by_facility) for by_facility in loaded["status"].values()) == 266 * 3
    assert loaded["status_counts"]["2026-10"] == truth.status_counts("2026-10")
    first = loaded["files"][0]
    assert set(first) == {"key", "facility_id", "period", "submitted_at", "valid", "defect", "reason"}
    assert re.fullmatch(r"2026-\d\d-\d\dT\d\d:\d\d:\d\d\+05:30", first["submitted_at"])


def test_truth_names_areas_by_lgd_code_and_values_by_element(demo):
    _, truth = demo
    loaded = truth.to_json()
    assert loaded["district"] == {"name": "Hisar", "lgd": "63"}
    assert loaded["blocks"] == BLOCK_LGD
    assert loaded["signal"] == {
        "block": "Barwala",
        "block_lgd": "486",
        "elements": ["11.3.1", "14.4.2"],
        "periods": PERIODS,
    }
    assert truth.signal_items == ("11.3.1", "14.4.2") and truth.signal_item == "11.3.1"
    assert loaded["rule_failures"] == {period: {} for period in PERIODS}

    dh = "HR-HIS-0001"  # Civil Hospital Hisar: the consolidation, with stock
    assert loaded["formats"]["2026-10"][dh] == "hmis2017_consolidated"
    values = loaded["values"]["2026-10"][dh]
    assert values["2.2"] == truth.values[(dh, "2026-10")][("2.2", TOTAL)]
    assert list(values["17.2"]) == list(STOCK_SUB_ITEMS)
    assert values["17.2"]["5. Total Stock"] == truth.values[(dh, "2026-10")][("17.2", "5. Total Stock")]
    chc = next(f for (f, p), fmt in truth.formats.items() if p == "2026-10" and fmt == "hmis2017_chc")
    assert set(loaded["values"]["2026-10"][chc]) == {element for element, _ in truth.values[(chc, "2026-10")]}
    assert truth.counts(chc, "2026-10")["2.2"] == truth.values[(chc, "2026-10")][("2.2", TOTAL)]
