"""The truth and its JSON: :mod:`hmis_dev.demo.truth`."""

from __future__ import annotations

import json
import re

import pytest

from .landing import PERIODS

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
