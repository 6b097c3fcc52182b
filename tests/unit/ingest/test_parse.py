import json

import pytest

from hmis.ingest.parse import SubmissionError, parse_csv, parse_dhis2_json, parse_records, parse_submission
from hmis.platform.store_layout import KeyLayoutError, parse_key, quarantine_key

pytestmark = pytest.mark.unit

GOOD = b"facility_id,period,item_code,value\nHR-HIS-0001,2026-10,1.1,12\nHR-HIS-0001,2026-10,1.1.1,7\n"


def test_long_csv_becomes_rows_with_line_numbers():
    frame = parse_csv(GOOD)
    assert list(frame.columns) == ["row_no", "facility_id", "period", "item_code", "value_raw", "sub_item"]
    assert frame.to_dict("records")[1] == {
        "row_no": 3, "facility_id": "HR-HIS-0001", "period": "2026-10", "item_code": "1.1.1", "value_raw": "7",
        "sub_item": None}


def test_byte_order_mark_header_case_and_column_order_are_tolerated():
    data = "\ufeffValue,Item_Code,Period,Facility_ID\n5,1.1,2026-10,HR-HIS-0001\n".encode()
    record = parse_csv(data).to_dict("records")[0]
    assert (record["facility_id"], record["item_code"], record["value_raw"]) == ("HR-HIS-0001", "1.1", "5")


def test_values_stay_text_so_validation_sees_what_was_sent():
    frame = parse_csv(b"facility_id,period,item_code,value\nF,2026-10,1.1,007\nF,2026-10,1.2,1e3\n")
    assert frame["value_raw"].tolist() == ["007", "1e3"]


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty"),
        (b"facility_id,period,item_code,value\n", "no data rows"),
        (b"facility_id,period,item_code,count\nF,2026-10,1.1,3\n", "missing column(s) value"),
        (b"facility_id;period;item_code;value\nF;2026-10;1.1;3\n", "semicolons"),
        ("facility_id,period,item_code,value\n".encode("utf-16"), "UTF-16"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "binary"),
        (b"facility_id,period,item_code,value\nF,2026-10,1.1,\xe9\n", "not UTF-8"),
        (b"facility_id,period,item_code,value\nF,2026-10,1.1\n", "line 2 has 3 fields"),
    ],
)
def test_unreadable_files_get_a_reason_a_person_can_act_on(data, words):
    with pytest.raises(SubmissionError, match=words.replace("(", r"\(").replace(")", r"\)")):
        parse_csv(data)


def test_size_limit_is_checked_before_parsing():
    with pytest.raises(SubmissionError, match="over the limit"):
        parse_submission(GOOD, "csv", max_bytes=10)


def test_dhis2_data_value_set():
    doc = {"dataSet": "HMIS", "period": "202610", "orgUnit": "HR-HIS-0001",
           "dataValues": [{"dataElement": "1.1", "value": "12"}, {"dataElement": "1.1.1", "value": 7}]}
    frame = parse_dhis2_json(json.dumps(doc).encode())
    assert frame[["facility_id", "period", "item_code", "value_raw"]].values.tolist() == [
        ["HR-HIS-0001", "2026-10", "1.1", "12"], ["HR-HIS-0001", "2026-10", "1.1.1", "7"]]


def test_csv_with_a_sub_item_column_keeps_each_stock_row_apart():
    data = (b"item_code,value,sub_item,period,facility_id\n"
            b"17.1,40,1. Balance From Previous Month,2026-10,HR-HIS-0001\n"
            b"17.1,15,2. Stocks Received,2026-10,HR-HIS-0001\n"
            b"1.1,12,,2026-10,HR-HIS-0001\n")
    frame = parse_csv(data)
    assert frame[["item_code", "value_raw", "sub_item"]].values.tolist() == [
        ["17.1", "40", "1. Balance From Previous Month"], ["17.1", "15", "2. Stocks Received"], ["1.1", "12", ""]]
    assert frame["facility_id"].tolist() == ["HR-HIS-0001"] * 3 and frame["row_no"].tolist() == [2, 3, 4]
    # The loader's records carry the sub-item last, after the value.
    assert parse_records(data, "csv", 10_000)[0] == (
        2, "HR-HIS-0001", "2026-10", "17.1", "40", "1. Balance From Previous Month")


def test_a_date_is_not_taken_for_an_identifier_but_a_spaced_aadhaar_still_is():
    frame = parse_csv(b"facility_id,period,item_code,value\nHR-HIS-0001,2026-10,16.1.1,12/10/2026\n")
    assert frame["value_raw"].tolist() == ["12/10/2026"]
    quoted = b'facility_id,period,item_code,value\nHR-HIS-0001,2026-10,16.1.1," 12/10/2026 "\n'
    assert parse_csv(quoted)["value_raw"].tolist() == ["12/10/2026"]   # the slow path screens it too
    with pytest.raises(SubmissionError, match="12-digit number") as caught:
        parse_csv(b"facility_id,period,item_code,value\nHR-HIS-0001,2026-10,16.1.1,4021 5566 7792\n")
    assert "line 2" in str(caught.value) and "4021" not in str(caught.value)


def test_dhis2_category_option_combo_is_the_sub_item():
    doc = {"period": "202610", "orgUnit": "HR-HIS-0001",
           "dataValues": [{"dataElement": "17.1", "categoryOptionCombo": "4. Stock Distributed", "value": "9"},
                          {"dataElement": "1.1", "value": "12"}]}
    frame = parse_dhis2_json(json.dumps(doc).encode())
    assert frame[["item_code", "value_raw", "sub_item"]].values.tolist() == [
        ["17.1", "9", "4. Stock Distributed"], ["1.1", "12", ""]]


def test_keys_name_period_facility_and_format():
    key = parse_key("submissions/2026-10/HR-HIS-0001__v2.csv")
    assert (key.period, key.facility_id, key.extension) == ("2026-10", "HR-HIS-0001", "csv")


@pytest.mark.parametrize("bad", [
    "submissions/2026-10/../../etc/passwd", "/submissions/2026-10/F.csv", "submissions/Oct/F.csv",
    "submissions/2026-10/F.xls", "submissions/F.csv", "submissions/2026-10/sub/F.csv", "submissions/2026-10/.csv",
])
def test_bad_keys_are_refused(bad):
    with pytest.raises(KeyLayoutError):
        parse_key(bad)


def test_quarantine_key_keeps_versions_apart_and_inside_the_store():
    assert quarantine_key("submissions/2026-10/F.csv", 7) == "quarantine/2026-10/7-F.csv"
    assert ".." not in quarantine_key("submissions/2026-10/../x", 8)
