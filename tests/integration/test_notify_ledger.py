"""The alert ledger on a real PostgreSQL, and signal alarms through it to a real SMTP server.

A signal alarm is claimed ``sending`` before the SMTP conversation and settled after it; a
failed send is retried by the next run with the same Message-ID; two notify steps at once
are kept apart by the alert lock. The ledger functions are also tried one by one.
"""

import json
import socket
import threading
import time
from dataclasses import replace
from datetime import datetime

import pytest

from hmis.notify import ledger
from hmis.notify.channels.email import EmailChannel
from hmis.notify.ledger import AlertRecord, Listed, message_id_for
from hmis.notify.signal_alerts import send_signal_alerts
from hmis.pipeline import signals as stages
from hmis.pipeline.run import Run
from hmis.platform.locks import ALERT_LOCK_KEY
from hmis.platform.settings import load_settings
from hmis.platform.warehouse import connect, migrate
from hmis.platform.warehouse import fetch_all as _rows
from hmis.reference.periods import REPORTING_TZ

pytestmark = pytest.mark.integration

AS_OF = datetime(2026, 11, 27, 6, 0, tzinfo=REPORTING_TZ)
LATER = datetime(2026, 11, 28, 6, 0, tzinfo=REPORTING_TZ)
OFFICER = "dso.hisar@hisar.hmis.example"
AREAS = ("Barwala", "Hansi-I")
LEDGER = """SELECT alert_key, kind, period, rung, area_level, area, recipient, subject, status, attempts, error,
                   run_id, message_id, first_attempt_at, last_attempt_at, sent_at, facility_ids
              FROM alerts.sent WHERE alert_key = %s"""


def _period() -> str:
    return Run.at(AS_OF).periods[-1]


# A watched disease of reference/diseases.yaml: the consolidation's 11.3.1, dengue RDT positive.
DENGUE = "11.3.1"


def _key(area: str) -> str:
    return f"disease_signal:block:Hisar:{area}:{DENGUE}:{_period()}:{OFFICER}"


@pytest.fixture
def alarms(warehouse):
    """Two block alarms (dengue RDT positives) in the open period, and the district's surveillance officer."""
    conn = connect()
    try:
        migrate(conn)
        with conn, conn.cursor() as cur:
            cur.execute("""INSERT INTO ref.data_item (item_code, name, name_hi, section, unit, aggregation)
                           VALUES (%s, 'Dengue - RDT Test Positive', 'डेंगू', 'M11 NVBDCP (vector-borne diseases)',
                                   'count', 'sum')""", (DENGUE,))
            cur.execute("""INSERT INTO ref.contact (role, level, area, name, email, phone)
                           VALUES ('district_surveillance_officer', 'district', 'Hisar', 'Dr. DSO', %s, '')""",
                        (OFFICER,))
            for area in AREAS:
                for method, alarm in (("C1", False), ("C2", True), ("C3", True)):
                    cur.execute(
                        """INSERT INTO marts.disease_signals (area_level, area, district, item_code, period, method,
                               observed, expected, sd, upper_bound, alarm, basis, series_value, built_at)
                           VALUES ('block', %s, 'Hisar', %s, %s, %s, 17, 4.0, 1.0, 8.0, %s,
                                   'standardised_ratio', 2.0, %s)""",
                        (area, DENGUE, _period(), method, alarm, AS_OF))
    finally:
        conn.close()
    return [_key(area) for area in AREAS]


def _closed_port_conn() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "port": port,
                       "extra": {"disable_tls": True, "disable_ssl": True, "timeout": 5}})


def _row(key: str) -> dict:
    columns = ("alert_key", "kind", "period", "rung", "area_level", "area", "recipient", "subject", "status",
               "attempts", "error", "run_id", "message_id", "first_attempt_at", "last_attempt_at", "sent_at",
               "facility_ids")
    found = _rows(LEDGER, (key,))
    return dict(zip(columns, found[0])) if found else {}


class Watching(EmailChannel):
    """Real SMTP, and a look at the ledger (from another session) during each conversation."""

    def __init__(self, delay: float = 0.0):
        super().__init__()
        self.seen: list[dict] = []
        self.delay = delay

    def send(self, message):
        key = next(k for k in (_key(area) for area in AREAS) if k.split(":")[3] in message["Subject"])
        self.seen.append({**_row(key), "header_id": message["Message-ID"]})
        time.sleep(self.delay)
        return super().send(message)


# --------------------------------------------------------------------------- the ledger itself


