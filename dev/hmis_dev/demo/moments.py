"""When the demo's facilities send their files for a period: on time, or late.

The due date is the end of the 5th of the following month, Asia/Kolkata
(:func:`hmis.reference.periods.due_at`). On-time files arrive from the 1st of that month up to
the due date, mostly in office hours and more of them towards the 5th, as real reports do.
Late files arrive from one minute after the due date up to :data:`LATE_WINDOW` later, most
within a few days. Every moment is a whole second, drawn from the period and a seeded random
generator alone, never from ``as_of``: the caller skips files planned at or after ``as_of``,
so a later ``as_of`` only ever adds files to the landing store and never changes one.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta

from hmis.reference.periods import REPORTING_TZ, due_at, period_end

LATE_WINDOW = timedelta(days=25)


def ceil_second(moment: datetime) -> datetime:
    """``moment`` rounded up to a whole second (the due date ends at 23:59:59.999999)."""
    if moment.microsecond:
        return moment.replace(microsecond=0) + timedelta(seconds=1)
    return moment


def on_time_moment(rng: random.Random, period: str, last_day_offset: int | None = None) -> datetime:
    """A whole-second moment from the 1st of the following month up to the due date.

    Most reports arrive in office hours, and more of them towards the due date.
    ``last_day_offset`` (0 = the 1st) limits how late in the window the moment may fall.
    """
    opens = datetime.combine(period_end(period) + timedelta(days=1), time(0), tzinfo=REPORTING_TZ)
    window_days = (ceil_second(due_at(period)) - opens).days
    last = window_days - 1 if last_day_offset is None else min(last_day_offset, window_days - 1)
    days = list(range(last + 1))
    day = rng.choices(days, weights=[4 + 2 * d for d in days])[0]
    if rng.random() < 0.85:
        second = rng.randrange(9 * 3600, 19 * 3600)
    else:
        second = rng.randrange(24 * 3600)
    return opens + timedelta(days=day, seconds=second)


def late_moment(rng: random.Random, period: str, window: timedelta = LATE_WINDOW) -> datetime:
    """A whole-second moment from one minute after the due date to ``window`` later.

    It does not depend on ``as_of``: the caller skips files planned at or after
    ``as_of``, so a later ``as_of`` only ever adds files to the landing zone.
    """
    due_start = ceil_second(due_at(period))
    earliest = due_start + timedelta(minutes=1)
    span = int(window.total_seconds()) - 60
    # Most stragglers report within a few days; a few take weeks.
    for _ in range(20):
        offset = int(rng.expovariate(1 / (4 * 86400)))
        if offset <= span:
            break
    else:
        offset = rng.randrange(span + 1)
    return earliest + timedelta(seconds=offset)
