"""Retry work that failed for a passing reason: a dropped database connection, a store that
did not answer, a deadlock. Waits grow exponentially between attempts.

Only work that is safe to repeat is retried: every ingest stage works in transactions and
picks its input from the file ledger, so a failed attempt leaves nothing half done and the
next attempt simply continues. Anything that is not known to be transient (a bad file, a
bug, a held run lock) fails at once. Airflow's own task retries (``retry_exponential_backoff``
in :func:`hmis.pipeline.airflow.default_args`) cover longer outages on top of this.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from hmis.platform.settings import load_settings

log = logging.getLogger(__name__)

T = TypeVar("T")

BASE_DELAY_SECONDS = 0.5
MAX_DELAY_SECONDS = 8.0
# S3 answers these when it is briefly overloaded or unavailable.
_TRANSIENT_S3_CODES = {"SlowDown", "RequestTimeout", "RequestTimeTooSkewed", "ServiceUnavailable",
                       "InternalError", "Throttling", "ThrottlingException", "503", "500"}


def retries_from_env() -> int:
    """How many times a transient failure is retried (``HMIS_TRANSIENT_RETRIES``, default 2)."""
    return load_settings().transient_retries


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` is a failure that may well not happen again a moment later."""
    import psycopg2
    from psycopg2 import errors

    if isinstance(exc, (errors.SerializationFailure, errors.DeadlockDetected)):
        return True
    if isinstance(exc, psycopg2.OperationalError):
        # Lock and statement timeouts are decisions, not accidents.
        return not isinstance(exc, (errors.LockNotAvailable, errors.QueryCanceled))
    if isinstance(exc, psycopg2.InterfaceError):
        return "closed" in str(exc)
    try:
        from botocore.exceptions import ClientError, HTTPClientError
        from botocore.exceptions import ConnectionError as BotoConnectionError
    except ImportError:  # boto3 is only needed for an S3 landing store
        return False
    if isinstance(exc, (BotoConnectionError, HTTPClientError)):
        return True
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
        return error.get("Code") in _TRANSIENT_S3_CODES or status in ("500", "502", "503", "504")
    return False


def root_cause(exc: BaseException) -> BaseException:
    """The first failure of a chain: a dropped connection shows up again as "connection
    already closed" while the code cleaning up after it runs; the first one says what happened."""
    seen = [exc]
    while True:
        previous = seen[-1].__cause__ or seen[-1].__context__
        if previous is None or previous in seen:
            break
        seen.append(previous)
    transient = [e for e in seen if is_transient(e)]
    return transient[-1] if transient else exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


def backoff_delays(retries: int, base: float = BASE_DELAY_SECONDS, cap: float = MAX_DELAY_SECONDS) -> list[float]:
    """The waits before each retry: base, 2×base, 4×base, … never more than ``cap``."""
    return [min(cap, base * 2 ** n) for n in range(retries)]


def call_with_retries(work: Callable[[], T], what: str, retries: int | None = None,
                      sleep: Callable[[float], None] = time.sleep) -> T:
    """Run ``work``; on a transient failure wait and run it again, up to ``retries`` times.

    Every retry is logged with the failure that caused it; the last failure, or any
    failure that is not transient, is raised unchanged.
    """
    delays = backoff_delays(retries_from_env() if retries is None else retries)
    for attempt in range(len(delays) + 1):
        try:
            return work()
        except Exception as exc:
            if attempt == len(delays) or not is_transient(exc):
                raise
            cause = root_cause(exc)
            log.warning("%s: attempt %d failed with a transient error (%s: %s); retrying in %.1f s",
                        what, attempt + 1, type(cause).__name__, _first_line(cause), delays[attempt])
            sleep(delays[attempt])
    raise AssertionError("unreachable")  # the loop either returns or raises
