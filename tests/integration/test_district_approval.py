"""District approval and lock (issue 16), through a real Airflow on loopback.

The marts are written by hand here (the district rows of ``marts.reporting_rates`` with their
``completeness``, and ``marts.district_monthly``), as the marts build leaves them: the approval
reads nothing else. One test drives the whole story through a real scheduler, DAG processor
and API server (``hmis_dev.airflow_services``), because a waiting approval is in the
scheduler-managed ``awaiting_input`` state that ``dag.test()`` cannot resume; a scripted
nodal officer answers through the REST API. The warehouse rules (revisions, superseding,
owed exports) are also checked directly, without Airflow.
"""

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from hmis.approval import publish, revisions
from hmis.approval.revisions import RevisionKey
from hmis.marts import access
from hmis.platform.landing import LocalStore
from hmis.platform.settings import load_settings
from hmis.platform.warehouse import connect, migrate
from hmis.reference.periods import REPORTING_TZ

pytestmark = pytest.mark.integration

AS_OF = datetime(2026, 10, 7, 6, 0, tzinfo=REPORTING_TZ)
COMPLETE, PROVISIONAL = "2026-09", "2026-10"
NODAL = "hmis.nodal@hisar.hmis.example"
STATE_CELL = "state.hmis.cell@haryana.hmis.example"
BMO = "bmo.barwala@hisar.hmis.example"
VALUES = {COMPLETE: {"1.1": 120, "9.1.3": 40, "14.4.2": 7}, PROVISIONAL: {"1.1": 30, "9.1.3": 9}}


def seed(conn) -> None:
    """Two facilities of Hisar, its contacts, and the marts of a complete and a provisional month."""
    migrate(conn)
    access.apply(conn)
    with conn, conn.cursor() as cur:
        for facility_id, block in (("HR-CHC-1", "Barwala"), ("HR-PHC-2", "Hisar-I")):
            cur.execute("""INSERT INTO ref.facility (facility_id, name, facility_type, ownership, is_ayush, block,
                                                     district, district_lgd, state, hmis_registered, registry_sha256,
                                                     loaded_at)
                           VALUES (%s, %s, 'CHC', 'public', false, %s, 'Hisar', '63', 'Haryana', true, 'x', %s)""",
                        (facility_id, facility_id, block, AS_OF))
        contacts = [("district_nodal_officer", "district", "Hisar", "Dr. Ramesh Godara (SMO HMIS)", NODAL),
                    ("state_hmis_cell", "state", "Haryana", "State HMIS Cell (NHM Haryana)", STATE_CELL),
                    ("block_medical_officer", "block", "Barwala", "Dr. Sunita Malik", BMO),
                    ("civil_surgeon", "district", "Hisar", "Dr. Meenakshi Jakhar", "civil.surgeon@hisar.hmis.example")]
        cur.executemany("INSERT INTO ref.contact (role, level, area, name, email) VALUES (%s, %s, %s, %s, %s)",
                        contacts)
        for period, items in VALUES.items():
            complete = period == COMPLETE
            for item, value in items.items():
                cur.execute("""INSERT INTO marts.district_monthly (state, district, period, item_code, disaggregation,
                                   value, flagged_values, facilities_reporting, facilities_expected, ledger_state,
                                   built_at, completeness)
                               VALUES ('Haryana', 'Hisar', %s, %s, 'TOTAL', %s, 0, 2, 2, %s, %s, %s)""",
                            (period, item, value, f"{period}-a", AS_OF, "complete" if complete else "provisional"))
            cur.execute("""INSERT INTO marts.reporting_rates (level, district, area, period, expected, reported, on_time,
                               reporting_rate, on_time_rate, ledger_state, built_at, due_at, completeness)
                           VALUES ('district', 'Hisar', 'Hisar', %s, 2, %s, %s, %s, %s, %s, %s, %s, %s)""",
                        (period, 2 if complete else 1, 2 if complete else 1, 1.0 if complete else 0.5,
                         1.0 if complete else 0.5, f"{period}-a", AS_OF,
                         datetime(2026, 10, 5, 23, 59, 59, tzinfo=REPORTING_TZ) if complete
                         else datetime(2026, 11, 5, 23, 59, 59, tzinfo=REPORTING_TZ),
                         "complete" if complete else "provisional"))


def correct(conn, period: str, item: str, value: int, ledger_state: str) -> None:
    """A corrected facility file, as the next marts build leaves it."""
    with conn, conn.cursor() as cur:
        cur.execute("UPDATE marts.district_monthly SET value = %s, ledger_state = %s WHERE period = %s AND item_code = %s",
                    (value, ledger_state, period, item))
        cur.execute("UPDATE marts.reporting_rates SET ledger_state = %s WHERE period = %s AND level = 'district'",
                    (ledger_state, period))


def revision_rows(conn) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute("""SELECT period, revision, status, response, responded_by, comment, superseded_by,
                              responded_at IS NOT NULL, recorded_at IS NOT NULL
                         FROM marts.district_revision ORDER BY period, revision""")
        rows = cur.fetchall()
    conn.rollback()
    return rows


