"""Which signals may alarm: provisional months are judged, kept and shown, never alarmed.

A month is provisional until its due date (the 5th of the following month, end of day IST)
has passed and at least ``HMIS_COMPLETE_SHARE`` (0.90) of its expected reports are in; the
marts carry that class per area-month (``marts.reporting_rates.completeness``). A rise in a
month that is 10 % reported says little, and an e-mail about it cannot be taken back, so:

* every result records its month's class (``completeness``) and what the method found
  (``would_alarm``); ``alarm`` is ``would_alarm`` on a complete month and false on a
  provisional one (missing where the method could not judge either way);
* the class of a **block**'s signal is the block's own, of a **district**'s signal the
  district's. A block's count is what is judged, and the rest of the district enters its
  expected count only as a rate per reporting facility's visits, which does not fall when
  other blocks are late: a fully reported block with an outbreak should not wait for the
  slowest block of its district;
* an area-month with no class in the marts (not built yet) is provisional: unknown is never
  complete;
* a month the run's moment (``as_of``) has not passed the due date of is provisional whatever
  the marts say, so a run dated in the past never alarms on a month that was not due then;
* the **baseline** keeps provisional months. The series are rates over reporting facilities
  (cases per 1,000 visits for districts, the standardised ratio for blocks), which a partly
  reported month does not bias much, and EARS, as R's ``earsC``, leaves every month whose
  window holds a gap unjudged: dropping one short month would silence an area for the 7-9
  months its window covers it. Only the month being judged decides whether it alarms.

The words people read for each state are in the glossary (``signal_*`` and ``provisional``
terms); :func:`state` names the state of one result.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import numpy as np
import pandas as pd

from hmis.platform.warehouse import statement

SQL = "signals/completeness.sql"
PROVISIONAL = "provisional"
COMPLETE = "complete"
CLASSES = (PROVISIONAL, COMPLETE)

# The state of one result, the glossary's term keys (report page, ``hmis signals``).
ALARM = "signal_alarm"
PROVISIONAL_RISE = "signal_provisional_rise"
NO_ALARM = "signal_no_alarm"
NOT_JUDGED = "signal_not_judged"

# (area_level, district, area, period) -> class
Classes = Mapping[tuple[str, str, str, str], str]


def load_classes(conn, as_of: datetime) -> dict[tuple[str, str, str, str], str]:
    """The class of every block- and district-month in ``marts.reporting_rates``, as of ``as_of``."""
    with conn.cursor() as cur:
        cur.execute(statement(SQL, "classes"), {"as_of": as_of})
        rows = cur.fetchall()
    conn.rollback()
    return {(level, district, area, period): completeness for level, district, area, period, completeness in rows}


def apply_classes(signals: pd.DataFrame, classes: Classes) -> pd.DataFrame:
    """``signals`` (from :func:`hmis.signals.series.compute_signals`) with ``completeness`` and
    ``would_alarm`` added and ``alarm`` cleared on provisional months."""
    signals = signals.copy()
    keys = zip(signals["area_level"], signals["district"], signals["area"], signals["period"])
    completeness = [classes.get(key, PROVISIONAL) for key in keys]
    would = pd.array(signals["alarm"].tolist(), dtype="boolean")
    alarm = would.copy()
    provisional = np.array([c == PROVISIONAL for c in completeness], dtype=bool)
    # False, not missing: the method did judge the month; it is the rule that withholds the alarm.
    alarm[provisional & ~would.isna()] = False
    signals["completeness"] = pd.Series(completeness, index=signals.index, dtype=object)
    signals["would_alarm"] = pd.Series(would, index=signals.index)
    signals["alarm"] = pd.Series(alarm, index=signals.index)
    return signals


def state(alarm: bool | None, would_alarm: bool | None, completeness: str) -> str:
    """The glossary key of one result: an alarm, a provisional rise, no alarm, or not judged."""
    if alarm:
        return ALARM
    if completeness == PROVISIONAL and would_alarm:
        return PROVISIONAL_RISE
    if alarm is None and would_alarm is None:
        return NOT_JUDGED
    return NO_ALARM

