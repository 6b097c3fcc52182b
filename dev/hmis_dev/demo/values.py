"""One facility's monthly report in its own HMIS format: every expected item, with a valid value.

A facility reports on the format of its type and month (docs/formats.md):
``load_catalogue().expected_items(facility_type, period)``, the format's items in the modules
the type provides. So a CHC, PHC or private hospital sends the 297 items of the 2017 CHC
facility format, a clinic 196 of them and an AYUSH dispensary the 50 of module 14; a
sub-centre the 147 of the Sub-Centre format; a district or sub-district hospital the 372
codes of the 2017 consolidation, 42 of them stock items with five sub-items each (540 rows).

Values are made per data element (``item.element``), so one meaning gets one volume in every
format, and then written under the item's own code:

* count items: the element's count from :func:`hmis_dev.demo.counts.element_counts`;
* stock items (consolidation M17-M20): the five sub-items, with
  ``5. Total Stock = 1 + 2 - 3 - 4``, all >= 0, and ``1. Balance From Previous Month``
  equal to the previous month's total stock (:func:`_stock`);
* status items (CHC format M16): ``Adequate``, now and then ``Inadequate``;
* date items (dates of last supply): a real date ``DD/MM/YYYY`` in the month or up to 20 days
  before it;
* percentage items (14.20, patient satisfaction): 0-100 with two decimals, steady per facility.

Every clean report keeps every rule and consistency check of
``expectations/validation_rules.yaml`` (:mod:`hmis_dev.demo.rules`); :func:`clean_values`
fails rather than return one that breaks a rule, so every broken rule in the landing store
was planted on purpose (:mod:`hmis_dev.demo.quality_warnings`). :func:`revise` makes the few
changed counts of a revised file, still consistent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache

import numpy as np

from hmis.reference.formats import STATUS_VALUES, TOTAL, Item, load_catalogue
from hmis.reference.periods import parse_period, period_end, period_start, shift_period
from hmis_dev.demo.counts import DENGUE_RISE, DENGUE_RISE_BLOCK, SIGNAL_ITEMS, element_counts
from hmis_dev.demo.files import submission_columns
from hmis_dev.demo.registry import Facility
from hmis_dev.demo.rules import consistency_problems
from hmis_dev.demo.scale import base_volumes, typical_maxima

Value = int | str
P_INADEQUATE = 0.08  # a drug or vaccine reported short in a month
LAST_SUPPLY_DAYS_BEFORE = 20


@dataclass(frozen=True)
class Row:
    """One line of a submission file: the item's code in its format, sub-item and value."""

    item_code: str
    sub_item: str  # "" except for the five rows of a stock item
    value: str
    value_type: str


@dataclass(frozen=True)
class Report:
    """What one facility's file for one month holds.

    ``values`` has one entry per expected item and disaggregation, keyed by
    ``(element, disaggregation)`` (``TOTAL`` or the stock sub-item): an int for counts
    and stock, the text as written for statuses, dates and percentages.
    """

    format_id: str
    items: tuple[Item, ...] = field(repr=False)
    values: dict[tuple[str, str], Value]

    @property
    def has_stock(self) -> bool:
        return any(item.value_type == "stock" for item in self.items)

    def rows(self) -> list[Row]:
        """The file's lines in the format's order; stock items as their five sub-items."""
        rows = []
        for item in self.items:
            for disaggregation in item.disaggregations:
                sub_item = "" if disaggregation == TOTAL else disaggregation
                value = self.values[(item.element, disaggregation)]
                rows.append(Row(item.code, sub_item, str(value), item.value_type))
        return rows

    def table(self, facility_id: str, period: str) -> tuple[tuple[str, ...], list[dict[str, str]]]:
        """The file's header and lines (docs/formats.md): ``sub_item`` is a column only
        when the format has stock items, and empty on every line but theirs."""
        with_sub_item = self.has_stock
        columns = submission_columns(with_sub_item)
        lines = []
        for row in self.rows():
            line = {"facility_id": facility_id, "period": period, "item_code": row.item_code, "value": row.value}
            if with_sub_item:
                line["sub_item"] = row.sub_item
            lines.append(line)
        return columns, lines

    def numbers(self) -> dict[str, int]:
        """The counts by element: what the validation rules are judged on."""
        return {
            item.element: int(self.values[(item.element, TOTAL)]) for item in self.items if item.value_type == "count"
        }

    def with_counts(self, changed: Mapping[str, int]) -> Report:
        """A copy with some counts (by element) replaced."""
        values = dict(self.values)
        for element, value in changed.items():
            if (element, TOTAL) not in values:
                raise KeyError(f"{element} is not a count of this {self.format_id} report")
            values[(element, TOTAL)] = int(value)
        return Report(self.format_id, self.items, values)


