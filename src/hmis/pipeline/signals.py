"""The signals DAG's stages: ultrasound compliance, disease signals, e-mail to the surveillance officer.

Like :mod:`hmis.pipeline.monthly`, every stage takes the :class:`~hmis.pipeline.run.Run`
and derives the open periods from its logical date, never from the clock, and keeps its state in the warehouse, so a
re-run sends nothing twice. Alarms go to the district surveillance officer
(``ref.contact`` role ``district_surveillance_officer``) once per area, disease and period,
through the alert ledger ``alerts.sent`` (kind ``disease_signal``); a failed send is
recorded and retried by the next run. Messages carry area-level counts only.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from hmis.notify.channels import email as mailer
from hmis.pipeline.run import Run
from hmis.platform.landing import open_store
from hmis.platform.settings import load_settings
from hmis.platform.warehouse import connect, migrate
from hmis.reference.periods import REPORTING_TZ, month_name, parse_period
from hmis.signals import series
from hmis.ultrasound import linelist as ultrasound

log = logging.getLogger(__name__)

SIGNAL_KIND = "disease_signal"
SIGNAL_ROLE = "district_surveillance_officer"
LEVEL_WORDS = {"block": ("block", "ब्लॉक"), "district": ("district", "ज़िला")}
HINDI_MONTHS = ("जनवरी", "फ़रवरी", "मार्च", "अप्रैल", "मई", "जून", "जुलाई", "अगस्त", "सितंबर", "अक्टूबर",
                "नवंबर", "दिसंबर")


def hindi_month(period: str) -> str:
    year, month = parse_period(period)
    return f"{HINDI_MONTHS[month - 1]} {year}"


def _with_conn(fn):
    conn = connect()
    try:
        migrate(conn)
        return fn(conn)
    finally:
        conn.close()


def ultrasound_compliance(run: Run) -> dict:
    """Check, pseudonymise and load the open periods' ultrasound line lists; compliance per facility."""
    settings = load_settings()
    store = open_store(settings.landing_url)
    key = ultrasound.pseudonym_key(settings)
    threshold = ultrasound.threshold_from_env()
    return _with_conn(lambda conn: ultrasound.ingest(conn, store, list(run.periods), run.as_of, key, threshold))


def rebuild_signals(run: Run) -> dict:
    """Recompute every disease signal from the accepted values (``marts.disease_signals``)."""

    result = _with_conn(lambda conn: series.rebuild(conn, run.as_of))
    log.info("disease signals rebuilt as of %s: %s", run.as_of.isoformat(), result)
    return result


@dataclass(frozen=True)
class Alarm:
    level: str
    district: str
    area: str
    item_code: str
    item_name: str
    item_name_hi: str
    period: str
    observed: int
    methods: list[tuple[str, float, float, bool]]  # method, expected, upper bound, alarm


def _alarms(conn, periods: list[str]) -> list[Alarm]:
    with conn.cursor() as cur:
        cur.execute(
            """SELECT s.area_level, s.district, s.area, s.item_code, coalesce(d.name, s.item_code),
                      coalesce(d.name_hi, ''), s.period, s.observed,
                      array_agg(s.method ORDER BY s.method), array_agg(s.expected ORDER BY s.method),
                      array_agg(s.upper_bound ORDER BY s.method), array_agg(coalesce(s.alarm, false) ORDER BY s.method)
                 FROM marts.disease_signals s LEFT JOIN ref.data_item d USING (item_code)
                WHERE s.period = ANY(%s)
                GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
               HAVING bool_or(s.alarm)
                ORDER BY s.period, s.area_level, s.area, s.item_code""",
            (periods,),
        )
        rows = cur.fetchall()
    conn.rollback()
    return [Alarm(r[0], r[1], r[2], r[3], r[4], r[5], r[6], int(r[7]), list(zip(r[8], r[9], r[10], r[11])))
            for r in rows]


def _disease(name: str) -> str:
    return name.removeprefix("Outpatient - ")


