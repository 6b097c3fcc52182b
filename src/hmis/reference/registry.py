"""The facility registry and officer contacts: read from the landing store, kept in ``ref``.

Both files are read again by every run and ``ref.facility`` / ``ref.contact`` are replaced as
a whole, in one transaction, so a changed registry is picked up by the next run and a reader
never sees half of one. The registry's history is kept: every distinct file content in
``ref.registry_version`` and every facility's successive entries in ``ref.facility_version``
(valid from the logical date of the run that first read an entry until one that read a
different entry or none). A run that reads the same registry again writes no history.
"""

from __future__ import annotations

import hashlib
import io
from datetime import datetime

import pandas as pd
from psycopg2 import sql

from hmis.platform.landing import LandingStore
from hmis.platform.store_layout import CONTACTS_KEY, REGISTRY_KEY
from hmis.platform.warehouse import copy_rows, statement

SQL = "reference/registry.sql"  # this module's statements, by name

FACILITY_COLUMNS = [
    "facility_id", "name", "facility_type", "ownership", "is_ayush", "block", "district",
    "district_lgd", "state", "hmis_registered", "hmis_registered_on", "opened_on", "closed_on",
]
CONTACT_COLUMNS = ["role", "level", "area", "name", "email", "phone"]
_TRUE = {"true", "yes", "1", "y", "t"}


class RegistryError(ValueError):
    """The registry or contacts file cannot be used; the message says what to fix."""


def _read_csv(data: bytes, name: str, columns: list[str]) -> pd.DataFrame:
    try:
        frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise RegistryError(f"{name} cannot be read as UTF-8 CSV: {exc}") from None
    frame.columns = [c.strip().lower() for c in frame.columns]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise RegistryError(f"{name} lacks column(s): {', '.join(missing)}")
    return frame[columns].apply(lambda col: col.str.strip())


def parse_registry(data: bytes) -> pd.DataFrame:
    """Registry rows with booleans and dates typed; raises :class:`RegistryError`."""
    frame = _read_csv(data, REGISTRY_KEY, FACILITY_COLUMNS)
    duplicated = frame.loc[frame["facility_id"].duplicated(), "facility_id"].tolist()
    if duplicated:
        raise RegistryError(f"{REGISTRY_KEY} lists facility id(s) more than once: {duplicated[:5]}")
    bad_ownership = frame.loc[~frame["ownership"].isin(["public", "private"]), "facility_id"].tolist()
    if bad_ownership:
        raise RegistryError(f"ownership must be public or private for: {bad_ownership[:5]}")
    for column in ("is_ayush", "hmis_registered"):
        frame[column] = frame[column].str.lower().isin(_TRUE)
    for column in ("hmis_registered_on", "opened_on", "closed_on"):
        parsed = pd.to_datetime(frame[column].replace("", None), format="%Y-%m-%d", errors="coerce")
        bad = frame.loc[parsed.isna() & (frame[column] != ""), "facility_id"].tolist()
        if bad:
            raise RegistryError(f"{column} is not a YYYY-MM-DD date for: {bad[:5]}")
        frame[column] = parsed.dt.date.astype(object).where(parsed.notna(), None)
    return frame


def sync_reference(conn, store: LandingStore, now: datetime) -> dict:
    """Replace ``ref.facility`` and ``ref.contact`` from their sources (the registry, and
    facilities only portal reports name, marked as such) and record any change of the
    registry in its history, all in one transaction."""
    registry_bytes = store.read(REGISTRY_KEY)
    registry = parse_registry(registry_bytes)
    digest = hashlib.sha256(registry_bytes).hexdigest()
    contacts = _read_csv(store.read(CONTACTS_KEY), CONTACTS_KEY, CONTACT_COLUMNS)
    with conn, conn.cursor() as cur:
        history = _record_history(cur, registry, digest, now)
        # The registry read is today's file whatever the run's date: a backfill does not date it back.
        cur.execute("SELECT max(loaded_at) FROM ref.facility")
        loaded_at = max(filter(None, (now, cur.fetchone()[0])))
        cur.execute("DELETE FROM ref.facility")
        copy_rows(
            cur, "ref.facility", FACILITY_COLUMNS + ["registry_sha256", "loaded_at"],
            (tuple(rec) + (digest, loaded_at.isoformat()) for rec in registry.itertuples(index=False)),
        )
        from_portal = add_portal_facilities(cur, loaded_at)
        cur.execute("DELETE FROM ref.contact")
        copy_rows(cur, "ref.contact", CONTACT_COLUMNS, contacts.drop_duplicates().itertuples(index=False))
    return {
        "facilities": len(registry),
        "registered": int(registry["hmis_registered"].sum()),
        "contacts": len(contacts),
        "added_from_portal": from_portal,
        "registry_sha256": digest,
        **history,
    }


def add_portal_facilities(cur, now: datetime) -> int:
    """Add to ``ref.facility`` the facilities portal reports name and the registry does not
    (``ref.portal_facility``), marked as from the portal; returns how many."""
    cur.execute(statement(SQL, "add_portal_facilities"), {"now": now})
    return cur.rowcount


_VERSIONED = [c for c in FACILITY_COLUMNS if c != "facility_id"]


def _record_history(cur, registry: pd.DataFrame, digest: str, now: datetime) -> dict:
    """Close changed or removed facilities' current entries and open new ones.

    History only moves forward: a run dated before the latest recorded change (a backfill)
    records its changes at that change's moment, so intervals never overlap.
    """
    cur.execute(
        statement(SQL, "insert_registry_version"),
        (digest, REGISTRY_KEY, now, len(registry), int(registry["hmis_registered"].sum())),
    )
    columns = sql.SQL(", ").join(map(sql.Identifier, ["facility_id", "valid_from", *_VERSIONED]))
    cur.execute(sql.SQL("SELECT {} FROM ref.facility_version WHERE valid_to IS NULL").format(columns))
    current = {row[0]: (row[1], tuple(row[2:])) for row in cur.fetchall()}
    latest = max((valid_from for valid_from, _ in current.values()), default=now)
    effective = max(now, latest)

    incoming = {rec[0]: tuple(rec[1:]) for rec in registry[FACILITY_COLUMNS].itertuples(index=False, name=None)}
    to_close = [fid for fid, (_, entry) in current.items() if incoming.get(fid) != entry]
    to_open = [fid for fid, entry in incoming.items() if fid not in current or current[fid][1] != entry]
    if to_close:
        cur.execute(
            "UPDATE ref.facility_version SET valid_to = %s WHERE valid_to IS NULL AND facility_id = ANY(%s)",
            (effective, to_close),
        )
    copy_rows(
        cur, "ref.facility_version", ["facility_id", "valid_from", "registry_sha256", *_VERSIONED],
        ((fid, effective.isoformat(), digest, *incoming[fid]) for fid in to_open),
    )
    return {
        "registry_changes": {
            "added": sum(fid not in current for fid in to_open),
            "changed": sum(fid in current for fid in to_open),
            "removed": sum(fid not in incoming for fid in to_close),
        }
    }


def read_registry(conn) -> pd.DataFrame:
    """The registry as stored in the warehouse."""
    with conn.cursor() as cur:
        cur.execute(
            sql.SQL("SELECT {} FROM ref.facility ORDER BY facility_id").format(
                sql.SQL(", ").join(map(sql.Identifier, FACILITY_COLUMNS))
            )
        )
        return pd.DataFrame(cur.fetchall(), columns=FACILITY_COLUMNS)