@cache
def _expected(facility_type: str, period: str) -> tuple[str, tuple[Item, ...]]:
    catalogue = load_catalogue()
    return catalogue.format_for(facility_type, period).format_id, tuple(catalogue.expected_items(facility_type, period))


def clean_values(facility: Facility, period: str, seed: int) -> Report:
    """The facility's consistent report for ``period`` in its own format.

    Raises RuntimeError if it would break a validation rule: the demo never writes a clean
    file that a rule would flag.
    """
    format_id, items = _expected(facility.facility_type, period)
    counts = element_counts(facility, period, seed)
    year, month = parse_period(period)
    # Statuses, dates and percentages have a stream of their own, so the counts are the
    # same whichever format asks for them.
    other = np.random.default_rng([seed, year * 12 + month, facility.number, 6])
    values: dict[tuple[str, str], Value] = {}
    for item in items:
        if item.value_type == "count":
            values[(item.element, TOTAL)] = counts[item.element] if item.element in counts else _other_count(other)
        elif item.value_type == "stock":
            for sub_item, value in zip(item.disaggregations, _stock(facility, period, seed, item)):
                values[(item.element, sub_item)] = value
        elif item.value_type == "status":
            values[(item.element, TOTAL)] = STATUS_VALUES[int(other.random() < P_INADEQUATE)]
        elif item.value_type == "date":
            values[(item.element, TOTAL)] = _supply_date(other, period)
        elif item.value_type == "percentage":
            values[(item.element, TOTAL)] = _satisfaction(facility, seed, other)
        else:
            raise ValueError(f"{item.format_id} {item.code}: unknown value type {item.value_type!r}")
    report = Report(format_id, items, values)
    problems = consistency_problems(report.numbers())
    if problems:
        raise RuntimeError(f"generated values for {facility.facility_id} {period} break {', '.join(problems)}")
    return report


def _other_count(rng: np.random.Generator) -> int:
    """A count for an element only another format has (the newer format, once in force):
    no service model knows it, so a small plausible number."""
    return int(rng.poisson(2.0))


def _supply_date(rng: np.random.Generator, period: str) -> str:
    """Last date of supply: within the month, or up to 20 days before it."""
    first, last = period_start(period), period_end(period)
    span = (last - first).days + LAST_SUPPLY_DAYS_BEFORE
    day = first - timedelta(days=LAST_SUPPLY_DAYS_BEFORE) + timedelta(days=int(rng.integers(span + 1)))
    return day.strftime("%d/%m/%Y")


def _satisfaction(facility: Facility, seed: int, rng: np.random.Generator) -> str:
    """Patient satisfaction score (Mera Aspataal), in per cent: steady per facility."""
    usual = float(np.random.default_rng([seed, 0, facility.number, 6]).uniform(68.0, 92.0))
    score = min(max(usual + float(rng.normal(0.0, 2.5)), 0.0), 100.0)
    return f"{score:.2f}"


# Monthly use of each stock item of the consolidation (M17-M20): (service, units per unit
# of it). Vaccines in doses, contraceptives in pieces or cycles, drugs in their usual unit.
# fmt: off
_STOCK_USE = {
    "17.1": ("immunisation", 0.5), "17.2": ("immunisation", 2.9), "17.3": ("immunisation", 4.0),
    "17.4": ("anc", 1.5), "17.5": ("immunisation", 0.1), "17.6": ("deliveries", 1.0),
    "17.7": ("immunisation", 0.05), "17.8": ("immunisation", 0.0), "17.9": ("deliveries", 0.9),
    "17.10": ("immunisation", 0.02), "17.11": ("deliveries", 1.0), "17.12": ("immunisation", 2.8),
    "17.13": ("immunisation", 2.7), "17.14": ("immunisation", 1.8),
    "18.1": ("iucd", 0.9), "18.2": ("iucd", 0.3), "18.3": ("condoms", 1.0), "18.4": ("pills", 1.0),
    "18.5": ("pills", 0.05), "18.6": ("pills", 0.15), "18.7": ("iucd", 0.6), "18.8": ("sterilisation", 0.9),
    "18.9": ("anc", 1.2),
    "19.1": ("deliveries", 8.0), "19.2": ("mtp", 0.5), "19.3": ("opd", 0.003), "19.4": ("blood_units", 1.0),
    "19.5": ("major_ops", 0.2), "19.6": ("anc", 10.0), "19.7": ("opd", 0.05), "19.8": ("opd", 0.03),
    "19.9": ("immunisation", 3.0), "19.10": ("opd", 0.01), "19.11": ("immunisation", 1.0),
    "19.12": ("opd", 0.01), "19.13": ("opd", 0.005), "19.14": ("opd", 0.01), "19.15": ("immunisation", 2.0),
    "19.16": ("anc", 10.0),
    "20.1": ("immunisation", 1.2), "20.2": ("immunisation", 6.0), "20.3": ("immunisation", 0.5),
}
# fmt: on
_STOCK_DEFAULT_USE = ("opd", 0.005)


