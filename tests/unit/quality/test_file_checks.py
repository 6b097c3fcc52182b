"""Rules, consistency and completeness through Great Expectations, with officer sentences."""

from datetime import date

import pandas as pd
import pytest

from hmis.platform.settings import load_settings
from hmis.quality.rules import RULES_FILE, load_rules
from hmis.quality.runner import SuiteRunner, validate_batch
from hmis.reference.formats import TOTAL, load_catalogue

pytestmark = pytest.mark.unit

PERIOD = "2026-10"
# A valid value of each value type (a stock item is given on each of its sub-items).
SAMPLE = {"count": "1", "stock": "1", "status": "Adequate", "date": "05/10/2026", "percentage": "90"}


@pytest.fixture(scope="module")
def setup():
    settings = load_settings()
    elements = {item.element for item in load_catalogue().elements()}
    ruleset = load_rules(settings.expectations_dir / RULES_FILE, elements)
    return SuiteRunner(settings.expectations_dir, ruleset)


REGISTRY = pd.DataFrame(
    [("F1", "PHC", True, date(2020, 1, 1), date(2000, 1, 1), None),
     ("F2", "PHC", True, date(2020, 1, 1), date(2000, 1, 1), None)],
    columns=["facility_id", "facility_type", "hmis_registered", "hmis_registered_on", "opened_on", "closed_on"],
)


def history_frame(rows):
    """Accepted earlier values: (facility, period, element, value), all TOTALs."""
    return pd.DataFrame([(f, p, e, TOTAL, float(v)) for f, p, e, v in rows],
                        columns=["facility_id", "period", "item_code", "disaggregation", "value"])


def run(runner, files, history=None):
    rows, meta = [], []
    for file_id, (facility, values) in files.items():
        meta.append((file_id, facility, PERIOD))
        for n, (item, value) in enumerate(values.items(), start=2):
            rows.append((file_id, n, facility, PERIOD, item, str(value), None))
    rows = pd.DataFrame(rows, columns=["file_id", "row_no", "facility_id", "period", "item_code", "value_raw",
                                       "sub_item"])
    meta = pd.DataFrame(meta, columns=["file_id", "key_facility_id", "key_period"])
    return validate_batch(runner, rows, meta, REGISTRY, history)


def full_phc(**overrides):
    """Every item a PHC reports (the CHC facility format), in its own codes, consistent."""
    items = load_catalogue().expected_items("PHC", PERIOD)
    assert {i.format_id for i in items} == {"hmis2017_chc"}
    values = {i.code: SAMPLE[i.value_type] for i in items}
    # CHC codes: 2.1 is institutional deliveries, 9.1.6/9.1.8 Pentavalent 1/3, 9.2.1 MR 1st dose.
    values.update({"1.1": 120, "1.1.1": 80, "1.2.1": 118, "2.1": 20, "4.1.1.a": 10, "4.1.1.b": 11,
                   "4.1.3": 0, "4.4.1": 20, "4.4.2": 2, "9.1.6": 30, "9.1.8": 28, "9.2.1": 5,
                   "11.1.1.a": 40, "11.1.2.a": 40, "14.1.3": 40, "14.2.1": 900,
                   "14.3.1.a": 10, "14.3.1.b": 10, "14.3.2.a": 10, "14.3.2.b": 10})
    values.update(overrides)
    return values


def test_clean_file_has_no_findings(setup):
    outcome = run(setup, {1: ("F1", full_phc())})
    assert [f.expectation_id for f in outcome.findings] == []
    (file_id, expected, present, _nonzero), = outcome.completeness
    assert (file_id, expected, present) == (1, 297, 297)