def build_signal_message(alarm: Alarm, recipient: str, sender: str, as_of: datetime) -> EmailMessage:
    """One alarm: plain text and HTML, English and Hindi; counts only, no patient data."""
    level_en, level_hi = LEVEL_WORDS[alarm.level]
    disease = _disease(alarm.item_name)
    month_en, month_hi = month_name(alarm.period), hindi_month(alarm.period)
    flagged = [m for m in alarm.methods if m[3]]
    highest = max((m[2] for m in flagged if m[2] is not None), default=None)
    message = EmailMessage()
    message["Subject"] = (f"[HMIS signal] {disease} rising in {alarm.area} {level_en} "
                          f"({alarm.district}) — {month_en}")
    message["From"] = sender
    message["To"] = recipient
    message["Date"] = formatdate(as_of.timestamp(), localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.split("@")[-1])
    bound_text = f" (alarm threshold {highest:.0f})" if highest is not None else ""
    intro_en = (f"{alarm.observed} outpatient cases of {disease.lower()} (HMIS item {alarm.item_code}) were "
                f"reported in {alarm.area} {level_en} of {alarm.district} district for {month_en}, more than "
                f"the recent months predict{bound_text}. Methods that alarmed: "
                f"{', '.join(m[0] for m in flagged)} (CDC EARS). Please review the facilities of the area "
                "and start the usual outbreak response if confirmed.")
    intro_hi = (f"{alarm.district} ज़िले के {alarm.area} {level_hi} में {month_hi} में "
                f"{alarm.item_name_hi or disease} के {alarm.observed} मामले दर्ज हुए, जो पिछले महीनों के अनुमान "
                "से अधिक हैं। कृपया क्षेत्र की स्वास्थ्य संस्थाओं की समीक्षा करें।")
    header = ["Method", "Expected", "Upper bound", "Alarm"]

    def fmt(value) -> str:
        return "" if value is None else f"{value:.1f}"

    table = [[m[0], fmt(m[1]), fmt(m[2]), "yes" if m[3] else "no"] for m in alarm.methods]
    text = "\n".join([
        intro_en, "", intro_hi, "",
        "  ".join(f"{h:<12}" for h in header),
        *("  ".join(f"{c:<12}" for c in row) for row in table), "",
        f"Signals as of {as_of.astimezone(REPORTING_TZ):%d %b %Y %H:%M} IST. "
        "Sent once by the HMIS reporting pipeline; details: marts.disease_signals.",
    ])
    rows_html = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in table)
    body_html = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"></head><body>
<p>{html.escape(intro_en)}</p>
<p lang="hi">{html.escape(intro_hi)}</p>
<table border="1" cellpadding="4" cellspacing="0">
<thead><tr>{''.join(f'<th>{html.escape(h)}</th>' for h in header)}</tr></thead>
<tbody>{rows_html}</tbody></table>
</body></html>"""
    message.set_content(text)
    message.add_alternative(body_html, subtype="html")
    return message


def notify_signals(run: Run) -> dict:
    """E-mail each new alarm of the open periods once; fail (so Airflow retries) if a send failed."""
    settings = load_settings()
    run_id = run.key

    def work(conn) -> dict:
        alarms = _alarms(conn, list(run.periods))
        with conn.cursor() as cur:
            cur.execute("SELECT area, email FROM ref.contact WHERE role = %s AND level = 'district' ORDER BY 1, 2",
                        (SIGNAL_ROLE,))
            recipients: dict[str, list[str]] = {}
            for area, email in cur.fetchall():
                recipients.setdefault(area, []).append(email)
        conn.rollback()
        sent = skipped = failed = 0
        errors, no_recipient = [], set()
        for alarm in alarms:
            if not recipients.get(alarm.district):
                no_recipient.add(alarm.district)
                continue
            for recipient in recipients[alarm.district]:
                key = (f"{SIGNAL_KIND}:{alarm.level}:{alarm.district}:{alarm.area}:{alarm.item_code}:"
                       f"{alarm.period}:{recipient}")
                with conn.cursor() as cur:
                    cur.execute("SELECT status FROM alerts.sent WHERE alert_key = %s", (key,))
                    row = cur.fetchone()
                conn.rollback()
                if row and row[0] == "sent":
                    skipped += 1
                    continue
                message = build_signal_message(alarm, recipient, settings.mail_from, run.as_of)
                error = None
                try:
                    mailer.send(message)
                    sent += 1
                except Exception as exc:  # recorded in the ledger and retried by the next run
                    error = f"{type(exc).__name__}: {exc}"
                    failed += 1
                    errors.append(f"{recipient} ({alarm.area} {alarm.item_code} {alarm.period}): {error}")
                    log.error("could not send %s: %s", key, error)
                with conn, conn.cursor() as cur:
                    cur.execute(
                        """INSERT INTO alerts.sent (alert_key, kind, period, area_level, area, recipient, subject,
                               facility_ids, status, attempts, error, run_id, sent_at)
                           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, 1, %s, %s, %s)
                           ON CONFLICT (alert_key) DO UPDATE SET status = EXCLUDED.status,
                               attempts = alerts.sent.attempts + 1, error = EXCLUDED.error,
                               run_id = EXCLUDED.run_id, sent_at = EXCLUDED.sent_at, subject = EXCLUDED.subject""",
                        (key, SIGNAL_KIND, alarm.period, alarm.level, alarm.area, recipient, message["Subject"], [],
                         "failed" if error else "sent", error, run_id, None if error else run.as_of),
                    )
        for district in sorted(no_recipient):
            log.warning("no %s contact for district %s: its signal alarms were not e-mailed", SIGNAL_ROLE, district)
        return {"alarms": len(alarms), "signal_alerts_sent": sent, "signal_alerts_already_sent": skipped,
                "signal_alerts_failed": failed, "errors": errors}

    result = _with_conn(work)
    if result["signal_alerts_failed"]:
        raise RuntimeError(
            f"{result['signal_alerts_failed']} signal alert(s) could not be sent and are recorded as failed in "
            f"alerts.sent; they will be retried: {'; '.join(result['errors'])}"
        )
    return result
