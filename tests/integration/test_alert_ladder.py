"""The escalation ladder through real Airflow runs, a real warehouse and a real SMTP server.

October 2026 is due at the end of 5 November. The DAG runs at 06:00 IST on day 0, 1, 3, 7
and 10 after that; each run only sees the demo files that had arrived by then, so who is
missing shrinks from rung to rung. What every officer received is read back from the SMTP
sink and compared with what the demo generator planned.
"""

import csv
import hashlib
import io
import json
import socket
from collections import defaultdict
from datetime import datetime, time, timedelta

import pytest

from hmis.pipeline import monthly as tasks
from hmis.pipeline.run import Run
from hmis.platform.settings import load_settings
from hmis.platform.warehouse import fetch_all as _rows
from hmis.reference.periods import REPORTING_TZ, due_at
from hmis_dev.airflow_runtime import load_dag, run_dag
from hmis_dev.demo.generator import generate

pytestmark = pytest.mark.integration

PERIOD = "2026-10"
DUE = due_at(PERIOD)
# Late reports keep arriving until late November; each run filters by its own date.
GENERATED_AS_OF = datetime(2026, 11, 27, 6, 0, tzinfo=REPORTING_TZ)


def day(n: int) -> datetime:
    """The daily run (06:00 IST) on calendar day ``n`` after the due date."""
    return datetime.combine(DUE.date() + timedelta(days=n), time(6), tzinfo=REPORTING_TZ)


def rung_opens(n: int) -> datetime:
    return datetime.combine(DUE.date() + timedelta(days=n), time(0), tzinfo=REPORTING_TZ)


# --------------------------------------------------------------------------- helpers




