"""The pipeline's stages as plain functions; the DAG calls one per task.

Every function takes the :class:`~hmis.pipeline.run.Run` and derives everything from its
logical date — the open periods, due dates, which files had arrived — and never reads the
clock, so a re-run or a backfill of the same date gives the same result. Heavy libraries
(Great Expectations) are imported only inside the stage that needs them.

The ingest stages only add to the ledger and are safe on any date. From compliance on, a run
works on each period as :mod:`hmis.pipeline.currency` finds it: current (it replaces the
statuses, marts and exports the state reads, and alerts officers) or past (a backfill: its
results go to schema ``asof`` and nothing is exported or sent).
"""

from __future__ import annotations

import json
import logging

from hmis.approval import publish, revisions
from hmis.compliance import registration_gap
from hmis.compliance import status as compliance
from hmis.ingest import dhis2_pull, portal
from hmis.ingest import stages as ingest
from hmis.marts import access as mart_access
from hmis.marts import build as marts
from hmis.marts import dictionary, owed
from hmis.marts.export import export_period, org_unit_list
from hmis.notify import officers as alerts
from hmis.notify.policy import load_policy
from hmis.pipeline.currency import split_periods
from hmis.pipeline.run import Run
from hmis.pipeline.summary import collect, render
from hmis.platform.landing import open_store
from hmis.platform.locks import locked_stage
from hmis.platform.settings import load_settings
from hmis.platform.warehouse import migrate, with_connection
from hmis.quality.rules import RULES_FILE, load_rules
from hmis.quality.runner import SuiteRunner
from hmis.reference.format_tables import sync_formats
from hmis.reference.formats import load_catalogue
from hmis.reference.population import sync_population
from hmis.reference.registry import read_registry, sync_reference
from hmis.report.page import write_report

log = logging.getLogger(__name__)


def prepare(run: Run) -> dict:
    """Apply migrations and the readers' access to the marts; refresh the registry, contacts and
    the official formats (which format each facility type reports on in the run's periods)."""
    settings = load_settings()
    store = open_store(settings.landing_url)

    def work(conn):
        applied = migrate(conn)
        access = mart_access.apply(conn)  # readers' access to the marts, from the list of marts
        reference = sync_reference(conn, store, run.as_of)
        reference["population_rows"] = sync_population(conn, store)
        periods = list(run.periods)
        reference.update(sync_formats(conn, load_catalogue(), periods))
        with conn, conn.cursor() as cur:
            cur.execute(
                """INSERT INTO ingest.run (run_id, logical_date, periods) VALUES (%s, %s, %s)
                   ON CONFLICT (run_id) DO NOTHING""",
                (run.key, run.as_of, periods),
            )
        return {"migrations_applied": applied, "access_changed": access["changed"],
                "marts_not_listed": access["unlisted"], "periods": periods, **reference}

    result = with_connection(work)
    log.info("prepared run for %s: periods %s, %d facilities (%d registered on HMIS)",
             run.as_of.isoformat(), result["periods"], result["facilities"], result["registered"])
    return result


def split_portal(run: Run) -> dict:
    """Split new portal pulls (made by the run's date) into one submission per facility-month."""
    settings = load_settings()
    store = open_store(settings.landing_url)
    return locked_stage("split_portal", run.key, lambda conn: portal.split_pulls(
        conn, store, run.as_of, run.key, settings.max_portal_report_bytes))


def pull_dhis2(run: Run) -> dict:
    """Pull the open periods' facility-months changed on a DHIS2 server (when one is configured)."""
    settings = load_settings()
    landing = open_store(settings.landing_url)
    return locked_stage("pull_dhis2", run.key, lambda conn: dhis2_pull.pull_dhis2(
        conn, landing, list(run.periods), run.as_of, run.key, org_unit_list(landing)))


def discover(run: Run) -> dict:
    settings = load_settings()
    store = open_store(settings.landing_url)
    return locked_stage("discover", run.key, lambda conn: ingest.discover(
        conn, store, list(run.periods), run.as_of, run.key))


def parse(run: Run) -> dict:
    settings = load_settings()
    store = open_store(settings.landing_url)
    return locked_stage("parse", run.key, lambda conn: ingest.parse_discovered(
        conn, store, run.key, run.as_of, settings.max_file_bytes, settings.batch_files))


def validate(run: Run) -> dict:
    settings = load_settings()
    store = open_store(settings.landing_url)
    # Rules name data elements (the 2017 consolidation's codes), whatever format a file uses.
    ruleset = load_rules(settings.expectations_dir / RULES_FILE, {i.element for i in load_catalogue().elements()})
    docs = settings.data_docs_dir
    runner = SuiteRunner(settings.expectations_dir, ruleset, docs)
    return locked_stage("validate", run.key, lambda conn: ingest.validate_parsed(
        conn, store, runner, run.key, run.as_of, settings.batch_files,
        str(docs / "index.html") if docs else None))


def load(run: Run) -> dict:
    return locked_stage("load", run.key, lambda conn: ingest.load_accepted(conn, run.key, run.as_of))


