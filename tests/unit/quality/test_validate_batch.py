"""The Great Expectations suite on an in-memory batch: failures land on the right file."""

from datetime import date

import pandas as pd
import pytest

from hmis.platform.settings import load_settings
from hmis.quality.runner import SuiteRunner, validate_batch

pytestmark = pytest.mark.unit

# Usual monthly maxima by data element (the CHC format's 1.1, 1.1.1 and 9.1.3 are elements
# of the same codes; 9.1.3 is DPT1).
LIMITS = {"1.1": 500, "1.1.1": 400, "9.1.3": 300}


@pytest.fixture(scope="module")
def runner():
    return SuiteRunner(load_settings().expectations_dir)


def registry():
    rows = [
        ("F1", "CHC", True, date(2020, 1, 1), date(2000, 1, 1), None),
        ("F2", "CHC", True, date(2020, 1, 1), date(2000, 1, 1), None),
        ("F3", "CHC", False, None, date(2000, 1, 1), None),
        ("F4", "CHC", True, date(2020, 1, 1), date(2000, 1, 1), date(2026, 1, 31)),
    ]
    return pd.DataFrame(rows, columns=["facility_id", "facility_type", "hmis_registered", "hmis_registered_on",
                                       "opened_on", "closed_on"])


def batch(files: dict[int, tuple[str, str, list[tuple]]]):
    rows, meta = [], []
    for file_id, (facility, period, lines) in files.items():
        meta.append((file_id, facility, period))
        for n, (fac, per, item, value) in enumerate(lines, start=2):
            rows.append((file_id, n, fac, per, item, value))
    return (pd.DataFrame(rows, columns=["file_id", "row_no", "facility_id", "period", "item_code", "value_raw"]),
            pd.DataFrame(meta, columns=["file_id", "key_facility_id", "key_period"]))


def ids(outcome, file_id):
    return sorted({f.expectation_id for f in outcome.findings if f.file_id == file_id})


def test_clean_files_pass(runner):
    rows, files = batch({1: ("F1", "2026-10", [("F1", "2026-10", "1.1", "12"), ("F1", "2026-10", "1.1.1", "3")])})
    outcome = validate_batch(runner, rows, files, registry(), limits=LIMITS)
    assert outcome.findings == []
    assert outcome.formats == {1: "hmis2017_chc"}


@pytest.mark.parametrize(
    ("line", "expectation"),
    [
        (("F2", "2026-10", "1.1", "twelve"), "value.non_negative_integer"),
        (("F2", "2026-10", "1.1", "-4"), "value.non_negative_integer"),
        (("F2", "2026-10", "1.1", "4.5"), "value.non_negative_integer"),
        (("F2", "2026-10", "1.1", "12345678901234567890"), "value.non_negative_integer"),
        (("F2", "2026-10", "99.9.9", "4"), "item.known"),
        (("F2", "2026-09", "1.1", "4"), "period.matches_folder"),
        (("F2", "Oct-26", "1.1", "4"), "period.format"),
        (("F1", "2026-10", "1.1", "4"), "facility.matches_file"),
    ],
)
def test_each_blocking_rule_fails_its_file_only(runner, line, expectation):
    good = [("F1", "2026-10", "1.1", "12")]
    rows, files = batch({1: ("F1", "2026-10", good), 2: ("F2", "2026-10", [line])})
    outcome = validate_batch(runner, rows, files, registry(), limits=LIMITS)
    assert expectation in ids(outcome, 2)
    assert ids(outcome, 1) == []
    assert 2 in outcome.blocking_by_file()


def test_duplicate_item_unknown_unregistered_and_closed_facilities(runner):
    rows, files = batch({
        1: ("F1", "2026-10", [("F1", "2026-10", "1.1", "1"), ("F1", "2026-10", "1.1", "2")]),
        2: ("FX", "2026-10", [("FX", "2026-10", "1.1", "1")]),
        3: ("F3", "2026-10", [("F3", "2026-10", "1.1", "1")]),
        4: ("F4", "2026-10", [("F4", "2026-10", "1.1", "1")]),
    })
    outcome = validate_batch(runner, rows, files, registry(), limits=LIMITS)
    assert ids(outcome, 1) == ["item.unique"]
    assert ids(outcome, 2) == ["facility.known"]
    assert ids(outcome, 3) == ["facility.registered_and_open"]
    assert ids(outcome, 4) == ["facility.registered_and_open"]


def test_unusually_high_value_is_a_warning_that_flags_the_row(runner):
    rows, files = batch({1: ("F1", "2026-10", [("F1", "2026-10", "1.1", "12"), ("F1", "2026-10", "9.1.3", "301")])})
    outcome = validate_batch(runner, rows, files, registry(), limits=LIMITS)
    assert ids(outcome, 1) == ["value.within_typical_max"]
    assert outcome.blocking_by_file() == {}
    assert outcome.flagged_rows == {(1, 3)}


def test_typical_maximum_is_looked_up_by_element_not_by_code(runner):
    # A CHC's 2.1 is institutional deliveries, the consolidation's element 2.2: its limit applies.
    # The consolidation's own 2.1 (home deliveries) has another limit, which must not be used.
    lines = [("F1", "2026-10", "2.1", "60")]
    rows, files = batch({1: ("F1", "2026-10", lines)})
    assert ids(validate_batch(runner, rows, files, registry(), limits={"2.2": 50, "2.1": 1000}), 1) == [
        "value.within_typical_max"]
    assert ids(validate_batch(runner, rows, files, registry(), limits={"2.2": 1000, "2.1": 50}), 1) == []


def test_attribution_holds_across_a_thousand_files(runner):
    files = {i: (f"F{1 + i % 2}", "2026-10", [(f"F{1 + i % 2}", "2026-10", "1.1", "5")]) for i in range(1, 1001)}
    files[737] = ("F2", "2026-10", [("F2", "2026-10", "1.1", "x")])
    rows, meta = batch(files)
    outcome = validate_batch(runner, rows, meta, registry(), limits=LIMITS)
    assert {f.file_id for f in outcome.findings} == {737}
    assert "'x'" in outcome.findings[0].message and "line 2" in outcome.findings[0].message
