"""``hmis demo``: Hisar demo data through the real pipeline, then a report of what happened."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import time
from datetime import datetime, timedelta

from hmis.cli.main import main as hmis
from hmis.notify.policy import load_policy
from hmis.pipeline.run import latest_scheduled_run, run_key
from hmis.pipeline.summary import collect, render
from hmis.platform.settings import Settings
from hmis.platform.warehouse import connect
from hmis.reference.periods import REPORTING_TZ, due_at, period_of, shift_period
from hmis.report.page import write_report
from hmis_dev.airflow_runtime import output_to, run_dag, start_embedded_warehouse
from hmis_dev.demo.approval import show_approval
from hmis_dev.demo.generator import generate
from hmis_dev.demo.population import write_population
from hmis_dev.demo.portal import itemwise_report_html, portal_month
from hmis_dev.services.smtp_sink import SmtpSink, read_message

HISTORY_MONTHS = 9  # earlier months loaded first, so outliers and disease signals have baselines


def history_run_date(as_of: datetime, months: int) -> datetime:
    """A run date late in the first demo month: its open periods are the history months."""
    first_demo = shift_period(period_of(as_of), -months)
    year, month = (int(x) for x in first_demo.split("-"))
    return datetime(year, month, 27, 6, 0, tzinfo=REPORTING_TZ)


def _progress(done: int, total: int, label: str) -> None:
    """A one-line progress bar, redrawn in place."""
    width = 30
    filled = round(width * done / total)
    print(f"\r    [{'#' * filled}{'.' * (width - filled)}] {done}/{total} {label:<28}", end="", flush=True)


def ladder_run_dates(settings: Settings, period: str, as_of: datetime) -> list[datetime]:
    """06:00 IST on each day an alert rung opens for ``period``, before ``as_of``."""

    policy = load_policy(settings.alert_policy_path)
    dates = []
    for rung in policy.ladder:
        opens = policy.opens_at(rung, period, settings.due_day).astimezone(REPORTING_TZ)
        run = opens.replace(hour=6, minute=0, second=0, microsecond=0)
        if run < opens:
            run += timedelta(days=1)
        if run < as_of:
            dates.append(run)
    return sorted(set(dates))


# Items the demo's portal report holds differently from the district's files: (element, change).
PORTAL_DIFFERENCES = (("1.1", +7), ("14.2.1", -120))


def district_itemwise(folder, truth, period: str, due_day: int):
    """Write the portal's district Data ItemWise report of ``period`` from the demo's own
    figures (summed over the facilities' accepted values), with :data:`PORTAL_DIFFERENCES`
    planted; return the file and the moment it was pulled (three days after the due date)."""
    totals: dict[tuple[str, str], int] = {}
    for (_facility, p), values in truth.values.items():
        if p != period:
            continue
        for (element, disaggregation), value in values.items():
            if isinstance(value, int) and ":" not in element:
                totals[(element, disaggregation)] = totals.get((element, disaggregation), 0) + value
    for element, change in PORTAL_DIFFERENCES:
        totals[(element, "TOTAL")] = totals.get((element, "TOTAL"), 0) + change
    moment = (due_at(period, due_day) + timedelta(days=3)).astimezone(REPORTING_TZ).replace(hour=10, minute=0)
    path = folder / f"Hisar Data ItemWise {period}.xls"
    path.write_bytes(itemwise_report_html(period, totals, moment))
    return path, moment


def run_demo(settings: Settings, as_of: datetime | None, months: int, seed: int) -> int:

    started = time.monotonic()
    as_of = as_of or latest_scheduled_run(datetime.now(REPORTING_TZ))
    landing = settings.var_dir / "landing"
    mail_dir = settings.var_dir / "mail"

    print(f"1/5 warehouse: starting the embedded PostgreSQL in {settings.var_dir / 'pg'}")
    server = start_embedded_warehouse(settings)
    print(f"2/5 demo data: Hisar district, {months} complete months as of {as_of:%d %b %Y %H:%M} IST "
          f"(+{HISTORY_MONTHS} earlier months of history)")
    os.environ.setdefault("HMIS_LANDING_URL", str(landing))
    truth = generate(landing, as_of, months=months, seed=seed, history_months=HISTORY_MONTHS,
                     quality_warnings=True)
    write_population(landing)
    truth.save(settings.var_dir / "demo" / "truth.json")
    # The PHCs' latest month that is already due arrives as the district downloads it from the
    # HMIS portal: one facility-wise report, handed over with `hmis portal-import` (as the
    # runbook says), whatever the date the demo is run on.
    portal_period = [p for p in truth.periods if due_at(p, settings.due_day) < as_of][-1]
    shutil.rmtree(landing / "portal", ignore_errors=True)   # an earlier demo's pulls
    html, data_as_on, carried = portal_month(landing, truth, "PHC", portal_period, seed)
    report_file = settings.var_dir / "demo" / f"PHC Hisar {portal_period}.xls"
    report_file.write_bytes(html)
    print(f"    portal: the PHCs' {portal_period} comes as a portal report ({carried} PHCs with data), "
          "handed over with `hmis portal-import`:")
    with contextlib.redirect_stdout(io.StringIO()) as said:
        hmis(["portal-import", str(report_file)])
    print(f"    {said.getvalue().strip()}")
    # The portal's district Data ItemWise report of the same month, for reconciliation: as the
    # portal would print our own totals, except two items it holds differently.
    itemwise_file, moment = district_itemwise(settings.var_dir / "demo", truth, portal_period, settings.due_day)
    with contextlib.redirect_stdout(io.StringIO()) as said:
        hmis(["portal-import", str(itemwise_file), "--pulled-at", moment.isoformat()])
    print(f"    {said.getvalue().strip()}")
    before = len(list(mail_dir.glob("*.eml"))) if mail_dir.exists() else 0
    run_log = settings.var_dir / "demo" / "airflow-run.log"
    history_date = history_run_date(as_of, months)
    ladder = ladder_run_dates(settings, truth.periods[-1], as_of)
    # (logical date, DAG, open periods): the history backfill, the alert-ladder days of the
    # latest month, today's run, the signals DAG (dag.test() does not fire Asset schedules, so
    # it is run explicitly), then a re-run of an earlier date after today's: a backfill, which
    # computes its date apart (schema asof) and leaves today's marts and exports alone.
    past = backfill_date(truth, as_of, settings.due_day)
    plan = ([(history_date, "hmis_monthly", HISTORY_MONTHS)] + [(d, "hmis_monthly", months) for d in ladder]
            + [(as_of, "hmis_monthly", months), (as_of, "hmis_signals", months), (past, "hmis_monthly", months)])
    print(f"3/5 pipeline: {len(plan)} Airflow runs — history backfill for {history_date:%d %b %Y}, the alert-ladder "
          f"days ({', '.join(f'{d:%d %b}' for d in ladder)}), {as_of:%d %b %Y %H:%M} IST, hmis_signals, "
          f"then {past:%d %b %Y} again as a backfill")
    print(f"    (Airflow's own output goes to {run_log})")
    states = []
    with SmtpSink(mail_dir) as sink:
        os.environ["AIRFLOW_CONN_SMTP_DEFAULT"] = sink.airflow_conn_json()
        for number, (logical_date, dag_id, open_count) in enumerate(plan, start=1):
            _progress(number - 1, len(plan), f"{dag_id} {logical_date:%d %b %Y}")
            os.environ["HMIS_OPEN_PERIODS"] = str(open_count)
            with output_to(run_log, append=number > 1):
                states.append(str(run_dag(settings, logical_date, dag_id=dag_id).state))
        _progress(len(plan), len(plan), "done")
        print()
    print(f"4/5 runs: {', '.join(s.rsplit('.', 1)[-1] for s in states)}")
    new_mail = sorted(mail_dir.glob("*.eml"))[before:]
    print(f"5/5 report ({time.monotonic() - started:.0f} s)\n")
    print(_report(settings, truth, new_mail, server, truth.periods[-months:]))
    # District approval through a real scheduler and the REST API (dag.test() cannot answer a
    # waiting approval form).
    print()
    print("\n".join(show_approval(settings, as_of)))
    return 0 if all(s.endswith("success") for s in states) else 1


def backfill_date(truth, as_of: datetime, due_day: int) -> datetime:
    """Noon IST on the day after the newest due month's due date (not a scheduled run's time, so
    Airflow has no run of that date yet): an earlier date than today's run, re-run after it."""
    due = max(due_at(p, due_day) for p in truth.periods if due_at(p, due_day) < as_of)
    moment = (due + timedelta(days=1)).astimezone(REPORTING_TZ).replace(hour=12, minute=0, second=0, microsecond=0)
    return min(moment, as_of - timedelta(days=1))