def update_compliance(run: Run) -> dict:
    settings = load_settings()

    def work(conn):
        registry = read_registry(conn)
        current, past = split_periods(conn, run)
        counts: dict = {}
        if current:
            counts = compliance.refresh_status(conn, registry, current, run.as_of, settings.due_day)
            counts.update(registration_gap.refresh(conn, run.as_of))
        if past:
            counts["as_of"] = compliance.refresh_status(conn, registry, past, run.as_of, settings.due_day,
                                                        table=compliance.AS_OF_TABLE)
        return {**counts, "current_periods": current, "past_periods": past}

    counts = with_connection(work)
    log.info("compliance as of %s: %s", run.as_of.isoformat(), counts)
    return counts


def build_marts(run: Run) -> dict:
    """Rebuild the current periods' district-periods whose inputs changed (``changed`` is empty
    when none did), and a backfill's periods as of its date, apart (schema asof)."""
    settings = load_settings()

    def work(conn):
        current, past = split_periods(conn, run)
        result = {"changed": [], "rows": {}, "periods": []}
        if current:
            result = marts.rebuild(conn, current, run.as_of, settings.complete_share, run.key)
        if past:
            result["as_of"] = marts.rebuild_as_of(conn, past, run.as_of, settings.complete_share, run.key)
            log.warning("marts: %s worked on by a later run; built as of %s into schema asof, the current marts "
                        "and exports are left as they are", ", ".join(past), run.as_of.isoformat())
        return result

    result = with_connection(work)
    log.info("marts: %d block-period(s) in %d district-period(s) rebuilt: %s", result.get("blocks", 0),
             len(result["changed"]), ", ".join(result["changed"]) or "none")
    return result


def export_marts(run: Run) -> dict:
    """Export every period owed to the state (report pages and data files first, each period's
    manifest last, then the debt settled), whichever run's marts build owed it."""
    settings = load_settings()
    store = open_store(settings.export_url)
    org_units = org_unit_list(open_store(settings.landing_url))

    def work(conn):
        # Approved revisions an interrupted approval run did not export (written by the approval DAG).
        approved_export = publish.settle_owed(conn, store, run.key, run.as_of, org_units)
        up_to, periods = owed.owed_periods(conn)
        if not periods:
            return [], [], approved_export
        store.write("exports/data_dictionary.md", dictionary.render(conn, run.as_of).encode("utf-8"))
        with conn.cursor() as cur:
            cur.execute("SELECT DISTINCT district FROM ref.facility ORDER BY 1")
            districts = [row[0] for row in cur.fetchall()]
        conn.rollback()
        manifests, reports = [], []
        for period in periods:
            # The officers' compliance page for each district, beside the data.
            reports += [write_report(conn, store, d, period, run.as_of) for d in districts]
            manifests.append(export_period(conn, store, period, run.as_of, org_units,
                                           approved=revisions.approved_dates(conn, period)))
            owed.settle_period(conn, period, up_to, run.key)
        return manifests, reports, approved_export

    manifests, reports, approved_export = with_connection(work)
    return {"exported_periods": [m["period"] for m in manifests], "approved_exported": approved_export,
            "files": sum(len(m["files"]) for m in manifests) + len(manifests),
            "reports": reports, "store": settings.export_url}


def notify_officers(run: Run) -> dict:
    """Send the alerts the policy makes due and retry unsent ones, each at most once; fail the
    task (so Airflow retries) if any send failed."""
    settings = load_settings()
    policy = load_policy(settings.alert_policy_path)
    def work(conn):
        current, _past = split_periods(conn, run)
        return alerts.send_alerts(conn, policy, current, run.as_of, run.key, settings.mail_from, settings.due_day)

    result = with_connection(work)
    log.info("officer alerts as of %s: %d sent %s, %d already sent, %d failed, %d cancelled, %d without recipient",
             run.as_of.isoformat(), result["alerts_sent"], result["sent_by_rung"], result["alerts_already_sent"],
             result["alerts_failed"], result["alerts_cancelled"], result["alerts_unrouted"])
    if result["alerts_failed"]:
        raise RuntimeError(
            f"{result['alerts_failed']} officer alert(s) could not be sent and are recorded as failed "
            f"in alerts.sent; they will be retried: {'; '.join(result['errors'][:5])}"
        )
    return result


def summarise(run: Run) -> dict:
    """Collect the run's figures, log them as one screen and keep them in ``ingest.run``."""
    def work(conn):
        current, past = split_periods(conn, run)
        summary = collect(conn, list(run.periods), run.key, past)
        text = json.dumps(summary, sort_keys=True, default=str)
        with conn, conn.cursor() as cur:
            cur.execute("UPDATE ingest.run SET summary = %s, finished_at = %s WHERE run_id = %s",
                        (text, run.as_of, run.key))
            # Every execution is kept (a re-run of a date adds a row): ingest.run holds the latest.
            cur.execute("""INSERT INTO ingest.run_history (run_id, logical_date, current, summary)
                           VALUES (%s, %s, %s, %s)""", (run.key, run.as_of, bool(current), text))
        return summary

    summary = with_connection(work)
    log.info("run summary\n%s", render(summary))
    return summary
