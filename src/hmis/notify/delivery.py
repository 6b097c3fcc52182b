"""The delivery loop: claim in the ledger, send on a channel, settle — for any channel.

Officer alerts and signal alarms hand their built messages to :func:`deliver` with the
channel to use; the loop knows nothing of what the messages say. Once the channel reports
its server unreachable, the rest of the run's messages are claimed and settled as failed
without trying (the breaker): each would only wait for the same timeout, and all of them
are retried, with the same Message-ID, by the next run. The caller holds
:func:`hmis.notify.ledger.alert_lock` around planning and delivery.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

from hmis.notify import ledger
from hmis.notify.channels import Channel, DeliveryFailed
from hmis.notify.ledger import AlertRecord

log = logging.getLogger(__name__)

M = TypeVar("M")


@dataclass(frozen=True)
class Outgoing(Generic[M]):
    """One alert ready to go: its ledger record, its message for the channel, and how
    errors name it for the people reading the task log."""

    record: AlertRecord
    message: M
    what: str


@dataclass
class Breaker:
    """Stops trying a channel once it was found unreachable in this run."""

    reason: str | None = None


@dataclass
class Delivered:
    """What one delivery loop did."""

    sent: list[AlertRecord] = field(default_factory=list)
    already_sent: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def deliver(conn, channel: Channel, outgoing: Iterable[Outgoing], run_id: str, as_of: datetime) -> Delivered:
    """Claim, send and settle each message in turn; a message the ledger has as sent is skipped.

    ``outgoing`` is consumed one message at a time, so a long run never holds every message
    in memory. A failed send is recorded in the ledger and in the result, never raised.
    """
    breaker = Breaker()
    done = Delivered()
    for item in outgoing:
        record = item.record
        if not ledger.claim(conn, record, run_id, as_of):
            done.already_sent += 1
            continue
        error = receipt = None
        if breaker.reason:
            error = f"not attempted: {breaker.reason}"
        else:
            try:
                receipt = channel.send(item.message)
            except DeliveryFailed as exc:
                error = exc.error
                if exc.unreachable:
                    breaker.reason = f"the {channel.name} server was unreachable ({error})"
        ledger.settle(conn, record.key, error, as_of)
        if error:
            done.failed += 1
            done.errors.append(f"{item.what}: {error}")
            log.error("could not send %s by %s: %s", record.key, channel.name, error)
        else:
            done.sent.append(record)
            log.info("sent %s by %s to %s (%d facilities listed)%s", record.key, channel.name, record.recipient,
                     len(record.listed), f", receipt {receipt}" if receipt else "")
    return done
