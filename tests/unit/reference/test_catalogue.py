"""The packaged HMIS data-item catalogue and its loader."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hmis.reference.catalogue import (
    CATALOGUE_PATH,
    COLUMNS,
    FACILITY_TYPES,
    SECTIONS,
    DataItem,
    item_codes,
    items_for_type,
    load_items,
)

DEVANAGARI = re.compile(r"[\u0900-\u097F]")
HEADER = ",".join(COLUMNS)
GOOD_ROW = "1.1,Total number of pregnant women registered for ANC,एएनसी पंजीकरण,ANC,count,sum,SC|PHC,1200"


def write_catalogue(tmp_path: Path, *rows: str, header: str = HEADER) -> Path:
    path = tmp_path / "data_items.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.mark.unit
def test_packaged_catalogue_is_large_enough_and_codes_are_unique():
    items = load_items()
    codes = [item.item_code for item in items]
    assert len(items) >= 45
    assert len(codes) == len(set(codes))
    assert item_codes() == frozenset(codes)


@pytest.mark.unit
def test_packaged_items_are_well_formed():
    for item in load_items():
        assert isinstance(item, DataItem)
        assert item.section in SECTIONS
        assert item.unit == "count"
        assert item.aggregation == "sum"
        assert isinstance(item.expected_from, tuple) and item.expected_from
        assert set(item.expected_from) <= set(FACILITY_TYPES)
        assert isinstance(item.typical_max, int) and item.typical_max > 0
        assert DEVANAGARI.search(item.name_hi), item.item_code


@pytest.mark.unit
def test_catalogue_covers_the_core_hmis_items():
    codes = item_codes()
    for code in (
        "1.1",
        "1.1.1",
        "1.2.1",
        "1.2.2",
        "1.2.7",
        "2.2",
        "3.1",
        "4.1.1.a",
        "4.1.1.b",
        "4.1.3",
        "9.1.2",
        "9.1.3",
        "9.1.5",
        "9.1.6",
        "9.1.10",
        "9.2.2",
        "9.4.1",
        "14.2.1",
        "14.2.2",
    ):
        assert code in codes
    by_name = " | ".join(item.name.lower() for item in load_items())
    for disease in (
        "fever",
        "diarrhoeal",
        "respiratory",
        "dengue",
        "malaria",
        "typhoid",
        "tuberculosis",
        "hypertension",
        "diabetes",
    ):
        assert disease in by_name
    sections = {item.section for item in load_items()}
    assert {"ANC", "DELIVERY", "BIRTHS", "IMMUNISATION", "OPD_IPD", "DISEASE_OPD"} <= sections


@pytest.mark.unit
def test_numbering_is_consistent_with_sections():
    module_of = {
        "ANC": {"1"},
        "DELIVERY": {"2", "3"},
        "BIRTHS": {"4"},
        "FAMILY_PLANNING": {"8"},
        "IMMUNISATION": {"9"},
        "OPD_IPD": {"14"},
        "DISEASE_OPD": {"14"},
    }
    for item in load_items():
        assert item.item_code.split(".")[0] in module_of[item.section], item.item_code
        if item.section == "DISEASE_OPD":
            assert item.item_code.startswith("14.1."), item.item_code


@pytest.mark.unit
def test_expectations_follow_facility_capabilities():
    deliveries = {item.item_code: item for item in load_items()}["2.2"]
    assert not {"SC", "CLINIC", "AYUSH"} & set(deliveries.expected_from)
    ayush = items_for_type("AYUSH")
    assert ayush and all(item.section in {"OPD_IPD", "DISEASE_OPD"} for item in ayush)
    assert "14.2.2" in {item.item_code for item in ayush}
    assert "14.2.1" not in {item.item_code for item in ayush}
    assert len(items_for_type("DH")) > len(items_for_type("PHC")) > len(items_for_type("SC"))


@pytest.mark.unit
def test_items_for_type_keeps_catalogue_order_and_rejects_unknown_types():
    order = [item.item_code for item in load_items()]
    for facility_type in FACILITY_TYPES:
        codes = [item.item_code for item in items_for_type(facility_type)]
        assert codes == [code for code in order if code in codes]
    with pytest.raises(ValueError, match="unknown facility type"):
        items_for_type("HOSPITAL")


@pytest.mark.unit
def test_loader_reads_a_valid_file(tmp_path):
    path = write_catalogue(
        tmp_path, GOOD_ROW, "9.1.2,Child immunisation - BCG,बीसीजी,IMMUNISATION,count,sum,SC|DH,1400"
    )
    items = load_items(path)
    assert [item.item_code for item in items] == ["1.1", "9.1.2"]
    assert items[0].expected_from == ("SC", "PHC")
    assert items[1].typical_max == 1400


@pytest.mark.unit
@pytest.mark.parametrize(
    ("bad_row", "message"),
    [
        (GOOD_ROW, "repeats line 2"),
        ("1.2.1,Td1,टीडी-1,PREGNANCY,count,sum,SC,900", "unknown section"),
        ("1.2.1,Td1,टीडी-1,ANC,count,sum,SC|HOSPITAL,900", "unknown facility type"),
        ("1.2.1,Td1,टीडी-1,ANC,count,sum,SC,lots", "typical_max"),
        ("1.2.1,Td1,टीडी-1,ANC,count,sum,SC,0", "typical_max"),
        ("1.2.1,Td1,टीडी-1,ANC,percent,sum,SC,900", "unit"),
        ("1.2.1,Td1,टीडी-1,ANC,count,mean,SC,900", "aggregation"),
        ("1.2.1,Td1,टीडी-1,ANC,count,sum,,900", "expected_from"),
        ("1.2.1,Td1,,ANC,count,sum,SC,900", "name_hi"),
        ("1..2,Td1,टीडी-1,ANC,count,sum,SC,900", "HMIS-style code"),
        ("9.1.3,Penta 1,पेंटा 1,ANC,count,sum,SC,900", "does not fit HMIS module 9"),
        ("1.2.1,Td1,टीडी-1,ANC,count,sum,SC", "expected 8 fields"),
    ],
)
def test_loader_rejects_a_broken_row_and_names_it(tmp_path, bad_row, message):
    path = write_catalogue(tmp_path, GOOD_ROW, bad_row)
    with pytest.raises(ValueError, match=re.escape(message)) as caught:
        load_items(path)
    assert "line 3" in str(caught.value)


@pytest.mark.unit
def test_loader_rejects_a_wrong_header(tmp_path):
    path = write_catalogue(tmp_path, GOOD_ROW, header=HEADER.replace("typical_max", "max"))
    with pytest.raises(ValueError, match="line 1"):
        load_items(path)


@pytest.mark.unit
def test_default_path_is_the_packaged_file():
    assert CATALOGUE_PATH.name == "data_items.csv" and CATALOGUE_PATH.is_file()
    assert load_items() == load_items(CATALOGUE_PATH)
    first = load_items()
    first.clear()  # callers get their own list; the cached catalogue is untouched
    assert load_items()
