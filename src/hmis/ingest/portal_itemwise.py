"""Read the portal's district-level "Data ItemWise Report": items in rows, areas in column groups.

The report ("C2. Data Itemwise Monthly (up to sub district)") holds one month, or with its
"B.Cummulative" variant the financial year to date, for an area and the areas inside it (the
state and its districts, or a district and its blocks / sub-districts). Its title rows give
the state, "Provisional Figures for - 2021-2022 and Month - Apr-2021" ("Month - Apr-2021 To
Jun-2021" in the cumulative variant) and "Status As On: 21 Jun 2023,10:49:13". Then a
header: a row naming the kind of area ("Districts"), a row of area names each spanning five
columns (``Hisar(63)``: the LGD code in parentheses), and a row of the five labels Total /
Public / Private / Urban / Rural under each. Then one row per item of the 2017 consolidation:
section, item code written with a leading apostrophe (``'1.1``), item name and sub-item
(``TOTAL``, or one of the five stock rows of M17-M20).

It is downloaded as an HTML table named ``.xls``, as ``.xlsx`` (whose sheet declares the size
``A1`` whatever it holds) and in CSV re-saves by other tools (an extra index column, ``1,234``
or ``1234.0`` for a number). The reader finds rows and columns by what they hold, never by
position, and reads the file's content whatever its name says.

What stops the reader (no item rows, no area header, no month in the title, a damaged file)
raises :class:`SubmissionError` with a sentence saying what to do. What concerns one cell or
one row (text where a count belongs, an item code the consolidation does not know, a repeated
row) is listed in :attr:`ItemwiseReport.problems` and that cell or row is left out of
:attr:`ItemwiseReport.values`; the rest of the report is read. No message repeats a cell the
screen of :func:`hmis.ingest.parse._screen` turned away (identifier-like numbers, formulas).
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from html.parser import HTMLParser

from hmis.ingest.parse import SubmissionError, _decode, _screen, open_worksheets, redact
from hmis.reference.formats import STOCK_SUB_ITEMS, TOTAL, format_title, load_catalogue
from hmis.reference.periods import REPORTING_TZ, format_period

# The five columns of each area, in the portal's order.
COLUMNS = ("total", "public", "private", "urban", "rural")
COLUMN_LABELS = {"total": "Total", "public": "Public", "private": "Private", "urban": "Urban", "rural": "Rural"}
# A real report has 540 item rows and at most a few hundred columns (a state's districts x 5).
MAX_ROWS = 20_000
MAX_COLUMNS = 2_000
MAX_CELLS = 4_000_000
MAX_SHEETS = 20
MAX_SPAN = 1_000
# Per-cell problems listed one by one before the rest are only counted.
MAX_CELL_PROBLEMS = 100

_MONTHS = {name: number for number, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
_CODE_RE = re.compile(r"^\d{1,2}(?:\.(?:\d{1,3}|[a-z]))+$")
_APOSTROPHES = "'\u2018\u2019`"
_LGD_RE = re.compile(r"^(?P<name>.*?)\s*\(\s*(?P<lgd>\d{1,9})\s*\)$")
_TITLE_RE = re.compile(r"data\s*item\s*-?\s*wise\s+report\s+(?:for|of)\s*[-:]?\s*(?P<state>.+?)"
                       r"(?=\s+(?:provisional|final|figures|status\s+as|month)\b|$)", re.I)
_FY_RE = re.compile(r"figures\s+for\s*[-\u2013:]?\s*(?P<y1>\d{4})\s*[-\u2013/]\s*(?P<y2>\d{2}|\d{4})\b", re.I)
_MONTH_RE = re.compile(
    r"\bmonth\b\s*[-\u2013:]?\s*(?P<m1>[a-z]{3,9})\s*[-\u2013 ]\s*(?P<y1>\d{4})"
    r"(?:\s+(?:to|upto|up\s+to)\s+(?P<m2>[a-z]{3,9})\s*[-\u2013 ]\s*(?P<y2>\d{4}))?", re.I)
_STATUS_RE = re.compile(r"status\s+as\s+on\s*[:\-]?\s*(?P<when>.*\S)", re.I)
_CUMULATIVE_RE = re.compile(r"cum+ulative", re.I)
# The portal names its cumulative downloads "A-Haryana_UpTo_Apr.xlsx"; "up to sub district"
# (the report's own name) has a space and does not match.
_CUMULATIVE_NAME_RE = re.compile(r"cum+ulative|(?<![a-z])upto(?![a-z])", re.I)
_ORDINAL_RE = re.compile(r"(\d)(?:st|nd|rd|th)\b", re.I)
_STATUS_FORMATS = (
    "%d %b %Y %H:%M:%S", "%d %B %Y %H:%M:%S", "%d %b %Y %I:%M:%S %p", "%d %B %Y %I:%M:%S %p",
    "%d %b %Y %H:%M", "%d %B %Y %H:%M", "%d-%b-%Y %H:%M:%S", "%d-%m-%Y %H:%M:%S", "%d/%m/%Y %H:%M:%S",
    "%d-%m-%Y %I:%M:%S %p", "%d/%m/%Y %I:%M:%S %p", "%Y-%m-%d %H:%M:%S", "%d %b %Y", "%d %B %Y",
    "%d-%m-%Y", "%d/%m/%Y",
)
# A count as the portal, Excel and other tools write it: digits, Western (1,234,567) or Indian
# (12,34,567) thousands separators, and a ".0" a float re-save adds. Stock balances of a whole
# area can be negative in the portal's own figures, so a minus sign is read (validation judges).
_INTEGER_RE = re.compile(r"^(?P<sign>-?)(?P<digits>\d+|\d{1,3}(?:,\d{3})+|\d{1,2}(?:,\d{2})*,\d{3})(?:\.0+)?$")


@dataclass(frozen=True, slots=True)
class ItemwiseValue:
    """One cell of the report: an area's column of one item row."""

    area: str              # as printed, without its LGD code
    lgd: str | None        # the LGD code printed in parentheses, as digits
    item_code: str         # without the leading apostrophe: "1.1"
    sub_item: str          # TOTAL, or the stock sub-item ("1. Balance From Previous Month")
    column: str            # one of COLUMNS
    value: int | None      # None: the cell is blank
    raw: str               # the cell as read ("" when blank)


