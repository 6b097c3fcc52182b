"""Deterministic landing stores at district, state and national scale, in the official formats.

:func:`generate` writes what the pipeline reads — ``registry/facilities.csv``,
``registry/contacts.csv`` and one long CSV per facility under ``submissions/<period>/`` —
for one month, fast enough that writing the data never dominates a benchmark: values are
drawn per district and facility type with numpy and turned into CSV text with
``numpy.strings``, so Python only loops once per file, not once per value.

Every facility sends the real HMIS format of its type (docs/formats.md):
``load_catalogue().expected_items(facility_type, period)``, each item under its own code in
that format (``item.code``). So a sub-centre sends the 147 items of the Sub-Centre format, a
PHC, CHC, private hospital or nursing home the 297 of the CHC facility format, a clinic 196
and an AYUSH facility 50 of them, and a sub-district or district hospital the 372 codes of the
2017 consolidation, whose 42 stock items (M17-M20) take one row per sub-item (540 rows, with
a ``sub_item`` column). Values follow the item's type:

* counts: whole numbers, Poisson around the facility's volume of the data element
  (``item.element``): the type's size relative to a district hospital
  (:data:`TYPE_SIZE`) times the element's district-hospital mean (a quarter of its typical
  maximum, ``src/hmis/reference/typical_max.csv``, or a default by section);
* stock (the five sub-items): opening balance, received, unusable, distributed and total
  stock, with ``5 = 1 + 2 - 3 - 4`` and all >= 0;
* status: ``Adequate``, now and then ``Inadequate``;
* date: a real date ``DD/MM/YYYY`` in the month or up to 20 days before it;
* percentage: 0-100 with two decimals, e.g. ``85.53``.

Counts are then settled per data element so that every rule and consistency check of
``expectations/validation_rules.yaml`` holds (positives within tests, parts within wholes,
births at least deliveries, Td1 within 10 % of ANC registrations, ...); :func:`generate` checks
the settled values and fails rather than write a clean file a rule would flag.

The same :class:`ScaleSpec` always gives byte-identical files with identical modification
times. Every facility is registered on HMIS and open, so all of them are expected reporters.
Per facility (seeded draw): 5 % send nothing (``missing``), 9 % send a good file after the due
date but before the run (``late``), 0.5 % send a file with a negative count (blocking:
``rejected``), the rest a good file on time. Then about 2 in 1,000 of the counts that can be
(elements with a typical maximum that no rule involves) are set above their maximum, so the
warning path is exercised too without breaking a rule.
"""

from __future__ import annotations

import csv
import io
import os
import zlib
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

import numpy as np

from hmis.platform.settings import load_settings
from hmis.quality.items import typical_max
from hmis.quality.rules import RULES_FILE, RuleSet, load_rules
from hmis.reference.formats import FACILITY_TYPES, STATUS_VALUES, TOTAL, Item, load_catalogue
from hmis.reference.periods import REPORTING_TZ, due_at, period_end, period_start
from hmis.reference.registry import CONTACT_COLUMNS, FACILITY_COLUMNS

HEADER = "facility_id,period,item_code,value\n"
HEADER_SUB_ITEM = "facility_id,period,item_code,value,sub_item\n"
PERIOD = "2026-10"
SEED = 20261106

HARYANA_DISTRICTS = (
    "Ambala", "Bhiwani", "Charkhi Dadri", "Faridabad", "Fatehabad", "Gurugram", "Hisar", "Jhajjar",
    "Jind", "Kaithal", "Karnal", "Kurukshetra", "Mahendragarh", "Nuh", "Palwal", "Panchkula",
    "Panipat", "Rewari", "Rohtak", "Sirsa", "Sonipat", "Yamunanagar",
)
HISAR_BLOCKS = ("Hisar-I", "Hisar-II", "Adampur", "Agroha", "Barwala", "Uklana", "Narnaund", "Hansi-I", "Hansi-II")

