"""Deliver rebuilt periods to the state: Parquet and CSV per exported mart, a DHIS2 document, a manifest.

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
from datetime import datetime

import pandas as pd
from psycopg2 import sql

from hmis.marts.catalog import Table, load_catalog
from hmis.platform.landing import LandingStore
from hmis.reference.formats import TOTAL

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


def dhis2_data_value_set(frame: pd.DataFrame, district_lgd: dict[str, str], period: str,
                         completed: datetime) -> dict:
    """District aggregates as a DHIS2 ``dataValueSets`` document (period ``YYYYMM``)."""
    dhis_period = period.replace("-", "")
    return {
        "dataSet": DHIS2_DATASET,
        "period": dhis_period,
        "completeDate": completed.date().isoformat(),
        # The disaggregation travels as DHIS2's category option combo: a stock item's sub-item
        # (its name, until an id-scheme mapping gives UIDs); a plain total has none.
        "dataValues": [
            {"dataElement": row.item_code, "period": dhis_period,
             "orgUnit": district_lgd.get(row.district, row.district), "value": str(int(row.value)),
             **({} if row.disaggregation == TOTAL else {"categoryOptionCombo": row.disaggregation})}
            for row in frame.itertuples(index=False)
        ],
    }


def export_period(conn, store: LandingStore, period: str, built_at: datetime) -> dict:
    """Write one period's export; return its manifest."""
    files = {}

    def put(name: str, data: bytes, rows: int | None = None) -> None:
        key = f"exports/{period}/{name}"
        store.write(key, data)
        files[name] = {"key": key, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(), "rows": rows}

    ledger_states = {}
    for table in load_catalog().exported:
        frame = _read(conn, table, period)
        if "ledger_state" in frame.columns:
            ledger_states[table.name] = sorted(set(frame["ledger_state"])) if len(frame) else []
        csv_bytes = frame.to_csv(index=False, lineterminator="\n").encode("utf-8")
        parquet = io.BytesIO()
        frame.astype({"built_at": "string"} if "built_at" in frame.columns else {}).to_parquet(parquet, index=False)
        put(f"{table.name}.csv", csv_bytes, len(frame))
        put(f"{table.name}.parquet", parquet.getvalue(), len(frame))
        if table.name == "district_monthly":
            with conn.cursor() as cur:
                cur.execute("SELECT DISTINCT district, district_lgd FROM ref.facility")
                lgd = {d: code for d, code in cur.fetchall() if code}
            for district, part in frame.groupby("district"):
                document = dhis2_data_value_set(part, lgd, period, built_at)
                put(f"dhis2/{district.lower()}-{period.replace('-', '')}.json",
                    json.dumps(document, indent=1).encode("utf-8"), len(document["dataValues"]))
    conn.rollback()
    manifest = {"period": period, "built_at": built_at.isoformat(), "files": files, "ledger_states": ledger_states}
    store.write(f"exports/{period}/manifest.json", json.dumps(manifest, indent=1, sort_keys=True).encode("utf-8"))
    return manifest
