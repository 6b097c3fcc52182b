"""The one value every pipeline task starts from: which run this is and what it covers.

A run reasons about its logical date (``as_of``), never the wall clock, so a re-run or a
backfill of the same date gives the same result. Everything a stage needs to know about the
run — its ledger key and the open periods — is derived here, once, from that moment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from hmis.platform.settings import Settings, load_settings
from hmis.reference.periods import REPORTING_TZ, open_periods

SCHEDULE_HOUR = 6  # the monthly DAG's daily run, 06:00 IST


def run_key(as_of: datetime) -> str:
    """The ledger's name for a run: its logical date in UTC, so re-runs of a date share it
    whichever time zone the moment was given in."""
    return f"run@{as_of.astimezone(UTC).isoformat()}"


def latest_scheduled_run(now: datetime) -> datetime:
    """The logical date of the newest daily run due by ``now`` (06:00 IST each day)."""
    local = now.astimezone(REPORTING_TZ)
    candidate = datetime.combine(local.date(), time(SCHEDULE_HOUR), tzinfo=REPORTING_TZ)
    return candidate if candidate <= local else candidate - timedelta(days=1)


@dataclass(frozen=True)
class Run:
    """A pipeline run: its moment, its ledger key and the reporting periods it works on."""

    as_of: datetime
    key: str
    periods: tuple[str, ...]

    @classmethod
    def at(cls, as_of: datetime, settings: Settings | None = None) -> Run:
        settings = settings or load_settings()
        return cls(as_of, run_key(as_of), tuple(open_periods(as_of, settings.open_period_count)))

    @classmethod
    def from_context(cls, context) -> Run:
        """The run an Airflow task belongs to: its logical date, or for a manual run without
        one, the time it was asked to run after."""
        return cls.at(context.get("logical_date") or context["dag_run"].run_after)
