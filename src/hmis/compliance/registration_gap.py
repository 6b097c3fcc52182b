"""Institutions in the registry that are not registered on the HMIS portal.

Every facility must report monthly, private hospitals included, but one that is not
registered on HMIS cannot: it is not even among the expected reporters. The district has to
chase these separately, so each run rebuilds ``compliance.registration_gap`` — one row per
registry facility that is open and not registered as of the run's logical date — with how
long each has been unregistered: since it opened (the registry's ``opened_on``) or, when the
registry does not say, since the first registry version that listed it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import pandas as pd
from psycopg2 import sql

from hmis.platform.warehouse import copy_rows
from hmis.reference.periods import REPORTING_TZ
from hmis.reference.registry import read_registry

GAP_COLUMNS = ["facility_id", "name", "facility_type", "ownership", "is_ayush", "block", "district", "state",
               "hmis_registered", "hmis_registered_on", "unregistered_since", "since_source",
               "days_unregistered", "as_of"]


@dataclass(frozen=True)
class GapRow:
    facility_id: str
    name: str
    facility_type: str
    ownership: str
    is_ayush: bool
    block: str
    district: str
    state: str
    hmis_registered: bool
    hmis_registered_on: date | None
    unregistered_since: date | None
    since_source: str  # opened_on | first_listed | unknown
    days_unregistered: int | None


def _date(value) -> date | None:
    if value is None or (not isinstance(value, date) and pd.isna(value)):
        return None
    if isinstance(value, datetime):
        return value.date()
    return value


def find_gap(registry: pd.DataFrame, first_listed: dict[str, datetime], as_of: datetime) -> list[GapRow]:
    """Open registry facilities not registered on HMIS on ``as_of``'s date (IST).

    A facility counts as unregistered if the registry says so or its registration date is
    still to come; facilities not yet opened or already closed are left out. Sorted by
    state, district, block and facility id.
    """
    today = as_of.astimezone(REPORTING_TZ).date()
    rows = []
    for rec in registry.to_dict("records"):
        opened, closed = _date(rec.get("opened_on")), _date(rec.get("closed_on"))
        registered_on = _date(rec.get("hmis_registered_on"))
        if (opened and opened > today) or (closed and closed <= today):
            continue
        registered = bool(rec["hmis_registered"])
        if registered and (registered_on is None or registered_on <= today):
            continue
        listed = first_listed.get(rec["facility_id"])
        if opened:
            since, source = opened, "opened_on"
        elif listed is not None:
            since, source = listed.astimezone(REPORTING_TZ).date(), "first_listed"
        else:
            since, source = None, "unknown"
        rows.append(GapRow(
            facility_id=rec["facility_id"], name=rec["name"], facility_type=rec["facility_type"],
            ownership=rec["ownership"], is_ayush=bool(rec["is_ayush"]), block=rec["block"],
            district=rec["district"], state=rec["state"], hmis_registered=registered,
            hmis_registered_on=registered_on, unregistered_since=since, since_source=source,
            days_unregistered=(today - since).days if since else None,
        ))
    return sorted(rows, key=lambda r: (r.state, r.district, r.block, r.facility_id))


def refresh(conn, as_of: datetime) -> dict:
    """Rebuild ``compliance.registration_gap`` as of ``as_of`` in one transaction."""
    registry = read_registry(conn)
    with conn.cursor() as cur:
        cur.execute("SELECT facility_id, min(valid_from) FROM ref.facility_version GROUP BY facility_id")
        first_listed = dict(cur.fetchall())
    rows = find_gap(registry, first_listed, as_of)
    with conn, conn.cursor() as cur:
        cur.execute("DELETE FROM compliance.registration_gap")
        copy_rows(cur, "compliance.registration_gap", GAP_COLUMNS, (
            (r.facility_id, r.name, r.facility_type, r.ownership, r.is_ayush, r.block, r.district, r.state,
             r.hmis_registered, r.hmis_registered_on, r.unregistered_since, r.since_source,
             r.days_unregistered, as_of.isoformat())
            for r in rows
        ))
    private = sum(r.ownership == "private" for r in rows)
    return {"not_registered": len(rows), "not_registered_private": private}


def gap_rows(cur, district: str | None = None) -> list[GapRow]:
    """The gap as the latest run left it, longest-unregistered first within each block;
    one district's only when ``district`` is given. Reads through the caller's cursor."""
    columns = sql.SQL(", ").join(map(sql.Identifier, GAP_COLUMNS[:-1]))
    where = sql.SQL("WHERE district = %s") if district else sql.SQL("")
    cur.execute(
        sql.SQL("SELECT {} FROM compliance.registration_gap {} "
                "ORDER BY state, district, block, days_unregistered DESC NULLS LAST, name, facility_id")
        .format(columns, where),
        (district,) if district else None,
    )
    return [GapRow(*row) for row in cur.fetchall()]


def read_gap(conn) -> list[GapRow]:
    """The whole gap, on its own connection's transaction."""
    with conn.cursor() as cur:
        rows = gap_rows(cur)
    conn.rollback()
    return rows
