"""The canonical-CSV fast path of parsing stages exactly what the general parser returns.

``staging_lines`` must either decline a file (None) or produce, read back as COPY would
read it, the same rows as ``parse_records``. Checked on every file of the demo landing
zone (which plants defects of every kind) and of a benchmark month, and on hand-made
edge cases.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime

import pytest

from benchmarks.generator import ScaleSpec
from benchmarks.generator import generate as generate_bench
from hmis.ingest.parse import SubmissionError, parse_records, staging_lines
from hmis.reference.periods import REPORTING_TZ
from hmis_dev.demo.generator import generate as generate_demo

pytestmark = pytest.mark.unit

MAX = 5_000_000
HEADER = b"facility_id,period,item_code,value\n"


def _read_back(text: str) -> list[tuple]:
    """The rows COPY would store from the fast path's lines (a bare \\N is NULL)."""
    return [(int(row[0]), int(row[1]), *(None if cell == "\\N" else cell for cell in row[2:]))
            for row in csv.reader(io.StringIO(text))]


def _agree(data: bytes, extension: str = "csv", file_id: int = 7) -> bool:
    """Assert the fast path matches the general parser; return whether it took the file."""
    fast = staging_lines(data, extension, MAX, file_id)
    if fast is None:
        return False
    text, count = fast
    expected = [(file_id, *record) for record in parse_records(data, extension, MAX)]
    assert _read_back(text) == expected
    assert count == len(expected)
    return True


def test_every_generated_file_is_staged_as_the_general_parser_stages_it(tmp_path):
    generate_demo(tmp_path / "demo", datetime(2026, 11, 27, 6, 0, tzinfo=REPORTING_TZ))
    generate_bench(ScaleSpec("tiny", states=1, districts_per_state=2, facilities_per_district=5), tmp_path / "bench")
    taken = declined = 0
    for path in sorted((tmp_path).rglob("submissions/*/*.*")):
        data, extension = path.read_bytes(), path.suffix.lstrip(".")
        try:
            parse_records(data, extension, MAX)
        except SubmissionError:
            # A file the general parser refuses must never be staged by the fast path.
            assert staging_lines(data, extension, MAX, 1) is None, path
            declined += 1
            continue
        if _agree(data, extension):
            taken += 1
        else:
            declined += 1
    # Most files are canonical; the demo's defective ones (and non-CSV) take the general path.
    assert taken > 100 and declined > 0


@pytest.mark.parametrize("data", [
    HEADER + b"HR-1,2026-10,1.1,5\nHR-1,2026-10,1.2,7\n",
    HEADER + b"HR-1,2026-10,1.1,5",                              # no final newline
    b"\xef\xbb\xbf" + HEADER + b"HR-1,2026-10,1.1,5\n",           # byte order mark
    HEADER.replace(b"\n", b"\r\n") + b"HR-1,2026-10,1.1,5\r\n",    # Windows line ends
    HEADER + b"HR-1,2026-10,1.1,007\n\n\n",                       # trailing blank lines
])
def test_canonical_variants_take_the_fast_path_and_agree(data):
    assert _agree(data)


@pytest.mark.parametrize("data", [
    HEADER + b"HR-1,2026-10,1.1, 5\n",                    # a space to strip
    HEADER + b'HR-1,2026-10,1.1,"5"\n',                   # quotes
    HEADER + b"HR-1,2026-10,1.1,5\n\nHR-1,2026-10,1.2,7\n",  # a blank line inside
    HEADER + b"HR-1,2026-10,1.1,\n",                      # an empty cell
    HEADER + b"HR-1,2026-10,1.1,5,\n",                    # a trailing empty cell
    HEADER + b"HR-1,2026-10,1.1,5,x\n",                   # an extra column
    b"value,item_code,period,facility_id\n5,1.1,2026-10,HR-1\n",  # another column order
    b"Facility_ID,period,item_code,value\nHR-1,2026-10,1.1,5\n",   # header case
    HEADER + b"HR-1,2026-10,1.1,\\N\n",                   # a null marker
    HEADER + b"HR-1,2026-10,1.1,-A1\n",                   # a formula start
    HEADER + b"HR-1,2026-10,1.1,123456789012\n",          # identifier-like digits
    HEADER + b"HR-1,2026-10,1.1,5\rHR-1,2026-10,1.2,7\n",  # a lone carriage return
    HEADER + b"HR-1,2026-10,1.1," + b"9" * 101 + b"\n",   # a cell longer than a cell may be
    HEADER,                                               # no data rows
])
def test_anything_else_is_left_to_the_general_parser(data):
    assert staging_lines(data, "csv", MAX, 1) is None


def test_other_formats_and_oversized_files_are_left_to_the_general_parser():
    data = HEADER + b"HR-1,2026-10,1.1,5\n"
    assert staging_lines(data, "json", MAX, 1) is None
    assert staging_lines(data, "xlsx", MAX, 1) is None
    assert staging_lines(data, "csv", len(data) - 1, 1) is None
    assert staging_lines(data, "CSV", MAX, 1) is not None
