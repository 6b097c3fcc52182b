"""The list of marts against the warehouse: every mart listed, district marts behind row-level
security, no district reader seeing another district's signals or ultrasound compliance, and a
dictionary that describes every column readers can query."""

import re
import shutil
from dataclasses import replace
from datetime import datetime, timedelta

import psycopg2
import pytest
from psycopg2 import sql

from hmis.marts import access
from hmis.marts.catalog import Catalog, load_catalog
from hmis.marts.dictionary import render
from hmis.platform.landing import LocalStore
from hmis.platform.settings import load_settings
from hmis.platform.warehouse import connect, migrate
from hmis.reference.periods import REPORTING_TZ
from hmis.ultrasound import linelist

pytestmark = pytest.mark.integration

AS_OF = datetime(2026, 11, 27, 6, 0, tzinfo=REPORTING_TZ)
PERIOD = "2026-10"
READERS = {"district_reader_hisar": "Hisar", "district_reader_rohtak": "Rohtak"}


def access_problems(conn, catalog: Catalog) -> list[str]:
    """Every way the warehouse's schema ``marts`` and the list of marts disagree.

    A table of ``marts`` must be on the list; a district-scoped one must have a district
    column, row-level security enabled (``pg_class``) and the ``own_district`` policy for
    district readers (``pg_policies``); an internal one must be closed to the state reader.
    A listed table must exist with exactly the listed columns and key.
    """
    with conn.cursor() as cur:
        cur.execute("""SELECT c.relname, c.relrowsecurity, has_table_privilege('state_reader', c.oid, 'SELECT'),
                              ARRAY(SELECT a.attname::text FROM pg_attribute a
                                     WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
                              ARRAY(SELECT a.attname::text FROM pg_index i
                                      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
                                     WHERE i.indrelid = c.oid AND i.indisprimary)
                         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                        WHERE n.nspname = 'marts' AND c.relkind IN ('r', 'p')""")
        tables = {name: (rls, readable, set(cols), set(key)) for name, rls, readable, cols, key in cur.fetchall()}
        cur.execute("""SELECT tablename FROM pg_policies
                        WHERE schemaname = 'marts' AND policyname = 'own_district' AND cmd = 'SELECT'
                          AND roles = ARRAY['district_reader']::name[]""")
        own_district = {name for (name,) in cur.fetchall()}
    conn.rollback()
    listed = {table.name: table for table in catalog.marts}
    problems = [f"marts.{name} is listed but the warehouse has no such table" for name in sorted(set(listed) - set(tables))]
    for name, (rls, readable, columns, key) in sorted(tables.items()):
        table = listed.get(name)
        if table is None:
            problems.append(f"marts.{name} is not in the list of marts")
            continue
        if set(table.column_names) != columns:
            problems.append(f"marts.{name}: listed columns {sorted(table.column_names)} != warehouse {sorted(columns)}")
        if set(table.key) != key:
            problems.append(f"marts.{name}: listed key {list(table.key)} != primary key {sorted(key)}")
        if table.scope == "district":
            if "district" not in columns:
                problems.append(f"marts.{name} is district-scoped but has no district column")
            if not rls:
                problems.append(f"marts.{name} is district-scoped but row-level security is off")
            if name not in own_district:
                problems.append(f"marts.{name} is district-scoped but has no own_district policy")
        elif table.scope == "internal" and readable:
            problems.append(f"marts.{name} is internal but the state reader can read it")
    return problems


@pytest.fixture
def conn(warehouse):
    connection = connect()
    migrate(connection)
    access.apply(connection)
    yield connection
    connection.close()


def _ensure_readers(cur):
    """District reader roles as an administrator would make them (see the README's Access)."""
    for role, district in READERS.items():
        cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
        if not cur.fetchone():
            cur.execute(sql.SQL("CREATE ROLE {} NOLOGIN IN ROLE district_reader").format(sql.Identifier(role)))
        cur.execute("INSERT INTO marts.reader_scope VALUES (%s, %s) ON CONFLICT DO NOTHING", (role, district))


