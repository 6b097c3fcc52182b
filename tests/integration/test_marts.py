"""Marts state teams rely on: reconciled with facility data, incremental, atomic, guarded."""

import hashlib
import json
import os
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd
import psycopg2
import pytest
from psycopg2 import sql

from hmis.marts.build import load_indicators
from hmis.marts.catalog import load_catalog
from hmis.platform.settings import load_settings
from hmis.platform.warehouse import connect
from hmis.platform.warehouse import fetch_all as rows
from hmis.reference.formats import load_catalogue
from hmis.reference.periods import REPORTING_TZ
from hmis_dev.airflow_runtime import run_dag
from hmis_dev.demo.generator import generate
from hmis_dev.demo.population import write_population

pytestmark = pytest.mark.integration

AS_OF = datetime(2026, 11, 27, 6, 0, tzinfo=REPORTING_TZ)




@pytest.fixture
def built(warehouse, mail_sink, landing, airflow_home, tmp_path, monkeypatch):
    monkeypatch.setenv("HMIS_EXPORT_URL", str(tmp_path / "state-store"))
    truth = generate(landing, AS_OF, months=3)
    write_population(landing)
    assert str(run_dag(load_settings(), AS_OF).state).endswith("success")
    return truth


def test_every_level_reconciles_with_the_accepted_facility_values(built):
    facility = {f: (b, o, t, a) for f, b, o, t, a in rows(
        "SELECT facility_id, block, ownership, facility_type, is_ayush FROM ref.facility")}
    # Marts hold numbers only (counts and stock figures, per element and disaggregation);
    # statuses, dates and percentages stay in the facts.
    block_sums, group_sums = defaultdict(int), defaultdict(int)
    for (fid, period), values in built.values.items():
        block, ownership, ftype, ayush = facility[fid]
        for (element, sub), value in values.items():
            if isinstance(value, int):
                block_sums[(block, period, element, sub)] += value
                group_sums[("Hisar", period, element, sub, ownership, ftype, ayush)] += value
    assert any(sub != "TOTAL" for _b, _p, _e, sub in block_sums)  # the hospitals' stock sub-items
    assert {(b, p, i, d): v for b, p, i, d, v in rows(
        "SELECT block, period, item_code, disaggregation, value FROM marts.block_monthly")} == dict(block_sums)
    assert {(a, p, i, d, o, t, y): v for a, p, i, d, o, t, y, v in rows(
        """SELECT area, period, item_code, disaggregation, ownership, facility_type, is_ayush, value
             FROM marts.monthly_by_group WHERE level = 'district'""")} == dict(group_sums)
    assert rows("""SELECT count(*) FROM marts.district_monthly m JOIN ref.data_item d USING (item_code)
                    WHERE d.value_type NOT IN ('count', 'stock')""") == [(0,)]
    # Block rows add up to the district, district rows to the state, for every column that sums.
    assert rows("""SELECT count(*) FROM marts.district_monthly d JOIN (
                     SELECT period, item_code, disaggregation, sum(value) v, sum(facilities_reporting) r,
                            sum(flagged_values) f
                       FROM marts.block_monthly GROUP BY 1, 2, 3) b USING (period, item_code, disaggregation)
                   WHERE d.value <> b.v OR d.facilities_reporting <> b.r OR d.flagged_values <> b.f""") == [(0,)]
    assert rows("""SELECT count(*) FROM marts.state_monthly s
                     JOIN marts.district_monthly d USING (period, item_code, disaggregation)
                    WHERE s.value <> d.value OR s.facilities_expected <> d.facilities_expected""") == [(0,)]
    # Flagged values are counted, not dropped.
    assert rows("SELECT sum(flagged_values) FROM marts.district_monthly")[0][0] == rows(
        "SELECT count(*) FROM facts.monthly_value WHERE flagged")[0][0]


