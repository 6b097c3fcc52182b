"""The e-mails officers receive: who has not reported, in English and Hindi, list attached.

Each message has a plain-text and an HTML part (both in English, then Hindi), a table of
facilities (facility, type, block, status, days overdue, whom to call) and the same list as a
CSV attachment. Messages carry facility names and officers' contacts only — never patient
data. Every cell of the attachment is neutralised against spreadsheet formulas, because
officers open these files in Excel.

Nothing here reads the clock or the warehouse: the run's moment and the rows come in as
arguments, so the same alert always renders the same message.
"""

from __future__ import annotations

import csv
import hashlib
import html
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from email.message import EmailMessage
from email.utils import format_datetime

from hmis.reference.periods import REPORTING_TZ, month_name, parse_period

HINDI_MONTHS = ("जनवरी", "फ़रवरी", "मार्च", "अप्रैल", "मई", "जून", "जुलाई", "अगस्त", "सितंबर",
                "अक्टूबर", "नवंबर", "दिसंबर")
ROLE_LABELS = {
    "block_medical_officer": ("Block Medical Officer", "खंड चिकित्सा अधिकारी"),
    "district_nodal_officer": ("District HMIS Nodal Officer", "ज़िला एचएमआईएस नोडल अधिकारी"),
    "civil_surgeon": ("Civil Surgeon", "सिविल सर्जन"),
    "district_surveillance_officer": ("District Surveillance Officer", "ज़िला सर्विलांस अधिकारी"),
    "state_hmis_cell": ("State HMIS Cell", "राज्य एचएमआईएस प्रकोष्ठ"),
}
STATUS_LABELS = {
    "missing": ("not submitted", "रिपोर्ट जमा नहीं"),
    "rejected": ("rejected (errors in file)", "अस्वीकृत (फ़ाइल में त्रुटि)"),
    "late": ("received late", "देर से प्राप्त"),
    "not_registered": ("not registered on HMIS", "एचएमआईएस पर पंजीकृत नहीं"),
}
NON_SUBMISSION_COLUMNS = ("facility_id", "facility_name", "facility_type", "ownership", "block", "district",
                          "period", "status", "received_at", "days_overdue", "block_officer",
                          "block_officer_phone")
REGISTRATION_GAP_COLUMNS = ("facility_id", "facility_name", "facility_type", "ownership", "block", "district",
                            "unregistered_since", "days_unregistered", "block_officer", "block_officer_phone")
# A cell starting with one of these is a formula (or part of one) to a spreadsheet.
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n")


@dataclass(frozen=True)
class FacilityLine:
    """One facility in an alert. ``days`` is days overdue (for ``late``: days late when it
    arrived; for ``not_registered``: days unregistered)."""

    facility_id: str
    name: str
    facility_type: str
    ownership: str
    block: str
    district: str
    status: str
    days: int
    contact_name: str = ""
    contact_phone: str = ""
    submitted_at: datetime | None = None
    since: date | None = None


@dataclass(frozen=True)
class Recipient:
    role: str
    name: str
    email: str


@dataclass(frozen=True)
class NonSubmissionAlert:
    """One rung's e-mail to one officer about one block or district and period."""

    period: str
    due: datetime
    rung: str
    day: int
    district: str
    block: str | None
    recipient: Recipient
    lines: tuple[FacilityLine, ...]
    late_since: datetime
    next_step: tuple[str, datetime] | None = None  # (role, when it opens)
    earlier: tuple[tuple[str, datetime], ...] = ()  # (role, sent at) of rungs already sent

    def count(self, *statuses: str) -> int:
        return sum(line.status in statuses for line in self.lines)


@dataclass(frozen=True)
class RegistrationGapAlert:
    """The monthly list of registry facilities not registered on HMIS, for one area."""

    period: str  # the reporting cycle it belongs to
    district: str
    block: str | None
    recipient: Recipient
    lines: tuple[FacilityLine, ...]
    due_day: int = 5