# The facilities on HMIS of a district, by type: mostly sub-centres and PHCs, a few CHCs, one or
# two sub-district hospitals, and the private and AYUSH institutions that report (Haryana's mix:
# about 2,650 SCs, 530 PHCs, 130 CHCs, 45 SDHs and 22 DHs beside the private sector). Every
# district also has its district hospital (the first facility), whatever the draw.
TYPE_SHARES: tuple[tuple[str, float], ...] = (
    ("SC", 0.50), ("PHC", 0.146), ("CHC", 0.04), ("SDH", 0.008), ("DH", 0.001),
    ("PVT_HOSPITAL", 0.09), ("NURSING_HOME", 0.07), ("CLINIC", 0.07), ("AYUSH", 0.075),
)
# A facility's volume of any service relative to a district hospital's (before a per-facility
# factor of 0.5-1.5).
TYPE_SIZE = {"SC": 0.02, "PHC": 0.06, "CHC": 0.15, "SDH": 0.4, "DH": 1.0,
             "PVT_HOSPITAL": 0.06, "NURSING_HOME": 0.03, "CLINIC": 0.02, "AYUSH": 0.02}
PRIVATE = {"PVT_HOSPITAL", "NURSING_HOME", "CLINIC"}

P_MISSING, P_LATE, P_REJECTED = 0.05, 0.09, 0.005
P_ABOVE_MAX = 0.002          # per count that can be flagged without breaking a rule
P_INADEQUATE = 0.08          # a drug or vaccine reported short in a month
LAST_SUPPLY_DAYS_BEFORE = 20
DH_MEAN_SHARE_OF_MAX = 0.25  # a district hospital's usual month is a quarter of the typical maximum
# A district hospital's mean month for elements without a typical maximum, by section keyword
# (first match), and for the stock items (monthly use, by module of the consolidation).
_SECTION_MEANS = (("death", 1.5), ("Patient Services", 100.0), ("Laboratory", 200.0), ("Immunisation", 60.0),
                  ("Ante Natal", 60.0), ("Family Planning", 20.0), ("Childhood", 15.0), ("NVBDCP", 20.0))
_DEFAULT_MEAN = 15.0
_STOCK_USE = {17: 600.0, 18: 400.0, 19: 1500.0, 20: 2000.0}

OUTCOMES = ("on_time", "late", "missing", "rejected")


@dataclass(frozen=True)
class ScaleSpec:
    """A benchmark data set: how many states, districts and facilities, and the facility-type
    mix, for one month. A file's rows follow from its facility's format, not from the spec."""

    name: str
    states: int
    districts_per_state: int
    facilities_per_district: int
    type_shares: tuple[tuple[str, float], ...] = TYPE_SHARES
    blocks_per_district: int = 9
    period: str = PERIOD
    seed: int = SEED

    def __post_init__(self) -> None:
        unknown = [t for t, _ in self.type_shares if t not in FACILITY_TYPES]
        if unknown:
            raise ValueError(f"unknown facility type(s) {unknown}; expected among {FACILITY_TYPES}")
        if "DH" not in dict(self.type_shares):
            raise ValueError("type_shares must list DH (every district has its district hospital)")

    @property
    def districts(self) -> int:
        return self.states * self.districts_per_state

    @property
    def facilities(self) -> int:
        return self.districts * self.facilities_per_district


SCALES: dict[str, ScaleSpec] = {
    # Hisar district as the district's figures describe it: 266 institutions on HMIS.
    "district": ScaleSpec("district", states=1, districts_per_state=1, facilities_per_district=266),
    # Haryana: 22 districts, 6,050 facilities.
    "state": ScaleSpec("state", states=1, districts_per_state=22, facilities_per_district=275),
    # 10,000 facility-months: the size at which validation is reported on its own
    # (run with --skip tasks --skip incremental --skip baselines).
    "validate10k": ScaleSpec("validate10k", states=1, districts_per_state=40, facilities_per_district=250),
    # India: 36 states and UTs, 720 districts, 201,600 facilities.
    "national": ScaleSpec("national", states=36, districts_per_state=20, facilities_per_district=280),
}


def run_dates(spec: ScaleSpec) -> tuple[datetime, datetime]:
    """The logical dates of the full run (06:00 IST the day after the due date) and of the
    incremental run one day later."""
    first = due_at(spec.period).replace(hour=6, minute=0, second=0, microsecond=0) + timedelta(days=1)
    return first, first + timedelta(days=1)


