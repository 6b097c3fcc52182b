"""DHIS2 dataValueSets in JSON, CSV and ADX read into the same records, never merged."""

import json
from pathlib import Path

import pytest

from hmis.dhis2.mapping import load_mapping
from hmis.dhis2.readers import (
    DataValue,
    Record,
    form_of,
    long_records,
    looks_like_dhis2_csv,
    parse_adx,
    parse_csv,
    parse_data_value_set,
    parse_json,
    read_records,
    translate,
)
from hmis.dhis2.writer import data_value_set_adx, data_value_set_csv, data_value_set_json
from hmis.ingest.parse import SubmissionError

pytestmark = pytest.mark.unit

EXAMPLES = sorted(Path("/work/shared/reference/dhis2_examples").glob("*.json"))
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "dhis2"


def _key(values):
    """What must survive a round trip: each value with its ids, in order."""
    return [(v.data_element, v.period, v.org_unit, v.category_option_combo, v.attribute_option_combo, v.value)
            for v in values]


def _write(form, value_set):
    header = {"data_set": value_set.data_set or None, "complete_date": value_set.complete_date or None}
    if not header["data_set"]:
        header["complete_date"] = None
    if form == "json":
        return json.dumps(data_value_set_json(value_set.values, **header)).encode()
    if form == "csv":
        return data_value_set_csv(value_set.values)
    return data_value_set_adx(value_set.values, **header)


@pytest.fixture(scope="module")
def mapping():
    return load_mapping((FIXTURES / "dhis2_org_units.csv").read_bytes())


def test_the_reference_examples_are_all_there():
    assert [p.name for p in EXAMPLES] == ["dhis2_docs_dataValueSet_bulk.json",
                                          "dhis2_docs_dataValueSet_generic_with_coc_aoc.json",
                                          "dhis2_docs_dataValueSet_single_orgunit.json"]


@pytest.mark.parametrize("form", ["json", "csv", "adx"])
@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_every_dhis2_guide_example_round_trips(example, form):
    first = parse_json(example.read_bytes())
    again = parse_data_value_set(_write(form, first), form)
    assert _key(again.values) == _key(first.values)
    assert [r[1:] for r in translate(again)] == [r[1:] for r in translate(first)]   # line numbers aside
    if form == "json":   # and the header, where the document has one
        assert (again.data_set, again.complete_date) == (first.data_set, first.complete_date)


def test_the_guide_s_coc_aoc_example_keeps_all_three_values():
    example = next(p for p in EXAMPLES if "coc_aoc" in p.name)
    records = translate(parse_json(example.read_bytes()))
    assert [(r.data_element, r.category_option_combo, r.attribute_option_combo, r.value) for r in records] == [
        ("dataElementID", "cocID", "aocID", "1"), ("dataElementID", "cocID", "aocID", "2"),
        ("dataElementID", "cocID", "aocID", "3")]
    assert [v.comment for v in parse_json(example.read_bytes()).values] == ["comment1", "comment2", "comment3"]


def test_a_documents_period_and_org_unit_reach_every_value():
    example = next(p for p in EXAMPLES if "single_orgunit" in p.name)
    value_set = parse_json(example.read_bytes())
    assert {(v.period, v.org_unit) for v in value_set.values} == {("2014-01", "DiszpKrYNg8")}
    assert (value_set.data_set, value_set.complete_date) == ("pBOMPrpg1QX", "2014-02-03")


SC_EXPECTED = [
    (1, "HR-HIS-0101", "2026-10", "1.1", "12", "", ""),
    (2, "HR-HIS-0101", "2026-10", "4.1.1.a", "7", "", ""),
    (3, "HR-HIS-0101", "2026-10", "4.1.1.b", "6", "", ""),
    (4, "HR-HIS-0101", "2026-10", "8.17.1", "0", "", ""),
    (5, "HR-HIS-0101", "2026-10", "8.17.2", "1", "", ""),
    (6, "HR-HIS-0101", "2026-10", "9.1.2", "9", "", ""),
    (7, "HR-HIS-0101", "2026-10", "16.3.1", "12/10/2026", "", ""),   # DHIS2's date, as the format writes it
]


