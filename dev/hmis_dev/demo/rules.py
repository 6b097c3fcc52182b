"""The pipeline's validation rules, judged on one facility-month's element values.

The rules and WHO DQR consistency checks are read from ``expectations/validation_rules.yaml``
with the pipeline's own parser (:func:`hmis.quality.rules.load_rules`), so the demo keeps
exactly the rules the pipeline applies, including any edited later. They are written on data
elements; the values here are element values too (:meth:`hmis_dev.demo.values.Report.numbers`:
the counts, keyed by element).

:func:`failed_checks` applies them as the pipeline does (:func:`hmis.quality.rules.evaluate`):
a side is the sum of its elements, a missing element counts 0, the missing-value strategy
decides when a rule is skipped, financial-year-to-date rules are judged on the year's sums.
It is written for one file at a time because the generator judges thousands of single
files, where building a DataFrame per file would dominate the run; the demo tests check it
against the pipeline's own functions.
"""

from __future__ import annotations

import operator as op
from collections.abc import Mapping
from functools import cache

from hmis.platform.settings import project_root
from hmis.quality.rules import RULES_FILE, Consistency, Rule, RuleSet, load_rules

_OPERATORS = {"==": op.eq, "!=": op.ne, "<": op.lt, "<=": op.le, ">": op.gt, ">=": op.ge}


@cache
def ruleset() -> RuleSet:
    """The rules file of this checkout, as the pipeline reads it."""
    return load_rules(project_root() / "expectations" / RULES_FILE)


def _side(values: Mapping[str, int], elements: tuple[str, ...]) -> tuple[int, bool, bool]:
    """(sum with missing as 0, any element missing, every element missing)."""
    present = [values[element] for element in elements if element in values]
    return sum(present), len(present) < len(elements), not present


def rule_holds(rule: Rule, values: Mapping[str, int]) -> bool | None:
    """True or False, or None where the missing-value strategy skips the rule."""
    left, left_any, left_all = _side(values, rule.left)
    right, right_any, right_all = _side(values, rule.right)
    if rule.operator == "compulsory_pair":
        return left_all == right_all
    if rule.operator == "exclusive_pair":
        return left_all or right_all
    if rule.missing_value_strategy == "skip_if_any_missing" and (left_any or right_any):
        return None
    if rule.missing_value_strategy == "skip_if_all_missing" and left_all and right_all:
        return None
    return bool(_OPERATORS[rule.operator](left, right))


def check_holds(check: Consistency, values: Mapping[str, int]) -> bool | None:
    """A consistency check: None when an element is missing or both sides are small."""
    a, a_any, _ = _side(values, check.a)
    b, b_any, _ = _side(values, check.b)
    if a_any or b_any or max(a, b) < check.min_count:
        return None
    if check.dropout_not_negative:
        return b <= a
    base = max(a, b)
    # The pipeline divides by a zero base as NaN, and NaN <= x is False.
    return base > 0 and abs(a - b) / base <= (check.max_relative_difference or 0)


def failed_checks(month: Mapping[str, int], fytd: Mapping[str, int] | None = None) -> list[str]:
    """Ids of the rules and consistency checks a file with ``month``'s values fails.

    ``fytd`` are the financial-year-to-date sums including this month (the facility's
    accepted earlier months of the year plus this one); without it, year-to-date rules are
    judged on the month alone. That is the stronger test: if every month keeps a rule
    such as Penta-3 <= Penta-1, every sum of months keeps it too.
    """
    rules = ruleset()
    failed = []
    for rule in rules.rules:
        source = fytd if (fytd is not None and rule.period == "financial_year_to_date") else month
        if rule_holds(rule, source) is False:
            failed.append(rule.id)
    failed += [check.id for check in rules.consistency if check_holds(check, month) is False]
    return failed


def consistency_problems(month: Mapping[str, int]) -> list[str]:
    """Ids of the rules and checks ``month``'s values break, each month judged alone."""
    return failed_checks(month)
