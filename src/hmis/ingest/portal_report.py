"""Read the HMIS portal's facility-wise report ("Monthly Data Item Wise Report Across Facility").

The report holds every facility of one facility type in a district on one sheet, for one or
more months (see /work/shared/reference/README.md). This module only reads it: no database,
no catalogue look-ups; checking codes and values stays with the Great Expectations suite, once
a facility-month has been turned into the project's long CSV by :func:`to_submission_csv`.

The sheet's rows are found by what they hold, never by position, because copies circulate
with rows shifted and with an extra leading index column (a CSV re-saved by pandas):

* the **title** ("Monthly Data Item Wise Report Across Facility From Jun-2020 To Jun-2020"),
  and a **"Data as on 24th February 2021 11:20:24 AM"** row, somewhere above the header;
* the **descriptor header**: the first row naming at least three of the portal's descriptor
  columns (``#``, State, District, Block, Facility Code, Facility Name, …) among them Facility
  Name or Facility Code. Section headers (``M1 [Ante Natal Care (ANC)]``) may share that row,
  to the right of the descriptors, or sit on a row of their own; they are not needed;
* the **item row**: the first row from the header down (at most :data:`ITEM_ROW_SEARCH`
  rows) whose first cell right of the descriptors is an item, ``<code> <name>``
  (``1.1 Total number of pregnant women registered for ANC``). Every filled cell from there to
  the right must be an item, and codes are unique;
* **facility rows**, up to the **footer**: the first row holding ``Selected Parameter`` or one
  of the footer's labels (``Dated :``, ``Report Type :``, ``Selected Period :`` …). A label
  and its value may share a cell (``Report Type : Across Facility``) or sit in neighbouring
  cells, as the portal's own download has them.

Months. A report for one month needs nothing more: every row is that month (from the footer's
``Selected Period``, else the title). A report for several months must say on each row which
month it is, in one of two ways, both accepted: a descriptor column named ``Month`` (or
``Period``, ``Month-Year``, ``Reporting Month``), or one block of rows per month, each under a
heading row whose only cell is the month (``Jun-2020``, ``Month : Jun-2020``). A multi-month
report with neither is refused, because its rows cannot be told apart (it may also hold sums
over the months). Month cells are read as ``Jun-2020``, ``June 2020``, ``2020-06``,
``06/2020``, and the first day of the month as Excel turns a typed month into a date
(``01/06/2020``, ``2020-06-01 00:00:00``).

Problems. Anything about the sheet's structure (no descriptor header, no item row, an item
cell that is not ``<code> <name>``, a title and footer naming different months, a multi-month
report without month indications, a screened-out header or footer cell) rejects the whole
file with :class:`~hmis.ingest.parse.SubmissionError`. Anything about one facility's row
(a screened-out cell, a month outside the report's, the same facility twice in a month) is
recorded on that row (:attr:`PortalRow.problem`) so the caller can quarantine that
facility-month only; the offending cell is left out and never repeated in the sentence.

Screening uses the project's own :func:`~hmis.ingest.parse._screen`. Two exceptions are
deliberate: header, title and footer cells may be longer than a data cell (item names reach
170 characters), so they are screened on a shortened probe that keeps every digit, space,
hyphen and line break (what the identifier and line-break checks look at) and the leading
characters (the formula check); and the ``Facility NIN Number`` column holds the facility's
10-digit National Identification Number, which is kept when it is exactly ten digits and
screened like any other cell otherwise.

Values are kept as printed. A workbook's numbers are written as whole numbers' text (``42``,
never ``42.0``). A date of last supply (an item whose name says ``DD/MM/YYYY``) that a
spreadsheet tool turned into a date (an Excel date, or ``2020-02-06 00:00:00`` in a CSV
re-saved by pandas) is written back as the portal printed it, ``DD/MM/YYYY``, reading the
file's other dates to tell whether the tool read day or month first (see :class:`_DateReading`;
the real re-saved Delhi report was read month first).

"Data as on" is read as "24th February 2021 11:20:24 AM" and its kin: a day (with or without
st/nd/rd/th), a month name or abbreviation and a year, or ``24/02/2021`` (day first),
``24-Feb-2021``, ``2021-02-24``, ``February 24, 2021``; then optionally a time, 12-hour with
AM/PM or 24-hour, seconds optional, and "IST". Without that row the footer's ``Dated :`` and
``Time :`` are used. A moment that cannot be read leaves ``data_as_on`` None (it never rejects
the report).
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from html.parser import HTMLParser

from hmis.ingest.parse import (
    MAX_CELL_CHARS,
    REQUIRED_COLUMNS,
    XLSX_MAX_ROWS,
    SubmissionError,
    _cell_text,
    _csv_rows,
    _decode,
    _is_workbook,
    _screen,
    _sniff,
    open_worksheets,
    redact,
)
from hmis.reference.periods import REPORTING_TZ, format_period

REPORT_NAME = "Monthly Data Item Wise Report Across Facility"
MAX_COLUMNS = 3000          # the consolidation has 540 item rows; a sheet far wider is no such report
MAX_ROWS = XLSX_MAX_ROWS
HEADER_MAX_CHARS = 400      # an item name with its code, a title or a footer value
ITEM_ROW_SEARCH = 4         # the item row is the header row or one of the next rows
HEADER_SEARCH_ROWS = 60     # the descriptor header is within the sheet's first rows
MAX_MONTHS = 120
_PROBLEMS_SHOWN = 3

# Descriptor headers as the portal prints them (lower case, spaces collapsed) → snake_case key.
DESCRIPTOR_KEYS = {
    "#": "serial", "s.no": "serial", "s. no.": "serial", "s.no.": "serial", "sl. no.": "serial",
    "sr. no.": "serial",
    "state": "state", "zone": "zone", "district": "district", "district category": "district_category",
    "sub-district": "sub_district", "sub district": "sub_district", "subdistrict": "sub_district",
    "block": "block", "health block": "health_block",
    "sub-division": "sub_division", "sub division": "sub_division", "subdivision": "sub_division",
    "ulb": "ulb", "facility type": "facility_type", "facility code": "facility_code",
    "facility name": "facility_name", "category": "category", "bed count": "bed_count",
    "facility nin number": "nin", "nin number": "nin", "nin": "nin",
    "rural/urban": "rural_urban", "rural / urban": "rural_urban", "urban/rural": "rural_urban",
    "urban / rural": "rural_urban", "ownership": "ownership", "physical/notional": "physical_notional",
    "physical / notional": "physical_notional", "status": "status",
    "month": "month", "period": "month", "month-year": "month", "month year": "month",
    "reporting month": "month",
}
# Columns whose cells carry an area's LGD code in parentheses: "Hisar(63)".
AREA_KEYS = ("state", "zone", "district", "sub_district", "block", "health_block", "sub_division", "ulb")
_IDENTIFYING = {"facility_name", "facility_code"}

# Footer labels (lower case, without the colon) → key of PortalReport.footer.
FOOTER_KEYS = {
    "dated": "dated", "time": "time", "report name": "report_name", "facility type": "facility_type",
    "category": "category", "urban / rural": "urban_rural", "urban/rural": "urban_rural",
    "rural / urban": "urban_rural", "ownership": "ownership", "facility status": "facility_status",
    "report type": "report_type", "selected period": "selected_period",
}
# How the portal prints a facility type → the project's type (hmis.reference.formats.FACILITY_TYPES).
FACILITY_TYPE_CODES = {
    "community health centre": "CHC", "community health center": "CHC",
    "primary health centre": "PHC", "primary health center": "PHC",
    "sub centre": "SC", "sub center": "SC", "sub-centre": "SC", "sub health centre": "SC",
    "health sub centre": "SC", "health sub-centre": "SC",
    "sub district hospital": "SDH", "sub divisional hospital": "SDH", "sub-district hospital": "SDH",
    "district hospital": "DH",
    # assumed: the portal's wording for private and AYUSH institutions, and the short forms
    # that re-saved copies carry.
    "private hospital": "PVT_HOSPITAL", "nursing home": "NURSING_HOME", "clinic": "CLINIC",
    "private clinic": "CLINIC", "ayush": "AYUSH", "ayush dispensary": "AYUSH", "ayush hospital": "AYUSH",
    "sc": "SC", "phc": "PHC", "chc": "CHC", "sdh": "SDH", "dh": "DH",
}


def facility_type_code(printed: str | None) -> str | None:
    """The project's facility type for one the portal prints, or None if it is not known."""
    return FACILITY_TYPE_CODES.get(_label(printed or ""))

