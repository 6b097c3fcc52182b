"""Send e-mail through the Airflow SMTP connection (``smtp_default``).

The connection's extras follow Airflow's SMTP provider: ``disable_ssl`` (plain SMTP instead
of SMTPS) and ``disable_tls`` (no STARTTLS), ``timeout``. Credentials come from the
connection, never from code.
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from hmis.platform.connections import get_connection

SMTP_CONN_ID = "smtp_default"


def _flag(extra: dict, name: str) -> bool:
    return str(extra.get(name, False)).lower() in ("true", "1", "yes")


def send(message: EmailMessage, conn_id: str = SMTP_CONN_ID) -> None:
    """Deliver ``message``; raises ``smtplib.SMTPException`` or ``OSError`` on failure."""
    info = get_connection(conn_id)
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
