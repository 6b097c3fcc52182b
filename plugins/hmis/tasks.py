"""The pipeline's stages as plain functions; the DAG calls one per task.

Every function takes the run's logical date (``as_of``) and derives everything from it —
the open periods, due dates, which files had arrived — and never reads the clock, so a
re-run or a backfill of the same date gives the same result. Heavy libraries (Great
Expectations) are imported only inside the stage that needs them.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from hmis import alerts, compliance, ingest, marts
from hmis.config import load_settings
from hmis.landing import open_store
from hmis.periods import open_periods
from hmis.population import sync_population
from hmis.registry import read_registry, sync_reference
from hmis.warehouse import connect, migrate

log = logging.getLogger(__name__)


def run_key(as_of: datetime) -> str:
    """The ledger's name for a run: its logical date in UTC, so re-runs of a date share it
    whichever time zone the moment was given in."""
    return f"run@{as_of.astimezone(UTC).isoformat()}"


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
        reference["population_rows"] = sync_population(conn, store)
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
    from hmis.run_lock import locked_stage

    settings = load_settings()
    store = open_store(settings.landing_url)
    return locked_stage("discover", run_key(as_of), lambda conn: ingest.discover(
        conn, store, periods_for(as_of), as_of, run_key(as_of)))


def parse(as_of: datetime) -> dict:
    from hmis.run_lock import locked_stage

    settings = load_settings()
    store = open_store(settings.landing_url)
    return locked_stage("parse", run_key(as_of), lambda conn: ingest.parse_discovered(
        conn, store, run_key(as_of), as_of, settings.max_file_bytes, settings.batch_files))


def validate(as_of: datetime) -> dict:
    from hmis.reference.catalogue import load_items
    from hmis.rules import RULES_FILE, load_rules
    from hmis.run_lock import locked_stage
    from hmis.validate import SuiteRunner

    settings = load_settings()
    store = open_store(settings.landing_url)
    catalogue = load_items()
    ruleset = load_rules(settings.expectations_dir / RULES_FILE, {item.item_code for item in catalogue})
    docs = settings.data_docs_dir
    runner = SuiteRunner(settings.expectations_dir, ruleset, docs)
    return locked_stage("validate", run_key(as_of), lambda conn: ingest.validate_parsed(
        conn, store, runner, catalogue, run_key(as_of), as_of, settings.batch_files,
        str(docs / "index.html") if docs else None))


def load(as_of: datetime) -> dict:
    from hmis.run_lock import locked_stage

    return locked_stage("load", run_key(as_of), lambda conn: ingest.load_accepted(conn, run_key(as_of), as_of))


def update_compliance(as_of: datetime) -> dict:
    settings = load_settings()

    def work(conn):
        from hmis import registration_gap

        registry = read_registry(conn)
        counts = compliance.refresh_status(conn, registry, periods_for(as_of), as_of, settings.due_day)
        return {**counts, **registration_gap.refresh(conn, as_of)}

    counts = _with_conn(work)
    log.info("compliance as of %s: %s", as_of.isoformat(), counts)
    return counts


def build_marts(as_of: datetime) -> dict:
    """Rebuild the district-periods whose inputs changed; ``changed`` is empty when none did."""
    result = _with_conn(lambda conn: marts.rebuild(conn, periods_for(as_of), as_of))
    log.info("marts: %d block-period(s) in %d district-period(s) rebuilt: %s", result.get("blocks", 0),
             len(result["changed"]), ", ".join(result["changed"]) or "none")
    return result


def export_marts(as_of: datetime, periods: list[str]) -> dict:
    """Export each rebuilt period for the state (files first, manifest last)."""
    from hmis import dictionary
    from hmis.export import export_period

    settings = load_settings()
    store = open_store(settings.export_url)

    def work(conn):
        from hmis.report import write_report

        manifests = [export_period(conn, store, p, as_of) for p in periods]
        store.write("exports/data_dictionary.md", dictionary.render(conn, as_of).encode("utf-8"))
        with conn.cursor() as cur:
            cur.execute("SELECT DISTINCT district FROM ref.facility ORDER BY 1")
            districts = [row[0] for row in cur.fetchall()]
        conn.rollback()
        # The officers' compliance page for each district and exported month, beside the data.
        reports = [write_report(conn, store, d, p, as_of) for p in periods for d in districts]
        return manifests, reports

    manifests, reports = _with_conn(work)
    return {"exported_periods": periods, "files": sum(len(m["files"]) for m in manifests) + len(manifests),
            "reports": reports, "store": settings.export_url}


def notify_officers(as_of: datetime) -> dict:
    """Send the alerts the policy makes due and retry unsent ones, each at most once; fail the
    task (so Airflow retries) if any send failed."""
    from hmis.alert_policy import load_policy

    settings = load_settings()
    policy = load_policy(settings.alert_policy_path)
    result = _with_conn(lambda conn: alerts.send_alerts(
        conn, policy, periods_for(as_of), as_of, run_key(as_of), settings.mail_from, settings.due_day))
    log.info("officer alerts as of %s: %d sent %s, %d already sent, %d failed, %d cancelled, %d without recipient",
             as_of.isoformat(), result["alerts_sent"], result["sent_by_rung"], result["alerts_already_sent"],
             result["alerts_failed"], result["alerts_cancelled"], result["alerts_unrouted"])
    if result["alerts_failed"]:
        raise RuntimeError(
            f"{result['alerts_failed']} officer alert(s) could not be sent and are recorded as failed "
            f"in alerts.sent; they will be retried: {'; '.join(result['errors'][:5])}"
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