def role_label(role: str) -> tuple[str, str]:
    """(English, Hindi) name of a contact role."""
    fallback = role.replace("_", " ").title()
    return ROLE_LABELS.get(role, (fallback, fallback))


def hindi_date(day: date) -> str:
    return f"{day.day} {HINDI_MONTHS[day.month - 1]} {day.year}"


def hindi_month(period: str) -> str:
    year, month = parse_period(period)
    return f"{HINDI_MONTHS[month - 1]} {year}"


def english_date(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


def _local(moment: datetime) -> datetime:
    return moment.astimezone(REPORTING_TZ)


def area_label(district: str, block: str | None) -> str:
    return f"{district} / {block}" if block else district


def _facilities(count: int) -> str:
    return "facility" if count == 1 else "facilities"


def _sansthan(count: int) -> str:
    """"institution(s)" in the oblique case the Hindi sentences need."""
    return "संस्थान" if count == 1 else "संस्थानों"


def non_submission_subject(alert: NonSubmissionAlert) -> str:
    """``[HMIS] Hisar — 23 facilities have not submitted October 2026 (due 5 Nov)``."""
    due = _local(alert.due)
    due_text = f"due {due.day} {due:%b}"
    pending = alert.count("missing", "rejected")
    late = alert.count("late")
    area = area_label(alert.district, alert.block)
    month = month_name(alert.period)
    if pending:
        verb = "has" if pending == 1 else "have"
        subject = f"[HMIS] {area} — {pending} {_facilities(pending)} {verb} not submitted {month} ({due_text})"
        return subject + (f"; {late} reported late" if late else "")
    return f"[HMIS] {area} — {late} {_facilities(late)} reported {month} late ({due_text})"


def registration_gap_subject(alert: RegistrationGapAlert, as_of: datetime) -> str:
    """``[HMIS] Hisar — 54 facilities are not registered on HMIS (as of 6 Nov 2026)``."""
    count = len(alert.lines)
    verb = "is" if count == 1 else "are"
    local = _local(as_of)
    return (f"[HMIS] {area_label(alert.district, alert.block)} — {count} {_facilities(count)} {verb} "
            f"not registered on HMIS (as of {local.day} {local:%b %Y})")


def message_id_for(alert_key: str, sender: str) -> str:
    """The same Message-ID for every attempt at one alert, so a mail client that somehow
    receives it twice (a crash between delivery and the ledger update) shows it once."""
    digest = hashlib.sha256(alert_key.encode("utf-8")).hexdigest()[:32]
    return f"<hmis-alert-{digest}@{sender.rsplit('@', 1)[-1]}>"


def csv_safe(value: object) -> str:
    """The cell text, with a leading ``'`` if a spreadsheet would read it as a formula."""
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_PREFIXES) else text


