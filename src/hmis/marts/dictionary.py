"""The data dictionary state teams read: every reader-facing mart and its columns, the items and indicators.

Tables, their grain, scope, export and the meaning of every column come from the list of
marts (``src/hmis/marts/marts.yaml``); column types come from the warehouse; items and
data elements from the official formats (src/hmis/reference/official/); indicators from
their list. A column the warehouse has and the list does not
describe is still shown (with an empty meaning, which the tests refuse), so the dictionary
never hides a column.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from hmis.marts.build import load_indicators
from hmis.marts.catalog import Catalog, Table, load_catalog
from hmis.reference.formats import TOTAL, load_catalogue

READERS = {
    "district": "district readers see their own district's rows; state readers see every row.",
    "state": "state-wide: every reader sees every row.",
    None: "not granted to the reader roles; described because the marts are built from it.",
}


def _column_types(conn, tables: tuple[Table, ...]) -> dict[tuple[str, str], dict[str, str]]:
    with conn.cursor() as cur:
        cur.execute(
            """SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns
                WHERE (table_schema || '.' || table_name) = ANY(%s) ORDER BY ordinal_position""",
            ([t.qualified for t in tables],),
        )
        found = cur.fetchall()
    conn.rollback()
    types: dict[tuple[str, str], dict[str, str]] = {}
    for schema, table, column, data_type in found:
        types.setdefault((schema, table), {})[column] = data_type
    return types


def _table_lines(table: Table, types: dict[str, str]) -> list[str]:
    if table.exported:
        export = f"Exported: `exports/<period>/{table.name}.csv` and `.parquet`."
    elif table.reader_facing:
        export = f"Not exported to the state's store: {table.not_exported_because}"
    else:
        export = ""
    lines = ["", f"## `{table.qualified}`", "", table.description, "",
             f"Grain: {table.grain} Key: `{', '.join(table.key)}`.", "", f"Readers: {READERS[table.scope]}"]
    if export:
        lines += ["", export]
    lines += ["", "| column | type | meaning |", "|---|---|---|"]
    listed = table.column_names
    for column in listed + tuple(c for c in types if c not in listed):
        lines.append(f"| `{column}` | {types.get(column, 'not in the warehouse')} | {table.meaning(column)} |")
    return lines


def _element_lines() -> list[str]:
    """Every data element: its meaning, value type, disaggregation, how it combines, and the
    code each official format gives it (facts and marts use the element's code)."""
    catalogue = load_catalogue()
    codes: dict[str, list[str]] = {}
    for format_id, items in catalogue.items.items():
        for item in items:
            codes.setdefault(item.element, []).append(f"{format_id} `{item.code}`")
    lines = ["", "## Data elements", "",
             "`item_code` in the facts and marts is the data element: the 2017 district consolidation's code for the",
             "meaning, or `<format>:<code>` for an item only one format has. Names marked (provisional) come from a",
             "transcription of the newer format. `disaggregation` is `TOTAL` or, for stock, one of the five sub-items.",
             "Statuses, dates and percentages are kept in `facts.monthly_value.value_text` and never summed.", "",
             "| element | name | हिंदी | section | value type | disaggregation | combined | codes by format |",
             "|---|---|---|---|---|---|---|---|"]
    for item in catalogue.elements():
        name, name_hi = catalogue.element_name(item.element)
        subs = " / ".join(item.disaggregations) if item.disaggregations != (TOTAL,) else TOTAL
        combined = {"count": "summed", "stock": "movements summed; balances per month only"}.get(item.value_type, "never summed")
        lines.append(f"| `{item.element}` | {name}{' (provisional)' if item.provisional else ''} | {name_hi or '—'} "
                     f"| {item.section} | {item.value_type} | {subs} | {combined} | {'; '.join(codes[item.element])} |")
    return lines


def render(conn, generated_at: datetime, catalog: Catalog | None = None) -> str:
    """The dictionary as Markdown: the list's reader-facing marts and compliance tables, items, indicators."""
    catalog = catalog or load_catalog()
    documented = catalog.documented
    types = _column_types(conn, documented)
    lines = ["# HMIS warehouse — data dictionary", "",
             f"Generated {generated_at:%Y-%m-%d %H:%M %Z} from the list of marts, the warehouse schema and the "
             "catalogues.",
             "State readers (`state_reader`) may read every `marts` table below; district readers see their own",
             "district's rows of the district-scoped ones and every row of the state-wide ones. Rates are",
             "fractions from 0 to 1. Periods are `YYYY-MM`; financial years run April to March.", ""]
    for table in documented:
        lines += _table_lines(table, types.get((table.schema, table.name), {}))
    lines += _element_lines()
    lines += ["", "## Indicators (`marts.indicator_monthly`)", "", "| id | name | definition |", "|---|---|---|"]
    for ind in load_indicators():
        numerator = " + ".join(ind["numerator"]) + "".join(f" − {c}" for c in ind.get("numerator_minus", []))
        if ind.get("denominator"):
            denominator = " + ".join(ind["denominator"])
        else:
            unit = ind.get("population_unit", 1)
            denominator = f"population{f' / {unit:,}' if unit != 1 else ''} × {ind['population_rate']} / 12 per month"
        lines.append(f"| `{ind['id']}` | {ind['name']} | {ind.get('factor', 1)} × ({numerator}) / ({denominator}) |")
    return "\n".join(lines) + "\n"


def write(conn, folder: Path, generated_at: datetime) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "data_dictionary.md"
    path.write_text(render(conn, generated_at), encoding="utf-8")
    return path
