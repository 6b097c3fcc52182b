"""The pipeline's stages as plain functions; the DAG calls one per task.

Every function takes the run's logical date (``as_of``) and derives everything from it —
the open periods, due dates, which files had arrived — and never reads the clock, so a
re-run or a backfill of the same date gives the same result. Heavy libraries (Great
Expectations) are imported only inside the stage that needs them.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime

from hmis import alerts, compliance, ingest, marts
from hmis.config import load_settings
from hmis.landing import open_store
from hmis.periods import open_periods
from hmis.registry import read_registry, sync_reference
from hmis.warehouse import connect, migrate

log = logging.getLogger(__name__)


def run_key(as_of: datetime) -> str:
    """The ledger's name for a run: its logical date, so re-runs of a date share it."""
    return f"run@{as_of.isoformat()}"


def periods_for(as_of: datetime) -> list[str]:
    return open_periods(as_of, load_settings().open_period_count)


def _with_conn(fn):
    conn = connect()
    try:
        return fn(conn)
    finally:
        conn.close()


def prepare(as_of: datetime) -> dict:
    """Apply migrations and refresh the registry, contacts and item catalogue."""
    settings = load_settings()
    store = open_store(settings.landing_url)

    def work(conn):
        applied = migrate(conn)
        reference = sync_reference(conn, store, as_of)
        periods = periods_for(as_of)
        with conn, conn.cursor() as cur:
            cur.execute(
                """INSERT INTO ingest.run (run_id, logical_date, periods) VALUES (%s, %s, %s)
                   ON CONFLICT (run_id) DO NOTHING""",
                (run_key(as_of), as_of, periods),
            )
        return {"migrations_applied": applied, "periods": periods, **reference}

    result = _with_conn(work)
    log.info("prepared run for %s: periods %s, %d facilities (%d registered on HMIS)",
             as_of.isoformat(), result["periods"], result["facilities"], result["registered"])
    return result


def discover(as_of: datetime) -> dict:
    settings = load_settings()
    store = open_store(settings.landing_url)
    return _with_conn(lambda conn: ingest.discover(conn, store, periods_for(as_of), as_of, run_key(as_of)))


def parse(as_of: datetime) -> dict:
    settings = load_settings()
    store = open_store(settings.landing_url)
    return _with_conn(lambda conn: ingest.parse_discovered(
        conn, store, run_key(as_of), as_of, settings.max_file_bytes, settings.batch_files))


def validate(as_of: datetime) -> dict:
    from hmis.reference.catalogue import load_items
    from hmis.validate import SuiteRunner

    settings = load_settings()
    store = open_store(settings.landing_url)
    runner = SuiteRunner(settings.expectations_dir)
    items = {item.item_code: item.typical_max for item in load_items()}
    return _with_conn(lambda conn: ingest.validate_parsed(
        conn, store, runner, items, run_key(as_of), as_of, settings.batch_files))


def load(as_of: datetime) -> dict:
    return _with_conn(lambda conn: ingest.load_accepted(conn, run_key(as_of), as_of))


def update_compliance(as_of: datetime) -> dict:
    settings = load_settings()

    def work(conn):
        registry = read_registry(conn)
        return compliance.refresh_status(conn, registry, periods_for(as_of), as_of, settings.due_day)

    counts = _with_conn(work)
    log.info("compliance as of %s: %s", as_of.isoformat(), counts)
    return counts


def build_marts(as_of: datetime) -> dict:
    return _with_conn(lambda conn: marts.rebuild(conn, periods_for(as_of), as_of))


def notify_officers(as_of: datetime) -> dict:
    """Send due digests; fail the task (so Airflow retries) if any send failed."""
    settings = load_settings()
    result = _with_conn(lambda conn: alerts.send_digests(
        conn, periods_for(as_of), as_of, run_key(as_of), settings.mail_from, settings.due_day))
    if result["alerts_failed"]:
        raise RuntimeError(
            f"{result['alerts_failed']} officer alert(s) could not be sent and are recorded as failed "
            f"in alerts.sent; they will be retried: {'; '.join(result['errors'])}"
        )
    return result


def summarise(as_of: datetime) -> dict:
    """Collect the run's figures, log them as one screen and keep them in ``ingest.run``."""
    from hmis.summary import collect, render

    def work(conn):
        summary = collect(conn, periods_for(as_of), run_key(as_of))
        with conn, conn.cursor() as cur:
            cur.execute(
                "UPDATE ingest.run SET summary = %s, finished_at = %s WHERE run_id = %s",
                (json.dumps(summary, sort_keys=True, default=str), as_of, run_key(as_of)),
            )
        return summary

    summary = _with_conn(work)
    log.info("run summary\n%s", render(summary))
    return summary
