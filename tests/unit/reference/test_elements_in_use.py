"""Every data element a rule, indicator or usual maximum names is a real one, with a Hindi name."""

import csv

import pytest
import yaml

from hmis.platform.settings import load_settings
from hmis.quality.items import TYPICAL_MAX_PATH
from hmis.quality.rules import RULES_FILE, load_rules
from hmis.reference.formats import OFFICIAL_DIR, load_catalogue

pytestmark = pytest.mark.unit


def _used_by_rules_and_indicators() -> set[str]:
    ruleset = load_rules(load_settings().expectations_dir / RULES_FILE)
    used = {code for rule in ruleset.rules for code in rule.items}
    used |= {code for check in ruleset.consistency for code in check.a + check.b}
    indicators = yaml.safe_load((OFFICIAL_DIR.parent / "indicators.yaml").read_text(encoding="utf-8"))
    for indicator in indicators["indicators"]:
        for side in ("numerator", "numerator_minus", "denominator"):
            used |= set(indicator.get(side, []))
    return used


def test_rules_and_indicators_name_count_elements_with_hindi_names():
    catalogue = load_catalogue()
    elements = {item.element: item for item in catalogue.elements()}
    used = _used_by_rules_and_indicators()
    assert len(used) > 40
    assert sorted(code for code in used if code not in elements) == []
    assert sorted(code for code in used if elements[code].value_type != "count") == []
    assert sorted(code for code in used if not catalogue.element_name(code)[1]) == []


def test_rules_speak_of_the_2017_meanings():
    # 9.1.3 is DPT1 in the 2017 formats: Pentavalent rules must use 9.1.6-9.1.8.
    catalogue = load_catalogue()
    ruleset = load_rules(load_settings().expectations_dir / RULES_FILE)
    penta = [rule for rule in ruleset.rules if "penta" in rule.id]
    assert penta and all("Pentavalent" in catalogue.element_name(code)[0] for rule in penta for code in rule.items)


def test_usual_maxima_are_for_count_elements():
    elements = {item.element: item for item in load_catalogue().elements()}
    with TYPICAL_MAX_PATH.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(line for line in handle if not line.startswith("#")))
    assert len(rows) > 40
    assert [r["element"] for r in rows if r["element"] not in elements or elements[r["element"]].value_type != "count"] == []
    assert all(int(r["typical_max"]) > 0 for r in rows)
