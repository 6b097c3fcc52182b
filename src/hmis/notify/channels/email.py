"""The e-mail channel: messages composed here, sent through the Airflow SMTP connection.

The connection (``smtp_default``) follows Airflow's SMTP provider: extras ``disable_ssl``
(plain SMTP instead of SMTPS), ``disable_tls`` (no STARTTLS) and ``timeout``. Credentials
come from the connection, never from code.
"""

from __future__ import annotations

import smtplib
import socket
from collections.abc import Sequence
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

from hmis.notify.channels import DeliveryFailed
from hmis.platform.connections import get_connection
from hmis.reference.periods import REPORTING_TZ

SMTP_CONN_ID = "smtp_default"
# The mail server itself is unreachable: trying the remaining alerts of the run would only
# wait for the same timeout again.
UNREACHABLE = (ConnectionError, TimeoutError, socket.gaierror, smtplib.SMTPConnectError,
               smtplib.SMTPServerDisconnected)


def _flag(extra: dict, name: str) -> bool:
    return str(extra.get(name, False)).lower() in ("true", "1", "yes")


def compose(*, subject: str, sender: str, to: str, as_of: datetime, message_id: str, text: str, html: str,
            attachments: Sequence[tuple[str, str, bytes]] = ()) -> EmailMessage:
    """A message with a plain-text and an HTML part and (filename, subtype, bytes) text
    attachments, dated at the run's moment in IST (never the clock)."""
    message = EmailMessage()
    # Python's header folder (3.11) may fold a subject just before its "—" and keep the space
    # on both sides of the fold, so the officer reads "Hisar district  — October 2026" (or a
    # subject starting with a space). A subject is far below the 998 characters a header
    # line may have (RFC 5322), so headers are written unfolded.
    message.policy = message.policy.clone(max_line_length=998)
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = to
    message["Date"] = format_datetime(as_of.astimezone(REPORTING_TZ))
    message["Message-ID"] = message_id
    message["Content-Language"] = "en, hi"
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    for filename, subtype, data in attachments:
        message.add_attachment(data, maintype="text", subtype=subtype, filename=filename,
                               params={"charset": "utf-8"})
    return message


class EmailChannel:
    """Delivers :class:`~email.message.EmailMessage` through one SMTP connection id."""

    name = "email"

    def __init__(self, conn_id: str = SMTP_CONN_ID):
        self.conn_id = conn_id

    def send(self, message: EmailMessage) -> str | None:
        """Deliver ``message``; raises :class:`DeliveryFailed` (``unreachable`` when the server is)."""
        try:
            self._send(message)
        except UNREACHABLE as exc:
            raise DeliveryFailed(f"{type(exc).__name__}: {exc}", unreachable=True) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(f"{type(exc).__name__}: {exc}") from exc
        return None  # SMTP gives no receipt beyond acceptance; the Message-ID is the reference

    def _send(self, message: EmailMessage) -> None:
        info = get_connection(self.conn_id)
        timeout = float(info.extra.get("timeout", 30))
        if _flag(info.extra, "disable_ssl"):
            client = smtplib.SMTP(info.host, info.port or 25, timeout=timeout)
        else:
            client = smtplib.SMTP_SSL(info.host, info.port or 465, timeout=timeout)
        with client:
            if _flag(info.extra, "disable_ssl") and not _flag(info.extra, "disable_tls"):
                client.starttls()
            if info.login:
                client.login(info.login, info.password or "")
            client.send_message(message)
