"""Tell officers which facilities have not reported, up the escalation ladder, never twice.

What is sent, to whom and when comes from the alert policy (:mod:`hmis.notify.policy`): by
default block medical officers on day 1 after the due date (their block's facilities still
missing, rejected, or received late), the district HMIS nodal officer on day 3 (a district
digest grouped by block), the Civil Surgeon on day 7 and the state HMIS cell on day 10 (a
digest per district), plus a monthly registration-gap digest to the district officer. Each
rung lists the facilities in the statuses it names at the moment of the run, so a facility
that submits between rungs drops out of the next one.

Never twice, never lost: the ledger ``alerts.sent`` (:mod:`hmis.notify.ledger`) holds one
row per (kind, period, rung, area, recipient), claimed as ``sending`` before the channel is
tried and settled as ``sent`` or ``failed`` after it (:mod:`hmis.notify.delivery`), so
retries, re-runs and backfills skip what was sent and send again what failed (with the same
Message-ID). ``alerts.sent_facility`` says which facilities each alert listed. Every moment
is the run's logical date, never the clock: ``sent_at`` is the logical date of the run that
delivered the alert.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage

from hmis.compliance.registration_gap import GapRow, read_gap
from hmis.notify import ledger
from hmis.notify.channels import Channel
from hmis.notify.channels.email import EmailChannel
from hmis.notify.delivery import Outgoing, deliver
from hmis.notify.ledger import AlertRecord, LedgerEntry, Listed, message_id_for
from hmis.notify.messages import (
    FacilityLine,
    NonSubmissionAlert,
    Recipient,
    RegistrationGapAlert,
    build_non_submission,
    build_registration_gap,
)
from hmis.notify.policy import AlertPolicy, Rung
from hmis.reference.periods import REPORTING_TZ, due_at
from hmis.reference.registry import read_registry
from hmis.report.page import render_report

log = logging.getLogger(__name__)

KIND_NON_SUBMISSION = "non_submission"
KIND_REGISTRATION_GAP = "registration_gap"
# Other alerts share the ledger (e.g. disease signals); this module plans and settles only these.
KINDS = (KIND_NON_SUBMISSION, KIND_REGISTRATION_GAP)
GAP_RUNG = "monthly"
# Whom to call about a facility: the officer of its block.
BLOCK_CONTACT_ROLE = "block_medical_officer"
_STATUS_ORDER = {"missing": 0, "rejected": 1, "late": 2, "not_registered": 3}


@dataclass(frozen=True)
class Contact:
    role: str
    level: str
    area: str
    name: str
    email: str
    phone: str


@dataclass(frozen=True)
class StatusRow:
    facility_id: str
    period: str
    status: str
    submitted_at: datetime | None


@dataclass(frozen=True)
class Snapshot:
    """What a run knows when it decides whom to tell, read once from the warehouse."""

    facilities: dict[str, dict]
    statuses: list[StatusRow]
    contacts: list[Contact]
    ledger: list[LedgerEntry]
    gap: list[GapRow] = field(default_factory=list)


@dataclass(frozen=True)
class PlannedAlert:
    kind: str
    period: str
    rung: str
    area_level: str
    area: str
    alert: NonSubmissionAlert | RegistrationGapAlert

    @property
    def recipient(self) -> str:
        return self.alert.recipient.email

    @property
    def natural_key(self) -> tuple:
        return (self.kind, self.period, self.rung, self.area, self.recipient)

    @property
    def new_key(self) -> str:
        return ":".join((self.kind, self.period, self.rung, self.area, self.recipient))

    def build(self, as_of: datetime, sender: str, message_id: str) -> EmailMessage:
        if isinstance(self.alert, RegistrationGapAlert):
            return build_registration_gap(self.alert, as_of, sender, message_id)
        return build_non_submission(self.alert, as_of, sender, message_id)

    def record(self, key: str, subject: str, message_id: str) -> AlertRecord:
        """The ledger row of this alert, with the facilities it lists."""
        return AlertRecord(
            key=key, kind=self.kind, period=self.period, rung=self.rung, area_level=self.area_level,
            area=self.area, recipient=self.recipient, subject=subject, message_id=message_id,
            listed=tuple(Listed(line.facility_id, line.status, line.days, line.submitted_at)
                         for line in self.alert.lines),
        )


@dataclass
class Plan:
    alerts: list[PlannedAlert] = field(default_factory=list)
    already_sent: int = 0
    cancel: dict[str, str] = field(default_factory=dict)  # alert_key -> why
    unrouted: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- planning


def plan_alerts(policy: AlertPolicy, snapshot: Snapshot, periods: list[str], as_of: datetime,
                due_day: int = 5) -> Plan:
    """Decide which alerts this run sends, from the policy, the statuses and the ledger.

    An alert is planned when its rung is due (see :meth:`AlertPolicy.rungs_due`) and the
    ledger has not recorded it as sent, or when the ledger holds it unsent from an earlier
    run (a failed send is always retried). An unsent alert that no longer lists anyone, or
    whose rung left the policy, is cancelled.
    """
    plan = Plan()
    ours = [entry for entry in snapshot.ledger if entry.kind in KINDS]
    recorded = {entry.natural_key: entry for entry in ours}
    unsettled = {entry.natural_key: entry for entry in ours if entry.status != "sent"}
    produced: set[tuple] = set()

    def consider(candidates: list[PlannedAlert], due: bool) -> None:
        for candidate in candidates:
            entry = recorded.get(candidate.natural_key)
            produced.add(candidate.natural_key)
            if entry is not None and entry.status == "sent":
                plan.already_sent += 1
            elif entry is not None or due:
                plan.alerts.append(candidate)

    for period in periods:
        due_rungs = policy.rungs_due(period, as_of, due_day)
        retry_rungs = {e.rung for e in unsettled.values() if e.kind == KIND_NON_SUBMISSION and e.period == period}
        for rung in policy.ladder:
            if rung in due_rungs or rung.name in retry_rungs:
                consider(_rung_alerts(policy, rung, period, snapshot, as_of, due_day, plan.unrouted),
                         due=rung in due_rungs)

    gap_period = policy.gap_digest_period(as_of)
    gap_retries = {e.period for e in unsettled.values() if e.kind == KIND_REGISTRATION_GAP}
    for cycle in sorted(gap_retries | ({gap_period} if gap_period else set())):
        if gap_period and cycle < gap_period:
            continue  # an unsent digest of an earlier month is replaced by this month's
        consider(_gap_alerts(policy, cycle, snapshot, plan.unrouted), due=cycle == gap_period)

    for key, entry in unsettled.items():
        if key in produced:
            continue
        if entry.kind == KIND_REGISTRATION_GAP and gap_period and entry.period < gap_period:
            plan.cancel[entry.alert_key] = f"replaced by the registration-gap digest for {gap_period}"
        elif entry.kind == KIND_NON_SUBMISSION and entry.rung not in {r.name for r in policy.ladder}:
            plan.cancel[entry.alert_key] = f"rung {entry.rung!r} is no longer in the alert policy"
        else:
            plan.cancel[entry.alert_key] = "no facility to report any more, or no such recipient"
    return plan


def _local_date(moment: datetime):
    return moment.astimezone(REPORTING_TZ).date()


def _block_contacts(contacts: list[Contact]) -> dict[str, Contact]:
    found: dict[str, Contact] = {}
    for contact in sorted(contacts, key=lambda c: c.email):
        if contact.role == BLOCK_CONTACT_ROLE and contact.level == "block":
            found.setdefault(contact.area, contact)
    return found


def _recipients(contacts: list[Contact], role: str, level: str, area: str) -> list[Recipient]:
    return [Recipient(c.role, c.name, c.email)
            for c in sorted(contacts, key=lambda c: c.email)
            if c.role == role and c.level == level and c.area == area]


def _area(district: str, block: str | None) -> str:
    return f"{district}/{block}" if block else district


def _within(area: str, district: str, block: str | None) -> bool:
    """Whether an alert about ``area`` covered the facilities of this district or block."""
    return area == district or (block is not None and area == _area(district, block)) or (
        block is None and area.startswith(district + "/"))


def _rung_alerts(policy: AlertPolicy, rung: Rung, period: str, snapshot: Snapshot, as_of: datetime,
                 due_day: int, unrouted: list[str]) -> list[PlannedAlert]:
    """The rung's alerts for ``period``: one per area and recipient that has facilities to list."""
    due = due_at(period, due_day)
    late_since = policy.late_since(rung, period, due_day)
    overdue = (_local_date(as_of) - _local_date(due)).days
    officers = _block_contacts(snapshot.contacts)
    groups: dict[tuple[str, str, str | None], list[FacilityLine]] = {}
    for row in snapshot.statuses:
        facility = snapshot.facilities.get(row.facility_id)
        if row.period != period or facility is None or row.status not in rung.statuses:
            continue
        if row.status == "late":
            if row.submitted_at is None or not late_since < row.submitted_at <= as_of:
                continue
            days = (_local_date(row.submitted_at) - _local_date(due)).days
        elif row.status in ("missing", "rejected"):
            days = overdue
        else:
            continue
        officer = officers.get(facility["block"])
        line = FacilityLine(
            facility_id=row.facility_id, name=facility["name"], facility_type=facility["facility_type"],
            ownership=facility["ownership"], block=facility["block"], district=facility["district"],
            status=row.status, days=days, contact_name=officer.name if officer else "",
            contact_phone=officer.phone if officer else "", submitted_at=row.submitted_at,
        )
        block = facility["block"] if rung.digest_per == "block" else None
        groups.setdefault((facility["state"], facility["district"], block), []).append(line)

    following = policy.next_rung(rung)
    next_step = (following.role, policy.opens_at(following, period, due_day)) if following else None
    earlier_rungs = {r.name: r.role for r in policy.ladder[:policy.ladder.index(rung)]}
    planned = []
    for (state, district, block), lines in sorted(groups.items(), key=lambda item: (item[0][0], item[0][1],
                                                                                    item[0][2] or "")):
        lines.sort(key=lambda line: (line.block, _STATUS_ORDER[line.status], line.facility_id))
        contact_area = {"block": block or "", "district": district, "state": state}[rung.level]
        recipients = _recipients(snapshot.contacts, rung.role, rung.level, contact_area)
        if not recipients:
            unrouted.append(f"{rung.name} {period} {_area(district, block)}: no '{rung.role}' contact "
                            f"for {rung.level} '{contact_area}' in registry/contacts.csv")
            continue
        earlier: dict[str, datetime] = {}
        for entry in snapshot.ledger:
            if (entry.kind == KIND_NON_SUBMISSION and entry.period == period and entry.status == "sent"
                    and entry.rung in earlier_rungs and entry.sent_at and _within(entry.area or "", district, block)):
                role = earlier_rungs[entry.rung]
                earlier[role] = min(earlier.get(role, entry.sent_at), entry.sent_at)
        for recipient in recipients:
            alert = NonSubmissionAlert(
                period=period, due=due, rung=rung.name, day=rung.day, district=district, block=block,
                recipient=recipient, lines=tuple(lines), late_since=late_since, next_step=next_step,
                earlier=tuple(sorted(earlier.items(), key=lambda item: item[1])),
            )
            planned.append(PlannedAlert(KIND_NON_SUBMISSION, period, rung.name, rung.digest_per,
                                        _area(district, block), alert))
    return planned


