"""Nothing lost, nothing twice: re-runs, killed workers, terminated connections, two runs at
once and backfills, against the real warehouse.

A stage whose worker dies is run for real in a child process and killed there. To kill it
*during* the load's INSERT, and not before or after, an open transaction in the test holds
an uncommitted row with the key of one of the rows the load will write: the INSERT writes
the rows before it and then waits at that row, mid-statement, where the test finds it in
``pg_stat_activity`` and kills it. Every recovery is compared with a clean run of the same
files in a second database, table by table.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg2
import pytest
from psycopg2 import sql

from hmis.pipeline import monthly as tasks
from hmis.pipeline.run import Run, run_key
from hmis.platform.settings import load_settings
from hmis.platform.warehouse import connect, migrate
from hmis.reference.periods import REPORTING_TZ, due_at
from hmis_dev.airflow_runtime import run_dag
from hmis_dev.demo.generator import generate
from hmis_dev.services import postgres

pytestmark = pytest.mark.integration

AS_OF = datetime(2026, 11, 27, 6, 0, tzinfo=REPORTING_TZ)
PERIOD = "2026-10"
SCHEMAS = ("ref", "ingest", "facts", "dq", "compliance", "marts", "alerts", "ultrasound", "public")
# Columns that describe the machine rather than the data: how long a validation took, and
# the real times the audit columns keep beside the logical ones (when a migration, a ledger
# row, a publication, a debt to the state, a sent alert or a run's execution happened).
VOLATILE = {("dq", "validation_run", "seconds"), ("public", "schema_migration", "applied_at"),
            ("ingest", "file", "recorded_at"), ("ingest", "file", "settled_at"),
            ("marts", "publication", "published_at"), ("marts", "export_owed", "owed_at"),
            ("marts", "export_owed", "settled_at"), ("alerts", "sent", "sent_clock_at"),
            ("ingest", "run_history", "finished_at")}
INGEST = ("prepare", "discover", "parse", "validate", "load", "update_compliance", "build_marts")
EVERY_STAGE = INGEST + ("export_marts", "notify_officers", "summarise")
STAGE_SCRIPT = """
import logging, sys
from datetime import datetime
logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s %(message)s")
from hmis.pipeline import monthly as tasks
from hmis.pipeline.run import Run
as_of = datetime.fromisoformat(sys.argv[1])
for stage in sys.argv[2:]:
    print(stage, getattr(tasks, stage)(Run.at(as_of)), flush=True)
