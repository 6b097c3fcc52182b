"""The helpers every template may use besides the glossary's words: plural forms, IST dates
and times, ordinals, and the layout of plain-text tables and paragraphs."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime

from hmis.i18n import glossary
from hmis.reference.periods import REPORTING_TZ

_LINE_BREAK = re.compile(r"\s*\n\s*")


def plural(count: int, one: str, many: str) -> str:
    return one if count == 1 else many


def ist(value: date | datetime) -> date:
    """The calendar day of ``value``; a moment is read in the reporting time zone."""
    return value.astimezone(REPORTING_TZ).date() if isinstance(value, datetime) else value


def _short_month(month: int) -> str:
    # English abbreviations are the glossary's month names cut to three letters (Sep, not Sept).
    return glossary.month_word(month, "en")[:3]


def short_date(value: date | datetime, with_year: bool = False) -> str:
    """``7 Nov`` (or ``7 Nov 2026``)."""
    day = ist(value)
    return f"{day.day} {_short_month(day.month)}" + (f" {day.year}" if with_year else "")


def clock(moment: datetime) -> str:
    """``08 Nov 2026 06:00``, in IST."""
    local = moment.astimezone(REPORTING_TZ)
    return f"{local.day:02d} {_short_month(local.month)} {local.year} {local:%H:%M}"


def ordinal(number: int) -> str:
    """``1st``, ``2nd``, ``5th``, ``11th``, ``22nd``."""
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def sentence(text: str) -> str:
    """``text`` with its first letter upper-case and the rest as written."""
    return text[:1].upper() + text[1:]


def oneline(text: str) -> str:
    """A paragraph written over several template lines, as one line of text."""
    return _LINE_BREAK.sub(" ", str(text)).strip()


def column_widths(header: Sequence[str], sections: Sequence[tuple[object, Sequence[Sequence[str]]]]) -> list[int]:
    """Widths of a plain-text table's columns: the widest of the heading and every cell."""
    rows = [row for _title, section_rows in sections for row in section_rows]
    return [max([len(header[i])] + [len(row[i]) for row in rows]) for i in range(len(header))]


def aligned(cells: Sequence[str], widths: Sequence[int]) -> str:
    """One plain-text table row, each cell padded to its column's width."""
    return "  ".join(str(cell).ljust(width) for cell, width in zip(cells, widths)).rstrip()


GLOBALS = {"plural": plural, "column_widths": column_widths}
FILTERS = {"ist": ist, "short_date": short_date, "clock": clock, "ordinal": ordinal, "sentence": sentence,
           "oneline": oneline, "aligned": aligned}
