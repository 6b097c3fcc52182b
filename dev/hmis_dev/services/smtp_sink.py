"""A loopback SMTP server that keeps every message it receives as an ``.eml`` file.

It stands in for the district's mail server in the demo and the tests: the pipeline sends
real SMTP to it through the Airflow connection ``smtp_default``, and officers' e-mails can be
opened afterwards from ``var/mail/``.
"""

from __future__ import annotations

import email
import email.policy
import json
import socket
import time
from email.message import EmailMessage
from pathlib import Path


class MailSink:
    """aiosmtpd handler that writes each message to ``<folder>/<n>-<recipient>.eml``."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        # Counted once: listing the folder per message made a run of thousands quadratic.
        # Messages are handled one at a time on the controller's event loop.
        self._count = len(list(self.folder.glob("*.eml")))

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        stamp = time.strftime("%Y%m%dT%H%M%S")
        self._count += 1
        first = envelope.rcpt_tos[0].replace("@", "_at_") if envelope.rcpt_tos else "nobody"
        path = self.folder / f"{stamp}-{self._count:04d}-{first}.eml"
        path.write_bytes(envelope.original_content or envelope.content)
        return "250 Message accepted for delivery"


class SmtpSink:
    """Start and stop an aiosmtpd server on 127.0.0.1 in a background thread."""

    def __init__(self, folder: Path, port: int | None = None):
        from aiosmtpd.controller import Controller

        self.folder = folder
        self.port = port or _free_port()
        self._controller = Controller(MailSink(folder), hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpSink:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    def airflow_conn_json(self) -> str:
        """The Airflow connection (JSON form) for ``AIRFLOW_CONN_SMTP_DEFAULT``."""
        return json.dumps(
            {
                "conn_type": "smtp",
                "host": "127.0.0.1",
                "port": self.port,
                "extra": {"disable_tls": True, "disable_ssl": True, "timeout": 10, "retry_limit": 1},
            }
        )

    def messages(self) -> list[EmailMessage]:
        return read_messages(self.folder)


def read_message(path: Path) -> EmailMessage:
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)


def read_messages(folder: Path) -> list[EmailMessage]:
    """Every message stored in ``folder``, oldest first."""
    return [read_message(path) for path in sorted(folder.glob("*.eml"))]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
