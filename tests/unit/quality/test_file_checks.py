"""Rules, consistency and completeness through Great Expectations, with officer sentences."""

from datetime import date

import pandas as pd
import pytest

from hmis.platform.settings import load_settings
from hmis.quality.rules import RULES_FILE, load_rules
from hmis.quality.runner import SuiteRunner, validate_batch
from hmis.reference.catalogue import load_items

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def setup():
    settings = load_settings()
    catalogue = load_items()
    ruleset = load_rules(settings.expectations_dir / RULES_FILE, {i.item_code for i in catalogue})
    runner = SuiteRunner(settings.expectations_dir, ruleset)
    expected = {}
    for item in catalogue:
        for facility_type in item.expected_from:
            expected.setdefault(facility_type, set()).add(item.item_code)
    return runner, catalogue, expected


REGISTRY = pd.DataFrame(
    [("F1", "PHC", True, date(2020, 1, 1), date(2000, 1, 1), None),
     ("F2", "PHC", True, date(2020, 1, 1), date(2000, 1, 1), None)],
    columns=["facility_id", "facility_type", "hmis_registered", "hmis_registered_on", "opened_on", "closed_on"],
)


def run(setup, files, history=None):
    runner, catalogue, expected = setup
    rows, meta = [], []
    for file_id, (facility, values) in files.items():
        meta.append((file_id, facility, "2026-10"))
        for n, (item, value) in enumerate(values.items(), start=2):
            rows.append((file_id, n, facility, "2026-10", item, str(value)))
    rows = pd.DataFrame(rows, columns=["file_id", "row_no", "facility_id", "period", "item_code", "value_raw"])
    meta = pd.DataFrame(meta, columns=["file_id", "key_facility_id", "key_period"])
    items = {i.item_code: i.typical_max for i in catalogue}
    names = {i.item_code: (i.name, i.name_hi) for i in catalogue}
    return validate_batch(runner, rows, meta, REGISTRY, items, history, names, expected)


def full_phc(**overrides):
    values = {i.item_code: 1 for i in load_items() if "PHC" in i.expected_from}
    values.update({"1.1": 120, "1.1.1": 80, "1.2.1": 118, "2.2": 20, "4.1.1.a": 10, "4.1.1.b": 11,
                   "4.1.3": 0, "4.4.1": 20, "4.4.2": 2, "9.1.3": 30, "9.1.5": 28, "9.2.2": 5, "14.1.3": 40,
                   "14.2.1": 900})
    values.update(overrides)
    return values


def test_clean_file_has_no_findings(setup):
    outcome = run(setup, {1: ("F1", full_phc())})
    assert [f.expectation_id for f in outcome.findings] == []


def test_first_trimester_above_registrations_reads_like_a_sentence(setup):
    outcome = run(setup, {1: ("F1", full_phc()), 2: ("F2", full_phc(**{"1.1.1": 140}))})
    findings = [f for f in outcome.findings if f.file_id == 2]
    assert [f.expectation_id for f in findings] == ["anc.first_trimester_le_registered"]
    message = findings[0].message
    assert message.startswith("Item 1.1.1 (Of which number registered within first trimester")
    assert "= 140 is more than item 1.1 (Total number of pregnant women registered for ANC) = 120" in message
    assert "मद 1.1.1" in findings[0].message_hi and "से अधिक है" in findings[0].message_hi
    assert findings[0].severity == "warning" and outcome.blocking_by_file() == {}


def test_year_to_date_rule_uses_earlier_months(setup):
    # October alone is fine (Penta-3 28 <= Penta-1 30) but April-September already had more Penta-3.
    history = pd.DataFrame([("F1", "2026-09", "9.1.3", 10.0), ("F1", "2026-09", "9.1.5", 25.0)],
                           columns=["facility_id", "period", "item_code", "value"])
    outcome = run(setup, {1: ("F1", full_phc())}, history)
    assert "imm.penta3_le_penta1_fytd" in {f.expectation_id for f in outcome.findings}
    finding = next(f for f in outcome.findings if f.expectation_id == "imm.penta3_le_penta1_fytd")
    assert "= 53 (April to this month) is more than" in finding.message and "= 40 (April to this month)" in finding.message


def test_missing_items_lower_completeness(setup):
    values = {k: v for k, v in list(full_phc().items())[:10]}
    outcome = run(setup, {1: ("F1", values)})
    assert "completeness.items_present" in {f.expectation_id for f in outcome.findings}
    assert outcome.completeness[0][0] == 1 and outcome.completeness[0][2] == 10


def test_outlier_against_history_is_flagged_on_its_item(setup):
    history = pd.DataFrame(
        [("F1", f"2026-0{m}", "14.2.1", float(v)) for m, v in zip(range(3, 10), [880, 910, 900, 890, 905, 895, 900])],
        columns=["facility_id", "period", "item_code", "value"])
    outcome = run(setup, {1: ("F1", full_phc(**{"14.2.1": 4000}))}, history)
    outliers = [f for f in outcome.findings if f.expectation_id.startswith("outlier.")]
    assert {f.expectation_id for f in outliers} == {"outlier.z.extreme", "outlier.modified_z.extreme"}
    assert {f.item_code for f in outliers} == {"14.2.1"}
    assert "item 14.2.1 = 4000" in outliers[0].message
