"""Provisional months are judged, kept and never alarmed; their class comes from the marts."""

from datetime import datetime

import pandas as pd
import pytest

from hmis.i18n.glossary import term
from hmis.notify.signal_alerts import plan_signal_alerts
from hmis.platform.warehouse import sql_file, statement
from hmis.reference.periods import REPORTING_TZ
from hmis.signals import completeness
from hmis.signals.alarms import Alarm, MethodResult
from hmis.signals.completeness import (
    ALARM,
    COMPLETE,
    NO_ALARM,
    NOT_JUDGED,
    PROVISIONAL,
    PROVISIONAL_RISE,
    apply_classes,
    load_classes,
    state,
)
from hmis.signals.series import COMPUTED_COLUMNS, COUNT_COLUMNS, compute_signals

pytestmark = pytest.mark.unit

AS_OF = datetime(2026, 12, 2, 6, 0, tzinfo=REPORTING_TZ)
PERIODS = [f"2026-{month:02d}" for month in range(1, 12)]   # January .. November


def _counts(rise_at: str) -> pd.DataFrame:
    """Barwala's dengue at the rest of the district's rate every month but ``rise_at``, tripled there."""
    rows = []
    for period in PERIODS:
        rows += [("Hisar", "Barwala", period, "11.3.1", 60 if period == rise_at else 20, 5000),
                 ("Hisar", "Hansi-I", period, "11.3.1", 20, 5000),
                 ("Hisar", "Adampur", period, "11.3.1", 20, 5000)]
    return pd.DataFrame(rows, columns=COUNT_COLUMNS)


def _classes(provisional: set[str]) -> dict:
    """Every block- and district-month complete except the ``provisional`` periods."""
    areas = [("district", "Hisar"), ("block", "Barwala"), ("block", "Hansi-I"), ("block", "Adampur")]
    return {(level, "Hisar", area, period): PROVISIONAL if period in provisional else COMPLETE
            for level, area in areas for period in PERIODS}


def _barwala(signals: pd.DataFrame, period: str) -> pd.DataFrame:
    return signals[(signals["area"] == "Barwala") & (signals["period"] == period)]


def test_the_same_rise_alarms_in_a_complete_month_and_not_in_a_provisional_one():
    raw = compute_signals(_counts("2026-11"))
    assert set(raw.columns) == set(COMPUTED_COLUMNS)
    assert _barwala(raw, "2026-11")["alarm"].fillna(False).astype(bool).any(), "the planted rise is found"

    complete = apply_classes(raw, _classes(set()))
    november = _barwala(complete, "2026-11")
    assert set(november["completeness"]) == {COMPLETE}
    assert november["alarm"].fillna(False).astype(bool).any()
    assert (november["alarm"].fillna(False).astype(bool) == november["would_alarm"].fillna(False).astype(bool)).all()

    provisional = apply_classes(raw, _classes({"2026-11"}))
    november = _barwala(provisional, "2026-11")
    assert set(november["completeness"]) == {PROVISIONAL}
    # Judged and kept: the method's verdict is there, the alarm is not.
    assert november["would_alarm"].fillna(False).astype(bool).any()
    assert not november["alarm"].fillna(False).astype(bool).any()
    # False where the method judged, missing only where it could not.
    assert (november["alarm"].isna() == november["would_alarm"].isna()).all()
    # Earlier, complete months are untouched.
    assert (provisional[provisional["period"] != "2026-11"]["alarm"].fillna(False).astype(bool)
            == complete[complete["period"] != "2026-11"]["alarm"].fillna(False).astype(bool)).all()


def test_an_area_month_the_marts_do_not_class_is_provisional():
    signals = apply_classes(compute_signals(_counts("2026-11")), {})
    assert set(signals["completeness"]) == {PROVISIONAL}
    assert not signals["alarm"].fillna(False).astype(bool).any()


