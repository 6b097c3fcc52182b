"""The monthly submissions of the registered facilities: who sends what, when, and in which file.

Each open period has the same mix over the 266 registered facilities, so that every status
and every follow-up the pipeline handles occurs in every month. The seeded random generator
decides who does what; the outcome is recorded in
:attr:`hmis_dev.demo.truth.DemoTruth.scenario` and :attr:`~hmis_dev.demo.truth.DemoTruth.status`.

* exactly 3 "malformed": their only file is broken, so their status is ``rejected``;
* exactly 3 "corrected": a broken file on time, then a valid ``__v2`` file. Two send the
  correction before the due date (``on_time``); one after it (``late``);
* exactly 2 "revised": a valid file on time, then a valid ``__v2`` file with a few different
  values after the due date. Status ``on_time``; values come from ``__v2``;
* each of the other 258 is late with probability 9% and never submits with probability
  5.5%; the rest submit on time. Overall about 84-87% are on time, 8-9% late, about 5%
  missing and 1% rejected (with the default seed and as_of 2026-11-27: 225/24/14/3,
  230/21/12/3 and 226/24/13/3 for August to October 2026).

The due date is the end of the 5th of the following month, Asia/Kolkata
(:func:`hmis.reference.periods.due_at`). The rule "on time up to the due date" is only tested
where it can fail, so every period has one on-time submission at exactly 23:59 IST on the
5th and one late submission at 00:01 IST on the 6th. Late files arrive up to 25 days after
the due date (:mod:`hmis_dev.demo.moments`); late corrections and revisions within
:data:`FOLLOW_UP_WINDOW`. Broken files come from :mod:`hmis_dev.demo.defects`.

Each file's moment is planned from the period and the seed alone; ``as_of`` only decides
which planned files exist yet. Nothing is dated at or after ``as_of``, and a later ``as_of``
only adds files, never changes one. A facility with no file is ``missing``, or ``pending``
while the period is not yet due at ``as_of``.

History (``history_months``)
    Disease-rise signals compare a month with the months before it, so ``history_months``
    more periods before the open ones can be written too: every registered facility sends
    one clean, valid file on time for each of them (status ``on_time``). They are listed in
    :attr:`~hmis_dev.demo.truth.DemoTruth.history_periods` and, oldest first, at the start of
    :attr:`~hmis_dev.demo.truth.DemoTruth.periods`.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from hmis.reference.periods import due_at, parse_period
from hmis_dev.demo.defects import DEFECT_KINDS, NEWER_FORMAT_FACILITY_TYPE, broken_content
from hmis_dev.demo.files import csv_bytes, write_file
from hmis_dev.demo.moments import ceil_second, late_moment, on_time_moment
from hmis_dev.demo.quality_warnings import plant_warnings
from hmis_dev.demo.registry import Facility
from hmis_dev.demo.truth import DemoFile
from hmis_dev.demo.values import Report, clean_values, revise

MALFORMED_PER_PERIOD = 3
CORRECTED_PER_PERIOD = 3
CORRECTED_LATE_PER_PERIOD = 1
REVISED_PER_PERIOD = 2
P_LATE = 0.09
P_MISSING = 0.055
# Late corrections and revisions follow the due date closely, so by the 11th of the
# month every corrected and revised facility of the previous period is complete.
FOLLOW_UP_WINDOW = timedelta(days=5)


@dataclass(frozen=True)
class _Plan:
    """One file a facility intends to send: its key, moment and content, and what it holds."""

    key: str
    facility_id: str
    moment: datetime
    content: bytes
    valid: bool
    defect: str | None
    reason: str | None
    report: Report | None  # what a valid file holds; None for a broken one


@dataclass(frozen=True)
class Submissions:
    """What :func:`write_submissions` wrote: the files in order, and what was planned.

    ``files`` are sorted by period, facility and moment; ``file_reports`` holds the report
    (format and values) of each valid file by key; ``scenario`` the planned behaviour of
    every facility-period, including files not sent by ``as_of``; ``warnings`` the planted quality warnings as
    ``(facility_id, period, kind)``, in the order they were planted.
    """

    files: list[DemoFile]
    file_reports: dict[str, Report]
    scenario: dict[tuple[str, str], str]
    warnings: list[tuple[str, str, str]]


def write_submissions(
    landing_root: Path,
    registered: Sequence[Facility],
    periods: Sequence[str],
    history: Sequence[str],
    seed: int,
    as_of: datetime,
    quality_warnings: bool = False,
) -> Submissions:
    """Write ``submissions/`` afresh: every file planned for ``periods`` and sent before ``as_of``.

    ``history`` are the periods among ``periods`` that get only clean on-time files;
    ``quality_warnings`` plants warning-level problems in the other periods.
    """
    submissions = landing_root / "submissions"
    if submissions.exists():
        shutil.rmtree(submissions)
    written: list[DemoFile] = []
    file_reports: dict[str, Report] = {}
    scenario: dict[tuple[str, str], str] = {}
    warnings: list[tuple[str, str, str]] = []
    for period in periods:
        folder = submissions / period
        folder.mkdir(parents=True, exist_ok=True)
        if period in history:
            plans, period_scenario = _plan_history_period(period, registered, seed)
        else:
            plans, period_scenario = _plan_period(period, registered, seed)
            if quality_warnings:
                plans, planted = _with_warnings(plans, period_scenario, registered, period, seed)
                warnings.extend(planted)
        scenario.update(period_scenario)
        for plan in plans:
            if plan.moment >= as_of:
                continue  # not sent yet at as_of
            write_file(landing_root / plan.key, plan.content, plan.moment)
            written.append(
                DemoFile(plan.key, plan.facility_id, period, plan.moment, plan.valid, plan.defect, plan.reason)
            )
            if plan.valid:
                file_reports[plan.key] = plan.report

    written.sort(key=lambda demo_file: (demo_file.period, demo_file.facility_id, demo_file.submitted_at))
    return Submissions(written, file_reports, scenario, warnings)


def _plan_history_period(
    period: str, registered: Sequence[Facility], seed: int
) -> tuple[list[_Plan], dict[tuple[str, str], str]]:
    """One clean file per registered facility, on time: the baseline before the open periods."""
    rng = random.Random(f"{seed}:history:{period}")
    plans = []
    for facility in sorted(registered, key=lambda facility: facility.facility_id):
        key = _plain_key(period, facility.facility_id)
        report = clean_values(facility, period, seed)
        plans.append(_valid_plan(key, facility.facility_id, period, on_time_moment(rng, period), report))
    return plans, {(facility.facility_id, period): "on_time" for facility in registered}


def _with_warnings(
    plans: list[_Plan],
    scenario: dict[tuple[str, str], str],
    registered: Sequence[Facility],
    period: str,
    seed: int,
) -> tuple[list[_Plan], list[tuple[str, str, str]]]:
    """Replace a few plain on-time files with copies carrying one warning-level problem each."""
    plain = {plan.facility_id: plan for plan in plans if plan.key == _plain_key(period, plan.facility_id)}
    on_time = [facility.facility_id for facility in registered if scenario[(facility.facility_id, period)] == "on_time"]
    planted = plant_warnings(period, seed, on_time, {facility_id: plan.report for facility_id, plan in plain.items()})
    replaced = {}
    for facility_id, _, changed in planted:
        plan = plain[facility_id]
        replaced[plan.key] = _valid_plan(plan.key, facility_id, period, plan.moment, changed)
    kinds = [(facility_id, period, kind) for facility_id, kind, _ in planted]
    return [replaced.get(plan.key, plan) for plan in plans], kinds


def _plain_key(period: str, facility_id: str) -> str:
    """The key of a facility's first file for ``period``; a second one adds ``__v2``."""
    return f"submissions/{period}/{facility_id}.csv"


