"""Who hears of an approval, and the sending, through the one alert ledger.

- the request goes to the district's ``district_nodal_officer`` contacts (the district HMIS
  nodal officer);
- the what-changed note goes to the ``state_hmis_cell`` contacts of the district's state;
- a rejection goes to the district's *compilers*: its ``district_data_manager`` contacts (if
  the contacts list any) and the ``block_medical_officer`` of every block of the district —
  HMIS compiles a district block by block, so those are the people who can correct its
  facilities' reports. The nodal officer, who wrote the comment, is not sent it again.

Every message is claimed in ``alerts.sent`` before it is tried and settled after
(:func:`hmis.notify.delivery.deliver`, under the alert lock), so each goes at most once per
revision and recipient, and a failed one is retried by the task's retry.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from hmis.approval.messages import Recipient
from hmis.notify import ledger
from hmis.notify.channels import Channel
from hmis.notify.channels.email import EmailChannel
from hmis.notify.delivery import Delivered, Outgoing, deliver
from hmis.platform.warehouse import statement

log = logging.getLogger(__name__)

SQL = "approval/revisions.sql"
NODAL_ROLE = "district_nodal_officer"
STATE_ROLE = "state_hmis_cell"
COMPILER_DISTRICT_ROLES = ("district_data_manager",)
COMPILER_BLOCK_ROLES = ("block_medical_officer",)


def _recipients(conn, name: str, params: dict) -> list[Recipient]:
    with conn.cursor() as cur:
        cur.execute(statement(SQL, name), params)
        found = [Recipient(name, email) for name, email in cur.fetchall()]
    conn.rollback()
    return found


def nodal_officers(conn, district: str) -> list[Recipient]:
    return _recipients(conn, "contacts", {"role": NODAL_ROLE, "level": "district", "area": district})


def state_cell(conn, state: str) -> list[Recipient]:
    return _recipients(conn, "contacts", {"role": STATE_ROLE, "level": "state", "area": state})


def compilers(conn, district: str) -> list[Recipient]:
    return _recipients(conn, "compilers", {"district": district, "district_roles": list(COMPILER_DISTRICT_ROLES),
                                           "block_roles": list(COMPILER_BLOCK_ROLES)})


def state_of(conn, district: str) -> str | None:
    with conn.cursor() as cur:
        cur.execute(statement(SQL, "state_of"), {"district": district})
        state = cur.fetchone()[0]
    conn.rollback()
    return state


def send(conn, built: Iterable, run_id: str, as_of: datetime, channel: Channel | None = None) -> Delivered:
    """Deliver (record, message) pairs once each, holding the alert lock."""
    channel = channel or EmailChannel()
    outgoing = (Outgoing(record, message, f"{record.recipient} ({record.kind} {record.area} {record.period} "
                                          f"{record.rung})") for record, message in built)
    with ledger.alert_lock(conn):
        done = deliver(conn, channel, outgoing, run_id, as_of)
    return done


def summary(done: Delivered, recipients: list[Recipient], what: str) -> dict:
    if not recipients:
        log.warning("nobody to send %s to: add the contact to registry/contacts.csv", what)
    return {"recipients": [r.email for r in recipients], "sent": len(done.sent), "already_sent": done.already_sent,
            "failed": done.failed, "errors": done.errors}
