"""District and state marts, rebuilt incrementally and atomically.

Each block-period has a fingerprint of what its marts are built from (every expected
facility's status and loaded file, the registry version, the mart definitions). Only
block-periods whose fingerprint changed are aggregated from the facts again; their districts'
rows are summed from block rows and the state rows from district rows, all in one
transaction: a reader sees the old or the new numbers, never a mix. Every row carries
``built_at`` and the ``ledger_state`` fingerprint it was built from.

A run dated before the latest run of a period (a backfill) must not rewrite what the state
reads as current: :func:`rebuild_as_of` computes its periods as of its own date with the same
SQL into schema ``asof`` (from the statuses as of that date and the versions of each
facility-month valid then), and the current marts, their fingerprints and exports stay as
they are. A current rebuild records each changed period as owed to the state's store in its
own transaction (``marts.export_owed``), so a run that dies before exporting loses nothing.

The same transaction reconciles the rebuilt district-periods with the HMIS portal's own
figures (``marts.portal_reconciliation``, ``sql/marts/reconciliation.sql``). The latest
district item-wise pull of a district-period is part of its blocks' fingerprints, so a new
pull rebuilds that district-period (and is reported as changed) even when no submission did.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
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
AS_OF_SQL = "marts/as_of.sql"


@dataclass(frozen=True)
class Scope:
    """What a build reads and writes (the placeholders of sql/marts/rebuild.sql)."""

    marts: str                # the schema written
    statuses: sql.Composable  # the facilities' statuses as of the build
    values: sql.Composable    # the accepted values as of the build

    def render(self, text: str) -> sql.Composed:
        return sql.SQL(text).format(marts=sql.Identifier(self.marts), statuses=self.statuses, values=self.values)


CURRENT = Scope("marts", sql.Identifier("compliance", "facility_status"), sql.Identifier("facts", "monthly_value"))
# A backfill's: the statuses written for its date, the values of the versions valid then.
AS_OF = Scope("asof", sql.Identifier("asof", "facility_status"), sql.Identifier("asof_value"))


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


def _definitions_digest(conn, complete_share: float) -> str:
    """Changes to the mart SQL, the indicators, the population, the formats' expected items
    (they decide facilities_expected) or the completeness threshold rebuild every district."""
    digest = hashlib.sha256(f"complete_share={complete_share}".encode())
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


def changed_blocks(conn, periods: list[str], as_of: datetime,
                   complete_share: float) -> list[tuple[str, str, str, str | None]]:
    """(district, block, period, new fingerprint) for every block-period whose inputs
    changed, and (district, block, period, None) for one that no longer has facilities.
    A district-period's inputs include its latest item-wise portal pull made by ``as_of``
    and whether the month is due by then."""
    definitions = _definitions_digest(conn, complete_share)
    with conn.cursor() as cur:
        # A run changes thousands of ledger and status rows; planned on stale statistics
        # (a handful of rows), the fingerprint's join degrades into a nested loop over both.
        # ANALYZE is transactional: committed, or its statistics would be rolled back below.
        cur.execute("ANALYZE ingest.file, compliance.facility_status")
        conn.commit()
        cur.execute(sql_file("marts/fingerprint.sql"), {"periods": periods, "definitions": definitions, "as_of": as_of})
        current = {(d, b, p): s for d, b, p, s in cur.fetchall()}
        cur.execute(statement(RECONCILIATION_SQL, "pulls"), {"periods": periods, "as_of": as_of})
        _with_pulls(current, {(d, p): keys for d, p, keys in cur.fetchall()})
        cur.execute("SELECT district, block, period, ledger_state FROM marts.block_build_state WHERE period = ANY(%s)",
                    (periods,))
        built = {(d, b, p): s for d, b, p, s in cur.fetchall()}
    conn.rollback()
    changed = [(*key, state) for key, state in current.items() if built.get(key) != state]
    return sorted(changed + [(*key, None) for key in built if key not in current])


def _build(cur, scope: Scope, built_at: datetime, complete_share: float, indicators: list[dict]) -> None:
    """Build the blocks in ``touched_block`` (and their districts and states) into ``scope``."""
    cur.execute("ANALYZE touched_block")
    cur.execute(scope.render(sql_file("marts/rebuild.sql")), {"built_at": built_at, "complete_share": complete_share})
    cur.execute(scope.render("""DELETE FROM {marts}.indicator_monthly m USING touched t
                                 WHERE m.district = t.district AND m.period = t.period"""))
    cur.execute(scope.render("""DELETE FROM {marts}.indicator_monthly m USING state_periods p
                                 WHERE m.level = 'state' AND m.state = p.state AND m.period = p.period"""))
    for ind in indicators:
        cur.execute(scope.render(sql_file("marts/indicators.sql")), {
            "indicator_id": ind["id"], "numerator": ind["numerator"],
            "numerator_minus": ind.get("numerator_minus", []), "denominator": ind.get("denominator", []),
            "population_rate": ind.get("population_rate"), "population_unit": ind.get("population_unit"),
            "factor": ind.get("factor", 1), "built_at": built_at,
        })
    cur.execute(scope.render(statement(RECONCILIATION_SQL, "rebuild")),
                {"built_at": built_at, "anchor": load_catalogue().anchor})


def _touch(cur, touched: list[tuple[str, str, str, str | None]]) -> None:
    cur.execute("""CREATE TEMPORARY TABLE touched_block (district text, block text, period text,
                                                       ledger_state text) ON COMMIT DROP""")
    execute_values(cur, "INSERT INTO touched_block VALUES %s", touched)


def _row_counts(cur, schema: str, periods: list[str]) -> dict[str, int]:
    rows = {}
    for table in MART_TABLES:
        cur.execute(sql.SQL("SELECT count(*) FROM {} WHERE period = ANY(%s)").format(sql.Identifier(schema, table)),
                    (periods,))
        rows[table] = cur.fetchone()[0]
    return rows


def rebuild(conn, periods: list[str], built_at: datetime, complete_share: float, run_id: str) -> dict:
    """Rebuild what changed among ``periods`` (the current marts); return what was rebuilt and
    row counts. Every changed period is owed to the state's store from the same commit, and
    each period's publication says which logical date its marts now describe."""
    touched = changed_blocks(conn, periods, built_at, complete_share)
    with conn, conn.cursor() as cur:
        execute_values(cur, statement(AS_OF_SQL, "publish"), [(p, built_at, run_id) for p in periods])
        if not touched:
            return {"changed": [], "rows": {}}
        _touch(cur, touched)
        _build(cur, CURRENT, built_at, complete_share, load_indicators())
        owed = sorted({p for _d, _b, p, _s in touched})
        execute_values(cur, statement(AS_OF_SQL, "owe"), [("period", p, run_id, built_at) for p in owed])
        rows = _row_counts(cur, CURRENT.marts, periods)
    districts = sorted({f"{d}/{p}" for d, _b, p, _s in touched})
    return {"changed": districts, "blocks": len(touched), "periods": owed, "rows": rows}


