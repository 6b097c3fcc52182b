"""Validation rules: one golden case per rule family, and every shipped rule both ways."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hmis.platform.settings import load_settings
from hmis.quality.rules import RULES_FILE, Rule, RulesError, evaluate_consistency, evaluate_rule, load_rules
from hmis.reference.formats import load_catalogue

pytestmark = pytest.mark.unit


def frame(**rows):
    """Files as rows: frame(a={"x": 1, "y": 2}, b={...}) -> index a, b; absent items are NaN."""
    return pd.DataFrame.from_dict(rows, orient="index").astype(float)


def outcome(rule, values):
    return evaluate_rule(rule, values)[0].tolist()


@pytest.mark.parametrize(
    ("operator", "left", "right", "expected"),
    [("<=", 5, 5, True), ("<=", 6, 5, False), ("<", 5, 5, False), (">=", 4, 5, False), (">", 6, 5, True),
     ("==", 5, 5, True), ("==", 4, 5, False), ("!=", 4, 5, True), ("!=", 5, 5, False)],
)
def test_comparison_operators(operator, left, right, expected):
    rule = Rule("r", "d", ("x",), operator, ("y",))
    assert outcome(rule, frame(f={"x": left, "y": right})) == [expected]


def test_sums_on_either_side():
    rule = Rule("births", "d", ("live_m", "live_f", "still"), ">=", ("deliveries",))
    values = frame(ok={"live_m": 3, "live_f": 4, "still": 1, "deliveries": 8},
                   bad={"live_m": 3, "live_f": 3, "still": 1, "deliveries": 8})
    result, left, right = evaluate_rule(rule, values)
    assert result.tolist() == [True, False]
    assert left.tolist() == [8, 7] and right.tolist() == [8, 8]


def test_missing_value_strategies():
    values = frame(none={"z": 1}, some={"x": 9}, both={"x": 9, "y": 1})
    any_rule = Rule("r", "d", ("x",), "<=", ("y",), missing_value_strategy="skip_if_any_missing")
    all_rule = Rule("r", "d", ("x",), "<=", ("y",), missing_value_strategy="skip_if_all_missing")
    never = Rule("r", "d", ("x",), "<=", ("y",), missing_value_strategy="never_skip")
    assert outcome(any_rule, values) == [None, None, False]
    assert outcome(all_rule, values) == [None, False, False]  # missing y counts as 0
    assert outcome(never, values) == [True, False, False]  # 0 <= 0 holds when both are missing


def test_compulsory_and_exclusive_pairs():
    values = frame(neither={"z": 1}, left_only={"x": 1}, right_only={"y": 0}, both={"x": 1, "y": 0})
    compulsory = Rule("c", "d", ("x",), "compulsory_pair", ("y",))
    exclusive = Rule("e", "d", ("x",), "exclusive_pair", ("y",))
    assert outcome(compulsory, values) == [True, False, False, True]
    assert outcome(exclusive, values) == [True, True, True, False]


def test_consistency_band_and_minimum_count():
    ruleset = load_rules(load_settings().expectations_dir / RULES_FILE)
    anc = next(c for c in ruleset.consistency if c.id == "consistency.anc1_vs_td1")
    values = frame(close={"1.1": 200, "1.2.1": 185}, far={"1.1": 200, "1.2.1": 150}, small={"1.1": 10, "1.2.1": 4})
    assert evaluate_consistency(anc, values)[0].tolist() == [True, False, None]
    dropout = next(c for c in ruleset.consistency if c.dropout_not_negative)
    assert (dropout.a, dropout.b) == (("9.1.6",), ("9.1.8",))  # Pentavalent 1 and 3, not DPT
    values = frame(normal={"9.1.6": 40, "9.1.8": 36}, negative={"9.1.6": 40, "9.1.8": 44},
                   dpt_only={"9.1.3": 40, "9.1.5": 44})
    assert evaluate_consistency(dropout, values)[0].tolist() == [True, False, None]


def data_elements():
    return {item.element for item in load_catalogue().elements()}


def shipped_rules():
    return load_rules(load_settings().expectations_dir / RULES_FILE, data_elements()).rules


def test_at_least_fifteen_rules_ship_and_reference_known_items():
    rules = shipped_rules()
    assert len(rules) >= 15
    assert {r.operator for r in rules} >= {"<=", ">=", "compulsory_pair"}
    assert any(r.period == "financial_year_to_date" for r in rules)


def test_shipped_rules_name_data_elements_not_codes_of_one_format():
    # The CHC format's 2.1 (institutional deliveries) is element 2.2; a rule on "2.1" would
    # read the consolidation's home deliveries instead.
    ruleset = load_rules(load_settings().expectations_dir / RULES_FILE, data_elements())
    catalogue = load_catalogue()
    assert ruleset.item_codes <= data_elements()
    csection = next(r for r in ruleset.rules if r.id == "delivery.csection_le_institutional")
    assert csection.right == (catalogue.item("hmis2017_chc", "2.1").element,) == ("2.2",)
    penta = next(r for r in ruleset.rules if r.id == "imm.penta3_le_penta1_fytd")
    names = [catalogue.element_name(e)[0] for e in penta.left + penta.right]
    assert names == ["Child immunisation - Pentavalent 3", "Child immunisation - Pentavalent 1"]


@pytest.mark.parametrize("rule", shipped_rules(), ids=lambda r: r.id)
def test_every_shipped_rule_fails_when_broken_and_passes_when_not(rule):
    if rule.operator in ("compulsory_pair", "exclusive_pair"):
        ok = {i: 1 for i in rule.items} if rule.operator == "compulsory_pair" else {i: 1 for i in rule.left}
        bad = {i: 1 for i in rule.left} if rule.operator == "compulsory_pair" else {i: 1 for i in rule.items}
    else:
        holds = {"<=": (10, 20), "<": (10, 20), ">=": (20, 10), ">": (20, 10), "==": (10, 10), "!=": (10, 20)}
        breaks = {"<=": (30, 20), "<": (20, 20), ">=": (5, 10), ">": (10, 10), "==": (10, 11), "!=": (10, 10)}

        def spread(side, total):
            values = [total // len(side)] * len(side)
            values[0] += total - sum(values)
            return dict(zip(side, values))

        lo, hi = holds[rule.operator]
        ok = {**spread(rule.left, lo), **spread(rule.right, hi)}
        lo, hi = breaks[rule.operator]
        bad = {**spread(rule.left, lo), **spread(rule.right, hi)}
    assert outcome(rule, frame(ok=ok, bad=bad)) == [True, False], rule.id


def test_broken_rules_file_is_refused_with_the_rule_named(tmp_path: Path):
    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n  - id: x.y\n    description: d\n    left: ['1.1']\n    operator: '=<'\n    right: ['1.2']\n")
    with pytest.raises(RulesError, match="rule x.y: unknown operator"):
        load_rules(path)
    path.write_text("rules:\n  - id: x.y\n    description: d\n    left: ['1.1']\n    operator: '<='\n    right: ['77.7']\n")
    with pytest.raises(RulesError, match="unknown item code"):
        load_rules(path, {"1.1"})


def test_nan_sides_are_never_compared_as_numbers():
    rule = Rule("r", "d", ("x",), "<=", ("y",))
    values = pd.DataFrame({"x": [np.nan], "y": [np.nan]}, index=[1])
    assert outcome(rule, values) == [None]