def test_hisp_uids_become_the_sub_centre_s_own_items(mapping):
    records = read_records((FIXTURES / "sc_month.json").read_bytes(), "json", mapping)
    assert [tuple(r)[1:] for r in records] == [row[1:] for row in SC_EXPECTED]


@pytest.mark.parametrize("name, form", [("sc_month.csv", "csv"), ("sc_month_noheader.csv", "csv"),
                                        ("sc_month.adx.xml", "adx")])
def test_csv_and_adx_read_the_same_values_as_json(mapping, name, form):
    from_json = read_records((FIXTURES / "sc_month.json").read_bytes(), "json", mapping)
    other = read_records((FIXTURES / name).read_bytes(), form, mapping)
    assert [tuple(r)[1:] for r in other] == [tuple(r)[1:] for r in from_json]


def test_csv_lines_are_numbered_as_the_file_numbers_them(mapping):
    assert [r.line for r in read_records((FIXTURES / "sc_month.csv").read_bytes(), "csv", mapping)] == list(range(2, 9))


def test_values_differing_only_by_a_combo_stay_two_records():
    document = {"period": "202610", "orgUnit": "HR-HIS-0101", "dataValues": [
        {"dataElement": "4.1.1.a", "value": "3", "attributeOptionCombo": "aocPublic01"},
        {"dataElement": "4.1.1.a", "value": "4", "attributeOptionCombo": "aocPrivate1"},
        {"dataElement": "o9GN9y7BcaC", "categoryOptionCombo": "RffjraraKhQ", "value": "5"},
        {"dataElement": "o9GN9y7BcaC", "categoryOptionCombo": "v7RmjKvAUhD", "value": "5"},
        {"dataElement": "o9GN9y7BcaC", "categoryOptionCombo": "v7RmjKvAUhD", "value": "5"},
    ]}
    records = translate(parse_json(json.dumps(document).encode()))
    assert [(r.data_element, r.attribute_option_combo, r.value) for r in records] == [
        ("4.1.1.a", "aocPublic01", "3"), ("4.1.1.a", "aocPrivate1", "4"), ("4.1.1.a", "", "5"),
        ("4.1.1.b", "", "5"), ("4.1.1.b", "", "5")]   # an exact repeat stays too: the suite reports it
    with pytest.raises(SubmissionError, match="3 attribute option combos"):
        long_records(records)


def test_long_records_are_the_ingest_s_tuples(mapping):
    records = read_records((FIXTURES / "sc_month.json").read_bytes(), "json", mapping)
    assert long_records(records)[1] == (2, "HR-HIS-0101", "2026-10", "4.1.1.a", "7", "")


def test_codes_and_stock_sub_items_pass_through_as_the_project_s_json_has_them():
    document = {"period": "202610", "orgUnit": "HR-HIS-0001", "dataValues": [
        {"dataElement": "17.1", "categoryOptionCombo": "2. Stocks Received", "value": 40},
        {"dataElement": "1.1", "categoryOptionCombo": "default", "value": 12},
        {"dataElement": "1.1.1", "value": 7.0},
    ]}
    records = translate(parse_json(json.dumps(document).encode()))
    assert [(r.data_element, r.category_option_combo, r.value) for r in records] == [
        ("17.1", "2. Stocks Received", "40"), ("1.1", "", "12"), ("1.1.1", "", "7.0")]


def test_the_facility_s_format_decides_the_item_code():
    document = {"period": "202610", "orgUnit": "HR-HIS-0001", "dataValues": [
        {"dataElement": "LZuF5ZBX8RK", "categoryOptionCombo": "ZnztZgggxd6", "value": "3"}]}
    value_set = parse_json(json.dumps(document).encode())
    assert translate(value_set)[0].data_element == "2.1.1"
    assert translate(value_set, format_id="hmis2017_consolidated")[0].data_element == "2.2.1"


def test_a_pair_the_facility_s_format_lacks_is_refused_not_renumbered():
    document = {"period": "202610", "orgUnit": "HR-HIS-0001", "dataValues": [
        {"dataElement": "tjZbFOIuUOG", "value": "2026-10-12"}]}
    with pytest.raises(SubmissionError, match="district and state consolidation.*has no item for"):
        translate(parse_json(json.dumps(document).encode()), format_id="hmis2017_consolidated")


