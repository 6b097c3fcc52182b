"""Compliance status edge cases: the deadline minute, resubmissions, closed facilities."""

from datetime import date, datetime

import pandas as pd
import pytest

from hmis.compliance.status import Submission, compute_statuses, status_for
from hmis.reference.periods import REPORTING_TZ

pytestmark = pytest.mark.unit

IST = REPORTING_TZ
LATER = datetime(2026, 11, 27, 6, tzinfo=IST)


def at(day, hour, minute, month=11):
    return datetime(2026, month, day, hour, minute, tzinfo=IST)


def test_submitted_at_2359_on_the_fifth_is_on_time():
    s = status_for("F1", "2026-10", [Submission(1, at(5, 23, 59), "loaded")], LATER)
    assert s.status == "on_time"
    assert s.submitted_at == at(5, 23, 59)


def test_submitted_at_0001_on_the_sixth_is_late():
    assert status_for("F1", "2026-10", [Submission(1, at(6, 0, 1), "loaded")], LATER).status == "late"


def test_resubmission_after_deadline_keeps_on_time_from_first_good_file():
    files = [Submission(1, at(3, 10, 0), "superseded"), Submission(2, at(9, 10, 0), "loaded")]
    s = status_for("F1", "2026-10", files, LATER)
    assert (s.status, s.submitted_at, s.file_id) == ("on_time", at(3, 10, 0), 1)


def test_rejected_on_time_then_corrected_late_is_late():
    files = [Submission(1, at(2, 9, 0), "rejected"), Submission(2, at(8, 9, 0), "loaded")]
    assert status_for("F1", "2026-10", files, LATER).status == "late"


def test_only_rejected_files_is_rejected():
    files = [Submission(1, at(2, 9, 0), "rejected"), Submission(2, at(3, 9, 0), "rejected")]
    s = status_for("F1", "2026-10", files, LATER)
    assert (s.status, s.file_id) == ("rejected", 2)


def test_nothing_before_due_is_pending_and_after_is_missing():
    assert status_for("F1", "2026-10", [], at(5, 12, 0)).status == "pending"
    assert status_for("F1", "2026-10", [], at(6, 0, 0)).status == "missing"


def test_files_arriving_after_as_of_do_not_count():
    files = [Submission(1, at(7, 9, 0), "loaded")]
    assert status_for("F1", "2026-10", files, at(6, 6, 0)).status == "missing"


def _registry(**overrides):
    base = {"facility_id": "F1", "hmis_registered": True, "hmis_registered_on": date(2020, 1, 1),
            "opened_on": date(2010, 1, 1), "closed_on": None}
    base.update(overrides)
    return pd.DataFrame([base])


NO_FILES = pd.DataFrame(columns=["facility_id", "period", "file_id", "submitted_at", "status"])


def test_facility_closed_mid_period_is_still_expected_for_that_period():
    reg = _registry(closed_on=date(2026, 10, 15))
    periods = ["2026-09", "2026-10", "2026-11"]
    result = compute_statuses(reg, NO_FILES, periods, datetime(2026, 12, 27, 6, tzinfo=IST))
    assert [(s.period, s.status) for s in result] == [("2026-09", "missing"), ("2026-10", "missing")]


def test_unregistered_or_not_yet_registered_facilities_are_not_expected():
    assert compute_statuses(_registry(hmis_registered=False), NO_FILES, ["2026-10"], LATER) == []
    late_reg = _registry(hmis_registered_on=date(2026, 11, 2))
    assert compute_statuses(late_reg, NO_FILES, ["2026-10"], LATER) == []
    mid_reg = _registry(hmis_registered_on=date(2026, 10, 20))
    assert [s.status for s in compute_statuses(mid_reg, NO_FILES, ["2026-10"], LATER)] == ["missing"]