def _stock_stream(seed: int, period: str, facility: Facility, element: str, purpose: int) -> np.random.Generator:
    """A stream per facility, month, stock element and ``purpose`` (7: the month's closing
    stock, 8: its movements), named by the element's module and sub-number (17.12 -> 17, 12)."""
    year, month = parse_period(period)
    numbers = [int(part) for part in element.split(":")[-1].split(".") if part.isdigit()]
    return np.random.default_rng([seed, year * 12 + month, facility.number, purpose, *numbers])


def _closing_stock(facility: Facility, period: str, seed: int, element: str, use: float) -> int:
    """Total stock at the end of ``period``: one to two months of use.

    Drawn from the period's own stream alone, so next month's opening balance is this
    same number whichever months are generated.
    """
    rng = _stock_stream(seed, period, facility, element, 7)
    return int(rng.poisson(use * rng.uniform(1.0, 1.8))) if use > 0 else 0


def _stock(facility: Facility, period: str, seed: int, item: Item) -> list[int]:
    """The five sub-items of a stock item, in the portal's order: opening balance (last
    month's total stock), received, unusable, distributed, total stock; 5 = 1 + 2 - 3 - 4."""
    service, rate = _STOCK_USE.get(item.element, _STOCK_DEFAULT_USE)
    use = base_volumes(facility, seed)[service] * rate
    opening = _closing_stock(facility, shift_period(period, -1), seed, item.element, use)
    closing = _closing_stock(facility, period, seed, item.element, use)
    rng = _stock_stream(seed, period, facility, item.element, 8)
    distributed = int(rng.poisson(use)) if use > 0 else 0
    unusable = int(rng.binomial(opening, 0.005)) if opening > 0 else 0
    # Receipts make the books balance; when the month needed none, more was handed out.
    received = closing - opening + unusable + distributed
    if received < 0:
        distributed -= received
        received = 0
    return [opening, received, unusable, distributed, closing]


def revise(report: Report, facility: Facility, period: str, seed: int) -> Report:
    """A copy of ``report`` with a few counts changed, still consistent and plausible."""
    year, month = parse_period(period)
    rng = np.random.default_rng([seed, year * 12 + month, facility.number, 2])
    limits = typical_maxima()
    numbers = report.numbers()
    candidates = [element for element, value in numbers.items() if value >= 3]
    changed: dict[str, int] = {}
    for index in rng.permutation(len(candidates)):
        if len(changed) == 3:
            break
        element = candidates[int(index)]
        current = changed.get(element, numbers[element])
        delta = max(1, int(round(current * rng.uniform(0.03, 0.12))))
        new_value = current + (delta if rng.random() < 0.5 else -delta)
        if not 0 <= new_value <= limits.get(element, new_value):
            continue
        trial = {**numbers, **changed, element: new_value}
        if not consistency_problems(trial):
            changed[element] = new_value
    if not changed:
        # Raising attendance breaks no rule, and every type reports one of these.
        element = "14.2.1" if "14.2.1" in numbers else "14.2.2"
        changed[element] = numbers[element] + 1 + int(rng.integers(0, 25))
    return report.with_counts(changed)


def planted_rise(registered: Sequence[Facility], periods: Sequence[str]) -> tuple[str | None, list[str]]:
    """(block, periods) of the planted dengue rise among ``periods``.

    The block is None when none of its registered facilities reports a dengue element in
    any of the periods, since the rise then has nowhere to show.
    """
    block_reports = any(
        facility.block == DENGUE_RISE_BLOCK
        and any(item.element in SIGNAL_ITEMS for item in _expected(facility.facility_type, period)[1])
        for facility in registered
        for period in periods
    )
    rise_periods = [period for period in periods if parse_period(period)[1] in DENGUE_RISE]
    return (DENGUE_RISE_BLOCK if block_reports else None), rise_periods
