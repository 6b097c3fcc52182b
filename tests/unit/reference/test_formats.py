"""The official HMIS formats: every code of the portal's lists, placed under its own meaning."""

import csv
from pathlib import Path

import pytest

from hmis.reference import formats
from hmis.reference.formats import STOCK_SUB_ITEMS, CatalogueError, load_catalogue

pytestmark = pytest.mark.unit

REFERENCE = Path(__file__).resolve().parents[4] / "shared" / "reference"


def _rows(name):
    path = REFERENCE / name
    if not path.exists():
        path = formats.OFFICIAL_DIR / {"hmis_items_2017_consolidated.csv": "hmis2017_consolidated.csv",
                                       "hmis_items_2017_chc_format.csv": "hmis2017_chc.csv",
                                       "hmis_items_newer_format_transcription.csv": "hmis_newer.csv"}[name]
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def fresh_catalogue():
    def build():
        load_catalogue.cache_clear()
        return load_catalogue()

    yield build
    load_catalogue.cache_clear()


def test_every_code_and_row_of_the_2017_lists_is_in_the_catalogue():
    catalogue = load_catalogue()
    consolidated = _rows("hmis_items_2017_consolidated.csv")
    placed = {(i.code, sub) for i in catalogue.items["hmis2017_consolidated"] for sub in i.disaggregations}
    assert placed == {(r["item_code"], r["sub_item"]) for r in consolidated}
    assert len(placed) == 540 and len(catalogue.items["hmis2017_consolidated"]) == 372
    chc = _rows("hmis_items_2017_chc_format.csv")
    assert [i.code for i in catalogue.items["hmis2017_chc"]] == [r["item_code"] for r in chc]
    assert len(chc) == 297
    newer = catalogue.items["hmis_newer"]
    assert len(newer) == 528 and all(i.provisional for i in newer)
    assert not any(i.provisional for i in catalogue.items["hmis2017_chc"])


def test_a_code_keeps_its_meaning_in_each_format():
    catalogue = load_catalogue()
    dpt1 = catalogue.item("hmis2017_chc", "9.1.3")
    assert dpt1.name == "Child immunisation - DPT1" and dpt1.element == "9.1.3"
    penta1_newer = catalogue.item("hmis_newer", "9.1.3")
    assert penta1_newer.name == "Child immunisation - Pentavalent 1"
    assert penta1_newer.element == "9.1.6" == catalogue.item("hmis2017_chc", "9.1.6").element
    # Same item, another number: deaths are module 16 of the consolidation and 17 of the CHC format.
    assert catalogue.item("hmis2017_chc", "17.1").element == "16.1"
    # Same number, another item: 16.1.1 of the CHC format is a supply date, no death count.
    supply = catalogue.item("hmis2017_chc", "16.1.1")
    assert supply.value_type == "date" and supply.element == "hmis2017_chc:16.1.1"
    # 11.3.1 is dengue RDT positives in 2017 but ELISA tests conducted in the newer format.
    assert catalogue.item("hmis_newer", "11.3.1").element != catalogue.item("hmis2017_chc", "11.3.1").element
    assert catalogue.item("hmis2017_chc", "14.1.3").name == "Outpatient - Stroke (Paralysis)"


def test_value_types_and_aggregation():
    catalogue = load_catalogue()
    dpt = catalogue.item("hmis2017_consolidated", "17.1")
    assert dpt.value_type == "stock" and dpt.disaggregations == STOCK_SUB_ITEMS
    assert [dpt.aggregation(s) for s in STOCK_SUB_ITEMS] == ["balance", "sum", "sum", "sum", "balance"]
    assert catalogue.item("hmis2017_chc", "16.1.2.a").value_type == "status"
    assert catalogue.item("hmis2017_chc", "16.1.2.a").aggregation() == "none"
    assert catalogue.item("hmis2017_consolidated", "14.20").value_type == "percentage"
    assert catalogue.item("hmis2017_consolidated", "1.1").aggregation() == "sum"
    assert catalogue.item("hmis2017_consolidated", "4.1.1.b").sex == "female"
    assert catalogue.item("hmis2017_consolidated", "4.1.1.a").sex == "male"


def test_formats_follow_facility_type_and_period(fresh_catalogue, monkeypatch):
    catalogue = fresh_catalogue()
    assert catalogue.format_for("CHC", "2026-10").format_id == "hmis2017_chc"
    assert catalogue.format_for("SC", "2026-10").format_id == "hmis2017_sc"
    assert catalogue.format_for("DH", "2026-10").format_id == "hmis2017_consolidated"
    assert any(i.value_type == "stock" for i in catalogue.expected_items("DH", "2026-10"))
    ayush = {i.module for i in catalogue.expected_items("AYUSH", "2026-10")}
    assert ayush == {14}, "AYUSH facilities do not report ANC"
    assert len(catalogue.expected_items("CHC", "2026-10")) == 297
    with pytest.raises(CatalogueError, match="unknown facility type"):
        catalogue.format_for("HOSPITAL", "2026-10")
    monkeypatch.setenv("HMIS_FORMAT_HMIS_NEWER_FROM", "2026-11")
    catalogue = fresh_catalogue()
    assert catalogue.format_for("CHC", "2026-10").format_id == "hmis2017_chc"
    assert catalogue.format_for("CHC", "2026-11").format_id == "hmis_newer"
    monkeypatch.setenv("HMIS_FORMAT_HMIS_NEWER_FROM", "November")
    with pytest.raises(CatalogueError, match="not a month"):
        fresh_catalogue()


def test_hindi_for_sections_and_every_item_the_product_uses():
    catalogue = load_catalogue()
    assert all(i.section_hi and not i.section_hi.endswith(f"मॉड्यूल {i.module}")
               for items in catalogue.items.values() for i in items)
    for element in ("1.1", "1.2.1", "9.1.6", "9.1.8", "10.11", "11.1.1.b", "11.3.1", "14.4.2", "15.4.2"):
        assert catalogue.element_name(element)[1], element
    gaps = catalogue.hindi_gaps()
    assert 0 < len(gaps) < sum(len(items) for items in catalogue.items.values())


def test_element_overrides_name_anchor_codes(fresh_catalogue, monkeypatch, tmp_path):
    for name in ("formats.yaml", "sections.csv", "hindi_names.csv", "hmis2017_consolidated.csv", "hmis2017_chc.csv",
                 "hmis_newer.csv", "hmis2017_sc_dhis2_mapping.csv"):
        (tmp_path / name).write_bytes((formats.OFFICIAL_DIR / name).read_bytes())
    (tmp_path / "elements.csv").write_text("format,item_code,element,why\nhmis_newer,9.1.3,99.9,typo\n")
    monkeypatch.setattr(formats, "OFFICIAL_DIR", tmp_path)
    with pytest.raises(CatalogueError, match="not a code of hmis2017_consolidated"):
        fresh_catalogue()
