"""Real services for integration tests: PostgreSQL, an SMTP sink, Airflow metadata.

One embedded PostgreSQL serves the session; every test gets its own fresh database, so
tests never see each other's rows.
"""

import os
import uuid
from pathlib import Path

import psycopg2
import pytest
from psycopg2 import sql

from hmis.platform.settings import load_settings
from hmis_dev.services import postgres
from hmis_dev.services.smtp_sink import SmtpSink


@pytest.fixture(scope="session")
def pg_server(scratch):
    server = postgres.start(scratch / "pg", database="postgres")
    yield server
    postgres.stop(scratch / "pg")


@pytest.fixture
def warehouse(pg_server, monkeypatch):
    """A fresh, empty database, exposed as the Airflow connection ``hmis_warehouse``."""
    name = f"hmis_test_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(host="127.0.0.1", port=pg_server.port, user="postgres", dbname="postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    db = postgres.EmbeddedPostgres(pg_server.data_dir, pg_server.port, name)
    monkeypatch.setenv("AIRFLOW_CONN_HMIS_WAREHOUSE", db.airflow_conn_json())
    yield db
    with admin.cursor() as cur:
        cur.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
    admin.close()


@pytest.fixture
def mail_sink(tmp_path, monkeypatch):
    with SmtpSink(tmp_path / "mail") as sink:
        monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", sink.airflow_conn_json())
        yield sink


@pytest.fixture
def landing(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "landing"
    folder.mkdir()
    monkeypatch.setenv("HMIS_LANDING_URL", str(folder))
    return folder


@pytest.fixture(scope="session")
def airflow_home():
    from hmis_dev.airflow_runtime import configure_airflow, ensure_airflow_db

    home = configure_airflow(load_settings(), Path(os.environ["AIRFLOW_HOME"]))
    ensure_airflow_db(home)
    return home
