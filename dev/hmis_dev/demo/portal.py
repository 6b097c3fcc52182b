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
    html = [f'<html><head><meta charset="utf-8"></head><body><table border="1">\n',
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