def rebuild_as_of(conn, periods: list[str], as_of: datetime, complete_share: float, run_id: str) -> dict:
    """A backfill's marts: every block of ``periods`` as of ``as_of``, into schema ``asof``
    (replacing an earlier backfill of those periods), from the statuses the compliance stage
    wrote there and the versions of each facility-month valid at ``as_of``. The current marts
    and what is owed to the state are not touched."""
    with conn, conn.cursor() as cur:
        cur.execute(statement(AS_OF_SQL, "values"), {"periods": periods, "as_of": as_of})
        for table in MART_TABLES + ("block_build_state",):
            cur.execute(sql.SQL("DELETE FROM {} WHERE period = ANY(%s)").format(sql.Identifier(AS_OF.marts, table)),
                        (periods,))
        cur.execute(statement(AS_OF_SQL, "blocks"), {"periods": periods, "state": f"as_of:{as_of.isoformat()}"})
        touched = cur.fetchall()
        _touch(cur, touched)
        _build(cur, AS_OF, as_of, complete_share, load_indicators())
        execute_values(cur, statement(AS_OF_SQL, "publish_as_of"), [(p, as_of, run_id) for p in periods])
        rows = _row_counts(cur, AS_OF.marts, periods)
    return {"as_of": as_of.isoformat(), "periods": periods, "blocks": len(touched), "rows": rows}
