"""Facility files in the official HMIS formats load under their official meanings.

Each facility here sends the format of its type (docs/formats.md): a CHC the 2017 CHC
format, a district hospital the 2017 consolidation with its stock sub-items, a sub-centre the
Sub-Centre format. The stages run for real against PostgreSQL; the files are built from the
catalogue's own item lists, so every code in them is one the portal prints.
"""

import csv
import io
import os
from datetime import datetime

import pytest

from hmis.pipeline import monthly
from hmis.pipeline.run import Run
from hmis.platform.warehouse import fetch_all as rows
from hmis.reference.formats import load_catalogue
from hmis.reference.periods import REPORTING_TZ

pytestmark = pytest.mark.integration

AS_OF = datetime(2026, 11, 7, 6, 0, tzinfo=REPORTING_TZ)
PERIOD = "2026-10"
FACILITIES = [  # id, name, type, ownership, block
    ("HR-HIS-CHC01", "CHC Barwala", "CHC", "public", "Barwala"),
    ("HR-HIS-DH001", "Civil Hospital Hisar", "DH", "public", "Hisar-I"),
    ("HR-HIS-SC001", "SC Dhansu", "SC", "public", "Hisar-I"),
    ("HR-HIS-AY001", "Ayush Dispensary Agroha", "AYUSH", "public", "Agroha"),
]
SAMPLE = {"count": "5", "status": "Adequate", "date": "12/10/2026", "percentage": "85.5"}