def test_ledger_claims_before_settles_after_and_never_claims_a_sent_alert(warehouse):
    conn = connect()
    try:
        migrate(conn)
        key = "non_submission:2026-10:block:Hisar/Hisar-I:bmo@x.example"
        message_id = message_id_for(key, "hmis@hisar.hmis.example")
        assert message_id == message_id_for(key, "other@hisar.hmis.example")  # the key decides, not the run
        record = AlertRecord(key, "non_submission", "2026-10", "block", "block", "Hisar/Hisar-I", "bmo@x.example",
                             "subject one", message_id,
                             (Listed("A", "missing", 1), Listed("B", "late", 1, AS_OF)))
        assert _row(key) == {}

        assert ledger.claim(conn, record, "run-1", AS_OF) is True
        row = _row(key)
        assert (row["status"], row["attempts"], row["message_id"], row["sent_at"]) == ("sending", 1, message_id, None)
        assert (row["first_attempt_at"], row["last_attempt_at"], row["facility_ids"]) == (AS_OF, AS_OF, ["A", "B"])
        assert _rows("SELECT facility_id, status, submitted_at FROM alerts.sent_facility ORDER BY 1") == [
            ("A", "missing", None), ("B", "late", AS_OF)]

        # A crash left it 'sending': the next run takes it back, with one more attempt.
        retry = replace(record, subject="subject two", listed=(Listed("A", "missing", 2),))
        assert ledger.claim(conn, retry, "run-2", LATER) is True
        assert ledger.settle(conn, key, "SMTPDataError: (451, b'try later')", LATER) == "failed"
        row = _row(key)
        assert (row["status"], row["attempts"], row["error"], row["run_id"]) == (
            "failed", 2, "SMTPDataError: (451, b'try later')", "run-2")
        assert (row["first_attempt_at"], row["last_attempt_at"], row["subject"]) == (AS_OF, LATER, "subject two")
        assert _rows("SELECT facility_id, days_overdue FROM alerts.sent_facility") == [("A", 2)]

        # Failed: taken back again, then sent.
        assert ledger.claim(conn, retry, "run-3", LATER) is True
        assert ledger.settle(conn, key, None, LATER) == "sent"
        before = _row(key)
        assert (before["attempts"], before["error"], before["sent_at"], before["message_id"]) == (
            3, None, LATER, message_id)

        # Sent: never claimed again, and nothing changes.
        assert ledger.claim(conn, record, "run-4", LATER) is False
        assert _row(key) == before
        assert _rows("SELECT count(*) FROM alerts.sent_facility") == [(1,)]

        # Planning reads it back; an unsent alert of another kind is cancelled only when named with its kind.
        other = AlertRecord("registration_gap:2026-10:monthly:Hisar:n@x", "registration_gap", "2026-10", "monthly",
                            "district", "Hisar", "n@x", "gap", "<g@x>")
        ledger.claim(conn, other, "run-4", LATER)
        ledger.settle(conn, other.key, "boom", LATER)
        (entry,) = [e for e in ledger.read_entries(conn, ["2026-10"], ["non_submission"])]
        assert (entry.alert_key, entry.status, entry.natural_key) == (
            key, "sent", ("non_submission", "2026-10", "block", "Hisar/Hisar-I", "bmo@x.example"))
        assert ledger.cancel(conn, {other.key: "gone", key: "gone"}, ["non_submission"], "run-5", LATER) == 0
        assert ledger.cancel(conn, {other.key: "gone"}, ["registration_gap"], "run-5", LATER) == 1
        assert (_row(other.key)["status"], _row(other.key)["error"]) == ("cancelled", "gone")
        assert _row(key) == before
    finally:
        conn.close()


# --------------------------------------------------------------------------- signal alarms through it


def test_signal_alarm_is_claimed_sending_during_the_smtp_conversation_and_settled_after(alarms, mail_sink):
    channel = Watching()
    conn = connect()
    try:
        result = send_signal_alerts(conn, Run.at(AS_OF).periods, AS_OF, "run-1", load_settings().mail_from,
                                    channel=channel)
    finally:
        conn.close()
    assert (result["alarms"], result["signal_alerts_sent"], result["signal_alerts_failed"]) == (2, 2, 0)
    sender = load_settings().mail_from
    for seen in channel.seen:
        # During the conversation the ledger already has the alert, as 'sending', with this Message-ID.
        assert (seen["status"], seen["attempts"], seen["sent_at"]) == ("sending", 1, None)
        assert seen["message_id"] == message_id_for(seen["alert_key"], sender) == seen["header_id"]
    received = {m["Message-ID"]: m for m in mail_sink.messages()}
    for key in alarms:
        row = _row(key)
        assert (row["kind"], row["status"], row["attempts"], row["sent_at"], row["error"]) == (
            "disease_signal", "sent", 1, AS_OF, None)
        assert (row["area_level"], row["rung"], row["facility_ids"], row["recipient"]) == ("block", None, [], OFFICER)
        message = received[row["message_id"]]
        assert message["To"] == OFFICER and message["Subject"] == row["subject"]
        # The disease is named by the list of watched diseases, the area with its district.
        area = key.split(":")[3]
        assert row["subject"] == f"[HMIS signal] Dengue (RDT positive) rising in {area} block (Hisar) — October 2026"
    assert {s["alert_key"] for s in channel.seen} == set(alarms)


