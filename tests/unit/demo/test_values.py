"""Monthly item values: :mod:`hmis_dev.demo.values`."""

from __future__ import annotations

from datetime import datetime

import pytest

from hmis.reference.catalogue import items_for_type, load_items
from hmis.reference.periods import REPORTING_TZ
from hmis_dev.demo.generator import generate

from .landing import consistency_problems

pytestmark = pytest.mark.unit


def test_clean_files_are_complete_consistent_and_plausible(registry, on_disk):
    types = dict(zip(registry["facility_id"], registry["facility_type"]))
    limits = {item.item_code: item.typical_max for item in load_items()}
    valid = [entry for entry in on_disk if entry["problem"] is None]
    assert len(valid) > 700
    for entry in valid:
        expected = [item.item_code for item in items_for_type(types[entry["facility_id"]])]
        assert list(entry["values"]) == expected, entry["key"]
        assert consistency_problems(entry["values"]) == [], entry["key"]
        assert all(0 <= value <= limits[code] for code, value in entry["values"].items()), entry["key"]
    raw = valid[0]["path"].read_bytes()
    assert raw.startswith(b"facility_id,period,item_code,value\n") and b"\r" not in raw
    assert b".0" not in raw


def test_values_scale_with_facility_type_and_vary(demo, registry):
    _, truth = demo
    types = dict(zip(registry["facility_id"], registry["facility_type"]))
    opd: dict[str, list[int]] = {}
    for (facility_id, _), values in truth.values.items():
        if "14.2.1" in values:
            opd.setdefault(types[facility_id], []).append(values["14.2.1"])
    mean = {facility_type: sum(counts) / len(counts) for facility_type, counts in opd.items()}
    assert mean["SC"] < mean["PHC"] < mean["CHC"] < mean["SDH"] < mean["DH"]
    assert mean["CHC"] < mean["PVT_HOSPITAL"] < mean["SDH"]
    assert mean["CLINIC"] < mean["PHC"]

    # Different facilities and different months get different numbers.
    monthly: dict[str, set[int]] = {}
    for (facility_id, _), values in truth.values.items():
        monthly.setdefault(facility_id, set()).add(values.get("14.2.1", values.get("14.2.2")))
    reported_thrice = [
        counts
        for facility_id, counts in monthly.items()
        if sum(1 for key in truth.values if key[0] == facility_id) == 3
    ]
    assert sum(len(counts) == 3 for counts in reported_thrice) > 0.9 * len(reported_thrice)
    for period in truth.periods:
        dh_and_sdh = [
            values["14.2.1"]
            for (facility_id, p), values in truth.values.items()
            if p == period and types[facility_id] in {"DH", "SDH"}
        ]
        assert len(set(dh_and_sdh)) == len(dh_and_sdh)
    ayush = [values for (facility_id, _), values in truth.values.items() if types[facility_id] == "AYUSH"]
    assert ayush and all("14.2.2" in values and "2.2" not in values for values in ayush)


def test_seasonality(tmp_path):
    truth = generate(tmp_path, datetime(2027, 2, 10, 9, 0, tzinfo=REPORTING_TZ), months=7)
    assert truth.periods[0] == "2026-07" and truth.periods[-1] == "2027-01"

    def share(period: str, code: str, base: str) -> float:
        rows = [values for (_, p), values in truth.values.items() if p == period and code in values and base in values]
        return sum(values[code] for values in rows) / sum(values[base] for values in rows)

    assert share("2026-09", "14.1.3", "14.2.1") > 1.5 * share("2027-01", "14.1.3", "14.2.1")  # fever
    assert share("2027-01", "14.1.5", "14.2.1") > 1.5 * share("2026-09", "14.1.5", "14.2.1")  # ARI
    assert share("2026-07", "14.1.4", "14.2.1") > 1.5 * share("2027-01", "14.1.4", "14.2.1")  # diarrhoea
    assert share("2026-10", "14.1.7", "14.1.3") > 3 * share("2027-01", "14.1.7", "14.1.3")  # dengue
    assert share("2026-09", "14.1.8", "14.1.3") > 3 * share("2027-01", "14.1.8", "14.1.3")  # malaria