def _gap_alerts(policy: AlertPolicy, cycle: str, snapshot: Snapshot, unrouted: list[str]) -> list[PlannedAlert]:
    gap_policy = policy.registration_gap
    if gap_policy is None:
        return []
    officers = _block_contacts(snapshot.contacts)
    groups: dict[tuple[str, str, str | None], list[FacilityLine]] = {}
    for row in snapshot.gap:
        officer = officers.get(row.block)
        block = row.block if gap_policy.digest_per == "block" else None
        groups.setdefault((row.state, row.district, block), []).append(FacilityLine(
            facility_id=row.facility_id, name=row.name, facility_type=row.facility_type,
            ownership=row.ownership, block=row.block, district=row.district, status="not_registered",
            days=row.days_unregistered or 0, contact_name=officer.name if officer else "",
            contact_phone=officer.phone if officer else "", since=row.unregistered_since,
        ))
    planned = []
    for (state, district, block), lines in sorted(groups.items(), key=lambda item: (item[0][0], item[0][1],
                                                                                    item[0][2] or "")):
        contact_area = {"block": block or "", "district": district, "state": state}[gap_policy.level]
        recipients = _recipients(snapshot.contacts, gap_policy.role, gap_policy.level, contact_area)
        if not recipients:
            unrouted.append(f"registration gap {_area(district, block)}: no '{gap_policy.role}' contact "
                            f"for {gap_policy.level} '{contact_area}' in registry/contacts.csv")
        for recipient in recipients:
            alert = RegistrationGapAlert(period=cycle, district=district, block=block, recipient=recipient,
                                         lines=tuple(lines))
            planned.append(PlannedAlert(KIND_REGISTRATION_GAP, cycle, GAP_RUNG, gap_policy.digest_per,
                                        _area(district, block), alert))
    return planned