# --------------------------------------------------------------------------- rules


@cache
def _ruleset() -> RuleSet:
    return load_rules(load_settings().expectations_dir / RULES_FILE)


def rule_elements() -> frozenset[str]:
    """Every data element some rule or consistency check reads."""
    ruleset = _ruleset()
    return frozenset(e for r in ruleset.rules for e in r.items) | frozenset(
        e for c in ruleset.consistency for e in c.a + c.b)


def _constraints(elements: list[str]) -> list[tuple]:
    """(operator, left columns, right columns[, tolerance]) of every rule and consistency check
    that is evaluated on a file holding the count ``elements`` (columns in that order), with
    what the rule's missing-value strategy makes of the elements the format lacks: a side's
    missing element counts as 0 where the rule is evaluated at all."""
    column = {e: i for i, e in enumerate(elements)}
    out = []
    for rule in _ruleset().rules:
        left = [column[e] for e in rule.left if e in column]
        right = [column[e] for e in rule.right if e in column]
        complete = len(left) == len(rule.left) and len(right) == len(rule.right)
        if rule.missing_value_strategy == "skip_if_any_missing" and not complete:
            continue
        if rule.missing_value_strategy == "skip_if_all_missing" and not left and not right:
            continue
        if rule.operator in ("compulsory_pair", "exclusive_pair"):
            if rule.operator == "exclusive_pair" and left and right:
                raise NotImplementedError(f"{rule.id}: an exclusive pair of items one format has both of")
            continue  # every count of a clean file is reported, so a compulsory pair holds
        if rule.operator == "!=":
            raise NotImplementedError(f"{rule.id}: the generator cannot settle '!='")
        out.append((rule.operator, left, right))
    for check in _ruleset().consistency:
        if not all(e in column for e in check.a + check.b):
            continue  # skipped where an item is missing
        a, b = [column[e] for e in check.a], [column[e] for e in check.b]
        if check.dropout_not_negative:
            out.append(("<=", b, a))
        else:
            out.append(("~", b, a, float(check.max_relative_difference or 0) / 2))
    return out


def _settle(values: np.ndarray, constraints: list[tuple], rng: np.random.Generator, passes: int = 5) -> None:
    """Adjust the counts ``values`` (facilities x elements) in place until each row meets
    every constraint; a few passes settle chains such as low birth weight <= weighed <= live
    births. ``~`` sets the left side within the tolerance below the right side."""
    def shrink(cols, total, limit):
        over = total > np.maximum(limit, 0)
        if over.any() and cols:
            ratio = np.maximum(limit[over], 0) / total[over]
            values[np.ix_(over, cols)] = np.floor(values[np.ix_(over, cols)] * ratio[:, None])

    for _ in range(passes):
        for constraint in constraints:
            op, left, right = constraint[:3]
            lhs = values[:, left].sum(axis=1)
            rhs = values[:, right].sum(axis=1)
            if op in ("<=", "<"):
                shrink(left, lhs, rhs - (op == "<"))
            elif op in (">=", ">"):
                short = rhs + (op == ">") - lhs
                if left:
                    values[:, left[0]] += np.maximum(short, 0)
                else:
                    shrink(right, rhs, lhs - (op == ">"))
            elif op == "==":
                values[:, left[0]] = np.maximum(values[:, left[0]] + rhs - lhs, 0)
            elif op == "~":
                factor = 1.0 - rng.uniform(0.0, constraint[3], size=len(values))
                target = np.floor(rhs * factor)
                values[:, left[0]] = np.maximum(values[:, left[0]] + target - lhs, 0)


def _broken(values: np.ndarray, constraints: list[tuple]) -> np.ndarray:
    """Per row, whether any constraint fails (the generator's own check before writing)."""
    bad = np.zeros(len(values), dtype=bool)
    for constraint in constraints:
        op, left, right = constraint[:3]
        lhs = values[:, left].sum(axis=1)
        rhs = values[:, right].sum(axis=1)
        if op == "~":
            bad |= np.abs(lhs - rhs) > np.maximum(lhs, rhs) * 2 * constraint[3] + 1
        else:
            bad |= ~{"<=": np.less_equal, "<": np.less, ">=": np.greater_equal, ">": np.greater,
                     "==": np.equal}[op](lhs, rhs)
    return bad