@dataclass
class ItemwiseReport:
    state: str | None
    financial_year: str                          # "2021-2022"
    period: str                                  # YYYY-MM: the month, or the last month of the cumulation
    cumulative: bool                             # financial year to date rather than the month alone
    status_as_on: datetime | None                # when the portal drew the figures (Asia/Kolkata)
    areas: tuple[tuple[str, str | None], ...]    # (name, LGD code or None), in the report's order
    values: list[ItemwiseValue]
    problems: list[str] = field(default_factory=list)
    area_label: str | None = None                # what the areas are, as printed: "Blocks", "Districts"


# --------------------------------------------------------------------------- the file as a grid


class _Grid:
    """The rows of one sheet or table: (number, cells), numbered as the file numbers them."""

    def __init__(self, rows: list[tuple[int, list]], unit: str):
        self.rows, self.unit = rows, unit


def _text(cell) -> str:
    """A descriptor cell as text, whitespace (including the HTML ``&nbsp;``) collapsed."""
    if cell is None:
        return ""
    if isinstance(cell, float) and math.isfinite(cell) and cell.is_integer():
        cell = int(cell)
    return " ".join(str(cell).split())


class _TableParser(HTMLParser):
    """Every ``<tr>`` of an HTML document as a row of cell texts, spans expanded (a cell spanning
    columns or rows is repeated in each, as a reader sees it); text outside cells (a title in a
    heading or a caption) becomes a row of its own."""

    _BLOCKS = frozenset({"p", "div", "br", "h1", "h2", "h3", "h4", "h5", "h6", "li", "caption", "title", "hr"})

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.rows: list[list[str]] = []
        self._tables: list[dict] = []
        self._loose: list[str] = []
        self._skip = 0
        self._cells = 0

    # one open table: its carried row spans, the row and the cell being built
    @staticmethod
    def _table() -> dict:
        return {"carry": {}, "new": {}, "row": None, "cell": None, "span": (1, 1)}

    def _flush_loose(self) -> None:
        text = " ".join("".join(self._loose).split())
        self._loose = []
        if text:
            self.rows.append([text])

    def _close_cell(self, table: dict) -> None:
        if table["cell"] is None:
            return
        text = " ".join("".join(table["cell"]).split())
        colspan, rowspan = table["span"]
        row = table["row"]
        while len(row) in table["carry"]:
            row.append(table["carry"][len(row)][1])
        for _ in range(colspan):
            if rowspan > 1:
                table["new"][len(row)] = (rowspan - 1, text)
            row.append(text)
        self._cells += colspan
        if self._cells > MAX_CELLS or len(row) > MAX_COLUMNS:
            raise SubmissionError(f"the report's table is larger than a district report can be "
                                  f"(over {MAX_COLUMNS:,} columns or {MAX_CELLS:,} cells); download it again")
        table["cell"] = None

    def _close_row(self, table: dict) -> None:
        self._close_cell(table)
        row = table["row"]
        if row is None:
            return
        for col in sorted(table["carry"]):
            if col >= len(row):
                row.extend([""] * (col - len(row)))
                row.append(table["carry"][col][1])
        carry = {col: (left - 1, text) for col, (left, text) in table["carry"].items() if left > 1}
        carry.update(table["new"])
        table["carry"], table["new"], table["row"] = carry, {}, None
        self.rows.append(row)
        if len(self.rows) > MAX_ROWS:
            raise SubmissionError(f"the report has more than {MAX_ROWS:,} rows; a district report has about 550")

    @staticmethod
    def _span(attrs, name: str) -> int:
        for key, value in attrs:
            if key == name and value:
                digits = re.match(r"\s*(\d+)", value)
                if digits:
                    return max(1, min(int(digits.group(1)), MAX_SPAN))
        return 1

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
            return
        table = self._tables[-1] if self._tables else None
        if tag == "table":
            self._flush_loose()
            if table is not None:
                self._close_cell(table)   # a table inside a cell: the outer cell ends here
            self._tables.append(self._table())
        elif table is not None and tag == "tr":
            self._flush_loose()
            self._close_row(table)
            table["row"] = []
        elif table is not None and tag in ("td", "th"):
            self._flush_loose()
            self._close_cell(table)
            if table["row"] is None:
                table["row"] = []
            table["cell"] = []
            table["span"] = (self._span(attrs, "colspan"), self._span(attrs, "rowspan"))
        elif tag in self._BLOCKS:
            if table is not None and table["cell"] is not None:
                table["cell"].append(" ")
            else:
                self._flush_loose()

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
            return
        table = self._tables[-1] if self._tables else None
        if table is None:
            if tag in self._BLOCKS:
                self._flush_loose()
            return
        if tag in ("td", "th"):
            self._close_cell(table)
        elif tag == "tr":
            self._close_row(table)
        elif tag == "table":
            self._close_row(table)
            self._tables.pop()
        elif tag in self._BLOCKS and table["cell"] is None:
            self._flush_loose()

    def handle_data(self, data):
        if self._skip:
            return
        table = self._tables[-1] if self._tables else None
        if table is not None and table["cell"] is not None:
            table["cell"].append(data)
        else:
            self._loose.append(data)

    def finish(self) -> list[list[str]]:
        self.close()
        while self._tables:
            self._close_row(self._tables.pop())
        self._flush_loose()
        return self.rows