def attachment_csv(columns: Sequence[str], rows: Sequence[Sequence[object]]) -> bytes:
    """UTF-8 CSV with a header row; every cell passed through :func:`csv_safe`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_safe(value) for value in row])
    return buffer.getvalue().encode("utf-8")


# --------------------------------------------------------------------------- non-submission


def _status_text(line: FacilityLine) -> tuple[str, str]:
    english, hindi = STATUS_LABELS[line.status]
    if line.status == "late" and line.submitted_at is not None:
        received = _local(line.submitted_at).date()
        english = f"{english} on {received.day} {received:%b}"
        hindi = f"{hindi} ({hindi_date(received)})"
    return english, hindi


def _non_submission_paragraphs(alert: NonSubmissionAlert) -> tuple[list[str], list[str]]:
    """(English, Hindi) paragraphs above the table."""
    due = _local(alert.due).date()
    month_en, month_hi = month_name(alert.period), hindi_month(alert.period)
    missing, rejected, late = alert.count("missing"), alert.count("rejected"), alert.count("late")
    pending = missing + rejected
    role_en, role_hi = role_label(alert.recipient.role)
    if alert.block:
        scope_en = f"{alert.block} block ({alert.district} district)"
        scope_hi = f"{alert.district} ज़िले के {alert.block} खंड"
    else:
        scope_en, scope_hi = f"{alert.district} district", f"{alert.district} ज़िले"

    english = [f"Dear {alert.recipient.name},"]
    hindi = [f"आदरणीय {alert.recipient.name},"]
    if pending:
        why_en = " and ".join(
            [f"{missing} {'has' if missing == 1 else 'have'} not submitted"] * bool(missing)
            + [f"{rejected} sent a file that was rejected"] * bool(rejected))
        why_hi = " और ".join(
            [f"{missing} {_sansthan(missing)} ने रिपोर्ट जमा नहीं की"] * bool(missing)
            + [f"{rejected} {_sansthan(rejected)} की फ़ाइल अस्वीकृत हुई"] * bool(rejected))
        english.append(
            f"{pending} {_facilities(pending)} in {scope_en} {'has' if pending == 1 else 'have'} no accepted "
            f"HMIS report for {month_en}, which was due by the end of {english_date(due)}: {why_en}. "
            "Please ask them to upload the report on the HMIS portal now."
        )
        hindi.append(
            f"{scope_hi} के {pending} {_sansthan(pending)} की {month_hi} की मासिक रिपोर्ट एचएमआईएस पोर्टल पर स्वीकार "
            f"नहीं हुई है (अंतिम तिथि: {hindi_date(due)})। {why_hi}। "
            "कृपया इन संस्थानों से तुरंत पोर्टल पर डेटा अपलोड करवाएँ।"
        )
    if late:
        since = _local(alert.late_since).date()
        since_en = "" if since == due else f" since {english_date(since)}"
        english.append(
            f"{late} {_facilities(late)} in {scope_en} sent the {month_en} report after the due date{since_en}; "
            "they are listed so you can remind them to report on time."
        )
        hindi.append(f"{scope_hi} के {late} {_sansthan(late)} की {month_hi} की रिपोर्ट अंतिम तिथि के बाद देर से "
                     "प्राप्त हुई।")

    step_en = f"This is the day-{alert.day} reminder for {month_en}, sent to the {role_en}."
    step_hi = f"यह {month_hi} की रिपोर्ट के लिए अंतिम तिथि के {alert.day} दिन बाद का अनुस्मारक है ({role_hi})।"
    if alert.earlier:
        done_en = "; ".join(f"{role_label(role)[0]} on {english_date(_local(at).date())}" for role, at in alert.earlier)
        done_hi = "; ".join(f"{role_label(role)[1]} ({hindi_date(_local(at).date())})" for role, at in alert.earlier)
        step_en += f" Earlier reminders for this period: {done_en}."
        step_hi += f" पहले भेजे गए अनुस्मारक: {done_hi}।"
    if alert.next_step and pending:
        next_role, opens = alert.next_step
        next_en, next_hi = role_label(next_role)
        when = _local(opens).date()
        step_en += f" Facilities still without an accepted report on {english_date(when)} go to the {next_en}."
        step_hi += f" {hindi_date(when)} तक रिपोर्ट स्वीकार न होने पर सूची {next_hi} को भेजी जाएगी।"
    english.append(step_en)
    hindi.append(step_hi)
    return english, hindi


def build_non_submission(alert: NonSubmissionAlert, as_of: datetime, sender: str, message_id: str) -> EmailMessage:
    """The rung's e-mail: both parts in English and Hindi, the table, the CSV attachment."""
    english, hindi = _non_submission_paragraphs(alert)
    header = ("Facility ID", "Facility", "Type", "Ownership", "Block", "Status", "Days overdue", "Block officer")
    header_hi = ("आईडी", "संस्थान", "प्रकार", "स्वामित्व", "खंड", "स्थिति", "विलंब (दिन)", "खंड अधिकारी")

    def cells(line: FacilityLine) -> tuple[str, ...]:
        status_en, status_hi = _status_text(line)
        return (line.facility_id, line.name, line.facility_type, line.ownership, line.block,
                f"{status_en} / {status_hi}", str(line.days), _contact(line))

    groups = _groups(alert.lines, by_block=alert.block is None)
    rows = [
        (line.facility_id, line.name, line.facility_type, line.ownership, line.block, line.district,
         alert.period, line.status,
         _local(line.submitted_at).isoformat() if line.submitted_at else "", line.days,
         line.contact_name, line.contact_phone)
        for _block, lines in groups for line in lines
    ]
    name = f"hmis-{_slug(area_label(alert.district, alert.block))}-{alert.period}-{alert.rung}.csv"
    return _assemble(
        subject=non_submission_subject(alert), recipient=alert.recipient, sender=sender, as_of=as_of,
        message_id=message_id, english=english, hindi=hindi, header=header, header_hi=header_hi,
        groups=groups, cells=cells,
        attachment=(name, attachment_csv(NON_SUBMISSION_COLUMNS, rows)),
    )