"""


# --------------------------------------------------------------------------- helpers


def rows(query, params=()):
    conn = connect()
    try:
        with conn.cursor() as cur:
            cur.execute(query, params)
            return cur.fetchall() if cur.description else None
    finally:
        conn.commit()
        conn.close()


def checksums() -> dict[str, str]:
    """A digest of every row of every table of the warehouse, in a stable order."""
    conn = connect()
    try:
        with conn.cursor() as cur:
            cur.execute(
                """SELECT c.table_schema, c.table_name, array_agg(c.column_name::text ORDER BY c.ordinal_position)
                     FROM information_schema.columns c
                     JOIN information_schema.tables t USING (table_schema, table_name)
                    WHERE c.table_schema = ANY(%s) AND t.table_type = 'BASE TABLE'
                    GROUP BY 1, 2 ORDER BY 1, 2""",
                (list(SCHEMAS),),
            )
            tables = cur.fetchall()
            sums = {}
            for schema, name, columns in tables:
                kept = [col for col in columns if (schema, name, col) not in VOLATILE]
                cur.execute(sql.SQL("SELECT ROW({})::text FROM {} ORDER BY 1").format(
                    sql.SQL(", ").join(map(sql.Identifier, kept)), sql.Identifier(schema, name)))
                sums[f"{schema}.{name}"] = hashlib.sha256("\n".join(r[0] for r in cur).encode()).hexdigest()
        return sums
    finally:
        conn.close()


def run_stages(as_of: datetime, stages=INGEST) -> dict:
    return {stage: getattr(tasks, stage)(Run.at(as_of)) for stage in stages}


def assert_ledger_in_step() -> None:
    """Facts and ledger agree: loaded values come from loaded files only, every loaded file is
    loaded whole, one per facility-period, and files waiting to load still have their rows staged."""
    assert rows("""SELECT count(*) FROM facts.monthly_value v JOIN ingest.file f USING (file_id)
                    WHERE f.status <> 'loaded' OR f.facility_id <> v.facility_id OR f.period <> v.period""") == [(0,)]
    assert rows("""SELECT f.file_id, f.row_count, count(v.*) FROM ingest.file f
                     LEFT JOIN facts.monthly_value v USING (file_id)
                    WHERE f.status = 'loaded' GROUP BY 1, 2 HAVING count(v.*) <> f.row_count""") == []
    assert rows("""SELECT facility_id, period FROM ingest.file WHERE status = 'loaded'
                    GROUP BY 1, 2 HAVING count(*) > 1""") == []
    assert rows("""SELECT facility_id, period FROM facts.monthly_value GROUP BY 1, 2
                    HAVING count(DISTINCT file_id) > 1""") == []
    assert rows("""SELECT f.file_id FROM ingest.file f LEFT JOIN ingest.staged_value s USING (file_id)
                    WHERE f.status IN ('parsed', 'accepted') GROUP BY f.file_id, f.row_count
                   HAVING count(s.*) <> f.row_count""") == []


def wait_for(probe, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def backends(stage: str, as_of: datetime = AS_OF) -> list[tuple]:
    """(pid, wait_event_type, wait_event, query) of the sessions of one stage of one run."""
    name = f"hmis-pipeline {stage} {run_key(as_of)}"[:63]
    return rows("""SELECT pid, wait_event_type, wait_event, query FROM pg_stat_activity
                    WHERE datname = current_database() AND application_name = %s""", (name,))


def without_comments(query: str) -> str:
    """A statement's text without its leading ``--`` comment lines (named statements in sql/
    keep the comments written above them, and PostgreSQL shows the text as sent)."""
    lines = query.lstrip().splitlines()
    while lines and lines[0].lstrip().startswith("--"):
        lines.pop(0)
    return "\n".join(lines).lstrip()


def inserting_and_blocked(as_of: datetime = AS_OF) -> list[tuple]:
    return [b for b in backends("load", as_of)
            if b[1] == "Lock" and without_comments(b[3]).replace('"', "").startswith("INSERT INTO facts.monthly_value")]


class Worker:
    """Stages of one logical date run in a child process, as an Airflow worker would run them.
    Output goes to files, so a worker never blocks on a full pipe while another waits for it."""

    def __init__(self, stages: tuple[str, ...], as_of: datetime = AS_OF, **env):
        self._out, self._err = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")
        self.process = subprocess.Popen([sys.executable, "-c", STAGE_SCRIPT, as_of.isoformat(), *stages],
                                        env={**os.environ, **env}, stdout=self._out, stderr=self._err, text=True)
        self.pid = self.process.pid

    def finish(self, timeout: float = 120) -> tuple[int, str, str]:
        code = self.process.wait(timeout=timeout)
        texts = []
        for stream in (self._out, self._err):
            stream.seek(0)
            texts.append(stream.read())
            stream.close()
        return code, texts[0], texts[1]


def hold_a_row_the_load_will_write():
    """An open transaction with an uncommitted facts row whose key the load is about to write
    (the last staged row of a file that will win), so the load's INSERT stops there. Facts are
    keyed by data element and disaggregation, so the staged code is placed by the file's format
    on its element, and its sub-item (none: TOTAL) is the disaggregation."""
    conn = connect()
    with conn.cursor() as cur:
        cur.execute("""SELECT s.file_id, f.facility_id, f.period, i.data_element,
                              CASE WHEN coalesce(s.sub_item, '') IN ('', 'TOTAL') THEN 'TOTAL' ELSE s.sub_item END
                         FROM ingest.staged_value s JOIN ingest.file f USING (file_id)
                         JOIN ref.format_item i ON i.format_id = f.format_id AND i.item_code = s.item_code
                        WHERE f.status = 'accepted' AND NOT EXISTS (
                              SELECT 1 FROM ingest.file g WHERE g.facility_id = f.facility_id
                                 AND g.period = f.period AND g.file_id <> f.file_id
                                 AND g.status IN ('accepted', 'loaded'))
                        ORDER BY s.ctid DESC LIMIT 1""")
        file_id, facility, period, element, disaggregation = cur.fetchone()
        cur.execute("""INSERT INTO facts.monthly_value (facility_id, period, item_code, disaggregation, value,
                                                        file_id, loaded_at)
                       VALUES (%s, %s, %s, %s, 0, %s, %s)""",
                    (facility, period, element, disaggregation, file_id, AS_OF))
    return conn


@pytest.fixture
def reference_db(pg_server):
    """A second, empty database for the clean run every recovery is compared with."""
    name = f"hmis_clean_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(host="127.0.0.1", port=pg_server.port, user="postgres", dbname="postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield postgres.EmbeddedPostgres(pg_server.data_dir, pg_server.port, name)
    with admin.cursor() as cur:
        cur.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
    admin.close()


@pytest.fixture
def source(tmp_path, monkeypatch):
    """One month of Hisar demo data, kept apart so each database gets its own copy."""
    monkeypatch.setenv("HMIS_DATA_DOCS", "off")
    folder = tmp_path / "source"
    generate(folder, AS_OF, months=1)
    return folder


@pytest.fixture
def clean(source, reference_db, tmp_path, monkeypatch):
    """Checksums of a clean, undisturbed run of the same files in the second database."""
    landing = tmp_path / "clean-landing"
    shutil.copytree(source, landing)
    with monkeypatch.context() as m:
        m.setenv("AIRFLOW_CONN_HMIS_WAREHOUSE", reference_db.airflow_conn_json())
        m.setenv("HMIS_LANDING_URL", str(landing))
        run_stages(AS_OF)
        assert_ledger_in_step()
        return checksums()


@pytest.fixture
def staged(source, warehouse, landing):
    """The warehouse with a month parsed and validated, waiting for the load."""
    shutil.copytree(source, landing, dirs_exist_ok=True)
    run_stages(AS_OF, ("prepare", "discover", "parse", "validate"))
    accepted = rows("SELECT count(*) FROM ingest.file WHERE status = 'accepted'")[0][0]
    staged_rows = rows("SELECT count(*) FROM ingest.staged_value")[0][0]
    assert accepted > 200 and staged_rows > 9000
    return accepted, staged_rows


def assert_nothing_loaded(accepted: int, staged_rows: int) -> None:
    assert rows("SELECT count(*) FROM facts.monthly_value") == [(0,)]
    assert rows("SELECT status, count(*) FROM ingest.file WHERE status IN ('accepted', 'loaded', 'superseded') "
                "GROUP BY 1") == [("accepted", accepted)]
    assert rows("SELECT count(*) FROM ingest.staged_value") == [(staged_rows,)]
    assert_ledger_in_step()


# --------------------------------------------------------------------------- re-runs


def test_the_same_date_run_three_times_leaves_identical_tables_and_sends_nothing_twice(
        source, warehouse, landing, mail_sink):
    shutil.copytree(source, landing, dirs_exist_ok=True)
    run_stages(AS_OF, EVERY_STAGE)
    first, mails = checksums(), mail_sink.messages()
    assert mails and rows("SELECT count(*) FROM facts.monthly_value")[0][0] > 9000
    # Airflow retrying the alert task (or a whole re-run) finds every alert in the ledger.
    assert tasks.notify_officers(Run.at(AS_OF))["alerts_sent"] == 0
    for again in range(2):
        run_stages(AS_OF, EVERY_STAGE)
        now = checksums()
        # Run history is kept, never replaced: each execution adds a row; nothing else changes.
        assert rows("SELECT count(*) FROM ingest.run_history") == [(again + 2,)]
        assert {t: c for t, c in now.items() if t != "ingest.run_history"} == \
               {t: c for t, c in first.items() if t != "ingest.run_history"}
    assert len(mail_sink.messages()) == len(mails)
    message_ids = [m["Message-ID"] for m in mail_sink.messages()]
    assert len(set(message_ids)) == len(message_ids)
    assert rows("SELECT count(*) FROM alerts.sent WHERE status = 'sent'") == [(len(mails),)]


# --------------------------------------------------------------------------- crashes


def test_a_worker_killed_mid_insert_leaves_no_partial_facility_period(staged, clean, capsys):
    blocker = hold_a_row_the_load_will_write()
    worker = Worker(("load",))
    pid = wait_for(inserting_and_blocked, "the load's INSERT to reach the held row")[0][0]
    os.kill(worker.pid, signal.SIGKILL)
    assert worker.finish(timeout=10)[0] == -signal.SIGKILL
    killed = time.monotonic()
    # The dead worker's database session notices its client is gone (client_connection_check_interval,
    # where the platform supports it) and rolls back, even while it still waits at the held row;
    # elsewhere it notices once the INSERT finishes and it tries to answer.
    session_gone = lambda: not [b for b in backends("load") if b[0] == pid]  # noqa: E731
    try:
        wait_for(session_gone, "the killed worker's session to end", 10)
        how = f"ended {time.monotonic() - killed:.2f} s after SIGKILL while still waiting at the held row"
    except AssertionError:
        how = "outlived the held row"
    blocker.rollback()
    blocker.close()
    wait_for(session_gone, "the killed worker's session to end")
    written = rows("SELECT n_tup_ins FROM pg_stat_user_tables WHERE relid = 'facts.monthly_value'::regclass")[0][0]
    with capsys.disabled():
        print(f"\n[kill -9 mid-INSERT] the session {how}; rows the killed INSERT had written, all rolled "
              f"back: {written - 1} (statistics; the held row excluded)")
    assert_nothing_loaded(*staged)

    run_stages(AS_OF, ("load", "update_compliance", "build_marts"))
    assert_ledger_in_step()
    assert checksums() == clean


def test_a_connection_terminated_mid_insert_rolls_back_and_the_retry_completes(staged, clean, capsys):
    blocker = hold_a_row_the_load_will_write()
    worker = Worker(("load",))
    first = wait_for(inserting_and_blocked, "the load's INSERT to reach the held row")[0][0]
    assert rows("SELECT pg_terminate_backend(%s)", (first,)) == [(True,)]
    # The task retries on a new connection and stops at the same row again ...
    second = wait_for(lambda: [b for b in inserting_and_blocked() if b[0] != first], "the retry")[0][0]
    # ... and in between, the terminated attempt has left nothing behind.
    assert_nothing_loaded(*staged)
    blocker.rollback()
    blocker.close()
    code, out, err = worker.finish(timeout=60)
    assert code == 0, err[-3000:]
    retry_line = next(line for line in err.splitlines() if "attempt 1 failed with a transient error" in line)
    with capsys.disabled():
        print(f"\n[pg_terminate_backend mid-INSERT] backend {first} terminated, retried on {second}: {retry_line}")
    assert "'loaded_files': " in out and "'loaded_files': 0" not in out
    assert_ledger_in_step()
    run_stages(AS_OF, ("update_compliance", "build_marts"))
    assert checksums() == clean


# --------------------------------------------------------------------------- two runs at once


def test_a_second_run_waits_for_the_first_or_stops_naming_it(staged, clean):
    later = AS_OF + timedelta(hours=1)  # another run for the same periods
    blocker = hold_a_row_the_load_will_write()
    first = Worker(("load",))
    holder_pid = wait_for(inserting_and_blocked, "the first run's load to hold the ledger")[0][0]

    code, _out, err = Worker(("load",), later, HMIS_RUN_LOCK_WAIT_SECONDS="1").finish(timeout=60)
    assert code != 0
    stop = next(line for line in err.splitlines() if line.startswith("hmis.platform.locks.RunLockBusy: "))
    assert f"load of {run_key(later)} stopped after waiting 1 s for the ingest ledger" in stop
    assert f"held by hmis-pipeline load {run_key(AS_OF)} (database backend pid {holder_pid}" in stop
    assert "changed nothing and can simply be retried" in stop

    patient = Worker(("load",), later, HMIS_RUN_LOCK_WAIT_SECONDS="120")
    wait_for(lambda: [b for b in backends("load", later) if b[1] == "Lock" and b[2] == "advisory"],
             "the second run to wait for the ledger lock")
    blocker.rollback()
    blocker.close()
    code_first, out_first, err_first = first.finish(timeout=60)
    code_second, out_second, err_second = patient.finish(timeout=60)
    assert code_first == 0 and code_second == 0, err_first[-2000:] + err_second[-2000:]
    assert f"is waiting (at most 120 s) for the ingest ledger, which is held by hmis-pipeline load " \
           f"{run_key(AS_OF)}" in err_second
    assert "waited" in err_second
    assert "'loaded_files': 0" in out_second and "'loaded_files': 0" not in out_first
    assert_ledger_in_step()
    run_stages(AS_OF, ("update_compliance", "build_marts"))
    assert checksums() == clean


def _content() -> dict:
    """What two runs must agree on whichever of them did the work."""
    return {
        "facts": rows("""SELECT v.facility_id, v.period, v.item_code, v.value, v.flagged, f.key
                           FROM facts.monthly_value v JOIN ingest.file f USING (file_id) ORDER BY 1, 2, 3"""),
        "ledger": rows("""SELECT key, sha256, status, reason, row_count, warning_count, quarantine_key
                            FROM ingest.file ORDER BY key, sha256"""),
        "findings": rows("""SELECT f.key, r.expectation_id, r.item_code, r.message, count(*)
                              FROM dq.result r JOIN ingest.file f USING (file_id) GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"""),
        "feedback": rows("""SELECT f.key, b.kind, b.problems, b.status FROM dq.feedback b JOIN ingest.file f USING (file_id)
                             ORDER BY 1"""),
        "staged": rows("SELECT count(*) FROM ingest.staged_value"),
    }


def test_two_runs_started_together_process_every_file_once(source, warehouse, landing, reference_db, tmp_path,
                                                           monkeypatch, capsys):
    shutil.copytree(source, landing, dirs_exist_ok=True)
    tasks.prepare(Run.at(AS_OF))
    stages = ("discover", "parse", "validate", "load")
    runs = [Worker(stages, AS_OF), Worker(stages, AS_OF + timedelta(hours=1))]
    outputs = [run.finish() for run in runs]
    assert [code for code, _o, _e in outputs] == [0, 0], [err[-2000:] for _c, _o, err in outputs]
    waits = [line for _c, _out, err in outputs for line in err.splitlines() if " waited " in line]
    with capsys.disabled():
        print(f"\n[two runs at once] {len(waits)} stage(s) waited for the other run:\n  " + "\n  ".join(waits))
    assert_ledger_in_step()
    together = _content()
    assert all(count == 1 for *_k, count in together["findings"])

    clean_landing = tmp_path / "clean-landing"
    shutil.copytree(source, clean_landing)
    with monkeypatch.context() as m:
        m.setenv("AIRFLOW_CONN_HMIS_WAREHOUSE", reference_db.airflow_conn_json())
        m.setenv("HMIS_LANDING_URL", str(clean_landing))
        run_stages(AS_OF, ("prepare",) + stages)
        alone = _content()
    assert together == alone


# --------------------------------------------------------------------------- backfill


def exported(store: Path) -> dict[str, str]:
    """Every file of the export store (data, DHIS2 documents, report pages, manifests) by its digest."""
    return {str(p.relative_to(store)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(store.rglob("*")) if p.is_file()}


def district_sums(schema: str, period: str) -> dict:
    """{(item, disaggregation): (value, facilities reporting)} of a schema's district marts."""
    return {(i, d): (v, n) for i, d, v, n in rows(
        sql.SQL("""SELECT item_code, disaggregation, value, facilities_reporting FROM {}
                    WHERE period = %s""").format(sql.Identifier(schema, "district_monthly")), (period,))}


