"""Numbered revisions of a district-month (``marts.district_revision``) and their approval.

A district-month is asked for approval once it is complete (``marts.reporting_rates``,
district level, ``completeness = 'complete'``). Each time its inputs change (the district
row's ``ledger_state`` differs from the latest revision's) a new revision is opened as
``pending`` with the figures of ``marts.district_monthly`` frozen beside it
(``marts.district_revision_value``); the officer approves or rejects exactly those figures.

The rules, in one place:

- **Only current marts make revisions.** The backfill results of schema ``asof`` are never read.
- **One revision waits at a time.** Opening revision *n* supersedes a pending *n-1*; a
  response that arrives for a superseded revision is recorded (who, when, what they chose)
  but changes nothing: it is neither published nor returned, because the officer judged
  figures that are no longer the district's. Only the newest revision can become approved,
  so approved revisions of a district-month only ever grow, and the newest approved one is
  what the state reads (``marts.approved_district_monthly``).
- **A rejection returns the month.** The rejected revision keeps the officer's comment; the
  month is not asked again until its inputs change (a correction opens the next revision).
- **Audit.** ``created_as_of`` and ``responded_as_of`` are the runs' logical dates;
  ``created_at``, ``responded_at`` (Airflow's record of the response) and ``recorded_at``
  are real times; ``responded_by`` is the Airflow user who answered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import psycopg2.extensions

from hmis.platform.warehouse import statement

SQL = "approval/revisions.sql"
PENDING, APPROVED, REJECTED, SUPERSEDED = "pending", "approved", "rejected", "superseded"
APPROVE, REJECT = "Approve", "Reject"  # ApprovalOperator's options


@dataclass(frozen=True)
class RevisionKey:
    """One revision of one district-month."""

    district: str
    period: str
    revision: int

    @classmethod
    def from_conf(cls, conf: Mapping) -> RevisionKey:
        """The revision an approval DAG run is about (its ``conf``)."""
        missing = [name for name in ("district", "period", "revision") if conf.get(name) in (None, "")]
        if missing:
            raise ValueError(f"the approval run's conf lacks {', '.join(missing)}: it names the district-month "
                             f"and revision to approve, e.g. {{\"district\": \"Hisar\", \"period\": \"2026-09\", "
                             f"\"revision\": 1}}")
        return cls(str(conf["district"]), str(conf["period"]), int(conf["revision"]))

    def params(self) -> dict:
        return {"district": self.district, "period": self.period, "revision": self.revision}

    @property
    def label(self) -> str:
        return f"{self.district} {self.period} revision {self.revision}"


@dataclass(frozen=True)
class Revision:
    """A row of ``marts.district_revision``."""

    state: str
    district: str
    period: str
    revision: int
    ledger_state: str
    status: str
    expected: int | None
    reported: int | None
    on_time: int | None
    reporting_rate: float | None
    due_at: datetime | None
    built_at: datetime
    created_as_of: datetime
    superseded_by: int | None = None
    dag_run_id: str | None = None
    response: str | None = None
    responded_by: str | None = None
    responded_at: datetime | None = None
    comment: str | None = None

    @property
    def key(self) -> RevisionKey:
        return RevisionKey(self.district, self.period, self.revision)


@dataclass(frozen=True)
class Response:
    """What the officer answered in Airflow's approval form (or its REST API)."""

    choice: str
    responded_by: str | None
    responded_at: datetime | None
    comment: str

    @classmethod
    def from_hitl(cls, payload: Mapping | None) -> Response:
        """The approval task's return value (its XCom): ``chosen_options``, ``params_input``,
        ``responded_at`` and ``responded_by_user`` ({id, name}) as the HITL operator returns them."""
        if not payload or not payload.get("chosen_options"):
            raise ValueError("the approval task returned no response: it must finish (Approve or Reject) first")
        user = payload.get("responded_by_user") or {}
        who = user.get("name") or user.get("id") if isinstance(user, Mapping) else str(user)
        when = payload.get("responded_at")
        if isinstance(when, str):
            when = datetime.fromisoformat(when)
        comment = str((payload.get("params_input") or {}).get("comment") or "").strip()
        return cls(str(payload["chosen_options"][0]), who, when, comment)

    @property
    def approves(self) -> bool:
        return self.choice == APPROVE


