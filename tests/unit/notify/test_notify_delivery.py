"""One notification path: officer alerts and signal alarms both lock, claim, send and settle
through the same ledger functions, on any channel, with the breaker. The ledger is replaced
by a recorder here; tests/integration/test_notify_ledger.py runs it on PostgreSQL."""

from contextlib import contextmanager
from datetime import datetime, time, timedelta

import pytest

from hmis.notify import ledger, officers, signal_alerts
from hmis.notify.channels import DeliveryFailed
from hmis.notify.delivery import Outgoing, deliver
from hmis.notify.ledger import AlertRecord, message_id_for
from hmis.notify.officers import Contact, Snapshot, StatusRow
from hmis.notify.policy import parse_policy
from hmis.reference.periods import REPORTING_TZ, due_at
from hmis.signals.alarms import Alarm, MethodResult

pytestmark = pytest.mark.unit

PERIOD = "2026-10"
SENDER = "hmis-pipeline@hisar.hmis.example"
DAY_1 = datetime.combine(due_at(PERIOD).date() + timedelta(days=1), time(6), tzinfo=REPORTING_TZ)
POLICY = parse_policy({"version": 1, "ladder": [
    {"rung": "block", "day": 1, "role": "block_medical_officer", "level": "block"}], "registration_gap": None})


class Recorder:
    """Stands in for the ledger: remembers every call, in order, and what is sent already."""

    def __init__(self, sent=()):
        self.events: list[tuple] = []
        self.sent = set(sent)
        self.records: dict[str, AlertRecord] = {}

    def install(self, monkeypatch):
        @contextmanager
        def alert_lock(conn):
            self.events.append(("lock",))
            yield
            self.events.append(("unlock",))

        def claim(conn, record, run_id, as_of):
            self.events.append(("claim", record.key))
            self.records[record.key] = record
            return record.key not in self.sent

        def settle(conn, key, error, as_of):
            self.events.append(("settle", key, error))
            if not error:
                self.sent.add(key)
            return "failed" if error else "sent"

        monkeypatch.setattr(ledger, "alert_lock", alert_lock)
        monkeypatch.setattr(ledger, "claim", claim)
        monkeypatch.setattr(ledger, "settle", settle)
        monkeypatch.setattr(ledger, "cancel", lambda conn, reasons, kinds, run_id, as_of: 0)
        return self


class Channel:
    name = "test"

    def __init__(self, recorder, fail=None):
        self.recorder, self.fail, self.messages = recorder, fail, []

    def send(self, message):
        self.recorder.events.append(("send", message["Message-ID"]))
        if self.fail:
            raise self.fail
        self.messages.append(message)
        return f"receipt-{len(self.messages)}"


def _officer_snapshot() -> Snapshot:
    facility = {"facility_id": "A", "name": "SC A", "facility_type": "SC", "ownership": "public", "block": "Hisar-I",
                "district": "Hisar", "state": "Haryana"}
    contact = Contact("block_medical_officer", "block", "Hisar-I", "Dr. One", "bmo@x.example", "+91-1")
    return Snapshot({"A": facility}, [StatusRow("A", PERIOD, "missing", None)], [contact], [])


def _alarms() -> list[Alarm]:
    methods = (MethodResult("C2", 3.0, 8.0, True),)
    return [Alarm("block", "Hisar", area, "14.1.5", "Outpatient - Dengue", "डेंगू", PERIOD, 17, methods)
            for area in ("Barwala", "Hansi-I")]


def _assert_claimed_sent_settled_under_the_lock(events, key, message_id):
    """claim before send before settle, all between lock and unlock."""
    order = [events.index(e) for e in (("lock",), ("claim", key), ("send", message_id))]
    settle = next(i for i, e in enumerate(events) if e[:2] == ("settle", key))
    assert order == sorted(order) and order[-1] < settle < events.index(("unlock",))