def _plan_period(
    period: str, registered: Sequence[Facility], seed: int
) -> tuple[list[_Plan], dict[tuple[str, str], str]]:
    """Every file each registered facility intends to send for ``period``, with its moment.

    The plan depends only on the period and the seed, never on ``as_of``.
    """
    rng = random.Random(f"{seed}:mix:{period}")
    order = sorted(registered, key=lambda facility: facility.facility_id)
    shuffled = list(order)
    rng.shuffle(shuffled)
    year, month = parse_period(period)
    broken_count = MALFORMED_PER_PERIOD + CORRECTED_PER_PERIOD
    # The kinds of this period's broken files, continuing the cycle of the previous period.
    first = (year * 12 + month - 1) * broken_count
    kinds = [DEFECT_KINDS[(first + index) % len(DEFECT_KINDS)] for index in range(broken_count)]
    _give_newer_format_code_to_a_chc(shuffled, kinds)
    defects = {facility.facility_id: kind for facility, kind in zip(shuffled[:broken_count], kinds)}

    special = MALFORMED_PER_PERIOD + CORRECTED_PER_PERIOD + REVISED_PER_PERIOD
    malformed = shuffled[:MALFORMED_PER_PERIOD]
    corrected = shuffled[MALFORMED_PER_PERIOD : MALFORMED_PER_PERIOD + CORRECTED_PER_PERIOD]
    revised = shuffled[MALFORMED_PER_PERIOD + CORRECTED_PER_PERIOD : special]
    corrected_late = set(facility.facility_id for facility in rng.sample(corrected, CORRECTED_LATE_PER_PERIOD))

    scenario: dict[str, str] = {}
    for facility in malformed:
        scenario[facility.facility_id] = "malformed"
    for facility in corrected:
        late = facility.facility_id in corrected_late
        scenario[facility.facility_id] = "corrected_late" if late else "corrected"
    for facility in revised:
        scenario[facility.facility_id] = "revised"
    for facility in sorted(shuffled[special:], key=lambda f: f.facility_id):
        draw = rng.random()
        scenario[facility.facility_id] = (
            "missing" if draw < P_MISSING else "late" if draw < P_MISSING + P_LATE else "on_time"
        )
    plain_on_time = [fid for fid in sorted(scenario) if scenario[fid] == "on_time"]
    plain_late = [fid for fid in sorted(scenario) if scenario[fid] == "late"]
    if not plain_late:
        # The exact 00:01 submission on the 6th needs a late facility.
        scenario[plain_on_time.pop()] = "late"
        plain_late = [fid for fid in sorted(scenario) if scenario[fid] == "late"]
    boundary_on_time = rng.choice(plain_on_time)
    boundary_late = rng.choice(plain_late)

    due_start = ceil_second(due_at(period))  # 00:00:00 on the 6th
    plans: list[_Plan] = []
    for facility in order:
        fid = facility.facility_id
        kind = scenario[fid]
        if kind == "missing":
            continue
        report = clean_values(facility, period, seed)
        plain_key = _plain_key(period, fid)
        second_key = f"submissions/{period}/{fid}__v2.csv"

        if kind in ("on_time", "late"):
            if fid == boundary_on_time:
                moment = due_start - timedelta(minutes=1)  # 23:59 on the 5th: still on time
            elif fid == boundary_late:
                moment = due_start + timedelta(minutes=1)  # 00:01 on the 6th: late
            elif kind == "on_time":
                moment = on_time_moment(rng, period)
            else:
                moment = late_moment(rng, period)
            plans.append(_valid_plan(plain_key, fid, period, moment, report))
            continue

        if kind == "revised":
            first = on_time_moment(rng, period)
            plans.append(_valid_plan(plain_key, fid, period, first, report))
            revision = revise(report, facility, period, seed)
            plans.append(_valid_plan(second_key, fid, period, late_moment(rng, period, FOLLOW_UP_WINDOW), revision))
            continue

        # malformed, corrected, corrected_late: the first file is broken.
        defect = defects[fid]
        first = on_time_moment(rng, period, last_day_offset=3)
        content, reason = broken_content(defect, fid, period, report, rng)
        plans.append(_Plan(plain_key, fid, first, content, False, defect, reason, None))
        if kind == "malformed":
            continue
        if kind == "corrected_late":
            fixed_at = late_moment(rng, period, FOLLOW_UP_WINDOW)
        else:
            earliest = first + timedelta(hours=1)
            latest = due_start - timedelta(seconds=1)
            fixed_at = earliest + timedelta(seconds=rng.randrange(int((latest - earliest).total_seconds()) + 1))
        plans.append(_valid_plan(second_key, fid, period, fixed_at, report))

    return plans, {(fid, period): kind for fid, kind in scenario.items()}


def _give_newer_format_code_to_a_chc(shuffled: list[Facility], kinds: list[str]) -> None:
    """Put a CHC in the broken slot whose defect is a newer-format code (in place).

    The first ``len(kinds)`` facilities of ``shuffled`` get the kinds in order. A code of the
    newer format is a mistake a CHC makes (its format is the 2017 CHC format), so that slot
    is swapped with the first CHC of the shuffle; the period's mix stays the same.
    """
    if "newer_format_item" not in kinds:
        return
    slot = kinds.index("newer_format_item")
    if shuffled[slot].facility_type == NEWER_FORMAT_FACILITY_TYPE:
        return
    other = next(i for i, facility in enumerate(shuffled) if facility.facility_type == NEWER_FORMAT_FACILITY_TYPE)
    shuffled[slot], shuffled[other] = shuffled[other], shuffled[slot]


def _valid_plan(key: str, facility_id: str, period: str, moment: datetime, report: Report) -> _Plan:
    """A clean long CSV of ``report`` in its format's codes, one row per item and sub-item."""
    columns, lines = report.table(facility_id, period)
    return _Plan(key, facility_id, moment, csv_bytes(columns, lines), True, None, None, report)
