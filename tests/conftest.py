"""Test set-up shared by every tier.

Airflow reads its configuration when first imported, so the environment is fixed here,
before any test module imports it: a throw-away AIRFLOW_HOME with SQLite metadata, this
checkout's DAGs and plugins, and a throw-away var/ folder for the pipeline.
"""

import os
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_SCRATCH = Path(tempfile.mkdtemp(prefix="hmis-tests-"))

os.environ["HMIS_HOME"] = str(ROOT)
os.environ["HMIS_VAR_DIR"] = str(_SCRATCH / "var")
os.environ["AIRFLOW_HOME"] = str(_SCRATCH / "airflow")
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(ROOT / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(ROOT / "plugins")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"
for leftover in ("AIRFLOW_CONN_HMIS_WAREHOUSE", "AIRFLOW_CONN_SMTP_DEFAULT", "HMIS_LANDING_URL"):
    os.environ.pop(leftover, None)

TIERS = ("unit", "dags", "integration")


def pytest_collection_modifyitems(config, items):
    """Every test must say which tier it belongs to; an unmarked test is an error."""
    unmarked = [item.nodeid for item in items if not any(item.get_closest_marker(t) for t in TIERS)]
    if unmarked:
        raise pytest.UsageError(f"tests without a tier marker ({', '.join(TIERS)}): {unmarked}")


@pytest.fixture(scope="session")
def scratch() -> Path:
    return _SCRATCH