def test_facilities_expected_per_item_follow_the_formats(built):
    """An item's expected reporters are the expected facilities whose type's format (and the
    modules it reports) holds the item: an AYUSH dispensary reports module 14 only, so it is
    expected for outpatients (14.2.1) but not for ANC registrations (1.1)."""
    types = dict(rows("SELECT facility_id, facility_type FROM ref.facility"))
    catalogue = load_catalogue()
    for period in built.periods:
        expected = [f for (f, p) in built.status if p == period]
        ayush = [f for f in expected if types[f] == "AYUSH"]
        assert ayush and len(expected) == 266
        for element in ("1.1", "1.1.1", "14.2.1"):
            holders = [f for f in expected
                       if element in {i.element for i in catalogue.expected_items(types[f], period)}]
            assert rows("""SELECT facilities_expected FROM marts.district_monthly
                            WHERE period = %s AND item_code = %s AND disaggregation = 'TOTAL'""",
                        (period, element)) == [(len(holders),)], (period, element)
        anc = rows("""SELECT facilities_expected FROM marts.district_monthly
                       WHERE period = %s AND item_code = '1.1' AND disaggregation = 'TOTAL'""", (period,))[0][0]
        opd = rows("""SELECT facilities_expected FROM marts.district_monthly
                       WHERE period = %s AND item_code = '14.2.1' AND disaggregation = 'TOTAL'""", (period,))[0][0]
        assert anc == len(expected) - len(ayush)  # every other type's format has module 1
        assert opd == len(expected)               # AYUSH facilities included
        # No AYUSH split holds ANC at all; its outpatients are expected from every AYUSH facility.
        assert rows("""SELECT count(*) FROM marts.monthly_by_group WHERE level = 'district' AND period = %s
                          AND item_code = '1.1' AND facility_type = 'AYUSH'""", (period,)) == [(0,)]
        assert rows("""SELECT sum(facilities_expected) FROM marts.monthly_by_group
                        WHERE level = 'district' AND period = %s AND item_code = '14.2.1'
                          AND disaggregation = 'TOTAL' AND facility_type = 'AYUSH'""", (period,)) == [(len(ayush),)]
        # Reporters never exceed the expected, at any level.
        for table in ("block_monthly", "district_monthly", "state_monthly"):
            assert rows(sql.SQL("""SELECT count(*) FROM {} WHERE period = %s
                                    AND facilities_reporting > facilities_expected""").format(
                sql.Identifier("marts", table)), (period,)) == [(0,)], table


def test_indicators_follow_their_definition(built):
    def total(values, element):
        return values.get((element, "TOTAL"), 0)

    for period in built.periods:
        num = sum(total(v, "1.1.1") for (f, p), v in built.values.items() if p == period)
        den = sum(total(v, "1.1") for (f, p), v in built.values.items() if p == period)
        stored = rows("""SELECT numerator, denominator, value FROM marts.indicator_monthly
                          WHERE level = 'district' AND indicator_id = 'anc_first_trimester_pct' AND period = %s""",
                      (period,))
        assert stored == [(num, den, (Decimal(100 * num) / den).quantize(Decimal("0.0001")))]
    # Every indicator of reference/indicators.yaml, on the consolidation's element codes (the
    # TOTAL of each; CHC, SC and hospital files all land on these elements), per district month.
    catalogue = load_catalogue()
    anchor = {i.element for i in catalogue.items[catalogue.anchor]}
    for ind in load_indicators():
        codes = ind["numerator"] + ind.get("numerator_minus", []) + ind.get("denominator", [])
        assert set(codes) <= anchor, ind["id"]
        for period in built.periods:
            def summed(elements, period=period):
                return sum(total(v, e) for (f, p), v in built.values.items() if p == period for e in elements)

            num = summed(ind["numerator"]) - summed(ind.get("numerator_minus", []))
            ((n, d, value),) = rows("""SELECT numerator, denominator, value FROM marts.indicator_monthly
                                        WHERE level = 'district' AND indicator_id = %s AND period = %s""",
                                    (ind["id"], period))
            assert n == num and summed(ind["numerator"]) > 0, (ind["id"], period)
            if "denominator" in ind:
                den = summed(ind["denominator"])
                assert d == den > 0, (ind["id"], period)
                expected = (Decimal(ind["factor"] * num) / den).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
                assert value == expected, (ind["id"], period)
    # Year to date accumulates from the first month present in the financial year.
    ytd = rows("""SELECT period, fytd_numerator FROM marts.indicator_monthly
                   WHERE level = 'district' AND indicator_id = 'csection_pct' ORDER BY period""")
    monthly = rows("""SELECT period, numerator FROM marts.indicator_monthly
                       WHERE level = 'district' AND indicator_id = 'csection_pct' ORDER BY period""")
    running = 0
    for (_p, n), (_q, cumulative) in zip(monthly, ytd):
        running += n
        assert cumulative == running
    opd = rows("""SELECT denominator FROM marts.indicator_monthly
                   WHERE level = 'block' AND area = 'Agroha' AND indicator_id = 'opd_per_1000_population'
                     AND period = '2026-10'""")
    assert opd == [(Decimal("120.0000"),)]  # 120,000 people = 120 thousands per month


