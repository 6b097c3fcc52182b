"""``hmis demo``: Hisar demo data through the real pipeline, then a report of what happened."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from datetime import datetime
from pathlib import Path

from hmis.config import Settings
from hmis.periods import REPORTING_TZ


def run_demo(settings: Settings, as_of: datetime | None, months: int, seed: int) -> int:
    from hmis.demo.generator import generate
    from hmis.runtime import latest_scheduled_run, run_dag, start_embedded_warehouse
    from hmis.services.smtp_sink import SmtpSink

    started = time.monotonic()
    as_of = as_of or latest_scheduled_run(datetime.now(REPORTING_TZ))
    os.environ["HMIS_OPEN_PERIODS"] = str(months)
    landing = settings.var_dir / "landing"
    mail_dir = settings.var_dir / "mail"

    print(f"1/4 warehouse: starting the embedded PostgreSQL in {settings.var_dir / 'pg'}")
    server = start_embedded_warehouse(settings)
    print(f"2/4 demo data: Hisar district, {months} complete months as of {as_of:%d %b %Y %H:%M} IST")
    os.environ.setdefault("HMIS_LANDING_URL", str(landing))
    truth = generate(landing, as_of, months=months, seed=seed)
    truth.save(settings.var_dir / "demo" / "truth.json")
    before = len(list(mail_dir.glob("*.eml"))) if mail_dir.exists() else 0
    print(f"3/4 pipeline: running DAG hmis_monthly through Airflow for logical date {as_of.isoformat()}")
    run_log = settings.var_dir / "demo" / "airflow-run.log"
    print(f"    (Airflow's own output goes to {run_log})")
    with SmtpSink(mail_dir) as sink, _output_to(run_log):
        os.environ["AIRFLOW_CONN_SMTP_DEFAULT"] = sink.airflow_conn_json()
        dag_run = run_dag(settings, as_of)
    state = str(getattr(dag_run, "state", "unknown"))
    new_mail = sorted(mail_dir.glob("*.eml"))[before:]
    print(f"4/4 report (run {state}, {time.monotonic() - started:.0f} s)\n")
    print(_report(settings, truth, new_mail, server))
    return 0 if state.endswith("success") else 1


@contextlib.contextmanager
def _output_to(path: Path):
    """Send everything written to stdout/stderr (Airflow's task logs included) to a file.

    File descriptors are redirected, not just ``sys.stdout``, because Airflow's log
    handlers hold on to the streams they found at import time.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(path, "w", encoding="utf-8") as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def _report(settings: Settings, truth, new_mail, server) -> str:
    from hmis.summary import collect, render
    from hmis.tasks import run_key
    from hmis.warehouse import connect

    conn = connect()
    try:
        summary = collect(conn, truth.periods, run_key(truth.as_of))
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM facts.monthly_value")
            total_values = cur.fetchone()[0]
            cur.execute(
                """SELECT key, reason FROM ingest.file WHERE status = 'rejected' AND period = ANY(%s)
                    ORDER BY period, key LIMIT 5""",
                (truth.periods,),
            )
            rejections = cur.fetchall()
        conn.rollback()
    finally:
        conn.close()
    lines = [render(summary), ""]
    lines.append(f"values in the warehouse: {total_values:,} (facts.monthly_value)")
    if rejections:
        lines.append("some quarantined files and why:")
        lines += [f"  - {reason}" for _key, reason in rejections]
    lines += [
        "",
        "where to look:",
        f"  officer e-mails     {settings.var_dir / 'mail'}  ({len(new_mail)} new this run; .eml files)",
        f"  quarantined files   {settings.var_dir / 'landing' / 'quarantine'}  (each with a .reason.txt)",
        "  quality results     hmis sql \"SELECT * FROM dq.result ORDER BY file_id\"",
        "  compliance          hmis sql \"SELECT status, count(*) FROM compliance.facility_status GROUP BY 1\"",
        "  reporting rates     hmis sql \"SELECT * FROM marts.reporting_rates ORDER BY period, level, area\"",
        "  district totals     hmis sql \"SELECT * FROM marts.district_monthly LIMIT 20\"",
        f"  Airflow logs        {settings.var_dir / 'airflow' / 'logs'}",
        f"  intended truth      {settings.var_dir / 'demo' / 'truth.json'}",
    ]
    if server is not None:
        lines.append(f"  warehouse           {server.dsn}  (stop with: .venv/bin/hmis services stop)")
    return "\n".join(lines)