def approved_csv(root, period: str) -> list[dict]:
    path = root / "exports" / period / "approved" / "district_monthly.csv"
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def response(choice: str, comment: str = "", user: str = "nodal.hisar") -> revisions.Response:
    return revisions.Response(choice, user, datetime.now(UTC), comment)


# --------------------------------------------------------------------------- the warehouse rules


def test_revisions_supersede_approve_export_and_owe(warehouse, tmp_path):
    conn = connect()
    try:
        seed(conn)
        opened = revisions.open_revisions(conn, "run@1", AS_OF)
        # only the complete month is asked; the provisional one never is
        assert [(r.period, r.revision, r.status) for r in opened] == [(COMPLETE, 1, "pending")]
        assert revisions.open_revisions(conn, "run@2", AS_OF) == []  # nothing changed
        first = RevisionKey("Hisar", COMPLETE, 1)
        assert revisions.values(conn, first) == {("1.1", "TOTAL"): 120, ("14.4.2", "TOTAL"): 7, ("9.1.3", "TOTAL"): 40}

        # a correction while revision 1 waits supersedes it; a late answer to it changes nothing
        correct(conn, COMPLETE, "1.1", 125, "b")
        (second,) = revisions.open_revisions(conn, "run@3", AS_OF + timedelta(days=1))
        assert second.key == RevisionKey("Hisar", COMPLETE, 2)
        late = revisions.record_response(conn, first, response("Approve"), AS_OF, "run@4")
        assert late.status == "superseded" and not late.published
        store = LocalStore(tmp_path / "store")
        assert publish.settle_owed(conn, store, "run@4", AS_OF) == {"exported_periods": [], "files": 0}

        done = revisions.record_response(conn, second.key, response("Approve"), AS_OF, "run@5")
        assert done.published and done.newly
        again = revisions.record_response(conn, second.key, response("Reject"), AS_OF, "run@5")
        assert again.status == "approved" and not again.newly  # a retried task records nothing twice
        assert revisions.changes_since_approved(conn, second.key) == (None, [])

        assert publish.settle_owed(conn, store, "run@6", AS_OF)["exported_periods"] == [COMPLETE]
        rows = approved_csv(tmp_path / "store", COMPLETE)
        assert {(r["item_code"], r["revision"], r["approved_value"], r["provisional_value"]) for r in rows} == {
            ("1.1", "2", "125.0", "125.0"), ("9.1.3", "2", "40.0", "40.0"), ("14.4.2", "2", "7.0", "7.0")}
        assert not (tmp_path / "store" / "exports" / PROVISIONAL).exists()
        manifest = json.loads((tmp_path / "store" / "exports" / COMPLETE / "approved" / "manifest.json").read_text())
        assert [d["revision"] for d in manifest["districts"]] == [2]
        dhis2 = [name for name in manifest["files"] if name.startswith("dhis2/") and name.endswith(".json")
                 and not name.endswith(".import.json")]
        document = json.loads((tmp_path / "store" / "exports" / COMPLETE / "approved" / dhis2[0]).read_text())
        assert document["completeDate"] == datetime.now(UTC).astimezone(REPORTING_TZ).date().isoformat()
        with conn.cursor() as cur:
            cur.execute("SELECT kind, revision, settled_run_id, settled_at IS NOT NULL FROM marts.export_owed")
            assert cur.fetchall() == [("approved", 2, "run@6", True)]
        conn.rollback()
        assert publish.settle_owed(conn, store, "run@7", AS_OF)["exported_periods"] == []  # paid once
        # the current figures are the approved revision: the period export may say the month is complete
        assert revisions.approved_dates(conn, COMPLETE).keys() == {"Hisar"}

        # the provisional figure beside the approved one follows the marts
        correct(conn, COMPLETE, "9.1.3", 41, "c")
        revisions.refresh_approved(conn)
        with conn.cursor() as cur:
            cur.execute("""SELECT approved_value, provisional_value, differs FROM marts.approved_district_monthly
                            WHERE item_code = '9.1.3'""")
            assert cur.fetchone() == (40, 41, True)
        conn.rollback()
        # a correction waits for approval: the current figures are no approved revision any more
        assert revisions.approved_dates(conn, COMPLETE) == {}
        assert revisions.approved_dates(conn, PROVISIONAL) == {}
    finally:
        conn.close()


# --------------------------------------------------------------------------- through Airflow


@pytest.fixture
def services(warehouse, mail_sink, tmp_path, scratch):
    from hmis_dev import airflow_services

    store = tmp_path / "export-store"
    env = {"HMIS_EXPORT_URL": str(store), "HMIS_VAR_DIR": str(tmp_path / "var")}
    running = airflow_services.start(load_settings(), tmp_path / "airflow", lifetime=15 * 60, extra_env=env)
    running.store = store
    try:
        yield running
    finally:
        running.stop()


def ask_and_wait(services, mail_sink, revision: int, period: str = COMPLETE):
    """Start the requests DAG as the marts' asset event would, and wait until the officer is asked."""
    stamp = datetime.now(UTC).strftime("%H%M%S%f")
    services.trigger("hmis_approval_requests", f"requests__{revision}__{stamp}")
    services.wait_run("hmis_approval_requests", f"requests__{revision}__{stamp}", timeout=180)
    run_id = f"approval__hisar__{period}__r{revision}"
    services.wait_for_form("hmis_approval", run_id, "approve")
    return run_id


