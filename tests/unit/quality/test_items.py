"""Each row is placed on its item in the facility's own format before its value is judged."""

from datetime import date

import pandas as pd
import pytest

from hmis.platform.settings import load_settings
from hmis.quality.items import expected_elements, file_formats, place_rows
from hmis.quality.rules import RULES_FILE, load_rules
from hmis.quality.runner import SuiteRunner, prepare_frame, validate_batch
from hmis.reference.formats import STOCK_SUB_ITEMS, TOTAL, format_title, load_catalogue

pytestmark = pytest.mark.unit

PERIOD = "2026-10"
CHC_TITLE = "HMIS 2017 revised formats, CHC facility format"
SAMPLE = {"count": "1", "stock": "1", "status": "Adequate", "date": "05/10/2026", "percentage": "90"}
# CHC is the CHC facility format (hmis2017_chc), DH the 2017 consolidation with stock sub-items.
REGISTRY = pd.DataFrame(
    [("CHC1", "CHC", True, date(2020, 1, 1), date(2000, 1, 1), None),
     ("DH1", "DH", True, date(2020, 1, 1), date(2000, 1, 1), None)],
    columns=["facility_id", "facility_type", "hmis_registered", "hmis_registered_on", "opened_on", "closed_on"],
)


@pytest.fixture(scope="module")
def runner():
    return SuiteRunner(load_settings().expectations_dir)


@pytest.fixture(scope="module")
def rules_runner():
    settings = load_settings()
    elements = {item.element for item in load_catalogue().elements()}
    return SuiteRunner(settings.expectations_dir, load_rules(settings.expectations_dir / RULES_FILE, elements))


def batch(files: dict[int, tuple[str, list[tuple]]]):
    """files: {file_id: (facility, [(item_code, value) or (item_code, value, sub_item)])}."""
    rows, meta = [], []
    for file_id, (facility, lines) in files.items():
        meta.append((file_id, facility, PERIOD))
        for n, line in enumerate(lines, start=2):
            code, value, sub = (*line, None) if len(line) == 2 else line
            rows.append((file_id, n, facility, PERIOD, code, value, sub))
    return (pd.DataFrame(rows, columns=["file_id", "row_no", "facility_id", "period", "item_code", "value_raw",
                                        "sub_item"]),
            pd.DataFrame(meta, columns=["file_id", "key_facility_id", "key_period"]))


def validate(runner, files, history=None, limits=None):
    rows, meta = batch(files)
    return validate_batch(runner, rows, meta, REGISTRY, history, limits={} if limits is None else limits)


def ids(outcome, file_id=1):
    return sorted({f.expectation_id for f in outcome.findings if f.file_id == file_id})


def history_frame(rows):
    """(facility, period, element, disaggregation, value) of accepted earlier months."""
    return pd.DataFrame(rows, columns=["facility_id", "period", "item_code", "disaggregation", "value"])


# ------------------------------------------------------------------------------ placing rows


def test_files_follow_the_format_of_their_facility_type():
    _, meta = batch({1: ("CHC1", []), 2: ("DH1", []), 3: ("NOWHERE", [])})
    meta.loc[3] = (4, "CHC1", "October")
    assert file_formats(meta, REGISTRY) == {1: "hmis2017_chc", 2: "hmis2017_consolidated", 3: None, 4: None}


def test_dpt1_of_a_chc_file_is_placed_on_dpt1_never_on_pentavalent():
    rows, meta = batch({1: ("CHC1", [("9.1.3", "40"), ("9.1.6", "10")])})
    frame = prepare_frame(rows, meta, REGISTRY, limits={})
    placed = frame.set_index("item_code")
    assert placed.loc["9.1.3", "element"] == "9.1.3"
    assert load_catalogue().element_name("9.1.3")[0] == "Child immunisation - DPT1"
    assert placed.loc["9.1.6", "element"] == "9.1.6"
    assert placed.loc["9.1.3", "value"] == 40.0 and placed.loc["9.1.3", "value_type"] == "count"
    # The same code in the newer format is Pentavalent 1: only the file's format decides.
    newer = prepare_frame(rows, meta, REGISTRY, formats={1: "hmis_newer"}, limits={})
    assert newer.set_index("item_code").loc["9.1.3", "element"] == "9.1.6"


def test_dpt1_does_not_feed_the_pentavalent_rules(rules_runner):
    # 12 Penta-3 doses against 10 Penta-1: broken, however many DPT1 doses (40) were given.
    outcome = validate(rules_runner, {1: ("CHC1", [("9.1.3", "40"), ("9.1.6", "10"), ("9.1.8", "12")])})
    finding = next(f for f in outcome.findings if f.expectation_id == "imm.penta3_le_penta1_fytd")
    assert finding.observed == "12 vs 10"
    assert "(Child immunisation - Pentavalent 1) = 10" in finding.message
    assert "DPT" not in finding.message


