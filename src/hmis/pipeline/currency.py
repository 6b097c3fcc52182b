"""Whether a run describes the present or the past, per period.

A run is *current* for a period unless a run with a later logical date has already worked on
it. Only a current run may replace what the state reads as current (statuses, marts,
exports) and alert officers: a later run may have loaded files that arrived after this run's
date, so this run's view of the period is the past. A run dated earlier (a backfill, a
re-run of an old date) computes its periods as of its own date into schema ``asof`` instead,
and sends nothing: officers act on today's state, not on a past one.
"""

from __future__ import annotations

from hmis.pipeline.run import Run
from hmis.platform.warehouse import statement

SQL = "marts/as_of.sql"


def split_periods(conn, run: Run) -> tuple[list[str], list[str]]:
    """(current, past): the run's periods it is current for, and those a later run has worked on."""
    with conn.cursor() as cur:
        cur.execute(statement(SQL, "current_periods"), {"periods": list(run.periods), "as_of": run.as_of})
        current = {row[0] for row in cur.fetchall()}
    conn.rollback()
    return [p for p in run.periods if p in current], [p for p in run.periods if p not in current]
