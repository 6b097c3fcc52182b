"""Provisional months are never alarmed: the same planted rise, provisional then complete.

Three blocks of Hisar report dengue (11.3.1) and outpatient visits every month of 2026;
Barwala's November count is three times the rest of the district's rate. On 2 December
November is not yet due (the marts class it provisional): the ``hmis_signals`` DAG (real
Airflow, real PostgreSQL, real SMTP on loopback) keeps the rise, marked provisional, with
no alarm and no e-mail; the report page and ``hmis signals --warehouse`` say so. On 6
December the marts class November complete: the same rise alarms and is e-mailed, once.
"""

import csv
import io
from datetime import datetime

import pytest

from hmis.cli.signals import main as signals_cli
from hmis.platform.settings import load_settings
from hmis.platform.warehouse import connect, migrate
from hmis.platform.warehouse import fetch_all as _rows
from hmis.reference.periods import REPORTING_TZ, due_at
from hmis.report.page import render_report

pytestmark = pytest.mark.integration

PROVISIONAL_AS_OF = datetime(2026, 12, 2, 6, 0, tzinfo=REPORTING_TZ)   # November not yet due
COMPLETE_AS_OF = datetime(2026, 12, 6, 6, 0, tzinfo=REPORTING_TZ)      # due 5 December, passed
PERIODS = [f"2026-{month:02d}" for month in range(1, 12)]
NOVEMBER = "2026-11"
BLOCKS = ("Barwala", "Hansi-I", "Adampur")
DENGUE, VISITS = "11.3.1", "14.2.1"
OFFICER = "dso.hisar@hisar.hmis.example"


def _cases(block: str, index: int, period: str) -> int:
    usual = 18 + (index * 7) % 5          # the same ordinary month-to-month wobble in every block
    return usual * 3 if (block, period) == ("Barwala", NOVEMBER) else usual


def _seed(conn) -> None:
    with conn, conn.cursor() as cur:
        cur.execute("""INSERT INTO ref.data_item (item_code, name, name_hi, section, unit, aggregation)
                       VALUES (%s, 'Dengue - RDT Test Positive', 'डेंगू', 'M11 NVBDCP (vector-borne diseases)',
                               'count', 'sum'),
                              (%s, 'OPD - Allopathic', 'ओपीडी', 'M14', 'count', 'sum')""", (DENGUE, VISITS))
        cur.execute("""INSERT INTO ref.contact (role, level, area, name, email, phone)
                       VALUES ('district_surveillance_officer', 'district', 'Hisar', 'Dr. DSO', %s, '')""",
                    (OFFICER,))
        for number, block in enumerate(BLOCKS):
            facility = f"F{number}"
            cur.execute(
                """INSERT INTO ref.facility (facility_id, name, facility_type, ownership, is_ayush, block, district,
                                             state, hmis_registered, registry_sha256, loaded_at)
                   VALUES (%s, %s, 'CHC', 'public', false, %s, 'Hisar', 'Haryana', true, 'x', %s)""",
                (facility, f"CHC {block}", block, PROVISIONAL_AS_OF))
            for index, period in enumerate(PERIODS):
                for item, value in ((DENGUE, _cases(block, index, period)), (VISITS, 5000)):
                    cur.execute("""INSERT INTO facts.monthly_value (facility_id, period, item_code, value, file_id,
                                                                    loaded_at)
                                   VALUES (%s, %s, %s, %s, 1, %s)""",
                                (facility, period, item, value, PROVISIONAL_AS_OF))
        _set_classes(cur, PROVISIONAL_AS_OF, november="provisional")


