"""Resolve Airflow connections without requiring Airflow's metadata database.

An ``AIRFLOW_CONN_<ID>`` environment variable (JSON or URI form) is read directly, which is
what the embedded set-up and the tests provide. Anything else is asked of Airflow itself, so
production can keep secrets in a secrets backend or the metadata database.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit


@dataclass(frozen=True)
class ConnectionInfo:
    conn_id: str
    conn_type: str = ""
    host: str | None = None
    port: int | None = None
    login: str | None = None
    password: str | None = field(default=None, repr=False)
    schema: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _from_env(conn_id: str, raw: str) -> ConnectionInfo:
    raw = raw.strip()
    if raw.startswith("{"):
        data = json.loads(raw)
        extra = data.get("extra") or {}
        if isinstance(extra, str):
            extra = json.loads(extra) if extra else {}
        return ConnectionInfo(
            conn_id=conn_id,
            conn_type=data.get("conn_type", ""),
            host=data.get("host"),
            port=int(data["port"]) if data.get("port") else None,
            login=data.get("login"),
            password=data.get("password"),
            schema=data.get("schema"),
            extra=extra,
        )
    parts = urlsplit(raw)
    return ConnectionInfo(
        conn_id=conn_id,
        conn_type=parts.scheme.replace("-", "_"),
        host=unquote(parts.hostname) if parts.hostname else None,
        port=parts.port,
        login=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        schema=unquote(parts.path.lstrip("/")) or None,
        extra=dict(parse_qsl(parts.query)),
    )


def get_connection(conn_id: str) -> ConnectionInfo:
    """Return the named connection, from the environment first, then from Airflow."""
    raw = os.environ.get(f"AIRFLOW_CONN_{conn_id.upper()}")
    if raw:
        return _from_env(conn_id, raw)
    from airflow.sdk import BaseHook  # slow import, only needed in production set-ups

    conn = BaseHook.get_connection(conn_id)
    return ConnectionInfo(
        conn_id=conn_id,
        conn_type=conn.conn_type or "",
        host=conn.host,
        port=conn.port,
        login=conn.login,
        password=conn.password,
        schema=conn.schema,
        extra=conn.extra_dejson,
    )
