"""One id-scheme mapping between DHIS2 and the catalogue, used for import and for export.

DHIS2 names a value by a *data element* and a *category option combo* (COC), both UIDs in the
default id scheme. HISP India's DHIS2 carries several HMIS items on one data element through
its COCs (live birth male and female are data element ``o9GN9y7BcaC`` with COCs
``RffjraraKhQ`` and ``v7RmjKvAUhD``), so the pair, never the data element alone, is what
names an HMIS item. The catalogue names the same item by (format, item code), and places it
on a format-neutral data element and a disaggregation (``TOTAL`` or a stock sub-item).

The mapping file, ``reference/official/dhis2_id_scheme.csv``, holds one row per DHIS2 pair
(or org unit) with these columns:

``object``
    ``dataElement`` or ``orgUnit``.
``uid``
    the data element's or org unit's DHIS2 UID (11 characters, a letter first).
``category_option_combo``
    the COC's UID (``dataElement`` rows; ``HllvX50cXC0`` is DHIS2's default COC).
``scope``
    for a ``dataElement`` row the catalogue format whose item it is (``hmis2017_sc``), empty
    when the item is in no catalogue format; for an ``orgUnit`` row what ``code`` is:
    ``facility`` (the registry's ``facility_id``), ``district``, ``block`` or ``state`` (an
    LGD code).
``code``
    the item's code in that format; the facility id or LGD code.
``element``, ``disaggregation``
    the catalogue's data element and disaggregation of the item. The pair names the item by
    (format, code); the element is always taken from the catalogue on load, and a column that
    no longer agrees is listed in :attr:`Dhis2Mapping.stale` (a test fails until the file is
    regenerated), so a catalogue change can never leave a UID on the wrong element.
``option``
    for HISP's drop-down rows, the status option the COC stands for (``Adequate`` /
    ``Inadequate``); empty otherwise.
``name``, ``source``
    the item's name as the source wrote it, and where the row comes from
    (``hispindia:<s_no>`` for rows of HISP India's mapping).

The ``hispindia`` rows are generated from ``official/hmis2017_sc_dhis2_mapping.csv`` and the
catalogue (``python -m hmis.dhis2.mapping > src/hmis/reference/official/dhis2_id_scheme.csv``;
a test checks the file still equals what that produces). No real org-unit UIDs are
published, so the shipped file has no ``orgUnit`` rows: a deployment lists its own in the
landing store's ``registry/dhis2_org_units.csv`` (same columns), read by
:func:`load_mapping`. Anything the mapping lacks travels as a code: id scheme ``CODE`` for
data elements and COCs (the item code / the stock sub-item's text) and for org units (the
facility id or LGD code), and every export says so in its import parameters.
"""

from __future__ import annotations

import csv
import io
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

from hmis.reference.formats import OFFICIAL_DIR, TOTAL, Catalogue, load_catalogue, normalise

ID_SCHEME_FILE = OFFICIAL_DIR / "dhis2_id_scheme.csv"
HISP_FILE = OFFICIAL_DIR / "hmis2017_sc_dhis2_mapping.csv"
HISP_FORMAT = "hmis2017_sc"
ORG_UNITS_KEY = "registry/dhis2_org_units.csv"   # a deployment's org-unit UIDs, in the landing store

COLUMNS = ("object", "uid", "category_option_combo", "scope", "code", "element", "disaggregation",
           "option", "name", "source")
DATA_ELEMENT = "dataElement"
ORG_UNIT = "orgUnit"
ORG_UNIT_SCOPES = ("facility", "district", "block", "state")

DEFAULT_COC_UID = "HllvX50cXC0"
DEFAULT_COC_NAME = "default"
# How a value with no disaggregation may name its COC: not at all, DHIS2's default COC by
# UID or by name/code, or the catalogue's TOTAL.
_DEFAULT_COCS = frozenset(("", DEFAULT_COC_UID, DEFAULT_COC_NAME, TOTAL))

