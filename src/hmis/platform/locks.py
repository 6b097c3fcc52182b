"""One run at a time on the file ledger: a PostgreSQL advisory lock around each ingest stage.

The ingest stages (discover, parse, validate, load) of every run take the same session-level
advisory lock for as long as the stage works, so two runs started together (a scheduled run
and a backfill, two workers picking up the same task) never work the ledger at once and
nothing is parsed, validated or loaded twice. The stages are short and pick their input by
ledger status, so the second run, once it has the lock, simply finds the work done.

The holder names itself in ``pg_stat_activity.application_name``
(``hmis-pipeline <stage> <run id>``), so a waiting run — and anyone looking at the database —
can say who holds the lock. A run waits at most ``HMIS_RUN_LOCK_WAIT_SECONDS`` (default 300)
and then stops with :class:`RunLockBusy`, naming the holder; Airflow retries the task later.
The lock belongs to the database session: a worker that dies, or a connection that is
terminated, releases it with its transaction rolled back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

import psycopg2
from psycopg2 import errors

from hmis.platform import warehouse
from hmis.platform.retry import call_with_retries
from hmis.platform.settings import load_settings
from hmis.platform.warehouse import statement

log = logging.getLogger(__name__)
SQL = "platform/locks.sql"  # this module's statements, by name

T = TypeVar("T")

# Two int4 keys: the project's namespace ("HMIS") and the ingest ledger.
LOCK_NAMESPACE = 0x484D4953
INGEST_LEDGER = 0x10
# One bigint key (namespace in the high half): the alert ledger ``alerts.sent``, held for the
# whole notify step of officer alerts and signal alarms alike. A single bigint key and a pair
# of int4 keys are different locks to PostgreSQL, so it never collides with the ones above.
ALERT_LOCK_KEY = 0x484D4953_0003
APPLICATION_PREFIX = "hmis-pipeline"
# A backend whose worker died mid-statement notices within this interval and rolls back.
CLIENT_CHECK_INTERVAL = "2s"


class RunLockBusy(RuntimeError):
    """Another run held the ingest ledger for longer than this run would wait."""


@dataclass(frozen=True)
class LockHolder:
    pid: int
    application_name: str
    backend_start: object
    state: str | None

    def describe(self) -> str:
        name = self.application_name or "a session without an application name"
        return f"{name} (database backend pid {self.pid}, connected since {self.backend_start}, {self.state or 'state unknown'})"


def wait_seconds_from_env() -> float:
    """How long a stage waits for the lock (``HMIS_RUN_LOCK_WAIT_SECONDS``, default 300)."""
    return load_settings().run_lock_wait_seconds


def application_name(stage: str, run_id: str) -> str:
    """The name a lock holder shows in ``pg_stat_activity`` (PostgreSQL keeps 63 bytes)."""
    return f"{APPLICATION_PREFIX} {stage} {run_id}"[:63]


def lock_holder(conn, key: int = INGEST_LEDGER) -> LockHolder | None:
    """The session holding the ledger lock, or None when it is free."""
    with conn.cursor() as cur:
        cur.execute(
            statement(SQL, "lock_holder"),
            (LOCK_NAMESPACE, key),
        )
        row = cur.fetchone()
    conn.rollback()
    return LockHolder(*row) if row else None


@contextmanager
def ledger_lock(conn, stage: str, run_id: str, wait_seconds: float | None = None,
                key: int = INGEST_LEDGER) -> Iterator[float]:
    """Hold the ingest ledger's lock on ``conn`` while the block runs; yields the seconds waited.

    Raises :class:`RunLockBusy`, naming the holder, if the lock is not free within
    ``wait_seconds``; nothing has been changed then.
    """
    wait = wait_seconds_from_env() if wait_seconds is None else wait_seconds
    with conn, conn.cursor() as cur:
        cur.execute("SELECT set_config('application_name', %s, false)", (application_name(stage, run_id),))
        cur.execute("SELECT set_config('client_connection_check_interval', %s, false)", (CLIENT_CHECK_INTERVAL,))
        cur.execute("SELECT pg_try_advisory_lock(%s, %s)", (LOCK_NAMESPACE, key))
        got = cur.fetchone()[0]
    waited = 0.0
    if not got:
        holder = lock_holder(conn, key)
        log.warning("%s of %s is waiting (at most %.0f s) for the ingest ledger, which is held by %s",
                    stage, run_id, wait, holder.describe() if holder else "another run")
        started = time.monotonic()
        try:
            with conn, conn.cursor() as cur:
                cur.execute("SELECT set_config('lock_timeout', %s, true)", (f"{max(1, int(wait * 1000))}ms",))
                cur.execute("SELECT pg_advisory_lock(%s, %s)", (LOCK_NAMESPACE, key))
        except errors.LockNotAvailable:
            holder = lock_holder(conn, key) or holder
            raise RunLockBusy(
                f"{stage} of {run_id} stopped after waiting {wait:.0f} s for the ingest ledger, which is held by "
                f"{holder.describe() if holder else 'another run'}; two runs must not load the same files, so "
                "this one changed nothing and can simply be retried once the other has finished"
            ) from None
        waited = time.monotonic() - started
        log.warning("%s of %s waited %.1f s for the ingest ledger held by %s; it now goes ahead and finds "
                    "whatever that run already did recorded in the ledger",
                    stage, run_id, waited, holder.describe() if holder else "another run")
    try:
        yield waited
    finally:
        if not conn.closed:
            try:
                conn.rollback()
                with conn.cursor() as cur:
                    cur.execute("SELECT pg_advisory_unlock(%s, %s)", (LOCK_NAMESPACE, key))
                conn.commit()
            except psycopg2.Error as exc:  # a dead session has released the lock already
                log.info("could not release the ledger lock explicitly (%s); the session's end releases it", exc)


def locked_stage(stage: str, run_id: str, work: Callable, connect: Callable | None = None,
                 wait_seconds: float | None = None):
    """Run ``work(conn)`` for one ingest stage holding the ledger lock, on a fresh connection.

    A transient failure (a dropped connection, a deadlock, an unreachable store) is retried
    with exponential backoff on a new connection under the lock again; a held lock is not
    retried here (:class:`RunLockBusy`), Airflow's task retries cover that.
    """
    connect = connect or warehouse.connect

    def attempt():
        conn = connect()
        try:
            with ledger_lock(conn, stage, run_id, wait_seconds):
                return work(conn)
        finally:
            conn.close()

    return call_with_retries(attempt, f"{stage} of {run_id}")
