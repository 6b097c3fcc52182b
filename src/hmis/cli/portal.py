"""``hmis portal-import FILE [--pulled-at TIMESTAMP]``: hand a downloaded portal report to the pipeline.

The file is checked to be a portal report the pipeline reads — the facility-wise report, or the
district-level "Data ItemWise Report" (monthly or cumulative) — so a wrong download is refused
now, in one line with both readers' reasons, not tomorrow in a log. It is kept as it is in the
landing store under ``portal/<day>/<moment>__<name>``; the daily DAG splits a facility-wise
report into one submission per facility-month, and keeps an item-wise report's district figures
for the reconciliation of our totals with the portal's (:mod:`hmis.ingest.portal`). The pull's
moment is when the facility-months in it count as arrived (and which item-wise pull is the
latest): ``--pulled-at`` if given, else the report's own "Data as on" / "Status As On" time,
else now.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from hmis.cli.errors import UsageError
from hmis.ingest.parse import SubmissionError
from hmis.ingest.portal import read_pull
from hmis.ingest.portal_itemwise import ItemwiseReport
from hmis.platform.landing import open_store
from hmis.platform.settings import load_settings
from hmis.platform.store_layout import portal_key
from hmis.reference.periods import REPORTING_TZ


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--pulled-at {text!r} is not a time such as 2026-11-06T09:30 (IST unless an offset "
                         "is given)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=REPORTING_TZ)


def cmd_portal_import(args) -> int:
    path = Path(args.file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    settings = load_settings()
    try:
        report = read_pull(data, path.name, settings.max_portal_report_bytes)
    except SubmissionError as exc:
        raise UsageError(f"{path.name} is not a portal report the pipeline can read: {exc}") from None
    itemwise = isinstance(report, ItemwiseReport)
    pulled_at = (_moment(args.pulled_at) if args.pulled_at
                 else (report.status_as_on if itemwise else report.data_as_on)
                 or datetime.now(REPORTING_TZ).replace(second=0, microsecond=0))
    key = portal_key(pulled_at, path.name)
    open_store(settings.landing_url).write(key, data)
    arrived = f"{pulled_at.astimezone(REPORTING_TZ):%Y-%m-%d %H:%M} IST"
    if itemwise:
        areas = ", ".join(name for name, _lgd in report.areas[:4]) + (", …" if len(report.areas) > 4 else "")
        items = len({(v.item_code, v.sub_item) for v in report.values})
        what = "financial year to date" if report.cumulative else "the month"
        print(f"kept {path.name} as {key}: Data ItemWise Report of {report.period} ({what}), areas {areas}; "
              f"{items} item row(s), {len(report.problems)} problem(s); pulled {arrived}. The next run compares "
              "the district's figures with ours (marts.portal_reconciliation).")
        return 0
    reported = sum(row.reported for row in report.rows)
    print(f"kept {path.name} as {key}: {report.facility_type or 'facilities'} of {', '.join(report.periods)}, "
          f"{len(report.rows)} facility-month row(s), {reported} with data; arrived "
          f"{arrived}. The next run splits it into submissions.")
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "portal-import", help="put a downloaded HMIS portal report into the landing store for the next run")
    parser.add_argument("file", help="the portal's facility-wise report or the district's Data ItemWise Report "
                                     "(.xls as downloaded, .xlsx or .csv)")
    parser.add_argument("--pulled-at", help="when it was downloaded, e.g. 2026-11-06T09:30 (default: its "
                                            "'Data as on' or 'Status As On' time, else now)")
    parser.set_defaults(func=cmd_portal_import)