def test_a_block_takes_its_own_class_and_the_district_its_own():
    classes = _classes(set())
    classes[("block", "Hisar", "Barwala", "2026-11")] = PROVISIONAL
    signals = apply_classes(compute_signals(_counts("2026-11")), classes)
    november = signals[signals["period"] == "2026-11"]
    by_area = dict(zip(november["area"], november["completeness"]))
    assert by_area == {"Barwala": PROVISIONAL, "Hansi-I": COMPLETE, "Adampur": COMPLETE, "Hisar": COMPLETE}


def test_provisional_months_stay_in_the_baseline():
    # October provisional (a short month after its due date) does not stop November being judged.
    signals = apply_classes(compute_signals(_counts("2026-11")), _classes({"2026-10"}))
    november = _barwala(signals, "2026-11")
    assert set(november["completeness"]) == {COMPLETE} and november["alarm"].fillna(False).astype(bool).any()


def test_an_empty_frame_gets_the_columns():
    signals = apply_classes(compute_signals(pd.DataFrame(columns=COUNT_COLUMNS)), {})
    assert signals.empty and {"completeness", "would_alarm", "alarm"} <= set(signals.columns)


@pytest.mark.parametrize(("alarm", "would", "klass", "expected"), [
    (True, True, COMPLETE, ALARM),
    (False, True, PROVISIONAL, PROVISIONAL_RISE),
    (False, False, PROVISIONAL, NO_ALARM),
    (False, False, COMPLETE, NO_ALARM),
    (None, None, PROVISIONAL, NOT_JUDGED),
    (None, None, COMPLETE, NOT_JUDGED),
])
def test_states_and_their_words(alarm, would, klass, expected):
    assert state(alarm, would, klass) == expected
    words = term(expected)
    assert words.en and words.hi and words.en != words.hi


def test_the_glossary_words_provisional_months():
    assert term("provisional").hi == "अनंतिम" and term("complete").hi == "पूर्ण"
    assert "provisional" in term(PROVISIONAL_RISE).en and "अनंतिम" in term(PROVISIONAL_RISE).hi
    assert "alarm" not in term(PROVISIONAL_RISE).en.split(":")[0]


class _Cursor:
    def __init__(self, conn):
        self.conn = conn

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def execute(self, sql, params=None):
        self.conn.calls.append((sql, params))

    def fetchall(self):
        return self.conn.rows


class _Conn:
    def __init__(self, rows):
        self.rows, self.calls, self.rolled_back = rows, [], False

    def cursor(self):
        return _Cursor(self)

    def rollback(self):
        self.rolled_back = True


def test_classes_are_read_from_the_reporting_rates_as_of_the_run():
    conn = _Conn([("block", "Hisar", "Barwala", "2026-10", COMPLETE), ("district", "Hisar", "Hisar", "2026-11",
                                                                        PROVISIONAL)])
    assert load_classes(conn, AS_OF) == {("block", "Hisar", "Barwala", "2026-10"): COMPLETE,
                                         ("district", "Hisar", "Hisar", "2026-11"): PROVISIONAL}
    [(sql, params)] = conn.calls
    assert params == {"as_of": AS_OF} and conn.rolled_back
    assert sql == statement(completeness.SQL, "classes")
    # The marts' class, and never complete before the due date of the run's moment.
    assert "marts.reporting_rates" in sql and "completeness = 'complete'" in sql and "%(as_of)s > due_at" in sql


def test_alarm_e_mails_read_complete_months_only():
    sql = sql_file("notify/signal_alarms.sql")
    assert "s.completeness = 'complete'" in sql and "bool_or(s.alarm)" in sql


def test_the_plan_never_mails_a_provisional_month():
    methods = (MethodResult("C2", 20.0, 40.0, True),)
    complete = Alarm("block", "Hisar", "Barwala", "11.3.1", "Dengue", "डेंगू", "2026-10", 60, methods)
    provisional = Alarm("block", "Hisar", "Barwala", "11.3.1", "Dengue", "डेंगू", "2026-11", 60, methods,
                        PROVISIONAL)
    planned, unrouted = plan_signal_alerts([complete, provisional], {"Hisar": ["dso@example"]})
    assert planned == [(complete, "dso@example")] and unrouted == []
