"""Each registered facility's reporting status for a period, as of a moment.

Statuses (DHIS2 semantics for who is expected to report):

- ``on_time``  — its first acceptable file arrived by the due date (end of the 5th of the
  following month, Asia/Kolkata). A later correction does not make it late.
- ``late``     — its first acceptable file arrived after the due date.
- ``rejected`` — it sent files, but none passed the blocking checks.
- ``pending``  — nothing yet, and the due date has not passed.
- ``missing``  — nothing, and the due date has passed.

Only files that had arrived by ``as_of`` count, so a run for a past date reproduces what
was known then. Facilities not registered on HMIS by the period's end, not yet opened or
already closed before it starts are not expected and get no row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from psycopg2 import sql

from hmis.platform.warehouse import copy_rows, statement
from hmis.quality.runner import expected_reporter
from hmis.reference.periods import due_at

SQL = "compliance/status.sql"  # this module's statements, by name

ACCEPTABLE = ("accepted", "loaded", "superseded")


@dataclass(frozen=True)
class Submission:
    file_id: int
    submitted_at: datetime
    status: str  # ledger status


@dataclass(frozen=True)
class FacilityStatus:
    facility_id: str
    period: str
    status: str
    submitted_at: datetime | None
    due_at: datetime
    file_id: int | None


def status_for(facility_id: str, period: str, submissions: list[Submission], as_of: datetime,
               due_day: int = 5) -> FacilityStatus:
    """The status of one expected facility-period from the files it sent."""
    due = due_at(period, due_day)
    arrived = [s for s in submissions if s.submitted_at <= as_of]
    good = sorted((s for s in arrived if s.status in ACCEPTABLE), key=lambda s: (s.submitted_at, s.file_id))
    if good:
        first = good[0]
        status = "on_time" if first.submitted_at <= due else "late"
        return FacilityStatus(facility_id, period, status, first.submitted_at, due, first.file_id)
    bad = sorted((s for s in arrived if s.status == "rejected"), key=lambda s: (s.submitted_at, s.file_id))
    if bad:
        return FacilityStatus(facility_id, period, "rejected", bad[-1].submitted_at, due, bad[-1].file_id)
    status = "pending" if as_of <= due else "missing"
    return FacilityStatus(facility_id, period, status, None, due, None)


def compute_statuses(registry: pd.DataFrame, files: pd.DataFrame, periods: list[str],
                     as_of: datetime, due_day: int = 5) -> list[FacilityStatus]:
    """Statuses for every expected facility and period.

    ``files`` has columns facility_id, period, file_id, submitted_at, status (the ledger).
    """
    by_key: dict[tuple[str, str], list[Submission]] = {}
    for rec in files.itertuples(index=False):
        by_key.setdefault((rec.facility_id, rec.period), []).append(
            Submission(int(rec.file_id), rec.submitted_at.to_pydatetime()
                       if hasattr(rec.submitted_at, "to_pydatetime") else rec.submitted_at, rec.status)
        )
    facilities = registry.to_dict("records")
    result = []
    for period in periods:
        for facility in facilities:
            if expected_reporter(facility, period):
                fid = facility["facility_id"]
                result.append(status_for(fid, period, by_key.get((fid, period), []), as_of, due_day))
    return result


CURRENT_TABLE = "compliance.facility_status"
# Where a backfill (a run dated before a later run of the period) writes its statuses: they
# describe its past date, not today, and must not replace the current ones.
AS_OF_TABLE = "asof.facility_status"


def refresh_status(conn, registry: pd.DataFrame, periods: list[str], as_of: datetime,
                   due_day: int = 5, table: str = CURRENT_TABLE) -> dict[str, int]:
    """Recompute the statuses of ``periods`` as of ``as_of`` into ``table`` (the current
    statuses, or a backfill's, :data:`AS_OF_TABLE`) in one transaction."""
    with conn.cursor() as cur:
        cur.execute(
            statement(SQL, "submissions"),
            (periods,),
        )
        files = pd.DataFrame(cur.fetchall(), columns=["facility_id", "period", "file_id", "submitted_at", "status"])
    statuses = compute_statuses(registry, files, periods, as_of, due_day)
    with conn, conn.cursor() as cur:
        cur.execute(sql.SQL("DELETE FROM {} WHERE period = ANY(%s)").format(
            sql.Identifier(*table.split("."))), (periods,))
        copy_rows(
            cur, table,
            ["facility_id", "period", "status", "submitted_at", "due_at", "file_id", "as_of"],
            ((s.facility_id, s.period, s.status, s.submitted_at.isoformat() if s.submitted_at else None,
              s.due_at.isoformat(), s.file_id, as_of.isoformat()) for s in statuses),
        )
    counts: dict[str, int] = {}
    for s in statuses:
        counts[s.status] = counts.get(s.status, 0) + 1
    return counts
