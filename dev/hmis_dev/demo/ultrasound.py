"""Ultrasound line lists: the scans on pregnant women each ultrasound facility reports monthly.

A pregnant woman getting an ultrasound must have a registration number, the 12-digit RCH ID,
and the district must see which facilities do not record it. Facilities that offer
ultrasound — the DH, both SDHs, every CHC and about half of the registered private hospitals
and nursing homes — send, for each open period, a line list of scans under
``ultrasound/<YYYY-MM>/<facility_id>.csv`` with columns
:data:`~hmis_dev.demo.files.ULTRASOUND_COLUMNS`, on time (by the end of the 5th of the
following month).

Mistakes are planted so that every check of the ultrasound stage has something to find. In
most facilities about 2.5 % of rows (never more than 5 %) have one mistake, cycling through
:data:`ULTRASOUND_MISTAKES`: no RCH ID, 11 digits, all zeros, one repeated digit, a known
test value, the same RCH ID twice on the same day, a scan date outside the month. The cap
keeps those facilities above :data:`~hmis_dev.demo.truth.ULTRASOUND_THRESHOLD`, while
:data:`ULTRASOUND_POOR_FACILITIES` facilities (private) get a mistake in about 40 % of rows,
clearly below it: the compliance check has facilities to name, and only those. What the
pipeline should conclude per facility and period is in
:attr:`hmis_dev.demo.truth.DemoTruth.ultrasound`; the raw RCH IDs are only in the landing
files, never in the truth, since they identify patients.
"""

from __future__ import annotations

import random
import shutil
from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np

from hmis.reference.periods import parse_period, period_end, period_start
from hmis_dev.demo.files import ULTRASOUND_COLUMNS, csv_bytes, write_file
from hmis_dev.demo.moments import on_time_moment
from hmis_dev.demo.registry import Facility
from hmis_dev.demo.scale import facility_traits
from hmis_dev.demo.truth import UltrasoundList

ULTRASOUND_TYPES = ("DH", "SDH", "CHC")
ULTRASOUND_PRIVATE_TYPES = ("PVT_HOSPITAL", "NURSING_HOME")
ULTRASOUND_MISTAKES = (
    "missing",
    "eleven_digits",
    "all_zeros",
    "repeated_digit",
    "test_value",
    "duplicate_in_day",
    "date_outside_period",
)
ULTRASOUND_MISTAKE_RATE = 0.025
ULTRASOUND_MAX_NORMAL_SHARE = 0.05
ULTRASOUND_POOR_FACILITIES = 2
ULTRASOUND_POOR_RATE = 0.4
ULTRASOUND_TEST_VALUES = ("123456789012", "987654321098")
_ULTRASOUND_VOLUME = {"DH": 140, "SDH": 70, "CHC": 28, "PVT_HOSPITAL": 45, "NURSING_HOME": 22}
_REFERRALS = ("self", "ASHA", "ANM", "PHC medical officer", "private practitioner", "CHC gynaecologist")


