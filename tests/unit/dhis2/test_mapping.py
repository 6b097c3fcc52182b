"""The id-scheme mapping: HISP India's real UIDs placed on catalogue items, both ways."""

from pathlib import Path

import pytest

from hmis.dhis2.mapping import (
    DEFAULT_COC_UID,
    ID_SCHEME_FILE,
    Dhis2Mapping,
    ElementId,
    MappingError,
    OrgUnitId,
    hisp_entries,
    is_default_coc,
    load_mapping,
    mapping_csv,
    org_units_from_csv,
    read_mapping_csv,
)
from hmis.reference.formats import load_catalogue

pytestmark = pytest.mark.unit

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "dhis2"


def test_the_shipped_file_is_what_hisp_india_s_mapping_and_the_catalogue_give():
    elements, units = read_mapping_csv(ID_SCHEME_FILE.read_text(encoding="utf-8"))
    hisp = [e for e in elements if e.source.startswith("hispindia:")]
    assert mapping_csv(hisp, header=False) == mapping_csv(hisp_entries(), header=False), (
        "regenerate: python -m hmis.dhis2.mapping > src/hmis/reference/official/dhis2_id_scheme.csv")
    assert units == []   # no real org unit UIDs are published; deployments list their own
    assert load_mapping().stale == []


def test_live_birth_male_and_female_share_one_data_element_and_are_two_catalogue_items():
    mapping = load_mapping()
    combos = mapping.combos_of("o9GN9y7BcaC")
    assert {(e.category_option_combo, e.item_code) for e in combos} == {("RffjraraKhQ", "4.1.1.a"),
                                                                         ("v7RmjKvAUhD", "4.1.1.b")}
    male = mapping.place(mapping.pair("o9GN9y7BcaC", "RffjraraKhQ"))
    female = mapping.place(mapping.pair("o9GN9y7BcaC", "v7RmjKvAUhD"))
    assert (male.item_code, male.element, male.sub_item) == ("4.1.1.a", "4.1.1.a", "")
    assert (female.item_code, female.element, female.sub_item) == ("4.1.1.b", "4.1.1.b", "")
    catalogue = load_catalogue()
    assert catalogue.item("hmis2017_sc", "4.1.1.a").sex == "male"
    assert catalogue.item("hmis2017_sc", "4.1.1.b").sex == "female"
    # and back: each element finds its own pair
    assert (mapping.for_element("4.1.1.a").category_option_combo, mapping.for_element("4.1.1.b").category_option_combo) \
        == ("RffjraraKhQ", "v7RmjKvAUhD")


def test_sterilisation_complications_are_another_real_pair():
    mapping = load_mapping()
    assert [mapping.place(e).item_code for e in mapping.combos_of("uy4Dhct9FuC")] == ["8.17.1", "8.17.2"]


def test_every_sub_centre_item_has_a_dhis2_pair():
    mapping = load_mapping()
    placed = {e.item_code for e in mapping.elements if e.format_id == "hmis2017_sc"}
    assert placed == {item.code for item in load_catalogue().items["hmis2017_sc"]}


def test_pairs_whose_names_are_in_no_format_are_kept_but_read_as_nothing():
    mapping = load_mapping()
    unplaced = mapping.unplaced()
    assert len(unplaced) == 33
    assert "Number of PW given TT1" in {e.name for e in unplaced}
    assert all(mapping.place(e) is None for e in unplaced)


def test_drop_down_pairs_carry_their_status_option_and_are_never_exported_to():
    mapping = load_mapping()
    adequate = mapping.pair("nX9BZeOBNjF", "tlwZy5CYdQU")
    inadequate = mapping.pair("nX9BZeOBNjF", "sT4N65Nygnr")
    assert (adequate.item_code, adequate.option, inadequate.option) == ("16.1.2.a", "Adequate", "Inadequate")
    assert mapping.place(adequate).sub_item == "Adequate"
    assert mapping.for_element(adequate.element) is None