def test_first_trimester_above_registrations_reads_like_a_sentence(setup):
    outcome = run(setup, {1: ("F1", full_phc()), 2: ("F2", full_phc(**{"1.1.1": 140}))})
    findings = [f for f in outcome.findings if f.file_id == 2]
    assert [f.expectation_id for f in findings] == ["anc.first_trimester_le_registered"]
    message = findings[0].message
    assert message.startswith("Item 1.1.1 (Out of the total ANC registered, number registered within 1st trimester")
    assert "= 140 is more than item 1.1 (Total number of pregnant women registered for ANC) = 120" in message
    assert "मद 1.1.1" in findings[0].message_hi and "से अधिक है" in findings[0].message_hi
    assert findings[0].severity == "warning" and outcome.blocking_by_file() == {}


def test_a_chc_code_is_judged_under_its_own_meaning(setup):
    # The CHC format's 2.1 is institutional deliveries (element 2.2): 25 C-sections of 20
    # deliveries break the rule, and the sentence names the deliveries by their meaning.
    outcome = run(setup, {1: ("F1", full_phc(**{"3.1": 25, "3.1.1": 1}))})
    finding = next(f for f in outcome.findings if f.expectation_id == "delivery.csection_le_institutional")
    assert "= 25 is more than item" in finding.message
    assert "(Number of Institutional Deliveries conducted (Including C-Sections)) = 20" in finding.message
    # 25 deliveries satisfy it: the right side is read from CHC 2.1, not from some other item.
    clean = run(setup, {1: ("F1", full_phc(**{"2.1": 25, "3.1": 25, "3.1.1": 1}))})
    assert "delivery.csection_le_institutional" not in {f.expectation_id for f in clean.findings}


def test_year_to_date_rule_uses_earlier_months(setup):
    # October alone is fine (Penta-3 28 <= Penta-1 30) but April-September already had more Penta-3.
    history = history_frame([("F1", "2026-09", "9.1.6", 10), ("F1", "2026-09", "9.1.8", 25),
                             ("F1", "2026-03", "9.1.6", 500)])  # March is the previous financial year
    outcome = run(setup, {1: ("F1", full_phc())}, history)
    assert "imm.penta3_le_penta1_fytd" in {f.expectation_id for f in outcome.findings}
    finding = next(f for f in outcome.findings if f.expectation_id == "imm.penta3_le_penta1_fytd")
    assert "= 53 (April to this month) is more than" in finding.message and "= 40 (April to this month)" in finding.message
    assert "Pentavalent 3" in finding.message and "Pentavalent 1" in finding.message


def test_stock_balances_in_history_are_not_added_to_the_year_to_date(setup):
    # Only TOTAL values count towards year-to-date sums; a sub-item row of the same element does not.
    history = pd.DataFrame([("F1", "2026-09", "9.1.8", "1. Balance From Previous Month", 25.0)],
                           columns=["facility_id", "period", "item_code", "disaggregation", "value"])
    outcome = run(setup, {1: ("F1", full_phc())}, history)
    assert "imm.penta3_le_penta1_fytd" not in {f.expectation_id for f in outcome.findings}


def test_missing_items_lower_completeness(setup):
    values = {k: v for k, v in list(full_phc().items())[:10]}
    outcome = run(setup, {1: ("F1", values)})
    assert "completeness.items_present" in {f.expectation_id for f in outcome.findings}
    assert outcome.completeness[0][:3] == (1, 297, 10)


def test_outlier_against_history_is_flagged_on_its_item(setup):
    history = history_frame(
        [("F1", f"2026-0{m}", "14.2.1", v) for m, v in zip(range(3, 10), [880, 910, 900, 890, 905, 895, 900])])
    outcome = run(setup, {1: ("F1", full_phc(**{"14.2.1": 4000}))}, history)
    outliers = [f for f in outcome.findings if f.expectation_id.startswith("outlier.")]
    assert {f.expectation_id for f in outliers} == {"outlier.z.extreme", "outlier.modified_z.extreme"}
    assert {f.item_code for f in outliers} == {"14.2.1"}
    assert "item 14.2.1 = 4000" in outliers[0].message