def _seen_as(conn, role: str, query: str) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))
        cur.execute(query)
        seen = cur.fetchall()
    conn.rollback()
    return seen


def _registry(cur, facilities: dict[str, tuple[str, str]]) -> None:
    for facility_id, (block, district) in facilities.items():
        cur.execute("""INSERT INTO ref.facility (facility_id, name, facility_type, ownership, is_ayush, block,
                                                 district, state, hmis_registered, registry_sha256, loaded_at)
                       VALUES (%s, %s, 'private hospital', 'private', false, %s, %s, 'Haryana', true, 'x', %s)""",
                    (facility_id, f"Hospital {facility_id}", block, district, AS_OF))


# ------------------------------------------------------------------------------ (a) the list


def test_every_mart_is_listed_and_district_marts_have_row_level_security(conn):
    assert access_problems(conn, load_catalog()) == []
    catalog = load_catalog()
    assert {t.name for t in catalog.in_scope("district")} >= {"disease_signals", "ultrasound_compliance"}
    assert {t.name for t in catalog.in_scope("internal")} == {"block_build_state", "reader_scope", "export_owed"}


def test_the_check_finds_unlisted_unprotected_and_missing_tables(conn):
    catalog = load_catalog()
    with conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE marts.unlisted_mart (district text, period text)")
        cur.execute("ALTER TABLE marts.disease_signals DISABLE ROW LEVEL SECURITY")
    ghost = replace(catalog.mart("state_monthly"), name="no_such_mart")
    problems = access_problems(conn, Catalog(catalog.marts + (ghost,), catalog.compliance))
    assert problems == [
        "marts.no_such_mart is listed but the warehouse has no such table",
        "marts.disease_signals is district-scoped but row-level security is off",
        "marts.unlisted_mart is not in the list of marts",
    ]
    # The access step refuses a list naming a table the warehouse lacks ...
    with pytest.raises(access.MartAccessError, match="marts.no_such_mart"):
        access.apply(conn, Catalog(catalog.marts + (ghost,), catalog.compliance))
    # ... and puts the rest right: row-level security back on, the unlisted table closed to readers.
    with conn, conn.cursor() as cur:
        cur.execute("GRANT SELECT ON marts.unlisted_mart TO state_reader, district_reader")
    result = access.apply(conn)
    assert result["unlisted"] == ["marts.unlisted_mart"]
    assert "marts.disease_signals: row-level security enabled" in result["changed"]
    assert "marts.unlisted_mart: SELECT revoked from state_reader" in result["changed"]
    assert access_problems(conn, catalog) == ["marts.unlisted_mart is not in the list of marts"]
    with conn.cursor() as cur:
        cur.execute("SELECT has_table_privilege('district_reader', 'marts.unlisted_mart', 'SELECT')")
        assert cur.fetchone() == (False,)
    conn.rollback()


def test_the_access_step_changes_nothing_once_in_place_and_restores_a_tampered_policy(conn):
    assert access.apply(conn) == {"changed": [], "unlisted": []}
    with conn, conn.cursor() as cur:
        cur.execute("DROP POLICY own_district ON marts.block_monthly")
        cur.execute("CREATE POLICY everyone ON marts.block_monthly FOR SELECT TO district_reader USING (true)")
    assert access.apply(conn)["changed"] == [
        "marts.block_monthly: policy everyone dropped (not one the list of marts gives it)",
        "marts.block_monthly: policy own_district created",
    ]
    assert access.apply(conn)["changed"] == []


def test_a_table_a_later_migration_creates_is_closed_to_readers_until_listed(conn):
    with conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE marts.later_mart (district text)")
        cur.execute("""SELECT has_table_privilege('state_reader', 'marts.later_mart', 'SELECT'),
                              has_table_privilege('district_reader', 'marts.later_mart', 'SELECT')""")
        assert cur.fetchone() == (False, False)  # 0005 granted every future table to readers; 0008 stops it


# ------------------------------------------------------------------------------ (b) the two leaks