# --------------------------------------------------------------------------- formats


class Layout:
    """The rows one facility type's file holds for a month, in its format's order, and how
    each row's value is made."""

    def __init__(self, facility_type: str, period: str):
        catalogue = load_catalogue()
        self.facility_type = facility_type
        self.format_id = catalogue.format_for(facility_type, period).format_id
        self.items: tuple[Item, ...] = tuple(catalogue.expected_items(facility_type, period))
        self.has_stock = any(item.value_type == "stock" for item in self.items)
        self.header = HEADER_SUB_ITEM if self.has_stock else HEADER
        codes, subs, kinds, owners = [], [], [], []
        for index, item in enumerate(self.items):
            for disaggregation in item.disaggregations:
                codes.append(item.code)
                subs.append("" if disaggregation == TOTAL else disaggregation)
                kinds.append(item.value_type)
                owners.append(index)
        self.codes, self.sub_items, self.value_types = tuple(codes), tuple(subs), tuple(kinds)
        kinds_array, owners_array = np.array(kinds), np.array(owners)

        limits = typical_max()
        count_rows = np.flatnonzero(kinds_array == "count")
        self.count_rows = count_rows
        self.count_elements = [self.items[owners[r]].element for r in count_rows]
        self.count_means = np.array([_dh_mean(self.items[owners[r]], limits) for r in count_rows])
        self.count_limits = np.array([limits.get(e, -1) for e in self.count_elements], dtype=np.int64)
        self.constraints = _constraints(self.count_elements)
        in_rules = rule_elements()
        self.above_max_columns = np.array([i for i, e in enumerate(self.count_elements)
                                           if e in limits and e not in in_rules], dtype=np.int64)
        # The revision of a file raises one count that no rule reads (so it stays clean).
        free = [r for r, e in zip(count_rows, self.count_elements) if e not in in_rules and e not in limits]
        if not free:
            raise RuntimeError(f"{facility_type}: no count outside the rules to revise")
        self.revision_row = int(free[-1])

        stock_items = [i for i, item in enumerate(self.items) if item.value_type == "stock"]
        self.stock_rows = np.array([np.flatnonzero(owners_array == i) for i in stock_items],
                                   dtype=np.int64).reshape(len(stock_items), 5 if stock_items else 0)
        if self.stock_rows.size and self.stock_rows.shape[1] != 5:
            raise RuntimeError(f"{self.format_id}: a stock item without its five sub-items")
        self.stock_use = np.array([_STOCK_USE.get(self.items[i].module, 500.0) for i in stock_items])
        self.status_rows = np.flatnonzero(kinds_array == "status")
        self.date_rows = np.flatnonzero(kinds_array == "date")
        self.percentage_rows = np.flatnonzero(kinds_array == "percentage")
        known = {"count", "stock", "status", "date", "percentage"}
        if set(kinds) - known:
            raise RuntimeError(f"{self.format_id}: value types {set(kinds) - known} the generator does not make")
        # "<code>," before each value, and what follows it: the sub-item column, the line end.
        self.code_cells = np.array([f"{c}," for c in codes])
        self.tail_cells = np.array([f",{s}\n" for s in subs] if self.has_stock else ["\n"] * len(codes))

    @property
    def rows(self) -> int:
        return len(self.codes)


def _dh_mean(item: Item, limits: dict[str, int]) -> float:
    """A district hospital's mean month of a count element."""
    if item.element in limits:
        return limits[item.element] * DH_MEAN_SHARE_OF_MAX
    base = next((mean for key, mean in _SECTION_MEANS if key.casefold() in item.section.casefold()), _DEFAULT_MEAN)
    # A stable spread between elements of one section (0.5-1.5 times), the same in every run.
    return base * (0.5 + (zlib.crc32(item.element.encode()) % 1000) / 1000)


@cache
def layout(facility_type: str, period: str = PERIOD) -> Layout:
    return Layout(facility_type, period)


