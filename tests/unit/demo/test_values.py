"""Monthly reports in each facility's own format: :mod:`hmis_dev.demo.values`, counts and scale."""

from __future__ import annotations

import csv
import dataclasses
from collections import Counter, defaultdict
from datetime import timedelta
from functools import cache

import pytest

import hmis_dev.demo.values as values_module
from hmis.reference.formats import STOCK_SUB_ITEMS, TOTAL, load_catalogue
from hmis.reference.periods import period_end, period_start, shift_period
from hmis_dev.demo.counts import element_counts
from hmis_dev.demo.registry import build_registry
from hmis_dev.demo.scale import typical_maxima
from hmis_dev.demo.values import clean_values

from .landing import HEADER, HEADER_WITH_SUB_ITEM, counts_of, parse_date, pipeline_rule_failures

pytestmark = pytest.mark.unit

SEED = 2026
# Rows of a clean file per facility type: the 2017 CHC facility format has 297 items, the
# Sub-Centre format 147; clinics report 8 of its modules (196 items), AYUSH module 14 (50);
# district and sub-district hospitals the consolidation's 372 codes, 42 of them stock items
# of five rows each (540 rows).
ROWS_PER_TYPE = {
    "SC": 147, "PHC": 297, "CHC": 297, "PVT_HOSPITAL": 297, "NURSING_HOME": 297, "CLINIC": 196, "AYUSH": 50,
    "SDH": 540, "DH": 540,
}  # fmt: skip
FORMAT_PER_TYPE = {"SC": "hmis2017_sc", "SDH": "hmis2017_consolidated", "DH": "hmis2017_consolidated"}