UID = "UID"
CODE = "CODE"
NAME = "NAME"
UID_RE = re.compile(r"^[A-Za-z][A-Za-z0-9]{10}$")
_SCHEME_RE = re.compile(r"^(?:UID|CODE|NAME|ATTRIBUTE:[A-Za-z][A-Za-z0-9]{10})$")

_HEADER_COMMENT = """\
# DHIS2 id-scheme mapping: DHIS2 data element + category option combo UIDs <-> catalogue items,
# and org unit UIDs <-> registry facility ids / LGD codes. Used for import and export alike.
# Columns: see src/hmis/dhis2/mapping.py. Rows with source hispindia:<s_no> are generated from
# hmis2017_sc_dhis2_mapping.csv (HISP India's Sub-Centre mapping) and the catalogue:
#   python -m hmis.dhis2.mapping > src/hmis/reference/official/dhis2_id_scheme.csv
# A row with an empty scope is a HISP pair whose item name is in no catalogue format; its UIDs
# are known but not read as any item. HISP's heading rows (no UIDs) are left out.
# Items and org units not listed here travel as codes (id scheme CODE), declared as such.
"""


class MappingError(ValueError):
    """The id-scheme mapping is inconsistent; the message says which row and why."""


def is_default_coc(value: str | None) -> bool:
    """Whether a category option combo as sent means DHIS2's default (no disaggregation)."""
    return (value or "").strip() in _DEFAULT_COCS


def check_scheme(scheme: str) -> str:
    """``scheme`` if it is one DHIS2 accepts (UID, CODE, NAME, ATTRIBUTE:<uid>), else raise."""
    if not _SCHEME_RE.match(scheme):
        raise MappingError(f"{scheme!r} is not a DHIS2 id scheme; use UID, CODE, NAME or ATTRIBUTE:<uid>")
    return scheme


@dataclass(frozen=True)
class ElementId:
    """One DHIS2 (data element, category option combo) pair and the catalogue item it names."""

    data_element: str
    category_option_combo: str
    format_id: str | None        # None: the pair names no catalogue item
    item_code: str | None
    element: str | None
    disaggregation: str          # TOTAL or a stock sub-item ("" when unplaced)
    option: str | None           # the status option a HISP drop-down COC stands for
    name: str
    source: str

    @property
    def placed(self) -> bool:
        return self.format_id is not None


@dataclass(frozen=True)
class OrgUnitId:
    uid: str
    scope: str                   # facility | district | block | state
    code: str                    # facility_id, or an LGD code
    name: str = ""
    source: str = ""


@dataclass(frozen=True)
class Placement:
    """What a DHIS2 pair is in one facility format: the long table's item code and sub-item."""

    item_code: str
    sub_item: str                # "" for TOTAL; a stock sub-item; a status option
    element: str
    value_type: str
    entry: ElementId


