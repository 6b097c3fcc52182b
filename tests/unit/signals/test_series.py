"""Disease series are selected by the list of watched diseases, by element and TOTAL, from sql/signals."""

import pandas as pd
import pytest

from hmis.platform.warehouse import statement
from hmis.reference.diseases import disease_elements
from hmis.signals import series
from hmis.signals.series import COUNT_COLUMNS, VISIT_ELEMENTS, compute_signals, load_counts

pytestmark = pytest.mark.unit


class FakeCursor:
    def __init__(self, rows, calls):
        self.rows, self.calls = rows, calls

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def execute(self, sql, params):
        self.calls.append((sql, params))

    def fetchall(self):
        return self.rows


class FakeConn:
    def __init__(self, rows):
        self.rows, self.calls, self.rolled_back = rows, [], False

    def cursor(self):
        return FakeCursor(self.rows, self.calls)

    def rollback(self):
        self.rolled_back = True


def test_counts_statement_selects_elements_of_the_list_and_plain_counts():
    sql = statement("signals/series.sql", "counts")
    assert "%(elements)s" in sql and "%(visit_elements)s" in sql
    assert sql.count("disaggregation = 'TOTAL'") == 2   # diseases and visits alike
    # The old selection by catalogue section is gone (ref.data_item has no DISEASE_OPD).
    assert "section" not in sql and "ref.data_item" not in sql
    assert not hasattr(series, "_COUNTS_SQL") and not hasattr(series, "DISEASE_SECTION")


def test_load_counts_passes_the_list_and_the_visit_elements():
    conn = FakeConn([("Hisar", "Barwala", "2026-10", "11.3.1", 17, 4200)])
    counts = load_counts(conn)
    [(sql, params)] = conn.calls
    assert sql == statement("signals/series.sql", "counts")
    assert params == {"elements": list(disease_elements()), "visit_elements": ["14.2.1", "14.2.2"]}
    assert VISIT_ELEMENTS == ("14.2.1", "14.2.2")
    assert conn.rolled_back
    assert list(counts.columns) == COUNT_COLUMNS
    assert counts.to_dict("records") == [{"district": "Hisar", "block": "Barwala", "period": "2026-10",
                                          "item_code": "11.3.1", "observed": 17, "visits": 4200}]


def test_series_are_built_per_area_and_disease_from_the_frame():
    periods = [f"2026-{month:02d}" for month in range(1, 13)]
    rows = []
    for index, period in enumerate(periods):
        rows += [("Hisar", "Barwala", period, "11.3.1", 30 if index == 11 else 10, 5000),
                 ("Hisar", "Hansi-I", period, "11.3.1", 10, 5000),
                 ("Hisar", "Barwala", period, "14.4.1", 2, 5000)]
    signals = compute_signals(pd.DataFrame(rows, columns=COUNT_COLUMNS))
    assert set(signals["item_code"]) == {"11.3.1", "14.4.1"}
    assert set(zip(signals["area_level"], signals["area"])) == {
        ("district", "Hisar"), ("block", "Barwala"), ("block", "Hansi-I")}
    december = signals[(signals["period"] == "2026-12") & (signals["item_code"] == "11.3.1")
                       & (signals["method"] == "C1")]
    alarmed = {(r.area_level, r.area) for r in december.itertuples() if r.alarm}
    assert ("block", "Barwala") in alarmed and ("block", "Hansi-I") not in alarmed
    # Two cases a month never alarm (min_count 5), whatever the series does.
    assert not signals[signals["item_code"] == "14.4.1"]["alarm"].fillna(False).astype(bool).any()