def test_a_district_reader_sees_only_its_districts_disease_signals(conn):
    with conn, conn.cursor() as cur:
        _ensure_readers(cur)
        for level, area, district in [("district", "Hisar", "Hisar"), ("block", "Barwala", "Hisar"),
                                      ("district", "Rohtak", "Rohtak"), ("block", "Kalanaur", "Rohtak")]:
            cur.execute("""INSERT INTO marts.disease_signals (area_level, area, district, item_code, period, method,
                                                              observed, alarm, basis, built_at)
                           VALUES (%s, %s, %s, '11.3.1', %s, 'C1', 12, true, 'rate_per_1000_visits', %s)""",
                        (level, area, district, PERIOD, AS_OF))
    query = "SELECT DISTINCT district, area FROM marts.disease_signals ORDER BY 1, 2"
    assert _seen_as(conn, "district_reader_hisar", query) == [("Hisar", "Barwala"), ("Hisar", "Hisar")]
    assert _seen_as(conn, "district_reader_rohtak", query) == [("Rohtak", "Kalanaur"), ("Rohtak", "Rohtak")]
    assert len(_seen_as(conn, "state_reader", query)) == 4
    # Without the policy (as before migration 0008) the same reader saw every district:
    # the assertions above are what the leak breaks.
    with conn.cursor() as cur:
        cur.execute("ALTER TABLE marts.disease_signals DISABLE ROW LEVEL SECURITY")
        cur.execute("SET LOCAL ROLE district_reader_hisar")
        cur.execute("SELECT count(DISTINCT district) FROM marts.disease_signals")
        assert cur.fetchone() == (2,)
    conn.rollback()
    # There are no state rows to decide about: the table accepts block and district areas only.
    with conn.cursor() as cur, pytest.raises(psycopg2.errors.CheckViolation):
        cur.execute("""INSERT INTO marts.disease_signals (area_level, area, district, item_code, period, method,
                                                          observed, basis, built_at)
                       VALUES ('state', 'Haryana', 'Hisar', '11.3.1', %s, 'C1', 1, 'x', %s)""", (PERIOD, AS_OF))
    conn.rollback()


def test_ultrasound_compliance_carries_the_registry_district_and_readers_see_their_own(conn, tmp_path):
    with conn, conn.cursor() as cur:
        _ensure_readers(cur)
        _registry(cur, {"HSR1": ("Barwala", "Hisar"), "HSR2": ("Agroha", "Hisar"), "RTK1": ("Kalanaur", "Rohtak")})
    store_dir = tmp_path / "landing"
    for facility in ("HSR1", "HSR2", "RTK1"):
        path = store_dir / "ultrasound" / PERIOD / f"{facility}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("scan_date,rch_id,weeks_of_pregnancy,referral,pcpndt_reg_no\n"
                        f"{PERIOD}-03,,12,self,PC-1\n", encoding="utf-8")
    counts = linelist.ingest(conn, LocalStore(store_dir), [PERIOD], datetime.now(REPORTING_TZ) + timedelta(minutes=1),
                             b"test-only-key", 0.9)
    assert counts["ultrasound_lists"] == 3
    with conn.cursor() as cur:
        cur.execute("SELECT facility_id, district FROM marts.ultrasound_compliance ORDER BY 1")
        assert cur.fetchall() == [("HSR1", "Hisar"), ("HSR2", "Hisar"), ("RTK1", "Rohtak")]
    conn.rollback()
    query = "SELECT facility_id FROM marts.ultrasound_compliance ORDER BY 1"
    assert _seen_as(conn, "district_reader_hisar", query) == [("HSR1",), ("HSR2",)]
    assert _seen_as(conn, "district_reader_rohtak", query) == [("RTK1",)]
    assert _seen_as(conn, "state_reader", query) == [("HSR1",), ("HSR2",), ("RTK1",)]
    # A district reader reads its own scope rows only, and no reader reads the build's bookkeeping.
    assert _seen_as(conn, "district_reader_hisar", "SELECT district FROM marts.reader_scope") == [("Hisar",)]
    for role, table in [("state_reader", "reader_scope"), ("state_reader", "block_build_state"),
                        ("district_reader_hisar", "block_build_state")]:
        with conn.cursor() as cur, pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cur.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))
            cur.execute(sql.SQL("SELECT 1 FROM {}").format(sql.Identifier("marts", table)))
        conn.rollback()


