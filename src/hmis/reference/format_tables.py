"""The official formats in the warehouse: ``ref.format``, ``ref.format_item``, ``ref.expected_item``,
and the data elements facts are keyed by (``ref.data_item``).

Written by the prepare stage, so SQL (marts, the data dictionary, state teams' own queries)
can name every item of every format, its data element and value type, and count a facility
as expected for an item only when its type's format for that month holds it.
"""

from __future__ import annotations

from hmis.platform.warehouse import copy_rows
from hmis.reference.formats import FACILITY_TYPES, Catalogue

FORMAT_COLUMNS = ["format_id", "title", "provisional", "effective_from", "effective_to"]
ITEM_COLUMNS = ["format_id", "item_code", "data_element", "name", "name_hi", "module", "section", "section_hi",
                "value_type", "disaggregations", "sex", "provisional"]
EXPECTED_COLUMNS = ["facility_type", "period", "format_id", "item_code", "data_element"]
ELEMENT_COLUMNS = ["item_code", "name", "name_hi", "section", "unit", "aggregation", "value_type"]
# How an element's values combine, as ref.data_item says it (per value type; see formats.py).
ELEMENT_AGGREGATION = {"count": "sum", "stock": "sum of movements; balances per month", "status": "none",
                       "date": "none", "percentage": "none"}


def _array(values: tuple[str, ...]) -> str:
    """A text[] literal for COPY: every element quoted, so commas and spaces stay inside."""
    return "{" + ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "}"


def sync_formats(conn, catalogue: Catalogue, periods: list[str]) -> dict:
    """Replace the format tables from the catalogue, in one transaction; returns row counts."""
    expected = [
        (facility_type, period, item.format_id, item.code, item.element)
        for period in periods for facility_type in FACILITY_TYPES
        for item in catalogue.expected_items(facility_type, period)
    ]
    with conn, conn.cursor() as cur:
        cur.execute("DELETE FROM ref.expected_item")
        cur.execute("DELETE FROM ref.format_item")
        cur.execute("DELETE FROM ref.format")
        copy_rows(cur, "ref.format", FORMAT_COLUMNS, [
            (f.format_id, f.title, f.provisional, f.effective_from, f.effective_to) for f in catalogue.formats.values()])
        items = copy_rows(cur, "ref.format_item", ITEM_COLUMNS, [
            (i.format_id, i.code, i.element, i.name, i.name_hi, i.module, i.section, i.section_hi, i.value_type,
             _array(i.disaggregations), i.sex, i.provisional)
            for items in catalogue.items.values() for i in items])
        copy_rows(cur, "ref.expected_item", EXPECTED_COLUMNS, expected)
        cur.execute("DELETE FROM ref.data_item")
        elements = copy_rows(cur, "ref.data_item", ELEMENT_COLUMNS, [
            (i.element, *catalogue.element_name(i.element), i.section, i.value_type,
             ELEMENT_AGGREGATION[i.value_type], i.value_type)
            for i in catalogue.elements()])
    # Items without a Hindi name of their own are shown in English; the count is the gap left.
    return {"formats": len(catalogue.formats), "format_items": items, "expected_items": len(expected),
            "data_elements": elements, "items_without_hindi_name": len(catalogue.hindi_gaps())}
