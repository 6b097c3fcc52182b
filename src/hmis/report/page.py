"""The district compliance report: one self-contained HTML page per district and month.

The page has no scripts and loads nothing: its CSS and SVG charts are inline, and it names
only fonts installed locally (DejaVu / Noto / Lohit Devanagari), so it can be attached to an
e-mail, copied to a file share or opened offline and look the same. Its words are the
templates' under ``hmis/templates/report/``; :mod:`hmis.report.sections` gives them the figures.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from hmis.platform.landing import LandingStore, open_store
from hmis.reference.periods import parse_period
from hmis.report import sections
from hmis.report.queries import ReportData, load
from hmis.templates import render

STORE_PREFIX = "reports"


def render_page(data: ReportData) -> str:
    """The HTML page for what ``data`` holds (reads nothing: templates ``report/*.html``)."""
    return render("report/page.html", **sections.page(data))


def render_report(conn, district: str, period: str, as_of: datetime) -> str:
    """The HTML page for ``district`` and ``period`` with figures as the warehouse holds them.

    ``as_of`` is the moment the figures describe (the pipeline run's logical date); it is
    printed, never the wall clock. Reads only, and ends the connection's transaction with a
    rollback (so pass a connection without uncommitted work). Raises
    ``hmis.reference.periods.PeriodError`` for a malformed period and
    ``hmis.report.queries.ReportInputError`` for a district the registry does not know.
    """
    parse_period(period)
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware")
    return render_page(load(conn, district, period, as_of))


def report_name(district: str, period: str) -> str:
    """``<period>/compliance-<district>.html``, the district lower-cased to letters, digits and dashes."""
    slug = re.sub(r"[^a-z0-9]+", "-", district.lower()).strip("-") or "district"
    return f"{period}/compliance-{slug}.html"


def write_report(conn, store_or_folder: LandingStore | Path | str, district: str, period: str,
                 as_of: datetime) -> str:
    """Render the page and save it; returns where it went.

    A folder (``Path`` or a plain path string) gets ``<folder>/<period>/compliance-<district>.html``
    and the file's path is returned. A landing store (or an ``s3://`` URL) gets the key
    ``reports/<period>/compliance-<district>.html``, which is returned.
    """
    page = render_report(conn, district, period, as_of).encode("utf-8")
    name = report_name(district, period)
    if isinstance(store_or_folder, str) and store_or_folder.startswith("s3://"):
        store_or_folder = open_store(store_or_folder)
    if isinstance(store_or_folder, str | Path):
        path = Path(store_or_folder) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_bytes(page)
        partial.replace(path)  # a reader never opens a half-written page
        return str(path)
    key = f"{STORE_PREFIX}/{name}"
    store_or_folder.write(key, page)
    return key