def rows_per_file(spec: ScaleSpec) -> dict[str, int]:
    """Facility type -> rows of its file in the spec's month."""
    return {t: layout(t, spec.period).rows for t, _ in spec.type_shares}


def expected_rows_per_file(spec: ScaleSpec) -> float:
    """The mean rows of a file under the spec's type mix (before the district hospitals)."""
    shares = dict(spec.type_shares)
    total = sum(shares.values())
    return sum(share / total * layout(t, spec.period).rows for t, share in shares.items())


def _date_cells(period: str) -> np.ndarray:
    first = period_start(period) - timedelta(days=LAST_SUPPLY_DAYS_BEFORE)
    days = (period_end(period) - first).days + 1
    return np.array([(first + timedelta(days=d)).strftime("%d/%m/%Y") for d in range(days)])


def _values(lay: Layout, size: np.ndarray, rng: np.random.Generator, dates: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray]:
    """Cells (facilities x rows, as text) of clean files for facilities of one type, and the
    settled counts (facilities x count elements)."""
    n = len(size)
    cells = np.empty((n, lay.rows), dtype="<U12")
    counts = rng.poisson(size[:, None] * lay.count_means[None, :]).astype(np.int64)
    _settle(counts, lay.constraints, rng)
    if _broken(counts, lay.constraints).any():
        raise RuntimeError(f"{lay.facility_type}: generated counts break a validation rule")
    cells[:, lay.count_rows] = counts.astype(np.str_)
    if lay.stock_rows.size:
        use = size[:, None] * lay.stock_use[None, :]
        opening = rng.poisson(use * rng.uniform(1.0, 1.8, size=use.shape))
        closing = rng.poisson(use * rng.uniform(1.0, 1.8, size=use.shape))
        distributed = rng.poisson(use)
        unusable = rng.binomial(opening, 0.005)
        # Receipts make the books balance; when the month needed none, more was handed out.
        received = closing - opening + unusable + distributed
        distributed = np.where(received < 0, distributed - received, distributed)
        received = np.maximum(received, 0)
        for k, part in enumerate((opening, received, unusable, distributed, closing)):
            cells[:, lay.stock_rows[:, k]] = part.astype(np.str_)
    if lay.status_rows.size:
        short = rng.random((n, len(lay.status_rows))) < P_INADEQUATE
        cells[:, lay.status_rows] = np.where(short, STATUS_VALUES[1], STATUS_VALUES[0])
    if lay.date_rows.size:
        cells[:, lay.date_rows] = dates[rng.integers(0, len(dates), size=(n, len(lay.date_rows)))]
    if lay.percentage_rows.size:
        usual = rng.uniform(68.0, 92.0, size=(n, 1))
        score = np.clip(usual + rng.normal(0.0, 2.5, size=(n, len(lay.percentage_rows))), 0.0, 100.0)
        cells[:, lay.percentage_rows] = np.char.mod("%.2f", score)
    return cells, counts


# --------------------------------------------------------------------------- layout


@dataclass(frozen=True)
class District:
    index: int
    state: str
    name: str
    lgd: str
    blocks: tuple[str, ...]


def districts(spec: ScaleSpec) -> list[District]:
    """Every district of the spec, with its state, LGD-like code and blocks."""
    result = []
    for s in range(spec.states):
        state = "Haryana" if spec.states == 1 else f"State {s + 1:02d}"
        for d in range(spec.districts_per_state):
            index = s * spec.districts_per_state + d
            if spec.states == 1 and spec.districts_per_state == 1:
                name, blocks = "Hisar", HISAR_BLOCKS
            else:
                if spec.states == 1 and spec.districts_per_state <= len(HARYANA_DISTRICTS):
                    name = HARYANA_DISTRICTS[d]
                else:
                    name = f"S{s + 1:02d} District {d + 1:02d}"
                blocks = tuple(f"{name} Block {b + 1}" for b in range(spec.blocks_per_district))
            result.append(District(index, state, name, f"{index + 1:04d}", blocks))
    return result


def facility_id(district: District, number: int) -> str:
    return f"F{district.lgd}{number:04d}"


# --------------------------------------------------------------------------- generation