_ITEM_RE = re.compile(r"^'?(\d+(?:\.(?:\d+|[A-Za-z]))*)\s+(\S.*)$")
_LGD_RE = re.compile(r"^(.*?\S)\s*\(\s*(\d+)\s*\)$")
_WS_RE = re.compile(r"\s+")
_TITLE_RE = re.compile(r"(?i)item\s*wise\s+report|report\s+across\s+facility")
_DATA_AS_ON_RE = re.compile(r"(?i)^\s*data\s+as\s+on\b\s*[:\-]?\s*(.*)$")
_FOOTER_CELL_RE = re.compile(r"^\s*([A-Za-z][A-Za-z /]*?)\s*:\s*(.*?)\s*$")
_MONTHS = {name: number for number, names in enumerate(
    (("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",),
     ("jun", "june"), ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"),
     ("oct", "october"), ("nov", "november"), ("dec", "december")), start=1) for name in names}
_MONTH_WORD = r"([A-Za-z]{3,9})"
_RANGE_RE = re.compile(rf"(?i)\b{_MONTH_WORD}[\s,\-/]*(\d{{4}})\s+to\s+{_MONTH_WORD}[\s,\-/]*(\d{{4}})\b")
_SINGLE_RE = re.compile(rf"(?i)\b{_MONTH_WORD}[\s,\-/]*(\d{{4}})\b")
_MONTH_PATTERNS = (
    (re.compile(rf"(?i)^{_MONTH_WORD}[\s,\-/]*(\d{{4}})$"), "name_year"),
    (re.compile(r"^(\d{4})-(\d{1,2})(?:-01(?:[ T]00:00(?::00)?)?)?$"), "year_month"),
    (re.compile(r"^(?:0?1[/\-.])?(\d{1,2})[/\-.](\d{4})$"), "month_year"),
)
_HEADING_RE = re.compile(r"(?i)^(?:(?:reporting\s+)?(?:month|period)\s*[:\-]?\s*)?(.+?)$")
_DATE_FORMS = (
    # 24th February 2021, 24 Feb 2021, 24-Feb-2021
    (re.compile(r"(?i)^(\d{1,2})(?:st|nd|rd|th)?[\s\-/]+([A-Za-z]{3,9})[\s,\-/]+(\d{4})"), "dmy_name"),
    # February 24, 2021
    (re.compile(r"(?i)^([A-Za-z]{3,9})\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})"), "mdy_name"),
    # 2021-02-24
    (re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})"), "ymd"),
    # 24/02/2021, 24-02-2021, 24.02.2021 (day first, as India writes it)
    (re.compile(r"^(\d{1,2})[/\-.](\d{1,2})[/\-.](\d{4})"), "dmy"),
)
_ISO_DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[ T]00:00(?::00)?)?$")
_DMY_RE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_TIME_RE = re.compile(r"(?i)^(?:[T,]\s*|\s+)?(?:at\s+)?(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*([ap])\.?\s*m\.?)?")


