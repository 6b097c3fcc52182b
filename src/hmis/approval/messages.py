"""Texts of the approval: the request to the nodal officer, the approval form in Airflow, the
state's what-changed note and the returned-with-comment note to the district's compilers.

Every word is in ``templates/notify/approval_*`` (English and Hindi, the glossary's terms);
this module only prepares the lines they print and composes the e-mails. Each e-mail is one
alert of the ledger ``alerts.sent`` (at most once per key, :mod:`hmis.notify.ledger`); the
keys name the revision, so a new revision is asked (and announced) anew.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage

from hmis.approval.revisions import Change, Revision
from hmis.notify.channels.email import compose
from hmis.notify.ledger import AlertRecord, message_id_for
from hmis.templates import render

REQUEST_KIND = "approval_request"
CHANGES_KIND = "approval_changes"
RETURNED_KIND = "approval_returned"
# An e-mail and the approval form list this many changed items; the state's note attaches all.
LISTED_CHANGES = 40


@dataclass(frozen=True)
class Recipient:
    name: str
    email: str


def number_text(value: float | None) -> str:
    """``1234`` for a whole number, ``12.5`` otherwise, ``—`` for no value."""
    if value is None:
        return "—"
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}".rstrip("0")


def change_lines(changes: Sequence[Change], limit: int | None = LISTED_CHANGES) -> list[list[str]]:
    """Table rows of changed items: element, disaggregation, before, after, difference."""
    listed = changes if limit is None else changes[:limit]
    return [[c.item_code, c.disaggregation, number_text(c.before), number_text(c.after),
             "" if c.difference is None else ("+" if c.difference > 0 else "") + number_text(c.difference)]
            for c in listed]


def _more(changes: Sequence[Change]) -> int:
    return max(0, len(changes) - LISTED_CHANGES)


def alert_key(kind: str, revision: Revision, recipient: str) -> str:
    return f"{kind}:{revision.district}:{revision.period}:r{revision.revision}:{recipient}"


def _record(kind: str, revision: Revision, recipient: Recipient, message: EmailMessage) -> AlertRecord:
    key = alert_key(kind, revision, recipient.email)
    # The rung names the revision: the ledger's natural key (kind, period, rung, area,
    # recipient) must tell revision 2's request from revision 1's.
    return AlertRecord(key=key, kind=kind, period=revision.period, rung=f"r{revision.revision}",
                       area_level="district", area=revision.district, recipient=recipient.email,
                       subject=str(message["Subject"]), message_id=str(message["Message-ID"]))


def _email(words: str, subject_template: str, recipient: Recipient, sender: str, as_of: datetime, kind: str,
           revision: Revision, attachments=(), **context) -> tuple[AlertRecord, EmailMessage]:
    subject = render(subject_template, revision=revision, **context)
    message_id = message_id_for(alert_key(kind, revision, recipient.email), sender)
    context = {"words": words, "subject": subject, "revision": revision, "recipient": recipient.name,
               "as_of": as_of, **context}
    message = compose(subject=subject, sender=sender, to=recipient.email, as_of=as_of, message_id=message_id,
                      text=render("notify/email.txt", **context), html=render("notify/email.html", **context),
                      attachments=attachments)
    return _record(kind, revision, recipient, message), message


def api_hint(airflow_url: str, dag_id: str, dag_run_id: str, task_id: str) -> str:
    """The one REST call that answers the form (after ``POST /auth/token``); docs/runbook.md
    "Approve a district-month" gives it whole."""
    return (f"PATCH {airflow_url}/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/-1/hitlDetails "
            '{"chosen_options": ["Approve"], "params_input": {"comment": ""}}')


def request_email(revision: Revision, recipient: Recipient, *, previous: int | None, changes: Sequence[Change],
                  link: str, api: str, sender: str, as_of: datetime) -> tuple[AlertRecord, EmailMessage]:
    """The approval request to one nodal officer, with the link to Airflow's approval form."""
    return _email("notify/approval_request.j2", "notify/approval_request.subject.txt", recipient, sender, as_of,
                  REQUEST_KIND, revision, previous=previous, changes=change_lines(changes), more=_more(changes),
                  link=link, api=api)


def form_subject(revision: Revision) -> str:
    return (f"Approve {revision.district} {revision.period} for the state "
            f"(revision {revision.revision})")


def form_body(revision: Revision, *, previous: int | None, changes: Sequence[Change],
              indicators: Sequence[tuple[str, float | None]], items: int) -> str:
    """The approval form's Markdown: key figures, reporting completeness, what changed."""
    return render("notify/approval_form.txt", revision=revision, previous=previous,
                  changes=change_lines(changes), more=_more(changes), items=items,
                  indicators=[(name, number_text(value)) for name, value in indicators])


def changes_csv(changes: Sequence[Change]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["item_code", "disaggregation", "previous_value", "approved_value", "difference"])
    writer.writerows(change_lines(changes, limit=None))
    return out.getvalue().encode("utf-8")


def changes_email(revision: Revision, recipient: Recipient, *, previous: int | None, changes: Sequence[Change],
                  export: str, sender: str, as_of: datetime) -> tuple[AlertRecord, EmailMessage]:
    """The state's note: revision approved, and what differs from the previous approved one."""
    name = f"{revision.district.lower()}-{revision.period}-r{revision.revision}-changes.csv"
    attachments = [(name, "csv", changes_csv(changes))] if changes else []
    return _email("notify/approval_changes.j2", "notify/approval_changes.subject.txt", recipient, sender, as_of,
                  CHANGES_KIND, revision, attachments, previous=previous, changes=change_lines(changes),
                  more=_more(changes), changes_total=len(changes), export=export)


def returned_email(revision: Revision, recipient: Recipient, *, sender: str,
                   as_of: datetime) -> tuple[AlertRecord, EmailMessage]:
    """The note to one of the district's compilers: returned by the officer, with the comment."""
    return _email("notify/approval_returned.j2", "notify/approval_returned.subject.txt", recipient, sender, as_of,
                  RETURNED_KIND, revision)