@dataclass(frozen=True)
class Recorded:
    """What recording a response did: the revision's status after it, and whether this call
    changed it (False for a retried task that finds its own response already recorded)."""

    key: RevisionKey
    status: str
    newly: bool

    @property
    def published(self) -> bool:
        return self.status == APPROVED


@dataclass(frozen=True)
class Change:
    """One item whose value differs from the previous approved revision (None: absent there)."""

    item_code: str
    disaggregation: str
    before: float | None
    after: float | None

    @property
    def difference(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return self.after - self.before


def _number(value) -> float | None:
    if value is None:
        return None
    return float(value) if isinstance(value, Decimal) else value


def diff(previous: Mapping[tuple[str, str], float | None],
         current: Mapping[tuple[str, str], float | None]) -> list[Change]:
    """Items (element, disaggregation) whose value differs between two revisions, an item
    present on one side only included, in item order."""
    changes = []
    for key in sorted(set(previous) | set(current)):
        before, after = _number(previous.get(key)), _number(current.get(key))
        if before != after:
            changes.append(Change(key[0], key[1], before, after))
    return changes


def open_revisions(conn, run_id: str, as_of: datetime) -> list[Revision]:
    """Open a pending revision for every complete district-month whose inputs changed since
    its latest revision, freezing its current figures; returns the revisions opened.

    One repeatable-read transaction, so the district row's ledger state and the figures frozen
    come from the same build of the marts even while a rebuild commits.
    """
    opened: list[RevisionKey] = []
    conn.set_session(isolation_level=psycopg2.extensions.ISOLATION_LEVEL_REPEATABLE_READ)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(statement(SQL, "owed"))
            columns = [c.name for c in cur.description]
            for row in [dict(zip(columns, r)) for r in cur.fetchall()]:
                params = {**row, "run_id": run_id, "as_of": as_of}
                cur.execute(statement(SQL, "supersede"), params)
                cur.execute(statement(SQL, "insert_revision"), params)
                if cur.fetchone() is None:
                    continue  # another run opened it first
                cur.execute(statement(SQL, "freeze_values"), params)
                opened.append(RevisionKey(row["district"], row["period"], row["revision"]))
    finally:
        conn.set_session(isolation_level=psycopg2.extensions.ISOLATION_LEVEL_DEFAULT)
    return [read_revision(conn, key) for key in opened]


def pending(conn) -> list[RevisionKey]:
    """Every revision waiting for its officer (one per district-month at most)."""
    with conn.cursor() as cur:
        cur.execute(statement(SQL, "pending"))
        keys = [RevisionKey(*row) for row in cur.fetchall()]
    conn.rollback()
    return keys


def read_revision(conn, key: RevisionKey) -> Revision:
    with conn.cursor() as cur:
        cur.execute(statement(SQL, "revision"), key.params())
        row = cur.fetchone()
    conn.rollback()
    if row is None:
        raise LookupError(f"no revision {key.revision} of {key.district} {key.period} in marts.district_revision")
    revision = Revision(*row)
    return revision if revision.reporting_rate is None else \
        Revision(**{**revision.__dict__, "reporting_rate": float(revision.reporting_rate)})


def attach_run(conn, key: RevisionKey, dag_run_id: str) -> None:
    """Remember which approval DAG run asks for the revision (the first one, if asked twice)."""
    with conn, conn.cursor() as cur:
        cur.execute(statement(SQL, "attach_run"), {**key.params(), "dag_run_id": dag_run_id})


def values(conn, key: RevisionKey) -> dict[tuple[str, str], float | None]:
    """The figures the revision froze: (element, disaggregation) -> value."""
    with conn.cursor() as cur:
        cur.execute(statement(SQL, "values"), key.params())
        frozen = {(item, disaggregation): _number(value) for item, disaggregation, value in cur.fetchall()}
    conn.rollback()
    return frozen


def previous_approved(conn, key: RevisionKey) -> int | None:
    """The newest approved revision before ``key`` (None when the month was never approved)."""
    with conn.cursor() as cur:
        cur.execute(statement(SQL, "previous_approved"), key.params())
        number = cur.fetchone()[0]
    conn.rollback()
    return number


def changes_since_approved(conn, key: RevisionKey) -> tuple[int | None, list[Change]]:
    """(the previous approved revision, the items whose values differ from it); with no
    approved revision before, (None, [])."""
    before = previous_approved(conn, key)
    if before is None:
        return None, []
    return before, diff(values(conn, RevisionKey(key.district, key.period, before)), values(conn, key))


def outcome(current_status: str, response: Response) -> str:
    """The status a response gives a revision that was ``current_status`` when it arrived."""
    if current_status != PENDING:
        return current_status  # superseded while waiting (or already answered): nothing changes
    return APPROVED if response.approves else REJECTED


def record_response(conn, key: RevisionKey, response: Response, as_of: datetime, run_id: str,
                    dag_run_id: str | None = None) -> Recorded:
    """Record the officer's response in one transaction; an approval also owes the period's
    approved export (``marts.export_owed``, kind ``approved``) and refreshes what the state reads.

    Idempotent: a retried task finds the response of its own run recorded and changes nothing.
    """
    with conn, conn.cursor() as cur:
        cur.execute(statement(SQL, "lock_revision"), key.params())
        row = cur.fetchone()
        if row is None:
            raise LookupError(f"no revision {key.revision} of {key.district} {key.period} in marts.district_revision")
        status, recorded_run, recorded_response = row
        if recorded_response is not None:
            return Recorded(key, status, newly=False)
        new_status = outcome(status, response)
        cur.execute(statement(SQL, "record_response"), {
            **key.params(), "status": new_status, "response": response.choice,
            "responded_by": response.responded_by, "responded_at": response.responded_at, "as_of": as_of,
            "comment": response.comment or None, "dag_run_id": dag_run_id or recorded_run})
        if new_status == APPROVED:
            cur.execute(statement(SQL, "owe"), {**key.params(), "run_id": run_id, "as_of": as_of})
            _refresh(cur, [key.period])
    return Recorded(key, new_status, newly=True)


def _refresh(cur, periods: Sequence[str]) -> None:
    cur.execute(statement(SQL, "refresh_delete"), {"periods": list(periods)})
    cur.execute(statement(SQL, "refresh_insert"), {"periods": list(periods)})


def approved_periods(conn) -> list[str]:
    with conn.cursor() as cur:
        cur.execute(statement(SQL, "approved_periods"))
        periods = [row[0] for row in cur.fetchall()]
    conn.rollback()
    return periods


def refresh_approved(conn, periods: Sequence[str] | None = None) -> list[str]:
    """Rebuild ``marts.approved_district_monthly`` for ``periods`` (default: every period with
    an approved revision), so the provisional figures beside the approved ones are current."""
    periods = list(periods) if periods is not None else approved_periods(conn)
    if periods:
        with conn, conn.cursor() as cur:
            _refresh(cur, periods)
    return periods


def approved_dates(conn, period: str) -> dict[str, datetime]:
    """District -> when the approved revision its current figures are (of ``period``) was
    approved: the districts whose DHIS2 documents may carry a ``completeDate`` (the period
    export passes it on). A district with a correction waiting for approval is not one."""
    with conn.cursor() as cur:
        cur.execute(statement(SQL, "approved_dates"), {"period": period})
        dates = {district: approved_at for district, _revision, approved_at in cur.fetchall()}
    conn.rollback()
    return dates


def key_figures(conn, key: RevisionKey) -> tuple[list[tuple[str, float | None]], int]:
    """(the district-month's indicators from the current marts, how many items the revision froze)."""
    with conn.cursor() as cur:
        cur.execute(statement(SQL, "indicators"), key.params())
        indicators = [(name, _number(value)) for name, value in cur.fetchall()]
        cur.execute(statement(SQL, "item_count"), key.params())
        items = cur.fetchone()[0]
    conn.rollback()
    return indicators, items
