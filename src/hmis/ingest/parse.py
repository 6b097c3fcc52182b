"""Turn one submitted file into rows of the long table.

Parsing only checks what must hold to read the file at all (what kind of file it is, text
encoding, layout, columns) and screens every kept cell for things that must never travel
further: personal identifiers, spreadsheet formulas, multi-line or oversized cells.
Everything about the content is checked afterwards by the Great Expectations suite, once
for the whole batch. Problems are raised as :class:`SubmissionError` with a sentence a
facility's data operator can act on; no message ever repeats a cell that was screened out.

Three layouts are read: a long CSV (``facility_id,period,item_code,value``, and a
``sub_item`` column for stock items; see docs/formats.md), a DHIS2
``dataValueSets`` JSON document, and an Excel workbook (``.xlsx``) holding the same long
table on one sheet. Compressed uploads are never decompressed; a workbook (itself a ZIP
archive) is opened only after its declared uncompressed size is found within a limit, and
Python's ``zipfile`` never inflates an entry beyond its declared size.
"""

from __future__ import annotations

import csv
import io
import math
import re
import warnings
import zipfile
from contextlib import contextmanager
from datetime import date, datetime

import pandas as pd

REQUIRED_COLUMNS = ("facility_id", "period", "item_code", "value")
# A stock item's five rows are told apart by their sub-item; every other item has none.
OPTIONAL_COLUMNS = ("sub_item",)
OUTPUT_COLUMNS = ("row_no", "facility_id", "period", "item_code", "value_raw", "sub_item")

# Ten or more digits in a row (spaces and hyphens between them allowed) is no monthly count
# (those have at most nine) but reads like a mobile number, an RCH ID or an Aadhaar number.
IDENTIFIER_RE = re.compile(r"\d(?:[ \-]?\d){9,}")
MAX_CELL_CHARS = 100
# A workbook may expand to this many times the upload limit, and no further.
XLSX_EXPANSION = 10
XLSX_MAX_ENTRIES = 500
XLSX_MAX_SHEETS = 50
XLSX_MAX_ROWS = 100_000
XLSX_HEADER_SEARCH_ROWS = 10
NULL_MARKER = "\\N"  # a database null marker in a count cell is a broken export: refused with its reason

