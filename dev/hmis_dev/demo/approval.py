"""``make demo``'s approval step: a district-month approved through Airflow's REST API, then a
correction that makes revision 2.

Called by the demo runner after the pipeline runs (:func:`show_approval` returns the lines to
print). It starts a real scheduler, DAG processor and API server on loopback (a waiting
approval cannot be driven by ``dag.test()``; :mod:`hmis_dev.airflow_services`) with their own
Airflow home ``var/airflow-approval``, and an SMTP sink on ``var/mail``:

1. the requests DAG opens revision 1 of the newest complete district-month and asks the nodal
   officer (an e-mail with the link to the approval form);
2. a scripted officer logs in (``POST /auth/token``) and approves it
   (``PATCH .../taskInstances/approve/-1/hitlDetails``): the state's approved export appears;
3. a corrected facility file of that month arrives and the monthly DAG runs again (the
   project's ``dag.test()`` runtime, as the demo's other runs): the marts change, so the
   requests DAG opens revision 2, pending, while the approved export still shows revision 1;
4. the officer approves revision 2 too, and the state HMIS cell is told what changed.

The services stop before the function returns (and by themselves after ``lifetime``).
"""

from __future__ import annotations

import csv
import io
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hmis.approval.revisions import RevisionKey
from hmis.pipeline.approval import approval_run_id
from hmis.platform.settings import Settings
from hmis.platform.warehouse import connect
from hmis_dev import airflow_services
from hmis_dev.airflow_runtime import output_to, run_dag, start_embedded_warehouse
from hmis_dev.demo.files import write_file
from hmis_dev.services.smtp_sink import SmtpSink, read_message

REQUESTS_DAG, APPROVAL_DAG = "hmis_approval_requests", "hmis_approval"


def _newest_complete(conn) -> tuple[str, str] | None:
    with conn.cursor() as cur:
        cur.execute("""SELECT district, period FROM marts.reporting_rates
                        WHERE level = 'district' AND completeness = 'complete'
                        ORDER BY period DESC, district LIMIT 1""")
        row = cur.fetchone()
    conn.rollback()
    return row


def _revisions(conn, district: str, period: str) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute("""SELECT revision, status, responded_by, responded_at FROM marts.district_revision
                        WHERE district = %s AND period = %s ORDER BY revision""", (district, period))
        rows = cur.fetchall()
    conn.rollback()
    return rows


def _request_round(services, label: str) -> None:
    run_id = f"demo_{label}_{datetime.now(UTC):%H%M%S}"
    services.trigger(REQUESTS_DAG, run_id)
    services.wait_run(REQUESTS_DAG, run_id, timeout=240)


def _correct_one_file(conn, landing: Path, period: str, district: str, as_of: datetime) -> str:
    """A corrected file for one of the month's loaded facility files: its first count doubled
    plus one, arriving a minute before ``as_of``. Returns what changed, in words."""
    with conn.cursor() as cur:
        cur.execute("""SELECT f.key FROM ingest.file f JOIN ref.facility r USING (facility_id)
                        WHERE f.period = %s AND r.district = %s AND f.status = 'loaded' AND f.key LIKE '%%.csv'
                        ORDER BY f.key LIMIT 1""", (period, district))
        (key,) = cur.fetchone()
    conn.rollback()
    rows = list(csv.DictReader(io.StringIO((landing / key).read_text(encoding="utf-8"))))
    changed = next(r for r in rows if str(r.get("value", "")).isdigit())
    before = changed["value"]
    changed["value"] = str(int(before) * 2 + 1)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    corrected = landing / key.replace(".csv", "__demo_correction.csv")
    write_file(corrected, out.getvalue().encode("utf-8"), as_of - timedelta(minutes=1))
    return f"{changed['facility_id']} item {changed['item_code']}: {before} -> {changed['value']} ({corrected.name})"


