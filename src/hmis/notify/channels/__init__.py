"""Ways an alert reaches a person, one module per channel (``email`` today).

A channel has a ``name`` and ``send(message)``, which delivers one message it understands
(an :class:`~email.message.EmailMessage` for e-mail) and returns the channel's receipt, if
it gives one. A failure is raised as :class:`DeliveryFailed`, marked ``unreachable`` when
the channel's server itself cannot be reached, so the delivery loop
(:mod:`hmis.notify.delivery`) stops trying it for the rest of the run. Nothing else is
asked of a channel: the ledger, the breaker and the counting are the loop's, the same for
every channel.
"""

from __future__ import annotations

from typing import Protocol, TypeVar

M = TypeVar("M", contravariant=True)


class DeliveryFailed(Exception):
    """The channel did not deliver one message; ``error`` is what the ledger records."""

    def __init__(self, error: str, unreachable: bool = False):
        super().__init__(error)
        self.error = error
        self.unreachable = unreachable


class Channel(Protocol[M]):
    """One way of delivering alerts."""

    name: str

    def send(self, message: M) -> str | None:
        """Deliver ``message``; returns the channel's receipt or None, raises :class:`DeliveryFailed`."""
        ...
