"""A month of the demo as the HMIS portal's facility-wise report would give it.

The portal's "Monthly Data Item Wise Report Across Facility" holds every facility of one type in
a district for a month; the district downloads it as an ``.xls`` that is really an HTML table
(see the shared reference's README). This writes that layout from the demo's own registry and
values — title, "Data as on" row, descriptor columns, section headers spanning their items, the
item row, one row per facility (all item cells blank for one that sent nothing) and the footer
— so the demo and the tests can hand a month to ``hmis portal-import`` as the district would.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from html import escape

from hmis.reference.formats import load_catalogue
from hmis.reference.periods import REPORTING_TZ, parse_period
from hmis_dev.demo.registry import BLOCK_LGD, DISTRICT_LGD, Facility, build_registry
from hmis_dev.demo.values import Report

DESCRIPTORS = ("#", "State", "Zone", "District", "District Category", "Sub-district", "Block", "Health Block",
               "Sub-Division", "ULB", "Facility Type", "Facility Code", "Facility Name", "Category", "Bed Count",
               "Facility NIN Number", "Rural/Urban", "Ownership", "Physical/Notional", "Status")
# How the portal prints the demo's facility types (the reader maps them back).
PRINTED_TYPES = {"CHC": "Community Health Centre", "PHC": "Primary Health Centre", "SC": "Sub Centre",
                 "SDH": "Sub District Hospital", "DH": "District Hospital"}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _month(period: str) -> str:
    year, month = parse_period(period)
    return f"{_MONTHS[month - 1]}-{year}"


def _row(cells: Sequence[str], tag: str = "td") -> str:
    return "<tr>" + "".join(f"<{tag}>{escape(c) if c else '&nbsp;'}</{tag}>" for c in cells) + "</tr>\n"


def portal_report_html(facility_type: str, period: str, facilities: Sequence[Facility],
                       reports: Mapping[str, Report | None], data_as_on: datetime) -> bytes:
    """The report for one facility type and month; ``reports`` maps a facility to what it
    sent (None or absent: nothing, so its item cells are blank)."""
    catalogue = load_catalogue()
    items = [i for i in catalogue.expected_items(facility_type, period) if i.value_type != "stock"]
    printed = PRINTED_TYPES[facility_type]
    width = len(DESCRIPTORS) + len(items)
    month = _month(period)
    html = ['<html><head><meta charset="utf-8"></head><body><table border="1">\n',
            f'<tr><td colspan="{width}"><b>Monthly Data Item Wise Report Across Facility From {month} To {month}'
            f'</b></td></tr>\n',
            f'<tr><td colspan="{width}">Data as on {data_as_on.day} {data_as_on:%B %Y %I:%M:%S %p}</td></tr>\n']
    sections: list[tuple[str, int]] = []
    for item in items:
        if sections and sections[-1][0] == item.section:
            sections[-1] = (item.section, sections[-1][1] + 1)
        else:
            sections.append((item.section, 1))
    head = "".join(f'<th rowspan="2">{escape(d)}</th>' for d in DESCRIPTORS)
    head += "".join(f'<th colspan="{n}">{escape(name.split(" ", 1)[0])} [{escape(name.split(" ", 1)[1])}]</th>'
                    for name, n in sections)
    html.append(f"<tr>{head}</tr>\n")
    html.append("<tr>" + "".join(f"<th>{escape(i.code)} {escape(i.name)}</th>" for i in items) + "</tr>\n")
    for number, facility in enumerate(f for f in facilities if f.facility_type == facility_type):
        report = reports.get(facility.facility_id)
        cells = [str(number + 1), "Haryana(6)", "", f"Hisar({DISTRICT_LGD})", "", "",
                 f"{facility.block}({BLOCK_LGD[facility.block]})", facility.block, "", "", printed,
                 facility.facility_id, facility.name, "", "", "", "Rural", facility.ownership.title(), "Physical",
                 "Open"]
        cells += [str(report.values[(i.element, "TOTAL")]) if report else "" for i in items]
        html.append(_row(cells))
    html.append(_row(["Selected Parameter", "Dated :", f"{data_as_on.day} {data_as_on:%B %Y}", "Time :",
                      f"{data_as_on:%H:%M:%S}", "Report Name :", "Monthly Data Item wise report",
                      "Facility Type :", printed]))
    html.append(_row(["Facility Status :", "Open", "Report Type :", "Across Facility", "Selected Period :",
                      f"{month} To {month}"]))
    html.append("</table></body></html>\n")
    return "".join(html).encode("utf-8")


def portal_month(landing, truth, facility_type: str, period: str, seed: int) -> tuple[bytes, datetime, int]:
    """Make ``period`` of every registered ``facility_type`` arrive as one portal report instead
    of per-facility files: the facilities' own files of that month are taken out of the landing
    store and their last valid values put in the report (blank for those that sent nothing).
    Returns the report, its "Data as on" moment (the latest of those files' arrivals, so every
    facility-month arrives no earlier than it did) and how many facilities it carries data for."""
    catalogue = load_catalogue()
    facilities = [f for f in build_registry(seed) if f.facility_type == facility_type and f.registered]
    folder = landing / "submissions" / period
    items = tuple(catalogue.expected_items(facility_type, period))
    format_id = catalogue.format_for(facility_type, period).format_id
    reports: dict[str, Report | None] = {}
    moments = []
    for facility in facilities:
        values = truth.values.get((facility.facility_id, period))
        reports[facility.facility_id] = Report(format_id, items, dict(values)) if values else None
        if values:
            moments.append(truth.submitted_at[(facility.facility_id, period)])
        for path in folder.glob(f"{facility.facility_id}.*"):
            path.unlink()
        for path in folder.glob(f"{facility.facility_id}__*"):
            path.unlink()
    data_as_on = max(moments).astimezone(REPORTING_TZ).replace(microsecond=0)
    return portal_report_html(facility_type, period, facilities, reports, data_as_on), data_as_on, len(moments)


# --------------------------------------------------------------------------- the district item-wise report

# The five columns of each area of the "Data ItemWise Report", as the portal heads them.
ITEMWISE_COLUMNS = (("total", "Total [(A+B) or (C+D)]"), ("public", "Public [A]"), ("private", "Private [B]"),
                    ("urban", "Urban [C]"), ("rural", "Rural [D]"))
Totals = Mapping[tuple[str, str], int]


def district_totals(conn, period: str, district: str = "Hisar") -> dict[tuple[str, str], int]:
    """Our figures for a district-month as the marts hold them: (item code, sub-item) -> value,
    the input :func:`itemwise_report_html` takes to make the portal's report "from our totals"."""
    with conn.cursor() as cur:
        cur.execute("""SELECT item_code, disaggregation, value FROM marts.district_monthly
                        WHERE district = %s AND period = %s""", (district, period))
        found = {(code, sub): int(value) for code, sub, value in cur.fetchall()}
    conn.rollback()
    return found


