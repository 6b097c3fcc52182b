"""The ``hmis`` command: demo, data generation, pipeline runs and warehouse queries.

Errors a user can fix are printed as one line on stderr with exit code 2; a pipeline run
that fails exits 1. Nothing here is needed by Airflow itself.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

from hmis.config import load_settings
from hmis.periods import REPORTING_TZ


class UsageError(Exception):
    """A mistake in how the command was called; shown without a traceback."""


def _parse_moment(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"cannot read {text!r} as a date; use YYYY-MM-DD or YYYY-MM-DDTHH:MM") from None
    if moment.tzinfo is None:
        if len(text) == 10:  # a bare date means that day's scheduled run
            moment = moment.replace(hour=6)
        moment = moment.replace(tzinfo=REPORTING_TZ)
    return moment


def cmd_generate(args) -> int:
    from hmis.demo.generator import generate

    settings = load_settings()
    landing = Path(args.landing) if args.landing else settings.var_dir / "landing"
    from hmis.runtime import latest_scheduled_run

    as_of = _parse_moment(args.as_of) or latest_scheduled_run(datetime.now(REPORTING_TZ))
    truth = generate(landing, as_of, months=args.months, seed=args.seed)
    truth_path = settings.var_dir / "demo" / "truth.json"
    truth.save(truth_path)
    print(f"wrote demo data for {', '.join(truth.periods)} (as of {as_of.isoformat()}) to {landing}")
    print(f"what the generator intended: {truth_path}")
    return 0


def cmd_sql(args) -> int:
    import psycopg2

    from hmis.runtime import start_embedded_warehouse
    from hmis.warehouse import connect, query_csv

    settings = load_settings()
    start_embedded_warehouse(settings)
    conn = connect()
    try:
        query_csv(conn, args.statement, sys.stdout)
    except psycopg2.Error as exc:
        raise UsageError(f"the warehouse refused the query: {str(exc).strip().splitlines()[0]}") from None
    finally:
        conn.close()
    return 0


def cmd_run(args) -> int:
    from hmis.runtime import latest_scheduled_run, run_dag, start_embedded_warehouse

    settings = load_settings()
    start_embedded_warehouse(settings)
    logical_date = _parse_moment(args.date) or latest_scheduled_run(datetime.now(REPORTING_TZ))
    dag_run = run_dag(settings, logical_date)
    state = str(getattr(dag_run, "state", "unknown"))
    print(f"hmis_monthly run for {logical_date.isoformat()}: {state}")
    return 0 if state.endswith("success") else 1


def cmd_demo(args) -> int:
    from hmis.demo.runner import run_demo

    return run_demo(load_settings(), _parse_moment(args.as_of), args.months, args.seed)


def cmd_services(args) -> int:
    from hmis.services import postgres

    settings = load_settings()
    data_dir = settings.var_dir / "pg"
    if args.action == "start":
        server = postgres.start(data_dir)
        print(f"warehouse running: {server.dsn}")
    elif args.action == "stop":
        print("warehouse stopped" if postgres.stop(data_dir) else "warehouse was not running")
    else:
        running = postgres.is_running(data_dir)
        print(f"warehouse: {'running' if running else 'stopped'} ({data_dir})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hmis", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="generate Hisar demo data and run the pipeline end to end")
    demo.add_argument("--as-of", help="logical date of the run (default: the latest 06:00 IST)")
    demo.add_argument("--months", type=int, default=3, help="complete months of data (default 3)")
    demo.add_argument("--seed", type=int, default=2026, help="random seed of the demo data")
    demo.set_defaults(func=cmd_demo)

    gen = sub.add_parser("generate", help="write the deterministic Hisar demo data set")
    gen.add_argument("--landing", help="landing folder (default var/landing)")
    gen.add_argument("--as-of", help="moment the data is generated for (default: latest 06:00 IST)")
    gen.add_argument("--months", type=int, default=3)
    gen.add_argument("--seed", type=int, default=2026)
    gen.set_defaults(func=cmd_generate)

    run = sub.add_parser("run", help="run the pipeline DAG once (also for a past date: backfill)")
    run.add_argument("--date", help="logical date, e.g. 2026-11-06 (default: the latest 06:00 IST)")
    run.set_defaults(func=cmd_run)

    query = sub.add_parser("sql", help="run a read-only SQL query on the warehouse, print CSV")
    query.add_argument("statement", help='e.g. "SELECT * FROM marts.reporting_rates"')
    query.set_defaults(func=cmd_sql)

    services = sub.add_parser("services", help="start, stop or show the embedded warehouse")
    services.add_argument("action", choices=["start", "stop", "status"])
    services.set_defaults(func=cmd_services)

    from hmis.report.cli import register as register_report
    from hmis.signals.cli import register as register_signals

    register_signals(sub)
    register_report(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except UsageError as exc:
        print(f"hmis: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