def test_late_submission_rebuilds_only_its_block_period(built, landing):
    before = {(p, t): (b, s) for p, t, b, s in rows(
        "SELECT period, block || '/' || item_code, built_at, ledger_state FROM marts.block_monthly")}
    period = built.periods[-1]
    facility = sorted(f for (f, p), s in built.status.items() if p == period and s == "missing")[0]
    block = rows("SELECT block FROM ref.facility WHERE facility_id = %s", (facility,))[0][0]
    path = landing / "submissions" / period / f"{facility}.csv"
    # 14.2.1 (allopathic outpatients) is the same code in every 2017 format and expected of every type.
    path.write_text(f"facility_id,period,item_code,value\n{facility},{period},14.2.1,40\n", encoding="utf-8")
    arrived = (AS_OF + timedelta(hours=1)).timestamp()
    os.utime(path, (arrived, arrived))
    run = run_dag(load_settings(), AS_OF + timedelta(days=1))
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    assert states["marts"].endswith("success") and states["export"].endswith("success")
    after = {(p, t): (b, s) for p, t, b, s in rows(
        "SELECT period, block || '/' || item_code, built_at, ledger_state FROM marts.block_monthly")}
    for key, (built_at, state) in after.items():
        if key[0] != period:
            assert before[key] == (built_at, state), key  # other periods untouched
    changed = {k for k in after if k in before and after[k] != before[k]}
    assert changed and {k[0] for k in changed} == {period}
    # Only the late facility's block is aggregated again; the district's other blocks keep their rows.
    assert {k[1].split("/")[0] for k in changed} == {block}
    value = rows("""SELECT value FROM marts.block_monthly WHERE block = %s AND period = %s AND item_code = '14.2.1'
                     AND disaggregation = 'TOTAL'""", (block, period))[0][0]
    assert value == sum(v.get(("14.2.1", "TOTAL"), 0) for (f, p), v in built.values.items()
                        if p == period and rows("SELECT block FROM ref.facility WHERE facility_id = %s", (f,))[0][0] == block) + 40


def test_unchanged_inputs_skip_the_marts_and_emit_no_asset_event(built):
    run = run_dag(load_settings(), AS_OF)
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    assert states["marts"].endswith("skipped")
    # The export still runs (it pays whatever an earlier run owed the state) and finds nothing owed.
    assert states["export"].endswith("success")
    assert rows("SELECT count(*) FROM marts.export_owed WHERE settled_at IS NULL") == [(0,)]
    assert states["summary"].endswith("success")


def test_state_reader_sees_marts_only_and_cannot_write(built, warehouse):
    conn = connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SET ROLE state_reader")
            cur.execute("SELECT count(*) FROM marts.district_monthly")
            assert cur.fetchone()[0] > 0
            for raw in ("facts.monthly_value", "ingest.file", "dq.result", "alerts.sent", "ref.contact"):
                cur.execute("SAVEPOINT s")
                with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                    schema, table = raw.split(".")
                    cur.execute(sql.SQL("SELECT 1 FROM {} LIMIT 1").format(sql.Identifier(schema, table)))
                cur.execute("ROLLBACK TO SAVEPOINT s")
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cur.execute("DELETE FROM marts.district_monthly")
    finally:
        conn.rollback()
        conn.close()


def test_district_reader_sees_only_its_district(built, warehouse):
    conn = connect()
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            for role in ("district_reader_hisar", "district_reader_rohtak"):
                cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
                if not cur.fetchone():
                    cur.execute(sql.SQL("CREATE ROLE {} NOLOGIN IN ROLE district_reader").format(sql.Identifier(role)))
            cur.execute("INSERT INTO marts.reader_scope VALUES ('district_reader_hisar', 'Hisar'), "
                        "('district_reader_rohtak', 'Rohtak') ON CONFLICT DO NOTHING")
            cur.execute("""INSERT INTO marts.district_monthly (state, district, period, item_code, value,
                               facilities_reporting, facilities_expected, built_at)
                           VALUES ('Haryana', 'Rohtak', '2026-10', '1.1', 5, 1, 1, now())""")
            cur.execute("BEGIN")
            cur.execute("SET LOCAL ROLE district_reader_hisar")
            cur.execute("SELECT DISTINCT district FROM marts.district_monthly")
            assert cur.fetchall() == [("Hisar",)]
            cur.execute("SELECT count(*) FROM marts.indicator_monthly WHERE district IS DISTINCT FROM 'Hisar'")
            assert cur.fetchone()[0] == 0
            cur.execute("ROLLBACK")
            cur.execute("BEGIN")
            cur.execute("SET LOCAL ROLE district_reader_rohtak")
            cur.execute("SELECT DISTINCT district FROM marts.district_monthly")
            assert cur.fetchall() == [("Rohtak",)]
            cur.execute("ROLLBACK")
    finally:
        conn.close()


def _month_name(period: str) -> str:
    return datetime.strptime(period, "%Y-%m").strftime("%B %Y")