def _csv(header: list[str], body: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(body)
    return out.getvalue().encode("utf-8")


def _registry(landing) -> None:
    (landing / "registry").mkdir(parents=True, exist_ok=True)
    header = ["facility_id", "name", "facility_type", "ownership", "is_ayush", "block", "district", "district_lgd",
              "state", "hmis_registered", "hmis_registered_on", "opened_on", "closed_on"]
    body = [[fid, name, ftype, own, str(ftype == "AYUSH").lower(), block, "Hisar", "63", "Haryana", "true",
             "2018-04-01", "2000-01-01", ""] for fid, name, ftype, own, block in FACILITIES]
    (landing / "registry" / "facilities.csv").write_bytes(_csv(header, body))
    (landing / "registry" / "contacts.csv").write_bytes(_csv(
        ["role", "level", "area", "name", "email", "phone"],
        [["district_officer", "district", "Hisar", "District HMIS Officer", "dio@example.org", ""]]))


def _file(landing, facility_id: str, facility_type: str, overrides: dict[str, str] | None = None,
          extra: list[list[str]] | None = None) -> None:
    """One facility's month: every item its type is expected to report, in its own format."""
    overrides = overrides or {}
    body = []
    for item in load_catalogue().expected_items(facility_type, PERIOD):
        for sub in item.disaggregations:
            value = overrides.get(item.code, SAMPLE["count"] if item.value_type == "stock" else SAMPLE[item.value_type])
            body.append([facility_id, PERIOD, item.code, value, "" if sub == "TOTAL" else sub])
    body += extra or []
    folder = landing / "submissions" / PERIOD
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{facility_id}.csv"
    path.write_bytes(_csv(["facility_id", "period", "item_code", "value", "sub_item"], body))
    stamp = AS_OF.timestamp() - 86_400 * 3
    os.utime(path, (stamp, stamp))


def _run() -> dict:
    run = Run.at(AS_OF)
    results = {}
    for stage in (monthly.prepare, monthly.discover, monthly.parse, monthly.validate, monthly.load,
                  monthly.update_compliance, monthly.build_marts):
        results[stage.__name__] = stage(run)
    return results


@pytest.fixture
def loaded(warehouse, landing):
    _registry(landing)
    # 9.1.3 is DPT1 in the 2017 formats (Pentavalent 1 is 9.1.6); the CHC numbers institutional
    # deliveries 2.1 where the consolidation says 2.2.
    _file(landing, "HR-HIS-CHC01", "CHC", {"9.1.3": "40", "9.1.6": "7", "2.1": "33", "3.1": "4"})
    _file(landing, "HR-HIS-DH001", "DH", {"2.2": "410", "3.1": "90"})
    _file(landing, "HR-HIS-SC001", "SC")
    _file(landing, "HR-HIS-AY001", "AYUSH")
    return _run()


def test_every_item_of_every_format_loads_under_its_official_meaning(loaded):
    catalogue = load_catalogue()
    assert rows("SELECT status, count(*) FROM ingest.file GROUP BY 1") == [("loaded", 4)]
    for facility_id, _, ftype, _, _ in FACILITIES:
        expected = sum(len(i.disaggregations) for i in catalogue.expected_items(ftype, PERIOD))
        assert rows("SELECT count(*) FROM facts.monthly_value WHERE facility_id = %s", (facility_id,)) == [(expected,)]
    # The CHC's 9.1.3 = 40 is DPT1, and its own code is kept beside the element.
    assert rows("""SELECT d.name, v.value, v.format_id, v.format_code FROM facts.monthly_value v
                   JOIN ref.data_item d USING (item_code)
                  WHERE v.facility_id = 'HR-HIS-CHC01' AND v.item_code = '9.1.3'""") == [
        ("Child immunisation - DPT1", 40, "hmis2017_chc", "9.1.3")]
    assert rows("""SELECT value FROM facts.monthly_value
                    WHERE facility_id = 'HR-HIS-CHC01' AND item_code = '9.1.6'""") == [(7,)]
    # CHC 2.1 and DH 2.2 are the same element: institutional deliveries add up across formats.
    assert rows("SELECT value FROM marts.district_monthly WHERE item_code = '2.2' AND disaggregation = 'TOTAL'") == [
        (443,)]
    assert rows("SELECT count(*) FROM facts.monthly_value WHERE item_code = '2.1'") == [(0,)]


def test_stock_statuses_and_dates_keep_their_value_types(loaded):
    # The district hospital's stock items: five sub-items each, summed as movements and balances.
    stock = rows("""SELECT disaggregation, aggregation, count(*) FROM facts.monthly_value
                     WHERE facility_id = 'HR-HIS-DH001' AND disaggregation <> 'TOTAL' GROUP BY 1, 2 ORDER BY 1""")
    assert [s[0] for s in stock] == ["1. Balance From Previous Month", "2. Stocks Received", "3. Unusable Stock",
                                     "4. Stock Distributed", "5. Total Stock"]
    assert {s[0][:1]: s[1] for s in stock} == {"1": "balance", "2": "sum", "3": "sum", "4": "sum", "5": "balance"}
    # The CHC's M16 statuses and supply dates stay text and never reach the summed marts.
    text = rows("""SELECT value_text, count(*) FROM facts.monthly_value
                    WHERE facility_id = 'HR-HIS-CHC01' AND value IS NULL GROUP BY 1 ORDER BY 1""")
    assert text == [("12/10/2026", 3), ("Adequate", 25)]
    assert rows("""SELECT count(*) FROM marts.district_monthly m JOIN ref.data_item d USING (item_code)
                    WHERE d.value_type IN ('status', 'date')""") == [(0,)]


def test_facilities_expected_per_item_follow_the_formats(loaded):
    # ANC (1.1) is expected from the CHC, DH and SC, not from the AYUSH dispensary; allopathic
    # outpatients (14.2.1) from all four.
    assert rows("""SELECT item_code, facilities_reporting, facilities_expected FROM marts.district_monthly
                    WHERE item_code IN ('1.1', '14.2.1') ORDER BY 1""") == [("1.1", 3, 3), ("14.2.1", 4, 4)]


def test_a_file_with_codes_its_format_lacks_names_each_and_loads_nothing(warehouse, landing):
    _registry(landing)
    # 99.9 exists nowhere; 1.1.a is the newer format's, not the CHC format's.
    _file(landing, "HR-HIS-CHC01", "CHC", extra=[["HR-HIS-CHC01", PERIOD, "99.9", "4", ""],
                                                 ["HR-HIS-CHC01", PERIOD, "1.1.a", "4", ""]])
    _file(landing, "HR-HIS-SC001", "SC", {"1.1": "12"})
    _run()
    assert rows("SELECT facility_id, status FROM ingest.file ORDER BY 1") == [
        ("HR-HIS-CHC01", "rejected"), ("HR-HIS-SC001", "loaded")]
    reason = rows("SELECT reason FROM ingest.file WHERE facility_id = 'HR-HIS-CHC01'")[0][0]
    assert "'99.9'" in reason and "'1.1.a'" in reason and "CHC facility format" in reason
    assert rows("""SELECT item_code FROM dq.result WHERE expectation_id = 'item.known' ORDER BY 1""") == [
        ("1.1.a",), ("99.9",)]
    assert rows("SELECT count(*) FROM facts.monthly_value WHERE facility_id = 'HR-HIS-CHC01'") == [(0,)]
    assert rows("SELECT value FROM facts.monthly_value WHERE facility_id = 'HR-HIS-SC001' AND item_code = '1.1'") == [
        (12,)]
