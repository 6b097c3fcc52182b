"""The whole DAG through real Airflow (``dag.test()``) against a real warehouse and SMTP.

The demo generator knows what it intended — each facility's status, the values that must
end up loaded — and the warehouse must hold exactly that.
"""

import csv
import hashlib
import io
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from psycopg2 import sql

from hmis.platform.settings import load_settings
from hmis.platform.warehouse import connect
from hmis.platform.warehouse import fetch_all as _rows
from hmis.reference.formats import load_catalogue
from hmis.reference.periods import REPORTING_TZ
from hmis_dev.airflow_runtime import run_dag
from hmis_dev.demo.generator import generate

AS_OF = datetime(2026, 11, 27, 6, 0, tzinfo=REPORTING_TZ)
CHECKED_TABLES = [
    "ref.facility", "ingest.file", "facts.monthly_value", "dq.result", "compliance.facility_status",
    "marts.district_monthly", "marts.state_monthly", "marts.reporting_rates", "alerts.sent", "ingest.run",
    "alerts.sent_facility", "compliance.registration_gap", "ref.facility_version", "marts.block_monthly",
    "marts.monthly_by_group", "marts.indicator_monthly", "dq.feedback", "dq.completeness",
]

pytestmark = pytest.mark.integration




def _table_checksums() -> dict[str, str]:
    """A digest of every row of every table, in a stable order."""
    sums = {}
    for table in CHECKED_TABLES:
        schema, name = table.split(".")
        conn = connect()
        try:
            with conn.cursor() as cur:
                cur.execute(sql.SQL("SELECT t::text FROM {} t ORDER BY 1").format(sql.Identifier(schema, name)))
                rows = cur.fetchall()
        finally:
            conn.close()
        sums[table] = hashlib.sha256("\n".join(r[0] for r in rows).encode()).hexdigest()
    return sums


def _assert_all_tasks_succeeded(dag_run, unchanged_marts: bool = False):
    """Every task succeeded; on a run with nothing new, the marts are skipped (the export runs and
    finds nothing owed)."""
    assert str(dag_run.state).endswith("success")
    states = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
    skipped = {"marts"} if unchanged_marts else set()
    assert states and all(s.endswith("skipped" if t in skipped else "success") for t, s in states.items()), states


@pytest.fixture
def first_run(warehouse, mail_sink, landing, airflow_home):
    truth = generate(landing, AS_OF, months=3)
    dag_run = run_dag(load_settings(), AS_OF)
    return truth, dag_run


