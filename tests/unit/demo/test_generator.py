"""The entry point: determinism, idempotence and its arguments (:mod:`hmis_dev.demo.generator`)."""

from __future__ import annotations

from datetime import datetime

import pytest

from hmis_dev.demo.generator import generate

from .landing import AS_OF, read_registry, tree

pytestmark = pytest.mark.unit


def test_same_arguments_give_identical_bytes_and_mtimes(tmp_path, demo):
    first_root, first_truth = demo
    second_root = tmp_path / "again"
    second_truth = generate(second_root, AS_OF)
    assert tree(first_root) == tree(second_root)
    assert first_truth.to_json() == second_truth.to_json()


def test_second_call_into_the_same_folder_gives_the_same_tree(tmp_path):
    generate(tmp_path, AS_OF)
    before = tree(tmp_path)
    stray = tmp_path / "submissions" / "2026-10" / "HR-HIS-9999.csv"
    stray.write_text("left over\n", encoding="utf-8")
    (tmp_path / "submissions" / "2026-10" / "HR-HIS-0001.csv").write_text("edited\n", encoding="utf-8")
    generate(tmp_path, AS_OF)
    assert tree(tmp_path) == before


def test_a_different_seed_gives_different_data(tmp_path, demo):
    other = generate(tmp_path, AS_OF, seed=7)
    assert other.values != demo[1].values
    assert read_registry(tmp_path)["name"].tolist() != read_registry(demo[0])["name"].tolist()


def test_naive_as_of_is_refused(tmp_path):
    with pytest.raises(ValueError, match="timezone-aware"):
        generate(tmp_path, datetime(2026, 11, 27, 6, 0))


def test_second_call_also_rewrites_the_ultrasound_folder(tmp_path):
    generate(tmp_path, AS_OF)
    before = tree(tmp_path)
    folder = tmp_path / "ultrasound" / "2026-10"
    sorted(folder.iterdir())[0].write_text("edited\n", encoding="utf-8")
    (folder / "HR-HIS-9999.csv").write_text("left over\n", encoding="utf-8")
    (tmp_path / "ultrasound" / "2025-01").mkdir()
    (tmp_path / "ultrasound" / "2025-01" / "HR-HIS-0001.csv").write_text("old\n", encoding="utf-8")
    generate(tmp_path, AS_OF)
    assert tree(tmp_path) == before