def test_a_pair_is_found_in_another_format_through_its_data_element():
    mapping = load_mapping()
    entry = mapping.pair("LZuF5ZBX8RK", "ZnztZgggxd6")   # SC 2.1.1: discharged within 48 hours
    assert mapping.place(entry).item_code == "2.1.1"
    assert mapping.place(entry, "hmis2017_consolidated").item_code == "2.2.1"
    date_item = mapping.pair("tjZbFOIuUOG", DEFAULT_COC_UID)
    assert mapping.place(date_item, "hmis2017_consolidated") is None   # an SC-only element


def test_the_default_category_option_combo_may_be_written_several_ways():
    assert all(is_default_coc(v) for v in ("", None, "HllvX50cXC0", "default", "TOTAL"))
    assert not is_default_coc("RffjraraKhQ")
    mapping = load_mapping()
    assert mapping.pair("tjZbFOIuUOG", "") is mapping.pair("tjZbFOIuUOG", "HllvX50cXC0")


def test_a_deployment_adds_its_org_units_from_the_landing_store_list():
    mapping = load_mapping((FIXTURES / "dhis2_org_units.csv").read_bytes())
    assert mapping.org_unit("Qw7eRt5YuI1") == OrgUnitId("Qw7eRt5YuI1", "facility", "HR-HIS-0101",
                                                        "SC Adampur-1 (test)", "test")
    assert mapping.org_unit_uid("district", "63") == "dQhRFaX0HsR"
    assert mapping.org_unit_uid("district", "64") is None
    assert len(load_mapping().org_units) == 0


@pytest.mark.parametrize("row, reason", [
    ("orgUnit,short,,facility,F1,,,,,", "not a DHIS2 UID"),
    ("orgUnit,Abcdefghij1,,ward,F1,,,,,", "scope 'ward'"),
    ("orgUnit,Abcdefghij1,,facility,,,,,,", "no code"),
    ("dataElement,Abcdefghij1,HllvX50cXC0,,,,,,,", "data element UIDs belong in"),
])
def test_a_bad_org_unit_list_is_refused_with_its_reason(row, reason):
    text = "object,uid,category_option_combo,scope,code,element,disaggregation,option,name,source\n" + row + "\n"
    with pytest.raises(MappingError, match=reason):
        load_mapping(text)


def test_an_org_unit_listed_twice_is_refused():
    text = ("object,uid,category_option_combo,scope,code,element,disaggregation,option,name,source\n"
            "orgUnit,Abcdefghij1,,facility,F1,,,,,\norgUnit,Abcdefghij2,,facility,F1,,,,,\n")
    with pytest.raises(MappingError, match="already has the UID Abcdefghij1"):
        load_mapping(text)
    assert org_units_from_csv(text.splitlines()[0] + "\n") == []


def test_the_catalogue_decides_an_item_s_element_and_a_missing_item_is_refused():
    good = load_mapping().pair("o9GN9y7BcaC", "RffjraraKhQ")
    stale = Dhis2Mapping([ElementId(**{**good.__dict__, "element": "4.1.1.b"})])
    assert stale.for_element("4.1.1.a").category_option_combo == "RffjraraKhQ"   # the catalogue decides
    assert stale.for_element("4.1.1.b") is None
    assert "regenerate the mapping" in stale.stale[0]
    with pytest.raises(MappingError, match="has no item '99.9'"):
        Dhis2Mapping([ElementId(**{**good.__dict__, "item_code": "99.9"})])
    twice = [good, ElementId(**{**good.__dict__, "category_option_combo": "v7RmjKvAUhD"})]
    with pytest.raises(MappingError, match="already has the pair"):
        Dhis2Mapping(twice)


def test_fallback_schemes_are_dhis2_s():
    assert load_mapping(org_unit_fallback="ATTRIBUTE:Abcdefghij1").org_unit_fallback == "ATTRIBUTE:Abcdefghij1"
    with pytest.raises(MappingError, match="not a DHIS2 id scheme"):
        load_mapping(org_unit_fallback="LGD")
    with pytest.raises(MappingError, match="cannot be UID"):
        load_mapping(element_fallback="UID")