def _read_csv(path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


class Demo:
    """What the generator planned, as officers should see it at any moment."""

    def __init__(self, landing, truth):
        self.truth = truth
        self.facilities = {r["facility_id"]: r for r in _read_csv(landing / "registry" / "facilities.csv")}
        self.contacts = _read_csv(landing / "registry" / "contacts.csv")

    def email(self, role: str, area: str) -> str:
        (found,) = [c["email"] for c in self.contacts if c["role"] == role and c["area"] == area]
        return found

    def status_at(self, moment: datetime) -> dict[str, tuple[str, datetime | None]]:
        """Each registered facility's status and first acceptable report, as of ``moment``."""
        files = defaultdict(list)
        for demo_file in self.truth.files:
            if demo_file.period == PERIOD and demo_file.submitted_at <= moment:
                files[demo_file.facility_id].append(demo_file)
        result = {}
        for fid in self.truth.registered_ids:
            arrived = sorted(files[fid], key=lambda f: f.submitted_at)
            valid = [f for f in arrived if f.valid]
            if valid:
                first = valid[0].submitted_at
                result[fid] = ("on_time" if first <= DUE else "late", first)
            else:
                result[fid] = ("rejected" if arrived else "missing" if moment > DUE else "pending", None)
        return result

    def defaulters(self, moment: datetime, late_since: datetime | None = None) -> dict[str, str]:
        """Facility -> status for those a rung at ``moment`` lists (late ones only with ``late_since``)."""
        listed = {}
        for fid, (status, first) in self.status_at(moment).items():
            if status in ("missing", "rejected"):
                listed[fid] = status
            elif status == "late" and late_since is not None and late_since < first <= moment:
                listed[fid] = status
        return listed

    def by_block(self, listed: dict[str, str]) -> dict[str, dict[str, str]]:
        blocks = defaultdict(dict)
        for fid, status in listed.items():
            blocks[self.facilities[fid]["block"]][fid] = status
        return dict(blocks)


class Inbox:
    """The sink's messages, taken run by run."""

    def __init__(self, sink):
        self.sink = sink
        self.seen = 0

    def new(self) -> list:
        messages = self.sink.messages()
        fresh, self.seen = messages[self.seen:], len(messages)
        return fresh


def attachment(message) -> list[dict]:
    (part,) = [p for p in message.iter_attachments() if p.get_filename().endswith(".csv")]
    return list(csv.DictReader(io.StringIO(part.get_content())))


def listed(message) -> dict[str, str]:
    return {row["facility_id"]: row["status"] for row in attachment(message)}


def assert_readable(message, *phrases: str) -> None:
    """Both parts are there and carry the Hindi text as well as the English."""
    parts = {p.get_content_type(): p.get_content() for p in message.walk()
             if not p.is_multipart() and not p.is_attachment()}
    assert "text/plain" in parts and "text/html" in parts, list(parts)
    for content in (parts["text/plain"], parts["text/html"]):
        for phrase in phrases:
            assert phrase in content, phrase


def ledger() -> dict[str, tuple]:
    rows = _rows("""SELECT alert_key, kind, rung, area, recipient, status, attempts, sent_at, message_id,
                           facility_ids FROM alerts.sent ORDER BY alert_key""")
    return {r[0]: r[1:] for r in rows}


def ledger_checksum() -> str:
    rows = _rows("SELECT s::text FROM alerts.sent s ORDER BY alert_key")
    listed_rows = _rows("SELECT f::text FROM alerts.sent_facility f ORDER BY alert_key, facility_id")
    return hashlib.sha256("\n".join(r[0] for r in rows + listed_rows).encode()).hexdigest()


def run(moment: datetime):
    dag_run = run_dag(load_settings(), moment)
    assert str(dag_run.state).endswith("success"), dag_run.state
    return dag_run


@pytest.fixture
def demo(warehouse, mail_sink, landing, airflow_home, monkeypatch):
    # Only October is generated, so only October is open: no alerts about empty months.
    monkeypatch.setenv("HMIS_OPEN_PERIODS", "1")
    truth = generate(landing, GENERATED_AS_OF, months=1)
    assert truth.periods == [PERIOD]
    return Demo(landing, truth)


# --------------------------------------------------------------------------- the ladder


def test_ladder_tells_each_officer_once_and_drops_facilities_that_report(demo, mail_sink):
    inbox = Inbox(mail_sink)
    nodal = demo.email("district_nodal_officer", "Hisar")

    # Day 0 (5 November, 06:00): not due yet.
    run(day(0))
    assert inbox.new() == []
    assert _rows("SELECT count(*) FROM alerts.sent") == [(0,)]

    # Day 1: each block officer hears about their own block only, late reports included;
    # the monthly registration-gap digest goes to the district officer.
    run(day(1))
    messages = inbox.new()
    expected_blocks = demo.by_block(demo.defaulters(day(1), late_since=DUE))
    assert len(expected_blocks) >= 5 and any("late" in v.values() for v in expected_blocks.values())
    gap = [m for m in messages if "not registered on HMIS" in m["Subject"]]
    block_mail = [m for m in messages if m not in gap]
    assert len(gap) == 1 and len(block_mail) == len(expected_blocks)
    for block, facilities in expected_blocks.items():
        (message,) = [m for m in block_mail if m["To"] == demo.email("block_medical_officer", block)]
        pending = sum(s != "late" for s in facilities.values())
        late = len(facilities) - pending
        subject = f"[HMIS] Hisar / {block} — "
        subject += (f"{pending} {'facility has' if pending == 1 else 'facilities have'} not submitted October 2026 "
                    f"(due 5 Nov)" + (f"; {late} reported late" if late else "")) if pending else \
            f"{late} {'facility' if late == 1 else 'facilities'} reported October 2026 late (due 5 Nov)"
        assert message["Subject"] == subject
        assert listed(message) == facilities
        assert {r["block"] for r in attachment(message)} == {block}
        assert_readable(message, "day-1 reminder", "अंतिम तिथि", block)
    day1_listed = {fid for facilities in expected_blocks.values() for fid in facilities}

    (digest,) = gap
    assert digest["To"] == nodal
    assert digest["Subject"] == "[HMIS] Hisar — 54 facilities are not registered on HMIS (as of 6 Nov 2026)"
    rows = attachment(digest)
    assert {r["facility_id"] for r in rows} == set(demo.truth.unregistered_ids) and len(rows) == 54
    assert {demo.facilities[r["facility_id"]]["ownership"] for r in rows} == {"private"}
    assert all(int(r["days_unregistered"]) > 0 and r["unregistered_since"] for r in rows)
    assert_readable(digest, "54 facilities in Hisar district", "पंजीकृत नहीं")

    # Re-running the same day sends nothing new and leaves the ledger as it was.
    before = ledger_checksum()
    run(day(1))
    assert inbox.new() == []
    assert ledger_checksum() == before

    # Day 3: the district nodal officer gets one digest, grouped by block, of those still
    # without an accepted report; facilities that reported since day 1 have dropped out.
    run(day(3))
    (message,) = inbox.new()
    expected = demo.defaulters(day(3))
    assert message["To"] == nodal
    assert message["Subject"] == f"[HMIS] Hisar — {len(expected)} facilities have not submitted October 2026 (due 5 Nov)"
    assert listed(message) == expected
    # the district digest carries the month's compliance page for the district
    page = next(p for p in message.iter_attachments() if p.get_filename().endswith(".html")).get_content()
    assert "HMIS compliance report — Hisar district, October 2026" in page and "heatmap" in page.lower()
    dropped = {fid for fid, status in demo.defaulters(day(1)).items()} - set(expected)
    assert dropped, "some facility should report between day 1 and day 3"
    assert not dropped & set(listed(message))
    assert_readable(message, "day-3 reminder", "Block Medical Officer on 6 November 2026", "सिविल सर्जन")
    text = next(p for p in message.walk() if p.get_content_type() == "text/plain").get_content()
    blocks_in_order = [b for b in sorted(demo.by_block(expected))]
    positions = [text.index(f"— {b} (") for b in blocks_in_order]
    assert positions == sorted(positions)
    day3_listed = set(expected)

    # Day 7: the Civil Surgeon.
    run(day(7))
    (message,) = inbox.new()
    expected = demo.defaulters(day(7))
    assert message["To"] == demo.email("civil_surgeon", "Hisar")
    assert listed(message) == expected and set(expected) <= day3_listed
    assert_readable(message, "day-7 reminder", "District HMIS Nodal Officer on 8 November 2026")

    # Day 10: the state HMIS cell, a digest for the district.
    run(day(10))
    (message,) = inbox.new()
    expected = demo.defaulters(day(10))
    assert message["To"] == demo.email("state_hmis_cell", "Haryana")
    assert message["Subject"] == f"[HMIS] Hisar — {len(expected)} facilities have not submitted October 2026 (due 5 Nov)"
    assert listed(message) == expected
    assert_readable(message, "day-10 reminder", "राज्य एचएमआईएस प्रकोष्ठ")

    before = ledger_checksum()
    run(day(10))
    assert inbox.new() == []
    assert ledger_checksum() == before

    # Nobody else heard anything, and the ledger says what went to whom, when, listing whom.
    received = [m for m in mail_sink.messages()]
    assert demo.email("district_surveillance_officer", "Hisar") not in {m["To"] for m in received}
    book = ledger()
    assert len(book) == len(received) == len(expected_blocks) + 1 + 3  # blocks, gap digest, three digests
    by_message_id = {m["Message-ID"]: m for m in received}
    sent_on = {"block": day(1), "district": day(3), "civil_surgeon": day(7), "state": day(10), "monthly": day(1)}
    for _key, (_kind, rung, _area, recipient, status, attempts, sent_at, message_id, facility_ids) in book.items():
        assert (status, attempts, sent_at) == ("sent", 1, sent_on[rung])
        message = by_message_id[message_id]
        assert message["To"] == recipient
        assert sorted(facility_ids) == sorted(r["facility_id"] for r in attachment(message))
    assert _rows("SELECT count(*) FROM alerts.sent_facility") == [(sum(len(v[8]) for v in book.values()),)]
    assert day1_listed  # the block rung did list facilities
    assert _rows("SELECT count(*) FROM compliance.registration_gap WHERE NOT hmis_registered") == [(54,)]


# --------------------------------------------------------------------------- never lost


def _closed_port_conn() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens there any more: connections are refused at once.
    return json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "port": port,
                       "extra": {"disable_tls": True, "disable_ssl": True, "timeout": 5, "retry_limit": 1}})


