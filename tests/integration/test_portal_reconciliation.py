"""Our district totals against the HMIS portal's own: the district-level "Data ItemWise Report".

A month of the demo's CHCs arrives as the portal's facility-wise report and goes through the
real stages; then the district's item-wise report, written in the portal's layout from the
marts' own totals with two figures changed and one item we do not hold, is handed over with
``hmis portal-import`` as the district would. The next run — no submission changed — must
still rebuild the district-month and say exactly those three differences, and the report
page must list them.
"""

from datetime import datetime

import pandas as pd
import pytest

from hmis.cli.main import main as hmis
from hmis.marts.catalog import load_catalog
from hmis.marts.dictionary import render as render_dictionary
from hmis.marts.export import export_period
from hmis.pipeline import monthly
from hmis.pipeline.run import Run
from hmis.platform.landing import LocalStore
from hmis.platform.warehouse import connect
from hmis.platform.warehouse import fetch_all as rows
from hmis.reference.formats import TOTAL, load_catalogue
from hmis.reference.periods import REPORTING_TZ
from hmis.report.page import render_report
from hmis_dev.demo.portal import district_totals, itemwise_report_html, portal_report_html
from hmis_dev.demo.registry import build_registry, write_registry
from hmis_dev.demo.values import clean_values

pytestmark = pytest.mark.integration

PERIOD = "2026-10"
SEED = 2026
FACILITY_PULL = datetime(2026, 11, 4, 10, 0, tzinfo=REPORTING_TZ)
# After the due date (5 November), so no facility's status changes between the runs below.
FIRST_RUN = datetime(2026, 11, 6, 12, 0, tzinfo=REPORTING_TZ)
ITEMWISE_PULL = datetime(2026, 11, 7, 11, 0, tzinfo=REPORTING_TZ)
LATER_PULL = datetime(2026, 11, 9, 11, 0, tzinfo=REPORTING_TZ)
STAGES = (monthly.prepare, monthly.split_portal, monthly.discover, monthly.parse, monthly.validate, monthly.load,
          monthly.update_compliance, monthly.build_marts)


def _run(as_of: datetime) -> dict:
    run = Run.at(as_of)
    return {stage.__name__: stage(run) for stage in STAGES}


def _import(tmp_path, data: bytes, name: str, pulled_at: datetime) -> int:
    path = tmp_path / name
    path.write_bytes(data)
    return hmis(["portal-import", str(path), "--pulled-at", pulled_at.isoformat()])


def _reconciliation(basis: str = "month") -> dict[tuple[str, str], tuple]:
    return {(item, sub): (ours, portal, difference, status, key) for item, sub, ours, portal, difference, status, key
            in rows("""SELECT item_code, disaggregation, our_value, portal_value, difference, status, pull_key
                         FROM marts.portal_reconciliation
                        WHERE district = 'Hisar' AND period = %s AND basis = %s""", (PERIOD, basis))}


@pytest.fixture
def loaded(tmp_path, warehouse, landing):
    """The CHCs' month pulled from the portal and through the stages: our totals in the marts."""
    write_registry(landing, SEED)
    chcs = [f for f in build_registry(SEED) if f.facility_type == "CHC" and f.registered]
    reports = {f.facility_id: clean_values(f, PERIOD, SEED) for f in chcs}
    assert _import(tmp_path, portal_report_html("CHC", PERIOD, chcs, reports, FACILITY_PULL), "chc.xls",
                   FACILITY_PULL) == 0
    first = _run(FIRST_RUN)
    assert f"Hisar/{PERIOD}" in first["build_marts"]["changed"]
    conn = connect()
    try:
        totals = district_totals(conn, PERIOD)
    finally:
        conn.close()
    return totals


