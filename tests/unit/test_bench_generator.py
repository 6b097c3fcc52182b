"""The benchmark generator: deterministic, in each facility's official format, and clean."""

from __future__ import annotations

import csv
import io
import os
import re
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

# benchmarks/ is a folder of scripts at the checkout's root (on pytest's pythonpath).
from benchmarks.generator import (
    SCALES,
    TYPE_SHARES,
    ScaleSpec,
    expected_rows_per_file,
    generate,
    layout,
    rows_per_file,
    run_dates,
    write_revisions,
)
from hmis.ingest.parse import parse_submission, staging_lines
from hmis.platform.settings import load_settings
from hmis.quality.items import expected_elements
from hmis.quality.rule_findings import file_values
from hmis.quality.rules import RULES_FILE, evaluate, load_rules
from hmis.quality.runner import prepare_frame
from hmis.reference.formats import FACILITY_TYPES, STATUS_VALUES, STOCK_SUB_ITEMS, TOTAL, load_catalogue
from hmis.reference.periods import due_at, period_end, period_start
from hmis.reference.registry import CONTACT_COLUMNS, FACILITY_COLUMNS, parse_registry

pytestmark = pytest.mark.unit

TINY = ScaleSpec("tiny", states=1, districts_per_state=2, facilities_per_district=5)
# Every facility type several times over (the knob a benchmark can turn too).
EVERY_TYPE = ScaleSpec("every_type", states=1, districts_per_state=2, facilities_per_district=45,
                       type_shares=tuple((t, 1.0) for t in FACILITY_TYPES))
MAX_BYTES = 5_000_000
PERCENTAGE = re.compile(r"^(?:100(?:\.0{1,2})?|[0-9]{1,2}(?:\.[0-9]{1,2})?)$")


def _tree(root: Path) -> dict[str, tuple[bytes, int]]:
    return {
        path.relative_to(root).as_posix(): (path.read_bytes(), path.stat().st_mtime_ns)
        for path in sorted(root.rglob("*")) if path.is_file()
    }


def _rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"))))


def _files(root: Path, spec: ScaleSpec) -> list[Path]:
    return sorted((root / "submissions" / spec.period).glob("*.csv"))


def _registry(root: Path) -> pd.DataFrame:
    return parse_registry((root / "registry" / "facilities.csv").read_bytes())


@pytest.fixture(scope="module")
def every_type(tmp_path_factory):
    root = tmp_path_factory.mktemp("every_type")
    return root, generate(EVERY_TYPE, root)


def test_same_spec_writes_identical_files_and_times(tmp_path):
    first = generate(TINY, tmp_path / "a")
    second = generate(TINY, tmp_path / "b")
    assert _tree(tmp_path / "a") == _tree(tmp_path / "b")
    assert first.as_dict() | {"root": ""} == second.as_dict() | {"root": ""}
    # A second call into the same folder leaves the same tree.
    generate(TINY, tmp_path / "a")
    assert _tree(tmp_path / "a") == _tree(tmp_path / "b")


def test_a_different_seed_gives_different_values(tmp_path):
    generate(TINY, tmp_path / "a")
    generate(replace(TINY, seed=7), tmp_path / "b")
    assert _tree(tmp_path / "a") != _tree(tmp_path / "b")


def test_registry_and_contacts_use_types_the_catalogue_knows(every_type):
    root, result = every_type
    registry = _registry(root)
    assert list(registry.columns) == FACILITY_COLUMNS
    assert len(registry) == result.facilities == 90
    assert set(registry["facility_type"]) == set(FACILITY_TYPES)
    assert registry["hmis_registered"].all() and registry["district"].nunique() == 2
    # Every district has its district hospital, and it is the first facility.
    assert (registry.groupby("district")["facility_type"].first() == "DH").all()
    private = registry["facility_type"].isin(["PVT_HOSPITAL", "NURSING_HOME", "CLINIC"])
    assert (registry["ownership"] == private.map({True: "private", False: "public"})).all()
    assert (registry["is_ayush"] == (registry["facility_type"] == "AYUSH")).all()
    contacts = _rows((root / "registry" / "contacts.csv").read_bytes())
    assert tuple(contacts[0]) == tuple(CONTACT_COLUMNS)
    assert {row[0] for row in contacts[1:]} >= {"district_nodal_officer", "block_medical_officer"}
    assert sum(result.outcomes.values()) == 90
    assert len(_files(root, EVERY_TYPE)) == result.files == 90 - result.outcomes["missing"]