def _run_with_quick_retries(moment: datetime):
    """A DAG run whose officer-alert task retries at once, as Airflow would after its delay."""
    dag = load_dag(load_settings())
    notify = dag.get_task("notify_officers")
    notify.retry_delay = timedelta(0)
    notify.retry_exponential_backoff = False
    return dag.test(logical_date=moment), notify.retries


def test_smtp_down_is_recorded_failed_retried_by_the_next_run_and_sent_once(demo, mail_sink, monkeypatch):
    inbox = Inbox(mail_sink)
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", _closed_port_conn())
    dag_run, retries = _run_with_quick_retries(day(1))
    tries = retries + 1
    assert tries > 1

    # The task failed after Airflow's retries; every due alert is in the ledger as failed,
    # once per try.
    states = {ti.task_id: (str(ti.state), ti.try_number) for ti in dag_run.get_task_instances()}
    assert states["notify_officers"][0].endswith("failed") and states["notify_officers"][1] == tries
    assert states["marts"][0].endswith("success")
    expected_blocks = demo.by_block(demo.defaulters(day(1), late_since=DUE))
    failed = ledger()
    assert len(failed) == len(expected_blocks) + 1
    assert {(v[4], v[5], v[6]) for v in failed.values()} == {("failed", tries, None)}
    errors = _rows("SELECT error FROM alerts.sent ORDER BY error")
    assert any("ConnectionRefusedError" in e for (e,) in errors)
    assert inbox.new() == []
    message_ids = {key: v[7] for key, v in failed.items()}

    # The next run (day 3, mail server back) sends the failed day-1 alerts although their
    # rung has passed, listing who is still due then, plus the district digest now due.
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", mail_sink.airflow_conn_json())
    run(day(3))
    messages = inbox.new()
    assert len(messages) == len(expected_blocks) + 1 + 1
    recipients = [m["To"] for m in messages]
    assert len(set(recipients)) == len(recipients) - 1  # the district officer: gap digest and day-3 digest
    still_due = demo.by_block(demo.defaulters(day(3), late_since=DUE))
    for block in expected_blocks:
        (message,) = [m for m in messages if m["To"] == demo.email("block_medical_officer", block)]
        assert listed(message) == still_due[block]
    book = ledger()
    for key, message_id in message_ids.items():
        kind, rung, _area, _recipient, status, attempts, sent_at, same_id, _ids = book[key]
        assert (status, attempts, sent_at, same_id) == ("sent", tries + 1, day(3), message_id)
    assert {m["Message-ID"] for m in messages} >= set(message_ids.values())

    # And once only: the same day again sends nothing.
    run(day(3))
    assert inbox.new() == []


