"""The alert policy: the shipped file, its checks, its calendar, and how a run applies it."""

from datetime import date, datetime, time, timedelta

import pandas as pd
import pytest

from hmis.compliance.registration_gap import find_gap
from hmis.notify.ledger import LedgerEntry
from hmis.notify.officers import Contact, Snapshot, StatusRow, plan_alerts
from hmis.notify.policy import AlertPolicyError, load_policy, parse_policy
from hmis.platform.settings import load_settings, project_root
from hmis.reference.periods import REPORTING_TZ, due_at

pytestmark = pytest.mark.unit

PERIOD = "2026-10"
DUE = due_at(PERIOD)


def at(day: int, hour: int = 6) -> datetime:
    """``hour`` o'clock IST on calendar day ``day`` after October 2026's due date."""
    return datetime.combine(DUE.date() + timedelta(days=day), time(hour), tzinfo=REPORTING_TZ)


@pytest.fixture(scope="module")
def policy():
    return load_policy(project_root() / "config" / "alert_policy.yaml")


def valid_policy() -> dict:
    return {
        "version": 1,
        "ladder": [
            {"rung": "block", "day": 1, "role": "block_medical_officer", "level": "block",
             "statuses": ["missing", "rejected", "late"]},
            {"rung": "district", "day": 3, "role": "district_nodal_officer", "level": "district"},
        ],
        "missed_rungs": "skip",
        "registration_gap": {"role": "district_nodal_officer", "level": "district", "day_of_month": 6},
    }


# --------------------------------------------------------------------------- the shipped file


def test_shipped_policy_is_the_default_ladder(policy):
    assert [(r.name, r.day, r.role, r.level, r.digest_per) for r in policy.ladder] == [
        ("block", 1, "block_medical_officer", "block", "block"),
        ("district", 3, "district_nodal_officer", "district", "district"),
        ("civil_surgeon", 7, "civil_surgeon", "district", "district"),
        ("state", 10, "state_hmis_cell", "state", "district"),
    ]
    assert policy.ladder[0].statuses == ("missing", "rejected", "late")
    assert all(r.statuses == ("missing", "rejected") for r in policy.ladder[1:])
    assert policy.missed_rungs == "skip"
    assert (policy.registration_gap.role, policy.registration_gap.day_of_month) == ("district_nodal_officer", 6)


def test_policy_path_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("HMIS_ALERT_POLICY", raising=False)
    assert load_settings().alert_policy_path == project_root() / "config" / "alert_policy.yaml"
    monkeypatch.setenv("HMIS_ALERT_POLICY", str(tmp_path / "other.yaml"))
    assert load_settings().alert_policy_path == tmp_path / "other.yaml"


# --------------------------------------------------------------------------- the calendar


def test_rungs_open_at_midnight_of_their_day_after_the_due_date(policy):
    opens = {r.name: policy.opens_at(r, PERIOD, 5) for r in policy.ladder}
    assert opens == {
        "block": datetime(2026, 11, 6, tzinfo=REPORTING_TZ),
        "district": datetime(2026, 11, 8, tzinfo=REPORTING_TZ),
        "civil_surgeon": datetime(2026, 11, 12, tzinfo=REPORTING_TZ),
        "state": datetime(2026, 11, 15, tzinfo=REPORTING_TZ),
    }
    # A configured due day moves the whole ladder.
    assert policy.opens_at(policy.ladder[0], PERIOD, 10) == datetime(2026, 11, 11, tzinfo=REPORTING_TZ)


@pytest.mark.parametrize(("moment", "due"), [
    (at(0), []), (at(1, 0) - timedelta(microseconds=1), []), (at(1, 0), ["block"]), (at(1), ["block"]),
    (at(2), ["block"]), (at(3), ["district"]), (at(7), ["civil_surgeon"]), (at(10), ["state"]),
    (at(40), ["state"]),
])
def test_only_the_latest_open_rung_is_due_when_missed_rungs_are_skipped(policy, moment, due):
    assert [r.name for r in policy.rungs_due(PERIOD, moment, 5)] == due


def test_missed_rungs_can_all_be_sent():
    policy = parse_policy({**valid_policy(), "missed_rungs": "send"})
    assert [r.name for r in policy.rungs_due(PERIOD, at(5), 5)] == ["block", "district"]


def test_late_reports_count_since_the_previous_rung(policy):
    assert policy.late_since(policy.rung("block"), PERIOD, 5) == DUE
    assert policy.late_since(policy.rung("district"), PERIOD, 5) == datetime(2026, 11, 6, tzinfo=REPORTING_TZ)
    assert policy.next_rung(policy.rung("state")) is None


def test_registration_gap_digest_is_due_from_its_day_of_month(policy):
    assert policy.gap_digest_period(at(0)) is None  # 5 November
    assert policy.gap_digest_period(at(1)) == "2026-10"  # 6 November: the October cycle
    assert policy.gap_digest_period(datetime(2027, 1, 30, 6, tzinfo=REPORTING_TZ)) == "2026-12"
    assert parse_policy({**valid_policy(), "registration_gap": None}).gap_digest_period(at(1)) is None


