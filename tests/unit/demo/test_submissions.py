"""Who sends which file when, and the statuses that follow: :mod:`hmis_dev.demo.submissions`."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import datetime, timedelta

import pytest

from hmis.reference.formats import load_catalogue
from hmis.reference.periods import REPORTING_TZ, due_at
from hmis_dev.demo.defects import DEFECT_KINDS
from hmis_dev.demo.generator import generate

from .landing import AS_OF, EARLY_AS_OF, PERIODS, read_registry, recompute, scan, tree

pytestmark = pytest.mark.unit


def test_files_are_dated_before_as_of_and_match_the_truth(demo, on_disk):
    root, truth = demo
    assert all(entry["moment"] < AS_OF for entry in on_disk)
    listed = {demo_file.key: demo_file for demo_file in truth.files}
    assert set(listed) == {entry["key"] for entry in on_disk}
    for entry in on_disk:
        demo_file = listed[entry["key"]]
        assert demo_file.submitted_at == entry["moment"]
        assert demo_file.valid == (entry["problem"] is None)
        assert demo_file.facility_id == entry["facility_id"] and demo_file.period == entry["period"]
    assert all(path.suffix == ".csv" for path in (root / "submissions").rglob("*") if path.is_file())
    assert sorted(path.name for path in (root / "submissions").iterdir()) == PERIODS


def test_status_recomputed_from_disk_matches_truth(demo):
    root, truth = demo
    assert truth.periods == PERIODS
    assert truth.registered_ids == read_registry(root).query("hmis_registered == 'true'")["facility_id"].tolist()
    status, first_moment, values = recompute(root, truth.registered_ids, truth.periods, AS_OF)
    assert status == truth.status
    assert first_moment == truth.submitted_at
    assert values == truth.values
    assert len(truth.status) == 266 * 3


def test_monthly_mix(demo):
    _, truth = demo
    for period in truth.periods:
        counts = Counter(status for (_, p), status in truth.status.items() if p == period)
        assert sum(counts.values()) == 266
        assert counts["rejected"] == 3
        assert counts["pending"] == 0
        assert 0.80 <= counts["on_time"] / 266 <= 0.90, counts
        assert 0.06 <= counts["late"] / 266 <= 0.11, counts
        assert 0.02 <= counts["missing"] / 266 <= 0.08, counts
        assert truth.status_counts(period) == {
            status: counts.get(status, 0) for status in ("on_time", "late", "missing", "rejected", "pending")
        }


def test_boundary_submissions_around_the_due_date(demo, on_disk):
    _, truth = demo
    for period in truth.periods:
        due = due_at(period)
        valid = [entry for entry in on_disk if entry["period"] == period and entry["problem"] is None]
        five_to_midnight = due.replace(hour=23, minute=59, second=0, microsecond=0)  # 23:59 on the 5th
        one_past_midnight = five_to_midnight + timedelta(minutes=2)  # 00:01 on the 6th
        at_2359 = [entry for entry in valid if entry["moment"] == five_to_midnight]
        at_0001 = [entry for entry in valid if entry["moment"] == one_past_midnight]
        assert at_2359 and at_0001, period
        assert truth.status[(at_2359[0]["facility_id"], period)] == "on_time"
        assert truth.status[(at_0001[0]["facility_id"], period)] == "late"


def test_corrected_and_revised_submissions(demo, on_disk):
    _, truth = demo
    for period in truth.periods:
        due = due_at(period)
        seconds = [entry for entry in on_disk if entry["period"] == period and entry["key"].endswith("__v2.csv")]
        corrected, revised = [], []
        for second in seconds:
            first = next(entry for entry in on_disk if entry["key"] == second["key"].replace("__v2.csv", ".csv"))
            assert second["problem"] is None
            assert second["moment"] > first["moment"]
            assert first["moment"] <= due  # the first attempt is always on time
            (corrected if first["problem"] else revised).append((first, second))
        assert len(corrected) == 3 and len(revised) == 2, period

        corrected_status = Counter(truth.status[(second["facility_id"], period)] for _, second in corrected)
        assert corrected_status == {"on_time": 2, "late": 1}
        for first, second in revised:
            key = (second["facility_id"], period)
            assert second["moment"] > due
            assert truth.status[key] == "on_time"
            assert truth.submitted_at[key] == first["moment"]
            assert truth.values[key] == second["values"]
            changed = [code for code in first["values"] if first["values"][code] != second["values"][code]]
            assert 1 <= len(changed) <= 5
            assert set(first["values"]) == set(second["values"])

        malformed = [key for key, kind in truth.scenario.items() if key[1] == period and kind == "malformed"]
        assert len(malformed) == 3
        assert all(truth.status[key] == "rejected" for key in malformed)


def test_every_broken_kind_is_present_and_detectable(demo, on_disk):
    _, truth = demo
    defects = {demo_file.key: demo_file for demo_file in truth.files if not demo_file.valid}
    assert {demo_file.defect for demo_file in defects.values()} == set(DEFECT_KINDS)
    for entry in on_disk:
        if entry["key"] in defects:
            assert entry["problem"] == defects[entry["key"]].defect, entry["key"]
            assert defects[entry["key"]].reason
        else:
            assert entry["problem"] is None, entry["key"]
    per_period = Counter(demo_file.period for demo_file in defects.values())
    assert per_period == {period: 6 for period in PERIODS}


def test_defects_about_codes_use_the_facility_format(demo, on_disk):
    _, truth = demo
    catalogue = load_catalogue()
    broken = {demo_file.key: demo_file for demo_file in truth.files if not demo_file.valid}
    newer = [
        entry for entry in on_disk if entry["key"] in broken and broken[entry["key"]].defect == "newer_format_item"
    ]
    assert newer
    for entry in newer:
        # A CHC's file with a code the newer format has and its own (2017 CHC) format lacks.
        assert entry["facility_type"] == "CHC"
        codes = {row["item_code"] for row in _rows(entry["path"])}
        strangers = {code for code in codes if catalogue.item("hmis2017_chc", code) is None}
        assert strangers == {"1.1.a"} and catalogue.item("hmis_newer", "1.1.a") is not None
        assert "1.1.a" in broken[entry["key"]].reason and "CHC facility format" in broken[entry["key"]].reason
    for entry in on_disk:
        demo_file = broken.get(entry["key"])
        if demo_file is None or demo_file.defect in ("not_utf8", "newer_format_item"):
            continue
        # Apart from the one defect, a broken file is the facility's report in its own codes.
        format_id = catalogue.format_for(entry["facility_type"], entry["period"]).format_id
        unknown = {
            row["item_code"] for row in _rows(entry["path"]) if catalogue.item(format_id, row["item_code"]) is None
        }
        assert unknown == ({"99.9"} if demo_file.defect == "unknown_item" else set()), entry["key"]
        if demo_file.defect == "unknown_item":
            assert "99.9" in demo_file.reason


def _rows(path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_before_the_due_date_facilities_without_a_file_are_pending(tmp_path):
    truth = generate(tmp_path, EARLY_AS_OF)
    latest = truth.periods[-1]
    assert latest == "2026-10" and EARLY_AS_OF <= due_at(latest)
    on_disk = scan(tmp_path, truth.periods)
    assert all(entry["moment"] < EARLY_AS_OF for entry in on_disk)
    with_file = {entry["facility_id"] for entry in on_disk if entry["period"] == latest}
    assert with_file  # the early reporters of 1-3 November are already in
    for facility_id in truth.registered_ids:
        expected = "pending" if facility_id not in with_file else truth.status[(facility_id, latest)]
        assert truth.status[(facility_id, latest)] == expected
        assert truth.status[(facility_id, latest)] in {"pending", "on_time", "rejected"}
    assert truth.status_counts(latest)["pending"] == 266 - len(with_file)
    status, first_moment, values = recompute(tmp_path, truth.registered_ids, truth.periods, EARLY_AS_OF)
    assert (status, first_moment, values) == (truth.status, truth.submitted_at, truth.values)


def test_a_later_as_of_only_adds_files(tmp_path, demo):
    earlier_root = tmp_path / "earlier"
    earlier = generate(earlier_root, datetime(2026, 11, 10, 18, 0, tzinfo=REPORTING_TZ))
    assert earlier.periods == PERIODS
    earlier_tree = {key: value for key, value in tree(earlier_root).items() if key.startswith("submissions/")}
    later_tree = tree(demo[0])
    assert earlier_tree and all(later_tree[key] == value for key, value in earlier_tree.items())
    assert len(later_tree) > len(earlier_tree)
