"""Feedback documents for facilities whose file was rejected or flagged.

For each such file the pipeline writes, next to the submissions in the landing store, an
HTML page and a CSV under ``feedback/<period>/<facility_id>-<file_id>.*``: every problem in
plain English and Hindi, and what to do. Their words are the templates' under
``hmis/templates/feedback/``. ``dq.feedback`` tracks each document; when the facility's
corrected file is loaded, the earlier feedback is marked resolved.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime

from hmis.platform.landing import LandingStore
from hmis.platform.warehouse import statement
from hmis.quality.findings import Finding
from hmis.templates import render

SQL = "quality/feedback.sql"  # this module's statements, by name


def _csv_cell(value) -> str:
    """Neutralise spreadsheet formulas: operators open these files in Excel."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def csv_header() -> list[str]:
    """The CSV's column names, from ``feedback/columns.txt``."""
    return [line.strip() for line in render("feedback/columns.txt").splitlines() if line.strip()]


def render_csv(facility_id: str | None, period: str | None, key: str, findings: list[Finding]) -> bytes:
    """One row per finding under the header of ``feedback/columns.txt``, UTF-8 with a BOM."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(csv_header())
    for f in findings:
        writer.writerow([_csv_cell(v) for v in (facility_id, period, key, f.severity, f.expectation_id,
                                                 f.item_code, f.message, f.message_hi)])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")  # BOM: Excel then reads Hindi correctly


def render_html(facility: dict, period: str | None, key: str, findings: list[Finding], kind: str,
                as_of: datetime) -> bytes:
    """The page ``feedback/feedback.html`` for a ``rejected`` or ``flagged`` file, UTF-8."""
    page = render("feedback/feedback.html", facility_id=facility.get("facility_id"),
                  facility_name=facility.get("name"), period=period, key=key, findings=findings, kind=kind,
                  as_of=as_of)
    return page.encode("utf-8")


def write_feedback(cur, store: LandingStore, file_id: int, key: str, facility: dict, period: str | None,
                   findings: list[Finding], kind: str, as_of: datetime) -> None:
    """Write both documents and record them in ``dq.feedback`` (idempotent per file)."""
    facility_id = facility.get("facility_id")
    stem = f"feedback/{period or 'unsorted'}/{facility_id or 'unknown'}-{file_id}"
    store.write(stem + ".html", render_html(facility, period, key, findings, kind, as_of))
    store.write(stem + ".csv", render_csv(facility_id, period, key, findings))
    cur.execute(
        statement(SQL, "insert_feedback"),
        (file_id, facility_id, period, kind, len(findings), stem + ".html", stem + ".csv", as_of),
    )


def resolve_superseded(cur, winners: dict[tuple[str, str], int], as_of: datetime) -> int:
    """Mark open feedback resolved when a newer file for the same facility-period loaded."""
    resolved = 0
    for (facility_id, period), file_id in winners.items():
        cur.execute(
            statement(SQL, "resolve_feedback"),
            (file_id, as_of, facility_id, period, file_id),
        )
        resolved += cur.rowcount
    return resolved
