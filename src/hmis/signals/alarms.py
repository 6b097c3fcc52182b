"""The disease signals that alarmed, read back from ``marts.disease_signals`` for notifying.

One :class:`Alarm` per area (block or district), disease and period on which at least one
EARS method alarmed, with every method's verdict for that month. Only complete months alarm
(:mod:`hmis.signals.completeness`), so every alarm read here is of a complete month. Area-level counts only:
nothing here identifies a patient. The disease is named as officers read it, by the list of
watched diseases (:mod:`hmis.reference.diseases`), not by the catalogue's item name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from hmis.platform.warehouse import sql_file
from hmis.reference.diseases import display_names
from hmis.signals.completeness import COMPLETE


class MethodResult(NamedTuple):
    method: str
    expected: float | None
    upper_bound: float | None
    alarm: bool


@dataclass(frozen=True)
class Alarm:
    level: str  # "block" or "district"
    district: str
    area: str
    item_code: str      # the data element
    item_name: str      # the catalogue's name (ref.data_item), used only off the list
    item_name_hi: str
    period: str
    observed: int
    methods: tuple[MethodResult, ...]
    completeness: str = COMPLETE  # the class of the judged area-month; never provisional for an alarm

    @property
    def disease(self) -> str:
        """English, mid-sentence: ``dengue (RDT positive)``."""
        return display_names(self.item_code, self.item_name, self.item_name_hi)[0]

    @property
    def disease_hi(self) -> str:
        """Hindi: ``डेंगू (आरडीटी पॉज़िटिव)``."""
        return display_names(self.item_code, self.item_name, self.item_name_hi)[1]

    @property
    def flagged(self) -> tuple[MethodResult, ...]:
        """The methods that alarmed."""
        return tuple(method for method in self.methods if method.alarm)


def read_alarms(conn, periods: Sequence[str]) -> list[Alarm]:
    """Every alarm of ``periods``, ordered by period, level, area and item."""
    with conn.cursor() as cur:
        cur.execute(sql_file("notify/signal_alarms.sql"), {"periods": list(periods)})
        rows = cur.fetchall()
    conn.rollback()
    return [Alarm(r[0], r[1], r[2], r[3], r[4], r[5], r[6], int(r[7]),
                  tuple(MethodResult(*method) for method in zip(r[8], r[9], r[10], r[11])), r[12])
            for r in rows]