# --------------------------------------------------------------------------- warehouse


def read_snapshot(conn, periods: list[str]) -> Snapshot:
    """Registry, statuses of ``periods``, contacts, registration gap and their ledger rows."""
    registry = read_registry(conn)
    facilities = {rec["facility_id"]: rec for rec in registry.to_dict("records")}
    with conn.cursor() as cur:
        cur.execute(
            "SELECT facility_id, period, status, submitted_at FROM compliance.facility_status WHERE period = ANY(%s)",
            (periods,),
        )
        statuses = [StatusRow(*row) for row in cur.fetchall()]
        cur.execute("SELECT role, level, area, name, email, coalesce(phone, '') FROM ref.contact")
        contacts = [Contact(*row) for row in cur.fetchall()]
    conn.rollback()
    return Snapshot(facilities, statuses, contacts, ledger.read_entries(conn, periods, KINDS), read_gap(conn))


def _attach_report(conn, message: EmailMessage, district: str, period: str, as_of: datetime) -> None:
    """District digests carry the district's compliance page for the month (rates by block,
    trend, heatmap, registration gap). A page that cannot be built never holds up the alert."""

    try:
        page = render_report(conn, district, period, as_of)
    except Exception as exc:  # the alert matters more than its attachment
        log.warning("no compliance page attached for %s %s: %s", district, period, exc)
        conn.rollback()
        return
    message.add_attachment(page, subtype="html", charset="utf-8",
                           filename=f"hmis-compliance-{district.lower()}-{period}.html")