def _set_classes(cur, built_at: datetime, november: str) -> None:
    """The marts' reporting rates with their classes (what the marts build writes): every month
    complete but November, which is ``november``."""
    cur.execute("DELETE FROM marts.reporting_rates")
    for period in PERIODS:
        completeness = november if period == NOVEMBER else "complete"
        reported = 1 if completeness == "complete" else 0
        for level, area, expected in [("district", "Hisar", len(BLOCKS))] + [("block", b, 1) for b in BLOCKS]:
            got = expected if reported else 0
            cur.execute(
                """INSERT INTO marts.reporting_rates (level, district, area, period, expected, reported, on_time,
                                                      reporting_rate, on_time_rate, built_at, due_at, completeness)
                   VALUES (%s, 'Hisar', %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
                (level, area, period, expected, got, got, got / expected, got / expected, built_at,
                 due_at(period), completeness))


def _run_signals_dag(as_of: datetime):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(load_settings().root / "dags"))
    assert bag.import_errors == {}
    dag_run = bag.get_dag("hmis_signals").test(logical_date=as_of)
    states = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
    assert str(dag_run.state).endswith("success"), states
    assert states and all(s.endswith("success") for s in states.values()), states


def _barwala_november() -> list[tuple]:
    return _rows("""SELECT method, alarm, would_alarm, completeness FROM marts.disease_signals
                     WHERE area_level = 'block' AND area = 'Barwala' AND item_code = %s AND period = %s
                     ORDER BY method""", (DENGUE, NOVEMBER))


def _report(as_of: datetime) -> str:
    conn = connect()
    try:
        return render_report(conn, "Hisar", NOVEMBER, as_of)
    finally:
        conn.close()


def _signals_section(page: str) -> str:
    start = page.index('<section id="signals">')
    return page[start:page.index("</section>", start)]


def _listing(capsys) -> list[dict]:
    capsys.readouterr()
    assert signals_cli(["signals", "--warehouse", "--district", "Hisar", "--period", NOVEMBER]) == 0
    return list(csv.DictReader(io.StringIO(capsys.readouterr().out)))


def test_a_provisional_month_is_never_alarmed_and_the_same_rise_alarms_once_complete(
        warehouse, mail_sink, landing, airflow_home, monkeypatch, capsys):
    monkeypatch.setenv("HMIS_PSEUDONYM_KEY", "test-only-pseudonym-key")
    conn = connect()
    try:
        migrate(conn)
        _seed(conn)
    finally:
        conn.close()

    # 2 December: November is provisional. The rise is judged and kept, never alarmed or mailed.
    _run_signals_dag(PROVISIONAL_AS_OF)
    november = _barwala_november()
    assert november and {c for *_, c in november} == {"provisional"}
    assert not any(alarm for _, alarm, _, _ in november)
    assert any(would for _, _, would, _ in november), "the planted rise was not found"
    assert _rows("SELECT count(*) FROM marts.disease_signals WHERE alarm AND completeness = 'provisional'") == [(0,)]
    assert _rows("SELECT count(*) FROM marts.disease_signals WHERE period = %s AND alarm", (NOVEMBER,)) == [(0,)]
    assert mail_sink.messages() == []
    assert _rows("SELECT count(*) FROM alerts.sent WHERE kind = 'disease_signal'") == [(0,)]
    # Nothing planted elsewhere alarms in the complete months either (the ordinary wobble is shared).
    assert _rows("SELECT count(*) FROM marts.disease_signals WHERE alarm") == [(0,)]

    # The table itself refuses an alarm on a provisional month, whatever writes it.
    import psycopg2

    conn = connect()
    try:
        with pytest.raises(psycopg2.errors.CheckViolation), conn, conn.cursor() as cur:
            cur.execute("""UPDATE marts.disease_signals SET alarm = true
                            WHERE period = %s AND completeness = 'provisional'""", (NOVEMBER,))
    finally:
        conn.close()

    # The report page marks the month and the rise as provisional, in English and Hindi; no red bar.
    section = _signals_section(_report(PROVISIONAL_AS_OF))
    assert "November 2026 is provisional" in section and "नवंबर 2026 के आँकड़े अनंतिम हैं" in section
    assert '<tr class="provisional">' in section and "Barwala block" in section
    assert "rising, provisional: no alarm until the month is complete" in section
    assert "वृद्धि, अनंतिम" in section
    assert 'class="bar alarm"' not in section and '<td>alarm <span lang="hi">' not in section

    # ``hmis signals --warehouse`` lists it as provisional, never as an alarm.
    listing = [r for r in _listing(capsys) if (r["level"], r["area"], r["item_code"]) == ("block", "Barwala", DENGUE)]
    assert listing and {r["completeness"] for r in listing} == {"provisional"}
    assert {r["alarm"] for r in listing} <= {"false", ""} and "true" in {r["would_alarm"] for r in listing}
    rising = [r for r in listing if r["would_alarm"] == "true"]
    assert {r["signal"] for r in rising} == {"rising, provisional: no alarm until the month is complete"}
    assert {r["signal_hi"] for r in rising} == {"वृद्धि, अनंतिम: माह पूर्ण होने तक चेतावनी नहीं"}
    assert {r["disease"] for r in rising} == {"dengue (RDT positive)"}

    # 6 December: November is due and fully reported, so the marts class it complete.
    conn = connect()
    try:
        with conn, conn.cursor() as cur:
            _set_classes(cur, COMPLETE_AS_OF, november="complete")
    finally:
        conn.close()
    _run_signals_dag(COMPLETE_AS_OF)
    november = _barwala_november()
    assert {c for *_, c in november} == {"complete"}
    assert [(m, bool(a)) for m, a, _, _ in november] == [(m, bool(w)) for m, _, w, _ in november]
    assert any(alarm for _, alarm, _, _ in november)

    alarms = _rows("""SELECT DISTINCT area_level, area, item_code, period FROM marts.disease_signals
                       WHERE alarm ORDER BY 1, 2""")
    assert ("block", "Barwala", DENGUE, NOVEMBER) in alarms
    assert {period for *_, period in alarms} == {NOVEMBER}
    messages = mail_sink.messages()
    assert len(messages) == len(alarms) and all(m["To"] == OFFICER for m in messages)
    assert "[HMIS signal] Dengue (RDT positive) rising in Barwala block (Hisar) — November 2026" in {
        m["Subject"] for m in messages}

    # The page and the listing now call it an alarm, with no provisional mark.
    section = _signals_section(_report(COMPLETE_AS_OF))
    assert "is provisional" not in section and '<tr class="provisional">' not in section
    assert 'class="bar alarm"' in section and '<td>alarm <span lang="hi">/ चेतावनी</span></td>' in section
    listing = [r for r in _listing(capsys) if (r["level"], r["area"], r["item_code"]) == ("block", "Barwala", DENGUE)]
    assert {r["completeness"] for r in listing} == {"complete"}
    assert "alarm" in {r["signal"] for r in listing if r["alarm"] == "true"}

    # A re-run sends nothing again.
    _run_signals_dag(COMPLETE_AS_OF)
    assert len(mail_sink.messages()) == len(alarms)