class Dhis2Mapping:
    """The mapping, indexed both ways. Build it with :func:`load_mapping`."""

    def __init__(self, elements: Iterable[ElementId], org_units: Iterable[OrgUnitId] = (),
                 catalogue: Catalogue | None = None, element_fallback: str = CODE,
                 org_unit_fallback: str = CODE) -> None:
        self.catalogue = catalogue or load_catalogue()
        self.element_fallback = check_scheme(element_fallback)
        self.org_unit_fallback = check_scheme(org_unit_fallback)
        if self.element_fallback == UID:
            raise MappingError("the fallback for unmapped data elements cannot be UID: they have none")
        self.elements: list[ElementId] = []
        self.stale: list[str] = []
        self.org_units: list[OrgUnitId] = []
        self._pairs: dict[tuple[str, str], ElementId] = {}
        self._by_de: dict[str, list[ElementId]] = {}
        self._by_element: dict[tuple[str, str], ElementId] = {}
        self._ou_by_uid: dict[str, OrgUnitId] = {}
        self._ou_by_code: dict[tuple[str, str], OrgUnitId] = {}
        self._format_index: dict[str, dict[str, object]] = {}
        for entry in elements:
            self._add_element(entry)
        for unit in org_units:
            self._add_org_unit(unit)

    # ------------------------------------------------------------------ building

    def _add_element(self, entry: ElementId) -> None:
        where = f"data element {entry.data_element} / COC {entry.category_option_combo} ({entry.source or 'no source'})"
        for uid in (entry.data_element, entry.category_option_combo):
            if not UID_RE.match(uid):
                raise MappingError(f"{where}: {uid!r} is not a DHIS2 UID (11 letters and digits, a letter first)")
        pair = (entry.data_element, entry.category_option_combo)
        if pair in self._pairs:
            raise MappingError(f"{where}: the pair is listed twice (also {self._pairs[pair].source})")
        if entry.placed:
            if entry.format_id not in self.catalogue.items:
                raise MappingError(f"{where}: scope {entry.format_id!r} is not a catalogue format")
            item = self.catalogue.item(entry.format_id, entry.item_code or "")
            if item is None:
                raise MappingError(f"{where}: {entry.format_id} has no item {entry.item_code!r}")
            if entry.element and entry.element != item.element:
                # The pair names the item (format, code); its element is the catalogue's to say.
                # A stale column is kept in view (a test fails until the file is regenerated).
                self.stale.append(f"{where}: the file places {entry.format_id} {item.code} on element "
                                  f"{entry.element}, the catalogue on {item.element}; regenerate the mapping")
            if entry.disaggregation not in item.disaggregations:
                raise MappingError(f"{where}: {item.code} has no disaggregation {entry.disaggregation!r}")
            entry = replace(entry, element=item.element)
            if entry.option is None:
                key = (item.element, entry.disaggregation)
                if key in self._by_element:
                    raise MappingError(f"{where}: element {key[0]} / {key[1]} already has the pair "
                                       f"{self._by_element[key].data_element} / {self._by_element[key].category_option_combo}")
                self._by_element[key] = entry
        self._pairs[pair] = entry
        self._by_de.setdefault(entry.data_element, []).append(entry)
        self.elements.append(entry)

    def _add_org_unit(self, unit: OrgUnitId) -> None:
        where = f"org unit {unit.uid} ({unit.source or 'no source'})"
        if not UID_RE.match(unit.uid):
            raise MappingError(f"{where}: {unit.uid!r} is not a DHIS2 UID (11 letters and digits, a letter first)")
        if unit.scope not in ORG_UNIT_SCOPES:
            raise MappingError(f"{where}: scope {unit.scope!r} must be one of {', '.join(ORG_UNIT_SCOPES)}")
        if not unit.code:
            raise MappingError(f"{where}: no code (the facility id or LGD code it stands for)")
        if unit.uid in self._ou_by_uid:
            raise MappingError(f"{where}: the UID is listed twice")
        if (unit.scope, unit.code) in self._ou_by_code:
            raise MappingError(f"{where}: {unit.scope} {unit.code} already has the UID "
                               f"{self._ou_by_code[(unit.scope, unit.code)].uid}")
        self._ou_by_uid[unit.uid] = unit
        self._ou_by_code[(unit.scope, unit.code)] = unit
        self.org_units.append(unit)

    def with_org_units(self, units: Iterable[OrgUnitId]) -> Dhis2Mapping:
        """A copy of this mapping with more org units (a deployment's own list)."""
        return Dhis2Mapping(self.elements, [*self.org_units, *units], self.catalogue,
                            self.element_fallback, self.org_unit_fallback)

    # ------------------------------------------------------------------ import direction

    def pair(self, data_element: str, category_option_combo: str | None) -> ElementId | None:
        """The row of a DHIS2 pair as sent; a default COC however written is ``HllvX50cXC0``."""
        coc = DEFAULT_COC_UID if is_default_coc(category_option_combo) else (category_option_combo or "").strip()
        return self._pairs.get((data_element.strip(), coc))

    def combos_of(self, data_element: str) -> list[ElementId]:
        """Every row of one DHIS2 data element (empty when the mapping does not know it)."""
        return list(self._by_de.get(data_element.strip(), ()))

    def place(self, entry: ElementId, format_id: str | None = None) -> Placement | None:
        """The item a known pair is in ``format_id`` (the row's own format when None); None when
        the pair names no item, or that format has no item on the same data element."""
        if not entry.placed:
            return None
        target = format_id or entry.format_id
        if target == entry.format_id:
            item = self.catalogue.item(target, entry.item_code or "")
        else:
            if target not in self.catalogue.items:
                return None
            index = self._format_index.get(target)
            if index is None:
                index = self._format_index[target] = {i.element: i for i in self.catalogue.items[target]}
            item = index.get(entry.element)
        if item is None:
            return None
        sub_item = entry.option or ("" if entry.disaggregation == TOTAL else entry.disaggregation)
        return Placement(item.code, sub_item, item.element, item.value_type, entry)

    def org_unit(self, uid: str) -> OrgUnitId | None:
        return self._ou_by_uid.get(uid.strip())

    # ------------------------------------------------------------------ export direction

    def for_element(self, element: str, disaggregation: str = TOTAL) -> ElementId | None:
        """The DHIS2 pair of a catalogue data element and disaggregation, or None (then the
        value travels by code). HISP's drop-down pairs are never chosen: they hold a status."""
        return self._by_element.get((element, disaggregation or TOTAL))

    def org_unit_uid(self, scope: str, code: str) -> str | None:
        unit = self._ou_by_code.get((scope, str(code).strip()))
        return unit.uid if unit else None

    # ------------------------------------------------------------------ description

    def unplaced(self) -> list[ElementId]:
        """Pairs whose UIDs are known but that name no catalogue item."""
        return [e for e in self.elements if not e.placed]

    def describe(self) -> dict:
        """What the mapping covers and how the rest travels, for manifests and sidecars."""
        return {
            "mapping_file": "src/hmis/reference/official/dhis2_id_scheme.csv",
            "data_element_pairs": len(self.elements),
            "data_element_pairs_placed": sum(e.placed for e in self.elements),
            "data_elements_exported_by_uid": len(self._by_element),
            "org_units": len(self.org_units),
            "unmapped_data_elements": f"{self.element_fallback} (the catalogue's data element code; "
                                      "the stock sub-item's text as category option combo code)",
            "unmapped_org_units": f"{self.org_unit_fallback} (the registry's facility id or the LGD code)",
        }


