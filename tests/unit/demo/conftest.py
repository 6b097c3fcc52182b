"""The demo landing zone generated once for all demo tests, and what is read back from it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from hmis_dev.demo.generator import DemoTruth, generate

from .landing import AS_OF, read_registry, scan


@pytest.fixture(scope="package")
def demo(tmp_path_factory) -> tuple[Path, DemoTruth]:
    root = tmp_path_factory.mktemp("landing")
    return root, generate(root, AS_OF)


@pytest.fixture(scope="package")
def registry(demo) -> pd.DataFrame:
    return read_registry(demo[0])


@pytest.fixture(scope="package")
def on_disk(demo) -> list[dict]:
    root, truth = demo
    return scan(root, truth.periods)