def _read(path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _registered():
    return [facility for facility in build_registry(SEED) if facility.registered]


@cache
def _district(period: str) -> dict[str, dict[str, int]]:
    """Counts of every registered facility's clean report for ``period``, by facility id."""
    return {facility.facility_id: clean_values(facility, period, SEED).numbers() for facility in _registered()}


def _total(period: str, elements: tuple[str, ...], facilities=None) -> int:
    wanted = None if facilities is None else {facility.facility_id for facility in facilities}
    return sum(
        numbers.get(element, 0)
        for facility_id, numbers in _district(period).items()
        if wanted is None or facility_id in wanted
        for element in elements
    )


def test_each_file_holds_its_format_items_under_their_own_codes(on_disk, demo):
    _, truth = demo
    catalogue = load_catalogue()
    valid = [entry for entry in on_disk if entry["problem"] is None]
    assert len(valid) > 700
    seen_types = set()
    for entry in valid:
        kind, period = entry["facility_type"], entry["period"]
        items = catalogue.expected_items(kind, period)
        rows = _read(entry["path"])
        assert len(rows) == ROWS_PER_TYPE[kind], entry["key"]
        assert [row["item_code"] for row in rows] == [item.code for item in items for _ in item.disaggregations]
        assert truth.formats[(entry["facility_id"], period)] == FORMAT_PER_TYPE.get(kind, "hmis2017_chc")
        seen_types.add(kind)
    assert seen_types == set(ROWS_PER_TYPE)

    # A CHC writes institutional deliveries as 2.1, its format's code; the value is element 2.2.
    chc = next(entry for entry in valid if entry["facility_type"] == "CHC")
    chc_rows = {row["item_code"]: row["value"] for row in _read(chc["path"])}
    assert "2.2" not in chc_rows
    assert (
        int(chc_rows["2.1"])
        == chc["values"][("2.2", TOTAL)]
        == truth.values[(chc["facility_id"], chc["period"])][("2.2", TOTAL)]
    )
    dh = next(entry for entry in valid if entry["facility_type"] == "DH")
    assert {row["item_code"]: row["value"] for row in _read(dh["path"]) if not row["sub_item"]}["2.2"] == str(
        dh["values"][("2.2", TOTAL)]
    )


def test_header_has_a_sub_item_column_only_where_there_is_stock(on_disk):
    for entry in (entry for entry in on_disk if entry["problem"] is None):
        first_line = entry["path"].read_bytes().split(b"\n", 1)[0].decode()
        stock = entry["facility_type"] in ("DH", "SDH")
        assert first_line.split(",") == (HEADER_WITH_SUB_ITEM if stock else HEADER), entry["key"]
    raw = next(entry for entry in on_disk if entry["problem"] is None)["path"].read_bytes()
    assert b"\r" not in raw and b".0\n" not in raw


def test_stock_items_have_five_balanced_sub_items_carried_to_the_next_month(on_disk, demo):
    _, truth = demo
    hospitals = [entry for entry in on_disk if entry["problem"] is None and entry["facility_type"] in ("DH", "SDH")]
    assert hospitals
    for entry in hospitals:
        rows = _read(entry["path"])
        stock_rows = [row for row in rows if row["sub_item"]]
        assert len(stock_rows) == 42 * 5
        by_code = defaultdict(list)
        for row in stock_rows:
            by_code[row["item_code"]].append(row["sub_item"])
        assert all(subs == list(STOCK_SUB_ITEMS) for subs in by_code.values())
        for code in by_code:
            opening, received, unusable, distributed, total = (entry["values"][(code, sub)] for sub in STOCK_SUB_ITEMS)
            assert min(opening, received, unusable, distributed, total) >= 0
            assert total == opening + received - unusable - distributed, (entry["key"], code)
    # Each month opens with the total stock the facility closed the previous month with.
    carried = 0
    for (facility_id, period), month in truth.values.items():
        before = truth.values.get((facility_id, shift_period(period, -1)))
        if before is None or truth.formats[(facility_id, period)] != "hmis2017_consolidated":
            continue
        for (element, sub), value in month.items():
            if sub == STOCK_SUB_ITEMS[0]:
                assert value == before[(element, STOCK_SUB_ITEMS[4])], (facility_id, period, element)
                carried += 1
    assert carried >= 42 * 2


def test_statuses_dates_and_percentages_are_valid(on_disk):
    statuses, dates, percentages = Counter(), [], []
    for entry in (entry for entry in on_disk if entry["problem"] is None):
        start, end = period_start(entry["period"]), period_end(entry["period"])
        for code, value in entry["values"].items():
            if value in ("Adequate", "Inadequate"):
                statuses[value] += 1
            elif isinstance(value, str) and "/" in value:
                dates.append(value)
                assert start - timedelta(days=20) <= parse_date(value) <= end, (entry["key"], code, value)
            elif isinstance(value, str):
                percentages.append(value)
                assert 0 <= float(value) <= 100 and len(value.split(".")[1]) <= 2
    assert statuses["Inadequate"] > 0 and statuses["Adequate"] > 0.85 * sum(statuses.values())
    assert dates and percentages


def test_every_clean_file_keeps_every_rule_of_the_pipeline(demo):
    _, truth = demo
    assert pipeline_rule_failures(truth.values) == {}
    assert truth.rule_failures == {}


def test_generation_fails_rather_than_write_a_file_that_breaks_a_rule(monkeypatch):
    facility = next(f for f in _registered() if f.facility_type == "CHC")

    def broken(*args):
        counts = element_counts(*args)
        counts["1.1.1"] = counts["1.1"] + 5
        return counts

    monkeypatch.setattr(values_module, "element_counts", broken)
    with pytest.raises(RuntimeError, match="anc.first_trimester_le_registered"):
        clean_values(facility, "2026-10", SEED)


def test_district_totals_have_the_scale_of_fy_2018_19():
    # A financial year of clean reports from every registered facility, against Hisar's
    # FY 2018-19 totals (outpatients, inpatients, operations, family planning).
    year = [shift_period("2026-04", offset) for offset in range(12)]

    def annual(*elements: str) -> int:
        return sum(_total(period, elements) for period in year)

    real = {
        ("14.2.1",): 2_184_660,
        ("14.3.1.a", "14.3.1.b", "14.3.2.a", "14.3.2.b"): 114_566,
        ("14.8.1",): 6_761,
        ("8.1.1", "8.2.1", "8.2.2", "8.2.3", "8.2.4"): 8_856,
        ("8.3", "8.4", "8.5"): 8_034,
        ("8.13",): 966_536,
    }
    for elements, total in real.items():
        assert abs(annual(*elements) / total - 1) < 0.05, (elements, annual(*elements), total)


def test_district_outpatients_per_month_are_near_182000(demo):
    _, truth = demo
    for period in truth.periods:
        reported = sum(counts_of(values).get("14.2.1", 0) for (_, p), values in truth.values.items() if p == period)
        assert abs(reported / 182_000 - 1) <= 0.15, (period, reported)


def test_clean_values_stay_under_the_typical_maxima(demo):
    _, truth = demo
    limits = typical_maxima()
    if not limits:
        pytest.skip("no typical_max.csv yet")
    for key, values in truth.values.items():
        above = {e: v for e, v in counts_of(values).items() if e in limits and v > limits[e]}
        assert not above, (key, above)


def test_values_scale_with_facility_type_and_vary(demo, registry):
    _, truth = demo
    types = dict(zip(registry["facility_id"], registry["facility_type"]))
    opd: dict[str, list[int]] = {}
    for (facility_id, _), values in truth.values.items():
        if types[facility_id] != "AYUSH":
            opd.setdefault(types[facility_id], []).append(values[("14.2.1", TOTAL)])
    mean = {facility_type: sum(counts) / len(counts) for facility_type, counts in opd.items()}
    assert mean["SC"] < mean["PHC"] < mean["CHC"] < mean["SDH"] < mean["DH"]
    assert mean["NURSING_HOME"] < mean["PVT_HOSPITAL"] < mean["CHC"]
    assert mean["CLINIC"] < mean["PHC"]

    # Different facilities and different months get different numbers.
    monthly: dict[str, set[int]] = {}
    for (facility_id, _), values in truth.values.items():
        attendance = "14.2.2" if types[facility_id] == "AYUSH" else "14.2.1"
        monthly.setdefault(facility_id, set()).add(values[(attendance, TOTAL)])
    thrice = [
        counts
        for facility_id, counts in monthly.items()
        if sum(1 for key in truth.values if key[0] == facility_id) == 3
    ]
    assert sum(len(counts) == 3 for counts in thrice) > 0.9 * len(thrice)
    ayush = [values for (facility_id, _), values in truth.values.items() if types[facility_id] == "AYUSH"]
    assert ayush and all(values[("14.2.2", TOTAL)] > 0 and ("2.2", TOTAL) not in values for values in ayush)
    # Services a type does not provide are zero: no deliveries at clinics, no inpatients at AYUSH.
    assert all(values[("14.3.1.b", TOTAL)] == 0 for values in ayush)


def test_monsoon_seasonality_is_the_same_in_every_block():
    others = [f for f in _registered() if f.block != "Barwala"]

    def share(period: str, elements: tuple[str, ...], base: tuple[str, ...]) -> float:
        return _total(period, elements, others) / _total(period, base, others)

    opd, admissions = ("14.2.1",), ("14.3.1.a", "14.3.1.b", "14.3.2.a", "14.3.2.b")
    assert share("2026-10", ("11.3.1",), opd) > 5 * share("2027-01", ("11.3.1",), opd)  # dengue
    assert share("2026-10", ("14.4.2",), admissions) > 5 * share("2027-01", ("14.4.2",), admissions)
    malaria = ("11.1.1.b", "11.1.1.c", "11.1.2.b", "11.1.2.c")
    assert share("2026-09", malaria, opd) > 3 * share("2027-01", malaria, opd)
    assert share("2026-08", ("15.4.2",), ("15.4.1",)) > 1.3 * share("2027-01", ("15.4.2",), ("15.4.1",))  # Widal
    assert share("2026-07", ("10.11",), opd) > 1.5 * share("2027-01", ("10.11",), opd)  # diarrhoea
    assert share("2026-07", ("14.4.7",), admissions) > 1.5 * share("2027-01", ("14.4.7",), admissions)
    assert share("2026-09", ("14.4.6",), admissions) > 1.5 * share("2027-01", ("14.4.6",), admissions)  # PUO
    assert share("2027-01", ("14.4.4",), admissions) > 1.5 * share("2026-09", ("14.4.4",), admissions)  # respiratory
    # Every block follows the same pattern: each block's dengue in October is its own
    # January dengue many times over, not Barwala's alone.
    for block in {f.block for f in others}:
        in_block = [f for f in others if f.block == block]
        assert _total("2026-10", ("11.3.1",), in_block) > 5 * max(_total("2027-01", ("11.3.1",), in_block), 1)


def _block_ratio(element: str, base: tuple[str, ...], inside, outside, *periods: str) -> float:
    """``element`` per unit of ``base`` inside some facilities, against the same outside them."""

    def rate(facilities) -> float:
        cases = sum(_total(p, (element,), facilities) for p in periods)
        return cases / sum(_total(p, base, facilities) for p in periods)

    return rate(inside) / rate(outside)


def test_planted_dengue_rise_is_in_barwala_only():
    registered = _registered()
    barwala = [f for f in registered if f.block == "Barwala"]
    others = [f for f in registered if f.block != "Barwala"]
    # Barwala's dengue per outpatient (and per admission) against the rest of the district.
    for element, base in (("11.3.1", ("14.2.1",)), ("14.4.2", ("14.3.1.a", "14.3.1.b", "14.3.2.a", "14.3.2.b"))):
        for period, multiple in (("2026-08", 3), ("2026-09", 5), ("2026-10", 6)):
            ratio = _block_ratio(element, base, barwala, others, period)
            assert 0.6 * multiple < ratio < 1.5 * multiple, (element, period, ratio)
        # Outside August-October Barwala is like any block (months pooled: few cases each).
        quiet = _block_ratio(element, base, barwala, others, "2026-06", "2026-07", "2026-11", "2026-12")
        assert 0.6 < quiet < 1.6, (element, quiet)


def test_the_rise_changes_only_the_dengue_elements():
    facility = next(f for f in _registered() if f.block == "Barwala" and f.facility_type == "SDH")
    elsewhere = dataclasses.replace(facility, block="Agroha")
    for period in ("2026-09", "2026-10"):
        risen, usual = element_counts(facility, period, SEED), element_counts(elsewhere, period, SEED)
        changed = {e for e in risen if risen[e] != usual[e]}
        assert changed == {"11.3.1", "14.4.2"}
        assert all(risen[e] > usual[e] for e in changed)
    assert element_counts(facility, "2026-11", SEED) == element_counts(elsewhere, "2026-11", SEED)
