"""What the compliance report shows, read from the warehouse in one pass.

Every value is a bound parameter. Tables that later migrations add (the registration gap,
ultrasound compliance, disease signals) are looked up with ``to_regclass`` first: when one
is absent its section is ``None`` and the page says so instead of failing. The reconciliation
with the HMIS portal is ``None`` both when its mart is absent and when no item-wise report of
the district and month was pulled: its section is shown only where a reconciliation exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from hmis.compliance.registration_gap import GapRow, gap_rows
from hmis.platform.warehouse import statement
from hmis.reference.periods import due_at, shift_period

SQL = "report/queries.sql"  # this module's statements, by name

WINDOW_MONTHS = 12
REGISTRATION_GAP_TABLE = "compliance.registration_gap"
ULTRASOUND_TABLE = "marts.ultrasound_compliance"
SIGNALS_TABLE = "marts.disease_signals"
BLOCK_MONTHLY_TABLE = "marts.block_monthly"
RECONCILIATION_TABLE = "marts.portal_reconciliation"


class ReportInputError(ValueError):
    """The district or period asked for has nothing in the warehouse; the message says why."""


@dataclass(frozen=True)
class Rates:
    expected: int
    reported: int
    on_time: int
    reporting_rate: float | None
    on_time_rate: float | None


@dataclass(frozen=True)
class Facility:
    facility_id: str
    name: str
    facility_type: str
    ownership: str
    block: str


@dataclass(frozen=True)
class Status:
    status: str
    submitted_at: datetime | None
    due_at: datetime


@dataclass(frozen=True)
class Contact:
    name: str
    email: str
    phone: str | None


@dataclass(frozen=True)
class Ultrasound:
    facility_id: str
    name: str
    block: str
    scans: int
    valid: int
    share_valid: float | None
    threshold: float
    below_threshold: bool


@dataclass(frozen=True)
class Signal:
    area_level: str
    area: str
    item_code: str
    period: str
    method: str
    observed: int
    expected: float | None
    upper_bound: float | None
    alarm: bool | None
    # What the method found before the completeness rule, and the judged area-month's class:
    # a provisional month never alarms (hmis.signals.completeness) but its rise is shown.
    would_alarm: bool | None = None
    completeness: str = "complete"


@dataclass(frozen=True)
class ReconciliationRow:
    """One item whose figure differs between our totals and the portal's (status not ``match``)."""

    item_code: str
    disaggregation: str
    ours: int | None
    portal: int | None
    difference: int           # ours − portal, an empty side counting as 0
    status: str               # differs, only_ours or only_portal


@dataclass(frozen=True)
class Reconciliation:
    """The district-month against one portal pull: a monthly report, or a cumulative one."""

    basis: str                # month | financial_year_to_date
    pull_key: str
    status_as_on: datetime | None
    compared: int             # items compared
    matching: int             # of which equal
    rows: list[ReconciliationRow]


@dataclass
class ReportData:
    """Everything one district-month page needs; ``None`` sections are tables not built yet."""

    district: str
    state: str
    period: str
    periods: list[str]
    as_of: datetime
    due_at: datetime
    blocks: list[str]
    district_rates: dict[str, Rates]
    block_rates: dict[str, dict[str, Rates]]
    facilities: list[Facility]
    statuses: dict[tuple[str, str], Status]
    block_officers: dict[str, Contact]
    item_names: dict[str, tuple[str, str | None]]
    registration_gap: list[GapRow] | None = None
    ultrasound: list[Ultrasound] | None = None
    signals: list[Signal] | None = None
    # (area_level, area, item_code, period) -> accepted cases, for months the signals mart skips
    disease_counts: dict[tuple[str, str, str, str], int] = field(default_factory=dict)
    missing_tables: list[str] = field(default_factory=list)
    # None: no reconciliation with the HMIS portal for the district-month (no pull, or no mart)
    reconciliation: list[Reconciliation] | None = None


def _float(value: Decimal | float | None) -> float | None:
    return None if value is None else float(value)


def table_exists(cur, name: str) -> bool:
    """Whether ``schema.table`` exists (``to_regclass`` answers NULL, never an error)."""
    cur.execute("SELECT to_regclass(%s) IS NOT NULL", (name,))
    return bool(cur.fetchone()[0])


def districts(conn) -> list[str]:
    """Districts of the facility registry, sorted."""
    with conn.cursor() as cur:
        cur.execute("SELECT DISTINCT district FROM ref.facility ORDER BY 1")
        found = [row[0] for row in cur.fetchall()]
    conn.rollback()
    return found


def latest_period(conn, district: str | None = None) -> str | None:
    """The newest period with compliance statuses (for ``district`` if given)."""
    with conn.cursor() as cur:
        cur.execute(
            statement(SQL, "latest_period"),
            {"district": district},
        )
        found = cur.fetchone()[0]
    conn.rollback()
    return found


def _rates(row) -> Rates:
    return Rates(row[0], row[1], row[2], _float(row[3]), _float(row[4]))


