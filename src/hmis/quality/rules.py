"""DHIS2-style validation rules, WHO DQR consistency checks and completeness, per file.

The rules live in ``expectations/validation_rules.yaml``. :func:`evaluate` turns a batch's
values (one row per file, one column per item) into one column per check holding True
(passed), False (failed) or None (skipped by the missing-value strategy). Great
Expectations then checks those columns, so a batch is still one validation run and every
failure carries its file id. The numbers behind each failure are kept for the sentence an
officer reads.
"""

from __future__ import annotations

import operator as op
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

RULES_FILE = "validation_rules.yaml"
OPERATORS = {"==": op.eq, "!=": op.ne, "<": op.lt, "<=": op.le, ">": op.gt, ">=": op.ge}
PAIR_OPERATORS = ("compulsory_pair", "exclusive_pair")
STRATEGIES = ("skip_if_any_missing", "skip_if_all_missing", "never_skip")
PERIODS = ("month", "financial_year_to_date")
SEVERITIES = ("warning", "blocking")
IMPORTANCE = ("high", "medium", "low")


class RulesError(ValueError):
    """The rules file is malformed; the message names the rule."""


@dataclass(frozen=True)
class Rule:
    id: str
    description: str
    left: tuple[str, ...]
    operator: str
    right: tuple[str, ...]
    period: str = "month"
    missing_value_strategy: str = "skip_if_any_missing"
    importance: str = "medium"
    severity: str = "warning"

    @property
    def column(self) -> str:
        return f"rule:{self.id}"

    @property
    def items(self) -> tuple[str, ...]:
        return self.left + self.right


@dataclass(frozen=True)
class Consistency:
    id: str
    description: str
    a: tuple[str, ...]
    b: tuple[str, ...]
    min_count: int
    max_relative_difference: float | None = None
    dropout_not_negative: bool = False

    @property
    def column(self) -> str:
        return f"check:{self.id}"


@dataclass(frozen=True)
class RuleSet:
    version: int
    rules: tuple[Rule, ...]
    consistency: tuple[Consistency, ...]
    min_present_share: float
    source: Path | None = None
    item_codes: frozenset[str] = field(default_factory=frozenset)

    @property
    def fytd_items(self) -> set[str]:
        return {i for r in self.rules if r.period == "financial_year_to_date" for i in r.items}


def load_rules(path: Path, known_items: set[str] | None = None) -> RuleSet:
    """Read and check the rules file; every referenced item must be in the catalogue."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    rules = []
    seen = set()
    for raw in data.get("rules", []):
        rule_id = raw.get("id", "?")
        try:
            rule = Rule(
                id=rule_id, description=raw["description"], left=tuple(raw["left"]),
                operator=str(raw["operator"]), right=tuple(raw["right"]),
                period=raw.get("period", "month"),
                missing_value_strategy=raw.get("missing_value_strategy", "skip_if_any_missing"),
                importance=raw.get("importance", "medium"), severity=raw.get("severity", "warning"),
            )
        except (KeyError, TypeError) as exc:
            raise RulesError(f"rule {rule_id}: missing or malformed field {exc}") from None
        problems = []
        if rule.operator not in OPERATORS and rule.operator not in PAIR_OPERATORS:
            problems.append(f"unknown operator {rule.operator!r}")
        if rule.period not in PERIODS:
            problems.append(f"period must be one of {PERIODS}")
        if rule.missing_value_strategy not in STRATEGIES:
            problems.append(f"missing_value_strategy must be one of {STRATEGIES}")
        if rule.severity not in SEVERITIES:
            problems.append(f"severity must be one of {SEVERITIES}")
        if rule.importance not in IMPORTANCE:
            problems.append(f"importance must be one of {IMPORTANCE}")
        if not rule.left or not rule.right:
            problems.append("both sides need at least one item")
        if known_items is not None:
            unknown = [i for i in rule.items if i not in known_items]
            if unknown:
                problems.append(f"unknown item code(s) {unknown}")
        if rule_id in seen:
            problems.append("duplicate id")
        if problems:
            raise RulesError(f"rule {rule_id}: {'; '.join(problems)}")
        seen.add(rule_id)
        rules.append(rule)
    checks = []
    for raw in data.get("consistency", []):
        try:
            checks.append(Consistency(
                id=raw["id"], description=raw["description"], a=tuple(raw["a"]), b=tuple(raw["b"]),
                min_count=int(raw.get("min_count", 0)),
                max_relative_difference=raw.get("max_relative_difference"),
                dropout_not_negative=bool(raw.get("dropout_not_negative", False)),
            ))
        except (KeyError, TypeError) as exc:
            raise RulesError(f"consistency check {raw.get('id', '?')}: malformed field {exc}") from None
    share = float((data.get("completeness") or {}).get("min_present_share", 0.9))
    items = frozenset(i for r in rules for i in r.items) | frozenset(i for c in checks for i in c.a + c.b)
    return RuleSet(int(data.get("version", 1)), tuple(rules), tuple(checks), share, path, items)


def _side(values: pd.DataFrame, items: tuple[str, ...]) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Sum of a side (missing counted as 0), and whether any / all of its items are missing."""
    present = values.reindex(columns=list(items))
    missing = present.isna()
    return present.fillna(0).sum(axis=1), missing.any(axis=1), missing.all(axis=1)


