"""Deterministic synthetic landing stores at district, state and national scale.

:func:`generate` writes what the pipeline reads — ``registry/facilities.csv``,
``registry/contacts.csv`` and one long CSV per facility under ``submissions/<period>/`` —
for one month, fast enough that writing the data never dominates a benchmark: values
are drawn per district with numpy and turned into CSV text with ``numpy.strings``, so
Python only loops once per file, not once per value.

The same :class:`ScaleSpec` always gives byte-identical files with identical
modification times. Every facility is registered on HMIS and open, so all of them are
expected reporters. Per facility (seeded draw): 5 % send nothing (``missing``), 9 % send
a good file after the due date but before the run (``late``), 0.5 % send a file with a
negative value (blocking: ``rejected``), the rest a good file on time. Values are made to
satisfy the validation rules (``expectations/validation_rules.yaml``: C-sections within
deliveries, Penta-3 within Penta-1, …) as real files mostly do; then about 2 values in
10,000 are set above the item's typical maximum, so the warning path is exercised too.

Each file has ``items_per_file`` rows: the 61 items of the packaged catalogue, then
synthetic codes ``90.1.1``, ``90.1.2``, … with their own typical maxima. The validation
stages take the full code → typical maximum map from :func:`bench_items`.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from hmis.platform.settings import load_settings
from hmis.quality.rules import RULES_FILE, load_rules
from hmis.reference.catalogue import FACILITY_TYPES, DataItem, load_items
from hmis.reference.periods import REPORTING_TZ, due_at, period_end, period_start
from hmis.reference.registry import CONTACT_COLUMNS, FACILITY_COLUMNS

SUBMISSION_HEADER = "facility_id,period,item_code,value\n"
PERIOD = "2026-10"
SEED = 20261106

HARYANA_DISTRICTS = (
    "Ambala", "Bhiwani", "Charkhi Dadri", "Faridabad", "Fatehabad", "Gurugram", "Hisar", "Jhajjar",
    "Jind", "Kaithal", "Karnal", "Kurukshetra", "Mahendragarh", "Nuh", "Palwal", "Panchkula",
    "Panipat", "Rewari", "Rohtak", "Sirsa", "Sonipat", "Yamunanagar",
)
HISAR_BLOCKS = ("Hisar-I", "Hisar-II", "Adampur", "Agroha", "Barwala", "Uklana", "Narnaund", "Hansi-I", "Hansi-II")

# Share of facility types and how big each is relative to a district hospital.
_TYPES = ("SC", "PHC", "CHC", "SDH", "DH", "AYUSH", "PVT_HOSPITAL", "NURSING_HOME", "CLINIC")
_TYPE_SHARE = np.array([0.40, 0.10, 0.04, 0.01, 0.01, 0.18, 0.10, 0.08, 0.08])
_TYPE_SIZE = np.array([0.05, 0.2, 0.5, 0.8, 1.0, 0.05, 0.5, 0.3, 0.15])
_PRIVATE = {"PVT_HOSPITAL", "NURSING_HOME", "CLINIC"}

P_MISSING, P_LATE, P_REJECTED = 0.05, 0.09, 0.005
P_ABOVE_MAX = 0.0002
MEAN_SHARE_OF_MAX = 0.04  # a district hospital's monthly mean is 4 % of the item's typical maximum

OUTCOMES = ("on_time", "late", "missing", "rejected")


@dataclass(frozen=True)
class ScaleSpec:
    """A benchmark data set: how many states, districts, facilities and items, for one month."""

    name: str
    states: int
    districts_per_state: int
    facilities_per_district: int
    items_per_file: int = 300
    blocks_per_district: int = 9
    period: str = PERIOD
    seed: int = SEED

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


# --------------------------------------------------------------------------- items


def _synthetic_codes(count: int) -> list[str]:
    # Module 90 onwards is unused by HMIS, so synthetic codes never clash with real ones.
    return [f"{90 + i // 100}.{(i // 10) % 10 + 1}.{i % 10 + 1}" for i in range(count)]


def bench_items(items_per_file: int = 300, seed: int = SEED) -> dict[str, int]:
    """Item code → typical monthly maximum: the packaged catalogue, then synthetic items."""
    catalogue = load_items()
    items = {item.item_code: item.typical_max for item in catalogue[:items_per_file]}
    extra = max(items_per_file - len(items), 0)
    maxima = np.random.default_rng([seed, 0]).integers(40, 5000, size=extra)
    items.update(zip(_synthetic_codes(extra), (int(m) for m in maxima)))
    return items


def bench_catalogue(items_per_file: int = 300, seed: int = SEED) -> tuple[DataItem, ...]:
    """:func:`bench_items` as catalogue entries, for code that reads the catalogue itself."""
    packaged = {item.item_code: item for item in load_items()}
    result = []
    for code, typical_max in bench_items(items_per_file, seed).items():
        result.append(packaged.get(code) or DataItem(
            item_code=code, name=f"Synthetic benchmark item {code}", name_hi=f"बेंचमार्क मद {code}",
            section="OPD_IPD", unit="count", aggregation="sum", expected_from=FACILITY_TYPES,
            typical_max=typical_max,
        ))
    return tuple(result)


# --------------------------------------------------------------------------- rules


def _rule_constraints(codes: list[str]) -> list[tuple[str, list[int], list[int]]]:
    """(operator, left columns, right columns) of every rule and consistency check whose
    items are all among ``codes``, as ``<=`` / ``>=`` / ``==`` between column sums."""
    ruleset = load_rules(load_settings().expectations_dir / RULES_FILE)
    column = {code: i for i, code in enumerate(codes)}
    out = []

    def add(op, left, right):
        if all(c in column for c in (*left, *right)):
            out.append((op, [column[c] for c in left], [column[c] for c in right]))

    for rule in ruleset.rules:
        if rule.operator in ("<=", "<", ">=", ">", "=="):
            add(rule.operator, rule.left, rule.right)
    for check in ruleset.consistency:
        add("<=" if check.dropout_not_negative else "==", check.b, check.a)
    return out


def _settle(values: np.ndarray, constraints: list, passes: int = 4) -> None:
    """Adjust ``values`` (facilities × items) in place until each row meets every constraint;
    a few passes settle chains such as low birth weight <= weighed <= live births."""
    for _ in range(passes):
        for op, left, right in constraints:
            lhs = values[:, left].sum(axis=1)
            rhs = values[:, right].sum(axis=1)
            if op in ("<=", "<"):
                limit = rhs - (op == "<")
                over = lhs > np.maximum(limit, 0)
                if over.any():
                    ratio = np.maximum(limit[over], 0) / lhs[over]
                    values[np.ix_(over, left)] = np.floor(values[np.ix_(over, left)] * ratio[:, None])
            elif op in (">=", ">"):
                short = rhs + (op == ">") - lhs
                values[:, left[0]] += np.maximum(short, 0)
            else:  # equal sums: move the first left item
                values[:, left[0]] = np.maximum(values[:, left[0]] + rhs - lhs, 0)


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


def _registry_rows(spec: ScaleSpec, district: District, types: np.ndarray) -> list[list[str]]:
    rows = []
    for number, type_index in enumerate(types, start=1):
        kind = _TYPES[type_index]
        rows.append([
            facility_id(district, number), f"{district.name} {kind} {number}", kind,
            "private" if kind in _PRIVATE else "public", "true" if kind == "AYUSH" else "false",
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
    items = bench_items(spec.items_per_file, spec.seed)
    codes = list(items)
    maxima = np.array([items[c] for c in codes], dtype=np.int64)
    constraints = _rule_constraints(codes)
    code_cells = np.array([f"{c}," for c in codes])
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
    registry_rows: list[list[str]] = []
    all_districts = districts(spec)
    on_time_window = int((due - on_time_from).total_seconds()) - 3600
    late_window = int((first_run - due).total_seconds()) - 3600
    for district in all_districts:
        rng = np.random.default_rng([spec.seed, 1, district.index])
        n = spec.facilities_per_district
        types = rng.choice(len(_TYPES), size=n, p=_TYPE_SHARE / _TYPE_SHARE.sum())
        types[0] = _TYPES.index("DH")  # every district has its district hospital
        size = _TYPE_SIZE[types] * rng.uniform(0.5, 1.5, size=n)
        values = rng.poisson(size[:, None] * maxima[None, :] * MEAN_SHARE_OF_MAX)
        _settle(values, constraints)
        above = rng.random(values.shape) < P_ABOVE_MAX
        values[above] = maxima[np.nonzero(above)[1]] * 2 + 1
        draw = rng.random(n)
        outcome = np.where(draw < P_MISSING, 2, np.where(draw < P_MISSING + P_LATE, 1,
                           np.where(draw < P_MISSING + P_LATE + P_REJECTED, 3, 0)))
        values[outcome == 3, 0] = -1
        arrival = np.where(outcome == 1, rng.integers(0, late_window, size=n) + 60,
                           rng.integers(0, on_time_window, size=n))
        cells = np.strings.add(np.strings.add(code_cells[None, :], values.astype(np.str_)), "\n")
        registry_rows += _registry_rows(spec, district, types)
        for row in range(n):
            kind = OUTCOMES[outcome[row]]
            result.outcomes[kind] += 1
            if kind == "missing":
                continue
            fid = facility_id(district, row + 1)
            prefix = f"{fid},{spec.period},"
            data = (SUBMISSION_HEADER + prefix + prefix.join(cells[row].tolist())).encode("ascii")
            moment = (due if kind == "late" else on_time_from) + timedelta(seconds=int(arrival[row]))
            _write(folder / f"{fid}.csv", data, moment)
            result.files += 1
            result.rows += len(codes)
            result.bytes += len(data)
            result.rows_above_max += int(above[row].sum())
        result.facilities += n

    exported = datetime(2026, 4, 1, 10, 0, tzinfo=REPORTING_TZ)
    _write(root / "registry" / "facilities.csv", _csv_bytes(FACILITY_COLUMNS, registry_rows), exported)
    _write(root / "registry" / "contacts.csv", _csv_bytes(CONTACT_COLUMNS, _contact_rows(all_districts)), exported)
    return result


def write_revisions(spec: ScaleSpec, root: Path, share: float = 0.01) -> list[Path]:
    """Write a revised second file (``<facility>__r2.csv``, one value changed) for ``share``
    of the facilities that sent a file, arriving between the full run and the next day's run.

    Returns the paths written, so a caller can remove them again.
    """
    folder = root / "submissions" / spec.period
    originals = sorted(p for p in folder.glob("*.csv") if "__" not in p.name)
    rng = np.random.default_rng([spec.seed, 2])
    count = max(1, round(len(originals) * share))
    chosen = sorted(rng.choice(len(originals), size=count, replace=False))
    first_run, next_run = run_dates(spec)
    window = int((next_run - first_run).total_seconds()) - 3600
    written = []
    for index, offset in zip(chosen, rng.integers(60, window, size=count)):
        original = originals[index]
        lines = original.read_bytes().rstrip(b"\n").split(b"\n")
        head, _, value = lines[-1].rpartition(b",")
        lines[-1] = head + b"," + str(abs(int(value)) + 1).encode()
        target = original.with_name(original.stem + "__r2.csv")
        _write(target, b"\n".join(lines) + b"\n", first_run + timedelta(seconds=int(offset)))
        written.append(target)
    return written
