"""The benchmark generator: deterministic, and the shape it is asked for."""

from __future__ import annotations

import csv
import io
import os
from dataclasses import replace
from pathlib import Path

import pytest

# benchmarks/ is a folder of scripts at the checkout's root (on pytest's pythonpath).
from benchmarks.generator import SCALES, ScaleSpec, bench_items, generate, run_dates, write_revisions
from hmis.reference.catalogue import item_codes
from hmis.reference.periods import due_at
from hmis.reference.registry import CONTACT_COLUMNS, FACILITY_COLUMNS, parse_registry

pytestmark = pytest.mark.unit

TINY = ScaleSpec("tiny", states=1, districts_per_state=2, facilities_per_district=5, items_per_file=300)


def _tree(root: Path) -> dict[str, tuple[bytes, int]]:
    return {
        path.relative_to(root).as_posix(): (path.read_bytes(), path.stat().st_mtime_ns)
        for path in sorted(root.rglob("*")) if path.is_file()
    }


def _rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"))))


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


def test_ten_facilities_with_300_items_each(tmp_path):
    result = generate(TINY, tmp_path)
    registry = parse_registry((tmp_path / "registry" / "facilities.csv").read_bytes())
    assert list(registry.columns) == FACILITY_COLUMNS
    assert len(registry) == result.facilities == 10
    assert registry["hmis_registered"].all() and registry["district"].nunique() == 2
    contacts = _rows((tmp_path / "registry" / "contacts.csv").read_bytes())
    assert tuple(contacts[0]) == tuple(CONTACT_COLUMNS)
    assert {row[0] for row in contacts[1:]} >= {"district_nodal_officer", "block_medical_officer"}

    items = bench_items(300, TINY.seed)
    assert len(items) == 300 and item_codes() <= set(items)
    files = sorted((tmp_path / "submissions" / TINY.period).glob("*.csv"))
    assert len(files) == result.files == 10 - result.outcomes["missing"]
    assert sum(result.outcomes.values()) == 10
    known = set(registry["facility_id"])
    for path in files:
        rows = _rows(path.read_bytes())
        assert rows[0] == ["facility_id", "period", "item_code", "value"]
        body = rows[1:]
        assert len(body) == 300
        assert [r[2] for r in body] == list(items)
        assert {r[0] for r in body} == {path.stem} and path.stem in known
        assert {r[1] for r in body} == {TINY.period}
        assert all(r[3].lstrip("-").isdigit() for r in body)
    assert result.rows == 300 * len(files)


def test_files_arrive_before_the_run_and_revisions_after_it(tmp_path):
    generate(TINY, tmp_path)
    first_run, next_run = run_dates(TINY)
    assert first_run > due_at(TINY.period)
    folder = tmp_path / "submissions" / TINY.period
    for path in folder.glob("*.csv"):
        assert os.stat(path).st_mtime < first_run.timestamp()
    revisions = write_revisions(TINY, tmp_path, share=0.2)
    assert len(revisions) == 2
    for path in revisions:
        assert first_run.timestamp() < path.stat().st_mtime < next_run.timestamp()
        original = path.with_name(path.name.replace("__r2", ""))
        assert original.read_bytes() != path.read_bytes()
        assert len(_rows(path.read_bytes())) == len(_rows(original.read_bytes()))


def test_named_scales_meet_the_issue_sizes():
    assert SCALES["district"].facilities == 266
    assert SCALES["state"].districts == 22 and SCALES["state"].facilities >= 6_000
    assert SCALES["national"].facilities >= 200_000
    assert all(spec.items_per_file >= 300 for spec in SCALES.values())