# --------------------------------------------------------------------------- registry history


def test_changed_registry_is_picked_up_history_kept_and_gap_follows(demo, mail_sink, landing):
    tasks.prepare(Run.at(day(1)))
    tasks.update_compliance(Run.at(day(1)))
    assert _rows("SELECT count(*) FROM ref.registry_version") == [(1,)]
    assert _rows("SELECT count(*) FROM compliance.registration_gap") == [(54,)]
    first_version = _rows("SELECT registry_sha256 FROM ref.registry_version")[0][0]

    # The district registers one private clinic on 8 November; the next run sees the new file.
    path = landing / "registry" / "facilities.csv"
    rows = _read_csv(path)
    chosen = sorted(demo.truth.unregistered_ids)[0]
    for row in rows:
        if row["facility_id"] == chosen:
            row.update(hmis_registered="true", hmis_registered_on="2026-11-08")
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)

    result = tasks.prepare(Run.at(day(3)))
    assert result["registry_changes"] == {"added": 0, "changed": 1, "removed": 0}
    tasks.update_compliance(Run.at(day(3)))
    assert _rows("SELECT count(*) FROM ref.registry_version") == [(2,)]
    history = _rows("""SELECT valid_from, valid_to, hmis_registered, registry_sha256 = %s FROM ref.facility_version
                        WHERE facility_id = %s ORDER BY valid_from""", (first_version, chosen))
    assert history == [(day(1), day(3), False, True), (day(3), None, True, False)]
    assert _rows("SELECT count(*) FROM ref.facility_version WHERE valid_to IS NULL") == [(320,)]
    assert _rows("SELECT hmis_registered FROM ref.facility WHERE facility_id = %s", (chosen,)) == [(True,)]
    assert _rows("SELECT count(*) FROM compliance.registration_gap") == [(53,)]

    # Reading the same registry again records no history.
    assert tasks.prepare(Run.at(day(4)))["registry_changes"] == {"added": 0, "changed": 0, "removed": 0}
    assert _rows("SELECT count(*) FROM ref.facility_version") == [(321,)]
