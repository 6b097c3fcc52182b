"""Disease signals and ultrasound compliance end to end, and the privacy sweep.

Demo data with nine months of clean history goes through ``hmis_monthly`` (real Airflow,
real PostgreSQL, real SMTP on loopback), then through ``hmis_signals``. The generator knows
where it planted the dengue rise and which ultrasound lists fall short; the warehouse and
the mailbox must say the same, and no raw RCH ID may appear anywhere the pipeline writes.
"""

import csv
import hashlib
import hmac
import re
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from hmis.platform.settings import load_settings
from hmis.platform.warehouse import connect
from hmis.platform.warehouse import fetch_all as _rows
from hmis.reference.periods import REPORTING_TZ
from hmis_dev.airflow_runtime import run_dag
from hmis_dev.demo.generator import generate

pytestmark = pytest.mark.integration

AS_OF = datetime(2026, 11, 27, 6, 0, tzinfo=REPORTING_TZ)
HISTORY = 9
TEST_KEY = "test-only-pseudonym-key"
DIGIT_RUNS = re.compile(r"[0-9]{11,}")
# Runs of 11+ digits in text, except the fractional part of a decimal number: a float such as
# 2.888888888888889 in a mart is not an RCH ID, though it holds the planted ID 888888888888.
TEXT_DIGIT_RUNS = re.compile(r"(?<![0-9])(?<![0-9]\.)[0-9]{11,}")




def _run_signals_dag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(load_settings().root / "dags"))
    assert bag.import_errors == {}
    return bag.get_dag("hmis_signals").test(logical_date=AS_OF)


def _assert_success(dag_run):
    states = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
    assert str(dag_run.state).endswith("success"), states
    assert states and all(s.endswith("success") for s in states.values()), states


def test_signals_ultrasound_and_privacy_end_to_end(warehouse, mail_sink, landing, airflow_home, monkeypatch):
    """One run of both DAGs (about five minutes: a year of files) serves every check."""
    monkeypatch.setenv("HMIS_PSEUDONYM_KEY", TEST_KEY)
    truth = generate(landing, AS_OF, months=3, history_months=HISTORY)
    # In real life the history was loaded by earlier months' runs; here one run covers every period.
    monkeypatch.setenv("HMIS_OPEN_PERIODS", str(3 + HISTORY))
    _assert_success(run_dag(load_settings(), AS_OF))
    monkeypatch.setenv("HMIS_OPEN_PERIODS", "3")
    monthly_mails = len(mail_sink.messages())
    _assert_success(_run_signals_dag())

    _check_ultrasound_compliance(truth, landing)
    _check_privacy(landing, mail_sink, airflow_home)
    _check_signals_and_mail(truth, mail_sink, monthly_mails)


def _check_signals_and_mail(truth, mail_sink, monthly_mails):
    block_alarms = _rows("""SELECT DISTINCT area, item_code, period FROM marts.disease_signals
                             WHERE area_level = 'block' AND alarm ORDER BY 1, 2, 3""")
    assert block_alarms, "the planted rise was not found"
    # The rise was planted in one block on the two dengue elements: 11.3.1 (RDT positives) and
    # 14.4.2 (inpatients). Both alarm there in every planted month that is open.
    assert truth.signal_items == ("11.3.1", "14.4.2") and truth.signal_item == "11.3.1"
    open_periods = truth.periods[-3:]
    planted = {(item, period) for area, item, period in block_alarms
               if area == truth.signal_block and item in truth.signal_items}
    assert {period for _, period in planted} <= set(truth.signal_periods)
    for item in truth.signal_items:
        assert {(item, period) for period in open_periods} <= planted, (item, block_alarms)
    # C2 alarms in each planted month: its guard band keeps the rise out of its baseline.
    for item in truth.signal_items:
        c2 = _rows("""SELECT period FROM marts.disease_signals WHERE area_level = 'block' AND area = %s
                       AND item_code = %s AND method = 'C2' AND alarm ORDER BY 1""", (truth.signal_block, item))
        assert [p for (p,) in c2] == open_periods, item

    # Every block and the district have rows for every disease; alarms imply observed > bound.
    assert _rows("SELECT count(DISTINCT area) FROM marts.disease_signals WHERE area_level = 'block'") == [(9,)]
    assert _rows("""SELECT count(*) FROM marts.disease_signals
                     WHERE alarm AND NOT (observed > upper_bound AND observed >= 5)""") == [(0,)]

    # One e-mail per area, disease and open period with an alarm, to the surveillance officer.
    officer = _rows("SELECT email FROM ref.contact WHERE role = 'district_surveillance_officer'")[0][0]
    expected = _rows("""SELECT DISTINCT area_level, area, item_code, period FROM marts.disease_signals
                         WHERE alarm AND period = ANY(%s)""", (open_periods,))
    signal_mails = mail_sink.messages()[monthly_mails:]
    assert len(signal_mails) == len(expected)
    assert all(message["To"] == officer for message in signal_mails)
    # The planted rise's e-mails name the disease as the list of watched diseases does.
    names = {"11.3.1": "Dengue (RDT positive)", "14.4.2": "Dengue (inpatient)"}
    barwala = sorted(m["Subject"] for m in signal_mails
                     if m["Subject"].startswith("[HMIS signal] Dengue") and f"in {truth.signal_block} block" in m["Subject"])
    assert barwala == sorted(
        f"[HMIS signal] {names[item]} rising in {truth.signal_block} block (Hisar) — {_month(period)}"
        for item, period in planted if period in open_periods)
    assert len(barwala) == 2 * len(open_periods)
    assert Counter(m["Subject"] for m in signal_mails).most_common(1)[0][1] == 1
    ledger = _rows("SELECT count(*) FROM alerts.sent WHERE kind = 'disease_signal' AND status = 'sent'")
    assert ledger == [(len(expected),)]

    # A second run of the signals DAG sends nothing again.
    _assert_success(_run_signals_dag())
    assert len(mail_sink.messages()) == monthly_mails + len(expected)

    # And nowhere else: no other block alarms, on any disease, in any month (the generator
    # planted nothing else; every other value is seasonal and shared by all blocks). Checked
    # last, so that everything above is checked whatever this finds.
    elsewhere = [alarm for alarm in block_alarms
                 if alarm[0] != truth.signal_block or alarm[1] not in truth.signal_items]
    assert elsewhere == [], "block alarms where nothing was planted"