def ultrasound_facilities(registered: Sequence[Facility], seed: int) -> tuple[list[Facility], set[str]]:
    """Facilities that offer ultrasound, and the ids of the few that rarely record RCH IDs."""
    public = [facility for facility in registered if facility.facility_type in ULTRASOUND_TYPES]
    private = sorted(
        (facility for facility in registered if facility.facility_type in ULTRASOUND_PRIVATE_TYPES),
        key=lambda facility: facility.facility_id,
    )
    rng = random.Random(f"{seed}:ultrasound")
    chosen = sorted(rng.sample(private, len(private) // 2), key=lambda facility: facility.facility_id)
    poor = {facility.facility_id for facility in rng.sample(chosen, ULTRASOUND_POOR_FACILITIES)}
    offering = sorted(public + chosen, key=lambda facility: facility.facility_id)
    return offering, poor


def write_ultrasound(
    landing_root: Path, registered: Sequence[Facility], periods: Sequence[str], seed: int, as_of: datetime
) -> dict[tuple[str, str], UltrasoundList]:
    """Write ``ultrasound/`` afresh: every line list of ``periods`` sent before ``as_of``.

    Returns what checking them must find, by (facility_id, period).
    """
    if (landing_root / "ultrasound").exists():
        shutil.rmtree(landing_root / "ultrasound")
    offering, poor = ultrasound_facilities(registered, seed)
    used_ids: set[str] = set()
    truth: dict[tuple[str, str], UltrasoundList] = {}
    for period in periods:
        moments = random.Random(f"{seed}:ultrasound:{period}")
        for facility in offering:
            moment = on_time_moment(moments, period)
            rows, problems = _scan_rows(facility, period, seed, facility.facility_id in poor, used_ids)
            if moment >= as_of:
                continue
            key = f"ultrasound/{period}/{facility.facility_id}.csv"
            write_file(landing_root / key, csv_bytes(ULTRASOUND_COLUMNS, rows), moment)
            counts = Counter(problem for problem in problems if problem)
            truth[(facility.facility_id, period)] = UltrasoundList(
                key,
                facility.facility_id,
                period,
                moment,
                len(rows),
                len(rows) - sum(counts.values()),
                {kind: counts[kind] for kind in ULTRASOUND_MISTAKES if counts[kind]},
            )
    return truth


def _scan_rows(
    facility: Facility, period: str, seed: int, poor: bool, used_ids: set[str]
) -> tuple[list[dict[str, str]], list[str | None]]:
    """The line list's rows (ordered by scan date) and each row's planted mistake (None if clean)."""
    year, month = parse_period(period)
    rng = np.random.default_rng([seed, year * 12 + month, facility.number, 5])
    size, _ = facility_traits(facility, seed)
    count = max(3, int(rng.poisson(_ULTRASOUND_VOLUME[facility.facility_type] * size)))
    first, last = period_start(period), period_end(period)
    days = (last - first).days + 1
    registration = f"PNDT/HSR/{2008 + facility.number % 15}/{facility.number:04d}"

    rate = ULTRASOUND_POOR_RATE if poor else ULTRASOUND_MISTAKE_RATE
    cap = count if poor else int(count * ULTRASOUND_MAX_NORMAL_SHARE)
    mistaken = [index for index in range(count) if rng.random() < rate][:cap]
    kinds = {
        index: ULTRASOUND_MISTAKES[(facility.number + n) % len(ULTRASOUND_MISTAKES)] for n, index in enumerate(mistaken)
    }

    rows: list[tuple[date, int, dict[str, str], str | None]] = []
    for index in range(count):
        scan_date = first + timedelta(days=int(rng.integers(days)))
        rch_id = _new_rch_id(rng, used_ids)
        kind = kinds.get(index)
        if kind == "missing":
            rch_id = ""
        elif kind == "eleven_digits":
            rch_id = rch_id[:11]
        elif kind == "all_zeros":
            rch_id = "0" * 12
        elif kind == "repeated_digit":
            rch_id = str(int(rng.integers(1, 10))) * 12
        elif kind == "test_value":
            rch_id = ULTRASOUND_TEST_VALUES[int(rng.integers(len(ULTRASOUND_TEST_VALUES)))]
        elif kind == "date_outside_period":
            scan_date = first - timedelta(days=int(rng.integers(1, 11)))
        row = {
            "scan_date": scan_date.isoformat(),
            "rch_id": rch_id,
            "weeks_of_pregnancy": str(int(rng.integers(6, 39))),
            "referral": _REFERRALS[int(rng.integers(len(_REFERRALS)))],
            "pcpndt_reg_no": registration,
        }
        if kind == "duplicate_in_day":
            # The scan itself is clean; the same woman entered again that day is the mistake.
            rows.append((scan_date, 2 * index, row, None))
            rows.append((scan_date, 2 * index + 1, dict(row), kind))
        else:
            rows.append((scan_date, 2 * index, row, kind))
    rows.sort(key=lambda entry: (entry[0], entry[1]))
    return [entry[2] for entry in rows], [entry[3] for entry in rows]


def _new_rch_id(rng: np.random.Generator, used: set[str]) -> str:
    """A fresh, plausible 12-digit RCH ID: no leading zero, not one repeated digit, not a test value."""
    while True:
        digits = str(int(rng.integers(1, 10))) + "".join(str(int(d)) for d in rng.integers(0, 10, 11))
        if len(set(digits)) > 1 and digits not in ULTRASOUND_TEST_VALUES and digits not in used:
            used.add(digits)
            return digits
