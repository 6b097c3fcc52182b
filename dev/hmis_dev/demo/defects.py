"""Broken submissions: file content with exactly one defect that makes the whole file unacceptable.

Facilities do send files that cannot be loaded, and the pipeline must reject each such file
as a whole, quarantine it and tell the facility why in words it can act on. Each kind in
:data:`DEFECT_KINDS` is a different reason to refuse a file (some found while parsing, the
others by the blocking expectations), so each demo run exercises all of them: a count written
as text (``twelve``), a negative count, a code no HMIS format has (``99.9``), a code of the
newer format in a CHC's file (``1.1.a``: the CHC reports on the 2017 CHC format, which does
not have it), the ``value`` column renamed to ``count``, a period inside the file that does
not match its folder, the same item twice, and binary content that is not UTF-8. Every
other line is the facility's clean report, in its own format's codes.

The submission planner (:mod:`hmis_dev.demo.submissions`) cycles through the kinds in a
fixed order, six broken files a period, so any two consecutive periods hold every kind, and
gives the ``newer_format_item`` file to a CHC. Each broken file is listed in
:attr:`hmis_dev.demo.truth.DemoTruth.files` with its kind and a one-line reason.
"""

from __future__ import annotations

import random

from hmis.reference.formats import format_title, load_catalogue
from hmis.reference.periods import shift_period
from hmis_dev.demo.files import csv_bytes
from hmis_dev.demo.values import Report

DEFECT_KINDS = (
    "text_value",
    "negative_value",
    "unknown_item",
    "newer_format_item",
    "missing_value_column",
    "period_mismatch",
    "duplicate_item",
    "not_utf8",
)
UNKNOWN_ITEM_CODE = "99.9"  # in no HMIS format
NEWER_FORMAT_CODE = "1.1.a"  # newer format only: new ANC registrations by age band
NEWER_FORMAT = "hmis_newer"
# The facility type that gets the newer-format code, and the format that must lack it.
NEWER_FORMAT_FACILITY_TYPE = "CHC"


def newer_format_code(format_id: str) -> str:
    """The newer-format code planted in a file of ``format_id``; checked against the
    catalogue, so the defect stays one even if the official lists change."""
    catalogue = load_catalogue()
    if catalogue.item(NEWER_FORMAT, NEWER_FORMAT_CODE) is None or catalogue.item(format_id, NEWER_FORMAT_CODE):
        raise ValueError(f"{NEWER_FORMAT_CODE} must be a code of {NEWER_FORMAT} only, not of {format_id}")
    return NEWER_FORMAT_CODE


def broken_content(defect: str, facility_id: str, period: str, report: Report, rng: random.Random) -> tuple[bytes, str]:
    """File content with exactly one defect that makes the whole file unacceptable."""
    header, lines = report.table(facility_id, period)
    header = list(header)
    rows = report.rows()
    # Value defects go on a count (a status or date is judged by other rules).
    counts = [index for index, row in enumerate(rows) if row.value_type == "count"]
    target = counts[rng.randrange(len(counts))]
    code, value = rows[target].item_code, int(rows[target].value)

    def extra_line(item_code: str, text: str) -> dict[str, str]:
        line = {"facility_id": facility_id, "period": period, "item_code": item_code, "value": text}
        return {**line, "sub_item": ""} if "sub_item" in header else line

    if defect == "text_value":
        lines[target]["value"] = "twelve"
        reason = f"item {code}: value 'twelve' is not a whole number"
    elif defect == "negative_value":
        negative = -max(1, value or rng.randint(1, 9))
        lines[target]["value"] = str(negative)
        reason = f"item {code}: value {negative} is negative"
    elif defect == "unknown_item":
        lines.insert(target + 1, extra_line(UNKNOWN_ITEM_CODE, str(rng.randint(1, 40))))
        reason = f"item code {UNKNOWN_ITEM_CODE} is not in the {format_title(report.format_id)}"
    elif defect == "newer_format_item":
        newer = newer_format_code(report.format_id)
        lines.insert(target + 1, extra_line(newer, str(rng.randint(1, 40))))
        reason = (
            f"item code {newer} exists only in the newer HMIS format, not in the "
            f"{format_title(report.format_id)} this facility reports on"
        )
    elif defect == "missing_value_column":
        header[header.index("value")] = "count"
        lines = [{("count" if key == "value" else key): text for key, text in line.items()} for line in lines]
        reason = "the header has no 'value' column (it is called 'count')"
    elif defect == "period_mismatch":
        stated = shift_period(period, -1)
        for line in lines:
            line["period"] = stated
        reason = f"rows are for period {stated} but the file is in folder {period}"
    elif defect == "duplicate_item":
        lines.insert(target + 1, extra_line(code, str(value + rng.randint(1, 5))))
        reason = f"item {code} appears twice"
    elif defect == "not_utf8":
        # 0xFF never occurs in UTF-8, so no decoder can take this for text.
        noise = bytes(rng.randrange(256) for _ in range(48))
        return b"\xff\xfe\x00\x01" + noise + b"\xc3\x28\x00", "the file is binary, not UTF-8 CSV text"
    else:
        raise ValueError(f"unknown defect kind {defect!r}")
    return csv_bytes(header, lines), reason
