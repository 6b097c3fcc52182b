"""The alert ledger ``alerts.sent``: every alert is delivered at most once and never lost.

Officer alerts and disease-signal alarms alike go through these functions. One row per
alert key:

1. :func:`claim` writes the row as ``sending`` *before* the channel is tried — a new row,
   or a ``failed`` (or left-over ``sending``) row taken again with one more attempt. A row
   already ``sent`` is not claimed, and the caller sends nothing.
2. The channel is tried with the alert's Message-ID, which :func:`message_id_for` derives
   from the key, so every attempt at one alert carries the same one.
3. :func:`settle` records ``sent`` or ``failed`` after the channel answered.

A crash between 1 and 3 leaves a ``sending`` row, which the next run claims again; the
stable Message-ID lets a mail client show a message it somehow got twice only once. The
notify step holds :func:`alert_lock` throughout, so two runs never claim one alert at once.
``alerts.sent_facility`` keeps the facilities each alert listed. Every moment written is the
run's logical date, never the clock.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import psycopg2

from hmis.platform.locks import ALERT_LOCK_KEY
from hmis.platform.warehouse import copy_rows, sql_file

log = logging.getLogger(__name__)

SENDING, SENT, FAILED, CANCELLED = "sending", "sent", "failed", "cancelled"
LISTED_COLUMNS = ("alert_key", "facility_id", "status", "days_overdue", "submitted_at")


@dataclass(frozen=True)
class Listed:
    """A facility an alert lists, as ``alerts.sent_facility`` keeps it."""

    facility_id: str
    status: str
    days_overdue: int
    submitted_at: datetime | None = None


@dataclass(frozen=True)
class AlertRecord:
    """What the ledger keeps of one alert when it is claimed."""

    key: str
    kind: str
    period: str
    rung: str | None
    area_level: str
    area: str
    recipient: str
    subject: str
    message_id: str
    listed: tuple[Listed, ...] = ()


@dataclass(frozen=True)
class LedgerEntry:
    """A row of the ledger as planning reads it back."""

    alert_key: str
    kind: str
    period: str
    rung: str | None
    area: str | None
    recipient: str
    status: str
    sent_at: datetime | None

    @property
    def natural_key(self) -> tuple:
        return (self.kind, self.period, self.rung, self.area, self.recipient)


def message_id_for(alert_key: str, sender: str) -> str:
    """The same Message-ID for every attempt at one alert, so a mail client that somehow
    receives it twice (a crash between delivery and the ledger update) shows it once."""
    digest = hashlib.sha256(alert_key.encode("utf-8")).hexdigest()[:32]
    return f"<hmis-alert-{digest}@{sender.rsplit('@', 1)[-1]}>"


@contextmanager
def alert_lock(conn) -> Iterator[None]:
    """Hold the alert ledger's advisory lock on ``conn`` while the block runs.

    A second notify step waits here until the first is done, then finds its alerts settled.
    The lock belongs to the session, so a crashed worker releases it; that is what lets the
    next run claim again a row left ``sending``.
    """
    with conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_lock(%s)", (ALERT_LOCK_KEY,))
    conn.commit()
    try:
        yield
    finally:
        if not conn.closed:
            try:
                conn.rollback()  # whatever failed inside must not keep the unlock from running
                with conn.cursor() as cur:
                    cur.execute("SELECT pg_advisory_unlock(%s)", (ALERT_LOCK_KEY,))
                conn.commit()
            except psycopg2.Error as exc:  # a dead session has released the lock already
                log.info("could not release the alert lock explicitly (%s); the session's end releases it", exc)


def claim(conn, record: AlertRecord, run_id: str, as_of: datetime) -> bool:
    """Record ``record`` as ``sending`` (with the facilities it lists) in one transaction.

    Returns False, changing nothing, when the ledger already has it as sent.
    """
    with conn, conn.cursor() as cur:
        cur.execute(sql_file("notify/claim.sql"), {
            "key": record.key, "kind": record.kind, "period": record.period, "rung": record.rung,
            "area_level": record.area_level, "area": record.area, "recipient": record.recipient,
            "subject": record.subject, "facility_ids": [line.facility_id for line in record.listed],
            "run_id": run_id, "message_id": record.message_id, "as_of": as_of,
        })
        if cur.fetchone() is None:
            return False
        cur.execute("DELETE FROM alerts.sent_facility WHERE alert_key = %s", (record.key,))
        copy_rows(cur, "alerts.sent_facility", LISTED_COLUMNS,
                  ((record.key, line.facility_id, line.status, line.days_overdue,
                    line.submitted_at.isoformat() if line.submitted_at else None) for line in record.listed))
    return True


def settle(conn, key: str, error: str | None, as_of: datetime) -> str:
    """Record the outcome of a claimed alert: ``sent`` at ``as_of``, or ``failed`` with ``error``."""
    status = FAILED if error else SENT
    with conn, conn.cursor() as cur:
        cur.execute(sql_file("notify/settle.sql"),
                    {"key": key, "status": status, "error": error, "sent_at": None if error else as_of})
    return status


def cancel(conn, reasons: dict[str, str], kinds: Sequence[str], run_id: str, as_of: datetime) -> int:
    """Mark unsent alerts (key -> why) of ``kinds`` as cancelled; returns how many were."""
    if not reasons:
        return 0
    with conn, conn.cursor() as cur:
        cur.execute(sql_file("notify/cancel.sql"), {
            "why": "; ".join(sorted(set(reasons.values()))), "run_id": run_id, "as_of": as_of,
            "keys": sorted(reasons), "kinds": list(kinds),
        })
        return cur.rowcount


def read_entries(conn, periods: Sequence[str], kinds: Sequence[str]) -> list[LedgerEntry]:
    """The ledger rows of ``kinds`` for ``periods``, in key order."""
    with conn.cursor() as cur:
        cur.execute(sql_file("notify/entries.sql"), {"periods": list(periods), "kinds": list(kinds)})
        entries = [LedgerEntry(*row) for row in cur.fetchall()]
    conn.rollback()
    return entries

