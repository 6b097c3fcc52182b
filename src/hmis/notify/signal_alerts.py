"""Disease-signal alarms to the district surveillance officer, through the alert ledger.

Each alarm of the open periods (:func:`hmis.signals.alarms.read_alarms`) goes once to every
``district_surveillance_officer`` of its district in ``ref.contact``, by the same path as
officer alerts: the ledger ``alerts.sent`` (kind ``disease_signal``) claims it before the
channel is tried and settles it after, with a Message-ID derived from its key, under the
alert lock (:mod:`hmis.notify.ledger`, :mod:`hmis.notify.delivery`). A failed send is
retried by the next run with the same Message-ID. Messages carry area-level counts only;
their words are in ``templates/notify/disease_signal.*`` and the disease is named by the list
of watched diseases (:mod:`hmis.reference.diseases`, through ``Alarm.disease``).

No alarm e-mail is ever sent for a provisional month (not yet due, or too few reports in):
such months never alarm (:mod:`hmis.signals.completeness`), the alarms read here are of
complete months only, and the plan drops any other it is given.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import datetime
from email.message import EmailMessage

from hmis.notify import ledger
from hmis.notify.channels import Channel
from hmis.notify.channels.email import EmailChannel, compose
from hmis.notify.delivery import Outgoing, deliver
from hmis.notify.ledger import AlertRecord, message_id_for
from hmis.signals.alarms import Alarm, read_alarms
from hmis.signals.completeness import COMPLETE
from hmis.templates import render

log = logging.getLogger(__name__)

SIGNAL_KIND = "disease_signal"
SIGNAL_ROLE = "district_surveillance_officer"


def signal_key(alarm: Alarm, recipient: str) -> str:
    """The ledger key of one alarm to one recipient (the scheme the ledger has always used)."""
    return (f"{SIGNAL_KIND}:{alarm.level}:{alarm.district}:{alarm.area}:{alarm.item_code}:"
            f"{alarm.period}:{recipient}")


def signal_subject(alarm: Alarm) -> str:
    """``[HMIS signal] Dengue (RDT positive) rising in Barwala block (Hisar) — October 2026``,
    or ``… rising in Hisar district — October 2026`` for a district's own alarm."""
    return render("notify/disease_signal.subject.txt", alarm=alarm, disease=alarm.disease)


def build_signal_message(alarm: Alarm, recipient: str, sender: str, as_of: datetime,
                         message_id: str) -> EmailMessage:
    """One alarm: plain text and HTML, English and Hindi; counts only, no patient data."""
    subject = signal_subject(alarm)
    context = {"words": "notify/disease_signal.j2", "subject": subject, "alarm": alarm,
               "disease": alarm.disease, "as_of": as_of}
    return compose(subject=subject, sender=sender, to=recipient, as_of=as_of, message_id=message_id,
                   text=render("notify/email.txt", **context), html=render("notify/email.html", **context))


def read_recipients(conn) -> dict[str, list[str]]:
    """District -> e-mail addresses of its surveillance officers."""
    with conn.cursor() as cur:
        cur.execute("SELECT area, email FROM ref.contact WHERE role = %s AND level = 'district' ORDER BY 1, 2",
                    (SIGNAL_ROLE,))
        rows = cur.fetchall()
    conn.rollback()
    recipients: dict[str, list[str]] = {}
    for area, email in rows:
        recipients.setdefault(area, []).append(email)
    return recipients


def plan_signal_alerts(alarms: Sequence[Alarm], recipients: dict[str, list[str]]
                       ) -> tuple[list[tuple[Alarm, str]], list[str]]:
    """(alarm, recipient) pairs to send, and the districts with alarms but no recipient.

    Alarms of provisional months are never planned.
    """
    planned, unrouted = [], set()
    for alarm in alarms:
        if alarm.completeness != COMPLETE:
            continue
        if not recipients.get(alarm.district):
            unrouted.add(alarm.district)
        planned += [(alarm, recipient) for recipient in recipients.get(alarm.district, [])]
    return planned, sorted(unrouted)


def _outgoing(planned: list[tuple[Alarm, str]], as_of: datetime, sender: str) -> Iterator[Outgoing[EmailMessage]]:
    for alarm, recipient in planned:
        key = signal_key(alarm, recipient)
        message_id = message_id_for(key, sender)
        message = build_signal_message(alarm, recipient, sender, as_of, message_id)
        record = AlertRecord(key=key, kind=SIGNAL_KIND, period=alarm.period, rung=None, area_level=alarm.level,
                             area=alarm.area, recipient=recipient, subject=str(message["Subject"]),
                             message_id=message_id)
        yield Outgoing(record, message, f"{recipient} ({alarm.area} {alarm.item_code} {alarm.period})")


def send_signal_alerts(conn, periods: Sequence[str], as_of: datetime, run_id: str, sender: str,
                       channel: Channel | None = None) -> dict:
    """Send each alarm of ``periods`` not yet sent (retrying failed ones), holding the alert lock.

    Returns ``alarms``, ``signal_alerts_sent``, ``signal_alerts_already_sent``,
    ``signal_alerts_failed`` and the ``errors``; a failure is recorded, never raised.
    """
    channel = channel or EmailChannel()
    with ledger.alert_lock(conn):
        alarms = read_alarms(conn, periods)
        planned, unrouted = plan_signal_alerts(alarms, read_recipients(conn))
        done = deliver(conn, channel, _outgoing(planned, as_of, sender), run_id, as_of)
    for district in unrouted:
        log.warning("no %s contact for district %s: its signal alarms were not e-mailed", SIGNAL_ROLE, district)
    return {"alarms": len(alarms), "signal_alerts_sent": len(done.sent),
            "signal_alerts_already_sent": done.already_sent, "signal_alerts_failed": done.failed,
            "errors": done.errors}
