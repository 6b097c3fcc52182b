"""Airflow's plugins folder holds real plugins only, and loading them costs the pipeline nothing.

Airflow imports every module under ``plugins/`` at start-up, in every process (task processes
included), under bare module names. These tests load the folder the way Airflow does, in a
fresh interpreter, and check what it imported.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.dags

ROOT = Path(__file__).resolve().parents[2]

LOAD_PLUGINS = """
import json, sys
before = set(sys.modules)
{prelude}
from airflow import plugins_manager
plugins, errors = plugins_manager._get_plugins()
apps, _ = plugins_manager.get_fastapi_plugins()
views, _ = plugins_manager._get_ui_plugins()
root = sys.argv[1]
project = sorted(
    name for name, module in sys.modules.items()
    if name not in before and (getattr(module, "__file__", None) or "").startswith(root)
    and "/.venv/" not in (module.__file__ or "")
)
print(json.dumps({{"plugins": sorted(p.name for p in plugins),
                  "errors": errors, "project_modules": project,
                  "apps": [a["url_prefix"] for a in apps], "views": [v["href"] for v in views]}}))
"""


def _load(prelude: str = "") -> dict:
    env = {**os.environ, "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins")}
    out = subprocess.run([sys.executable, "-c", LOAD_PLUGINS.format(prelude=prelude), str(ROOT)],
                         capture_output=True, text=True, env=env, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_only_real_plugins_are_loaded_and_the_package_is_not_imported_as_plugins():
    loaded = _load()
    assert loaded["errors"] == {}
    assert "hmis_reports" in loaded["plugins"]
    # Outside the API server (a task process, the scheduler) the plugin is an empty shell:
    # nothing of the project but the plugin file itself is imported.
    assert loaded["project_modules"] == ["hmis_reports"]
    assert loaded["apps"] == []
    assert loaded["views"] == ["hmis-reports/"]


def test_the_api_server_gets_the_report_viewer():
    loaded = _load(prelude="import airflow.api_fastapi.app")
    assert loaded["errors"] == {}
    assert loaded["apps"] == ["/hmis-reports"]
    assert "hmis.report.viewer" in loaded["project_modules"]
    assert not any(name.split(".")[0] in {"config", "parse", "tasks", "ingest", "validate"}
                   for name in loaded["project_modules"])