def test_place_rows_marks_unknown_items_and_unknown_formats():
    frame = pd.DataFrame({"file_id": [1, 1, 2], "item_code": ["2.1", "2.2", "2.1"],
                          "sub_item": [None, None, None]})
    placed = place_rows(frame, {1: "hmis2017_chc", 2: None})
    assert placed["element"].tolist()[:2] == ["2.2", None]   # CHC 2.1 is institutional deliveries
    assert placed["item_known"].tolist()[:2] == [True, False]  # the CHC format has no 2.2
    assert pd.isna(placed["item_known"].iloc[2])              # no format: reported by its own rule
    assert placed["disaggregation"].tolist() == [TOTAL] * 3


def test_expected_elements_follow_type_and_modules():
    chc = expected_elements("CHC", PERIOD)
    assert len(chc) == 297 and "2.2" in chc and "hmis2017_chc:16.1.1" in chc and "2.1" not in chc
    clinic = expected_elements("CLINIC", PERIOD)
    assert clinic < chc and "2.2" not in clinic and "9.1.3" in clinic
    assert expected_elements("HOSPITAL", PERIOD) == frozenset()


# ------------------------------------------------------------------------------ unknown codes


def test_unknown_codes_are_named_item_by_item_with_the_facility_format(runner):
    # 2.2 is a code of the consolidation, not of the CHC format; 99.9.9 of no format.
    outcome = validate(runner, {1: ("CHC1", [("1.1", "12"), ("2.2", "5"), ("99.9.9", "4")]),
                                2: ("DH1", [("1.1", "12"), ("2.2", "5")])})
    known = [f for f in outcome.findings if f.expectation_id == "item.known"]
    assert sorted(f.item_code for f in known) == ["2.2", "99.9.9"]
    assert {f.file_id for f in known} == {1}
    for finding in known:
        assert finding.severity == "blocking" and finding.failed_rows == 1
        assert f"({CHC_TITLE})" in finding.message
        assert finding.message.endswith(f"'{finding.item_code}' (line {3 if finding.item_code == '2.2' else 4})")
        assert CHC_TITLE in finding.message_hi
    assert format_title("hmis2017_chc") == CHC_TITLE
    assert ids(outcome, 2) == []


# ------------------------------------------------------------------------------ value types


@pytest.mark.parametrize(("value", "accepted"), [("Adequate", True), ("Inadequate", True), ("Good", False),
                                                 ("1", False)])
def test_stock_status_is_adequate_or_inadequate(runner, value, accepted):
    outcome = validate(runner, {1: ("CHC1", [("16.1.2.a", value), ("1.1", "12")])})
    if accepted:
        assert ids(outcome) == []
    else:
        assert ids(outcome) == ["value.status"]
        (finding,) = outcome.findings
        assert finding.item_code == "16.1.2.a" and repr(value) in finding.message


@pytest.mark.parametrize(("value", "accepted"), [("12/10/2026", True), ("31/02/2026", False),
                                                 ("2026-10-12", False), ("12", False)])
def test_date_of_last_supply_is_a_real_date(runner, value, accepted):
    outcome = validate(runner, {1: ("CHC1", [("16.1.1", value), ("1.1", "12")])})
    if accepted:
        assert ids(outcome) == []
    else:
        assert ids(outcome) == ["value.date"]
        assert outcome.findings[0].item_code == "16.1.1"


@pytest.mark.parametrize(("value", "accepted"), [("85", True), ("99.5", True), ("100", True), ("120", False),
                                                 ("-5", False), ("85.125", False)])
def test_percentage_is_between_0_and_100(runner, value, accepted):
    outcome = validate(runner, {1: ("DH1", [("14.20", value), ("1.1", "12")])})
    assert ids(outcome) == ([] if accepted else ["value.percentage"])


def test_statuses_and_dates_are_not_judged_as_counts(runner):
    rows, meta = batch({1: ("CHC1", [("16.1.1", "12/10/2026"), ("16.1.2.a", "Adequate"), ("1.1", "12")])})
    frame = prepare_frame(rows, meta, REGISTRY, limits={})
    assert frame["value_type"].tolist() == ["date", "status", "count"]
    assert frame["value"].isna().tolist() == [True, True, False]   # never a number to add up
    assert ids(validate(runner, {1: ("CHC1", [("1.1", "Adequate")])})) == ["value.non_negative_integer"]


# ------------------------------------------------------------------------------ sub-items


