"""The signals the pipeline kept, read back for ``hmis signals --warehouse``, each with its state.

One row per area, disease, period and method of ``marts.disease_signals``, with the month's
completeness class and the state a person reads (:func:`hmis.signals.completeness.state`),
worded in English and Hindi by the glossary: a provisional month's rise reads "rising,
provisional: no alarm until the month is complete", never "alarm". Area-level counts only.
"""

from __future__ import annotations

from hmis.i18n.glossary import term
from hmis.platform.warehouse import statement
from hmis.reference.diseases import display_names
from hmis.signals.completeness import SQL, state

COLUMNS = ("level", "district", "area", "item_code", "disease", "period", "method", "observed", "expected",
           "upper_bound", "alarm", "would_alarm", "completeness", "signal", "signal_hi")


def read_listing(conn, district: str | None = None, period: str | None = None,
                 method: str | None = None) -> list[dict]:
    """Every kept signal of ``district`` and ``period`` (all when None), ordered by period and area."""
    with conn.cursor() as cur:
        cur.execute(statement(SQL, "listing"), {"district": district, "period": period, "method": method})
        rows = cur.fetchall()
    conn.rollback()
    listing = []
    for (level, area_district, area, item, name, name_hi, month, found_by, observed, expected, bound, alarm,
         would, completeness) in rows:
        words = term(state(alarm, would, completeness))
        listing.append({
            "level": level, "district": area_district, "area": area, "item_code": item,
            "disease": display_names(item, name, name_hi)[0], "period": month, "method": found_by,
            "observed": observed, "expected": expected, "upper_bound": bound, "alarm": alarm,
            "would_alarm": would, "completeness": completeness, "signal": words.en, "signal_hi": words.hi,
        })
    return listing
