"""Words people read, in English and Hindi, from one glossary (``glossary.yaml``).

Every message, feedback page and report page takes its terms, role and status labels and
month names from here, so a wording is changed in one place and never disagrees between
texts. Dates are always shown in the reporting time zone (IST).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

import yaml

from hmis.reference.periods import parse_period

GLOSSARY_FILE = Path(__file__).with_name("glossary.yaml")
LANGUAGES = ("en", "hi")


@dataclass(frozen=True)
class Term:
    en: str
    hi: str

    def in_(self, lang: str) -> str:
        return getattr(self, lang)


@dataclass(frozen=True)
class StatusLabel:
    symbol: str
    en: str
    hi: str
    en_long: str
    hi_long: str


@cache
def _glossary() -> dict:
    return yaml.safe_load(GLOSSARY_FILE.read_text(encoding="utf-8"))


def term(key: str) -> Term:
    """A word of the glossary's ``terms`` (``block``, ``district`` …)."""
    entry = _glossary()["terms"][key]
    return Term(entry["en"], entry["hi"])


def role_label(role: str, fallback: str | None = None) -> Term:
    """An officer's role as people call it; unknown roles read as ``fallback`` (or the code)."""
    entry = _glossary()["roles"].get(role)
    if entry is None:
        text = fallback or role
        return Term(text, text)
    return Term(entry["en"], entry["hi"])


def status_label(status: str) -> StatusLabel:
    return StatusLabel(**_glossary()["statuses"][status])


def statuses() -> dict[str, StatusLabel]:
    return {key: StatusLabel(**value) for key, value in _glossary()["statuses"].items()}


def month_word(month: int, lang: str = "en") -> str:
    return _glossary()["months"][lang][month - 1]


def month_name(period: str, lang: str = "en") -> str:
    """``October 2026`` / ``अक्टूबर 2026`` for ``2026-10``."""
    year, month = parse_period(period)
    return f"{month_word(month, lang)} {year}"


def date_text(day: date, lang: str = "en") -> str:
    """``5 November 2026`` / ``5 नवंबर 2026``."""
    return f"{day.day} {month_word(day.month, lang)} {day.year}"