def _outgoing(conn, plan: Plan, keys: dict[tuple, str], as_of: datetime,
              sender: str) -> Iterator[Outgoing[EmailMessage]]:
    """The planned alerts as messages, built one at a time as the delivery loop asks."""
    for planned in plan.alerts:
        key = keys.get(planned.natural_key, planned.new_key)
        message_id = message_id_for(key, sender)
        message = planned.build(as_of, sender, message_id)
        if planned.kind == KIND_NON_SUBMISSION and planned.area_level == "district":
            _attach_report(conn, message, planned.area, planned.period, as_of)
        yield Outgoing(planned.record(key, str(message["Subject"]), message_id), message,
                       f"{planned.recipient} ({planned.kind} {planned.period} {planned.rung})")


def send_alerts(conn, policy: AlertPolicy, periods: list[str], as_of: datetime, run_id: str, sender: str,
                due_day: int = 5, channel: Channel | None = None) -> dict:
    """Send every alert the policy makes due at ``as_of`` and retry unsent ones, each once.

    Alerts go by ``channel`` (e-mail through ``smtp_default`` unless given). Returns counts
    (``alerts_sent``, ``alerts_already_sent``, ``alerts_failed``, ``alerts_cancelled``,
    ``alerts_unrouted``), per-rung counts of sent alerts and the errors. The caller decides
    what a failure means (the task fails so Airflow retries).
    """
    channel = channel or EmailChannel()
    with ledger.alert_lock(conn):
        snapshot = read_snapshot(conn, periods)
        plan = plan_alerts(policy, snapshot, periods, as_of, due_day)
        keys = {entry.natural_key: entry.alert_key for entry in snapshot.ledger if entry.kind in KINDS}
        cancelled = ledger.cancel(conn, plan.cancel, KINDS, run_id, as_of)
        done = deliver(conn, channel, _outgoing(conn, plan, keys, as_of, sender), run_id, as_of)
        for line in plan.unrouted:
            log.warning("no recipient: %s", line)
    by_rung: dict[str, int] = {}
    for record in done.sent:
        by_rung[record.rung] = by_rung.get(record.rung, 0) + 1
    return {
        "alerts_sent": len(done.sent), "alerts_already_sent": plan.already_sent + done.already_sent,
        "alerts_failed": done.failed, "alerts_cancelled": cancelled, "alerts_unrouted": len(plan.unrouted),
        "sent_by_rung": by_rung, "errors": done.errors, "unrouted": plan.unrouted,
    }
