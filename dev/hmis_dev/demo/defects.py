"""Broken submissions: file content with exactly one defect that makes the whole file unacceptable.

Facilities do send files that cannot be loaded, and the pipeline must reject each such file
as a whole, quarantine it and tell the facility why in words it can act on. Each kind in
:data:`DEFECT_KINDS` is a different reason to refuse a file (some found while parsing, the
others by the blocking expectations), so each demo run exercises all of them: a value written
as text (``twelve``), a negative value, an unknown item code (``99.9.9``), the ``value``
column renamed to ``count``, a period inside the file that does not match its folder, the
same item twice, and binary content that is not UTF-8. The submission planner
(:mod:`hmis_dev.demo.submissions`) cycles through the kinds in a fixed order, six broken
files a period, so any two consecutive periods hold every kind. Each broken file is listed
in :attr:`hmis_dev.demo.truth.DemoTruth.files` with its kind and a one-line reason.
"""

from __future__ import annotations

import random

from hmis.reference.periods import shift_period
from hmis_dev.demo.files import SUBMISSION_COLUMNS, csv_bytes

DEFECT_KINDS = (
    "text_value",
    "negative_value",
    "unknown_item",
    "missing_value_column",
    "period_mismatch",
    "duplicate_item",
    "not_utf8",
)
UNKNOWN_ITEM_CODE = "99.9.9"


def broken_content(
    defect: str, facility_id: str, period: str, values: dict[str, int], rng: random.Random
) -> tuple[bytes, str]:
    """File content with exactly one defect that makes the whole file unacceptable."""
    codes = list(values)
    rows = [[facility_id, period, code, str(value)] for code, value in values.items()]
    header = list(SUBMISSION_COLUMNS)
    target = rng.randrange(len(rows))
    code = codes[target]

    if defect == "text_value":
        rows[target][3] = "twelve"
        reason = f"item {code}: value 'twelve' is not a whole number"
    elif defect == "negative_value":
        negative = -max(1, values[code] or rng.randint(1, 9))
        rows[target][3] = str(negative)
        reason = f"item {code}: value {negative} is negative"
    elif defect == "unknown_item":
        rows.insert(target + 1, [facility_id, period, UNKNOWN_ITEM_CODE, str(rng.randint(1, 40))])
        reason = f"item code {UNKNOWN_ITEM_CODE} is not in the HMIS data-item catalogue"
    elif defect == "missing_value_column":
        header[3] = "count"
        reason = "the header has no 'value' column (it is called 'count')"
    elif defect == "period_mismatch":
        stated = shift_period(period, -1)
        for row in rows:
            row[1] = stated
        reason = f"rows are for period {stated} but the file is in folder {period}"
    elif defect == "duplicate_item":
        rows.insert(target + 1, [facility_id, period, code, str(values[code] + rng.randint(1, 5))])
        reason = f"item {code} appears twice"
    elif defect == "not_utf8":
        # 0xFF never occurs in UTF-8, so no decoder can take this for text.
        noise = bytes(rng.randrange(256) for _ in range(48))
        return b"\xff\xfe\x00\x01" + noise + b"\xc3\x28\x00", "the file is binary, not UTF-8 CSV text"
    else:
        raise ValueError(f"unknown defect kind {defect!r}")
    return csv_bytes(header, [dict(zip(header, row)) for row in rows]), reason
