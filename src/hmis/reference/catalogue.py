"""The HMIS data-item catalogue: which monthly counts a facility reports.

``data_items.csv`` (next to this module) lists a subset of the items of India's HMIS
monthly facility reporting format, numbered as in HMIS 2.0: module 1 is ante-natal care,
2 and 3 deliveries and C-sections, 4 pregnancy outcomes, 8 family planning, 9 child
immunisation and 14 patient services. Disease-wise outpatient counts sit under 14.1
("Outpatient - <condition>"), attendance, admissions and operations under 14.2 onwards.

Each row says which facility types are expected to report the item (``expected_from``)
and a generous monthly maximum for a district hospital (``typical_max``), which later
checks use as a warning threshold rather than a hard limit.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

CATALOGUE_PATH = Path(__file__).with_name("data_items.csv")

COLUMNS = (
    "item_code",
    "name",
    "name_hi",
    "section",
    "unit",
    "aggregation",
    "expected_from",
    "typical_max",
)

SECTIONS = (
    "ANC",
    "DELIVERY",
    "BIRTHS",
    "FAMILY_PLANNING",
    "IMMUNISATION",
    "OPD_IPD",
    "DISEASE_OPD",
)

FACILITY_TYPES = (
    "SC",
    "PHC",
    "CHC",
    "SDH",
    "DH",
    "PVT_HOSPITAL",
    "NURSING_HOME",
    "CLINIC",
    "AYUSH",
)

UNITS = ("count",)
AGGREGATIONS = ("sum",)

# The HMIS module number (first part of the code) decides which sections an item may
# belong to, so a mistyped code or section is caught when the file is loaded.
_MODULE_SECTIONS: dict[str, frozenset[str]] = {
    "1": frozenset({"ANC"}),
    "2": frozenset({"DELIVERY"}),
    "3": frozenset({"DELIVERY"}),
    "4": frozenset({"BIRTHS"}),
    "8": frozenset({"FAMILY_PLANNING"}),
    "9": frozenset({"IMMUNISATION"}),
    "10": frozenset({"DISEASE_OPD"}),
    "11": frozenset({"DISEASE_OPD"}),
    "14": frozenset({"OPD_IPD", "DISEASE_OPD"}),
}

# HMIS codes are dotted numbers, optionally ending in letter parts: 1.1, 2.1.1.a, 9.2.5.b.
_CODE_RE = re.compile(r"^[1-9][0-9]*(\.[0-9]+)*(\.[a-z]+)*$")
# ASCII digits only: str.isdigit() would also accept characters such as superscripts.
_WHOLE_NUMBER_RE = re.compile(r"^[0-9]+$")


@dataclass(frozen=True)
class DataItem:
    """One monthly count in the HMIS facility format."""

    item_code: str
    name: str
    name_hi: str
    section: str
    unit: str
    aggregation: str
    expected_from: tuple[str, ...]
    typical_max: int

    def is_expected_from(self, facility_type: str) -> bool:
        """True if a facility of ``facility_type`` is expected to report this item."""
        return facility_type in self.expected_from


def load_items(path: Path | None = None) -> list[DataItem]:
    """Read and validate a catalogue file, in file order.

    ``path`` defaults to the catalogue packaged with this module. Raises ``ValueError``
    naming the offending line if the header is wrong, a code is malformed or repeated,
    or a section, unit, aggregation, facility type or maximum is not acceptable.
    """
    if path is None:
        return list(_packaged_items())
    return _read(Path(path))


def item_codes() -> frozenset[str]:
    """Codes of every item in the packaged catalogue."""
    return frozenset(item.item_code for item in _packaged_items())


def items_for_type(facility_type: str) -> list[DataItem]:
    """Packaged items a facility of ``facility_type`` must report, in catalogue order.

    Raises ``ValueError`` for a facility type the catalogue does not know, so a typo
    cannot silently produce an empty report.
    """
    if facility_type not in FACILITY_TYPES:
        raise ValueError(f"unknown facility type {facility_type!r}; expected one of {', '.join(FACILITY_TYPES)}")
    return [item for item in _packaged_items() if facility_type in item.expected_from]


@lru_cache(maxsize=1)
def _packaged_items() -> tuple[DataItem, ...]:
    # Cached as a tuple so callers receive fresh lists they are free to modify.
    return tuple(_read(CATALOGUE_PATH))


def _read(path: Path) -> list[DataItem]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None or tuple(header) != COLUMNS:
            raise ValueError(f"{path.name} line 1: header must be {','.join(COLUMNS)}, got {header!r}")
        items: list[DataItem] = []
        seen: dict[str, int] = {}
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            item = _parse_row(row, f"{path.name} line {line}")
            if item.item_code in seen:
                raise ValueError(
                    f"{path.name} line {line}: item_code {item.item_code!r} repeats line {seen[item.item_code]}"
                )
            seen[item.item_code] = line
            items.append(item)
    if not items:
        raise ValueError(f"{path.name}: the catalogue has no items")
    return items


def _parse_row(row: list[str], where: str) -> DataItem:
    if len(row) != len(COLUMNS):
        raise ValueError(f"{where}: expected {len(COLUMNS)} fields, found {len(row)}")
    fields = dict(zip(COLUMNS, (cell.strip() for cell in row)))
    code = fields["item_code"]
    where = f"{where} (item_code {code!r})"

    if not _CODE_RE.match(code):
        raise ValueError(f"{where}: item_code is not an HMIS-style code such as 1.1 or 2.1.1.a")
    for column in ("name", "name_hi"):
        if not fields[column]:
            raise ValueError(f"{where}: {column} is empty")

    section = fields["section"]
    if section not in SECTIONS:
        raise ValueError(f"{where}: unknown section {section!r}; expected one of {', '.join(SECTIONS)}")
    module = code.split(".", 1)[0]
    allowed = _MODULE_SECTIONS.get(module)
    if allowed is None or section not in allowed:
        raise ValueError(f"{where}: section {section} does not fit HMIS module {module}")

    if fields["unit"] not in UNITS:
        raise ValueError(f"{where}: unit must be one of {', '.join(UNITS)}, got {fields['unit']!r}")
    if fields["aggregation"] not in AGGREGATIONS:
        raise ValueError(
            f"{where}: aggregation must be one of {', '.join(AGGREGATIONS)}, got {fields['aggregation']!r}"
        )

    expected = tuple(part.strip() for part in fields["expected_from"].split("|") if part.strip())
    if not expected:
        raise ValueError(f"{where}: expected_from lists no facility type")
    unknown = [part for part in expected if part not in FACILITY_TYPES]
    if unknown:
        raise ValueError(f"{where}: unknown facility type(s) in expected_from: {', '.join(unknown)}")
    if len(set(expected)) != len(expected):
        raise ValueError(f"{where}: expected_from repeats a facility type")

    raw_max = fields["typical_max"]
    if not _WHOLE_NUMBER_RE.match(raw_max) or int(raw_max) <= 0:
        raise ValueError(f"{where}: typical_max must be a positive whole number, got {raw_max!r}")

    return DataItem(
        item_code=code,
        name=fields["name"],
        name_hi=fields["name_hi"],
        section=section,
        unit=fields["unit"],
        aggregation=fields["aggregation"],
        expected_from=expected,
        typical_max=int(raw_max),
    )