def test_a_known_data_element_with_a_foreign_combo_is_refused_naming_its_combos():
    document = {"period": "202610", "orgUnit": "HR-HIS-0001", "dataValues": [
        {"dataElement": "o9GN9y7BcaC", "value": "3"},
        {"dataElement": "vCBYxOzOFFb", "categoryOptionCombo": "ZnztZgggxd6", "value": "1"}]}
    with pytest.raises(SubmissionError) as caught:
        translate(parse_json(json.dumps(document).encode()))
    message = str(caught.value)
    assert message.startswith("2 value(s) cannot be read as HMIS items")
    assert "RffjraraKhQ (Live Birth - Male), v7RmjKvAUhD (Live Birth - Female)" in message
    assert "none (DHIS2's default) is not one of them" in message
    assert "'Number of PW given TT1', which no HMIS format in the catalogue holds" in message


def test_deleted_values_are_left_out():
    document = {"period": "202610", "orgUnit": "F", "dataValues": [
        {"dataElement": "1.1", "value": "3", "deleted": True}, {"dataElement": "1.2", "value": "4"}]}
    assert [r.data_element for r in translate(parse_json(json.dumps(document).encode()))] == ["1.2"]


@pytest.mark.parametrize("data, reason", [
    (b'{"dataValues": []}', "holds no data values"),
    (b'{"period": "202610"}', "no 'dataValues' list"),
    (b'{"dataValues": [1]}', "entry 1 is not an object"),
    (b'{"dataValues": [{"dataElement": "1.1", "value": "1"}]}', "entry 1 has no period and no orgUnit"),
    (b'{"dataValues": [{"orgUnit": "F", "period": "202610", "value": "1", "dataElement": "1.1"},', "malformed at line 1"),
    (b'{"orgUnit": "F", "period": "202610", "dataValues": [{"dataElement": "1.1", "value": "9876543210"}]}',
     "10-digit number"),
    (b'{"orgUnit": "F", "period": "202610", "dataValues": [{"dataElement": "1.1", "value": "=1+1"}]}', "formula"),
    (b"dataelement,period\n", "named .json but is CSV text"),
    (b"[" * 50_000 + b"]" * 50_000, "nested too deeply"),
    (b"[]", "the JSON is a list"),
])
def test_json_problems_are_explained(data, reason):
    with pytest.raises(SubmissionError, match=reason):
        parse_json(data)


def test_an_empty_answer_is_allowed_where_asked_for():
    assert parse_json(b"{}", allow_empty=True).values == []
    assert parse_json(b'{"dataValues": []}', allow_empty=True).values == []


def test_dhis2_s_csv_export_header_names_are_accepted():
    data = (b"dataelement,period,orgunit,categoryoptioncombo,attributeoptioncombo,value,storedby,lastupdated,"
            b"comment,followup,deleted\n"
            b"o9GN9y7BcaC,202610,F,RffjraraKhQ,HllvX50cXC0,7,anm,2026-11-03T10:15:00.000,,false,false\n")
    value = parse_csv(data).values[0]
    assert (value.category_option_combo, value.attribute_option_combo, value.last_updated) == (
        "RffjraraKhQ", "HllvX50cXC0", "2026-11-03T10:15:00.000")
    assert translate(parse_csv(data))[0].data_element == "4.1.1.a"


@pytest.mark.parametrize("data, reason", [
    (b"dataelement,period,value\nX,202610,1\n", "header lacks orgunit"),
    (b"o9GN9y7BcaC,202610,F,RffjraraKhQ\n", "line 1 has 4 fields but a DHIS2 CSV row needs at least 6"),
    (b"dataelement,period,orgunit,catoptcombo,attroptcombo,value\nX,202610,F,,\n", "needs at least 6 .*value\\)"),
    (b"dataelement,period,orgunit,value,comment\n,202610,F,1\n", "line 2 has no dataElement"),
    (b"dataelement,period,orgunit,catoptcombo,attroptcombo,value\n", "holds no data values"),
    (b"dataelement,period,orgunit,catoptcombo,attroptcombo,value\n,202610,F,,,1\n", "line 2 has no dataElement"),
])
def test_csv_problems_are_explained(data, reason):
    with pytest.raises(SubmissionError, match=reason):
        parse_csv(data)


