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

from datetime import datetime

import pandas as pd

from hmis.approval import revisions
from hmis.marts import owed
from hmis.marts.export import ExportFolder
from hmis.platform.landing import LandingStore
from hmis.platform.warehouse import statement

SQL = "approval/revisions.sql"
FOLDER = "approved"
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


def export_approved(conn, store: LandingStore, period: str, as_of: datetime,
                    org_units: bytes | None = None) -> dict:
    """Write ``exports/<period>/approved/`` from the approved revisions; return its manifest.
    ``org_units``: the deployment's DHIS2 org-unit list (:func:`hmis.marts.export.org_unit_list`).

    ``marts.approved_district_monthly`` is refreshed for the period first, so the provisional
    figures beside the approved ones are those of the current marts.
    """
    revisions.refresh_approved(conn, [period])
    frame = read_approved(conn, period)
    folder = ExportFolder(store, prefix(period))
    folder.put_frame("district_monthly", frame, text_columns=("approved_at", "provisional_built_at"))
    approved = frame[frame["approved_value"].notna()]
    if len(approved):
        when = {d: rows["approved_at"].iloc[0].to_pydatetime() for d, rows in approved.groupby("district")}
        folder.put_dhis2(conn, approved.assign(value=approved["approved_value"]), period, org_units, when)
    districts = (frame.drop_duplicates("district")[["district", "revision", "approved_at", "approved_by"]]
                 if len(frame) else frame)
    return folder.finish(period=period, as_of=as_of.isoformat(), kind="approved", districts=[
        {"district": row.district, "revision": int(row.revision), "approved_at": row.approved_at.isoformat(),
         "approved_by": row.approved_by} for row in districts.itertuples(index=False)])


def settle_owed(conn, store: LandingStore, run_id: str, as_of: datetime, org_units: bytes | None = None) -> dict:
    """Export every period an approval owes and settle those debts (``settled_at`` = the clock,
    ``settled_run_id`` = ``run_id``). Returns ``exported_periods`` and ``files``.

    Only the debts that existed when the export read the revisions are settled: an approval
    recorded meanwhile owes its period again, and the next call takes it.
    """
    up_to, periods = owed.owed_periods(conn, "approved")
    manifests = []
    for period in periods:
        manifests.append(export_approved(conn, store, period, as_of, org_units))
        owed.settle_period(conn, period, up_to, run_id, "approved")
    return {"exported_periods": [m["period"] for m in manifests],
            "files": sum(len(m["files"]) + 1 for m in manifests)}