def test_every_file_holds_its_format_items_in_order_with_valid_codes(every_type):
    root, result = every_type
    catalogue = load_catalogue()
    types = dict(zip(_registry(root)["facility_id"], _registry(root)["facility_type"]))
    period = EVERY_TYPE.period
    seen = Counter()
    for path in _files(root, EVERY_TYPE):
        kind = types[path.stem]
        fmt = catalogue.format_for(kind, period).format_id
        items = catalogue.expected_items(kind, period)
        expected = [(item.code, "" if d == TOTAL else d) for item in items for d in item.disaggregations]
        has_stock = any(item.value_type == "stock" for item in items)
        rows = _rows(path.read_bytes())
        assert rows[0] == ["facility_id", "period", "item_code", "value"] + (["sub_item"] if has_stock else [])
        body = rows[1:]
        assert [(r[2], r[4] if has_stock else "") for r in body] == expected
        assert all(catalogue.item(fmt, r[2]) is not None for r in body)
        assert {r[0] for r in body} == {path.stem} and {r[1] for r in body} == {period}
        assert len(body) == layout(kind, period).rows
        seen[kind] += 1
    assert set(seen) == set(FACILITY_TYPES)
    assert result.rows == sum(layout(types[p.stem], period).rows for p in _files(root, EVERY_TYPE))
    assert {t: s["rows_per_file"] for t, s in result.by_type.items()} == rows_per_file(EVERY_TYPE)
    # The formats' sizes (docs/formats.md).
    assert rows_per_file(EVERY_TYPE) == {"SC": 147, "PHC": 297, "CHC": 297, "SDH": 540, "DH": 540,
                                         "PVT_HOSPITAL": 297, "NURSING_HOME": 297, "CLINIC": 196, "AYUSH": 50}


def test_values_follow_each_items_value_type(every_type):
    root, _ = every_type
    catalogue = load_catalogue()
    types = dict(zip(_registry(root)["facility_id"], _registry(root)["facility_type"]))
    period = EVERY_TYPE.period
    earliest, latest = period_start(period) - timedelta(days=20), period_end(period)
    kinds = Counter()
    for path in _files(root, EVERY_TYPE):
        fmt = catalogue.format_for(types[path.stem], period).format_id
        for row in _rows(path.read_bytes())[1:]:
            value_type, value = catalogue.item(fmt, row[2]).value_type, row[3]
            kinds[value_type] += 1
            if value_type in ("count", "stock"):
                assert value.isdigit() or value == "-1", (path.name, row)
            elif value_type == "status":
                assert value in STATUS_VALUES
            elif value_type == "date":
                assert earliest <= datetime.strptime(value, "%d/%m/%Y").date() <= latest
            else:
                assert value_type == "percentage" and PERCENTAGE.fullmatch(value), row
    assert set(kinds) == {"count", "stock", "status", "date", "percentage"}


def test_a_district_hospital_sends_its_stock_as_five_balanced_sub_items(every_type):
    root, _ = every_type
    types = dict(zip(_registry(root)["facility_id"], _registry(root)["facility_type"]))
    hospitals = [p for p in _files(root, EVERY_TYPE) if types[p.stem] == "DH"]
    assert hospitals
    stock = {item.code for item in load_catalogue().items["hmis2017_consolidated"] if item.value_type == "stock"}
    assert len(stock) == 42
    for path in hospitals:
        by_item: dict[str, dict[str, int]] = {}
        for row in _rows(path.read_bytes())[1:]:
            if row[2] in stock:
                by_item.setdefault(row[2], {})[row[4]] = int(row[3])
            else:
                assert row[4] == ""
        assert set(by_item) == stock
        for parts in by_item.values():
            assert list(parts) == list(STOCK_SUB_ITEMS)
            opening, received, unusable, distributed, total = parts.values()
            assert min(parts.values()) >= 0
            assert total == opening + received - unusable - distributed