def itemwise_report_html(period: str, totals: Totals, status_as_on: datetime, *, cumulative: bool = False,
                         splits: Mapping[str, Totals] | None = None, blocks: Mapping[str, Totals] | None = None,
                         state: str = "Haryana", district: str = "Hisar", district_lgd: str = DISTRICT_LGD) -> bytes:
    """The portal's district-level "Data ItemWise Report" (``C2. Data Itemwise Monthly (up to
    sub district)``) in its own layout: an HTML table downloaded as ``.xls``.

    Title rows (the state, "Provisional Figures for - 2026-2027 and Month - Oct-2026" or, for the
    cumulative variant, "Month - Apr-2026 To Oct-2026", "Status As On: …"), then the header: a
    row naming the kind of area ("Blocks"), the area names with their LGD codes (the district
    first, then ``blocks`` if given) each over five columns, and the Total / Public / Private /
    Urban / Rural labels. Then every row of the 2017 consolidation in its order (section, item
    code with the portal's leading apostrophe, name, sub-item). ``totals`` maps (item code,
    sub-item) to the district's Total; ``splits`` optionally maps ``public`` / ``private`` /
    ``urban`` / ``rural`` to their figures, and ``blocks`` a block name to its Totals. A cell
    with no figure is blank, as the portal leaves an item nobody reported.
    """
    catalogue = load_catalogue()
    year, month = parse_period(period)
    start = year if month >= 4 else year - 1
    last = _month(period)
    months = f"Apr-{start} To {last}" if cumulative else last
    areas: list[tuple[str, Mapping[str, Totals]]] = [(f"{district}({district_lgd})",
                                                      {"total": totals, **(splits or {})})]
    areas += [(f"{name}({BLOCK_LGD[name]})" if name in BLOCK_LGD else name, {"total": block})
              for name, block in (blocks or {}).items()]
    width = 4 + len(ITEMWISE_COLUMNS) * len(areas)
    when = f"{status_as_on:%d %b %Y},{status_as_on:%H:%M:%S}"
    title = ("B.Cummulative " if cumulative else "") + f"Data ItemWise Report for {state}"
    html = ['<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"></head><body>\n',
            '<table border="1" cellspacing="0">\n']
    for text in (title, f"Provisional Figures for - {start}-{start + 1} and Month - {months}",
                 f"Status As On: {when}",
                 "Total [(A+B) OR (C+D)] =[( Public Facilities + Private Facilities) OR "
                 "(Rural Facilities + Urban Facilities)]"):
        html.append(f'<tr><td colspan="{width}"><b>{escape(text)}</b></td></tr>\n')
    html.append(f'<tr><td colspan="{width}">&nbsp;</td></tr>\n')
    html.append(f'<tr><th rowspan="3" colspan="4">&nbsp;</th>'
                f'<th colspan="{width - 4}">Blocks</th></tr>\n')
    html.append("<tr>" + "".join(f'<th colspan="{len(ITEMWISE_COLUMNS)}">{escape(name)}</th>'
                                 for name, _ in areas) + "</tr>\n")
    html.append("<tr>" + "".join(f"<th>{escape(label)}</th>" for _ in areas for _c, label in ITEMWISE_COLUMNS)
                + "</tr>\n")
    section = None
    for item in catalogue.items[catalogue.anchor]:
        for sub in item.disaggregations:
            head, _, rest = item.section.partition(" ")
            printed = f"{head} [{rest}]" if item.section != section else ""
            section = item.section
            first = sub == item.disaggregations[0]
            cells = [printed, f"'{item.code}", item.name if first else "", sub]
            for _name, figures in areas:
                for column, _label in ITEMWISE_COLUMNS:
                    value = figures.get(column, {}).get((item.code, sub))
                    cells.append("" if value is None else str(value))
            html.append("<tr>" + "".join(
                f'<td align="right">{c}</td>' if c and i >= 4 else f"<td>{escape(c) if c else '&nbsp;'}</td>"
                for i, c in enumerate(cells)) + "</tr>\n")
    html.append("</table></body></html>\n")
    return "".join(html).encode("utf-8")
