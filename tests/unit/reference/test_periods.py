from datetime import datetime

import pytest

from hmis.reference.periods import (
    REPORTING_TZ,
    PeriodError,
    due_at,
    financial_year,
    open_periods,
    parse_period,
    shift_period,
)

pytestmark = pytest.mark.unit


def test_due_date_is_end_of_the_fifth_of_next_month_in_india():
    due = due_at("2026-10")
    assert due.tzinfo == REPORTING_TZ
    assert (due.year, due.month, due.day, due.hour, due.minute) == (2026, 11, 5, 23, 59)
    assert due_at("2026-12").date().isoformat() == "2027-01-05"


def test_configurable_due_day():
    assert due_at("2026-10", due_day=10).day == 10


def test_open_periods_are_the_last_complete_months():
    as_of = datetime(2026, 11, 27, 6, tzinfo=REPORTING_TZ)
    assert open_periods(as_of, 3) == ["2026-08", "2026-09", "2026-10"]
    jan = datetime(2027, 1, 2, 6, tzinfo=REPORTING_TZ)
    assert open_periods(jan, 2) == ["2026-11", "2026-12"]


def test_open_periods_use_india_time_not_utc():
    # 31 Oct 20:00 UTC is already 1 Nov in India: October is complete.
    as_of = datetime.fromisoformat("2026-10-31T20:00:00+00:00")
    assert open_periods(as_of, 1) == ["2026-10"]


def test_naive_moment_is_refused():
    with pytest.raises(ValueError):
        open_periods(datetime(2026, 11, 1), 3)


@pytest.mark.parametrize("bad", ["2026-13", "2026-1", "26-10", "2026/10", "", "2026-00"])
def test_bad_periods_are_refused(bad):
    with pytest.raises(PeriodError):
        parse_period(bad)


def test_shift_and_financial_year():
    assert shift_period("2026-01", -1) == "2025-12"
    assert shift_period("2026-11", 14) == "2028-01"
    assert financial_year("2026-03") == "2025-26"
    assert financial_year("2026-04") == "2026-27"
