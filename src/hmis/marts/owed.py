"""What the marts owe the state's store, until an export settles it (``marts.export_owed``).

The marts build records each period it rebuilt as owed (kind ``period``), in the rebuild's own
transaction, and an approval its district-month's approved export (kind ``approved``); the
export settles a period once its manifest is written. A run that dies in between (after
the marts committed, during the export) leaves the debt open, and the next run's export pays
it — even when that run's marts had nothing new to build.
"""

from __future__ import annotations

from hmis.platform.warehouse import statement

SQL = "marts/as_of.sql"


def owed_periods(conn, kind: str = "period") -> tuple[int, list[str]]:
    """(the newest debt's id, the periods owed) of one kind of debt."""
    with conn.cursor() as cur:
        cur.execute(statement(SQL, "owed_up_to"), {"kind": kind})
        up_to = cur.fetchone()[0]
        cur.execute(statement(SQL, "owed_periods"), {"kind": kind})
        periods = [row[0] for row in cur.fetchall()]
    conn.rollback()
    return up_to, periods


def settle_period(conn, period: str, up_to: int, run_id: str, kind: str = "period") -> int:
    """Mark the period's debts of ``kind`` up to ``up_to`` paid; returns how many were."""
    with conn, conn.cursor() as cur:
        cur.execute(statement(SQL, "settle_periods"),
                    {"kind": kind, "period": period, "up_to": up_to, "run_id": run_id})
        return cur.rowcount