def test_statuses_values_marts_and_alerts_match_the_generator(first_run, mail_sink):
    truth, dag_run = first_run
    _assert_all_tasks_succeeded(dag_run)

    # Compliance: one row per registered facility and period, with the intended status.
    stored = {(f, p): s for f, p, s in _rows("SELECT facility_id, period, status FROM compliance.facility_status")}
    assert stored == truth.status
    for period in truth.periods:
        assert sum(1 for (_f, p) in stored if p == period) == 266

    # Facts: exactly the values of each facility-period's newest valid file, keyed by data
    # element and disaggregation; counts and stock figures as numbers, statuses, dates and
    # percentages as the text sent; each in the format the facility's type reports on.
    loaded, formats = defaultdict(dict), {}
    for f, p, item, sub, value, text, format_id in _rows(
            """SELECT facility_id, period, item_code, disaggregation, value, value_text, format_id
                 FROM facts.monthly_value"""):
        loaded[(f, p)][(item, sub)] = value if value is not None else text
        formats[(f, p)] = format_id
    assert dict(loaded) == truth.values
    assert formats == truth.formats
    # Each value keeps the facility's own code, which its format places on the element; text
    # values (statuses, dates, percentages) are never added up.
    assert _rows("""SELECT count(*) FROM facts.monthly_value v LEFT JOIN ref.format_item i
                       ON i.format_id = v.format_id AND i.item_code = v.format_code
                    WHERE i.data_element IS DISTINCT FROM v.item_code""") == [(0,)]
    assert _rows("""SELECT aggregation, count(*) > 0 FROM facts.monthly_value WHERE value IS NULL
                    GROUP BY 1""") == [("none", True)]

    # District mart: sums of the accepted numbers (never statuses, dates or percentages) per
    # element and disaggregation, facilities reporting, and facilities expected: the expected
    # reporters whose type's format holds the item.
    expected_sum, reporting = Counter(), Counter()
    for (_f, period), values in truth.values.items():
        for key, value in values.items():
            if isinstance(value, int):
                expected_sum[(period, *key)] += value
                reporting[(period, *key)] += 1
    types = dict(_rows("SELECT facility_id, facility_type FROM ref.facility"))
    catalogue = load_catalogue()
    expected_by_item = Counter()
    for (f, period) in truth.status:
        for element in {i.element for i in catalogue.expected_items(types[f], period)}:
            expected_by_item[(period, element)] += 1
    mart = {(p, i, d): (v, r, e) for p, i, d, v, r, e in _rows(
        """SELECT period, item_code, disaggregation, value, facilities_reporting, facilities_expected
             FROM marts.district_monthly""")}
    assert {k: v[0] for k, v in mart.items()} == dict(expected_sum)
    assert {k: v[1] for k, v in mart.items()} == dict(reporting)
    assert {k: v[2] for k, v in mart.items()} == {k: expected_by_item[k[:2]] for k in mart}
    assert all(0 < e <= 266 for _v, _r, e in mart.values())
    state = _rows("SELECT period, item_code, disaggregation, value FROM marts.state_monthly")
    assert {(p, i, d): v for p, i, d, v in state} == dict(expected_sum)

    # Reporting rates at every level agree with the intended statuses.
    for period in truth.periods:
        statuses = Counter(s for (_f, p), s in truth.status.items() if p == period)
        rows = _rows("""SELECT expected, reported, on_time, reporting_rate FROM marts.reporting_rates
                         WHERE level = 'district' AND area = 'Hisar' AND period = %s""", (period,))
        reported = statuses["on_time"] + statuses["late"]
        assert rows == [(266, reported, statuses["on_time"], Decimal(reported / 266).quantize(Decimal("0.0001")))]
        blocks = _rows("SELECT sum(expected) FROM marts.reporting_rates WHERE level = 'block' AND period = %s",
                       (period,))
        assert blocks == [(266,)]

    # Every rejected file is quarantined with a reason, and dq.result explains it.
    rejected = _rows("""SELECT f.file_id, f.reason, f.quarantine_key, count(r.result_id)
                          FROM ingest.file f LEFT JOIN dq.result r USING (file_id)
                         WHERE f.status = 'rejected' GROUP BY 1, 2, 3""")
    broken = [f for f in truth.files if not f.valid]
    assert len(rejected) == len(broken) > 0
    for _id, reason, quarantine_key, results in rejected:
        assert reason and quarantine_key and results >= 1
    # The officer alerts: 3 weeks after the deadline only the state rung of the ladder is due
    # (one per period), plus the monthly registration-gap digest.
    messages = mail_sink.messages()
    assert len(messages) == len(truth.periods) + 1
    state_cell = _rows("SELECT email FROM ref.contact WHERE role = 'state_hmis_cell'")[0][0]
    ladder = [m for m in messages if "not submitted" in m["Subject"]]
    assert len(ladder) == len(truth.periods)
    for message in ladder:
        period = next(p for p in truth.periods if _month(p) in message["Subject"])
        defaulters = {f for (f, p), s in truth.status.items() if p == period and s in ("missing", "rejected")}
        assert message["Subject"].startswith(f"[HMIS] Hisar — {len(defaulters)} facilities have not submitted")
        assert message["To"] == state_cell
        parts = {part.get_content_type(): part for part in message.walk()}
        assert "text/plain" in parts and "text/html" in parts
        assert "एचएमआईएस" in parts["text/plain"].get_content()
        attachment = next(p for p in message.iter_attachments() if p.get_filename().endswith(".csv"))
        assert {r["facility_id"] for r in csv.DictReader(io.StringIO(attachment.get_content()))} == defaulters
    (gap,) = [m for m in messages if "not registered on HMIS" in m["Subject"]]
    assert gap["To"] == _district_officer(landing_root=None)
    rows = csv.DictReader(io.StringIO(next(gap.iter_attachments()).get_content()))
    assert {r["facility_id"] for r in rows} == set(truth.unregistered_ids)


def _district_officer(landing_root) -> str:
    return _rows("SELECT email FROM ref.contact WHERE role = 'district_nodal_officer'")[0][0]


def _month(period: str) -> str:
    return datetime.strptime(period, "%Y-%m").strftime("%B %Y")


def test_rerun_changes_nothing_and_sends_nothing(first_run, mail_sink):
    _truth, dag_run = first_run
    _assert_all_tasks_succeeded(dag_run)
    before, mails = _table_checksums(), len(mail_sink.messages())
    again = run_dag(load_settings(), AS_OF)
    _assert_all_tasks_succeeded(again, unchanged_marts=True)
    assert _table_checksums() == before
    assert len(mail_sink.messages()) == mails


def test_late_submission_next_day_turns_missing_into_late(first_run, landing, mail_sink):
    truth, _ = first_run
    period = truth.periods[-1]
    facility = sorted(f for (f, p), s in truth.status.items() if p == period and s == "missing")[0]
    arrived = AS_OF + timedelta(hours=3)
    path = landing / "submissions" / period / f"{facility}.csv"
    path.write_text(f"facility_id,period,item_code,value\n{facility},{period},1.1,7\n", encoding="utf-8")
    import os

    os.utime(path, (arrived.timestamp(), arrived.timestamp()))
    next_day = AS_OF + timedelta(days=1)
    _assert_all_tasks_succeeded(run_dag(load_settings(), next_day))
    assert _rows("SELECT status FROM compliance.facility_status WHERE facility_id = %s AND period = %s",
                 (facility, period)) == [("late",)]
    assert _rows("SELECT value FROM facts.monthly_value WHERE facility_id = %s AND period = %s AND item_code = '1.1'",
                 (facility, period)) == [(7,)]