@dataclass
class PortalRow:
    """One facility's row of the report, for one month."""

    line: int                                   # the row's number in the sheet (CSV line, Excel row, HTML <tr>)
    period: str | None                          # YYYY-MM; None when the row's month could not be told
    descriptors: dict[str, str]                 # snake_case key → text; area names without "(code)"
    lgd: dict[str, str]                         # area key → LGD code, from "Name(123)"
    values: dict[str, str]                      # item code → text as printed, non-blank cells only
    reported: bool                              # False when every item cell is blank: nothing sent
    problem: str | None = None                  # why this facility-month must be quarantined

    @property
    def facility_code(self) -> str | None:
        return self.descriptors.get("facility_code")

    @property
    def facility_name(self) -> str | None:
        return self.descriptors.get("facility_name")


@dataclass
class PortalReport:
    """The portal's facility-wise report, as read from one file."""

    title: str                                  # "" when the copy has lost its title row
    data_as_on: datetime | None                 # when the portal drew the data, in IST
    periods: tuple[str, ...]                    # YYYY-MM, every month the report covers
    facility_type: str                          # as printed: "Community Health Centre"
    items: tuple[tuple[str, str], ...]          # (code, name) in the item row's order
    rows: list[PortalRow]
    form: str = "csv"                           # how the file came: "html", "xlsx" or "csv"
    footer: dict[str, str] = field(default_factory=dict)

    @property
    def facility_type_code(self) -> str | None:
        """The project's facility type (``CHC`` …) for the printed one, or None if unknown."""
        return facility_type_code(self.facility_type)


# --------------------------------------------------------------------------- small helpers


def _label(text: str) -> str:
    """A header or footer cell compared by its words: lower case, spaces collapsed, no colon."""
    return _WS_RE.sub(" ", text.replace("\xa0", " ")).strip().rstrip(":").strip().lower()


def _blank(text: str) -> bool:
    return not text.replace("\xa0", " ").strip()


def _column_name(index: int) -> str:
    """A 0-based column as a spreadsheet names it (A, B, …, AA)."""
    name, index = "", index + 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


def _screen_long(where: str, column: str, text: str) -> str:
    """Screen a header, title or footer cell, which may be longer than a data cell.

    :func:`_screen` runs on a probe holding everything its identifier, line-break and formula
    checks look at (the first two characters, then every digit, space, hyphen and line break,
    other runs shortened to one letter), so its length limit does not refuse a long item name.
    """
    stripped = text.replace("\xa0", " ").strip()
    if len(stripped) <= MAX_CELL_CHARS:
        return _screen(where, column, text.replace("\xa0", " "))
    if len(stripped) > HEADER_MAX_CHARS:
        raise SubmissionError(f"{where}: the {column} cell holds {len(stripped):,} characters, more than "
                              f"a report's header cell ever has ({HEADER_MAX_CHARS}); is this the portal's report?")
    probe = stripped[:2] + re.sub(r"[^\d \-\r\n]+", "x", stripped[2:])
    if len(probe) > MAX_CELL_CHARS:
        raise SubmissionError(f"{where}: the {column} cell is {len(stripped):,} characters of mostly "
                              "digits and spaces, which no header of the report holds")
    _screen(where, column, probe)
    return stripped


def _month_number(word: str) -> int | None:
    return _MONTHS.get(word.lower())


def _month(text: str) -> str | None:
    """YYYY-MM for a month cell (see the module's notes), or None."""
    text = _WS_RE.sub(" ", text.replace("\xa0", " ")).strip()
    for pattern, kind in _MONTH_PATTERNS:
        match = pattern.match(text)
        if not match:
            continue
        if kind == "name_year":
            month, year = _month_number(match.group(1)), int(match.group(2))
        elif kind == "year_month":
            year, month = int(match.group(1)), int(match.group(2))
        else:
            month, year = int(match.group(1)), int(match.group(2))
        if month and 1 <= month <= 12 and 1990 <= year <= 2100:
            return format_period(year, month)
    return None


