"""The one list of watched diseases: real count elements of the 2017 consolidation, officers' names."""

import csv

import pytest

from hmis.reference.diseases import (
    DISEASES_PATH,
    DiseaseListError,
    disease,
    disease_elements,
    display_names,
    load_diseases,
    read_diseases,
)
from hmis.reference.formats import OFFICIAL_DIR, load_catalogue

pytestmark = pytest.mark.unit

WATCHED = ("10.11", "11.1.1.b", "11.1.1.c", "11.1.2.b", "11.1.2.c", "11.3.1", "11.3.2",
           "14.4.1", "14.4.2", "14.4.3", "14.4.6", "14.4.7", "15.4.2")
ACRONYMS = ("RDT", "ELISA", "PUO")


def _consolidation() -> dict[str, list[dict]]:
    """The official consolidation file itself, read without the catalogue code."""
    rows: dict[str, list[dict]] = {}
    with (OFFICIAL_DIR / "hmis2017_consolidated.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(line for line in handle if not line.startswith("#")):
            rows.setdefault(row["item_code"], []).append(row)
    return rows


def test_the_list_loads_with_the_watched_elements_in_order():
    assert disease_elements() == WATCHED
    assert tuple(d.element for d in load_diseases()) == WATCHED
    assert disease("11.3.1").name == "dengue (RDT positive)"
    assert disease("11.3.1").name_hi == "डेंगू (आरडीटी पॉज़िटिव)"
    assert disease("14.1.7") is None  # Ophthalmic: an NCD outpatient item, not a watched disease


def test_every_element_is_a_plain_count_with_the_official_name():
    official = _consolidation()
    catalogue = load_catalogue()
    elements = {item.element: item for item in catalogue.elements()}
    for d in load_diseases():
        rows = official[d.element]
        assert [row["sub_item"] for row in rows] == ["TOTAL"], d.element   # one plain count
        assert rows[0]["item_name"] == d.official, d.element
        assert elements[d.element].value_type == "count" and elements[d.element].format_id == catalogue.anchor
    # The words that matter, so a code that drifts to another meaning is caught by eye too.
    assert "Dengue - RDT" in disease("11.3.1").official and "ELISA" in disease("11.3.2").official
    assert disease("14.4.6").official.endswith("(PUO)") and disease("15.4.2").official.startswith("Widal")
    assert disease("10.11").official == "Childhood Diseases - Diarrhoea"


def test_names_read_mid_sentence_with_acronyms_upper_case():
    for d in load_diseases():
        assert d.name and d.name_hi and d.name == d.name.strip()
        for acronym in ACRONYMS:
            assert acronym.lower() not in d.name, d.name   # "rdt" would read as a word
            assert (acronym in d.name) == (acronym in d.official), (d.element, acronym)
        assert "Outpatient" not in d.name and " - " not in d.name   # not a stripped catalogue name
    assert disease("11.1.2.b").name == "P. vivax malaria (RDT positive)"
    assert disease("14.4.6").name == "pyrexia of unknown origin (PUO, inpatient)"


def test_display_names_fall_back_to_the_catalogue_off_the_list():
    assert display_names("11.3.1", "Dengue - RDT Test Positive", "") == ("dengue (RDT positive)",
                                                                          "डेंगू (आरडीटी पॉज़िटिव)")
    assert display_names("14.1.7") == load_catalogue().element_name("14.1.7")
    assert display_names("14.1.7", "Outpatient - Ophthalmic Related", "") == (
        "Outpatient - Ophthalmic Related", load_catalogue().element_name("14.1.7")[1])
    assert display_names("no-such") == ("no-such", "no-such")


def _write(tmp_path, body: str):
    path = tmp_path / "diseases.yaml"
    path.write_text("diseases:\n" + body, encoding="utf-8")
    return path


@pytest.mark.parametrize(("body", "message"), [
    # 14.1.x were "Fever, Dengue, Malaria" in the invented catalogue; officially they are NCDs.
    ('  - {element: "14.1.7", official: Outpatient - Dengue, name: dengue, name_hi: डेंगू}\n',
     "Ophthalmic"),
    ('  - {element: "99.9", official: Dengue, name: dengue, name_hi: डेंगू}\n', "not an element"),
    ('  - {element: "17.1", official: Vaccine - DPT, name: DPT, name_hi: डीपीटी}\n', "stock, not a count"),
    ('  - {element: 10.11, official: Childhood Diseases - Diarrhoea, name: d, name_hi: द}\n', "quoted"),
    ('  - {element: "11.3.1", official: Dengue - RDT Test Positive, name: dengue}\n', "no name_hi"),
    ('  - {element: "11.3.1", official: Dengue - RDT Test Positive, name: d, name_hi: द}\n' * 2, "twice"),
])
def test_a_wrong_list_fails_on_load(tmp_path, body, message):
    with pytest.raises(DiseaseListError, match=message):
        read_diseases(_write(tmp_path, body))


def test_the_package_file_is_the_one_loaded():
    assert read_diseases(DISEASES_PATH) == load_diseases()