def truth_sums(truth, period: str) -> dict:
    """The same, summed from the accepted values the generator says were known at its date."""
    sums: dict = {}
    for (_facility, p), values in truth.values.items():
        for key, value in values.items():
            if p == period and isinstance(value, int):
                total, facilities = sums.get(key, (0, 0))
                sums[key] = (total + value, facilities + 1)
    return sums


def test_a_backfill_reproduces_its_date_and_leaves_the_latest_state_intact(warehouse, mail_sink, landing,
                                                                            airflow_home, tmp_path, monkeypatch):
    monkeypatch.setenv("HMIS_DATA_DOCS", "off")
    store = tmp_path / "state-store"
    monkeypatch.setenv("HMIS_EXPORT_URL", str(store))
    latest_truth = generate(landing, AS_OF, months=1)
    past = datetime(2026, 11, 4, 6, 0, tzinfo=REPORTING_TZ)
    after_due = datetime(2026, 11, 6, 6, 0, tzinfo=REPORTING_TZ)
    known_then = generate(tmp_path / "known-then", past, months=1)
    known_after_due = generate(tmp_path / "known-after-due", after_due, months=1)

    # A past date on a fresh warehouse (`hmis run --date 2026-11-04`) sees only what had arrived by then,
    # and is the current state: its marts are the sums of the values known then.
    run = run_dag(load_settings(), past)
    assert str(run.state).endswith("success")
    status = dict(((f, p), s) for f, p, s in rows(
        "SELECT facility_id, period, status FROM compliance.facility_status WHERE period = %s", (PERIOD,)))
    assert status == {k: v for k, v in known_then.status.items() if k[1] == PERIOD}
    loaded: dict = {}
    for f, p, element, sub, value, text in rows(
            "SELECT facility_id, period, item_code, disaggregation, value, value_text FROM facts.monthly_value"):
        loaded.setdefault((f, p), {})[(element, sub)] = value if value is not None else text
    assert loaded == known_then.values
    assert district_sums("marts", PERIOD) == truth_sums(known_then, PERIOD)
    # Not yet due: every figure of the month is provisional.
    assert rows("SELECT DISTINCT completeness FROM marts.district_monthly WHERE period = %s",
                (PERIOD,)) == [("provisional",)]

    # Then the regular run: the current marts are the sums as of its date.
    run_stages(AS_OF, EVERY_STAGE)
    assert district_sums("marts", PERIOD) == truth_sums(latest_truth, PERIOD)
    assert truth_sums(latest_truth, PERIOD) != truth_sums(known_then, PERIOD)
    # Due, and 250 of 266 reports in (94 %): complete.
    assert rows("""SELECT reported, expected, completeness FROM marts.reporting_rates
                    WHERE level = 'district' AND period = %s""", (PERIOD,)) == [(250, 266, "complete")]
    assert rows("""SELECT DISTINCT completeness FROM marts.indicator_monthly
                    WHERE period = %s AND level <> 'block'""", (PERIOD,)) == [("complete",)]
    # A block is as complete as its own reports: one with fewer than 90 % of them in stays provisional.
    blocks = rows("""SELECT area, reported::numeric / expected, completeness FROM marts.reporting_rates
                      WHERE level = 'block' AND period = %s""", (PERIOD,))
    assert {c for _a, share, c in blocks if share < Decimal("0.9")} <= {"provisional"}
    assert {c for _a, share, c in blocks if share >= Decimal("0.9")} == {"complete"}
    latest, mails, files = checksums(), len(mail_sink.messages()), exported(store)
    latest_summary = rows("SELECT summary FROM ingest.run WHERE run_id = %s", (run_key(AS_OF),))
    assert any(k.endswith("manifest.json") for k in files)

    # Backfills of two past dates after the later loads: each computes its date apart (schema asof) —
    # the statuses and the sums of the versions valid then — and leaves every current table and every
    # exported byte as it was, and sends nothing.
    for moment, truth in ((past, known_then), (after_due, known_after_due)):
        run_stages(moment, EVERY_STAGE)
        after_backfill = checksums()
        changed = {t for t in latest if after_backfill[t] != latest[t]}
        assert changed <= {"ingest.run", "ingest.run_history"}, changed
        assert exported(store) == files
        assert len(mail_sink.messages()) == mails
        assert rows("SELECT as_of FROM asof.publication WHERE period = %s", (PERIOD,)) == [(moment,)]
        assert district_sums("asof", PERIOD) == truth_sums(truth, PERIOD)
        as_of_status = dict(((f, p), s) for f, p, s in rows(
            "SELECT facility_id, period, status FROM asof.facility_status WHERE period = %s", (PERIOD,)))
        assert as_of_status == {k: v for k, v in truth.status.items() if k[1] == PERIOD}
        # Consistent with each other: the facilities reporting match the statuses of that date.
        reported = rows("""SELECT reported FROM asof.reporting_rates WHERE level = 'district' AND period = %s""",
                        (PERIOD,))[0][0]
        assert reported == sum(1 for s in as_of_status.values() if s in ("on_time", "late"))
        # Provisional until the month is due and 90 % of its expected reports are in.
        complete = moment > due_at(PERIOD) and reported >= 0.9 * len(as_of_status)
        assert rows("""SELECT DISTINCT completeness FROM asof.district_monthly WHERE period = %s""",
                    (PERIOD,)) == [("complete" if complete else "provisional",)]
    assert rows("""SELECT run_id, current FROM ingest.run_history ORDER BY finished_at""")[-2:] == [
        (run_key(past), False), (run_key(after_due), False)]

    run_stages(AS_OF, EVERY_STAGE)
    again = checksums()
    differs = {t for t in latest if again[t] != latest[t]}
    # Only the run's own summary row and the kept run history changed.
    assert differs <= {"ingest.run", "ingest.run_history"}, differs
    assert rows("SELECT summary FROM ingest.run WHERE run_id = %s", (run_key(AS_OF),)) == latest_summary
    assert len(mail_sink.messages()) == mails
    assert exported(store) == files


