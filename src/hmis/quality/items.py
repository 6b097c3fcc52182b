"""Place each submitted row on its official meaning, before any check looks at its value.

A facility writes the codes of its own format (docs/formats.md): a CHC's 2.1 is institutional
deliveries, which the district consolidation numbers 2.2. So every row is first looked up in
the format its file follows — chosen from the facility's type and the month — and gains the
item's data element, value type and disaggregation. The Great Expectations suite then judges
the value by its type (a count, a stock figure, a status, a date, a percentage) and rejects a
code the format does not have, naming it; nothing is ever looked up by a code alone.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pandas as pd

from hmis.reference.formats import STOCK_SUB_ITEMS, TOTAL, Catalogue, CatalogueError, load_catalogue

TYPICAL_MAX_PATH = Path(__file__).resolve().parents[1] / "reference" / "typical_max.csv"
# Cells that mean "no sub-item": the column is absent, empty, or says TOTAL as the portal does,
# or DHIS2's own default category option combo (name "default", and the UID DHIS2 gives it in
# every instance). Any other combo needs the id-scheme mapping to be placed.
NO_SUB_ITEM = ("", TOTAL, "default", "HllvX50cXC0")


@dataclass(frozen=True)
class ItemLookup:
    """What each item of each format is, built once per process from the catalogue: a frame
    keyed by (format_id, item_code) that rows are merged with, and the names and codes the
    rule sentences use."""

    items: pd.DataFrame                                # format_id, item_code, element, value_type, is_stock
    names: dict[str, tuple[str, str | None]]           # element -> (English, Hindi)
    codes: dict[str, dict[str, str]]                   # format -> element -> the format's code

    @classmethod
    def from_catalogue(cls, catalogue: Catalogue) -> ItemLookup:
        rows = [(fid, i.code, i.element, i.value_type, i.value_type == "stock")
                for fid, items in catalogue.items.items() for i in items]
        table = pd.DataFrame(rows, columns=["format_id", "item_code", "element", "value_type", "is_stock"])
        codes = {fid: {item.element: item.code for item in items} for fid, items in catalogue.items.items()}
        return cls(table, dict(catalogue.element_names), codes)


@cache
def item_lookup() -> ItemLookup:
    return ItemLookup.from_catalogue(load_catalogue())


@cache
def typical_max() -> dict[str, int]:
    """A generous monthly maximum per data element for one facility: above it a value is
    flagged for confirmation (a warning, never a rejection). See typical_max.csv's header."""
    with TYPICAL_MAX_PATH.open(encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(line for line in handle if not line.startswith("#"))
        return {row["element"]: int(row["typical_max"]) for row in rows}


def file_formats(files: pd.DataFrame, registry: pd.DataFrame, catalogue: Catalogue | None = None) -> dict[int, str | None]:
    """The format each file follows, from its facility's type and its month; None where the
    facility is unknown or the month unreadable (their own rules reject those files)."""
    catalogue = catalogue or load_catalogue()
    types = dict(zip(registry["facility_id"], registry["facility_type"]))
    formats: dict[int, str | None] = {}
    for file_id, facility_id, period in zip(files["file_id"], files["key_facility_id"], files["key_period"]):
        try:
            formats[int(file_id)] = catalogue.format_for(types[facility_id], period).format_id
        except (KeyError, TypeError, CatalogueError):
            formats[int(file_id)] = None
    return formats


def place_rows(frame: pd.DataFrame, formats: dict[int, str | None]) -> pd.DataFrame:
    """Add the columns the suite judges items by: ``format_id``, ``element``, ``value_type``,
    ``disaggregation`` (the sub-item or TOTAL), ``item_known`` (the code is in the file's
    format; NA where the format itself is unknown) and ``sub_item_valid`` (a stock item names
    one of its five sub-items, any other item none)."""
    frame["format_id"] = frame["file_id"].map(formats)
    # A left merge keeps the rows and their order; a million rows take a fraction of a second.
    placed = frame[["format_id", "item_code"]].merge(item_lookup().items, how="left", on=["format_id", "item_code"])
    for column in ("element", "value_type"):   # None where the format has no such code, as before
        found = placed[column].astype(object)
        frame[column] = pd.Series(found.where(found.notna(), None).to_numpy(), index=frame.index, dtype=object)
    is_stock = pd.Series(placed["is_stock"].fillna(False).to_numpy(dtype=bool), index=frame.index)
    known = frame["element"].notna().astype("boolean")
    known[frame["format_id"].isna() | frame["item_code"].isna()] = pd.NA
    frame["item_known"] = known

    sub = frame["sub_item"] if "sub_item" in frame else pd.Series(None, index=frame.index, dtype=object)
    sub = sub.fillna("").astype(str)
    frame["disaggregation"] = sub.where(~sub.isin(NO_SUB_ITEM), TOTAL)
    valid = (is_stock & frame["disaggregation"].isin(STOCK_SUB_ITEMS)) | (~is_stock & sub.isin(NO_SUB_ITEM))
    valid = valid.astype("boolean")
    valid[~frame["element"].notna()] = pd.NA   # an unknown item is reported once, as unknown
    frame["sub_item_valid"] = valid
    return frame


@cache
def expected_elements(facility_type: str, period: str) -> frozenset[str]:
    """The data elements a facility of this type is expected to report for this month (its
    format's items in the modules its type provides); empty for an unknown type or month."""
    try:
        return frozenset(item.element for item in load_catalogue().expected_items(facility_type, period))
    except CatalogueError:
        return frozenset()