def _html_grid(text: str) -> list[_Grid]:
    parser = _TableParser()
    parser.feed(text)
    rows = parser.finish()
    return [_Grid([(number, cells) for number, cells in enumerate(rows, start=1)], "row")]


def _csv_grids(text: str) -> list[_Grid]:
    """The CSV read with each separator a re-save may use; the header finder picks the one that reads."""
    grids = []
    for delimiter in (",", ";", "\t"):
        if delimiter != "," and delimiter not in text:
            continue
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        rows, line = [], 0
        try:
            for cells in reader:
                rows.append((line + 1, cells))
                line = reader.line_num
                if len(rows) > MAX_ROWS:
                    raise SubmissionError(f"the report has more than {MAX_ROWS:,} rows; a district report has about 550")
                if len(cells) > MAX_COLUMNS:
                    raise SubmissionError(f"line {line} has {len(cells):,} columns; a district report has a few hundred")
        except csv.Error as exc:
            if delimiter == ",":
                raise SubmissionError(f"the CSV is malformed near line {line + 1}: {exc}") from None
            continue
        grids.append(_Grid(rows, "line"))
    return grids


def _xlsx_grids(data: bytes, max_bytes: int) -> list[_Grid]:
    grids = []
    with open_worksheets(data, max_bytes, max_sheets=MAX_SHEETS,
                         read_again="download the report again or save it again in Excel as .xlsx",
                         one_sheet="send the report as the portal gives it, on one sheet") as sheets:
        for sheet in sheets:
            # The portal's sheets declare the size "A1", which would hide all but one column.
            sheet.reset_dimensions()
            rows = []
            for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
                if number > MAX_ROWS:
                    raise SubmissionError(f"the sheet has more than {MAX_ROWS:,} rows; "
                                          "a district report has about 550")
                cells = list(cells)
                if len(cells) > MAX_COLUMNS:
                    if any(cell not in (None, "") for cell in cells[MAX_COLUMNS:]):
                        raise SubmissionError(f"row {number} has cells beyond column {MAX_COLUMNS:,}; "
                                              "a district report has a few hundred columns")
                    cells = cells[:MAX_COLUMNS]
                rows.append((number, cells))
            grids.append(_Grid(rows, "row"))
    return grids