# --------------------------------------------------------------------------- exports never lost


def assert_every_export_present(store: Path) -> None:
    """Every period of the current marts is exported whole and as the marts are now: its manifest's
    files all exist with their digests and carry the marts' fingerprints, each district has its
    report page, and nothing is still owed."""
    assert rows("SELECT count(*) FROM marts.export_owed WHERE settled_at IS NULL") == [(0,)]
    districts = [d for (d,) in rows("SELECT DISTINCT district FROM ref.facility")]
    periods = [p for (p,) in rows("SELECT DISTINCT period FROM marts.district_monthly ORDER BY 1")]
    assert periods
    for period in periods:
        manifest = json.loads((store / "exports" / period / "manifest.json").read_text(encoding="utf-8"))
        for name, entry in manifest["files"].items():
            assert hashlib.sha256((store / entry["key"]).read_bytes()).hexdigest() == entry["sha256"], name
        current = sorted(s for (s,) in rows(
            "SELECT DISTINCT ledger_state FROM marts.district_monthly WHERE period = %s", (period,)))
        assert manifest["ledger_states"]["district_monthly"] == current
        for district in districts:
            assert (store / "reports" / period / f"compliance-{district.lower()}.html").is_file()


def send_late(landing: Path, arrived: datetime) -> str:
    """A late report from a facility that had none: one item, arriving at ``arrived``."""
    facility = rows("""SELECT min(facility_id) FROM compliance.facility_status
                        WHERE period = %s AND status = 'missing'""", (PERIOD,))[0][0]
    path = landing / "submissions" / PERIOD / f"{facility}.csv"
    path.write_text(f"facility_id,period,item_code,value\n{facility},{PERIOD},14.2.1,40\n", encoding="utf-8")
    os.utime(path, (arrived.timestamp(), arrived.timestamp()))
    return facility