# --------------------------------------------------------------------------- registration gap


def build_registration_gap(alert: RegistrationGapAlert, as_of: datetime, sender: str,
                           message_id: str) -> EmailMessage:
    """The monthly registration-gap digest: who must still register on HMIS, and since when."""
    count = len(alert.lines)
    private = sum(line.ownership == "private" for line in alert.lines)
    longest = max((line.days for line in alert.lines), default=0)
    scope_en = f"{alert.block} block ({alert.district} district)" if alert.block else f"{alert.district} district"
    scope_hi = f"{alert.district} ज़िले के {alert.block} खंड" if alert.block else f"{alert.district} ज़िले"
    due_day = _ordinal(alert.due_day)
    english = [
        f"Dear {alert.recipient.name},",
        f"{count} {_facilities(count)} in {scope_en} {'is' if count == 1 else 'are'} in the facility registry but "
        f"not registered on the HMIS portal ({private} private, {count - private} public); the longest has been "
        f"unregistered for {longest} days. Every institution, private hospitals included, must register and "
        f"upload its monthly report by the {due_day} of the following month. Please ask them to register now.",
        "This digest is sent once a month while institutions remain unregistered.",
    ]
    hindi = [
        f"आदरणीय {alert.recipient.name},",
        f"{scope_hi} के {count} संस्थान सुविधा रजिस्टर में हैं, लेकिन एचएमआईएस पोर्टल पर पंजीकृत नहीं हैं "
        f"({private} निजी, {count - private} सरकारी)। सभी संस्थानों, निजी अस्पतालों सहित, को पोर्टल पर पंजीकरण "
        f"कराना और हर महीने की {alert.due_day} तारीख तक डेटा अपलोड करना अनिवार्य है। "
        "बाकी सभी संस्थानों का जल्द से जल्द पोर्टल पर पंजीकरण करवाएँ।",
        "यह सूची हर महीने भेजी जाती है, जब तक सभी संस्थान पंजीकृत न हो जाएँ।",
    ]
    header = ("Facility ID", "Facility", "Type", "Ownership", "Block", "Unregistered since", "Days", "Block officer")
    header_hi = ("आईडी", "संस्थान", "प्रकार", "स्वामित्व", "खंड", "कब से अपंजीकृत", "दिन", "खंड अधिकारी")

    def cells(line: FacilityLine) -> tuple[str, ...]:
        since = line.since.isoformat() if line.since else "unknown / अज्ञात"
        return (line.facility_id, line.name, line.facility_type, line.ownership, line.block, since,
                str(line.days), _contact(line))

    groups = _groups(alert.lines, by_block=alert.block is None)
    rows = [
        (line.facility_id, line.name, line.facility_type, line.ownership, line.block, line.district,
         line.since.isoformat() if line.since else "", line.days, line.contact_name, line.contact_phone)
        for _block, lines in groups for line in lines
    ]
    name = f"hmis-{_slug(area_label(alert.district, alert.block))}-not-registered-{_local(as_of):%Y-%m-%d}.csv"
    return _assemble(
        subject=registration_gap_subject(alert, as_of), recipient=alert.recipient, sender=sender, as_of=as_of,
        message_id=message_id, english=english, hindi=hindi, header=header, header_hi=header_hi,
        groups=groups, cells=cells,
        attachment=(name, attachment_csv(REGISTRATION_GAP_COLUMNS, rows)),
    )