def evaluate_rule(rule: Rule, values: pd.DataFrame) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(outcome, left sum, right sum) per row of ``values`` (rows = files, columns = items).

    Outcome is True/False, or None where the missing-value strategy skips the rule.
    """
    left, left_any, left_all = _side(values, rule.left)
    right, right_any, right_all = _side(values, rule.right)
    if rule.operator == "compulsory_pair":
        outcome = ~(left_all ^ right_all)
        return outcome.astype(object), left, right
    if rule.operator == "exclusive_pair":
        outcome = left_all | right_all
        return outcome.astype(object), left, right
    outcome = OPERATORS[rule.operator](left, right).astype(object)
    if rule.missing_value_strategy == "skip_if_any_missing":
        skip = left_any | right_any
    elif rule.missing_value_strategy == "skip_if_all_missing":
        skip = left_all & right_all
    else:
        skip = pd.Series(False, index=values.index)
    outcome[skip] = None
    return outcome, left, right


def evaluate_consistency(check: Consistency, values: pd.DataFrame) -> tuple[pd.Series, pd.Series, pd.Series]:
    a, a_any, _ = _side(values, check.a)
    b, b_any, _ = _side(values, check.b)
    if check.dropout_not_negative:
        outcome = b <= a
    else:
        base = np.maximum(a, b).replace(0, np.nan)
        outcome = ((a - b).abs() / base) <= (check.max_relative_difference or 0)
    outcome = outcome.astype(object)
    outcome[a_any | b_any | (np.maximum(a, b) < check.min_count)] = None
    return outcome, a, b


def evaluate(ruleset: RuleSet, month: pd.DataFrame, fytd: pd.DataFrame,
             expected_items: pd.Series, present: pd.DataFrame | None = None,
             ) -> tuple[pd.DataFrame, dict[str, tuple[pd.Series, pd.Series]]]:
    """One column per check for each file.

    ``month``: this file's values (index file_id, columns item codes, NaN = not reported).
    ``fytd``: the financial-year-to-date sums including this file (same shape).
    ``expected_items``: per file, the set of items its facility type should report.
    ``present``: which items each file holds (files x items, True/False); by default the
    items with a number in ``month``, but a status or date item is present too.
    Returns the frame GX validates and, per check column, the (left, right) numbers.
    """
    frame = pd.DataFrame(index=month.index)
    numbers: dict[str, tuple[pd.Series, pd.Series]] = {}
    for rule in ruleset.rules:
        source = fytd if rule.period == "financial_year_to_date" else month
        outcome, left, right = evaluate_rule(rule, source)
        frame[rule.column] = outcome
        numbers[rule.column] = (left, right)
    for check in ruleset.consistency:
        outcome, a, b = evaluate_consistency(check, month)
        frame[check.column] = outcome
        numbers[check.column] = (a, b)
    present = month.notna() if present is None else present.reindex(month.index, fill_value=False)
    # files x items matrix of what each file's facility type is expected to report
    all_items = sorted(set().union(*(expected_items.get(f) or set() for f in month.index))
                       | set(month.columns) | set(present.columns))
    position = {code: j for j, code in enumerate(all_items)}
    templates: dict[frozenset, np.ndarray] = {}  # one row per facility type, shared by its files
    matrix = np.zeros((len(month.index), len(all_items)), dtype=bool)
    for r, file_id in enumerate(month.index):
        codes = frozenset(expected_items.get(file_id) or ())
        if codes not in templates:
            template = np.zeros(len(all_items), dtype=bool)
            template[[position[c] for c in codes]] = True
            templates[codes] = template
        matrix[r] = templates[codes]
    expected = pd.DataFrame(matrix, index=month.index, columns=all_items)
    n_expected = expected.sum(axis=1)
    hits = (present.reindex(columns=all_items, fill_value=False) & expected).sum(axis=1)
    share = (hits / n_expected.replace(0, np.nan)).astype(float)
    frame["completeness_share"] = share
    ok = (share >= ruleset.min_present_share).astype(object)
    ok[share.isna()] = None
    frame["check:completeness.items_present"] = ok
    nonzero = (month.fillna(0) > 0).sum(axis=1)
    frame["items_nonzero"] = nonzero
    frame["items_present"] = present.sum(axis=1)
    frame = frame.reset_index().rename(columns={"index": "file_id"})
    return frame, numbers
