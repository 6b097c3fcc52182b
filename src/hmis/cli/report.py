"""``hmis report``: write the district compliance page for a month.

Mistakes a user can fix (a malformed period, an unknown district, a warehouse the pipeline
has not filled yet, an output file that cannot be written) print one line on stderr and
exit with 2; a warehouse that cannot be reached exits with 1.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

from hmis.platform.embedded import start_embedded_services
from hmis.platform.settings import load_settings
from hmis.platform.warehouse import connect, statement
from hmis.reference.periods import REPORTING_TZ, PeriodError, parse_period
from hmis.report.page import render_report, write_report
from hmis.report.queries import ReportInputError, districts, latest_period

SQL = "cli/report.sql"  # this module's statements, by name

EXIT_USAGE = 2
EXIT_FAILURE = 1


class ReportUsageError(Exception):
    """A mistake in how ``hmis report`` was called, or a warehouse with nothing to report yet."""


def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``report`` subcommand to the ``hmis`` command's subparsers."""
    parser = subparsers.add_parser(
        "report",
        help="write the district compliance report (self-contained HTML) for a month",
        description="Write the compliance report of a district and month as one self-contained HTML page: "
                    "rates by block with their trend, facilities x months, the registration gap, ultrasound "
                    "RCH-ID compliance and disease-rise signals.",
    )
    parser.add_argument("--district", help="district as in the facility registry (default: the only one there)")
    parser.add_argument("--period", help="month as YYYY-MM, e.g. 2026-10 (default: the latest with compliance data)")
    parser.add_argument("--out", metavar="FILE",
                        help="write the page here (default: <var>/reports/<period>/compliance-<district>.html)")
    parser.add_argument("--as-of", dest="as_of", metavar="MOMENT",
                        help="moment the figures describe, printed on the page (default: when the pipeline last "
                             "computed that month's compliance)")
    parser.set_defaults(func=cmd_report)
    return parser


def cmd_report(args) -> int:
    """Run ``hmis report``; returns the exit code."""
    import psycopg2

    try:
        path = _report(args)
    except ReportUsageError as exc:
        print(f"hmis report: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except psycopg2.OperationalError as exc:
        print(f"hmis report: cannot reach the warehouse: {_first_line(exc)}", file=sys.stderr)
        return EXIT_FAILURE
    print(f"wrote {path}")
    return 0


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _report(args) -> str:
    import psycopg2
    import psycopg2.errors


    if args.period:
        try:
            parse_period(args.period)
        except PeriodError as exc:
            raise ReportUsageError(str(exc)) from None
    as_of = _parse_as_of(args.as_of) if args.as_of else None
    settings = load_settings()
    start_embedded_services(settings)
    conn = connect()
    try:
        district = _district(conn, args.district)
        period = args.period or _latest_period(conn, district)
        computed_at = _computed_at(conn, district, period)
        as_of = as_of or computed_at
        try:
            if args.out:
                out = Path(args.out)
                page = render_report(conn, district, period, as_of)
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_text(page, encoding="utf-8")
                return str(out)
            return write_report(conn, settings.reports_dir, district, period, as_of)
        except ReportInputError as exc:
            raise ReportUsageError(str(exc)) from None
        except OSError as exc:
            raise ReportUsageError(f"cannot write the report: {exc.strerror or exc}: {exc.filename or ''}") from None
    except psycopg2.errors.UndefinedTable:
        raise ReportUsageError("the warehouse has no HMIS tables yet; run `hmis demo` or `hmis run` first") from None
    finally:
        conn.close()


def _parse_as_of(text: str) -> datetime:

    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ReportUsageError(f"cannot read {text!r} as a moment; use YYYY-MM-DD or YYYY-MM-DDTHH:MM") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=REPORTING_TZ)


def _district(conn, asked: str | None) -> str:

    known = districts(conn)
    if not known:
        raise ReportUsageError("the facility registry is empty; run `hmis demo` or `hmis run` first")
    if asked is None:
        if len(known) > 1:
            raise ReportUsageError(f"the registry has {len(known)} districts; choose one with --district: "
                                   f"{', '.join(known)}")
        return known[0]
    match = [d for d in known if d.lower() == asked.lower()]
    if not match:
        raise ReportUsageError(f"district {asked!r} is not in the registry; known: {', '.join(known)}")
    return match[0]


def _latest_period(conn, district: str) -> str:

    period = latest_period(conn, district)
    if period is None:
        raise ReportUsageError(f"no compliance statuses for {district} yet; run the pipeline first (`hmis run`)")
    return period


def _computed_at(conn, district: str, period: str) -> datetime:
    """When the pipeline last computed the month's statuses (the run's logical date)."""
    with conn.cursor() as cur:
        cur.execute(
            statement(SQL, "computed_at"),
            (district, period),
        )
        moment = cur.fetchone()[0]
    conn.rollback()
    if moment is None:

        latest = latest_period(conn, district)
        hint = f"; the latest is {latest}" if latest else ""
        raise ReportUsageError(f"no compliance statuses for {district} in {period}{hint}")
    return moment
