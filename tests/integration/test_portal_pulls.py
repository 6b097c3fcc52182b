"""A month pulled from the HMIS portal: every facility-month judged on its own, arriving with its pull.

The report is written in the portal's facility-wise layout (an ``.xls`` that is an HTML table)
from the demo registry, handed over with ``hmis portal-import`` as the district would, and the
real stages run against PostgreSQL.
"""

import dataclasses
from datetime import datetime

import pytest

from hmis.cli.main import main as hmis
from hmis.pipeline import monthly
from hmis.pipeline.run import Run
from hmis.platform.warehouse import fetch_all as rows
from hmis.reference.periods import REPORTING_TZ
from hmis_dev.demo.portal import portal_report_html
from hmis_dev.demo.registry import build_registry, write_registry
from hmis_dev.demo.values import clean_values

pytestmark = pytest.mark.integration

PERIOD = "2026-10"
SEED = 2026
FIRST_PULL = datetime(2026, 11, 4, 10, 0, tzinfo=REPORTING_TZ)
SECOND_PULL = datetime(2026, 11, 9, 10, 0, tzinfo=REPORTING_TZ)
STAGES = (monthly.prepare, monthly.split_portal, monthly.discover, monthly.parse, monthly.validate, monthly.load,
          monthly.update_compliance, monthly.build_marts)


def _run(as_of: datetime) -> dict:
    run = Run.at(as_of)
    return {stage.__name__: stage(run) for stage in STAGES}


def _import(tmp_path, html: bytes, name: str, pulled_at: datetime) -> int:
    path = tmp_path / name
    path.write_bytes(html)
    return hmis(["portal-import", str(path), "--pulled-at", pulled_at.isoformat()])


@pytest.fixture
def chcs(warehouse, landing):
    write_registry(landing, SEED)
    registered = [f for f in build_registry(SEED) if f.facility_type == "CHC" and f.registered]
    assert len(registered) >= 5
    # A CHC the registry does not list, but the portal does.
    newcomer = dataclasses.replace(registered[0], facility_id="HR-HIS-9001", name="CHC Newcomer")
    return registered, newcomer


def _reports(facilities):
    return {f.facility_id: clean_values(f, PERIOD, SEED) for f in facilities}


def test_a_portal_month_becomes_one_submission_per_facility(tmp_path, chcs, landing, capsys):
    registered, newcomer = chcs
    silent, broken = registered[0], registered[1]
    everyone = [*registered, newcomer]
    reports = _reports(everyone)
    reports[silent.facility_id] = None
    html = portal_report_html("CHC", PERIOD, everyone, reports, FIRST_PULL)
    # One facility's cell holds a 12-digit number (an RCH ID typed into a count).
    broken_value = str(reports[broken.facility_id].values[("1.1", "TOTAL")])
    marker = f"<td>{broken.facility_id}</td>"
    head, tail = html.decode().split(marker, 1)
    tail = tail.replace(f"<td>{broken_value}</td>", "<td>402155667792</td>", 1)
    assert _import(tmp_path, (head + marker + tail).encode(), "Hisar CHC Oct-2026.xls", FIRST_PULL) == 0
    assert "1 with data" not in capsys.readouterr().out
    assert [p.name for p in (landing / "portal").rglob("*") if p.is_file()] == [
        "20261104T100000__Hisar_CHC_Oct-2026.xls"]

    result = _run(datetime(2026, 11, 4, 12, 0, tzinfo=REPORTING_TZ))
    split = result["split_portal"]
    assert split["portal_pulls"] == 1 and split["portal_rows_rejected"] == 1
    assert split["portal_versions_written"] == len(everyone) - 2   # the silent one and the broken one not
    loaded = dict(rows("SELECT facility_id, status FROM ingest.file"))
    assert loaded[broken.facility_id] == "rejected" and silent.facility_id not in loaded
    assert {f for f, s in loaded.items() if s == "loaded"} == {f.facility_id for f in everyone} - {
        silent.facility_id, broken.facility_id}
    # Arrival is the pull's moment, not when the split wrote the file.
    assert {t for (t,) in rows("SELECT DISTINCT submitted_at FROM ingest.file")} == {FIRST_PULL}
    reason = rows("SELECT reason FROM ingest.file WHERE facility_id = %s", (broken.facility_id,))[0][0]
    assert "Hisar_CHC_Oct-2026.xls (2026-10): " in reason and "402155667792" not in reason
    assert rows("SELECT status FROM compliance.facility_status WHERE facility_id = %s AND period = %s",
                (registered[2].facility_id, PERIOD)) == [("on_time",)]
    # Values land under their official meanings: the CHC's 2.1 is element 2.2.
    deliveries = reports[registered[2].facility_id].values[("2.2", "TOTAL")]
    assert rows("""SELECT value, format_code FROM facts.monthly_value
                    WHERE facility_id = %s AND item_code = '2.2'""", (registered[2].facility_id,)) == [
        (deliveries, "2.1")]
    # The newcomer is added from the report's descriptors, and listed for the district.
    assert rows("SELECT facility_type, block, source FROM ref.facility WHERE facility_id = 'HR-HIS-9001'") == [
        ("CHC", newcomer.block, "portal:portal/2026-11-04/20261104T100000__Hisar_CHC_Oct-2026.xls")]
    assert rows("SELECT field FROM ref.registry_difference WHERE facility_id = 'HR-HIS-9001'") == [
        ("not in registry",)]


def test_a_later_pull_revises_only_what_changed(tmp_path, chcs):
    registered, _ = chcs
    reports = _reports(registered)
    _import(tmp_path, portal_report_html("CHC", PERIOD, registered, reports, FIRST_PULL), "first.xls", FIRST_PULL)
    _run(datetime(2026, 11, 4, 12, 0, tzinfo=REPORTING_TZ))
    changed = registered[3].facility_id
    revised = dict(reports)
    revised[changed] = reports[changed].with_counts({"1.1": reports[changed].numbers()["1.1"] + 5})
    _import(tmp_path, portal_report_html("CHC", PERIOD, registered, revised, SECOND_PULL), "second.xls",
            SECOND_PULL)
    # A run dated before the second pull does not see it.
    before = _run(datetime(2026, 11, 8, 6, 0, tzinfo=REPORTING_TZ))
    assert before["split_portal"]["portal_pulls"] == 0
    after = _run(datetime(2026, 11, 9, 12, 0, tzinfo=REPORTING_TZ))
    assert after["split_portal"]["portal_versions_written"] == 1
    assert after["split_portal"]["portal_unchanged"] == len(registered) - 1
    assert rows("SELECT status, submitted_at FROM ingest.file WHERE facility_id = %s ORDER BY file_id", (changed,)) == [
        ("superseded", FIRST_PULL), ("loaded", SECOND_PULL)]
    assert rows("SELECT value FROM facts.monthly_value WHERE facility_id = %s AND item_code = '1.1'", (changed,)) == [
        (reports[changed].numbers()["1.1"] + 5,)]
    # The correction came after the due date, but the facility-month first arrived on time.
    assert rows("SELECT status FROM compliance.facility_status WHERE facility_id = %s AND period = %s",
                (changed, PERIOD)) == [("on_time",)]
