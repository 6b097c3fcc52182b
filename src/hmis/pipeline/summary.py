"""A one-screen account of a run: what arrived, what was accepted, who is missing."""

from __future__ import annotations

from hmis.platform.warehouse import statement
from hmis.reference.periods import due_at, month_name

SQL = "pipeline/summary.sql"  # this module's statements, by name

STATUSES = ("on_time", "late", "missing", "rejected", "pending")


def collect(conn, periods: list[str], run_id: str, past: list[str] = ()) -> dict:
    """Figures per period from the warehouse (never from the run's own memory). ``past``: the
    periods the run is a backfill for (described as of its date, see hmis.pipeline.currency)."""
    current = [p for p in periods if p not in past]
    with conn.cursor() as cur:
        cur.execute(statement(SQL, "status_counts"), {"current": current, "past": list(past)})
        status_counts = cur.fetchall()
        cur.execute(
            statement(SQL, "file_counts"),
            (periods,),
        )
        file_counts = cur.fetchall()
        cur.execute(
            "SELECT period, count(*) FROM facts.monthly_value WHERE period = ANY(%s) GROUP BY 1",
            (periods,),
        )
        values = dict(cur.fetchall())
        cur.execute(
            statement(SQL, "alert_counts"),
            (periods,),
        )
        alerts = {p: {"sent": s, "failed": f} for p, s, f in cur.fetchall()}
        cur.execute("SELECT count(*) FROM dq.result WHERE period = ANY(%s)", (periods,))
        findings = cur.fetchone()[0]
        # district-periods whose marts were (re)built by this run: built_at is the run's date
        cur.execute(statement(SQL, "rebuilt_district_periods"), {"run_id": run_id, "current": current})
        marts_rebuilt = cur.fetchone()[0]
    conn.rollback()
    result = {"run_id": run_id, "periods": {}, "dq_findings": findings, "marts_rebuilt": marts_rebuilt,
              "backfill_periods": list(past)}
    for period in periods:
        statuses = {s: 0 for s in STATUSES}
        statuses.update({s: n for p, s, n in status_counts if p == period})
        files = {s: n for p, s, n in file_counts if p == period}
        result["periods"][period] = {
            "due": due_at(period).date().isoformat(),
            "expected": sum(statuses.values()),
            **statuses,
            "files": files,
            "values_loaded": values.get(period, 0),
            "alerts": alerts.get(period, {"sent": 0, "failed": 0}),
        }
    return result


def render(summary: dict) -> str:
    """Plain-text table, one line per period."""
    header = (f"{'period':<16}{'expected':>9}{'on time':>9}{'late':>6}{'missing':>9}"
              f"{'rejected':>10}{'pending':>9}{'files':>7}{'values':>9}{'alerts':>8}")
    lines = [header, "-" * len(header)]
    for period, row in summary["periods"].items():
        lines.append(
            f"{month_name(period):<16}{row['expected']:>9}{row['on_time']:>9}{row['late']:>6}"
            f"{row['missing']:>9}{row['rejected']:>10}{row['pending']:>9}"
            f"{sum(row['files'].values()):>7}{row['values_loaded']:>9}{row['alerts']['sent']:>8}"
        )
    lines.append(f"data-quality findings recorded: {summary['dq_findings']} "
                 "(dq.result; feedback documents under feedback/ in the landing store; GX Data Docs in "
                 "<var>/data_docs/index.html)")
    lines.append(f"district-periods of the marts rebuilt by this run: {summary.get('marts_rebuilt', 0)}")
    if summary.get("backfill_periods"):
        lines.append(f"a later run has worked on {', '.join(summary['backfill_periods'])}: their statuses and "
                     "marts as of this run's date are in schema asof; the current ones, the exports and the "
                     "alerts are as the later run left them")
    return "\n".join(lines)