# ---------------------------------------------------------------------- files


def hisp_entries(catalogue: Catalogue | None = None, path: Path = HISP_FILE) -> list[ElementId]:
    """The rows of HISP India's Sub-Centre mapping, placed on catalogue items by name (the
    catalogue builds its Sub-Centre format from the same names)."""
    catalogue = catalogue or load_catalogue()
    by_name = {normalise(item.name): item for item in catalogue.items[HISP_FORMAT]}
    entries = []
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(line for line in handle if not line.startswith("#")):
            data_element = row["dhis2_dataElement_uid"].strip()
            coc = row["dhis2_categoryOptionCombo_uid"].strip()
            name = " ".join(row["hmis_item_name"].split())
            if not data_element and not coc:
                continue   # a drug's heading row: its two drop-down rows follow it
            if not data_element or not coc:
                raise MappingError(f"{path.name} row {row['s_no']}: a data element UID needs its category option combo")
            combo = row["categorycombo_name"].strip()
            option = combo.split("-", 1)[1].strip() if combo.lower().startswith("dropdown") else None
            item = by_name.get(normalise(name))
            entries.append(ElementId(
                data_element=data_element, category_option_combo=coc,
                format_id=item.format_id if item else None, item_code=item.code if item else None,
                element=item.element if item else None, disaggregation=TOTAL if item else "",
                option=option, name=name, source=f"hispindia:{row['s_no'].strip()}",
            ))
    return entries


