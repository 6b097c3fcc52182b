"""District and state aggregates and reporting rates, rebuilt per period in one transaction."""

from __future__ import annotations

from datetime import datetime

from psycopg2 import sql

from hmis.warehouse import sql_file


def rebuild(conn, periods: list[str], built_at: datetime) -> dict[str, int]:
    """Rebuild the marts for ``periods`` atomically; return the row count of each mart."""
    with conn, conn.cursor() as cur:
        cur.execute(sql_file("marts/rebuild.sql"), {"periods": periods, "built_at": built_at})
        counts = {}
        for table in ("district_monthly", "state_monthly", "reporting_rates"):
            cur.execute(
                sql.SQL("SELECT count(*) FROM {} WHERE period = ANY(%s)").format(
                    sql.Identifier("marts", table)
                ),
                (periods,),
            )
            counts[table] = cur.fetchone()[0]
    return counts