def _checked(root: Path, paths: list[Path], period: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The long frame and the per-file checks the pipeline's validation computes (without GX)."""
    frames, files = [], []
    for file_id, path in enumerate(paths, start=1):
        frame = parse_submission(path.read_bytes(), "csv", MAX_BYTES)
        frame.insert(0, "file_id", file_id)
        frames.append(frame)
        files.append((file_id, path.stem.split("__")[0], period))
    rows = pd.concat(frames, ignore_index=True)
    file_frame = pd.DataFrame(files, columns=["file_id", "key_facility_id", "key_period"])
    registry = _registry(root)
    frame = prepare_frame(rows, file_frame, registry)
    elements = {item.element for item in load_catalogue().elements()}
    ruleset = load_rules(load_settings().expectations_dir / RULES_FILE, elements)
    month, fytd, expected, present = file_values(frame, file_frame, registry, None, expected_elements)
    checks, _ = evaluate(ruleset, month, fytd, expected, present)
    return frame, checks, file_frame


def _rejected(path: Path) -> bool:
    return any(row[3] == "-1" for row in _rows(path.read_bytes())[1:])


def test_clean_files_break_no_rule_and_are_complete(every_type):
    root, result = every_type
    paths = [p for p in _files(root, EVERY_TYPE) if not _rejected(p)]
    assert len(paths) == result.files - result.outcomes["rejected"]
    frame, checks, _ = _checked(root, paths, EVERY_TYPE.period)
    assert frame["item_known"].all() and frame["sub_item_valid"].all()
    # Only the values set above their typical maximum on purpose are flagged as such.
    assert int((frame["within_typical_max"] == False).sum()) == result.rows_above_max  # noqa: E712
    columns = [c for c in checks if c.startswith(("rule:", "check:"))]
    failed = {c: int(checks[c].eq(False).sum()) for c in columns if checks[c].eq(False).any()}
    assert failed == {}
    # The rules are really evaluated, not skipped for want of items.
    evaluated = {c: int(checks[c].eq(True).sum()) for c in columns}
    assert evaluated["rule:delivery.csection_le_institutional"] > 0 and evaluated["rule:ipd.diseases_le_inpatients"] > 0
    assert (checks["completeness_share"] == 1.0).all()


def test_every_file_takes_the_fast_parse_path(every_type):
    """The benchmark measures the path most real files take: the canonical CSV's, with the
    sub-item column where the format has stock items."""
    root, _ = every_type
    taken = 0
    for path in _files(root, EVERY_TYPE):
        staged = staging_lines(path.read_bytes(), "csv", MAX_BYTES, 1)
        assert staged is not None and staged[1] == len(_rows(path.read_bytes())) - 1, path.name
        taken += 1
    assert taken == len(_files(root, EVERY_TYPE))


def test_files_arrive_before_the_run_and_revisions_after_it_still_clean(tmp_path):
    generate(EVERY_TYPE, tmp_path)
    first_run, next_run = run_dates(EVERY_TYPE)
    assert first_run > due_at(EVERY_TYPE.period)
    originals = _files(tmp_path, EVERY_TYPE)
    for path in originals:
        assert os.stat(path).st_mtime < first_run.timestamp()
    revisions = write_revisions(EVERY_TYPE, tmp_path, share=0.2)
    assert len(revisions) == round(len(originals) * 0.2)
    for path in revisions:
        assert first_run.timestamp() < path.stat().st_mtime < next_run.timestamp()
        original = path.with_name(path.name.replace("__r2", ""))
        before, after = _rows(original.read_bytes()), _rows(path.read_bytes())
        changed = [(a, b) for a, b in zip(before, after) if a != b]
        assert len(before) == len(after) and len(changed) == 1
        (old, new), = changed
        assert old[:3] == new[:3] and int(new[3]) == abs(int(old[3])) + 1
    clean = [p for p in revisions if not _rejected(p)]
    _, checks, _ = _checked(tmp_path, clean, EVERY_TYPE.period)
    assert not checks[[c for c in checks if c.startswith(("rule:", "check:"))]].eq(False).any().any()


def test_the_usual_mix_is_mostly_primary_care_with_a_few_hospitals(tmp_path):
    spec = ScaleSpec("mix", states=1, districts_per_state=4, facilities_per_district=250)
    result = generate(spec, tmp_path)
    share = {t: s["facilities"] / result.facilities for t, s in result.by_type.items()}
    assert share["SC"] + share["PHC"] > 0.55 and share["SC"] > share["PHC"] > share["CHC"]
    assert 0 < share["SDH"] + share["DH"] < 0.03
    assert share["PVT_HOSPITAL"] + share["NURSING_HOME"] + share["CLINIC"] > 0.15
    assert 180 < result.rows / result.files < 220
    assert dict(spec.type_shares) == dict(TYPE_SHARES)


def test_named_scales_meet_the_issue_sizes():
    assert SCALES["district"].facilities == 266
    assert SCALES["state"].districts == 22 and SCALES["state"].facilities >= 6_000
    assert SCALES["national"].facilities >= 200_000
    # About 200 rows a file on average: SCs 147, PHC/CHC/private ~300, hospitals 540.
    assert all(180 < expected_rows_per_file(spec) < 220 for spec in SCALES.values())


def test_a_spec_names_only_known_facility_types():
    with pytest.raises(ValueError, match="unknown facility type"):
        ScaleSpec("bad", 1, 1, 5, type_shares=(("DH", 1.0), ("HOSPITAL", 1.0)))
