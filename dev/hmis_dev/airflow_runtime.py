"""Set up the process environment for the embedded services and a project-local Airflow.

Airflow reads its configuration from the environment when it is first imported, so
:func:`configure_airflow` must run before anything imports ``airflow``.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from hmis.platform.settings import Settings
from hmis_dev.services import postgres

DAG_ID = "hmis_monthly"


def configure_airflow(settings: Settings, airflow_home: Path | None = None) -> Path:
    """Point Airflow at the project's DAGs and a project-local home with SQLite metadata."""
    home = airflow_home or settings.var_dir / "airflow"
    home.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("AIRFLOW_HOME", str(home))
    os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(settings.root / "dags"))
    os.environ.setdefault("AIRFLOW__CORE__PLUGINS_FOLDER", str(settings.root / "plugins"))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    os.environ.setdefault("AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION", "True")
    return Path(os.environ["AIRFLOW_HOME"])


def ensure_airflow_db(airflow_home: Path) -> None:
    """Run ``airflow db migrate`` once per Airflow home (``dag.test()`` needs the tables)."""
    import importlib.metadata

    marker = airflow_home / f".migrated-{importlib.metadata.version('apache-airflow-core')}"
    if marker.exists():
        return
    result = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"], capture_output=True, text=True, env=os.environ.copy()
    )
    if result.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    marker.write_text("ok\n")


def start_embedded_warehouse(settings: Settings):
    """Start the project's PostgreSQL (if embedded) and expose it as ``hmis_warehouse``."""
    if settings.env != "embedded" or os.environ.get("AIRFLOW_CONN_HMIS_WAREHOUSE"):
        return None

    server = postgres.start(settings.var_dir / "pg")
    os.environ["AIRFLOW_CONN_HMIS_WAREHOUSE"] = server.airflow_conn_json()
    return server



def load_dag(settings: Settings, dag_id: str = DAG_ID):
    """A DAG of the project, parsed the way the scheduler would parse it."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(settings.root / "dags"))
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    # The parsed DAG itself: get_dag() would also look it up in Airflow's metadata
    # database, which a fresh Airflow home (a first benchmark run) does not have yet.
    if dag_id not in bag.dags:
        raise RuntimeError(f"no DAG {dag_id!r} in {settings.root / 'dags'}")
    return bag.dags[dag_id]


def run_dag(settings: Settings, logical_date: datetime, dag_id: str = DAG_ID):
    """Run a DAG once for ``logical_date`` through real Airflow (``dag.test()``)."""
    home = configure_airflow(settings)
    ensure_airflow_db(home)
    dag = load_dag(settings, dag_id)
    return dag.test(logical_date=logical_date)


@contextlib.contextmanager
def output_to(path: Path, append: bool = False):
    """Send everything this process writes to stdout/stderr (Airflow's task logs included)
    to ``path``. File descriptors are redirected, not just ``sys.stdout``, because Airflow's
    log handlers hold on to the streams they found at import time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(path, "a" if append else "w", encoding="utf-8") as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            for saved_fd, fd in zip(saved, (1, 2)):
                os.dup2(saved_fd, fd)
                os.close(saved_fd)