def test_exports_round_trip_and_the_manifest_matches(built, tmp_path):
    root = tmp_path / "state-store" / "exports"
    for period in built.periods:
        manifest = json.loads((root / period / "manifest.json").read_text())
        for name, entry in manifest["files"].items():
            data = (root / period / name).read_bytes()
            assert hashlib.sha256(data).hexdigest() == entry["sha256"], name
        parquet = pd.read_parquet(root / period / "district_monthly.parquet")
        csv = pd.read_csv(root / period / "district_monthly.csv", dtype={"item_code": str})
        stored = rows("SELECT item_code, value FROM marts.district_monthly WHERE period = %s ORDER BY 1", (period,))
        assert sorted(zip(parquet["item_code"], parquet["value"])) == sorted(stored)
        assert sorted(zip(csv["item_code"], csv["value"])) == sorted(stored)
        keyed = rows("""SELECT item_code, disaggregation, value FROM marts.district_monthly
                         WHERE period = %s ORDER BY 1, 2""", (period,))
        assert sorted(zip(parquet["item_code"], parquet["disaggregation"], parquet["value"])) == sorted(keyed)
        assert manifest["files"]["district_monthly.parquet"]["rows"] == len(stored)
        # The DHIS2 documents under dhis2/ (one per set of id schemes, with sidecars) are checked by
        # tests/unit/dhis2; here they only have to be listed in the manifest like every other file.
        # Exactly the marts the list marks exported, each with all its rows of the period.
        exported = load_catalog().exported
        written = {p.relative_to(root / period).as_posix() for p in (root / period).rglob("*") if p.is_file()}
        assert {n for n in written if not n.startswith("dhis2/")} == {"manifest.json"} | {
            f"{t.name}.{ext}" for t in exported for ext in ("csv", "parquet")}
        assert set(manifest["files"]) == written - {"manifest.json"}
        assert any(n.startswith("dhis2/") for n in written)
        for table in exported:
            count = rows(sql.SQL("SELECT count(*) FROM {} WHERE period = %s").format(
                sql.Identifier("marts", table.name)), (period,))[0][0]
            assert manifest["files"][f"{table.name}.csv"]["rows"] == count, table.name
            header = (root / period / f"{table.name}.csv").read_text(encoding="utf-8").splitlines()[0]
            assert header.split(",") == list(table.export_columns), table.name
        assert rows("SELECT count(*) FROM marts.reporting_rates_by_group WHERE period = %s", (period,))[0][0] > 0
    dictionary = (root / "data_dictionary.md").read_text()
    assert "marts.district_monthly" in dictionary
    # build bookkeeping is not something readers may query, so it is not documented for them
    assert "block_build_state" not in dictionary and "reader_scope" not in dictionary
    # the officers' compliance page travels with each exported month
    for period in built.periods:
        page = (tmp_path / "state-store" / "reports" / period / "compliance-hisar.html").read_text(encoding="utf-8")
        assert "HMIS compliance report" in page and _month_name(period) in page


def test_a_block_left_without_facilities_loses_its_rows(built, landing):
    """A registry change that empties a block (all its facilities now belong to a
    neighbour) removes the block's mart rows instead of leaving them stale."""
    registry = landing / "registry" / "facilities.csv"
    frame = pd.read_csv(registry, dtype=str, keep_default_na=False)
    assert (frame["block"] == "Agroha").any()
    frame.loc[frame["block"] == "Agroha", "block"] = "Barwala"
    frame.to_csv(registry, index=False)
    assert str(run_dag(load_settings(), AS_OF + timedelta(days=1)).state).endswith("success")
    assert rows("SELECT count(*) FROM marts.block_monthly WHERE block = 'Agroha'") == [(0,)]
    assert rows("SELECT count(*) FROM marts.block_build_state WHERE block = 'Agroha'") == [(0,)]
    assert rows("""SELECT count(*) FROM marts.monthly_by_group WHERE level = 'block' AND area = 'Agroha'""") == [(0,)]
    moved = {f for f in frame.loc[frame["block"] == "Barwala", "facility_id"]}
    for period in built.periods:
        expected = sum(v.get(("1.1", "TOTAL"), 0) for (f, p), v in built.values.items() if p == period and f in moved)
        assert rows("""SELECT coalesce(sum(value), 0) FROM marts.block_monthly
                        WHERE block = 'Barwala' AND period = %s AND item_code = '1.1'
                          AND disaggregation = 'TOTAL'""", (period,)) == [(expected,)]
    # The district still adds up from its blocks.
    assert rows("""SELECT count(*) FROM marts.district_monthly d JOIN (
                     SELECT period, item_code, disaggregation, sum(value) v FROM marts.block_monthly GROUP BY 1, 2, 3) b
                   USING (period, item_code, disaggregation) WHERE d.value <> b.v""") == [(0,)]
