"""Tell the district officer which facilities have no accepted report after the due date.

One digest per district and period goes to the district HMIS nodal officer once the due
date has passed. The alert ledger (``alerts.sent``) makes each digest happen at most once
across retries, re-runs and backfills; a failed send is recorded and tried again by the next
run. Messages carry facility names and officer contacts only — never patient data.
"""

from __future__ import annotations

import csv
import html
import io
import logging
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from hmis import mailer
from hmis.periods import REPORTING_TZ, due_at, month_name, parse_period

log = logging.getLogger(__name__)

HINDI_MONTHS = ["जनवरी", "फ़रवरी", "मार्च", "अप्रैल", "मई", "जून", "जुलाई", "अगस्त", "सितंबर",
                "अक्टूबर", "नवंबर", "दिसंबर"]
STATUS_WORDS = {
    "missing": ("not submitted", "जमा नहीं"),
    "rejected": ("rejected (errors in file)", "अस्वीकृत (फ़ाइल में त्रुटि)"),
}
DIGEST_KIND = "district_missing_digest"
DIGEST_ROLE = "district_nodal_officer"
ATTACHMENT_COLUMNS = ["facility_id", "facility_name", "facility_type", "block", "status",
                      "days_overdue", "block_officer", "block_officer_phone"]


@dataclass(frozen=True)
class Defaulter:
    facility_id: str
    name: str
    facility_type: str
    block: str
    status: str
    days_overdue: int
    block_officer: str
    block_officer_phone: str


def hindi_month(period: str) -> str:
    year, month = parse_period(period)
    return f"{HINDI_MONTHS[month - 1]} {year}"


def digest_subject(district: str, period: str, count: int, due_day: int) -> str:
    due = due_at(period, due_day)
    noun = "facility has" if count == 1 else "facilities have"
    return (f"[HMIS] {district} — {count} {noun} not submitted {month_name(period)} "
            f"(due {due.day} {due.strftime('%b')})")


def build_digest(district: str, period: str, defaulters: list[Defaulter], recipient: str,
                 sender: str, as_of: datetime, due_day: int) -> EmailMessage:
    """The district digest: plain text and HTML, English and Hindi, with a CSV attachment."""
    due = due_at(period, due_day)
    due_text = due.strftime("%d %B %Y")
    month_en, month_hi = month_name(period), hindi_month(period)
    missing = sum(d.status == "missing" for d in defaulters)
    rejected = len(defaulters) - missing
    message = EmailMessage()
    message["Subject"] = digest_subject(district, period, len(defaulters), due_day)
    message["From"] = sender
    message["To"] = recipient
    message["Date"] = formatdate(as_of.timestamp(), localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.split("@")[-1])

    intro_en = (f"{len(defaulters)} facilities in {district} district have no accepted HMIS report for "
                f"{month_en}, which was due by {due_text}: {missing} have not submitted and "
                f"{rejected} sent a file that was rejected. Please ask them to upload the report "
                "on the HMIS portal now.")
    intro_hi = (f"{district} ज़िले के {len(defaulters)} संस्थानों की {month_hi} की मासिक रिपोर्ट "
                f"एचएमआईएस पोर्टल पर स्वीकार नहीं हुई है (अंतिम तिथि: अगले माह की {due.day} तारीख)। "
                f"{missing} ने रिपोर्ट जमा नहीं की और {rejected} की फ़ाइल अस्वीकृत हुई। "
                "कृपया इन संस्थानों से तुरंत पोर्टल पर डेटा अपलोड करवाएँ।")
    header = ["Facility ID", "Facility", "Type", "Block", "Status", "Days overdue", "Block officer"]
    text_rows = [
        f"{d.facility_id:<14} {d.name[:32]:<32} {d.facility_type:<13} {d.block:<10} "
        f"{STATUS_WORDS[d.status][0]:<26} {d.days_overdue:>3}  {d.block_officer} {d.block_officer_phone}"
        for d in defaulters
    ]
    text = "\n".join([
        intro_en, "", intro_hi, "",
        "  ".join(header), *text_rows, "",
        "The same list is attached as a CSV file. / यही सूची CSV फ़ाइल में संलग्न है।",
        f"Status as of {as_of.astimezone(REPORTING_TZ):%d %b %Y %H:%M} IST. "
        "This message was sent once by the HMIS reporting pipeline.",
    ])
    cells = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in (
            d.facility_id, d.name, d.facility_type, d.block,
            f"{STATUS_WORDS[d.status][0]} / {STATUS_WORDS[d.status][1]}", d.days_overdue,
            f"{d.block_officer} {d.block_officer_phone}")) + "</tr>"
        for d in defaulters
    )
    body_html = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"></head><body>