def test_a_dhis2_csv_is_told_from_the_project_s_csv_by_its_header():
    assert looks_like_dhis2_csv((FIXTURES / "sc_month.csv").read_bytes())
    assert looks_like_dhis2_csv(b"\xef\xbb\xbfDataElement,Period,OrgUnit\n")
    assert not looks_like_dhis2_csv(b"facility_id,period,item_code,value\n")
    assert [form_of(e) for e in ("json", "CSV", "xml", "adx")] == ["json", "csv", "adx", "adx"]
    assert form_of("", b"  <adx/>") == "adx"


def test_adx_category_attributes_keep_values_apart_and_survive_writing():
    data = b"""<adx xmlns="urn:ihe:qrph:adx:2015"><group orgUnit="F" period="2026-10-01/P1M" FUNDING="NHM">
      <dataValue dataElement="LB" SEX="M" value="7"/><dataValue dataElement="LB" SEX="F" value="6"/>
      <dataValue dataElement="LB" SEX="F" AGE="U5" value="1"><annotation>late entry</annotation></dataValue>
    </group></adx>"""
    value_set = parse_adx(data)
    assert [(v.category_option_combo, v.attribute_option_combo, v.value, v.comment) for v in value_set.values] == [
        ("SEX=M", "FUNDING=NHM", "7", ""), ("SEX=F", "FUNDING=NHM", "6", ""),
        ("AGE=U5;SEX=F", "FUNDING=NHM", "1", "late entry")]
    again = parse_adx(data_value_set_adx(value_set.values))
    assert _key(again.values) == _key(value_set.values)
    assert [v.comment for v in again.values] == ["", "", "late entry"]


BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<adx xmlns="urn:ihe:qrph:adx:2015"><group orgUnit="F" period="2026-10-01/P1M">
<dataValue dataElement="X" value="&lol2;"/></group></adx>"""
EXTERNAL = b"""<?xml version="1.0"?><!doctype adx SYSTEM "file:///etc/passwd">
<adx xmlns="urn:ihe:qrph:adx:2015"/>"""


@pytest.mark.parametrize("data, reason", [
    (BOMB, "holds a <!DOCTYPE> declaration"),
    (EXTERNAL, "holds a <!DOCTYPE> declaration"),
    (b'<adx xmlns="urn:ihe:qrph:adx:2015"><!ENTITY x "y"></adx>', "holds a <!ENTITY> declaration"),
    (b'<adx xmlns="urn:ihe:qrph:adx:2015"><group>', "malformed at line 1"),
    (b'<dataValueSet xmlns="http://dhis2.org/schema/dxf/2.0"/>', "root element is 'dataValueSet'"),
    (b'<adx xmlns="urn:ihe:qrph:adx:2015"><group orgUnit="F" period="2026-10-01/P1M"/></adx>', "holds no data values"),
    (b'<adx xmlns="urn:ihe:qrph:adx:2015"><group period="2026-10-01/P1M"><dataValue dataElement="X" value="1"/>'
     b"</group></adx>", "dataValue 1 \\(group 1\\) has no orgUnit"),
])
def test_unsafe_or_broken_xml_is_refused(data, reason):
    with pytest.raises(SubmissionError, match=reason):
        parse_adx(data)


def test_records_are_named_tuples_of_seven():
    record = Record(1, "F", "2026-10", "1.1", "3", "", "")
    assert tuple(record) == (1, "F", "2026-10", "1.1", "3", "", "")
    assert DataValue(1, "1.1", "2026-10", "F").category_option_combo == ""


def test_a_header_row_may_put_columns_in_any_order_and_rows_may_leave_off_the_last_ones():
    data = b"orgunit,period,dataelement,value,comment\nF,202610,1.1,12\nF,202610,1.2,3,late\n"
    values = parse_csv(data).values
    assert [(v.org_unit, v.data_element, v.value, v.comment) for v in values] == [
        ("F", "1.1", "12", ""), ("F", "1.2", "3", "late")]