# --------------------------------------------------------------------------- checks


@pytest.mark.parametrize(("change", "complaint"), [
    (lambda p: p.update(colour="red"), "unknown setting(s) ['colour']"),
    (lambda p: p.update(version=2), "version"),
    (lambda p: p.update(ladder=[]), "ladder must be a non-empty list"),
    (lambda p: p["ladder"][1].update(day=1), "days must increase"),
    (lambda p: p["ladder"][1].update(rung="block"), "more than once"),
    (lambda p: p["ladder"][0].update(day=0), "day 0"),
    (lambda p: p["ladder"][0].update(day=True), "day True"),
    (lambda p: p["ladder"][0].update(day="1"), "day '1'"),
    (lambda p: p["ladder"][0].update(level="village"), "level 'village'"),
    (lambda p: p["ladder"][0].update(digest_per="district"), "one e-mail per district to a block-level"),
    (lambda p: p["ladder"][0].update(statuses=["missing", "on_time"]), "statuses"),
    (lambda p: p["ladder"][0].update(statuses=[]), "statuses"),
    (lambda p: p["ladder"][0].update(role=""), "role must be a non-empty text"),
    (lambda p: p["ladder"][0].update(recipients="all"), "unknown setting(s) ['recipients']"),
    (lambda p: p["ladder"][0].update(rung="Block Officers"), "rung name"),
    (lambda p: p.update(missed_rungs="later"), "missed_rungs is 'later'"),
    (lambda p: p["registration_gap"].update(day_of_month=31), "day_of_month 31"),
    (lambda p: p.update(registration_gap="monthly"), "registration_gap must be a mapping"),
])
def test_mistakes_are_named_with_the_file_and_the_setting(change, complaint):
    data = valid_policy()
    change(data)
    with pytest.raises(AlertPolicyError) as caught:
        parse_policy(data, "config/alert_policy.yaml")
    assert "config/alert_policy.yaml" in str(caught.value)
    assert complaint in str(caught.value)