def _report(settings: Settings, truth, new_mail, server, periods: list[str]) -> str:

    conn = connect()
    try:
        summary = collect(conn, periods, run_key(truth.as_of))
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM facts.monthly_value")
            total_values = cur.fetchone()[0]
            cur.execute(
                """SELECT key, reason FROM ingest.file WHERE status = 'rejected' AND period = ANY(%s)
                    ORDER BY period, key LIMIT 5""",
                (periods,),
            )
            rejections = cur.fetchall()
            cur.execute(
                """SELECT f.key, r.message FROM dq.result r JOIN ingest.file f USING (file_id)
                    WHERE r.severity = 'warning' AND f.period = ANY(%s) AND f.status IN ('loaded', 'superseded')
                    ORDER BY r.expectation_id, f.key LIMIT 4""",
                (periods,),
            )
            flagged = cur.fetchall()
            cur.execute(
                """SELECT count(*) FILTER (WHERE kind = 'rejected'), count(*) FILTER (WHERE kind = 'flagged'),
                          count(*) FILTER (WHERE status = 'resolved') FROM dq.feedback WHERE period = ANY(%s)""",
                (periods,),
            )
            feedback = cur.fetchone()
            cur.execute(
                """SELECT area_level, area, item_code, period, method, round(observed::numeric)::int,
                          round(upper_bound::numeric, 1) FROM marts.disease_signals
                    WHERE alarm AND period = ANY(%s) ORDER BY 4, 1, 2, 3, 5""",
                (periods,),
            )
            signals = cur.fetchall()
            cur.execute(
                """SELECT facility_id, period, scans, scans_with_valid_rch, share_valid
                     FROM marts.ultrasound_compliance WHERE below_threshold AND period = ANY(%s)
                    ORDER BY facility_id, period""",
                (periods,),
            )
            ultrasound = cur.fetchall()
            cur.execute("""SELECT key, status, reason, facility_months, reported, new_versions, report_kind
                             FROM ingest.portal_pull ORDER BY key""")
            pulls = cur.fetchall()
            cur.execute("""SELECT status, count(*) FROM ingest.file WHERE key LIKE %s GROUP BY 1 ORDER BY 1""",
                        ("%\\_\\_portal-%",))
            from_portal = cur.fetchall()
            cur.execute("SELECT count(*) FROM ref.registry_difference")
            differences = cur.fetchone()[0]
            cur.execute("""SELECT period, item_code, our_value, portal_value, difference, status
                             FROM marts.portal_reconciliation WHERE status <> 'match'
                            ORDER BY period, basis, item_code LIMIT 8""")
            reconciled = cur.fetchall()
            cur.execute("SELECT count(*) FILTER (WHERE status = 'match'), count(*) FROM marts.portal_reconciliation")
            matched = cur.fetchone()
            cur.execute("""SELECT r.period, r.reported, r.expected, r.due_at, r.completeness, p.as_of,
                                  a.reported, a.completeness, ap.as_of
                             FROM marts.reporting_rates r
                             JOIN marts.publication p USING (period)
                             LEFT JOIN asof.reporting_rates a
                               ON a.level = r.level AND a.area = r.area AND a.period = r.period
                             LEFT JOIN asof.publication ap ON ap.period = r.period
                            WHERE r.level = 'district' AND r.period = ANY(%s) ORDER BY r.period""", (periods,))
            completeness = cur.fetchall()
            cur.execute("""SELECT kind, count(*), count(*) FILTER (WHERE settled_at IS NULL)
                             FROM marts.export_owed GROUP BY 1 ORDER BY 1""")
            debts = cur.fetchall()
        conn.rollback()

        report_path = write_report(conn, settings.reports_dir, "Hisar", periods[-1], truth.as_of)
    finally:
        conn.close()
    lines = [render(summary), ""]
    if signals:
        lines.append("disease-rise signals (CDC EARS; marts.disease_signals, alarms only):")
        lines.append(f"  {'level':<9}{'area':<11}{'item':<8}{'period':<9}{'method':<7}{'observed':>9}{'upper bound':>13}")
        lines += [f"  {lvl:<9}{area:<11}{item:<8}{period:<9}{method:<7}{obs:>9}{bound:>13}"
                  for lvl, area, item, period, method, obs, bound in signals]
        lines.append("")
    if ultrasound:
        lines.append("ultrasound scans with a valid RCH ID, facilities below the threshold "
                     "(marts.ultrasound_compliance):")
        lines += [f"  {fid} {period}: {valid} of {scans} scans ({share:.0%})" for fid, period, scans, valid, share
                  in ultrasound]
        lines.append("")
    if pulls:
        lines.append("HMIS portal pulls (ingest.portal_pull):")
        lines += [f"  {key}: {status}{f' ({reason[:160]})' if reason else ''}; "
                  + (f"{rows} facility rows, {reported} with data, {new} new submission(s)"
                     if kind == "facility-wise" else f"{kind} report, for reconciliation")
                  for key, status, reason, rows, reported, new, kind in pulls]
        lines.append(f"  their facility-months in the file ledger: "
                     f"{', '.join(f'{n} {status}' for status, n in from_portal) or 'none yet'}; "
                     f"{differences} registry/portal difference(s) in ref.registry_difference")
        lines.append("")
    if matched[1]:
        lines.append(f"reconciliation with the portal's district report (marts.portal_reconciliation): "
                     f"{matched[0]} of {matched[1]} items agree; the others:")
        lines += [f"  {period} item {item}: ours {ours}, portal {theirs} ({diff:+}; {status})"
                  for period, item, ours, theirs, diff, status in reconciled]
        lines.append("")
    if completeness:
        lines.append("completeness of each month (marts.reporting_rates; every mart row carries the class): "
                     "provisional until due and 90 % of expected reports in")
        for period, reported, expected, due, klass, current_as_of, then, then_class, then_as_of in completeness:
            line = (f"  {period}: {reported} of {expected} reports, due {due.astimezone(REPORTING_TZ):%d %b}, {klass} "
                    f"(current marts as of {current_as_of.astimezone(REPORTING_TZ):%d %b %H:%M})")
            if then_as_of is not None:
                line += (f"; as of the backfill of {then_as_of.astimezone(REPORTING_TZ):%d %b}: {then} reports, "
                         f"{then_class} (schema asof)")
            lines.append(line)
        lines.append("  exports owed to the state and paid (marts.export_owed): "
                     + ", ".join(f"{kind} {n} ({open_} still owed)" for kind, n, open_ in debts))
        lines.append("")
    lines.append(f"values in the warehouse: {total_values:,} (facts.monthly_value)")
    if rejections:
        lines.append("some quarantined files and why:")
        lines += [f"  - {reason}" for _key, reason in rejections]
    if flagged:
        lines.append("some accepted files flagged for a check (loaded, with feedback to the facility):")
        lines += [f"  - {key}: {message[:220]}" for key, message in flagged]
    lines.append(f"feedback documents: {feedback[0]} rejected, {feedback[1]} flagged, {feedback[2]} resolved by a "
                 "corrected file")
    if new_mail:

        lines.append(f"e-mails delivered to the SMTP sink this run ({len(new_mail)}):")
        for path in new_mail[:12]:
            message = read_message(path)
            lines.append(f"  - to {message['To']}: {message['Subject']}")
        if len(new_mail) > 12:
            lines.append(f"  … and {len(new_mail) - 12} more in {settings.var_dir / 'mail'}")
    lines += [
        "",
        "where to look:",
        f"  compliance report   {report_path}  (open in a browser; `hmis report --period YYYY-MM` for others)",
        f"  officer e-mails     {settings.var_dir / 'mail'}  ({len(new_mail)} new this run; .eml files)",
        f"  quarantined files   {settings.var_dir / 'landing' / 'quarantine'}  (each with a .reason.txt)",
        "  quality results     hmis sql \"SELECT * FROM dq.result ORDER BY file_id\"",
        f"  GX Data Docs        {settings.var_dir / 'data_docs' / 'index.html'}",
        f"  feedback documents  {settings.var_dir / 'landing' / 'feedback'}  (HTML + CSV, English and Hindi)",
        "  compliance          hmis sql \"SELECT status, count(*) FROM compliance.facility_status GROUP BY 1\"",
        "  reporting rates     hmis sql \"SELECT * FROM marts.reporting_rates ORDER BY period, level, area\"",
        "  district totals     hmis sql \"SELECT * FROM marts.district_monthly LIMIT 20\"",
        "  indicators          hmis sql \"SELECT area, period, indicator_id, value, fytd_value FROM marts.indicator_monthly "
        "WHERE level = 'district' ORDER BY 3, 2\"",
        f"  exports for state   {settings.export_url}/exports  (per period: Parquet, CSV, DHIS2 JSON, manifest.json)",
        f"  data dictionary     {settings.export_url}/exports/data_dictionary.md",
        f"  Airflow logs        {settings.var_dir / 'airflow' / 'logs'}",
        "  Airflow UI          see docs/runbook.md (api-server on 127.0.0.1:8080, user admin)",
        f"  intended truth      {settings.var_dir / 'demo' / 'truth.json'}",
    ]
    if server is not None:
        lines.append(f"  warehouse           {server.dsn}  (stop with: .venv/bin/hmis services stop)")
    return "\n".join(lines)
