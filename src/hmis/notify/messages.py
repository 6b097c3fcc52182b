"""The e-mails officers receive: who has not reported, in English and Hindi, list attached.

Each message has a plain-text and an HTML part (both in English, then Hindi), a table of
facilities (facility, type, block, status, days overdue, whom to call) and the same list as a
CSV attachment. Messages carry facility names and officers' contacts only — never patient
data. Every cell of the attachment is neutralised against spreadsheet formulas, because
officers open these files in Excel.

Every word is in the templates ``templates/notify/`` (``non_submission.*``,
``registration_gap.*``, the shared ``email.txt`` / ``email.html``), which take their terms
from the glossary; this module decides only what goes in (the lines, grouped by block for
district digests) and what is attached. Nothing here reads the clock or the warehouse: the
run's moment and the rows come in as arguments, so the same alert always renders the same
message.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from email.message import EmailMessage

from hmis.notify.channels.email import compose
from hmis.reference.periods import REPORTING_TZ
from hmis.templates import render

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


def _local(moment: datetime) -> datetime:
    return moment.astimezone(REPORTING_TZ)


def area_label(district: str, block: str | None) -> str:
    return f"{district} / {block}" if block else district


def non_submission_subject(alert: NonSubmissionAlert) -> str:
    """``[HMIS] Hisar — 23 facilities have not submitted October 2026 (due 5 Nov)``."""
    return render("notify/non_submission.subject.txt", alert=alert)


def registration_gap_subject(alert: RegistrationGapAlert, as_of: datetime) -> str:
    """``[HMIS] Hisar — 54 facilities are not registered on HMIS (as of 6 Nov 2026)``."""
    return render("notify/registration_gap.subject.txt", alert=alert, as_of=as_of)


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


def build_non_submission(alert: NonSubmissionAlert, as_of: datetime, sender: str, message_id: str) -> EmailMessage:
    """The rung's e-mail: both parts in English and Hindi, the table, the CSV attachment."""
    groups = _groups(alert.lines, by_block=alert.block is None)
    rows = [
        (line.facility_id, line.name, line.facility_type, line.ownership, line.block, line.district,
         alert.period, line.status,
         _local(line.submitted_at).isoformat() if line.submitted_at else "", line.days,
         line.contact_name, line.contact_phone)
        for _block, lines in groups for line in lines
    ]
    name = f"hmis-{_slug(area_label(alert.district, alert.block))}-{alert.period}-{alert.rung}.csv"
    return _assemble("non_submission", non_submission_subject(alert), alert, groups, as_of, sender, message_id,
                     (name, attachment_csv(NON_SUBMISSION_COLUMNS, rows)))


def build_registration_gap(alert: RegistrationGapAlert, as_of: datetime, sender: str,
                           message_id: str) -> EmailMessage:
    """The monthly registration-gap digest: who must still register on HMIS, and since when."""
    groups = _groups(alert.lines, by_block=alert.block is None)
    rows = [
        (line.facility_id, line.name, line.facility_type, line.ownership, line.block, line.district,
         line.since.isoformat() if line.since else "", line.days, line.contact_name, line.contact_phone)
        for _block, lines in groups for line in lines
    ]
    name = f"hmis-{_slug(area_label(alert.district, alert.block))}-not-registered-{_local(as_of):%Y-%m-%d}.csv"
    return _assemble("registration_gap", registration_gap_subject(alert, as_of), alert, groups, as_of, sender,
                     message_id, (name, attachment_csv(REGISTRATION_GAP_COLUMNS, rows)))


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


def _assemble(kind: str, subject: str, alert: NonSubmissionAlert | RegistrationGapAlert,
              groups: list[tuple[str | None, list[FacilityLine]]], as_of: datetime, sender: str, message_id: str,
              attachment: tuple[str, bytes]) -> EmailMessage:
    context = {"words": f"notify/{kind}.j2", "subject": subject, "alert": alert, "groups": groups, "as_of": as_of}
    filename, data = attachment
    return compose(subject=subject, sender=sender, to=alert.recipient.email, as_of=as_of, message_id=message_id,
                   text=render("notify/email.txt", **context), html=render("notify/email.html", **context),
                   attachments=[(filename, "csv", data)])