def _grids(data: bytes, filename: str, max_bytes: int) -> list[_Grid]:
    """The file's sheets or tables, read by what the file is (its name may say otherwise)."""
    if len(data) > max_bytes:
        raise SubmissionError(f"the file is {len(data):,} bytes, over the limit of {max_bytes:,}; "
                              "a district's Data ItemWise Report is far smaller")
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _xlsx_grids(data, max_bytes)
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        raise SubmissionError("the file is an old binary Excel 97-2003 workbook, which is not read; "
                              "open it in Excel and save it as .xlsx, or upload the portal's own download "
                              "(its .xls is a web page, which is read)")
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "csv"
    text = _decode(data, extension if extension in ("csv", "xls", "html", "htm") else "csv")
    head = text.lstrip()[:2048].lower()
    if head.startswith("<") and ("<table" in text.lower() or "<tr" in head or "<html" in head):
        return _html_grid(text)
    return _csv_grids(text)


# --------------------------------------------------------------------------- the header


def _label(cell) -> str | None:
    """Which of the five columns a header cell names ("Total [(A+B) or (C+D)]", "Public [A]")."""
    if not isinstance(cell, str):
        return None
    text = _text(cell).casefold()
    for column in COLUMNS:
        if text == column or text.startswith((column + " ", column + "[", column + "(")):
            return column
    return None


@dataclass
class _Group:
    start: int
    columns: dict[str, int]          # column name -> position
    name: str = ""
    printed: str = ""
    lgd: str | None = None

    @property
    def positions(self) -> range:
        return range(self.start, self.start + len(COLUMNS))


def _groups(cells: list) -> tuple[list[_Group], list[int]]:
    """Runs of five cells naming the five columns (in any order), and the label cells outside them."""
    labels = [_label(cell) for cell in cells]
    groups, stray, col = [], [], 0
    while col < len(labels):
        window = labels[col:col + len(COLUMNS)]
        if len(window) == len(COLUMNS) and set(window) == set(COLUMNS):
            groups.append(_Group(col, {label: col + offset for offset, label in enumerate(window)}))
            col += len(COLUMNS)
            continue
        if labels[col] is not None:
            stray.append(col)
        col += 1
    return groups, stray