@dataclass
class GeneratedSet:
    """What :func:`generate` wrote."""

    spec: dict
    root: str
    facilities: int = 0
    files: int = 0
    rows: int = 0
    bytes: int = 0
    outcomes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    rows_above_max: int = 0
    # facility type -> {"format", "rows_per_file", "facilities", "files", "rows"}
    by_type: dict[str, dict] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def _csv_bytes(columns, rows) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _write(path: Path, data: bytes, moment: datetime) -> None:
    path.write_bytes(data)
    stamp = int(moment.timestamp()) * 1_000_000_000
    os.utime(path, ns=(stamp, stamp))


def _registry_rows(district: District, kinds: list[str]) -> list[list[str]]:
    rows = []
    for number, kind in enumerate(kinds, start=1):
        rows.append([
            facility_id(district, number), f"{district.name} {kind} {number}", kind,
            "private" if kind in PRIVATE else "public", "true" if kind == "AYUSH" else "false",
            district.blocks[(number - 1) % len(district.blocks)], district.name, district.lgd, district.state,
            "true", "2020-04-01", "2010-04-01", "",
        ])
    return rows


def _contact_rows(all_districts: list[District]) -> list[list[str]]:
    rows = [["state_hmis_officer", "state", d.state, f"State HMIS officer {d.state}",
             f"state.{d.state.lower().replace(' ', '')}@bench.hmis.example", "0172-000000"]
            for d in {d.state: d for d in all_districts}.values()]
    for d in all_districts:
        rows.append(["district_nodal_officer", "district", d.name, f"District nodal officer {d.name}",
                     f"nodal.d{d.lgd}@bench.hmis.example", f"01662-{d.index:06d}"])
        rows += [["block_medical_officer", "block", block, f"Block medical officer {block}",
                  f"bmo.d{d.lgd}.b{b + 1}@bench.hmis.example", f"9000{d.index:04d}{b:02d}"]
                 for b, block in enumerate(d.blocks)]
    return rows