_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SEPARATORS = ((";", "semicolons"), ("\t", "tabs"), ("|", "pipes"))
# Leading bytes of the binary formats people upload by mistake.
_SIGNATURES = (
    (b"\x1f\x8b", "archive", "a gzip-compressed archive"),
    (b"\xfd7zXZ\x00", "archive", "an xz-compressed archive"),
    (b"7z\xbc\xaf\x27\x1c", "archive", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "archive", "a RAR archive"),
    (b"\x28\xb5\x2f\xfd", "archive", "a zstd-compressed archive"),
    (b"PK\x03\x04", "zip", "a ZIP archive"),
    (b"PK\x05\x06", "zip", "an empty ZIP archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "ole", "an old Excel 97-2003 (.xls) workbook"),
    (b"%PDF-", "binary", "a PDF document"),
    (b"\x89PNG", "binary", "a PNG image"),
    (b"\xff\xd8\xff", "binary", "a JPEG image"),
)


class SubmissionError(ValueError):
    """A file that cannot be read as a monthly submission; the message says why."""


# --------------------------------------------------------------------------- what kind of file


def _sniff(data: bytes) -> tuple[str, str] | None:
    """(kind, description) of a known binary format, or None for anything else."""
    for magic, kind, description in _SIGNATURES:
        if data.startswith(magic):
            return kind, description
    if data[:3] == b"BZh" and data[3:4].isdigit():
        return "archive", "a bzip2-compressed archive"
    return None


def _is_workbook(data: bytes) -> bool:
    """Whether a ZIP archive holds an Excel workbook; reads only the archive's directory."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "xl/workbook.xml" in archive.namelist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return False


def _refuse_binary(data: bytes, named: str) -> None:
    """Raise for a known binary format uploaded where text (``named``: csv or json) was due."""
    found = _sniff(data)
    if found is None:
        return
    kind, description = found
    if kind == "zip" and _is_workbook(data):
        raise SubmissionError(
            f"the file is an Excel workbook saved under a .{named} name; upload it as .xlsx, "
            "or export it from Excel as CSV UTF-8"
        )
    if kind in ("archive", "zip"):
        raise SubmissionError(
            f"the file is {description}, not a .{named} text file; compressed uploads are never "
            "opened — upload the report itself, uncompressed"
        )
    if kind == "ole":
        raise SubmissionError(f"the file is {description}; save it as .xlsx or as CSV UTF-8 and upload again")
    raise SubmissionError(f"the file is binary ({description}), not a .{named} text file; "
                          "export the report as CSV UTF-8")


def _looks_utf16_without_bom(data: bytes) -> bool:
    sample = data[:400]
    if len(sample) < 8:
        return False
    even, odd = sample[0::2], sample[1::2]
    return odd.count(0) >= 0.9 * len(odd) or even.count(0) >= 0.9 * len(even)


def _decode(data: bytes, named: str = "csv") -> str:
    """The file as text, or a reason it is not UTF-8 text."""
    if not data:
        raise SubmissionError("the file is empty (0 bytes); upload the month's report again")
    if not data.strip():
        raise SubmissionError("the file is empty: it holds only blank lines or spaces")
    utf16 = SubmissionError(
        "the file is saved as UTF-16 (Excel's 'Unicode Text'); in Excel choose Save As → "
        "'CSV UTF-8 (Comma delimited)' and upload again"
    )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise utf16
    _refuse_binary(data, named)
    if _looks_utf16_without_bom(data):
        raise utf16
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise SubmissionError(
            f"the file is binary or damaged, not a CSV text file (line {line} holds a NUL byte); "
            "export the report as CSV UTF-8"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        byte = data[exc.start]
        raise SubmissionError(
            f"the file is not UTF-8 text: line {line} holds the byte 0x{byte:02X}, which UTF-8 cannot "
            "read (the file looks saved as Latin-1 / Windows 'ANSI'); save it as CSV UTF-8 and upload again"
        ) from None
    control = _CONTROL_RE.search(text)
    if control:
        line = text[: control.start()].count("\n") + 1
        raise SubmissionError(
            f"line {line} holds the control character U+{ord(control.group()):04X}; the file is damaged "
            "or not plain text — export the report as CSV UTF-8"
        )
    return text


# --------------------------------------------------------------------------- cells


def redact(text: str, limit: int = 120) -> str:
    """``text`` safe to repeat in a message: long digit runs removed, length capped."""
    cleaned = IDENTIFIER_RE.sub("[number removed]", text)
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def _screen(where: str, column: str, text: str) -> str:
    """Check one kept cell; return it stripped, or raise without repeating its content."""
    if IDENTIFIER_RE.search(text):
        digits = max(len(re.sub(r"\D", "", m.group())) for m in IDENTIFIER_RE.finditer(text))
        raise SubmissionError(
            f"{where}: the {column} cell holds a {digits}-digit number; a monthly count has at most 9 digits, "
            "and a number this long looks like a personal identifier (RCH ID, Aadhaar, mobile number), "
            "which an HMIS monthly report must never contain (the cell is not repeated here)"
        )
    if "\n" in text or "\r" in text:
        raise SubmissionError(
            f"{where}: the {column} cell runs over several lines — is a quote (\") opened and never "
            "closed? Codes and counts fit on one line"
        )
    stripped = text.strip()
    if stripped[:1] in ("=", "@") or (stripped[:1] in ("+", "-") and stripped[1:2].isalpha()):
        raise SubmissionError(
            f"{where}: the {column} cell holds a spreadsheet formula (it starts with '{stripped[0]}'); "
            "formulas are never accepted — copy the sheet and paste values only"
        )
    if len(stripped) > MAX_CELL_CHARS:
        raise SubmissionError(
            f"{where}: the {column} cell holds {len(stripped):,} characters; codes and counts are short "
            f"(at most {MAX_CELL_CHARS})"
        )
    if stripped == NULL_MARKER:
        raise SubmissionError(
            f"{where}: the {column} cell holds '\\N', a database null marker; write the count (0 if none)"
        )
    return stripped


_FORMULA_START_RE = re.compile(r"(?:^|,)[ \t]*(?:[=@]|[+-][A-Za-z])", re.MULTILINE)
_FORMULA_MARKS = ("=", "@", ",+", ",-", "\n+", "\n-", " +", " -", "\t+", "\t-")
_DIGIT_RUN_RE = re.compile(r"\d[\d \-]{9,}")  # anything IDENTIFIER_RE can match starts like this


def _plainly_safe(text: str) -> bool:
    """True when no cell of the whole text can fail :func:`_screen`: no identifier-like
    digit run, no quotes (so no cell spans lines), no null marker, no formula start and no
    line longer than a cell may be. Clean files, the usual case, then skip the per-cell
    checks, which otherwise cost half of parsing."""
    if '"' in text or NULL_MARKER in text:
        return False
    # Cheap look-outs first; the exact patterns run only where they might match.
    if _DIGIT_RUN_RE.search(text) and IDENTIFIER_RE.search(text):
        return False
    if any(mark in text for mark in _FORMULA_MARKS) and _FORMULA_START_RE.search(text):
        return False
    return max(map(len, text.splitlines()), default=0) <= MAX_CELL_CHARS


def _records(rows: list[tuple[int, list[str]]], positions: list[int | None], label: str,
             screened: bool = False) -> list[tuple]:
    """(line, facility_id, period, item_code, value, sub_item) per row: the long table's
    records. A position of None is a column the file does not have (its cells are None)."""
    columns = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
    if screened:
        return [(number, *(None if pos is None else row[pos].strip() for pos in positions)) for number, row in rows]
    return [
        (number, *(None if pos is None else _screen(f"{label} {number}", col, row[pos])
                   for col, pos in zip(columns, positions)))
        for number, row in rows
    ]


def _frame(records: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame.from_records(records, columns=list(OUTPUT_COLUMNS))


def _header_positions(header: list[str]) -> list[int | None]:
    """Positions of the required and optional columns in a normalised header (None for an
    optional column the file does not have), or a reason a required one is not there."""
    missing = [col for col in REQUIRED_COLUMNS if col not in header]
    if missing:
        if len(missing) == len(REQUIRED_COLUMNS) and len(header) == len(REQUIRED_COLUMNS):
            raise SubmissionError(
                "the header line is missing: the first line must be "
                f"{','.join(REQUIRED_COLUMNS)} and the data start on the next line"
            )
        found = redact(",".join(header)) or "nothing"
        raise SubmissionError(
            f"missing column(s) {', '.join(missing)}; the header must be "
            f"{','.join(REQUIRED_COLUMNS)} (found {found})"
        )
    named = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
    duplicated = sorted({col for col in header if header.count(col) > 1 and col in named})
    if duplicated:
        raise SubmissionError(f"column(s) {', '.join(duplicated)} appear more than once in the header")
    return [header.index(col) if col in header else None for col in named]


def _normalise_header(cells: list) -> list[str]:
    return [str(cell if cell is not None else "").strip().lstrip("\ufeff").lower() for cell in cells]


def _trim_trailing_empty(cells: list[str]) -> list[str]:
    """Without the empty cells at the end, which spreadsheets add after the last column."""
    end = len(cells)
    while end and not cells[end - 1].strip():
        end -= 1
    return cells[:end]


# --------------------------------------------------------------------------- CSV


def _csv_rows(text: str) -> list[tuple[int, list[str]]]:
    """(first line number, cells) of every record; a quoted cell may span lines."""
    reader = csv.reader(io.StringIO(text, newline=""))
    rows, last_line = [], 0
    try:
        for row in reader:
            rows.append((last_line + 1, row))
            last_line = reader.line_num
    except csv.Error as exc:
        raise SubmissionError(f"the CSV is malformed near line {last_line + 1}: {exc}") from None
    return rows


def _csv_records(data: bytes) -> list[tuple]:
    """Parse a long CSV (``facility_id,period,item_code,value``) into the long table.

    Extra columns are allowed and ignored; trailing empty cells (as Excel writes them) are
    dropped; every other row must have the header's width.
    """
    text = _decode(data, "csv")
    rows = _csv_rows(text)
    while rows and not any(cell.strip() for cell in rows[0][1]):
        rows.pop(0)  # blank lines before the header
    if not rows:
        raise SubmissionError("the file is empty: it holds only blank lines or spaces")
    header = _trim_trailing_empty(_normalise_header(rows[0][1]))
    if len(header) == 1:
        for sep, name in _SEPARATORS:
            if sep in header[0]:
                raise SubmissionError(f"columns are separated by {name}; use commas")
    positions = _header_positions(header)
    body = [(number, row) for number, row in rows[1:] if any(cell.strip() for cell in row)]
    if not body:
        raise SubmissionError("the file has a header but no data rows")
    width = len(header)
    checked = []
    for number, row in body:
        if len(row) > width and not _trim_trailing_empty(row[width:]):
            row = row[:width]
        if len(row) != width:
            hint = ("; a value with a comma (such as 1,234) must be written without separators"
                    if len(row) > width else "")
            raise SubmissionError(f"line {number} has {len(row)} fields but the header has {width}{hint}")
        checked.append((number, row))
    return _records(checked, positions, "line", screened=_plainly_safe(text))


# --------------------------------------------------------------------------- DHIS2 JSON


def _json_records(data: bytes, format_id: str | None = None) -> list[tuple]:
    """Parse a DHIS2 ``dataValueSets`` JSON document (period ``YYYYMM``, orgUnit, dataElement,
    categoryOptionCombo): ids are placed through the id-scheme mapping (:mod:`hmis.dhis2`) on
    the facility's own format (``format_id``) and sub-item; values that differ only by their
    category or attribute option combo stay apart.

    Numbers are kept as the text that was sent (``12.0`` stays ``12.0``), so validation
    judges what the facility wrote.
    """
    text = _decode(data, "json")
    if text.lstrip()[:1] not in ("{", "["):
        looks = "CSV text" if "," in text.split("\n", 1)[0] else "plain text"
        raise SubmissionError(f"the file is named .json but is {looks}, not JSON; upload a CSV as .csv")
    from hmis.dhis2.readers import long_records, parse_json, translate  # it imports this module

    return long_records(translate(parse_json(data), format_id=format_id))


def _dhis2_records(data: bytes, form: str, format_id: str | None) -> list[tuple]:
    """A DHIS2 ``dataValueSets`` CSV or ADX document as the long table's records."""
    from hmis.dhis2.readers import long_records, parse_data_value_set, translate  # it imports this module

    return long_records(translate(parse_data_value_set(data, form), format_id=format_id))


# --------------------------------------------------------------------------- Excel


def _open_workbook_archive(data: bytes, max_bytes: int) -> None:
    """Refuse a workbook whose archive would expand beyond the limit, before inflating anything."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
            names = {entry.filename for entry in entries}
    except (zipfile.BadZipFile, ValueError, OSError):
        raise SubmissionError("the file is named .xlsx but is a damaged ZIP archive; save the workbook again") from None
    if len(entries) > XLSX_MAX_ENTRIES:
        raise SubmissionError(
            f"the workbook holds {len(entries):,} parts (at most {XLSX_MAX_ENTRIES}); "
            "send one facility's month on one sheet")
    expanded, limit = sum(entry.file_size for entry in entries), XLSX_EXPANSION * max_bytes
    if expanded > limit:
        raise SubmissionError(
            f"the workbook would expand to {expanded:,} bytes, over the limit of {limit:,} "
            f"({len(data):,} bytes compressed); it was not opened — a monthly report is far smaller"
        )
    if "xl/workbook.xml" not in names:
        raise SubmissionError("the file is named .xlsx but is a ZIP archive, not an Excel workbook; "
                              "archives are never opened — upload the report itself")


def _cell_text(value, column: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (datetime, date)):
        # Excel turns a typed 2026-10 into the date 1 October 2026, and a typed date of last
        # supply (12/10/2026) into a date cell: give each back as the format writes it.
        if column == "period":
            return f"{value.year:04d}-{value.month:02d}"
        if column == "value":
            return f"{value.day:02d}/{value.month:02d}/{value.year:04d}"
        return value.isoformat()
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    return str(value)


@contextmanager
def open_worksheets(data: bytes, max_bytes: int, *, read_again: str = "save it again in Excel as .xlsx",
                    max_sheets: int = XLSX_MAX_SHEETS, one_sheet: str = "send one facility's month on one sheet"):
    """The worksheets of an uploaded workbook, read-only and never evaluating a formula: the
    archive's expansion is checked before anything is inflated, a damaged workbook or one with
    too many sheets is refused (``read_again`` and ``one_sheet`` finish those sentences), and
    the workbook is closed afterwards. Every reader of workbooks opens them here."""
    _open_workbook_archive(data, max_bytes)
    import openpyxl  # only a workbook needs it

    with warnings.catch_warnings():
        # Portal workbooks have no default style, which openpyxl warns about on every read.
        warnings.simplefilter("ignore", UserWarning)
        try:
            workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
        except Exception as exc:  # openpyxl raises many kinds for a damaged workbook
            raise SubmissionError(f"the Excel workbook could not be read ({type(exc).__name__}); {read_again}") from None
        try:
            sheets = workbook.worksheets
            if len(sheets) > max_sheets:
                raise SubmissionError(f"the workbook has {len(sheets)} sheets (at most {max_sheets}); {one_sheet}")
            yield sheets
        finally:
            workbook.close()


def _xlsx_records(data: bytes, max_bytes: int = 5 * 1024 * 1024) -> list[tuple]:
    """Parse an Excel workbook holding the long table on one sheet.

    The sheet is the one whose header row (within its first rows) names the four columns;
    row numbers in messages are Excel's. Formula cells are refused, never evaluated.
    """
    with open_worksheets(data, max_bytes) as sheets:
        if not sheets:
            raise SubmissionError("the workbook has no worksheet; put the month's report on one sheet")
        found = []
        for number, sheet in enumerate(sheets, start=1):
            for row_no, cells in enumerate(sheet.iter_rows(max_row=XLSX_HEADER_SEARCH_ROWS, max_col=50,
                                                           values_only=True), start=1):
                header = _normalise_header(list(cells))
                if all(col in header for col in REQUIRED_COLUMNS):
                    found.append((number, sheet, row_no, header))
                    break
        if not found:
            raise SubmissionError(
                f"none of the workbook's {len(sheets)} sheet(s) has the header row "
                f"{', '.join(REQUIRED_COLUMNS)} in its first {XLSX_HEADER_SEARCH_ROWS} rows")
        if len(found) > 1:
            raise SubmissionError(
                f"{len(found)} of the workbook's {len(sheets)} sheets (numbers "
                f"{', '.join(str(f[0]) for f in found)}) each hold a report; send one facility's month per file")
        _number, sheet, header_row, header = found[0]
        header = _trim_trailing_empty(header)
        positions = _header_positions(header)
        rows = []
        for row_no, cells in enumerate(sheet.iter_rows(min_row=header_row + 1, max_row=XLSX_MAX_ROWS + 1,
                                                       max_col=len(header), values_only=True),
                                       start=header_row + 1):
            texts = [_cell_text(value, header[i]) for i, value in enumerate(cells)]
            texts += [""] * (len(header) - len(texts))
            if any(t.strip() for t in texts):
                if row_no > XLSX_MAX_ROWS:
                    raise SubmissionError(f"the sheet has data beyond row {XLSX_MAX_ROWS:,}; a monthly report is far shorter")
                rows.append((row_no, texts))
    if not rows:
        raise SubmissionError("the sheet has a header row but no data rows")
    return _records(rows, positions, "row")


# --------------------------------------------------------------------------- entry point


def parse_csv(data: bytes) -> pd.DataFrame:
    """Parse a long CSV (``facility_id,period,item_code,value``) into the long table."""
    return _frame(_csv_records(data))


def parse_dhis2_json(data: bytes, format_id: str | None = None) -> pd.DataFrame:
    """Parse a DHIS2 ``dataValueSets`` document into the long table."""
    return _frame(_json_records(data, format_id))


def parse_xlsx(data: bytes, max_bytes: int = 5 * 1024 * 1024) -> pd.DataFrame:
    """Parse the one-sheet long layout of an ``.xlsx`` workbook into the long table."""
    return _frame(_xlsx_records(data, max_bytes))


# A file exactly as the portal's CSV template writes it: the four columns in order, then
# lines of four non-empty cells made only of letters, digits and . _ / - (no spaces, quotes,
# blank lines, backslashes or extra columns). Most submissions look like this. A file with
# stock items has a fifth column, the sub-item: empty, or words with single inner spaces
# ("1. Balance From Previous Month"), so no cell has spaces to strip.
_CANONICAL_HEADER = ",".join(REQUIRED_COLUMNS)
_CANONICAL_HEADER_SUB = ",".join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)
_CANONICAL_CELL = r"[A-Za-z0-9._/\-]+"
_CANONICAL_SUB_CELL = r"(?:[A-Za-z0-9.]+(?: [A-Za-z0-9.]+)*)?"
_CANONICAL_LINE = rf"{_CANONICAL_CELL},{_CANONICAL_CELL},{_CANONICAL_CELL},{_CANONICAL_CELL}"
_CANONICAL_BODY_RE = re.compile(rf"(?:{_CANONICAL_LINE}\n)*{_CANONICAL_LINE}")
_CANONICAL_LINE_SUB = rf"{_CANONICAL_LINE},{_CANONICAL_SUB_CELL}"
_CANONICAL_BODY_SUB_RE = re.compile(rf"(?:{_CANONICAL_LINE_SUB}\n)*{_CANONICAL_LINE_SUB}")


def staging_lines(data: bytes, extension: str, max_bytes: int, file_id: int) -> tuple[str, int] | None:
    """The rows of a canonical CSV file as COPY-ready CSV lines
    (``file_id,line,facility_id,period,item_code,value,sub_item``) and their count, or None when the
    file needs :func:`parse_records` (any other shape, and every file with a problem).

    For the files it takes, the lines hold exactly the values :func:`parse_records` returns
    (tests/unit/test_parse_fast.py checks both on the same files): no cell has spaces to
    strip, quotes to undo, or a null marker, and :func:`_plainly_safe` rules out identifiers
    and formulas as it does there. Unquoted, such a cell is the same text to COPY as quoted.
    It skips building a tuple per row, which is most of the cost of parsing a clean file."""
    if extension.lower() != "csv" or not data or len(data) > max_bytes:
        return None
    try:
        text = _decode(data, "csv")
    except SubmissionError:
        return None
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    header, _, body = text.rstrip("\n").partition("\n")
    if header == _CANONICAL_HEADER:
        pattern, suffix = _CANONICAL_BODY_RE, ",\\N"   # no sub-item column: NULL, as parse_records gives None
    elif header == _CANONICAL_HEADER_SUB:
        pattern, suffix = _CANONICAL_BODY_SUB_RE, ""
    else:
        return None
    if not pattern.fullmatch(body) or not _plainly_safe(text):
        return None
    lines = body.split("\n")
    prefix = f"{int(file_id)},"
    return "".join([f"{prefix}{number},{line}{suffix}\n" for number, line in enumerate(lines, 2)]), len(lines)


def parse_submission(data: bytes, extension: str, max_bytes: int, format_id: str | None = None) -> pd.DataFrame:
    """Parse a file of the given type into the long table (see :func:`parse_records`)."""
    return _frame(parse_records(data, extension, max_bytes, format_id))


def parse_records(data: bytes, extension: str, max_bytes: int, format_id: str | None = None) -> list[tuple]:
    """Parse a file of the given type (``csv``, ``json``, ``xml`` (DHIS2 ADX) or ``xlsx``;
    a CSV may be a DHIS2 dataValueSets CSV), enforcing the size
    limit first; raise :class:`SubmissionError` with the reason if it cannot be read.
    Returns (line, facility_id, period, item_code, value, sub_item) tuples — the loader streams them
    straight into COPY without building a frame per file."""
    if len(data) > max_bytes:
        raise SubmissionError(
            f"the file is {len(data):,} bytes, over the limit of {max_bytes:,}; "
            "send one facility's month per file"
        )
    extension = extension.lower()
    if not data:
        raise SubmissionError(f"the file is empty (0 bytes) although it is named .{extension}; "
                              "upload the month's report again")
    if extension == "xlsx":
        found = _sniff(data)
        if found is None or found[0] != "zip":
            what = found[1] if found else "text or an unknown format"
            raise SubmissionError(f"the file is named .xlsx but is {what}, not an Excel workbook; "
                                  "upload it under the name its format has (.csv for CSV text)")
        return _xlsx_records(data, max_bytes)
    if extension == "json":
        return _json_records(data, format_id)
    if extension == "xml":
        return _dhis2_records(data, "adx", format_id)
    from hmis.dhis2.readers import looks_like_dhis2_csv  # it imports this module

    if looks_like_dhis2_csv(data):
        return _dhis2_records(data, "csv", format_id)
    return _csv_records(data)
