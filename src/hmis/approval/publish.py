"""The state's approved export: each period's approved district-months, never a provisional one.

Everything goes under ``exports/<period>/approved/`` of the export store, through
``LandingStore.write`` like the period export (:mod:`hmis.marts.export`):

- ``district_monthly.csv`` and ``.parquet``: one row per item of each approved district-month,
  from its newest approved revision (``revision``, ``approved_at``, ``approved_by``,
  ``approved_value``) with the current ``provisional_value`` beside it and whether they differ;
- ``dhis2/<district>-<YYYYMM>.<uid|code>.json`` (+ import sidecars): the approved values as
  DHIS2 ``dataValueSets`` with ``completeDate`` = the approval's date (IST);
- ``manifest.json`` last: revisions, row counts and SHA-256 of every file, so a reader that
  waits for it never picks up a half-written export.

An approval owes its period (``marts.export_owed``, kind ``approved``, in the same transaction
that records it); :func:`settle_owed` writes every owed period and settles its debts, so a lost
export (a task that died after the approval) is made up by any later run that calls it — the
approval DAG right after the approval, and the monthly export stage every day.
"""

from __future__ import annotations

import hashlib
import io
import json
from datetime import datetime

import pandas as pd

from hmis.approval import revisions
from hmis.dhis2.mapping import load_mapping
from hmis.dhis2.writer import district_documents, export_files
from hmis.marts import owed
from hmis.platform.landing import LandingStore
from hmis.platform.warehouse import statement
from hmis.reference.periods import REPORTING_TZ

SQL = "approval/revisions.sql"
FOLDER = "approved"
DHIS2_DATASET = "HMIS_MONTHLY"
COLUMNS = ("state", "district", "period", "item_code", "disaggregation", "revision", "approved_at", "approved_by",
           "approved_value", "provisional_value", "differs", "facilities_reporting", "facilities_expected",
           "provisional_built_at")


def prefix(period: str) -> str:
    return f"exports/{period}/{FOLDER}/"


def read_approved(conn, period: str) -> pd.DataFrame:
    """The period's rows of ``marts.approved_district_monthly`` (approved district-months only)."""
    with conn.cursor() as cur:
        cur.execute(statement(SQL, "approved_export"), {"period": period})
        frame = pd.DataFrame(cur.fetchall(), columns=list(COLUMNS))
    conn.rollback()
    for column in ("approved_value", "provisional_value"):
        frame[column] = pd.to_numeric(frame[column].astype(object), errors="coerce").astype("float64")
    return frame


def _dhis2(conn, frame: pd.DataFrame, period: str, put) -> None:
    with conn.cursor() as cur:
        cur.execute("SELECT DISTINCT district, district_lgd FROM ref.facility")
        lgd = {d: code for d, code in cur.fetchall() if code}
    conn.rollback()
    mapping = load_mapping()
    approved = frame[frame["approved_value"].notna()]
    for _district, rows in approved.groupby("district", sort=True):
        approved_at = rows["approved_at"].iloc[0].to_pydatetime().astimezone(REPORTING_TZ)
        documents = district_documents(rows.assign(value=rows["approved_value"]), period, district_lgd=lgd,
                                       mapping=mapping, data_set=DHIS2_DATASET, complete_date=approved_at.date())
        for name, data in export_files(documents, mapping=mapping).items():
            put(f"dhis2/{name}", data, None if name.endswith(".import.json") else data.count(b'"dataElement"'))


def export_approved(conn, store: LandingStore, period: str, as_of: datetime) -> dict:
    """Write ``exports/<period>/approved/`` from the approved revisions; return its manifest.

    ``marts.approved_district_monthly`` is refreshed for the period first, so the provisional
    figures beside the approved ones are those of the current marts.
    """
    revisions.refresh_approved(conn, [period])
    frame = read_approved(conn, period)
    files: dict[str, dict] = {}

    def put(name: str, data: bytes, rows: int | None = None) -> None:
        key = prefix(period) + name
        store.write(key, data)
        files[name] = {"key": key, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(), "rows": rows}

    put("district_monthly.csv", frame.to_csv(index=False, lineterminator="\n").encode("utf-8"), len(frame))
    parquet = io.BytesIO()
    frame.astype({"approved_at": "string", "provisional_built_at": "string"}).to_parquet(parquet, index=False)
    put("district_monthly.parquet", parquet.getvalue(), len(frame))
    if len(frame):
        _dhis2(conn, frame, period, put)
    approved = (frame.drop_duplicates("district")[["district", "revision", "approved_at", "approved_by"]]
                if len(frame) else frame)
    manifest = {
        "period": period, "as_of": as_of.isoformat(), "kind": "approved", "files": files,
        "districts": [{"district": row.district, "revision": int(row.revision),
                       "approved_at": row.approved_at.isoformat(), "approved_by": row.approved_by}
                      for row in approved.itertuples(index=False)],
    }
    store.write(prefix(period) + "manifest.json", json.dumps(manifest, indent=1, sort_keys=True).encode("utf-8"))
    return manifest


def settle_owed(conn, store: LandingStore, run_id: str, as_of: datetime) -> dict:
    """Export every period an approval owes and settle those debts (``settled_at`` = the clock,
    ``settled_run_id`` = ``run_id``). Returns ``exported_periods`` and ``files``.

    Only the debts that existed when the export read the revisions are settled: an approval
    recorded meanwhile owes its period again, and the next call takes it.
    """
    up_to, periods = owed.owed_periods(conn, "approved")
    manifests = []
    for period in periods:
        manifests.append(export_approved(conn, store, period, as_of))
        owed.settle_period(conn, period, up_to, run_id, "approved")
    return {"exported_periods": [m["period"] for m in manifests],
            "files": sum(len(m["files"]) + 1 for m in manifests)}