def exporting_and_blocked() -> list[tuple]:
    return rows("""SELECT pid FROM pg_stat_activity WHERE datname = current_database()
                    AND wait_event_type = 'Lock' AND query LIKE %s""", ('SELECT %state_monthly%',))


def test_what_an_interrupted_run_owes_the_state_is_exported_by_the_next(source, warehouse, landing, mail_sink,
                                                                          tmp_path, monkeypatch):
    store = tmp_path / "state-store"
    monkeypatch.setenv("HMIS_EXPORT_URL", str(store))
    shutil.copytree(source, landing, dirs_exist_ok=True)

    # Killed after the marts committed: nothing exported, the period owed.
    run_stages(AS_OF, INGEST)
    assert not (store / "exports").exists()
    periods = list(Run.at(AS_OF).periods)
    assert rows("SELECT kind, period FROM marts.export_owed WHERE settled_at IS NULL ORDER BY period") == [
        ("period", p) for p in periods]
    # One more run of the same date: its marts have nothing new (and skip), its export pays the debt.
    result = run_stages(AS_OF, EVERY_STAGE)
    assert result["build_marts"]["changed"] == []
    assert result["export_marts"]["exported_periods"] == periods
    assert_every_export_present(store)

    # Killed during the export: a late report rebuilds the marts; the export has written the report
    # pages and the district files when it is stopped, before the state files and the manifest.
    day = AS_OF + timedelta(days=1)
    send_late(landing, AS_OF + timedelta(hours=1))
    run_stages(day, INGEST)
    before = json.loads((store / "exports" / PERIOD / "manifest.json").read_text(encoding="utf-8"))
    blocker = connect()
    with blocker.cursor() as cur:
        cur.execute("LOCK TABLE marts.state_monthly IN ACCESS EXCLUSIVE MODE")
    worker = Worker(("export_marts",), day)
    wait_for(exporting_and_blocked, "the export to reach the state marts")
    os.kill(worker.pid, signal.SIGKILL)
    assert worker.finish(timeout=10)[0] == -signal.SIGKILL
    blocker.rollback()
    blocker.close()
    assert json.loads((store / "exports" / PERIOD / "manifest.json").read_text(encoding="utf-8")) == before
    assert rows("SELECT count(*) FROM marts.export_owed WHERE settled_at IS NULL") == [(1,)]
    run_stages(day, EVERY_STAGE)
    assert_every_export_present(store)

    # Killed during the alerts, which run before the export in this order: the next run exports.
    later = day + timedelta(days=1)
    send_late(landing, day + timedelta(hours=1))
    run_stages(later, INGEST)
    worker = Worker(("notify_officers",), later)
    time.sleep(1)
    os.kill(worker.pid, signal.SIGKILL)
    worker.finish(timeout=10)
    assert rows("SELECT count(*) FROM marts.export_owed WHERE settled_at IS NULL") == [(1,)]
    run_stages(later, EVERY_STAGE)
    assert_every_export_present(store)
    # Every debt was recorded with the run that owed it and settled by a later one, with real times.
    assert rows("""SELECT period, run_id, settled_run_id FROM marts.export_owed ORDER BY owed_id""") == [
        *((p, run_key(AS_OF), run_key(AS_OF)) for p in periods),
        (PERIOD, run_key(day), run_key(day)), (PERIOD, run_key(later), run_key(later))]


