"""The data dictionary state teams read: every mart and column, the items and indicators.

Generated from the warehouse's own catalogue (tables, columns, types and the comments the
migrations set) and from the item and indicator catalogues, so it cannot drift from them.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from hmis.marts.build import load_indicators
from hmis.reference.catalogue import load_items

DOCUMENTED_SCHEMAS = ("marts", "compliance")


def render(conn, generated_at: datetime) -> str:
    with conn.cursor() as cur:
        cur.execute(
            """SELECT c.table_schema, c.table_name, c.column_name, c.data_type,
                      obj_description(format('%%I.%%I', c.table_schema, c.table_name)::regclass, 'pg_class'),
                      col_description(format('%%I.%%I', c.table_schema, c.table_name)::regclass, c.ordinal_position)
                 FROM information_schema.columns c
                 JOIN information_schema.tables t USING (table_schema, table_name)
                WHERE c.table_schema = ANY(%s) AND t.table_type = 'BASE TABLE'
                  AND c.table_name NOT IN ('block_build_state', 'reader_scope')
                ORDER BY c.table_schema, c.table_name, c.ordinal_position""",
            (list(DOCUMENTED_SCHEMAS),),
        )
        columns = cur.fetchall()
    conn.rollback()
    lines = ["# HMIS warehouse — data dictionary", "",
             f"Generated {generated_at:%Y-%m-%d %H:%M %Z} from the warehouse schema and the catalogues.",
             "State readers (`state_reader`) may read every table in `marts`; district readers see their own",
             "district's rows only. Rates are fractions from 0 to 1. Periods are `YYYY-MM`; financial years run",
             "April to March.", ""]
    current = None
    for schema, table, column, data_type, table_comment, column_comment in columns:
        if (schema, table) != current:
            current = (schema, table)
            lines += ["", f"## `{schema}.{table}`", "", table_comment or "", "", "| column | type | meaning |",
                      "|---|---|---|"]
        lines.append(f"| `{column}` | {data_type} | {column_comment or ''} |")
    lines += ["", "## Data items", "", "| code | name | हिंदी | section | unit | aggregation |", "|---|---|---|---|---|---|"]
    lines += [f"| `{i.item_code}` | {i.name} | {i.name_hi} | {i.section} | {i.unit} | {i.aggregation} |"
              for i in load_items()]
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