<p>{html.escape(intro_en)}</p>
<p lang="hi">{html.escape(intro_hi)}</p>
<table border="1" cellpadding="4" cellspacing="0">
<thead><tr>{''.join(f'<th>{html.escape(h)}</th>' for h in header)}</tr></thead>
<tbody>{cells}</tbody></table>
<p>The same list is attached as a CSV file. / यही सूची CSV फ़ाइल में संलग्न है।</p>
</body></html>"""
    message.set_content(text)
    message.add_alternative(body_html, subtype="html")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(ATTACHMENT_COLUMNS)
    for d in defaulters:
        writer.writerow([_csv_safe(v) for v in (d.facility_id, d.name, d.facility_type, d.block, d.status,
                                                 d.days_overdue, d.block_officer, d.block_officer_phone)])
    message.add_attachment(buffer.getvalue().encode("utf-8"), maintype="text", subtype="csv",
                           filename=f"hmis-{district.lower()}-{period}-not-submitted.csv")
    return message


def _csv_safe(value) -> str:
    """Neutralise spreadsheet formulas: officers open these attachments in Excel."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") and not text.lstrip("-").isdigit() else text


def _defaulters(cur, district: str, period: str, as_of: datetime, due_day: int) -> list[Defaulter]:
    cur.execute(
        """SELECT f.facility_id, f.name, f.facility_type, f.block, s.status,
                  coalesce(c.name, ''), coalesce(c.phone, '')
             FROM compliance.facility_status s
             JOIN ref.facility f USING (facility_id)
             LEFT JOIN LATERAL (
                  SELECT name, phone FROM ref.contact
                   WHERE role = 'block_medical_officer' AND level = 'block' AND area = f.block
                   ORDER BY email LIMIT 1) c ON true
            WHERE f.district = %s AND s.period = %s AND s.status IN ('missing', 'rejected')
            ORDER BY f.block, f.facility_id""",
        (district, period),
    )
    overdue = max((as_of - due_at(period, due_day)).days, 0) + 1
    return [Defaulter(r[0], r[1], r[2], r[3], r[4], overdue, r[5], r[6]) for r in cur.fetchall()]


def send_digests(conn, periods: list[str], as_of: datetime, run_id: str, sender: str,
                 due_day: int = 5) -> dict:
    """Send each district's digest for every period past its due date, once."""
    sent = skipped = failed = not_due = 0
    errors = []
    for period in periods:
        if as_of <= due_at(period, due_day):
            not_due += 1
            continue
        with conn.cursor() as cur:
            cur.execute(
                """SELECT DISTINCT f.district, c.email FROM ref.facility f
                     JOIN ref.contact c ON c.level = 'district' AND c.area = f.district AND c.role = %s
                    ORDER BY 1, 2""",
                (DIGEST_ROLE,),
            )
            recipients = cur.fetchall()
        for district, recipient in recipients:
            key = f"{DIGEST_KIND}:{district}:{period}:{recipient}"
            with conn.cursor() as cur:
                cur.execute("SELECT status FROM alerts.sent WHERE alert_key = %s", (key,))
                row = cur.fetchone()
                if row and row[0] == "sent":
                    skipped += 1
                    continue
                defaulters = _defaulters(cur, district, period, as_of, due_day)
            conn.rollback()
            if not defaulters:
                continue
            message = build_digest(district, period, defaulters, recipient, sender, as_of, due_day)
            error = None
            try:
                mailer.send(message)
                sent += 1
            except Exception as exc:  # recorded in the ledger and retried by the next run
                error = f"{type(exc).__name__}: {exc}"
                failed += 1
                errors.append(f"{recipient} ({period}): {error}")
                log.error("could not send %s: %s", key, error)
            with conn, conn.cursor() as cur:
                cur.execute(
                    """INSERT INTO alerts.sent (alert_key, kind, period, recipient, subject, facility_ids,
                           status, attempts, error, run_id, sent_at)
                       VALUES (%s, %s, %s, %s, %s, %s, %s, 1, %s, %s, %s)
                       ON CONFLICT (alert_key) DO UPDATE SET status = EXCLUDED.status,
                           attempts = alerts.sent.attempts + 1, error = EXCLUDED.error,
                           run_id = EXCLUDED.run_id, sent_at = EXCLUDED.sent_at,
                           subject = EXCLUDED.subject, facility_ids = EXCLUDED.facility_ids""",
                    (key, DIGEST_KIND, period, recipient, message["Subject"],
                     [d.facility_id for d in defaulters], "failed" if error else "sent", error,
                     run_id, None if error else as_of),
                )
    return {"alerts_sent": sent, "alerts_already_sent": skipped, "alerts_failed": failed,
            "periods_not_yet_due": not_due, "errors": errors}
