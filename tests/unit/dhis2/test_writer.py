"""District aggregates written as dataValueSets: UIDs where the mapping has them, codes declared otherwise."""

import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from hmis.dhis2.mapping import load_mapping
from hmis.dhis2.readers import parse_adx, parse_csv, parse_json, translate
from hmis.dhis2.writer import district_documents, export_files, period_to_adx, period_to_dhis2, value_text

pytestmark = pytest.mark.unit

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "dhis2"


def _frame(rows):
    return pd.DataFrame(rows, columns=["district", "period", "item_code", "disaggregation", "value"])


AGGREGATES = _frame([
    ("Hisar", "2026-10", "4.1.1.a", "TOTAL", 1520),
    ("Hisar", "2026-10", "4.1.1.b", "TOTAL", 1391.0),
    ("Hisar", "2026-10", "1.1", "TOTAL", Decimal("3100")),
    ("Hisar", "2026-10", "17.1", "2. Stocks Received", 4000),     # a stock item: no UID known
    ("Hisar", "2026-10", "17.1", "5. Total Stock", 5200),
    ("Hisar", "2026-10", "14.1.1", "TOTAL", 2400),     # outpatients with diabetes
])


@pytest.fixture(scope="module")
def mapping():
    return load_mapping((FIXTURES / "dhis2_org_units.csv").read_bytes())


def test_mapped_elements_go_by_uid_and_the_rest_by_code_in_separate_documents():
    uid_doc, code_doc = district_documents(AGGREGATES, district_lgd={"Hisar": "63"})
    assert [d.label for d in (uid_doc, code_doc)] == ["uid", "code"]
    assert [(v.data_element, v.category_option_combo, v.value) for v in uid_doc.values] == [
        ("o9GN9y7BcaC", "RffjraraKhQ", "1520"), ("o9GN9y7BcaC", "v7RmjKvAUhD", "1391"),
        ("j1P6jztUAIT", "ZnztZgggxd6", "3100"), ("Zkip12fx9Nr", "HllvX50cXC0", "2400")]
    assert uid_doc.import_parameters() == {"idScheme": "UID", "dataElementIdScheme": "UID",
                                           "categoryOptionComboIdScheme": "UID", "orgUnitIdScheme": "CODE"}
    assert [(v.data_element, v.category_option_combo) for v in code_doc.values] == [
        ("17.1", "2. Stocks Received"), ("17.1", "5. Total Stock")]
    assert code_doc.import_parameters()["dataElementIdScheme"] == "CODE"
    assert {uid_doc.org_unit, code_doc.org_unit} == {"63"}   # the LGD code, as an org unit code
    payload = uid_doc.payload()
    assert "completeDate" not in payload and "dataSet" not in payload
    assert (payload["period"], payload["orgUnit"]) == ("202610", "63")
    assert payload["dataValues"][0] == {"dataElement": "o9GN9y7BcaC", "period": "202610", "orgUnit": "63",
                                        "categoryOptionCombo": "RffjraraKhQ", "value": "1520"}


def test_a_total_names_no_category_option_combo_when_it_goes_by_code():
    (doc,) = district_documents(_frame([("Hisar", "2026-10", "hmis2017_chc:14.20", "TOTAL", 91)]))
    assert doc.payload()["dataValues"][0] == {"dataElement": "hmis2017_chc:14.20", "period": "202610",
                                              "orgUnit": "Hisar", "value": "91"}
    assert doc.import_parameters()["orgUnitIdScheme"] == "NAME"   # no LGD code given


def test_the_district_s_uid_is_used_when_the_deployment_lists_it(mapping):
    docs = district_documents(AGGREGATES, district_lgd={"Hisar": "63"}, mapping=mapping)
    assert {d.org_unit for d in docs} == {"dQhRFaX0HsR"}
    assert {d.import_parameters()["orgUnitIdScheme"] for d in docs} == {"UID"}
    attribute = load_mapping(org_unit_fallback="ATTRIBUTE:Abcdefghij1")
    assert district_documents(AGGREGATES, district_lgd={"Hisar": "63"}, mapping=attribute)[0] \
        .import_parameters()["orgUnitIdScheme"] == "ATTRIBUTE:Abcdefghij1"


