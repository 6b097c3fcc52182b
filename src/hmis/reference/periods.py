"""Reporting periods and due dates.

A period is a calendar month written ``YYYY-MM``. Its report is due at the end of the
``due_day`` (default 5th) of the following month in the reporting time zone (Asia/Kolkata).
Every function here takes the moment it reasons about as an argument: the pipeline passes
the Airflow run's logical date, never the wall clock, so re-runs and backfills agree.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

REPORTING_TZ = ZoneInfo("Asia/Kolkata")
DEFAULT_DUE_DAY = 5

_PERIOD_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class PeriodError(ValueError):
    """A period string that is not ``YYYY-MM``."""


def parse_period(period: str) -> tuple[int, int]:
    """Return ``(year, month)`` for a ``YYYY-MM`` string, or raise :class:`PeriodError`."""
    match = _PERIOD_RE.match(str(period))
    if not match:
        raise PeriodError(f"period {period!r} is not in the form YYYY-MM (for example 2026-10)")
    return int(match.group(1)), int(match.group(2))


def is_period(text: str) -> bool:
    return bool(_PERIOD_RE.match(str(text)))


def format_period(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def shift_period(period: str, months: int) -> str:
    """The period ``months`` calendar months after (negative: before) ``period``."""
    year, month = parse_period(period)
    index = year * 12 + (month - 1) + months
    return format_period(index // 12, index % 12 + 1)


def period_start(period: str) -> date:
    year, month = parse_period(period)
    return date(year, month, 1)


def period_end(period: str) -> date:
    """Last calendar day of the period."""
    return period_start(shift_period(period, 1)) - timedelta(days=1)


def period_of(moment: datetime) -> str:
    """The period containing ``moment`` in the reporting time zone."""
    local = moment.astimezone(REPORTING_TZ)
    return format_period(local.year, local.month)


def due_at(period: str, due_day: int = DEFAULT_DUE_DAY) -> datetime:
    """End of the due day of the following month, Asia/Kolkata (23:59:59.999999)."""
    following = period_start(shift_period(period, 1))
    due_date = following.replace(day=due_day)
    return datetime.combine(due_date, time.max, tzinfo=REPORTING_TZ)


def open_periods(as_of: datetime, count: int = 3) -> list[str]:
    """The ``count`` most recent complete periods as of ``as_of``, oldest first.

    These are the periods a daily run still works on: late submissions for them keep
    arriving and their compliance status can still change.
    """
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware")
    current = period_of(as_of)
    return [shift_period(current, -offset) for offset in range(count, 0, -1)]


def financial_year(period: str) -> str:
    """Indian financial year (April–March) of a period, e.g. ``2026-27``."""
    year, month = parse_period(period)
    start = year if month >= 4 else year - 1
    return f"{start}-{(start + 1) % 100:02d}"


def month_name(period: str) -> str:
    """``October 2026`` for ``2026-10``."""
    return period_start(period).strftime("%B %Y")