def _distinct_text(cells: list, positions: range) -> list[str]:
    found = []
    for pos in positions:
        text = _text(cells[pos]) if pos < len(cells) else ""
        if text and text not in found:
            found.append(text)
    return found


def _header(grid: _Grid) -> tuple[int, list[_Group], str | None] | None:
    """(index of the label row, area groups, area label) or None when the grid has no label row."""
    for index, (number, cells) in enumerate(grid.rows):
        groups, stray = _groups(cells)
        if not groups:
            continue
        if stray:
            columns = ", ".join(str(col + 1) for col in stray[:5])
            raise SubmissionError(
                f"{grid.unit} {number} labels columns Total / Public / Private / Urban / Rural, but column(s) "
                f"{columns} are not part of a group of all five; download the report again (columns look "
                "deleted or moved)")
        # The area names are the row right above the labels (a row further up names the kind of area).
        area_index = index - 1
        if area_index < 0 or not any(_distinct_text(grid.rows[area_index][1], g.positions) for g in groups):
            raise SubmissionError(
                f"{grid.unit} {number} labels the columns Total / Public / Private / Urban / Rural but no row above "
                "it names the areas (district, blocks); download the report again with its header rows")
        area_number, area_cells = grid.rows[area_index]
        for group in groups:
            names = _distinct_text(area_cells, group.positions)
            span = f"columns {group.start + 1}-{group.start + len(COLUMNS)}"
            if not names:
                raise SubmissionError(f"{grid.unit} {area_number} names no area above {span}; "
                                      "each group of five columns must be headed by its area's name")
            if len(names) > 1:
                raise SubmissionError(f"{grid.unit} {area_number} names {len(names)} areas above {span}, one "
                                      "group of five columns; the header is shifted — download the report again")
            printed = _screen(f"{grid.unit} {area_number}", "area name", names[0])
            lgd = _LGD_RE.match(printed)
            group.printed = printed
            group.name, group.lgd = (lgd.group("name").strip(), lgd.group("lgd")) if lgd else (printed, None)
            if not group.name:
                raise SubmissionError(f"{grid.unit} {area_number} heads {span} with a code but no area name")
        seen: dict[tuple[str, str | None], str] = {}
        for group in groups:
            key = (group.name, group.lgd)
            if key in seen:
                raise SubmissionError(f"the area {redact(group.printed)} heads two groups of columns; "
                                      "each area appears once — download the report again")
            seen[key] = group.printed
        area_label = None
        if area_index > 0:
            labels = [text for g in groups for text in _distinct_text(grid.rows[area_index - 1][1], g.positions)]
            if labels and len(set(labels)) == 1:
                area_label = redact(labels[0], 60)
        return index, groups, area_label
    return None


# --------------------------------------------------------------------------- the title rows


def _month(name: str, year: str) -> tuple[int, int] | None:
    number = _MONTHS.get(name[:3].casefold())
    return (int(year), number) if number else None


def _status_as_on(text: str) -> datetime | None:
    cleaned = _ORDINAL_RE.sub(r"\1", text.replace(",", " ").replace(" at ", " "))
    cleaned = " ".join(cleaned.replace("hrs", "").split())
    for fmt in _STATUS_FORMATS:
        try:
            return datetime.strptime(cleaned, fmt).replace(tzinfo=REPORTING_TZ)
        except ValueError:
            continue
    return None


