"""The alert policy: who hears about which facilities, and when.

The policy is a YAML file (``config/alert_policy.yaml`` unless ``HMIS_ALERT_POLICY`` names
another) with an escalation ladder in days after the due date, what to do about rungs no run
sent in time, and the monthly registration-gap digest. :func:`load_policy` reads and checks
it; every mistake is reported with the file and the place in it, so a bad edit fails the
run loudly instead of silently sending the wrong e-mails.

Every moment here is computed from the period and the run's logical date, never the clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path

from hmis.reference.periods import REPORTING_TZ, due_at, period_of, shift_period

STATUSES = ("missing", "rejected", "late")
LEVELS = ("block", "district", "state")
DIGEST_UNITS = ("block", "district")
MISSED_RUNG_CHOICES = ("skip", "send")
DEFAULT_STATUSES = ("missing", "rejected")
_LEVEL_RANK = {level: rank for rank, level in enumerate(LEVELS)}
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_TOP_KEYS = {"version", "ladder", "missed_rungs", "registration_gap"}
_RUNG_KEYS = {"rung", "day", "role", "level", "digest_per", "statuses"}
_GAP_KEYS = {"role", "level", "day_of_month"}


class AlertPolicyError(ValueError):
    """The policy file cannot be used; the message names the file and the setting to fix."""


@dataclass(frozen=True)
class Rung:
    """One step of the ladder: ``role`` at ``level`` hears on ``day`` after the due date."""

    name: str
    day: int
    role: str
    level: str
    digest_per: str
    statuses: tuple[str, ...]


@dataclass(frozen=True)
class RegistrationGapPolicy:
    """The monthly digest of registry facilities not registered on HMIS."""

    role: str
    level: str
    day_of_month: int

    @property
    def digest_per(self) -> str:
        return "block" if self.level == "block" else "district"


@dataclass(frozen=True)
class AlertPolicy:
    ladder: tuple[Rung, ...]
    missed_rungs: str
    registration_gap: RegistrationGapPolicy | None
    source: str = "<policy>"

    def rung(self, name: str) -> Rung:
        for rung in self.ladder:
            if rung.name == name:
                return rung
        raise KeyError(name)

    def next_rung(self, rung: Rung) -> Rung | None:
        index = self.ladder.index(rung)
        return self.ladder[index + 1] if index + 1 < len(self.ladder) else None

    def opens_at(self, rung: Rung, period: str, due_day: int) -> datetime:
        """Start of calendar day ``rung.day`` after the due date, Asia/Kolkata."""
        due_date = due_at(period, due_day).date()
        return datetime.combine(due_date + timedelta(days=rung.day), time(0), tzinfo=REPORTING_TZ)

    def late_since(self, rung: Rung, period: str, due_day: int) -> datetime:
        """Reports received after this moment count as "late since the last rung"."""
        index = self.ladder.index(rung)
        if index == 0:
            return due_at(period, due_day)
        return self.opens_at(self.ladder[index - 1], period, due_day)

    def rungs_due(self, period: str, as_of: datetime, due_day: int) -> list[Rung]:
        """Rungs a run at ``as_of`` should send for ``period`` (if not sent already).

        With ``missed_rungs: skip`` that is only the latest rung that has opened; with
        ``send`` every rung that has opened.
        """
        opened = [rung for rung in self.ladder if self.opens_at(rung, period, due_day) <= as_of]
        if self.missed_rungs == "skip":
            return opened[-1:]
        return opened

    def gap_digest_period(self, as_of: datetime) -> str | None:
        """The reporting cycle whose registration-gap digest is due at ``as_of``, if any.

        The digest for a month's cycle is named after the period that fell due that month
        (the digest sent in November is filed under October), and is due from
        ``day_of_month`` on.
        """
        if self.registration_gap is None:
            return None
        local = as_of.astimezone(REPORTING_TZ)
        if local.day < self.registration_gap.day_of_month:
            return None
        return shift_period(period_of(as_of), -1)


def load_policy(path: Path | str) -> AlertPolicy:
    """Read and check the policy file at ``path``; raises :class:`AlertPolicyError`."""
    import yaml  # only the alerting task needs it

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise AlertPolicyError(
            f"alert policy {path} cannot be read ({exc.strerror or exc}); set HMIS_ALERT_POLICY "
            "to the policy file or restore config/alert_policy.yaml"
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise AlertPolicyError(f"alert policy {path} is not valid YAML: {exc}") from None
    return parse_policy(data, str(path))


def parse_policy(data: object, source: str = "<policy>") -> AlertPolicy:
    """Check a policy already read from YAML; raises :class:`AlertPolicyError`."""

    def fail(where: str, problem: str) -> AlertPolicyError:
        return AlertPolicyError(f"alert policy {source}: {where} {problem}")

    if not isinstance(data, dict):
        raise fail("the file", "must be a mapping with a 'ladder' list")
    unknown = sorted(set(map(str, data)) - _TOP_KEYS)
    if unknown:
        raise fail("the file", f"has unknown setting(s) {unknown}; known: {sorted(_TOP_KEYS)}")
    if data.get("version", 1) != 1:
        raise fail("version", f"is {data.get('version')!r}; this pipeline reads version 1")

    ladder_data = data.get("ladder")
    if not isinstance(ladder_data, list) or not ladder_data:
        raise fail("ladder", "must be a non-empty list of rungs")
    ladder = tuple(_parse_rung(item, f"ladder[{index}]", fail) for index, item in enumerate(ladder_data))
    names = [rung.name for rung in ladder]
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise fail("ladder", f"names rung(s) {duplicated} more than once")
    for earlier, later in zip(ladder, ladder[1:]):
        if later.day <= earlier.day:
            raise fail(
                f"ladder rung '{later.name}'",
                f"is on day {later.day}, not after rung '{earlier.name}' (day {earlier.day}); "
                "days must increase down the ladder",
            )

    missed = data.get("missed_rungs", "skip")
    if missed not in MISSED_RUNG_CHOICES:
        raise fail("missed_rungs", f"is {missed!r}; choose one of {list(MISSED_RUNG_CHOICES)}")

    gap_data = data.get("registration_gap")
    gap = None if gap_data is None else _parse_gap(gap_data, fail)
    return AlertPolicy(ladder=ladder, missed_rungs=missed, registration_gap=gap, source=source)


def _parse_rung(item: object, where: str, fail) -> Rung:
    if not isinstance(item, dict):
        raise fail(where, "must be a mapping with rung, day, role and level")
    unknown = sorted(set(map(str, item)) - _RUNG_KEYS)
    if unknown:
        raise fail(where, f"has unknown setting(s) {unknown}; known: {sorted(_RUNG_KEYS)}")
    name = item.get("rung")
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise fail(where, f"rung name {name!r} must be lower-case letters, digits and '_'")
    where = f"ladder rung '{name}'"
    day = item.get("day")
    if isinstance(day, bool) or not isinstance(day, int) or day < 1:
        raise fail(where, f"day {day!r} must be a whole number of days after the due date, 1 or more")
    role = _text(item.get("role"), where, "role", fail)
    level = item.get("level")
    if level not in LEVELS:
        raise fail(where, f"level {level!r} must be one of {list(LEVELS)}")
    digest_per = item.get("digest_per", "block" if level == "block" else "district")
    if digest_per not in DIGEST_UNITS:
        raise fail(where, f"digest_per {digest_per!r} must be one of {list(DIGEST_UNITS)}")
    if _LEVEL_RANK[digest_per] > _LEVEL_RANK[level]:
        raise fail(where, f"cannot send one e-mail per {digest_per} to a {level}-level contact")
    statuses = item.get("statuses", list(DEFAULT_STATUSES))
    if (not isinstance(statuses, list) or not statuses or len(set(statuses)) != len(statuses)
            or any(status not in STATUSES for status in statuses)):
        raise fail(where, f"statuses {statuses!r} must be a list of distinct values from {list(STATUSES)}")
    return Rung(name, day, role, level, digest_per, tuple(statuses))


def _parse_gap(item: object, fail) -> RegistrationGapPolicy:
    where = "registration_gap"
    if not isinstance(item, dict):
        raise fail(where, "must be a mapping with role, level and day_of_month (or null to turn it off)")
    unknown = sorted(set(map(str, item)) - _GAP_KEYS)
    if unknown:
        raise fail(where, f"has unknown setting(s) {unknown}; known: {sorted(_GAP_KEYS)}")
    role = _text(item.get("role"), where, "role", fail)
    level = item.get("level", "district")
    if level not in LEVELS:
        raise fail(where, f"level {level!r} must be one of {list(LEVELS)}")
    day = item.get("day_of_month")
    # Every month has a 28th, so the digest never skips February.
    if isinstance(day, bool) or not isinstance(day, int) or not 1 <= day <= 28:
        raise fail(where, f"day_of_month {day!r} must be a whole number from 1 to 28")
    return RegistrationGapPolicy(role=role, level=level, day_of_month=day)


def _text(value: object, where: str, name: str, fail) -> str:
    if not isinstance(value, str) or not value.strip():
        raise fail(where, f"{name} must be a non-empty text (a role in registry/contacts.csv)")
    return value.strip()