def test_failed_signal_send_is_retried_by_the_next_run_with_the_same_message_id(alarms, mail_sink, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", _closed_port_conn())
    with pytest.raises(RuntimeError, match="2 signal alert"):
        stages.notify_signals(Run.at(AS_OF))
    first = {key: _row(key) for key in alarms}
    assert {(r["status"], r["attempts"], r["sent_at"]) for r in first.values()} == {("failed", 1, None)}
    errors = sorted(r["error"] for r in first.values())
    assert errors[0].startswith("ConnectionRefusedError")
    # The server is down: the second alarm is not tried (no second wait for the same timeout).
    assert errors[1].startswith("not attempted: the email server was unreachable (ConnectionRefusedError")
    assert mail_sink.messages() == []

    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", mail_sink.airflow_conn_json())
    result = stages.notify_signals(Run.at(LATER))
    assert (result["signal_alerts_sent"], result["signal_alerts_failed"]) == (2, 0)
    received = {m["Message-ID"]: m for m in mail_sink.messages()}
    for key, before in first.items():
        after = _row(key)
        assert (after["status"], after["attempts"], after["sent_at"], after["error"]) == ("sent", 2, LATER, None)
        assert after["message_id"] == before["message_id"] == message_id_for(key, load_settings().mail_from)
        assert after["first_attempt_at"] == AS_OF and after["last_attempt_at"] == LATER
        assert received[after["message_id"]]["To"] == OFFICER
    assert len(received) == 2

    # Once only: the next run finds both sent.
    again = stages.notify_signals(Run.at(LATER))
    assert (again["signal_alerts_sent"], again["signal_alerts_already_sent"]) == (0, 2)
    assert len(mail_sink.messages()) == 2


def _waiting_for_alert_lock() -> list:
    return _rows("""SELECT pid FROM pg_locks
                     WHERE locktype = 'advisory' AND NOT granted AND classid = %s AND objid = %s AND objsubid = 1""",
                 (ALERT_LOCK_KEY >> 32, ALERT_LOCK_KEY & 0xFFFFFFFF))


def test_a_second_notify_waits_for_the_alert_lock(alarms, mail_sink):
    holder = connect()
    results: list[dict] = []
    channel = Watching()

    def notify():
        conn = connect()
        try:
            results.append(send_signal_alerts(conn, Run.at(AS_OF).periods, AS_OF, "run-2",
                                              load_settings().mail_from, channel=channel))
        finally:
            conn.close()

    try:
        with ledger.alert_lock(holder):
            worker = threading.Thread(target=notify)
            worker.start()
            deadline = time.monotonic() + 20
            while not _waiting_for_alert_lock() and time.monotonic() < deadline:
                time.sleep(0.05)
            assert _waiting_for_alert_lock(), "the second notify should be waiting for the alert lock"
            time.sleep(0.3)
            assert channel.seen == [] and results == [] and _rows("SELECT count(*) FROM alerts.sent") == [(0,)]
        worker.join(timeout=30)
    finally:
        holder.close()
    assert not worker.is_alive()
    assert results[0]["signal_alerts_sent"] == 2 and len(mail_sink.messages()) == 2


def test_two_notify_steps_at_once_send_each_alarm_once(alarms, mail_sink):
    channel = Watching(delay=0.3)  # long enough for the second step to arrive while the first sends
    results: list[dict] = []

    def notify(run_id):
        conn = connect()
        try:
            results.append(send_signal_alerts(conn, Run.at(AS_OF).periods, AS_OF, run_id, load_settings().mail_from,
                                              channel=channel))
        finally:
            conn.close()

    workers = [threading.Thread(target=notify, args=(f"run-{n}",)) for n in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert sorted((r["signal_alerts_sent"], r["signal_alerts_already_sent"]) for r in results) == [(0, 2), (2, 0)]
    assert len(mail_sink.messages()) == 2 and len(channel.seen) == 2
    assert {(_row(k)["status"], _row(k)["attempts"]) for k in alarms} == {("sent", 1)}