def _title(texts: list[str], filename: str, problems: list[str]) -> tuple[str | None, str, str, bool, datetime | None]:
    """(state, financial year, period, cumulative, status as on) from the rows above the header."""
    state = fy = months = status = None
    cumulative = bool(_CUMULATIVE_NAME_RE.search(filename))
    for text in texts:
        if state is None and (found := _TITLE_RE.search(text)):
            printed = found.group("state").strip(" -:")
            lgd = _LGD_RE.match(printed)
            state = redact((lgd.group("name") if lgd else printed).strip(), 80) or None
        if fy is None and (found := _FY_RE.search(text)):
            fy = found
        if months is None and (found := _MONTH_RE.search(text)):
            months = found
        if status is None and (found := _STATUS_RE.search(text)):
            status = found.group("when")
        if _CUMULATIVE_RE.search(text):
            cumulative = True
    example = "'Provisional Figures for - 2021-2022 and Month - Apr-2021'"
    first = _month(months.group("m1"), months.group("y1")) if months else None
    if first is None:
        raise SubmissionError(f"the title rows do not say which month the report holds (expected a row such as "
                              f"{example}); download the report again with its title rows")
    last = first
    if months.group("m2"):
        last = _month(months.group("m2"), months.group("y2"))
        if last is None:
            raise SubmissionError(f"the title's month range does not end in a month (expected {example[:-1]} "
                                  "To Jun-2021'); download the report again")
    start_year = first[0] if first[1] >= 4 else first[0] - 1
    if fy is not None:
        y1, y2 = int(fy.group("y1")), fy.group("y2")
        y2 = int(y2) if len(y2) == 4 else (y1 // 100) * 100 + int(y2)
        if y2 != y1 + 1:
            raise SubmissionError(f"the title names the financial year {y1}-{y2}, which is not a financial year "
                                  "(April to March of two consecutive years); download the report again")
        start_year = y1
    financial_year = f"{start_year}-{start_year + 1}"
    in_year = [(start_year, m) for m in range(4, 13)] + [(start_year + 1, m) for m in range(1, 4)]
    for year, month in (first, last):
        if (year, month) not in in_year:
            raise SubmissionError(f"the title's month {format_period(year, month)} is not in the financial year "
                                  f"{financial_year} it names; download the report again")
    if in_year.index(last) < in_year.index(first):
        raise SubmissionError("the title's month range ends before it starts; download the report again")
    if last != first:
        if first != (start_year, 4):
            raise SubmissionError(
                f"the report sums the months {format_period(*first)} to {format_period(*last)}; only one month "
                "(the monthly report) or the financial year to date from April (the cumulative report) can be "
                "read — download one of those")
        cumulative = True
    status_as_on = None
    if status is not None:
        status_as_on = _status_as_on(status)
        if status_as_on is None:
            problems.append(f"the title's 'Status As On' moment ({redact(status, 40)}) could not be read as a date "
                            "and time; the report is read without it")
    return state, financial_year, format_period(*last), cumulative, status_as_on


# --------------------------------------------------------------------------- the item rows


def _code_of(cell) -> str | None:
    """The item code a cell holds ("'1.1" -> "1.1"), or None."""
    if isinstance(cell, float) and math.isfinite(cell) and not cell.is_integer():
        text = repr(cell)
    elif isinstance(cell, str):
        text = " ".join(cell.split()).lstrip(_APOSTROPHES).strip().lower()
    else:
        return None
    return text if _CODE_RE.match(text) else None


def _sub_key(text: str) -> str:
    return " ".join(text.split()).casefold()


_SUB_ITEMS = {_sub_key(sub): sub for sub in (TOTAL, *STOCK_SUB_ITEMS)}


def _column_of(rows: list[tuple[int, list]], positions: range, test) -> int | None:
    """The descriptor column most of whose cells pass ``test``."""
    counts = {pos: sum(1 for _, cells in rows if pos < len(cells) and test(cells[pos])) for pos in positions}
    best = max(counts, key=lambda pos: (counts[pos], -pos), default=None)
    return best if best is not None and counts[best] else None


def _value(cell, where: str) -> tuple[int | None, str, str | None]:
    """(value, raw text, problem sentence or None) of one area cell."""
    if cell is None:
        return None, "", None
    if isinstance(cell, bool):
        return None, "", f"{where}: the cell holds TRUE/FALSE, not a count; write the count in digits"
    if isinstance(cell, (datetime, date, time)):
        return None, "", f"{where}: the cell holds a date, not a count; write the count in digits"
    if isinstance(cell, float) and not math.isfinite(cell):
        return None, "", f"{where}: the cell holds no number; write the count in digits"
    raw = repr(cell) if isinstance(cell, float) else str(cell)
    try:
        text = _screen(where, "value", raw)
    except SubmissionError as exc:
        return None, "", str(exc)
    if not text:
        return None, "", None
    if isinstance(cell, int):
        return cell, text, None
    if isinstance(cell, float):
        if cell.is_integer():
            return int(cell), text, None
        return None, "", f"{where}: the cell holds {redact(text, 30)}, not a whole number; counts are whole numbers"
    number = _INTEGER_RE.match(text)
    if number:
        return int(number.group("sign") + number.group("digits").replace(",", "")), text, None
    return None, "", (f"{where}: the cell holds '{redact(text, 30)}', which is not a whole number; write the "
                      "count in digits, or leave it blank when nothing was reported")


def _has_values(cells: list, positions: list[int]) -> bool:
    return any(pos < len(cells) and _text(cells[pos]) for pos in positions)


def _not_a_code(unit: str, number: int, text: str) -> str:
    """What a row's item code cell holds instead of a code, in words that never repeat a screened cell."""
    if not text:
        return "no item code"
    try:
        _screen(f"{unit} {number}", "item code", text)
    except SubmissionError:
        return "something other than an item code (not repeated here)"
    return f"'{redact(text, 30)}', not an item code such as '1.1"


def _rows_phrase(unit: str, numbers: list[int]) -> str:
    if len(numbers) == 1:
        return f"{unit} {numbers[0]}"
    shown = ", ".join(str(n) for n in numbers[:5]) + (", …" if len(numbers) > 5 else "")
    return f"{unit}s {shown}"


def _read_items(grid: _Grid, label_index: int, groups: list[_Group], problems: list[str]) -> list[ItemwiseValue]:
    catalogue = load_catalogue()
    anchor = catalogue.anchor
    body = grid.rows[label_index + 1:]
    descriptors = range(0, groups[0].start)
    code_col = _column_of(body, descriptors, lambda cell: _code_of(cell) is not None)
    if code_col is None:
        raise SubmissionError(
            "the report has no item rows: no row under the header holds an item code such as '1.1 in the columns "
            "before the first area; download the Data ItemWise Report again (the item columns look deleted)")
    sub_col = _column_of(body, (p for p in descriptors if p != code_col),
                         lambda cell: isinstance(cell, str) and _sub_key(cell) in _SUB_ITEMS)
    unit = grid.unit
    values: list[ItemwiseValue] = []
    cell_problems: list[str] = []
    unknown: dict[str, list[int]] = {}
    seen: dict[tuple[str, str], int] = {}
    previous: str | None = None   # the item code of the row above, for stock rows printed without it
    items = 0
    positions = [pos for group in groups for pos in group.positions]
    for number, cells in body:
        code_cell = cells[code_col] if code_col < len(cells) else None
        code_text = _text(code_cell)
        code = _code_of(code_cell)
        sub_text = _text(cells[sub_col]) if sub_col is not None and sub_col < len(cells) else ""
        sub_item = _SUB_ITEMS.get(_sub_key(sub_text), sub_text) if sub_text else TOTAL
        if code is None and not code_text and sub_item in STOCK_SUB_ITEMS[1:] and previous is not None:
            code = previous   # a stock item's later rows under a merged code cell
        if code is None:
            previous = None
            if _has_values(cells, positions):
                problems.append(f"{unit} {number} holds values but its item code cell holds "
                                f"{_not_a_code(unit, number, code_text)}; the row was not read")
            continue
        previous = code
        try:
            sub_item = _screen(f"{unit} {number} (item {code})", "sub-item", sub_item)
        except SubmissionError as exc:
            problems.append(f"{exc}; the row was not read")
            continue
        if isinstance(code_cell, float):
            # Excel turned the code into a number: 14.1 and 14.10 can no longer be told apart.
            padded = [c for c in (code, code + "0") if catalogue.item(anchor, c) is not None]
            if len(padded) > 1:
                problems.append(f"{unit} {number}: the item code is stored as the number {code}, which could be "
                                f"{code} or {code}0; the row was not read — write codes as text ('{code})")
                continue
            code = padded[0] if padded else code
        items += 1
        item = catalogue.item(anchor, code)
        if item is None:
            unknown.setdefault(code, []).append(number)
            continue
        if sub_item not in item.disaggregations:
            expected = ("TOTAL" if item.disaggregations == (TOTAL,)
                        else "one of " + "; ".join(item.disaggregations))
            problems.append(f"{unit} {number}: item {code} has no sub-item '{redact(sub_item, 40)}' in the "
                            f"consolidation (expected {expected}); the row was not read")
            continue
        key = (code, sub_item)
        if key in seen:
            problems.append(f"{unit} {number} repeats item {code} ({sub_item}) of {unit} {seen[key]}; "
                            "the repeat was not read")
            continue
        seen[key] = number
        described = code if sub_item == TOTAL else f"{code}, {sub_item}"
        for group in groups:
            for column in COLUMNS:
                pos = group.columns[column]
                where = f"{unit} {number} (item {described}), {group.printed} {COLUMN_LABELS[column]}"
                value, raw, problem = _value(cells[pos] if pos < len(cells) else None, where)
                if problem is not None:
                    cell_problems.append(problem)
                    continue
                values.append(ItemwiseValue(group.name, group.lgd, code, sub_item, column, value, raw))
    if not items:
        raise SubmissionError(
            "the report has no item rows: no row under the header holds an item code such as '1.1; "
            "download the Data ItemWise Report again")
    title = format_title(anchor)
    for code, numbers in unknown.items():
        problems.append(f"{_rows_phrase(unit, numbers)}: item code {code} is not in the {title}; its values were "
                        "not read (is the report of another format or year?)")
    problems.extend(cell_problems[:MAX_CELL_PROBLEMS])
    if len(cell_problems) > MAX_CELL_PROBLEMS:
        problems.append(f"… and {len(cell_problems) - MAX_CELL_PROBLEMS:,} more cells that hold no count "
                        "(not listed one by one)")
    return values


# --------------------------------------------------------------------------- entry point


def read_itemwise_report(data: bytes, filename: str, max_bytes: int) -> ItemwiseReport:
    """Read one Data ItemWise Report (HTML ``.xls``, ``.xlsx`` or CSV); see the module docstring.

    Raises :class:`SubmissionError` when the file cannot be read as the report at all."""
    found = []
    for grid in _grids(data, filename, max_bytes):
        header = _header(grid)
        if header is not None:
            found.append((grid, header))
            if grid.unit == "line":
                break   # the first separator that reads is the file's
    if not found:
        raise SubmissionError(
            "the file has no area header: no row labels the columns Total / Public / Private / Urban / Rural under "
            "the area names; download the portal's Data ItemWise Report again and upload it unchanged")
    if len(found) > 1:
        raise SubmissionError(f"the workbook holds {len(found)} reports (one per sheet); upload one report per file")
    grid, (label_index, groups, area_label) = found[0]
    problems: list[str] = []
    texts = [_text(cell) for _, cells in grid.rows[:label_index] for cell in cells if isinstance(cell, str)]
    state, financial_year, period, cumulative, status_as_on = _title([t for t in texts if t], filename, problems)
    values = _read_items(grid, label_index, groups, problems)
    return ItemwiseReport(
        state=state, financial_year=financial_year, period=period, cumulative=cumulative,
        status_as_on=status_as_on, areas=tuple((g.name, g.lgd) for g in groups), values=values,
        problems=problems, area_label=area_label)
