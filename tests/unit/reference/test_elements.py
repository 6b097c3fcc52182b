"""Data elements: one per meaning, described by the consolidation where it has the item."""

import pytest

from hmis.reference.formats import format_title, load_catalogue

pytestmark = pytest.mark.unit


def test_elements_are_one_per_meaning_and_prefer_the_anchor():
    catalogue = load_catalogue()
    elements = catalogue.elements()
    names = [item.element for item in elements]
    assert len(names) == len(set(names))
    by_element = {item.element: item for item in elements}
    # CHC 2.1 and the consolidation's 2.2 are one element, described by the consolidation.
    assert catalogue.item("hmis2017_chc", "2.1").element == "2.2"
    assert (by_element["2.2"].format_id, by_element["2.2"].code) == ("hmis2017_consolidated", "2.2")
    # An item only one format has is its own element, described by that format.
    supply = by_element["hmis2017_chc:16.1.1"]
    assert (supply.format_id, supply.code, supply.value_type) == ("hmis2017_chc", "16.1.1", "date")
    # Every item of every format lands on one of these elements.
    assert {i.element for items in catalogue.items.values() for i in items} == set(by_element)


def test_format_titles_for_messages():
    assert format_title("hmis2017_chc") == "HMIS 2017 revised formats, CHC facility format"
    assert format_title("hmis2017_consolidated").startswith("HMIS 2017 revised formats, district")
    assert format_title(None) == format_title("") == "unknown format"
