"""The files the demo writes into the landing store: where they go, their columns, their time stamps.

Layout under ``landing_root``::

    registry/facilities.csv                     320 institutions of Hisar district
    registry/contacts.csv                       block medical officers and district/state contacts
    submissions/<YYYY-MM>/<facility_id>.csv     one long CSV per facility and period, in its own
                                                format: facility_id,period,item_code,value
                                                (+ sub_item when it has stock items)
    submissions/<YYYY-MM>/<facility_id>__v2.csv a second, later file (correction or revision)
    ultrasound/<YYYY-MM>/<facility_id>.csv      one ultrasound line list per facility and period

Every file is UTF-8 CSV with ``\\n`` line endings, except the broken submissions that are
binary on purpose (:mod:`hmis_dev.demo.defects`). A file's modification time is the moment
its facility sent it: the pipeline reads submission moments from the landing store, so the
time stamp is data too, and it is set to the nanosecond so equal arguments give equal trees.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

FACILITY_COLUMNS = (
    "facility_id",
    "name",
    "facility_type",
    "ownership",
    "is_ayush",
    "block",
    "block_lgd",  # not read by the pipeline yet (it finds its columns by name): the block's LGD code
    "district",
    "district_lgd",
    "state",
    "hmis_registered",
    "hmis_registered_on",
    "opened_on",
    "closed_on",
)
CONTACT_COLUMNS = ("role", "level", "area", "name", "email", "phone")
# A submission's header (docs/formats.md); files with stock items add the sub-item column.
SUBMISSION_COLUMNS = ("facility_id", "period", "item_code", "value")
SUBMISSION_COLUMNS_WITH_SUB_ITEM = (*SUBMISSION_COLUMNS, "sub_item")
ULTRASOUND_COLUMNS = ("scan_date", "rch_id", "weeks_of_pregnancy", "referral", "pcpndt_reg_no")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def csv_bytes(columns: Sequence[str], rows: Sequence[dict[str, str]]) -> bytes:
    """``rows`` under a header of ``columns``, as UTF-8 CSV with ``\\n`` line endings."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def submission_columns(with_sub_item: bool) -> tuple[str, ...]:
    """The header of a submission: ``sub_item`` only in files that have stock items."""
    return SUBMISSION_COLUMNS_WITH_SUB_ITEM if with_sub_item else SUBMISSION_COLUMNS


def write_file(path: Path, content: bytes, moment: datetime) -> None:
    """Write ``content`` and set both access and modification time to ``moment``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    path.write_bytes(content)
    # Integer arithmetic: a float timestamp cannot hold nanoseconds exactly.
    elapsed = moment - _EPOCH
    stamp = (elapsed.days * 86_400 + elapsed.seconds) * 1_000_000_000 + elapsed.microseconds * 1_000
    os.utime(path, ns=(stamp, stamp))