def mails_to(mail_sink, address: str) -> list:
    return [m for m in mail_sink.messages() if address in str(m["To"])]


def plain(message) -> str:
    return message.get_body(("plain",)).get_content()


def test_officer_approves_corrects_and_rejects_through_airflow(warehouse, mail_sink, services):
    conn = connect()
    try:
        seed(conn)

        # 1. a complete district-month gets revision 1; the officer's e-mail carries the link
        run_1 = ask_and_wait(services, mail_sink, 1)
        assert revision_rows(conn) == [(COMPLETE, 1, "pending", None, None, None, None, False, False)]
        (request,) = mails_to(mail_sink, NODAL)
        link = f"{services.base_url}/dags/hmis_approval/runs/{run_1}/tasks/approve/required_actions?map_index=-1"
        assert link in plain(request)
        assert "revision 1 awaits your approval" in str(request["Subject"])
        form = services.hitl_detail("hmis_approval", run_1, "approve")
        assert form["subject"] == f"Approve Hisar {COMPLETE} for the state (revision 1)"
        assert "2 of 2 facilities reported" in form["body"]

        # 2. the scripted officer approves through the REST API; the approved export appears
        services.respond("hmis_approval", run_1, "approve", "Approve", "figures checked")
        assert services.wait_run("hmis_approval", run_1, timeout=240) == "success"
        rows = revision_rows(conn)
        assert rows == [(COMPLETE, 1, "approved", "Approve", "nodal.hisar", "figures checked", None, True, True)]
        exported = approved_csv(services.store, COMPLETE)
        assert {r["revision"] for r in exported} == {"1"} and len(exported) == 3
        assert not (services.store / "exports" / PROVISIONAL / "approved").exists()  # never approved, never sent
        assert services.task_state("hmis_approval", run_1, "record_rejection") == "skipped"
        assert len(mails_to(mail_sink, STATE_CELL)) == 1  # the first approval is announced, nothing changed

        # 3. a correction makes revision 2 pending; the export still shows revision 1
        correct(conn, COMPLETE, "1.1", 125, "b")
        run_2 = ask_and_wait(services, mail_sink, 2)
        assert [r[:3] for r in revision_rows(conn)] == [(COMPLETE, 1, "approved"), (COMPLETE, 2, "pending")]
        assert {r["revision"] for r in approved_csv(services.store, COMPLETE)} == {"1"}
        request_2 = mails_to(mail_sink, NODAL)[-1]
        assert "1 item differs from revision 1" in plain(request_2)

        # 4. its approval tells the state what changed
        services.respond("hmis_approval", run_2, "approve", "Approve")
        assert services.wait_run("hmis_approval", run_2, timeout=240) == "success"
        exported = {r["item_code"]: r for r in approved_csv(services.store, COMPLETE)}
        assert exported["1.1"]["revision"] == "2" and exported["1.1"]["approved_value"] == "125.0"
        note = mails_to(mail_sink, STATE_CELL)[-1]
        assert "revision 2 approved, 1 item changed" in str(note["Subject"])
        assert re.search(r"1\.1\s+TOTAL\s+120\s+125\s+\+5", plain(note))

        # 5. a rejection records the comment and returns the month to its compilers
        correct(conn, COMPLETE, "9.1.3", 400, "c")
        run_3 = ask_and_wait(services, mail_sink, 3)
        services.respond("hmis_approval", run_3, "approve", "Reject", "CHC Barwala DPT1 is ten times last month")
        assert services.wait_run("hmis_approval", run_3, timeout=240) == "success"
        assert revision_rows(conn)[-1] == (COMPLETE, 3, "rejected", "Reject", "nodal.hisar",
                                           "CHC Barwala DPT1 is ten times last month", None, True, True)
        (returned,) = mails_to(mail_sink, BMO)
        assert "Comment: CHC Barwala DPT1 is ten times last month" in plain(returned)
        assert {r["revision"] for r in approved_csv(services.store, COMPLETE)} == {"2"}

        with conn.cursor() as cur:
            cur.execute("SELECT revision, settled_at IS NOT NULL FROM marts.export_owed ORDER BY owed_id")
            assert cur.fetchall() == [(1, True), (2, True)]
            cur.execute("SELECT kind, rung, status, sent_clock_at IS NOT NULL FROM alerts.sent ORDER BY kind, rung")
            assert cur.fetchall() == [("approval_changes", "r1", "sent", True), ("approval_changes", "r2", "sent", True),
                                      ("approval_request", "r1", "sent", True), ("approval_request", "r2", "sent", True),
                                      ("approval_request", "r3", "sent", True), ("approval_returned", "r3", "sent", True)]
        conn.rollback()
        frame = pd.read_parquet(services.store / "exports" / COMPLETE / "approved" / "district_monthly.parquet")
        assert set(frame["revision"]) == {2}
    finally:
        conn.close()
