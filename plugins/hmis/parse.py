"""Turn one submitted file into rows of the long table.

Parsing only checks what must hold to read the file at all (text encoding, layout,
columns). Everything about the content is checked afterwards by the Great Expectations
suite, once for the whole batch. Problems are raised as :class:`SubmissionError` with a
sentence a facility's data operator can act on.
"""

from __future__ import annotations

import csv
import io
import json

import pandas as pd

REQUIRED_COLUMNS = ("facility_id", "period", "item_code", "value")
OUTPUT_COLUMNS = ("row_no", "facility_id", "period", "item_code", "value_raw")


class SubmissionError(ValueError):
    """A file that cannot be read as a monthly submission; the message says why."""


def _decode(data: bytes) -> str:
    if not data.strip():
        raise SubmissionError("the file is empty")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SubmissionError("the file is saved as UTF-16; save it as CSV UTF-8 and upload again")
    if b"\x00" in data[:4096]:
        raise SubmissionError("the file is binary, not a CSV text file; export the report as CSV UTF-8")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SubmissionError(
            f"the file is not UTF-8 text (byte {exc.start + 1} cannot be read); "
            "save it as CSV UTF-8 and upload again"
        ) from None


def parse_csv(data: bytes) -> pd.DataFrame:
    """Parse a long CSV (``facility_id,period,item_code,value``) into the long table."""
    text = _decode(data)
    first_line = text.splitlines()[0] if text else ""
    if "," not in first_line:
        for sep, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "pipes")):
            if sep in first_line:
                raise SubmissionError(f"columns are separated by {name}; use commas")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise SubmissionError(f"the CSV is malformed: {exc}") from None
    header = [cell.strip().lower() for cell in rows[0]] if rows else []
    missing = [col for col in REQUIRED_COLUMNS if col not in header]
    if missing:
        raise SubmissionError(
            f"missing column(s) {', '.join(missing)}; the header must be "
            f"{','.join(REQUIRED_COLUMNS)} (found {','.join(header) or 'nothing'})"
        )
    duplicated = sorted({col for col in header if header.count(col) > 1 and col in REQUIRED_COLUMNS})
    if duplicated:
        raise SubmissionError(f"column(s) {', '.join(duplicated)} appear more than once in the header")
    body = [(number, row) for number, row in enumerate(rows[1:], start=2) if any(c.strip() for c in row)]
    if not body:
        raise SubmissionError("the file has a header but no data rows")
    width = len(header)
    for number, row in body:
        if len(row) != width:
            raise SubmissionError(f"line {number} has {len(row)} fields but the header has {width}")
    positions = [header.index(col) for col in REQUIRED_COLUMNS]
    records = [(number, *(row[pos].strip() for pos in positions)) for number, row in body]
    return pd.DataFrame.from_records(records, columns=list(OUTPUT_COLUMNS))


def parse_dhis2_json(data: bytes) -> pd.DataFrame:
    """Parse a DHIS2 ``dataValueSets`` document (period ``YYYYMM``, orgUnit, dataElement)."""
    text = _decode(data)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SubmissionError(f"the JSON is malformed at line {exc.lineno}: {exc.msg}") from None
    values = document.get("dataValues") if isinstance(document, dict) else None
    if not isinstance(values, list) or not values:
        raise SubmissionError("the JSON has no 'dataValues' list; send a DHIS2 dataValueSets document")
    records = []
    for number, entry in enumerate(values, start=1):
        if not isinstance(entry, dict):
            raise SubmissionError(f"dataValues entry {number} is not an object")
        period = str(entry.get("period", document.get("period", ""))).strip()
        if len(period) == 6 and period.isdigit():
            period = f"{period[:4]}-{period[4:]}"
        records.append(
            (
                number,
                str(entry.get("orgUnit", document.get("orgUnit", ""))).strip(),
                period,
                str(entry.get("dataElement", "")).strip(),
                str(entry.get("value", "")).strip(),
            )
        )
    return pd.DataFrame.from_records(records, columns=list(OUTPUT_COLUMNS))


def parse_submission(data: bytes, extension: str, max_bytes: int) -> pd.DataFrame:
    """Parse a file of the given type, enforcing the size limit first."""
    if len(data) > max_bytes:
        raise SubmissionError(
            f"the file is {len(data):,} bytes, over the limit of {max_bytes:,}; "
            "send one facility's month per file"
        )
    if extension == "json":
        return parse_dhis2_json(data)
    return parse_csv(data)
