"""The district compliance report: one self-contained HTML page per district and month.

The page has no scripts and loads nothing: its CSS and SVG charts are inline, and it names
only fonts installed locally (DejaVu / Noto / Lohit Devanagari), so it can be attached to an
e-mail, copied to a file share or opened offline and look the same.
"""

from __future__ import annotations

import re
from datetime import datetime
from html import escape
from pathlib import Path

from hmis.platform.landing import LandingStore, open_store
from hmis.reference.periods import month_name, parse_period
from hmis.report import sections
from hmis.report.queries import load

STORE_PREFIX = "reports"

CSS = """
:root { --ink:#1f2a30; --muted:#5f6b73; --line:#dde3e8; --bg:#f3f5f7;
  --on_time:#2e7d32; --late:#f2a900; --missing:#c62828; --rejected:#6a1b9a; --pending:#78909c; --none:#eceff1; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink); font:14px/1.45 "DejaVu Sans","Noto Sans",
  "Lohit Devanagari","Noto Sans Devanagari",Arial,sans-serif; }
main { max-width:1340px; margin:0 auto; background:#fff; padding:24px 36px 36px; }
.masthead { border-bottom:4px solid #1565c0; padding-bottom:12px; }
.kicker { margin:0; color:var(--muted); font-size:12px; letter-spacing:.06em; text-transform:uppercase; }
h1 { font-size:26px; margin:4px 0 6px; line-height:1.25; }
h2 { font-size:19px; margin:0 0 10px; padding-bottom:4px; border-bottom:1px solid var(--line); }
h1 .hi, h2 .hi { display:block; font-size:.72em; font-weight:normal; color:var(--muted); }
.meta { margin:0; color:var(--muted); }
section { margin-top:30px; }
.tiles { display:flex; flex-wrap:wrap; gap:10px; }
.tile { flex:1 1 130px; border:1px solid var(--line); border-top:6px solid #90a4ae; border-radius:4px; padding:8px 12px; }
.tile .n { font-size:26px; font-weight:bold; }
.tile .n small { font-size:13px; color:var(--muted); font-weight:normal; }
.tile .l { font-size:12px; color:var(--muted); }
.tile .l span { display:block; }
.tile.expected { border-top-color:#37474f; } .tile.rate { border-top-color:#1565c0; } .tile.gap { border-top-color:#ef6c00; }
.tile.t-on_time { border-top-color:var(--on_time); } .tile.t-late { border-top-color:var(--late); }
.tile.t-missing { border-top-color:var(--missing); } .tile.t-rejected { border-top-color:var(--rejected); }
.tile.t-pending { border-top-color:var(--pending); }
table { border-collapse:collapse; font-size:13px; }
caption { text-align:left; color:var(--muted); font-size:12px; padding:0 0 6px; caption-side:top; }
th, td { padding:4px 8px; border-bottom:1px solid var(--line); text-align:left; vertical-align:middle; }
thead th { background:#f7f9fa; font-weight:bold; border-bottom:2px solid #b0bec5; }
tfoot th, tfoot td { border-top:2px solid #b0bec5; font-weight:bold; background:#f7f9fa; }
tbody th { font-weight:normal; }
.nowrap { white-space:nowrap; }
td.id { white-space:nowrap; font-variant-numeric:tabular-nums; }
.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
table.rates { width:100%; }
.meter { display:inline-block; width:90px; height:10px; background:var(--none); vertical-align:middle; margin-right:4px; }
.meter span { display:block; height:100%; }
.pct { display:inline-block; min-width:58px; }
.contact small, td small { color:var(--muted); }
table.list { width:100%; } table.list.small { width:auto; min-width:200px; }
.split { display:flex; gap:24px; align-items:flex-start; } .split table.list:not(.small) { flex:1; }
.badge { display:inline-block; padding:1px 7px; border-radius:10px; font-size:12px; color:#fff; white-space:nowrap; }
.note, .ok, .missing { margin:6px 0 10px; padding:8px 12px; border-left:4px solid #90a4ae; background:#f7f9fa; }
.ok { border-left-color:var(--on_time); } .missing { border-left-color:var(--late); background:#fff8e1; }
details { margin:8px 0; } summary { cursor:pointer; color:#1565c0; }
figure { margin:0; } figcaption { color:var(--muted); font-size:12px; }
.signals { display:flex; flex-wrap:wrap; gap:18px; margin-top:12px; }
.legend { list-style:none; padding:0; margin:6px 0 12px; display:flex; flex-wrap:wrap; gap:6px 18px; font-size:12px; }
.legend .cell { display:inline-block; width:20px; height:18px; line-height:18px; text-align:center; border-radius:2px; }
.heatmaps { columns:2 600px; column-gap:28px; }
table.heatmap { break-inside:avoid; margin:0 0 18px; font-size:11px; width:100%; }
table.heatmap caption { font-size:14px; font-weight:bold; color:var(--ink); }
table.heatmap th, table.heatmap td { padding:1px 3px; border-bottom:1px solid #fff; }
table.heatmap th.month { text-align:center; font-size:10px; line-height:1.1; width:30px; }
table.heatmap tbody th { max-width:270px; }
.fname { display:block; max-width:270px; white-space:nowrap; overflow:hidden; text-overflow:ellipsis; }
td.cell { text-align:center; width:30px; border-left:2px solid #fff; font-weight:bold; }
.st-on_time { background:#a5d6a7; color:#1b5e20; } .st-late { background:var(--late); color:#1f2a30; }
.st-missing { background:var(--missing); color:#fff; } .st-rejected { background:var(--rejected); color:#fff; }
.st-pending { background:var(--pending); color:#fff; } .st-none { background:var(--none); color:#607d8b; }
footer { margin-top:36px; padding-top:10px; border-top:1px solid var(--line); color:var(--muted); font-size:12px; }
@media print { body { background:#fff; } main { padding:0; } section { break-inside:auto; } }
"""


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
    data = load(conn, district, period, as_of)
    body = "".join([
        sections.header(data),
        sections.summary(data),
        sections.block_rates(data),
        sections.trend(data),
        sections.outstanding(data),
        sections.disease_signals(data),
        sections.ultrasound(data),
        sections.registration_gap(data),
        sections.heatmap(data),
        sections.footer(data),
    ])
    title = f"HMIS compliance report — {district}, {month_name(period)}"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head>"
        f"<body><main>{body}</main></body></html>\n"
    )


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
