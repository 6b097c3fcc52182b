"""Deliver rebuilt periods to the state: Parquet and CSV per exported mart, DHIS2 documents, a manifest.

The marts exported, and their columns, are those the list of marts marks exported
(``src/hmis/marts/marts.yaml``, which says why any reader-facing mart is not).

Everything for a period goes under ``exports/<period>/`` of the export store (a folder, or
S3 through boto3). The manifest — row counts, SHA-256 checksums, build time and ledger
states — is written last, so a reader that waits for it never picks up a half-written
export. A period is exported whole each time any of its district-periods was rebuilt.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Mapping
from datetime import datetime

import pandas as pd
from psycopg2 import sql

from hmis.dhis2.mapping import ORG_UNITS_KEY, load_mapping
from hmis.dhis2.writer import district_documents, export_files
from hmis.marts.catalog import Table, load_catalog
from hmis.platform.landing import LandingStore
from hmis.reference.periods import REPORTING_TZ

DHIS2_DATASET = "HMIS_MONTHLY"


def _read(conn, table: Table, period: str) -> pd.DataFrame:
    columns = list(table.export_columns)
    query = sql.SQL("SELECT {} FROM {} WHERE period = %s ORDER BY {}").format(
        sql.SQL(", ").join(map(sql.Identifier, columns)), sql.Identifier(table.schema, table.name),
        sql.SQL(", ").join(map(sql.Identifier, table.key)),
    )
    with conn.cursor() as cur:
        cur.execute(query, (period,))
        frame = pd.DataFrame(cur.fetchall(), columns=columns)
    for column in frame.columns:
        if frame[column].dtype == object and len(frame) and hasattr(frame[column].iloc[0], "as_tuple"):
            frame[column] = frame[column].astype(float)  # Decimal -> float for Parquet and CSV
    return frame


class ExportFolder:
    """One export folder of the store (a period's, or its approved revisions'): files written
    through :meth:`put` are listed with their size, SHA-256 and rows, and :meth:`finish` writes
    the manifest last, so a reader that waits for it never picks up a half-written export."""

    def __init__(self, store: LandingStore, prefix: str):
        self.store, self.prefix, self.files = store, prefix, {}

    def put(self, name: str, data: bytes, rows: int | None = None) -> None:
        key = self.prefix + name
        self.store.write(key, data)
        self.files[name] = {"key": key, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(), "rows": rows}

    def put_frame(self, name: str, frame: pd.DataFrame, text_columns: tuple[str, ...] = ("built_at",)) -> None:
        """``<name>.csv`` and ``<name>.parquet`` (timestamps in ``text_columns`` kept as text)."""
        self.put(f"{name}.csv", frame.to_csv(index=False, lineterminator="\n").encode("utf-8"), len(frame))
        parquet = io.BytesIO()
        frame.astype({c: "string" for c in text_columns if c in frame.columns}).to_parquet(parquet, index=False)
        self.put(f"{name}.parquet", parquet.getvalue(), len(frame))

    def put_dhis2(self, conn, frame: pd.DataFrame, period: str, org_units: bytes | None,
                  approved: Mapping[str, datetime] | None = None) -> None:
        """District aggregates (columns of marts.district_monthly) as DHIS2 ``dataValueSets``
        documents, with UIDs wherever the id-scheme mapping has them (:mod:`hmis.dhis2`), one
        document per set of id schemes and a sidecar saying how to import each. ``completeDate``
        only for the districts ``approved`` names (district -> when its month was approved): a
        month is registered complete only once the district has approved it."""
        with conn.cursor() as cur:
            cur.execute("SELECT DISTINCT district, district_lgd FROM ref.facility")
            lgd = {d: code for d, code in cur.fetchall() if code}
        conn.rollback()
        mapping = load_mapping(org_units)
        complete_dates = {district: moment.astimezone(REPORTING_TZ).date()
                          for district, moment in (approved or {}).items()}
        documents = district_documents(frame, period, district_lgd=lgd, mapping=mapping, data_set=DHIS2_DATASET,
                                       complete_dates=complete_dates)
        for name, data in export_files(documents, mapping=mapping).items():
            self.put(f"dhis2/{name}", data, None if name.endswith(".import.json") else data.count(b'"dataElement"'))

    def finish(self, **fields) -> dict:
        manifest = {**fields, "files": self.files}
        self.store.write(self.prefix + "manifest.json", json.dumps(manifest, indent=1, sort_keys=True).encode("utf-8"))
        return manifest


def org_unit_list(landing: LandingStore) -> bytes | None:
    """The deployment's DHIS2 org-unit UIDs (``registry/dhis2_org_units.csv`` in the landing
    store), or None where it has not listed them: exports then name org units by LGD code."""
    listed = {obj.key for obj in landing.list(ORG_UNITS_KEY.rsplit("/", 1)[0] + "/")}
    return landing.read(ORG_UNITS_KEY) if ORG_UNITS_KEY in listed else None


def export_period(conn, store: LandingStore, period: str, built_at: datetime, org_units: bytes | None = None,
                  approved: Mapping[str, datetime] | None = None) -> dict:
    """Write one period's export; return its manifest. ``org_units``: see :func:`org_unit_list`;
    ``approved``: the districts whose DHIS2 documents carry a ``completeDate``
    (:meth:`ExportFolder.put_dhis2`)."""
    folder = ExportFolder(store, f"exports/{period}/")
    ledger_states = {}
    for table in load_catalog().exported:
        frame = _read(conn, table, period)
        if "ledger_state" in frame.columns:
            ledger_states[table.name] = sorted(set(frame["ledger_state"])) if len(frame) else []
        folder.put_frame(table.name, frame)
        if table.name == "district_monthly":
            folder.put_dhis2(conn, frame, period, org_units, approved)
    conn.rollback()
    return folder.finish(period=period, built_at=built_at.isoformat(), ledger_states=ledger_states)