def _months_named(text: str) -> tuple[str, ...] | None:
    """Every month of "Jun-2020 To Aug-2020" (or one month, "Jun-2020") in ``text``, or None."""
    found = _RANGE_RE.search(text)
    if found:
        first, last = _month(f"{found.group(1)} {found.group(2)}"), _month(f"{found.group(3)} {found.group(4)}")
        if first is None or last is None:
            return None
        if last < first:
            raise SubmissionError(f"the report's period runs backwards ({redact(found.group(0))}); "
                                  "download it again for the month(s) wanted")
        months = [first]
        while months[-1] < last:
            year, month = int(months[-1][:4]), int(months[-1][5:])
            months.append(format_period(year + month // 12, month % 12 + 1))
            if len(months) > MAX_MONTHS:
                raise SubmissionError(f"the report covers more than {MAX_MONTHS} months; "
                                      "download it for one month, or a few, at a time")
        return tuple(months)
    for found in _SINGLE_RE.finditer(text):
        month = _month(f"{found.group(1)} {found.group(2)}")
        if month:
            return (month,)
    return None


def _moment(text: str) -> datetime | None:
    """A "Data as on" moment in IST: "24th February 2021 11:20:24 AM" and the forms of
    :data:`_DATE_FORMS` followed by an optional time (12-hour with AM/PM, or 24-hour) and an
    optional "IST"; None for anything else."""
    text = _WS_RE.sub(" ", text.replace("\xa0", " ")).strip()
    for pattern, kind in _DATE_FORMS:
        match = pattern.match(text)
        if not match:
            continue
        a, b, c = match.groups()
        try:
            if kind == "dmy_name":
                day, month, year = int(a), _month_number(b), int(c)
            elif kind == "mdy_name":
                month, day, year = _month_number(a), int(b), int(c)
            elif kind == "ymd":
                year, month, day = int(a), int(b), int(c)
            else:
                day, month, year = int(a), int(b), int(c)
            if not month:
                return None
            on = date(year, month, day)
        except ValueError:
            return None
        rest = text[match.end():]
        hour = minute = second = 0
        clock = _TIME_RE.match(rest)
        if clock:
            hour, minute, second = int(clock.group(1)), int(clock.group(2)), int(clock.group(3) or 0)
            half = (clock.group(4) or "").lower()
            if half:
                if not 1 <= hour <= 12:
                    return None
                hour = hour % 12 + (12 if half == "p" else 0)
            rest = rest[clock.end():]
        if rest.strip().upper() not in ("", "IST", "HRS", "HRS."):
            return None
        try:
            return datetime(on.year, on.month, on.day, hour, minute, second, tzinfo=REPORTING_TZ)
        except ValueError:
            return None
    return None


# --------------------------------------------------------------------------- the three forms


class _TableGrid(HTMLParser):
    """Every ``<tr>`` of an HTML document as a list of (text, colspan, rowspan) cells, in
    document order (a title or footer in a table of its own simply comes before or after)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[tuple[str, int, int]]] = []
        self.tables = 0
        self._row: list[tuple[str, int, int]] | None = None
        self._cell: tuple[list[str], int, int] | None = None
        self._skip = 0

    @staticmethod
    def _span(attrs, name: str) -> int:
        for key, value in attrs:
            if key == name and value:
                digits = re.match(r"\s*(\d+)", value)
                if digits:
                    return max(1, min(int(digits.group(1)), MAX_COLUMNS if name == "colspan" else MAX_ROWS))
        return 1

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        elif tag == "table":
            self.tables += 1
            self._end_row()
        elif tag == "tr":
            self._end_row()
            self._row = []
        elif tag in ("td", "th"):
            self._end_cell()
            if self._row is None:
                self._row = []
            self._cell = ([], self._span(attrs, "colspan"), self._span(attrs, "rowspan"))
        elif tag == "br" and self._cell is not None:
            self._cell[0].append(" ")

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag in ("td", "th"):
            self._end_cell()
        elif tag in ("tr", "table"):
            self._end_row()

    def handle_data(self, data):
        if self._cell is not None and not self._skip:
            self._cell[0].append(data)

    def close(self):
        super().close()
        self._end_row()

    def _end_cell(self):
        if self._cell is not None and self._row is not None:
            parts, colspan, rowspan = self._cell
            # HTML whitespace (line breaks of the source included) renders as one space.
            text = _WS_RE.sub(" ", "".join(parts).replace("\xa0", " ")).strip()
            self._row.append((text, colspan, rowspan))
        self._cell = None

    def _end_row(self):
        self._end_cell()
        if self._row is not None:
            self.rows.append(self._row)
            if len(self.rows) > MAX_ROWS:
                raise SubmissionError(f"the table has more than {MAX_ROWS:,} rows; a district's report is far shorter")
        self._row = None


def _html_grid(text: str) -> list[tuple[int, list[str]]]:
    """The cells of an HTML table laid out as a sheet: a cell spanning columns or rows fills
    its first position, the others are blank (as a merged cell of a workbook reads)."""
    parser = _TableGrid()
    try:
        parser.feed(text)
        parser.close()
    except SubmissionError:
        raise
    except Exception as exc:  # html.parser is lenient; anything else is a damaged file
        raise SubmissionError(f"the HTML of the file could not be read ({type(exc).__name__}); "
                              "download the report from the portal again") from None
    if not parser.tables:
        raise SubmissionError("the file is HTML but holds no <table>; it is not the portal's report download")
    grid, carry = [], {}
    for number, cells in enumerate(parser.rows, start=1):
        out: list[str] = []
        for text, colspan, rowspan in cells:
            while carry.get(len(out), 0):
                carry[len(out)] -= 1
                out.append("")
            start = len(out)
            out.append(text)
            out.extend([""] * (colspan - 1))
            if len(out) > MAX_COLUMNS:
                raise SubmissionError(f"row {number} of the table is more than {MAX_COLUMNS:,} columns wide; "
                                      "is this the portal's report?")
            if rowspan > 1:
                for column in range(start, start + colspan):
                    carry[column] = rowspan - 1
        for column in [c for c, left in carry.items() if left and c >= len(out)]:
            carry[column] -= 1
        grid.append((number, out))
    return grid


def _xlsx_text(value) -> str:
    if isinstance(value, (datetime, date)):
        # Written as pandas writes a date into a CSV, so that a date a spreadsheet made out of
        # the portal's DD/MM/YYYY text is told the same way in both forms (see _DateReading).
        text = f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
        if isinstance(value, datetime) and (value.hour, value.minute, value.second) != (0, 0, 0):
            text += f" {value.hour:02d}:{value.minute:02d}:{value.second:02d}"
        return text
    return _cell_text(value, "value")


def _xlsx_grid(data: bytes, max_bytes: int) -> list[tuple[int, list[str]]]:
    """The sheet of a workbook that holds the report, with Excel's row numbers."""
    with open_worksheets(data, max_bytes, one_sheet="send the report's sheet alone") as sheets:
        if not sheets:
            raise SubmissionError("the workbook has no worksheet; it is not the portal's report")
        found = []
        for sheet in sheets:
            sheet.reset_dimensions()   # rows as long as their cells go, not padded to a declared size
            head = [(n, [_xlsx_text(v) for v in cells[:MAX_COLUMNS]]) for n, cells in enumerate(
                sheet.iter_rows(max_row=HEADER_SEARCH_ROWS, values_only=True), start=1)]
            if _find_header(head) is not None:
                found.append(sheet)
        if len(found) > 1:
            raise SubmissionError(f"{len(found)} sheets of the workbook each hold a report "
                                  f"({', '.join(s.title for s in found)}); send one report per file")
        sheet = found[0] if found else sheets[0]
        grid = []
        for number, cells in enumerate(sheet.iter_rows(max_row=MAX_ROWS + 1, values_only=True), start=1):
            if len(cells) > MAX_COLUMNS and any(v is not None for v in cells[MAX_COLUMNS:]):
                raise SubmissionError(f"row {number} of the sheet is more than {MAX_COLUMNS:,} columns wide; "
                                      "is this the portal's report?")
            texts = [_xlsx_text(v) for v in cells[:MAX_COLUMNS]]
            if any(not _blank(t) for t in texts):
                if number > MAX_ROWS:
                    raise SubmissionError(f"the sheet has data beyond row {MAX_ROWS:,}; a district's report is far shorter")
                grid.append((number, texts))
    return grid


def _text_grid(data: bytes) -> tuple[str, list[tuple[int, list[str]]]]:
    """An HTML table (whatever the file's name) or CSV text, as (form, rows)."""
    text = _decode(data, "csv")
    head = text[:65536]
    if text.lstrip()[:1] == "<" or re.search(r"(?i)<\s*table\b", head):
        return "html", _html_grid(text)
    return "csv", [(line, cells) for line, cells in _csv_rows(text)]


def _grid(data: bytes, max_bytes: int) -> tuple[str, list[tuple[int, list[str]]]]:
    found = _sniff(data)
    if found is not None and found[0] == "zip":
        if not _is_workbook(data):
            raise SubmissionError(f"the file is {found[1]}, not an Excel workbook; archives are never "
                                  "opened — upload the report itself (.xls, .xlsx or .csv)")
        return "xlsx", _xlsx_grid(data, max_bytes)
    return _text_grid(data)


# --------------------------------------------------------------------------- layout


def _find_header(rows: list[tuple[int, list[str]]]) -> int | None:
    """Index (in ``rows``) of the descriptor header row, or None."""
    for index, (_line, cells) in enumerate(rows[:HEADER_SEARCH_ROWS]):
        keys = {DESCRIPTOR_KEYS.get(_label(cell)) for cell in cells} - {None}
        if len(keys) >= 3 and keys & _IDENTIFYING:
            return index
    return None


def _not_a_report(rows: list[tuple[int, list[str]]]) -> SubmissionError:
    for _line, cells in rows[:5]:
        labels = [_label(cell).lstrip("\ufeff") for cell in cells]
        if all(column in labels for column in REQUIRED_COLUMNS):
            return SubmissionError(
                "the file is a facility's monthly file (facility_id, period, item_code, value), not the portal's "
                f"'{REPORT_NAME}'; upload it as a facility file, or download the facility-wise report from the portal")
    return SubmissionError(
        f"the file is not the portal's '{REPORT_NAME}': no row names the descriptor columns "
        "(#, State, District, …, Facility Code, Facility Name) in its first "
        f"{HEADER_SEARCH_ROWS} rows; download the report again from the portal (Reports → Monthly Data "
        "Item Wise Report Across Facility) and upload it unchanged")


def _footer_label(cell: str) -> str | None:
    """The footer key of a cell that is a footer label ("Dated :", "Report Type : Across
    Facility"), "selected_parameter" for the footer's first cell, or None."""
    text = cell.replace("\xa0", " ").strip()
    if _label(text) == "selected parameter":
        return "selected_parameter"
    match = _FOOTER_CELL_RE.match(text)
    if match:
        return FOOTER_KEYS.get(_label(match.group(1)))
    return None


def _read_footer(rows: list[tuple[int, list[str]]]) -> dict[str, str]:
    footer: dict[str, str] = {}
    for line, cells in rows:
        filled = [cell.replace("\xa0", " ").strip() for cell in cells if not _blank(cell)]
        for index, cell in enumerate(filled):
            key = _footer_label(cell)
            if key is None or key == "selected_parameter":
                continue
            value = _FOOTER_CELL_RE.match(cell).group(2)
            if not value and index + 1 < len(filled) and _footer_label(filled[index + 1]) is None:
                value = filled[index + 1]
            if value:
                footer[key] = _screen_long(f"the footer (row {line})", f"'{_label(cell)}'", value)
    return footer


def _title_and_moment(rows: list[tuple[int, list[str]]]) -> tuple[str, datetime | None]:
    title, moment = "", None
    for line, cells in rows:
        for cell in cells:
            if _blank(cell):
                continue
            as_on = _DATA_AS_ON_RE.match(cell.replace("\xa0", " "))
            if as_on:
                # Only the parsed moment is kept, never the cell's text, so it needs no screening
                # (and "24-02-2021 11:20" would read as a 10-digit run).
                moment = moment or _moment(as_on.group(1))
            elif not title and _TITLE_RE.search(cell):
                title = _screen_long(f"row {line}", "title", _WS_RE.sub(" ", cell.replace("\xa0", " ")))
    return title, moment


def _items(line: int, cells: list[str], first: int) -> tuple[tuple[int, str, str], ...]:
    """(column, code, name) of every item cell of the item row, from column ``first`` on."""
    items, seen = [], {}
    for column in range(first, len(cells)):
        cell = cells[column]
        if _blank(cell):
            continue
        where = f"the item row (row {line}), column {_column_name(column)}"
        text = _WS_RE.sub(" ", _screen_long(where, "item", cell))
        match = _ITEM_RE.match(text)
        if not match:
            raise SubmissionError(
                f"{where} holds '{redact(text, 60)}', which is not an item: every cell right of the descriptor "
                "columns must be an item's code, a space and its name, such as '1.1 Total number of pregnant "
                "women registered for ANC'; download the report again from the portal")
        code, name = match.group(1), match.group(2).strip()
        if code in seen:
            raise SubmissionError(f"{where}: item {code} appears twice in the item row (also column "
                                  f"{_column_name(seen[code])}); the report is damaged — download it again")
        seen[code] = column
        items.append((column, code, name))
    return tuple(items)


def _find_item_row(rows, header_index: int, desc_end: int) -> tuple[int, int] | None:
    """(index in ``rows``, column of the first item) of the item row, or None."""
    for index in range(header_index, min(len(rows), header_index + ITEM_ROW_SEARCH)):
        cells = rows[index][1]
        for column in range(desc_end, len(cells)):
            if _blank(cells[column]):
                continue
            if _ITEM_RE.match(_WS_RE.sub(" ", cells[column].replace("\xa0", " ")).strip()):
                return index, column
            break
    return None


def _heading_month(cells: list[str], start: int) -> str | None:
    """The month of a month-heading row (its only cell is a month), or None."""
    filled = [(c, cell) for c, cell in enumerate(cells) if not _blank(cell)
              and not (c < start and cell.strip().isdigit())]
    if len(filled) != 1:
        return None
    match = _HEADING_RE.match(_WS_RE.sub(" ", filled[0][1].replace("\xa0", " ")).strip())
    return _month(match.group(1)) if match else None


# --------------------------------------------------------------------------- rows


class _DateReading:
    """How to read the dates a spreadsheet tool made out of the portal's DD/MM/YYYY text.

    The portal prints a date of last supply as text, ``02/06/2020``. A tool that re-saves the
    report may turn such text into a date: it reaches us as an Excel date or, re-saved by pandas,
    as ``2020-02-06 00:00:00``. A tool reading day first stored 2 June; one reading month first
    (Excel in a US locale) stored 6 February, and could not read ``27/05/2020`` at all, which
    stays text. So, over the whole file: a date cell left as text with a day above 12 shows a
    month-first reader (its dates are turned back: ``2020-02-06`` → ``02/06/2020``); a stored
    date whose day is above 12 shows a day-first reader (no month-first reader makes one).
    Without either sign the stored date is taken as it is. A date whose day and month could be
    either way round, in a file showing both signs, is a problem of its row.
    """

    def __init__(self, items: set[str], body, item_columns):
        self.items = items
        columns = [column for column, code, _name in item_columns if code in items]
        text_late_day = stored_late_day = False
        for _line, cells in body:
            for column in columns:
                raw = cells[column].strip() if column < len(cells) else ""
                text = _DMY_RE.match(raw)
                stored = _ISO_DATE_RE.match(raw)
                text_late_day |= bool(text and int(text.group(1)) > 12)
                stored_late_day |= bool(stored and int(stored.group(3)) > 12)
        self.month_first = text_late_day and not stored_late_day
        self.conflict = text_late_day and stored_late_day

    def portal_text(self, raw: str) -> tuple[str, str | None]:
        """(the cell as the portal printed it, None) or (raw, why its date cannot be told)."""
        stored = _ISO_DATE_RE.match(raw.strip())
        if not stored:
            return raw, None
        year, first, second = stored.group(1), stored.group(2), stored.group(3)
        if first != second and int(second) <= 12 and self.conflict:
            return raw, ("holds a date a spreadsheet tool converted, and the file's other dates do not show "
                         "whether it read day or month first; download the report again and upload it unchanged")
        if self.month_first and int(second) <= 12:
            return f"{first}/{second}/{year}", None
        return f"{second}/{first}/{year}", None


def _facility_row(line: int, cells: list[str], descriptor_columns, item_columns, period: str | None,
                  period_problem: str | None, dates: _DateReading) -> PortalRow:
    problems: list[str] = []   # sentences from _screen, which never repeat the cell
    descriptors: dict[str, str] = {}
    lgd: dict[str, str] = {}
    where = f"row {line}"
    for column, key, header in descriptor_columns:
        raw = cells[column] if column < len(cells) else ""
        if _blank(raw):
            continue
        raw = raw.replace("\xa0", " ")
        if key == "nin" and re.fullmatch(r"\d{10}", raw.strip()):
            descriptors[key] = raw.strip()   # the facility's National Identification Number
            continue
        try:
            text = _screen(where, header, raw)
        except SubmissionError as exc:
            month = _month(raw) if key == "month" else None
            if month is None:
                problems.append(str(exc))
                continue
            # A month a spreadsheet turned into "2020-05-01 00:00:00" is a date, not an
            # identifier; it is kept as the month it names, not as printed.
            text = month
        if key in AREA_KEYS:
            coded = _LGD_RE.match(text)
            if coded:
                text = coded.group(1)
                lgd[key] = coded.group(2)
        descriptors[key] = text
    values: dict[str, str] = {}
    reported = False
    for column, code, _name in item_columns:
        raw = cells[column] if column < len(cells) else ""
        if _blank(raw):
            continue
        reported = True
        raw = raw.replace("\xa0", " ")
        if code in dates.items:
            raw, trouble = dates.portal_text(raw)
            if trouble:
                problems.append(f"{where}: the item {code} cell {trouble}")
                continue
        try:
            values[code] = _screen(where, f"item {code}", raw)
        except SubmissionError as exc:
            problems.append(str(exc))
    if period_problem:
        problems.append(f"{where}: {period_problem}")
    problem = None
    if problems:
        shown = "; ".join(problems[:_PROBLEMS_SHOWN])
        more = len(problems) - _PROBLEMS_SHOWN
        problem = f"{_who(descriptors, line)}: {shown}" + (f"; and {more} more cell(s) of this row" if more > 0 else "")
    return PortalRow(line=line, period=period, descriptors=descriptors, lgd=lgd, values=values,
                     reported=reported, problem=problem)


def _who(descriptors: dict[str, str], line: int) -> str:
    """The facility of a row, as a message names it (its cells were screened already)."""
    name, code = descriptors.get("facility_name"), descriptors.get("facility_code")
    if name and code:
        return f"facility '{redact(name, 60)}' (code {redact(code, 20)})"
    if name or code:
        return f"facility '{redact(name or code, 60)}'"
    return f"the facility on row {line}"


def _add_problem(row: PortalRow, sentence: str) -> None:
    if row.problem is None:
        row.problem = f"{_who(row.descriptors, row.line)}: row {row.line}: {sentence}"
    else:
        row.problem += f"; {sentence}"


def _is_total(cells: list[str], descriptor_columns) -> bool:
    filled = [_label(cells[c]) for c, _k, _h in descriptor_columns if c < len(cells) and not _blank(cells[c])]
    return bool(filled) and filled[0] in ("total", "grand total") and len(filled) <= 2


# --------------------------------------------------------------------------- entry points


def read_portal_report(data: bytes, filename: str, max_bytes: int) -> PortalReport:
    """Read the portal's facility-wise report from an HTML ".xls", an ``.xlsx`` or a CSV.

    The form is told by content, not by ``filename`` (used only in messages): a ZIP workbook is
    read as ``.xlsx``, text holding an HTML table as HTML, any other text as CSV. Raises
    :class:`SubmissionError` when the file is not such a report; problems of one facility's
    row are recorded on that row instead (see the module's notes).
    """
    if len(data) > max_bytes:
        raise SubmissionError(f"the file {redact(filename, 80)} is {len(data):,} bytes, over the limit of "
                              f"{max_bytes:,}; download the report for one district and facility type")
    form, rows = _grid(data, max_bytes)
    rows = [(line, cells) for line, cells in rows if any(not _blank(cell) for cell in cells)]
    header_index = _find_header(rows)
    if header_index is None:
        raise _not_a_report(rows)
    header_line, header = rows[header_index]
    known = [(c, DESCRIPTOR_KEYS[_label(cell)]) for c, cell in enumerate(header) if _label(cell) in DESCRIPTOR_KEYS]
    start, desc_end = known[0][0], known[-1][0] + 1
    located = _find_item_row(rows, header_index, desc_end)
    if located is None:
        raise SubmissionError(
            f"the descriptor header is on row {header_line}, but no item row follows it: the row under the "
            "header must name each item as its code and name ('1.1 Total number of pregnant women registered "
            "for ANC'); download the report again from the portal and upload it unchanged")
    item_index, first_item = located
    item_line, item_cells = rows[item_index]
    item_columns = _items(item_line, item_cells, first_item)

    descriptor_columns, used = [], Counter()
    for column in range(start, first_item):
        cell = header[column] if column < len(header) else ""
        if _blank(cell):
            continue
        printed = _screen_long(f"the header (row {header_line})", "descriptor", cell)
        key = DESCRIPTOR_KEYS.get(_label(printed)) or re.sub(r"[^a-z0-9]+", "_", _label(printed)).strip("_") \
            or f"column_{_column_name(column).lower()}"
        used[key] += 1
        if used[key] > 1:
            key = f"{key}_{used[key]}"
        descriptor_columns.append((column, key, f"'{printed}'"))
    month_column = next((c for c, k, _h in descriptor_columns if k == "month"), None)

    title, moment = _title_and_moment(rows[:header_index])

    # Facility rows run from below the item row to the footer.
    body, footer_rows = [], []
    for line, cells in rows[item_index + 1:]:
        if footer_rows or any(_footer_label(cell) for cell in cells if not _blank(cell)):
            footer_rows.append((line, cells))
        else:
            body.append((line, cells))
    footer = _read_footer(footer_rows)
    if moment is None and footer.get("dated"):
        moment = _moment(f"{footer['dated']} {footer.get('time', '')}")

    report_type = footer.get("report_type")
    if report_type and _label(report_type) != "across facility":
        raise SubmissionError(f"the footer says the report type is '{redact(report_type, 60)}'; this reader takes "
                              f"the '{REPORT_NAME}' (report type 'Across Facility') only")
    declared_footer = _months_named(footer["selected_period"]) if footer.get("selected_period") else None
    declared_title = _months_named(title) if title else None
    if declared_footer and declared_title and declared_footer != declared_title:
        raise SubmissionError(
            f"the title names {declared_title[0]} to {declared_title[-1]} but the footer's 'Selected Period' "
            f"{declared_footer[0]} to {declared_footer[-1]}; the file has been edited — download it again")
    declared = declared_footer or declared_title

    # The month of each row: a Month column, month headings, or the report's only month.
    headings = any(_heading_month(cells, start) for _line, cells in body)
    if month_column is None and not headings:
        if declared is None:
            raise SubmissionError("the report names no month: neither its title nor the footer's 'Selected "
                                  "Period' says which month it is; download it again from the portal")
        if len(declared) > 1:
            raise SubmissionError(
                f"the report covers {len(declared)} months ({declared[0]} to {declared[-1]}) but its rows do not "
                "say which month each is (no Month column, no month heading rows); download it one month at a time")

    dates = _DateReading({code for _c, code, name in item_columns if "DD/MM/YYYY" in name.upper()},
                         body, item_columns)
    parsed: list[PortalRow] = []
    current: str | None = None
    for line, cells in body:
        heading = _heading_month(cells, start)
        if heading:
            current = heading   # with a Month column too, a heading row is no facility's
            continue
        if _is_total(cells, descriptor_columns):
            continue
        period, period_problem = None, None
        if month_column is not None:
            cell = cells[month_column] if month_column < len(cells) else ""
            period = _month(cell) if not _blank(cell) else None
            if period is None:
                period_problem = ("the Month cell is blank" if _blank(cell) else
                                  "the Month cell is not a month (write it as Jun-2020)")
        elif headings:
            period = current
            if period is None:
                period_problem = "the row comes before the first month heading, so its month is unknown"
        else:
            period = declared[0]
        if period and declared and period not in declared:
            period_problem = f"the row is for {period}, outside the report's period {declared[0]} to {declared[-1]}"
        parsed.append(_facility_row(line, cells, descriptor_columns, item_columns, period, period_problem, dates))
    if not parsed:
        raise SubmissionError(f"the report has its header and item rows but no facility rows (row {item_line} "
                              "is the last before the footer); download it again with the facilities selected")

    periods = declared or tuple(sorted({row.period for row in parsed if row.period}))
    if not periods:
        raise SubmissionError("no row of the report says which month it is; download it again from the portal")

    # One facility type: the footer's, else the column's most common one.
    column_types = Counter(row.descriptors["facility_type"] for row in parsed if row.descriptors.get("facility_type"))
    facility_type = footer.get("facility_type") or (column_types.most_common(1)[0][0] if column_types else "")
    if not facility_type:
        raise SubmissionError("the report does not say which facility type it holds (no 'Facility Type' column or "
                              "footer); download it again from the portal")
    for row in parsed:
        printed = row.descriptors.get("facility_type")
        if printed and _label(printed) != _label(facility_type):
            _add_problem(row, f"the facility is a '{redact(printed, 60)}' but the report holds "
                              f"'{redact(facility_type, 60)}' facilities")

    # The same facility twice in one month: neither row can be trusted.
    seen: dict[tuple[str, str | None], list[PortalRow]] = {}
    for row in parsed:
        if row.facility_code:
            seen.setdefault((row.facility_code, row.period), []).append(row)
    for (code, period), twins in seen.items():
        if len(twins) > 1:
            lines = ", ".join(str(r.line) for r in twins)
            for row in twins:
                _add_problem(row, f"facility code {redact(code, 20)} appears {len(twins)} times for "
                                  f"{period or 'the same month'} (rows {lines})")

    return PortalReport(
        title=title, data_as_on=moment, periods=tuple(periods), facility_type=facility_type,
        items=tuple((code, name) for _c, code, name in item_columns), rows=parsed, form=form, footer=footer)


def to_submission_csv(report: PortalReport, row: PortalRow, facility_id: str) -> bytes:
    """One facility-month of the report as the project's long CSV
    (``facility_id,period,item_code,value``; docs/formats.md), items in the report's order,
    blank cells left out. ``facility_id`` is the registry's code for the row's facility.

    Raises :class:`SubmissionError` for a row with a problem (quarantine it instead), a row
    whose month is unknown, and a row that sent nothing (``reported`` False: there is no file
    to make; count it as not reported)."""
    who = row.facility_name or row.facility_code or f"row {row.line}"
    if row.problem:
        raise SubmissionError(f"the row of {redact(who, 60)} cannot be loaded: {row.problem}")
    if row.period is None:
        raise SubmissionError(f"the row of {redact(who, 60)} has no month; it cannot be loaded")
    if not row.reported:
        raise SubmissionError(f"{redact(who, 60)} sent nothing for {row.period} (every item cell is blank)")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(REQUIRED_COLUMNS)
    for code, _name in report.items:
        value = row.values.get(code)
        if value is not None:
            writer.writerow((facility_id, row.period, code, value))
    return buffer.getvalue().encode("utf-8")