def _month(period: str) -> str:
    return datetime.strptime(period, "%Y-%m").strftime("%B %Y")


def _raw_line_lists(landing: Path) -> dict[str, list[dict]]:
    return {
        path.relative_to(landing).as_posix(): list(csv.DictReader(path.open(encoding="utf-8")))
        for path in sorted((landing / "ultrasound").rglob("*.csv"))
    }


def _check_ultrasound_compliance(truth, landing):
    stored = {(f, p): (scans, valid, below) for f, p, scans, valid, below in _rows(
        """SELECT facility_id, period, scans, scans_with_valid_rch, below_threshold
             FROM marts.ultrasound_compliance""")}
    assert stored == {key: (listing.scans, listing.valid, listing.below(truth.ultrasound_threshold))
                      for key, listing in truth.ultrasound.items()}
    below = sorted(key for key, value in stored.items() if value[2])
    assert below == truth.ultrasound_below_threshold() and 1 <= len({f for f, _ in below}) <= 2

    # Each row's problem is what the generator planted, and pseudonyms are HMACs of the raw IDs.
    kinds = {"missing": "rch.present", "eleven_digits": "rch.twelve_digits", "all_zeros": "rch.not_placeholder",
             "repeated_digit": "rch.not_placeholder", "test_value": "rch.not_placeholder",
             "duplicate_in_day": "rch.unique_in_day", "date_outside_period": "scan_date.in_period"}
    for key, listing in truth.ultrasound.items():
        problems = Counter(p for (p,) in _rows(
            "SELECT problem FROM ultrasound.scan WHERE facility_id = %s AND period = %s AND problem IS NOT NULL", key))
        planted = Counter()
        for kind, count in listing.problems.items():
            planted[kinds[kind]] += count
        assert problems == planted, key
    sample_key = next(iter(truth.ultrasound.values())).key
    raw = _raw_line_lists(landing)[sample_key]
    facility_id, period = sample_key.split("/")[2][:-4], sample_key.split("/")[1]
    pseudonyms = [p for (p,) in _rows("""SELECT rch_pseudonym FROM ultrasound.scan WHERE facility_id = %s
                                           AND period = %s ORDER BY row_no""", (facility_id, period))]
    assert pseudonyms == [hmac.new(TEST_KEY.encode(), r["rch_id"].encode(), hashlib.sha256).hexdigest()
                          if r["rch_id"] else None for r in raw]


def _text_files(folder: Path):
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            yield path, path.read_bytes().decode("utf-8", errors="replace")


def _check_privacy(landing, mail_sink, airflow_home):
    """Search every table, log and e-mail of the run for every raw RCH ID the generator wrote."""
    raw_ids = {row["rch_id"] for rows in _raw_line_lists(landing).values() for row in rows if row["rch_id"]}
    assert len(raw_ids) > 1000 and all(DIGIT_RUNS.fullmatch(value) for value in raw_ids)

    def leaks(text: str) -> set[str]:
        # Every raw ID is 11-12 digits, so it can only hide inside a run of 11+ digits.
        runs = set(TEXT_DIGIT_RUNS.findall(text))
        return {value for value in raw_ids for run in runs if value in run}

    # The detector itself works: it finds the IDs in the facilities' own files.
    sample = next((landing / "ultrasound").rglob("*.csv")).read_text(encoding="utf-8")
    assert leaks(sample)

    found: dict[str, set[str]] = {}
    tables = _rows("""SELECT table_schema, table_name FROM information_schema.tables
                       WHERE table_schema NOT IN ('pg_catalog', 'information_schema')
                         AND table_type IN ('BASE TABLE', 'VIEW') ORDER BY 1, 2""")
    assert ("ultrasound", "scan") in tables and ("marts", "disease_signals") in tables
    for schema, table in tables:
        conn = connect()
        try:
            with conn.cursor() as cur:
                from psycopg2 import sql

                cur.execute(sql.SQL("SELECT t::text FROM {} t").format(sql.Identifier(schema, table)))
                text = "\n".join(row[0] for row in cur.fetchall())
        finally:
            conn.close()
        if hits := leaks(text):
            found[f"{schema}.{table}"] = hits

    settings = load_settings()
    folders = [Path(airflow_home), settings.var_dir]
    checked_logs = 0
    for folder in folders:
        for path, text in _text_files(folder):
            if path.suffix in (".log", ".txt", ".json", ".csv", ".html", ".eml") or "log" in path.parts:
                checked_logs += 1
                if hits := leaks(text):
                    found[str(path)] = hits
    assert checked_logs > 0

    messages = mail_sink.messages()
    assert messages
    for number, message in enumerate(messages):
        text = "\n".join(str(part.get_content()) for part in message.walk() if not part.is_multipart())
        if hits := leaks(text + message.as_string()):
            found[f"e-mail {number}: {message['Subject']}"] = hits
    assert found == {}