def mapping_csv(elements: Iterable[ElementId], org_units: Iterable[OrgUnitId] = (), header: bool = True) -> str:
    """The mapping file's text (comment header, then one row per pair and org unit)."""
    out = io.StringIO()
    if header:
        out.write(_HEADER_COMMENT)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for e in elements:
        writer.writerow([DATA_ELEMENT, e.data_element, e.category_option_combo, e.format_id or "",
                         e.item_code or "", e.element or "", e.disaggregation, e.option or "", e.name, e.source])
    for u in org_units:
        writer.writerow([ORG_UNIT, u.uid, "", u.scope, u.code, "", "", "", u.name, u.source])
    return out.getvalue()


def read_mapping_csv(text: str, name: str = "dhis2_id_scheme.csv") -> tuple[list[ElementId], list[OrgUnitId]]:
    """The rows of a mapping file (or of a deployment's org-unit list, same columns)."""
    lines = [line for line in text.lstrip("\ufeff").splitlines() if line.strip() and not line.startswith("#")]
    reader = csv.DictReader(lines)
    header = [c.strip() for c in (reader.fieldnames or [])]
    missing = [c for c in ("object", "uid", "scope", "code") if c not in header]
    if missing:
        raise MappingError(f"{name}: lacks column(s) {', '.join(missing)}; the header is {','.join(COLUMNS)}")
    elements, units = [], []
    for number, raw in enumerate(reader, start=2):
        row = {k.strip(): (v or "").strip() for k, v in raw.items() if k}
        kind = row.get("object", "")
        source = row.get("source") or f"{name} row {number}"
        if kind == DATA_ELEMENT:
            scope = row.get("scope") or None
            elements.append(ElementId(
                data_element=row["uid"], category_option_combo=row.get("category_option_combo", ""),
                format_id=scope, item_code=row.get("code") or None, element=row.get("element") or None,
                disaggregation=row.get("disaggregation") or (TOTAL if scope else ""),
                option=row.get("option") or None, name=row.get("name", ""), source=source,
            ))
        elif kind == ORG_UNIT:
            units.append(OrgUnitId(row["uid"], row.get("scope", ""), row.get("code", ""), row.get("name", ""), source))
        else:
            raise MappingError(f"{name} row {number}: object {kind!r} must be {DATA_ELEMENT} or {ORG_UNIT}")
    return elements, units


def org_units_from_csv(data: bytes | str, name: str = ORG_UNITS_KEY) -> list[OrgUnitId]:
    """A deployment's org-unit list (``registry/dhis2_org_units.csv``): ``orgUnit`` rows only."""
    text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
    elements, units = read_mapping_csv(text, name)
    if elements:
        raise MappingError(f"{name}: holds dataElement rows; data element UIDs belong in "
                           "reference/official/dhis2_id_scheme.csv")
    return units


@cache
def _official() -> tuple[tuple[ElementId, ...], tuple[OrgUnitId, ...]]:
    elements, units = read_mapping_csv(ID_SCHEME_FILE.read_text(encoding="utf-8"), ID_SCHEME_FILE.name)
    return tuple(elements), tuple(units)


def load_mapping(org_units: bytes | str | None = None, *, path: Path | None = None,
                 element_fallback: str = CODE, org_unit_fallback: str = CODE) -> Dhis2Mapping:
    """The project's mapping (``official/dhis2_id_scheme.csv``), with a deployment's org-unit
    list (the bytes of ``registry/dhis2_org_units.csv``) when given. ``org_unit_fallback`` may
    be ``ATTRIBUTE:<uid>`` where the state's DHIS2 keeps facility codes in an attribute."""
    if path is None:
        elements, units = _official()
    else:
        elements, units = read_mapping_csv(path.read_text(encoding="utf-8"), path.name)
    extra = org_units_from_csv(org_units) if org_units is not None else []
    return Dhis2Mapping(elements, [*units, *extra], element_fallback=element_fallback,
                        org_unit_fallback=org_unit_fallback)


def main(argv: list[str] | None = None) -> int:
    """Print the mapping file generated from HISP India's mapping and the catalogue."""
    sys.stdout.write(mapping_csv(hisp_entries()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