# --------------------------------------------------------------------------- least privilege


def test_the_loader_role_cannot_change_the_schema(warehouse):
    conn = connect()
    try:
        migrate(conn)
        with conn.cursor() as cur:
            cur.execute("""SELECT n.nspname, min(c.relname) FROM pg_namespace n
                             LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relkind = 'r'
                            WHERE n.nspname NOT LIKE 'pg\\_%%' AND n.nspname <> 'information_schema'
                            GROUP BY 1 ORDER BY 1""")
            schemas = cur.fetchall()
            assert {s for s, _t in schemas} >= set(SCHEMAS)
            cur.execute("SET ROLE hmis_loader")
            refused, allowed, probes = [], [], []

            def attempt(statement, should_work=False):
                probes.append(statement)
                cur.execute("SAVEPOINT probe")
                try:
                    cur.execute(statement)
                    if not should_work:
                        allowed.append(statement.as_string(conn))
                except psycopg2.errors.InsufficientPrivilege:
                    if should_work:
                        refused.append(statement.as_string(conn))
                finally:
                    cur.execute("ROLLBACK TO SAVEPOINT probe")

            for schema, table in schemas:
                ident = sql.Identifier(schema)
                for template in ("CREATE TABLE {}.ddl_probe (x int)", "CREATE VIEW {}.ddl_probe AS SELECT 1 AS x",
                                 "CREATE SEQUENCE {}.ddl_probe", "CREATE FUNCTION {}.ddl_probe() RETURNS int "
                                 "LANGUAGE sql AS 'SELECT 1'", "DROP SCHEMA {} CASCADE",
                                 "ALTER SCHEMA {} RENAME TO ddl_probe"):
                    attempt(sql.SQL(template).format(ident))
                if table:
                    target = sql.Identifier(schema, table)
                    for template in ("DROP TABLE {} CASCADE", "ALTER TABLE {} ADD COLUMN ddl_probe int",
                                     "ALTER TABLE {} DISABLE ROW LEVEL SECURITY", "TRUNCATE {}",
                                     "CREATE INDEX ddl_probe ON {} ((1))", "ALTER TABLE {} OWNER TO hmis_loader"):
                        attempt(sql.SQL(template).format(target))
            attempt(sql.SQL("CREATE SCHEMA ddl_probe"))
            attempt(sql.SQL("CREATE ROLE ddl_probe"))
            # What it is for, it can do.
            attempt(sql.SQL("INSERT INTO ingest.run (run_id, logical_date, periods) VALUES ('probe', now(), '{}')"),
                    should_work=True)
            attempt(sql.SQL("DELETE FROM facts.monthly_value"), should_work=True)
        assert len(probes) >= 12 * len(SCHEMAS)
        assert not allowed, f"hmis_loader may run: {allowed}"
        assert not refused, f"hmis_loader may not do its job: {refused}"
    finally:
        conn.rollback()
        conn.close()