def load(conn, district: str, period: str, as_of: datetime) -> ReportData:
    """Read the report's content for ``district`` and the 12 months ending with ``period``.

    Reads only; ends the connection's transaction. Raises :class:`ReportInputError` when the
    registry does not know the district.
    """
    periods = [shift_period(period, -offset) for offset in range(WINDOW_MONTHS - 1, -1, -1)]
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT min(state), array_agg(DISTINCT block ORDER BY block) FROM ref.facility WHERE district = %s",
                (district,),
            )
            state, blocks = cur.fetchone()
            if state is None:
                raise ReportInputError(f"district {district!r} is not in the facility registry (ref.facility)")
            data = ReportData(
                district=district, state=state, period=period, periods=periods, as_of=as_of,
                due_at=due_at(period), blocks=list(blocks), district_rates={}, block_rates={},
                facilities=[], statuses={}, block_officers={}, item_names={},
            )
            _load_rates(cur, data)
            _load_statuses(cur, data)
            _load_reference(cur, data)
            _load_optional(cur, data)
    finally:
        conn.rollback()
    return data


def _load_rates(cur, data: ReportData) -> None:
    cur.execute(
        statement(SQL, "reporting_rates"),
        {"periods": data.periods, "district": data.district},
    )
    for level, area, period, *numbers in cur.fetchall():
        if level == "district":
            data.district_rates[period] = _rates(numbers)
        else:
            data.block_rates.setdefault(area, {})[period] = _rates(numbers)


def _load_statuses(cur, data: ReportData) -> None:
    cur.execute(
        statement(SQL, "facility_statuses"),
        (data.district, data.periods),
    )
    seen: set[str] = set()
    for facility_id, name, facility_type, ownership, block, period, status, submitted, due in cur.fetchall():
        if facility_id not in seen:
            seen.add(facility_id)
            data.facilities.append(Facility(facility_id, name, facility_type, ownership, block))
        data.statuses[(facility_id, period)] = Status(status, submitted, due)


def _load_reference(cur, data: ReportData) -> None:
    cur.execute(
        statement(SQL, "block_contacts"),
        (data.blocks,),
    )
    for area, name, email, phone in cur.fetchall():
        data.block_officers.setdefault(area, Contact(name, email, phone))
    cur.execute("SELECT item_code, name, name_hi FROM ref.data_item")
    data.item_names = {code: (name, name_hi) for code, name, name_hi in cur.fetchall()}


def _load_optional(cur, data: ReportData) -> None:
    if table_exists(cur, REGISTRATION_GAP_TABLE):
        data.registration_gap = gap_rows(cur, data.district)
    else:
        data.missing_tables.append(REGISTRATION_GAP_TABLE)
    if table_exists(cur, ULTRASOUND_TABLE):
        cur.execute(
            statement(SQL, "ultrasound_compliance"),
            (data.district, data.period),
        )
        data.ultrasound = [
            Ultrasound(fid, name, block, scans, valid, _float(share), float(threshold), below)
            for fid, name, block, scans, valid, share, threshold, below in cur.fetchall()
        ]
    else:
        data.missing_tables.append(ULTRASOUND_TABLE)
    if table_exists(cur, SIGNALS_TABLE):
        cur.execute(
            statement(SQL, "disease_signals"),
            (data.district, data.periods),
        )
        data.signals = [
            Signal(level, area, item, period, method, observed, _float(expected), _float(bound), alarm, would,
                   completeness)
            for level, area, item, period, method, observed, expected, bound, alarm, would, completeness
            in cur.fetchall()
        ]
        _load_disease_counts(cur, data)
    else:
        data.missing_tables.append(SIGNALS_TABLE)
    if table_exists(cur, RECONCILIATION_TABLE):
        _load_reconciliation(cur, data)


def _load_reconciliation(cur, data: ReportData) -> None:
    """The month's reconciliations with the portal (monthly first), their differences kept."""
    cur.execute(statement(SQL, "portal_reconciliation"), (data.district, data.period))
    found: dict[str, dict] = {}
    for basis, pull_key, as_on, item, disaggregation, ours, portal, difference, status in cur.fetchall():
        entry = found.setdefault(basis, {"pull_key": pull_key, "as_on": as_on, "compared": 0, "matching": 0,
                                         "rows": []})
        entry["compared"] += 1
        if status == "match":
            entry["matching"] += 1
        else:
            entry["rows"].append(ReconciliationRow(item, disaggregation, ours, portal, difference, status))
    if found:
        data.reconciliation = [Reconciliation(basis, e["pull_key"], e["as_on"], e["compared"], e["matching"],
                                              e["rows"]) for basis, e in found.items()]


def _load_disease_counts(cur, data: ReportData) -> None:
    """Monthly totals of the signalled items, so charts show the months before the first evaluation."""
    items = sorted({s.item_code for s in data.signals or [] if s.alarm or s.would_alarm})
    if not items:
        return
    cur.execute(
        statement(SQL, "district_disease_counts"),
        {"district": data.district, "items": items, "periods": data.periods},
    )
    rows = cur.fetchall()
    if table_exists(cur, BLOCK_MONTHLY_TABLE):
        cur.execute(
            statement(SQL, "block_disease_counts"),
            {"district": data.district, "items": items, "periods": data.periods},
        )
        rows += cur.fetchall()
    data.disease_counts = {(level, area, item, period): value for level, area, item, period, value in rows}
