"""District and state marts, rebuilt incrementally and atomically.

Each block-period has a fingerprint of what its marts are built from (every expected
facility's status and loaded file, the registry version, the mart definitions). Only
block-periods whose fingerprint changed are aggregated from the facts again; their districts'
rows are summed from block rows and the state rows from district rows, all in one
transaction: a reader sees the old or the new numbers, never a mix. Every row carries
``built_at`` and the ``ledger_state`` fingerprint it was built from.

The same transaction reconciles the rebuilt district-periods with the HMIS portal's own
figures (``marts.portal_reconciliation``, ``sql/marts/reconciliation.sql``). The latest
district item-wise pull of a district-period is part of its blocks' fingerprints, so a new
pull rebuilds that district-period (and is reported as changed) even when no submission did.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

import yaml
from psycopg2 import sql
from psycopg2.extras import execute_values

from hmis.marts.catalog import load_catalog
from hmis.platform.settings import PACKAGE_DIR
from hmis.platform.warehouse import sql_file, statement
from hmis.reference.formats import load_catalogue

INDICATORS_FILE = PACKAGE_DIR / "reference" / "indicators.yaml"
# The marts this build rebuilds, from the list of marts (src/hmis/marts/marts.yaml).
MART_TABLES = tuple(table.name for table in load_catalog().rebuilt)
RECONCILIATION_SQL = "marts/reconciliation.sql"


def load_indicators(path: Path = INDICATORS_FILE) -> list[dict]:
    """The indicator catalogue, checked: each has an id, a numerator and one denominator kind."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    indicators = data.get("indicators", [])
    for ind in indicators:
        if not ind.get("id") or not ind.get("numerator"):
            raise ValueError(f"indicator {ind.get('id', '?')}: needs an id and a numerator")
        if bool(ind.get("denominator")) == bool(ind.get("population_rate")):
            raise ValueError(f"indicator {ind['id']}: give exactly one of denominator or population_rate")
    return indicators


def _definitions_digest(conn) -> str:
    """Changes to the mart SQL, the indicators, the population or the formats' expected items
    (they decide facilities_expected) rebuild every district."""
    digest = hashlib.sha256()
    for name in ("marts/rebuild.sql", "marts/indicators.sql", "marts/fingerprint.sql", RECONCILIATION_SQL):
        digest.update(sql_file(name).encode())
    digest.update(INDICATORS_FILE.read_bytes())
    with conn.cursor() as cur:
        cur.execute("SELECT coalesce(string_agg(concat_ws(':', level, area, year, population), ',' "
                    "ORDER BY level, area, year), '') FROM ref.population")
        digest.update(cur.fetchone()[0].encode())
        cur.execute("SELECT coalesce(md5(string_agg(concat_ws(':', facility_type, period, data_element), ',' "
                    "ORDER BY facility_type, period, data_element)), '') FROM ref.expected_item")
        digest.update(cur.fetchone()[0].encode())
    return digest.hexdigest()


def _with_pulls(current: dict[tuple[str, str, str], str], pulls: dict[tuple[str, str], str]) -> None:
    """Fold each district-period's latest portal item-wise pull(s) into its blocks' fingerprints."""
    for (district, block, period), state in current.items():
        keys = pulls.get((district, period))
        if keys:
            current[(district, block, period)] = hashlib.sha256(f"{state}|portal:{keys}".encode()).hexdigest()


def changed_blocks(conn, periods: list[str], as_of: datetime | None = None) -> list[tuple[str, str, str, str | None]]:
    """(district, block, period, new fingerprint) for every block-period whose inputs
    changed, and (district, block, period, None) for one that no longer has facilities.
    A district-period's inputs include its latest item-wise portal pull made by ``as_of``
    (any pull when None)."""
    definitions = _definitions_digest(conn)
    with conn.cursor() as cur:
        # A run changes thousands of ledger and status rows; planned on stale statistics
        # (a handful of rows), the fingerprint's join degrades into a nested loop over both.
        # ANALYZE is transactional: committed, or its statistics would be rolled back below.
        cur.execute("ANALYZE ingest.file, compliance.facility_status")
        conn.commit()
        cur.execute(sql_file("marts/fingerprint.sql"), {"periods": periods, "definitions": definitions})
        current = {(d, b, p): s for d, b, p, s in cur.fetchall()}
        cur.execute(statement(RECONCILIATION_SQL, "pulls"), {"periods": periods, "as_of": as_of})
        _with_pulls(current, {(d, p): keys for d, p, keys in cur.fetchall()})
        cur.execute("SELECT district, block, period, ledger_state FROM marts.block_build_state WHERE period = ANY(%s)",
                    (periods,))
        built = {(d, b, p): s for d, b, p, s in cur.fetchall()}
    conn.rollback()
    changed = [(*key, state) for key, state in current.items() if built.get(key) != state]
    return sorted(changed + [(*key, None) for key in built if key not in current])


def rebuild(conn, periods: list[str], built_at: datetime) -> dict:
    """Rebuild what changed among ``periods``; return what was rebuilt and row counts."""
    touched = changed_blocks(conn, periods, built_at)
    if not touched:
        return {"changed": [], "rows": {}}
    indicators = load_indicators()
    with conn, conn.cursor() as cur:
        cur.execute("""CREATE TEMPORARY TABLE touched_block (district text, block text, period text,
                                                           ledger_state text) ON COMMIT DROP""")
        execute_values(cur, "INSERT INTO touched_block VALUES %s", touched)
        cur.execute("ANALYZE touched_block")
        cur.execute(sql_file("marts/rebuild.sql"), {"built_at": built_at})
        cur.execute("""DELETE FROM marts.indicator_monthly m USING touched t
                        WHERE m.district = t.district AND m.period = t.period""")
        cur.execute("""DELETE FROM marts.indicator_monthly m USING state_periods p
                        WHERE m.level = 'state' AND m.state = p.state AND m.period = p.period""")
        for ind in indicators:
            cur.execute(sql_file("marts/indicators.sql"), {
                "indicator_id": ind["id"], "numerator": ind["numerator"],
                "numerator_minus": ind.get("numerator_minus", []), "denominator": ind.get("denominator", []),
                "population_rate": ind.get("population_rate"), "population_unit": ind.get("population_unit"),
                "factor": ind.get("factor", 1), "built_at": built_at,
            })
        cur.execute(statement(RECONCILIATION_SQL, "rebuild"),
                    {"built_at": built_at, "anchor": load_catalogue().anchor})
        rows = {}
        for table in MART_TABLES:
            cur.execute(sql.SQL("SELECT count(*) FROM {} WHERE period = ANY(%s)").format(sql.Identifier("marts", table)),
                        (periods,))
            rows[table] = cur.fetchone()[0]
    districts = sorted({f"{d}/{p}" for d, _b, p, _s in touched})
    return {"changed": districts, "blocks": len(touched), "periods": sorted({p for _d, _b, p, _s in touched}),
            "rows": rows}