def test_migration_0008_gives_existing_ultrasound_rows_their_district(warehouse, tmp_path):
    before = tmp_path / "migrations-0007"
    before.mkdir()
    for path in sorted((load_settings().sql_dir / "migrations").glob("000[1-7]_*.sql")):
        shutil.copy(path, before / path.name)
    db = connect()
    try:
        migrate(db, before)
        with db, db.cursor() as cur:
            _registry(cur, {"HSR1": ("Barwala", "Hisar")})
            # RTK9 left the registry after its list was read; its history still knows its district.
            cur.execute("""INSERT INTO ref.registry_version VALUES ('old', 'registry/facilities.csv', %s, 1, 1)""",
                        (AS_OF,))
            cur.execute("""INSERT INTO ref.facility_version (facility_id, valid_from, valid_to, registry_sha256, name,
                                                             facility_type, ownership, is_ayush, block, district,
                                                             state, hmis_registered)
                           VALUES ('RTK9', %s, %s, 'old', 'Gone', 'clinic', 'private', false, 'Kalanaur', 'Rohtak',
                                   'Haryana', true)""", (AS_OF - timedelta(days=60), AS_OF - timedelta(days=1)))
            for facility in ("HSR1", "RTK9"):
                cur.execute("""INSERT INTO marts.ultrasound_compliance (facility_id, period, scans,
                                   scans_with_valid_rch, share_valid, threshold, below_threshold, built_at)
                               VALUES (%s, %s, 2, 1, 0.5, 0.9, true, %s)""", (facility, PERIOD, AS_OF))
        assert "0008_marts_access_from_list.sql" in migrate(db)
        with db.cursor() as cur:
            cur.execute("SELECT facility_id, district FROM marts.ultrasound_compliance ORDER BY 1")
            assert cur.fetchall() == [("HSR1", "Hisar"), ("RTK9", "Rohtak")]
            cur.execute("""SELECT is_nullable FROM information_schema.columns
                            WHERE table_schema = 'marts' AND table_name = 'ultrasound_compliance'
                              AND column_name = 'district'""")
            assert cur.fetchone() == ("NO",)
        db.rollback()
    finally:
        db.close()


# ------------------------------------------------------------------------------ (d) the dictionary


def _dictionary_tables(text: str) -> dict[str, dict[str, str]]:
    tables: dict[str, dict[str, str]] = {}
    current = None
    for line in text.splitlines():
        if heading := re.match(r"^## `([a-z_]+\.[a-z_]+)`$", line):
            current = tables.setdefault(heading.group(1), {})
        elif line.startswith("## "):
            current = None
        elif current is not None and (row := re.match(r"^\| `([a-z_0-9]+)` \| ([^|]+) \| (.*) \|$", line)):
            current[row.group(1)] = row.group(3).strip()
    return tables


def test_the_dictionary_describes_every_column_of_every_reader_facing_table(conn):
    with conn.cursor() as cur:
        cur.execute("""SELECT c.relname, a.attname FROM pg_class c
                         JOIN pg_namespace n ON n.oid = c.relnamespace
                         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                        WHERE n.nspname = 'marts' AND c.relkind IN ('r', 'p')
                          AND has_table_privilege('state_reader', c.oid, 'SELECT')""")
        readable = cur.fetchall()
    conn.rollback()
    documented = _dictionary_tables(render(conn, AS_OF))
    assert {t for t, _c in readable} == {t.name for t in load_catalog().marts if t.reader_facing}
    undescribed = [f"marts.{t}.{c}" for t, c in readable if not documented.get(f"marts.{t}", {}).get(c)]
    assert undescribed == []
    assert "marts.block_build_state" not in documented and "marts.reader_scope" not in documented
    # The compliance tables it documented before are still there, every column described.
    for table in ("compliance.facility_status", "compliance.registration_gap"):
        assert documented[table] and all(documented[table].values()), table