def _planted(totals: dict) -> tuple[dict, tuple[str, str], tuple[str, str], tuple[str, str]]:
    """The portal's figures: ours, two of them changed, and one item we do not hold at all."""
    anchor = load_catalogue().items[load_catalogue().anchor]
    counts = [(i.code, TOTAL) for i in anchor if i.value_type == "count" and totals.get((i.code, TOTAL), 0) >= 10]
    higher, lower = counts[0], counts[len(counts) // 2]
    absent = next((i.code, TOTAL) for i in anchor if i.value_type == "count" and (i.code, TOTAL) not in totals)
    portal = dict(totals)
    portal[higher] += 7
    portal[lower] -= 3
    portal[absent] = 42
    return portal, higher, lower, absent


def test_the_portals_district_figures_are_reconciled_with_ours(tmp_path, loaded, capsys):
    totals = loaded
    portal, higher, lower, absent = _planted(totals)
    monthly_report = itemwise_report_html(PERIOD, portal, ITEMWISE_PULL)
    assert _import(tmp_path, monthly_report, "A-Haryana_Oct.xls", ITEMWISE_PULL) == 0
    assert "Data ItemWise Report of 2026-10 (the month)" in capsys.readouterr().out
    # The cumulative variant of the same month: April to October, of which we hold October only.
    cumulative_report = itemwise_report_html(PERIOD, totals, ITEMWISE_PULL, cumulative=True)
    assert _import(tmp_path, cumulative_report, "A-Haryana_UpTo_Oct.xls", ITEMWISE_PULL) == 0

    # No submission changed, yet the new pulls rebuild the district-month.
    second = _run(datetime(2026, 11, 7, 12, 0, tzinfo=REPORTING_TZ))
    assert second["split_portal"]["portal_itemwise_pulls"] == 2
    assert second["split_portal"]["portal_versions_written"] == 0
    assert second["build_marts"]["changed"] == [f"Hisar/{PERIOD}"]
    assert rows("""SELECT key, report_kind, status, periods, data_as_on FROM ingest.portal_pull
                    WHERE report_kind = 'district item-wise' ORDER BY key""") == [
        ("portal/2026-11-07/20261107T110000__A-Haryana_Oct.xls", "district item-wise", "split", [PERIOD],
         ITEMWISE_PULL),
        ("portal/2026-11-07/20261107T110000__A-Haryana_UpTo_Oct.xls", "district item-wise", "split", [PERIOD],
         ITEMWISE_PULL)]
    # Only the district's columns are kept, all five of them.
    assert rows("""SELECT DISTINCT district, district_lgd, report_column FROM ingest.portal_district_value
                    WHERE report_column = 'total'""") == [("Hisar", "63", "total")]

    month = _reconciliation()
    key = "portal/2026-11-07/20261107T110000__A-Haryana_Oct.xls"
    differences = {item: row for item, row in month.items() if row[3] != "match"}
    assert differences == {
        higher: (totals[higher], totals[higher] + 7, -7, "differs", key),
        lower: (totals[lower], totals[lower] - 3, 3, "differs", key),
        absent: (None, 42, -42, "only_portal", key),
    }
    anchor_codes = {i.code for i in load_catalogue().items[load_catalogue().anchor]}
    held = {item for item in totals if item[0] in anchor_codes}
    assert set(month) == held | {absent}   # every item of ours the report can hold was compared
    # The cumulative report is compared with our financial year to date: October alone here.
    year_to_date = _reconciliation("financial_year_to_date")
    assert set(year_to_date) == held and {row[3] for row in year_to_date.values()} == {"match"}

    # The mart is listed, behind row-level security, exported and described like every other.
    listed = load_catalog().mart("portal_reconciliation")
    assert rows("""SELECT c.relrowsecurity, ARRAY(SELECT policyname::text FROM pg_policies p
                                               WHERE p.schemaname = 'marts' AND p.tablename = c.relname
                                               ORDER BY 1)
                     FROM pg_class c WHERE c.oid = 'marts.portal_reconciliation'::regclass""") == [
        (True, ["loader_all", "own_district", "state_all"])]
    assert [c for (c,) in rows("""SELECT column_name::text FROM information_schema.columns
                                    WHERE table_schema = 'marts' AND table_name = 'portal_reconciliation'
                                    ORDER BY ordinal_position""")] == list(listed.column_names)
    conn = connect()
    try:
        manifest = export_period(conn, LocalStore(tmp_path / "state"), PERIOD, FIRST_RUN)
        assert "marts.portal_reconciliation" in render_dictionary(conn, FIRST_RUN)
    finally:
        conn.close()
    assert manifest["files"]["portal_reconciliation.csv"]["rows"] == len(month) + len(year_to_date)
    exported = pd.read_parquet(tmp_path / "state" / "exports" / PERIOD / "portal_reconciliation.parquet")
    assert sorted(exported.loc[exported["status"] != "match", "item_code"]) == sorted(
        item for item, _sub in differences)

    # Nothing new: nothing rebuilt.
    assert _run(datetime(2026, 11, 8, 12, 0, tzinfo=REPORTING_TZ))["build_marts"]["changed"] == []

    # The report page lists the three differences of the month, in both languages.
    conn = connect()
    try:
        page = render_report(conn, "Hisar", PERIOD, datetime(2026, 11, 8, 12, 0, tzinfo=REPORTING_TZ))
    finally:
        conn.close()
    section = page.split('<section id="reconciliation">', 1)[1].split("</section>", 1)[0]
    assert "Reconciliation with the HMIS portal" in section and "एचएमआईएस पोर्टल के आँकड़ों से मिलान" in section
    assert "3 of " in section and "A-Haryana_Oct.xls" in section
    listed = {(part.split('"', 1)[0], part.split('data-status="', 1)[1].split('"', 1)[0])
              for part in section.split('data-item="')[1:]}
    assert listed == {(higher[0], "differs"), (lower[0], "differs"), (absent[0], "only_portal")}
    assert f"{totals[higher] + 7:,}" in section and "−3" not in section and "+3" in section and "−7" in section
    assert "agree with the HMIS portal" in section   # the cumulative report: no difference

    # A later pull of the same district-month supersedes the earlier: only the portal-only item is left.
    corrected = dict(totals)
    corrected[absent] = 42
    assert _import(tmp_path, itemwise_report_html(PERIOD, corrected, LATER_PULL), "A-Haryana_Oct.xls",
                   LATER_PULL) == 0
    third = _run(datetime(2026, 11, 9, 12, 0, tzinfo=REPORTING_TZ))
    assert third["build_marts"]["changed"] == [f"Hisar/{PERIOD}"]
    month = _reconciliation()
    assert {item: row[3] for item, row in month.items() if row[3] != "match"} == {absent: "only_portal"}
    assert {row[4] for row in month.values()} == {"portal/2026-11-09/20261109T110000__A-Haryana_Oct.xls"}


def test_a_file_that_is_neither_report_is_refused_with_both_reasons(tmp_path, landing, capsys):
    path = tmp_path / "notes.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    assert hmis(["portal-import", str(path)]) == 2
    message = capsys.readouterr().err.strip()
    assert "\n" not in message
    assert "neither a facility-wise report (" in message and "nor a district Data ItemWise Report (" in message
    assert "descriptor columns" in message and "no area header" in message
    assert not (landing / "portal").exists()


def test_an_itemwise_report_of_no_registry_district_is_refused(tmp_path, warehouse, landing):
    write_registry(landing, SEED)
    report = itemwise_report_html(PERIOD, {("1.1", TOTAL): 5}, ITEMWISE_PULL, district="Rohtak",
                                  district_lgd="74")
    assert _import(tmp_path, report, "rohtak.xls", ITEMWISE_PULL) == 0   # the file itself is the report
    run = Run.at(datetime(2026, 11, 7, 12, 0, tzinfo=REPORTING_TZ))
    monthly.prepare(run)
    assert monthly.split_portal(run)["portal_pulls_rejected"] == 1
    [(kind, periods, status, reason)] = rows("SELECT report_kind, periods, status, reason FROM ingest.portal_pull")
    assert (kind, periods, status) == ("district item-wise", [PERIOD], "rejected")
    assert reason.startswith("rohtak.xls: the Data ItemWise Report names no district of the facility registry "
                             "(its areas: Rohtak(74))")
    assert rows("SELECT count(*) FROM ingest.portal_district_value") == [(0,)]