def test_complete_date_only_when_the_month_is_complete():
    (doc, _) = district_documents(AGGREGATES, district_lgd={"Hisar": "63"}, data_set="HMIS_MONTHLY",
                                  complete_date=datetime(2026, 11, 10, 18, 30))
    assert (doc.payload()["dataSet"], doc.payload()["completeDate"]) == ("HMIS_MONTHLY", "2026-11-10")
    assert doc.import_parameters()["idScheme"] == "CODE"        # the data set goes by its code
    assert doc.import_parameters()["dataElementIdScheme"] == "UID"
    with pytest.raises(ValueError, match="name the data set"):
        district_documents(AGGREGATES, complete_date=date(2026, 11, 10))


def test_every_district_and_month_gets_its_own_documents():
    frame = pd.concat([AGGREGATES, AGGREGATES.assign(district="Fatehabad"),
                       AGGREGATES.assign(period="2026-09")])
    docs = district_documents(frame, district_lgd={"Hisar": "63", "Fatehabad": "61"})
    assert [(d.district, d.period, d.label) for d in docs] == [
        ("Fatehabad", "2026-10", "uid"), ("Fatehabad", "2026-10", "code"), ("Hisar", "2026-09", "uid"),
        ("Hisar", "2026-09", "code"), ("Hisar", "2026-10", "uid"), ("Hisar", "2026-10", "code")]


def test_export_files_carry_a_sidecar_declaring_the_id_schemes(mapping):
    docs = district_documents(AGGREGATES, district_lgd={"Hisar": "63"}, data_set="HMIS_MONTHLY")
    files = export_files(docs, forms=("json", "csv", "adx"), mapping=mapping)
    assert sorted(files) == sorted([
        "hisar-202610.uid.json", "hisar-202610.uid.json.import.json", "hisar-202610.uid.csv",
        "hisar-202610.uid.csv.import.json", "hisar-202610.uid.adx.xml", "hisar-202610.uid.adx.import.json",
        "hisar-202610.code.json", "hisar-202610.code.json.import.json", "hisar-202610.code.csv",
        "hisar-202610.code.csv.import.json", "hisar-202610.code.adx.xml", "hisar-202610.code.adx.import.json"])
    sidecar = json.loads(files["hisar-202610.code.json.import.json"])
    assert sidecar["query"] == ("idScheme=CODE&dataElementIdScheme=CODE&categoryOptionComboIdScheme=CODE"
                                "&orgUnitIdScheme=CODE")
    assert (sidecar["method"], sidecar["endpoint"], sidecar["content_type"]) == (
        "POST", "/api/dataValueSets", "application/json")
    assert sidecar["id_schemes"]["dataElement"].startswith("CODE (the catalogue's data element code")
    assert sidecar["complete_date"] is None and sidecar["values"] == 2
    assert json.loads(files["hisar-202610.uid.adx.import.json"])["content_type"] == "application/adx+xml"


def test_what_is_written_reads_back_as_the_same_items_in_every_form():
    (uid_doc, code_doc) = district_documents(AGGREGATES, district_lgd={"Hisar": "63"})
    expected = [("4.1.1.a", "", "1520"), ("4.1.1.b", "", "1391"), ("1.1", "", "3100"), ("14.1.1", "", "2400")]
    for reader, form in ((parse_json, "json"), (parse_csv, "csv"), (parse_adx, "adx")):
        records = translate(reader(uid_doc.render(form)))
        assert [(r.data_element, r.category_option_combo, r.value) for r in records] == expected, form
        assert {(r.org_unit, r.period) for r in records} == {("63", "2026-10")}
    back = translate(parse_json(code_doc.render("json")))
    assert [(r.data_element, r.category_option_combo) for r in back] == [("17.1", "2. Stocks Received"),
                                                                        ("17.1", "5. Total Stock")]


def test_periods_and_values_are_written_as_dhis2_has_them():
    assert (period_to_dhis2("2026-10"), period_to_adx("2026-10"), period_to_dhis2("2026Q3")) == (
        "202610", "2026-10-01/P1M", "2026Q3")
    assert [value_text(v) for v in (12, 12.0, 12.5, Decimal("7"), "Adequate")] == ["12", "12", "12.5", "7", "Adequate"]
    with pytest.raises(ValueError):
        value_text(float("nan"))
