"""The ``hmis`` command: warehouse queries, the compliance report and disease signals.

Errors a user can fix are printed as one line on stderr with exit code 2; a pipeline run
that fails exits 1. Nothing here is needed by Airflow itself. On a development machine the
``hmis-pipeline-dev`` tools add their commands (``demo``, ``generate``, ``run``,
``services``) through the ``hmis.commands`` entry points.
"""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import entry_points

import psycopg2

from hmis.cli import portal, report, signals
from hmis.cli.errors import UsageError
from hmis.platform.embedded import start_embedded_services
from hmis.platform.settings import load_settings
from hmis.platform.warehouse import connect, query_csv

COMMANDS_GROUP = "hmis.commands"


def cmd_sql(args) -> int:
    settings = load_settings()
    start_embedded_services(settings)
    conn = connect()
    try:
        query_csv(conn, args.statement, sys.stdout)
    except psycopg2.Error as exc:
        raise UsageError(f"the warehouse refused the query: {str(exc).strip().splitlines()[0]}") from None
    finally:
        conn.close()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hmis", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for point in sorted(entry_points(group=COMMANDS_GROUP), key=lambda p: p.name):
        point.load()(sub)

    query = sub.add_parser("sql", help="run a read-only SQL query on the warehouse, print CSV")
    query.add_argument("statement", help='e.g. "SELECT * FROM marts.reporting_rates"')
    query.set_defaults(func=cmd_sql)

    signals.register(sub)
    report.register(sub)
    portal.register(sub)
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