def test_officer_alerts_and_signal_alarms_go_through_the_same_ledger_functions(monkeypatch):
    recorder = Recorder().install(monkeypatch)
    channel = Channel(recorder)
    monkeypatch.setattr(officers, "read_snapshot", lambda conn, periods: _officer_snapshot())
    monkeypatch.setattr(signal_alerts, "read_alarms", lambda conn, periods: _alarms())
    monkeypatch.setattr(signal_alerts, "read_recipients", lambda conn: {"Hisar": ["dso@x.example"]})

    officer = officers.send_alerts(None, POLICY, [PERIOD], DAY_1, "run-1", SENDER, channel=channel)
    signals = signal_alerts.send_signal_alerts(None, [PERIOD], DAY_1, "run-1", SENDER, channel=channel)

    assert officer["alerts_sent"] == 1 and officer["sent_by_rung"] == {"block": 1}
    assert signals["signal_alerts_sent"] == 2 and signals["alarms"] == 2
    kinds = {record.kind for record in recorder.records.values()}
    assert kinds == {"non_submission", "disease_signal"}
    officer_key = "non_submission:2026-10:block:Hisar/Hisar-I:bmo@x.example"
    signal_key = "disease_signal:block:Hisar:Barwala:14.1.5:2026-10:dso@x.example"
    for key in (officer_key, signal_key):
        message_id = message_id_for(key, SENDER)
        assert recorder.records[key].message_id == message_id
        events = recorder.events
        # each notify step holds its own lock: look inside the one that claimed this key
        start = max(i for i, e in enumerate(events[:events.index(("claim", key))]) if e == ("lock",))
        _assert_claimed_sent_settled_under_the_lock(events[start:], key, message_id)
    assert recorder.records[officer_key].listed[0].facility_id == "A"
    assert recorder.records[signal_key].listed == () and recorder.records[signal_key].rung is None
    assert {str(m["Message-ID"]) for m in channel.messages} == {r.message_id for r in recorder.records.values()}


def test_what_the_ledger_has_as_sent_is_not_sent_again(monkeypatch):
    already = "disease_signal:block:Hisar:Barwala:14.1.5:2026-10:dso@x.example"
    recorder = Recorder(sent={already}).install(monkeypatch)
    channel = Channel(recorder)
    monkeypatch.setattr(signal_alerts, "read_alarms", lambda conn, periods: _alarms())
    monkeypatch.setattr(signal_alerts, "read_recipients", lambda conn: {"Hisar": ["dso@x.example"]})
    result = signal_alerts.send_signal_alerts(None, [PERIOD], DAY_1, "run-1", SENDER, channel=channel)
    assert (result["signal_alerts_sent"], result["signal_alerts_already_sent"]) == (1, 1)
    assert [m["To"] for m in channel.messages] == ["dso@x.example"] and "Hansi-I" in channel.messages[0]["Subject"]
    assert not [e for e in recorder.events if e[0] == "settle" and e[1] == already]


def test_an_unreachable_channel_trips_the_breaker_for_the_rest_of_the_run(monkeypatch):
    recorder = Recorder().install(monkeypatch)
    channel = Channel(recorder, fail=DeliveryFailed("ConnectionRefusedError: [Errno 111]", unreachable=True))
    records = [AlertRecord(f"k{n}", "disease_signal", PERIOD, None, "block", "B", "r@x", "s", f"<m{n}@x>")
               for n in range(3)]
    messages = [{"Message-ID": record.message_id} for record in records]
    done = deliver(None, channel, [Outgoing(r, m, f"r@x ({r.key})") for r, m in zip(records, messages)],
                   "run-1", DAY_1)
    assert done.failed == 3 and done.sent == []
    assert [e for e in recorder.events if e[0] == "send"] == [("send", "<m0@x>")]  # tried once only
    settled = [e for e in recorder.events if e[0] == "settle"]
    assert settled[0] == ("settle", "k0", "ConnectionRefusedError: [Errno 111]")
    assert all(e[2] == "not attempted: the test server was unreachable (ConnectionRefusedError: [Errno 111])"
               for e in settled[1:])
    assert done.errors[0] == "r@x (k0): ConnectionRefusedError: [Errno 111]"


def test_a_failure_that_is_not_the_server_does_not_stop_the_others(monkeypatch):
    recorder = Recorder().install(monkeypatch)

    class Refusing(Channel):
        def send(self, message):
            if message["Message-ID"] == "<m0@x>":
                self.recorder.events.append(("send", message["Message-ID"]))
                raise DeliveryFailed("SMTPRecipientsRefused: {'r@x': (550, b'no such user')}")
            return super().send(message)

    channel = Refusing(recorder)
    records = [AlertRecord(f"k{n}", "disease_signal", PERIOD, None, "block", "B", "r@x", "s", f"<m{n}@x>")
               for n in range(2)]
    done = deliver(None, channel, [Outgoing(r, {"Message-ID": r.message_id}, r.key) for r in records], "run", DAY_1)
    assert (done.failed, [r.key for r in done.sent]) == (1, ["k1"])
    assert [m["Message-ID"] for m in channel.messages] == ["<m1@x>"]
