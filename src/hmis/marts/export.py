"""Deliver rebuilt periods to the state: Parquet and CSV per mart, a DHIS2 document, a manifest.

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

from hmis.platform.landing import LandingStore

EXPORTED = {
    "district_monthly": ["state", "district", "period", "item_code", "value", "flagged_values",
                         "facilities_reporting", "facilities_expected", "ledger_state", "built_at"],
    "state_monthly": ["state", "period", "item_code", "value", "flagged_values", "facilities_reporting",
                      "facilities_expected", "ledger_state", "built_at"],
    "block_monthly": ["state", "district", "block", "period", "item_code", "value", "flagged_values",
                      "facilities_reporting", "facilities_expected", "ledger_state", "built_at"],
    "reporting_rates": ["level", "district", "area", "period", "expected", "reported", "on_time",
                        "reporting_rate", "on_time_rate", "ledger_state", "built_at"],
    "indicator_monthly": ["level", "state", "district", "area", "period", "financial_year", "indicator_id",
                          "numerator", "denominator", "value", "fytd_numerator", "fytd_denominator", "fytd_value",
                          "ledger_state", "built_at"],
}
DHIS2_DATASET = "HMIS_MONTHLY"


def _read(conn, table: str, columns: list[str], period: str) -> pd.DataFrame:
    query = sql.SQL("SELECT {} FROM {} WHERE period = %s ORDER BY {}").format(
        sql.SQL(", ").join(map(sql.Identifier, columns)), sql.Identifier("marts", table),
        sql.SQL(", ").join(map(sql.Identifier, columns[:-2])),
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
        "dataValues": [
            {"dataElement": row.item_code, "period": dhis_period,
             "orgUnit": district_lgd.get(row.district, row.district), "value": str(int(row.value))}
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
    for table, columns in EXPORTED.items():
        frame = _read(conn, table, columns, period)
        ledger_states[table] = sorted(set(frame["ledger_state"])) if len(frame) else []
        csv_bytes = frame.to_csv(index=False, lineterminator="\n").encode("utf-8")
        parquet = io.BytesIO()
        frame.astype({"built_at": "string"}).to_parquet(parquet, index=False)
        put(f"{table}.csv", csv_bytes, len(frame))
        put(f"{table}.parquet", parquet.getvalue(), len(frame))
        if table == "district_monthly":
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