def test_a_stock_item_needs_one_of_its_five_sub_items(runner):
    five = [("17.1", str(10 + n), sub) for n, sub in enumerate(STOCK_SUB_ITEMS)]
    assert ids(validate(runner, {1: ("DH1", five)})) == []
    for sub in (None, "", "TOTAL", "6. Lost", "balance from previous month"):
        outcome = validate(runner, {1: ("DH1", [("17.1", "10", sub)])})
        assert ids(outcome) == ["item.sub_item"], sub
        assert outcome.findings[0].item_code == "17.1"


def test_the_five_stock_rows_are_not_duplicates_but_a_repeated_sub_item_is(runner):
    five = [("17.1", "10", sub) for sub in STOCK_SUB_ITEMS] + [("17.2", "10", sub) for sub in STOCK_SUB_ITEMS]
    assert ids(validate(runner, {1: ("DH1", five)})) == []
    again = five + [("17.1", "11", STOCK_SUB_ITEMS[1])]
    outcome = validate(runner, {1: ("DH1", again)})
    assert ids(outcome) == ["item.unique"]
    assert outcome.findings[0].failed_rows == 2


def test_a_count_item_with_a_sub_item_is_refused(runner):
    outcome = validate(runner, {1: ("DH1", [("1.1", "12", STOCK_SUB_ITEMS[1]), ("1.1.1", "3", "TOTAL"),
                                            ("1.2.1", "3", "")])})
    assert ids(outcome) == ["item.sub_item"]
    (finding,) = outcome.findings
    assert finding.item_code == "1.1" and finding.failed_rows == 1


# ------------------------------------------------------------------------------ completeness


def test_completeness_counts_statuses_and_dates_as_present(rules_runner):
    items = load_catalogue().expected_items("CHC", PERIOD)
    every = [(i.code, SAMPLE[i.value_type]) for i in items]
    not_numbers = [(i.code, SAMPLE[i.value_type]) for i in items if i.value_type in ("status", "date")]
    assert len(not_numbers) == 28
    outcome = validate(rules_runner, {1: ("CHC1", every), 2: ("CHC1", not_numbers)})
    assert outcome.completeness[0][:3] == (1, 297, 297)
    assert outcome.completeness[1][:4] == (2, 297, 28, 0)   # present, though none is a number
    assert "completeness.items_present" not in ids(outcome, 1)
    assert "completeness.items_present" in ids(outcome, 2)


def test_an_unknown_code_does_not_count_towards_completeness(rules_runner):
    outcome = validate(rules_runner, {1: ("CHC1", [("1.1", "12"), ("99.9.9", "4")])})
    assert outcome.completeness[0][:3] == (1, 297, 1)


# ------------------------------------------------------------------------------ outliers


def test_outlier_history_is_matched_by_element(runner):
    months = [f"2026-0{m}" for m in range(3, 10)]
    usual = [880, 910, 900, 890, 905, 895, 900]
    # CHC 2.1 is element 2.2: its baseline is the earlier months of element 2.2 ...
    same = history_frame([("CHC1", p, "2.2", TOTAL, float(v)) for p, v in zip(months, usual)])
    outcome = validate(runner, {1: ("CHC1", [("2.1", "4000")])}, same)
    assert ids(outcome) == ["outlier.modified_z.extreme", "outlier.z.extreme"]
    assert outcome.flagged_rows == {(1, 2)}
    # ... never the months of element 2.1 (the consolidation's home deliveries).
    other = history_frame([("CHC1", p, "2.1", TOTAL, float(v)) for p, v in zip(months, usual)])
    assert ids(validate(runner, {1: ("CHC1", [("2.1", "4000")])}, other)) == []


def test_outlier_history_is_matched_by_disaggregation(runner):
    months = [f"2026-0{m}" for m in range(3, 10)]
    history = history_frame(
        [("DH1", p, "17.1", STOCK_SUB_ITEMS[0], float(4000 + 10 * n)) for n, p in enumerate(months)]
        + [("DH1", p, "17.1", STOCK_SUB_ITEMS[1], float(100 + 5 * n)) for n, p in enumerate(months)])
    # A balance of 4000 is usual for the balance; 4000 received is not usual for receipts.
    outcome = validate(runner, {1: ("DH1", [("17.1", "4030", STOCK_SUB_ITEMS[0]),
                                            ("17.1", "4000", STOCK_SUB_ITEMS[1])])}, history)
    assert ids(outcome) == ["outlier.modified_z.extreme", "outlier.z.extreme"]
    assert outcome.flagged_rows == {(1, 3)}
    assert all("4030" not in f.message for f in outcome.findings)