def show_approval(settings: Settings, as_of: datetime, lifetime: float = 15 * 60) -> list[str]:
    """Approve the newest complete district-month through the REST API, correct it, show
    revision 2; return the lines to print (what happened and where to look)."""
    started = time.monotonic()
    start_embedded_warehouse(settings)
    conn = connect()
    try:
        found = _newest_complete(conn)
        if found is None:
            return ["approval: no district-month is complete yet (marts.reporting_rates.completeness), "
                    "so none was asked for approval"]
        district, period = found
        done = _revisions(conn, district, period)
        if len(done) >= 2 and all(status != "pending" for _r, status, _w, _t in done):
            # An earlier demo run showed it: a run again on the same day asks nobody twice.
            return [f"approval of {district} {period}: shown by an earlier demo run, nothing asked again"] + [
                f"  marts.district_revision r{revision}: {status}" + (f" by {who} at {when:%d %b %Y %H:%M:%S} UTC"
                                                                      if who else "")
                for revision, status, who, when in done]
        mail_dir = settings.var_dir / "mail"
        before_mail = set(mail_dir.glob("*.eml")) if mail_dir.exists() else set()
        log = settings.var_dir / "demo" / "airflow-approval.log"
        lines = [f"approval of {district} {period} (a real scheduler, DAG processor and API server on loopback):"]
        # The services' and the mail sink's own output goes to the log, as the demo's other runs' does.
        with output_to(log, append=True), SmtpSink(mail_dir) as sink:
            os.environ["AIRFLOW_CONN_SMTP_DEFAULT"] = sink.airflow_conn_json()
            services = airflow_services.start(settings, settings.var_dir / "airflow-approval", lifetime=lifetime)
            try:
                _request_round(services, "requests")
                run_1 = approval_run_id(RevisionKey(district, period, 1))
                services.wait_for_form(APPROVAL_DAG, run_1, "approve")
                services.respond(APPROVAL_DAG, run_1, "approve", "Approve", "checked against the block reports")
                state_1 = services.wait_run(APPROVAL_DAG, run_1, timeout=300)
                lines.append(f"  revision 1 asked, approved by {airflow_services.OFFICER} through the REST API: "
                             f"run {run_1} {state_1}")

                correction = _correct_one_file(conn, Path(os.environ.get("HMIS_LANDING_URL", settings.landing_url)),
                                               period, district, as_of)
                monthly = str(run_dag(settings, as_of, dag_id="hmis_monthly").state)
                lines.append(f"  a corrected file arrived ({correction}); hmis_monthly again: "
                             f"{monthly.rsplit('.', 1)[-1]}")
                _request_round(services, "after_correction")
                run_2 = approval_run_id(RevisionKey(district, period, 2))
                services.wait_for_form(APPROVAL_DAG, run_2, "approve")
                lines.append(f"  revision 2 opened, pending in run {run_2} (the approved export still shows revision 1)")
                services.respond(APPROVAL_DAG, run_2, "approve", "Approve", "correction checked with the facility")
                state_2 = services.wait_run(APPROVAL_DAG, run_2, timeout=300)
                lines.append(f"  revision 2 approved through the REST API: run {state_2}; the state HMIS cell is told "
                             "what changed (e-mail below). Answer later revisions in the UI, or as in "
                             "docs/runbook.md \"Approve a district-month\"")
            finally:
                services.stop()
        for revision, status, who, when in _revisions(conn, district, period):
            lines.append(f"  marts.district_revision r{revision}: {status}"
                         + (f" by {who} at {when:%d %b %Y %H:%M:%S} UTC" if who else ""))
        new_mail = sorted(set(mail_dir.glob("*.eml")) - before_mail)
        for path in new_mail:
            message = read_message(path)
            lines.append(f"  e-mail to {message['To']}: {message['Subject']}")
        export = os.environ.get("HMIS_EXPORT_URL", str(settings.var_dir))
        lines += [
            f"  approved export     {export}/exports/{period}/approved/ (the newest approved revision, manifest last)",
            "  state's default     marts.approved_district_monthly (approved value, provisional value beside)",
            f"  Airflow             {settings.var_dir / 'airflow-approval'} (log in as admin, password in "
            "simple_auth_manager_passwords.json there); service logs in service-logs/",
            f"  ({time.monotonic() - started:.0f} s; the services' and the monthly re-run's output is in {log})",
        ]
        return lines
    finally:
        conn.close()