def test_unreadable_files_are_reported(tmp_path):
    with pytest.raises(AlertPolicyError, match="HMIS_ALERT_POLICY"):
        load_policy(tmp_path / "absent.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("ladder: [\n", encoding="utf-8")
    with pytest.raises(AlertPolicyError, match="not valid YAML"):
        load_policy(broken)
    listed = tmp_path / "list.yaml"
    listed.write_text("- rung: block\n", encoding="utf-8")
    with pytest.raises(AlertPolicyError, match="must be a mapping"):
        load_policy(listed)


# --------------------------------------------------------------------------- applying the policy


def facility(fid: str, block: str, **extra) -> dict:
    return {"facility_id": fid, "name": f"Facility {fid}", "facility_type": "SC", "ownership": "public",
            "is_ayush": False, "block": block, "district": "Hisar", "district_lgd": "63", "state": "Haryana",
            "hmis_registered": True, "hmis_registered_on": date(2016, 1, 1), "opened_on": date(2000, 1, 1),
            "closed_on": None, **extra}


CONTACTS = [
    Contact("block_medical_officer", "block", "Hisar-I", "Dr. One", "bmo.hisar1@x.example", "+91-1"),
    Contact("block_medical_officer", "block", "Hisar-II", "Dr. Two", "bmo.hisar2@x.example", "+91-2"),
    Contact("district_nodal_officer", "district", "Hisar", "Dr. Nodal", "nodal@x.example", ""),
    Contact("civil_surgeon", "district", "Hisar", "Dr. Surgeon", "cs@x.example", ""),
    Contact("state_hmis_cell", "state", "Haryana", "State cell", "state@x.example", ""),
]
FACILITIES = {f["facility_id"]: f for f in (
    facility("A", "Hisar-I"), facility("B", "Hisar-I"), facility("C", "Hisar-II"), facility("D", "Hisar-II"),
    facility("E", "Adampur"),
)}


def snapshot(statuses, ledger=()) -> Snapshot:
    return Snapshot(FACILITIES, [StatusRow(f, PERIOD, s, t) for f, s, t in statuses], CONTACTS, list(ledger))


def test_day_one_tells_each_block_officer_about_their_block_only(policy):
    state = snapshot([("A", "missing", None), ("B", "late", at(0, 23) + timedelta(hours=1, minutes=30)),
                      ("C", "on_time", at(-1)), ("D", "rejected", at(-2))])
    plan = plan_alerts(policy, state, [PERIOD], at(1))
    got = {(p.rung, p.recipient): [(line.facility_id, line.status) for line in p.alert.lines] for p in plan.alerts}
    assert got == {
        ("block", "bmo.hisar1@x.example"): [("A", "missing"), ("B", "late")],
        ("block", "bmo.hisar2@x.example"): [("D", "rejected")],
    }
    assert plan.unrouted == [] and plan.cancel == {}


def test_a_facility_that_submits_drops_out_of_the_next_rung(policy):
    first = snapshot([("A", "missing", None), ("C", "missing", None)])
    sent = [LedgerEntry(f"k{n}", "non_submission", PERIOD, "block", f"Hisar/{block}", email, "sent", at(1))
            for n, (block, email) in enumerate((("Hisar-I", "bmo.hisar1@x.example"),
                                                ("Hisar-II", "bmo.hisar2@x.example")))]
    later = snapshot([("A", "late", at(2)), ("C", "missing", None)], ledger=sent)
    assert {p.rung for p in plan_alerts(policy, first, [PERIOD], at(1)).alerts} == {"block"}
    plan = plan_alerts(policy, later, [PERIOD], at(3))
    assert [(p.rung, p.recipient, [line.facility_id for line in p.alert.lines]) for p in plan.alerts] == [
        ("district", "nodal@x.example", ["C"])]
    # The district digest says who was told before.
    assert plan.alerts[0].alert.earlier == (("block_medical_officer", at(1)),)


def test_sent_alerts_are_not_planned_again_and_failed_ones_are_retried_after_their_rung(policy):
    state_rows = [("A", "missing", None), ("C", "missing", None)]
    failed = LedgerEntry("old-key", "non_submission", PERIOD, "block", "Hisar/Hisar-I", "bmo.hisar1@x.example",
                         "failed", None)
    done = LedgerEntry("k2", "non_submission", PERIOD, "district", "Hisar", "nodal@x.example", "sent", at(3))
    plan = plan_alerts(policy, snapshot(state_rows, [failed, done]), [PERIOD], at(4))
    # Hisar-II's block alert was never attempted and its rung has passed: skipped, not retried.
    assert [(p.rung, p.recipient) for p in plan.alerts] == [("block", "bmo.hisar1@x.example")]
    assert plan.already_sent == 1


def test_an_unsent_alert_with_nobody_left_to_list_is_cancelled(policy):
    failed = LedgerEntry("old-key", "non_submission", PERIOD, "block", "Hisar/Hisar-I", "bmo.hisar1@x.example",
                         "failed", None)
    plan = plan_alerts(policy, snapshot([("A", "on_time", at(-1))], [failed]), [PERIOD], at(2))
    assert plan.alerts == [] and list(plan.cancel) == ["old-key"]


def test_other_kinds_of_alert_in_the_ledger_are_left_alone(policy):
    signal = LedgerEntry("disease_signal:x", "disease_signal", PERIOD, None, "Hisar", "dso@x.example", "failed", None)
    plan = plan_alerts(policy, snapshot([("A", "on_time", at(-1))], [signal]), [PERIOD], at(2))
    assert plan.alerts == [] and plan.cancel == {}


def test_areas_without_a_contact_are_reported_not_dropped_silently(policy):
    plan = plan_alerts(policy, snapshot([("E", "missing", None)]), [PERIOD], at(1))
    assert plan.alerts == []
    assert plan.unrouted == ["block 2026-10 Hisar/Adampur: no 'block_medical_officer' contact for block "
                             "'Adampur' in registry/contacts.csv"]


def test_state_cell_gets_a_digest_per_district(policy):
    facilities = {**FACILITIES, "F": facility("F", "Hansi-I", district="Hansi")}
    state = Snapshot(facilities, [StatusRow("A", PERIOD, "missing", None), StatusRow("F", PERIOD, "missing", None)],
                     CONTACTS, [])
    plan = plan_alerts(policy, state, [PERIOD], at(10))
    assert [(p.recipient, p.area, [line.facility_id for line in p.alert.lines]) for p in plan.alerts] == [
        ("state@x.example", "Hansi", ["F"]), ("state@x.example", "Hisar", ["A"])]


# --------------------------------------------------------------------------- registration gap


def test_registration_gap_lists_open_unregistered_facilities_since_they_opened_or_were_first_listed():
    registry = pd.DataFrame([
        facility("R", "Hisar-I"),
        facility("U", "Hisar-I", ownership="private", hmis_registered=False, hmis_registered_on=None,
                 opened_on=date(2026, 1, 1)),
        facility("N", "Hisar-II", hmis_registered=False, hmis_registered_on=None, opened_on=None),
        facility("F", "Hisar-II", hmis_registered_on=date(2026, 12, 1), opened_on=None),  # registers later
        facility("C", "Hisar-II", hmis_registered=False, hmis_registered_on=None, closed_on=date(2026, 1, 1)),
        facility("O", "Hisar-II", hmis_registered=False, hmis_registered_on=None, opened_on=date(2027, 1, 1)),
    ])
    first_listed = {"N": datetime(2026, 11, 1, 6, tzinfo=REPORTING_TZ)}
    rows = find_gap(registry, first_listed, at(1))
    assert [(r.facility_id, r.hmis_registered, r.unregistered_since, r.since_source, r.days_unregistered)
            for r in rows] == [
        ("U", False, date(2026, 1, 1), "opened_on", 309),
        ("F", True, None, "unknown", None),
        ("N", False, date(2026, 11, 1), "first_listed", 5),
    ]
