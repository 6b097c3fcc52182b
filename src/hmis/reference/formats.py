"""The official HMIS formats: every item of each, its value type, disaggregation and data element.

Built from the portal's own item lists in ``official/`` (see ``official/formats.yaml``): the
2017 district consolidation (372 codes, 540 rows with the five stock sub-items), the 2017 CHC
facility format (297 items), the 2017 Sub-Centre format (HISP India's DHIS2 mapping of it) and
the newer format (a third party's transcription: its names are marked provisional).

Codes are only unique within a format: 9.1.3 is DPT1 in the 2017 formats and Pentavalent 1 in
the newer one, and 16.1 is an infant death in the consolidation but a supply date in the CHC
format. So every item belongs to a *data element*, named by the code the anchor format (the
2017 consolidation the state receives) gives it. An item joins the anchor's element when its
name is the same (letters and digits compared, case ignored) or when ``official/elements.csv``
says so with a reason; otherwise it is an element of its own, ``<format>:<code>``. Facts and
marts are keyed by element and disaggregation, so a series stays comparable across formats and
no value is ever read under another item's meaning.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

from hmis.reference.periods import is_period

OFFICIAL_DIR = Path(__file__).with_name("official")
FACILITY_TYPES = ("SC", "PHC", "CHC", "SDH", "DH", "PVT_HOSPITAL", "NURSING_HOME", "CLINIC", "AYUSH")
VALUE_TYPES = ("count", "stock", "status", "date", "percentage")
TOTAL = "TOTAL"
# The five rows of a stock item in the consolidation, in the portal's order.
STOCK_SUB_ITEMS = ("1. Balance From Previous Month", "2. Stocks Received", "3. Unusable Stock",
                   "4. Stock Distributed", "5. Total Stock")
STATUS_VALUES = ("Adequate", "Inadequate")
# How a value combines across facilities and months. Counts and stock movements add up;
# a balance adds up across facilities of one month but is never added across months; a
# status, date or percentage is never added at all.
AGGREGATION_SUM = "sum"
AGGREGATION_BALANCE = "balance"
AGGREGATION_NONE = "none"
_BALANCES = {STOCK_SUB_ITEMS[0], STOCK_SUB_ITEMS[4]}


class CatalogueError(ValueError):
    """The official lists or their configuration are inconsistent."""


@dataclass(frozen=True)
class Format:
    format_id: str
    title: str
    provisional: bool
    effective_from: str | None
    effective_to: str | None
    facility_types: tuple[str, ...]

    def in_force(self, period: str) -> bool:
        if self.effective_from is None or period < self.effective_from:
            return False
        return self.effective_to is None or period <= self.effective_to


@dataclass(frozen=True)
class Item:
    """One item of one official format, as its report prints it."""

    format_id: str
    code: str
    name: str
    name_hi: str | None          # None: no Hindi name yet (shown in English, counted as a gap)
    module: int
    section: str                 # e.g. "M9 Child Immunisation"
    section_hi: str
    element: str                 # format-neutral data element
    value_type: str
    disaggregations: tuple[str, ...] = (TOTAL,)
    sex: str | None = None       # "male"/"female" where the item is one sex's count
    provisional: bool = False

    def aggregation(self, disaggregation: str = TOTAL) -> str:
        if self.value_type == "count":
            return AGGREGATION_SUM
        if self.value_type == "stock":
            return AGGREGATION_BALANCE if disaggregation in _BALANCES else AGGREGATION_SUM
        return AGGREGATION_NONE

    @property
    def display_name_hi(self) -> str:
        return self.name_hi or self.name


@dataclass
class Catalogue:
    formats: dict[str, Format]
    anchor: str
    items: dict[str, list[Item]]                     # by format, in the report's order
    expected_modules: dict[str, frozenset[int] | None]
    element_names: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    _by_code: dict[str, dict[str, Item]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._by_code = {fmt: {item.code: item for item in items} for fmt, items in self.items.items()}

    def item(self, format_id: str, code: str) -> Item | None:
        return self._by_code[format_id].get(code)

    def format_for(self, facility_type: str, period: str) -> Format:
        """The format a facility of this type reports on for this month."""
        if facility_type not in FACILITY_TYPES:
            raise CatalogueError(f"unknown facility type {facility_type!r}; expected one of {', '.join(FACILITY_TYPES)}")
        if not is_period(period):
            raise CatalogueError(f"{period!r} is not a month (YYYY-MM)")
        # A newer format in force wins over an older one for the same type.
        candidates = [f for f in self.formats.values() if facility_type in f.facility_types and f.in_force(period)]
        if not candidates:
            raise CatalogueError(f"no HMIS format is in force for {facility_type} in {period}; see official/formats.yaml")
        return max(candidates, key=lambda f: f.effective_from or "")

    def expected_items(self, facility_type: str, period: str) -> list[Item]:
        """The items a facility of this type is expected to report for this month."""
        fmt = self.format_for(facility_type, period)
        modules = self.expected_modules[facility_type]
        return [item for item in self.items[fmt.format_id] if modules is None or item.module in modules]

    def elements(self) -> list[Item]:
        """One item per data element, the anchor format's where it has one (its section and
        value type describe the element), in the order the formats list them."""
        chosen: dict[str, Item] = {}
        for format_id in [self.anchor, *(f for f in self.items if f != self.anchor)]:
            for item in self.items[format_id]:
                chosen.setdefault(item.element, item)
        return list(chosen.values())

    def element_name(self, element: str) -> tuple[str, str | None]:
        """(English, Hindi or None) name of a data element."""
        return self.element_names[element]

    def hindi_gaps(self) -> list[Item]:
        """Items with no Hindi name of their own (shown in English until one is written)."""
        return [item for items in self.items.values() for item in items if item.name_hi is None]


def format_title(format_id: str | None) -> str:
    """A format as people name it ("HMIS 2017 revised formats, CHC facility format"), for messages."""
    formats = load_catalogue().formats
    return formats[format_id].title if format_id in formats else "unknown format"


def normalise(name: str) -> str:
    """An item name reduced to its letters and digits, for comparing names across formats."""
    return re.sub(r"[^a-z0-9]+", " ", name.casefold().replace("&", " and ")).strip()


def _module(code: str) -> int:
    head = re.match(r"^(\d+)", code)
    if not head:
        raise CatalogueError(f"item code {code!r} does not start with a module number")
    return int(head.group(1))


def _sex(name: str) -> str | None:
    lowered = name.casefold()
    if re.search(r"(?:^|[\s(\-])female\b|\(female\)", lowered):
        return "female"
    if re.search(r"(?:^|[\s(\-])male\b|\(male\)", lowered):
        return "male"
    return None


def _value_type(format_id: str, code: str, name: str, sub_items: Iterable[str]) -> str:
    if any(sub != TOTAL for sub in sub_items):
        return "stock"
    if "DD/MM/YYYY" in name:
        return "date"
    if "in percentage" in name.casefold():
        return "percentage"
    # The CHC format's module 16 asks, per drug, vaccine and contraceptive, whether stock was
    # adequate (the portal's drop-down), beside the dates of last supply; the Sub-Centre format
    # takes those items from it.
    if format_id in ("hmis2017_chc", "hmis2017_sc") and _module(code) == 16:
        return "status"
    return "count"


def _read_csv(name: str) -> list[dict[str, str]]:
    with (OFFICIAL_DIR / name).open(encoding="utf-8", newline="") as handle:
        return [row for row in csv.DictReader(line for line in handle if not line.startswith("#"))]


def _env_month(format_id: str, edge: str, default: str | None) -> str | None:
    raw = os.environ.get(f"HMIS_FORMAT_{format_id.upper()}_{edge}")
    if raw is None:
        return default
    raw = raw.strip()
    if raw.lower() in ("", "none", "never"):
        return None
    if not is_period(raw):
        raise CatalogueError(f"HMIS_FORMAT_{format_id.upper()}_{edge}={raw!r} is not a month (YYYY-MM)")
    return raw


@cache
def load_catalogue() -> Catalogue:
    """The catalogue of every official format, built once per process."""
    config = yaml.safe_load((OFFICIAL_DIR / "formats.yaml").read_text(encoding="utf-8"))
    anchor = config["anchor"]
    formats = {
        fid: Format(fid, spec["title"], bool(spec["provisional"]),
                    _env_month(fid, "FROM", spec["effective_from"]), _env_month(fid, "TO", spec["effective_to"]),
                    tuple(spec["facility_types"]))
        for fid, spec in config["formats"].items()
    }
    sections = {(row["format"], int(row["module"])): (row["name"], row["name_hi"]) for row in _read_csv("sections.csv")}
    hindi = {row["element"]: row["name_hi"] for row in _read_csv("hindi_names.csv")}
    overrides = {(row["format"], row["item_code"]): row["element"] for row in _read_csv("elements.csv")}

    raw: dict[str, list[tuple[str, str, list[str]]]] = {}   # format -> [(code, name, sub-items)]
    for fid, spec in config["formats"].items():
        rows = _read_csv(spec["file"])
        if spec["layout"] == "consolidated":
            grouped: dict[str, tuple[str, list[str]]] = {}
            for row in rows:
                grouped.setdefault(row["item_code"], (row["item_name"], []))[1].append(row["sub_item"])
            raw[fid] = [(code, name, subs) for code, (name, subs) in grouped.items()]
        elif spec["layout"] == "items":
            raw[fid] = [(row["item_code"], row["item_name"], [TOTAL]) for row in rows]
        elif spec["layout"] == "dhis2_mapping":
            raw[fid] = []   # filled below from the CHC format, by name
        else:
            raise CatalogueError(f"format {fid}: unknown layout {spec['layout']!r}")

    anchor_by_name = {normalise(name): code for code, name, _ in raw[anchor]}
    if len(anchor_by_name) != len(raw[anchor]):
        raise CatalogueError(f"{anchor}: two items share a name, so names cannot place items")
    anchor_codes = {code for code, _, _ in raw[anchor]}
    anchor_types = {code: _value_type(anchor, code, name, subs) for code, name, subs in raw[anchor]}
    # The Sub-Centre format is known by item names (HISP India's DHIS2 mapping): its items are
    # the CHC format's items of the same names, with their codes.
    sc_names = {normalise(row["hmis_item_name"]) for row in _read_csv(config["formats"]["hmis2017_sc"]["file"])}
    raw["hmis2017_sc"] = [entry for entry in raw["hmis2017_chc"] if normalise(entry[1]) in sc_names]

    items: dict[str, list[Item]] = {}
    element_names: dict[str, tuple[str, str | None]] = {}
    for fid, entries in raw.items():
        fmt = formats[fid]
        seen: set[str] = set()
        built = []
        for code, name, subs in entries:
            if code in seen:
                raise CatalogueError(f"{fid}: item code {code} appears twice")
            seen.add(code)
            value_type = _value_type(fid, code, name, subs)
            if fid == anchor:
                element = code
            elif (fid, code) in overrides:
                element = overrides[(fid, code)]
            elif normalise(name) in anchor_by_name:
                element = anchor_by_name[normalise(name)]
                # Same name, another measure (the CHC format's "Vit A syrup" is whether its
                # stock was adequate, the consolidation's its stock): an element of its own.
                if anchor_types[element] != value_type:
                    element = f"{fid}:{code}"
            else:
                element = f"{fid}:{code}"
            if ":" not in element and element not in anchor_codes:
                raise CatalogueError(f"official/elements.csv maps {fid} {code} to {element}, not a code of {anchor}")
            module = _module(code)
            section_of = config["formats"][fid].get("sections_of", fid)
            section_name, section_hi = sections.get((section_of, module), (f"Module {module}", f"मॉड्यूल {module}"))
            item = Item(
                format_id=fid, code=code, name=name, name_hi=hindi.get(element), module=module,
                section=f"M{module} {section_name}", section_hi=f"M{module} {section_hi}", element=element,
                value_type=value_type, disaggregations=tuple(subs) if value_type == "stock" else (TOTAL,),
                sex=_sex(name), provisional=fmt.provisional,
            )
            built.append(item)
            if fid == anchor or element not in element_names:
                element_names[element] = (name, item.name_hi)
        items[fid] = built
    for fid, entries in items.items():
        elements = [item.element for item in entries]
        duplicated = sorted({e for e in elements if elements.count(e) > 1})
        if duplicated:
            raise CatalogueError(f"{fid}: several items map to the same element(s) {', '.join(duplicated)}")

    expected: dict[str, frozenset[int] | None] = {}
    for facility_type in FACILITY_TYPES:
        spec = config["expected_modules"].get(facility_type)
        if spec is None:
            raise CatalogueError(f"official/formats.yaml: no expected_modules for {facility_type}")
        expected[facility_type] = None if spec == "all" else frozenset(int(m) for m in spec)
    return Catalogue(formats, anchor, items, expected, element_names)