# --------------------------------------------------------------------------- shared layout


def _contact(line: FacilityLine) -> str:
    return " ".join(part for part in (line.contact_name, line.contact_phone) if part)


def _ordinal(day: int) -> str:
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _groups(lines: Sequence[FacilityLine], by_block: bool) -> list[tuple[str | None, list[FacilityLine]]]:
    """Lines in blocks (for digests covering a district) or as one group."""
    if not by_block:
        return [(None, list(lines))]
    groups: dict[str, list[FacilityLine]] = {}
    for line in lines:
        groups.setdefault(line.block, []).append(line)
    return [(block, groups[block]) for block in sorted(groups)]


def _assemble(*, subject: str, recipient: Recipient, sender: str, as_of: datetime, message_id: str,
              english: list[str], hindi: list[str], header: Sequence[str], header_hi: Sequence[str],
              groups: list[tuple[str | None, list[FacilityLine]]], cells, attachment: tuple[str, bytes]
              ) -> EmailMessage:
    local = _local(as_of)
    footer_en = (f"The same list is attached as a CSV file. Status as of {local:%d %b %Y %H:%M} IST. "
                 "Sent once by the HMIS reporting pipeline; it contains no patient data.")
    footer_hi = "यही सूची CSV फ़ाइल में संलग्न है।"

    table_rows: list[list[str]] = []
    for block, lines in groups:
        if block is not None:
            table_rows.append([f"— {block} ({len(lines)}) —"])
        table_rows += [list(cells(line)) for line in lines]
    widths = [max([len(header[i])] + [len(r[i]) for r in table_rows if len(r) > 1]) for i in range(len(header))]
    text_table = ["  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip()]
    text_table += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() if len(row) > 1 else "\n" + row[0]
                   for row in table_rows]
    text = "\n\n".join(english) + "\n\n" + "\n\n".join(hindi) + "\n\n" + "\n".join(text_table) + \
        f"\n\n{footer_en}\n{footer_hi}\n"

    head = "".join(f"<th>{html.escape(en)}<br><span lang=\"hi\">{html.escape(hi)}</span></th>"
                   for en, hi in zip(header, header_hi))
    body_rows = []
    for row in table_rows:
        if len(row) == 1:
            body_rows.append(f'<tr><th colspan="{len(header)}" style="text-align:left;background:#eee">'
                             f"{html.escape(row[0].strip('— '))}</th></tr>")
        else:
            body_rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>")
    paragraphs_en = "".join(f"<p>{html.escape(p)}</p>" for p in english)
    paragraphs_hi = "".join(f'<p lang="hi">{html.escape(p)}</p>' for p in hindi)
    body_html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(subject)}</title></head><body>"
        f"{paragraphs_en}{paragraphs_hi}"
        '<table border="1" cellpadding="4" cellspacing="0" style="border-collapse:collapse">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body_rows)}</tbody></table>"
        f"<p>{html.escape(footer_en)}<br><span lang=\"hi\">{html.escape(footer_hi)}</span></p>"
        "</body></html>"
    )

    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = recipient.email
    message["Date"] = format_datetime(local)
    message["Message-ID"] = message_id
    message["Content-Language"] = "en, hi"
    message.set_content(text)
    message.add_alternative(body_html, subtype="html")
    filename, data = attachment
    message.add_attachment(data, maintype="text", subtype="csv", filename=filename, params={"charset": "utf-8"})
    return message