def generate(spec: ScaleSpec, root: Path) -> GeneratedSet:
    """Write the registry, contacts and one month of submissions of ``spec`` under ``root``.

    Anything already under ``root/submissions/<period>`` and ``root/registry`` is replaced.
    Returns counts of what was written; the same spec always writes the same bytes and
    modification times.
    """
    types = [t for t, _ in spec.type_shares]
    shares = np.array([s for _, s in spec.type_shares], dtype=float)
    layouts = {t: layout(t, spec.period) for t in types}
    dates = _date_cells(spec.period)
    start = datetime.combine(period_start(spec.period), datetime.min.time(), tzinfo=REPORTING_TZ)
    on_time_from = start + timedelta(days=(period_end(spec.period) - period_start(spec.period)).days + 1)
    due = due_at(spec.period)
    first_run, _ = run_dates(spec)

    folder = root / "submissions" / spec.period
    if folder.exists():
        for old in folder.iterdir():
            old.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    (root / "registry").mkdir(parents=True, exist_ok=True)

    result = GeneratedSet(spec=asdict(spec), root=str(root))
    result.by_type = {t: {"format": layouts[t].format_id, "rows_per_file": layouts[t].rows,
                          "facilities": 0, "files": 0, "rows": 0} for t in types}
    registry_rows: list[list[str]] = []
    all_districts = districts(spec)
    on_time_window = int((due - on_time_from).total_seconds()) - 3600
    late_window = int((first_run - due).total_seconds()) - 3600
    for district in all_districts:
        rng = np.random.default_rng([spec.seed, 1, district.index])
        n = spec.facilities_per_district
        kind_index = rng.choice(len(types), size=n, p=shares / shares.sum())
        kind_index[0] = types.index("DH")  # every district has its district hospital
        kinds = [types[k] for k in kind_index]
        size = np.array([TYPE_SIZE[k] for k in kinds]) * rng.uniform(0.5, 1.5, size=n)
        draw = rng.random(n)
        outcome = np.where(draw < P_MISSING, 2, np.where(draw < P_MISSING + P_LATE, 1,
                           np.where(draw < P_MISSING + P_LATE + P_REJECTED, 3, 0)))
        arrival = np.where(outcome == 1, rng.integers(0, late_window, size=n) + 60,
                           rng.integers(0, on_time_window, size=n))
        registry_rows += _registry_rows(district, kinds)

        # One block of cells per facility type of the district, drawn in the mix's order.
        lines: dict[int, tuple[Layout, list[str], int]] = {}
        for k, kind in enumerate(types):
            members = np.flatnonzero(kind_index == k)
            if not members.size:
                continue
            lay = layouts[kind]
            cells, counts = _values(lay, size[members], rng, dates)
            above = np.zeros(counts.shape, dtype=bool)
            if lay.above_max_columns.size:
                above[:, lay.above_max_columns] = rng.random((len(members), lay.above_max_columns.size)) < P_ABOVE_MAX
                hit_rows, hit_cols = np.nonzero(above)
                cells[hit_rows, lay.count_rows[hit_cols]] = (lay.count_limits[hit_cols] * 2 + 1).astype(np.str_)
            rejected = outcome[members] == 3
            cells[rejected, lay.count_rows[0]] = "-1"
            text = np.strings.add(np.strings.add(lay.code_cells[None, :], cells), lay.tail_cells[None, :])
            for row, member in enumerate(members):
                lines[int(member)] = (lay, text[row].tolist(), int(above[row].sum()))

        for member in range(n):
            kind = OUTCOMES[outcome[member]]
            result.outcomes[kind] += 1
            lay, cells_of, above_count = lines[member]
            stats = result.by_type[lay.facility_type]
            stats["facilities"] += 1
            if kind == "missing":
                continue
            fid = facility_id(district, member + 1)
            prefix = f"{fid},{spec.period},"
            data = (lay.header + prefix + prefix.join(cells_of)).encode("ascii")
            moment = (due if kind == "late" else on_time_from) + timedelta(seconds=int(arrival[member]))
            _write(folder / f"{fid}.csv", data, moment)
            result.files += 1
            result.rows += lay.rows
            result.bytes += len(data)
            result.rows_above_max += above_count
            stats["files"] += 1
            stats["rows"] += lay.rows
        result.facilities += n

    exported = datetime(2026, 4, 1, 10, 0, tzinfo=REPORTING_TZ)
    _write(root / "registry" / "facilities.csv", _csv_bytes(FACILITY_COLUMNS, registry_rows), exported)
    _write(root / "registry" / "contacts.csv", _csv_bytes(CONTACT_COLUMNS, _contact_rows(all_districts)), exported)
    return result


def facility_types(root: Path) -> dict[str, str]:
    """Facility id -> type, from the registry :func:`generate` wrote under ``root``."""
    with (root / "registry" / "facilities.csv").open(encoding="utf-8", newline="") as handle:
        return {row["facility_id"]: row["facility_type"] for row in csv.DictReader(handle)}


def write_revisions(spec: ScaleSpec, root: Path, share: float = 0.01) -> list[Path]:
    """Write a revised second file (``<facility>__r2.csv``, one count raised by 1: one that no
    rule reads, so the revision is as clean as the original) for ``share`` of the facilities
    that sent a file, arriving between the full run and the next day's run.

    Returns the paths written, so a caller can remove them again.
    """
    folder = root / "submissions" / spec.period
    originals = sorted(p for p in folder.glob("*.csv") if "__" not in p.name)
    kinds = facility_types(root)
    rng = np.random.default_rng([spec.seed, 2])
    count = max(1, round(len(originals) * share))
    chosen = sorted(rng.choice(len(originals), size=count, replace=False))
    first_run, next_run = run_dates(spec)
    window = int((next_run - first_run).total_seconds()) - 3600
    written = []
    for index, offset in zip(chosen, rng.integers(60, window, size=count)):
        original = originals[index]
        lines = original.read_bytes().rstrip(b"\n").split(b"\n")
        line = 1 + layout(kinds[original.stem], spec.period).revision_row  # after the header
        cells = lines[line].split(b",")
        cells[3] = str(abs(int(cells[3])) + 1).encode()
        lines[line] = b",".join(cells)
        target = original.with_name(original.stem + "__r2.csv")
        _write(target, b"\n".join(lines) + b"\n", first_run + timedelta(seconds=int(offset)))
        written.append(target)
    return written
