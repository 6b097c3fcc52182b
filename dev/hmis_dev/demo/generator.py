"""Deterministic demo landing zone for the HMIS portal of Hisar district, Haryana.

:func:`generate` writes what facilities would have dropped into the landing zone, and
returns a :class:`DemoTruth` saying what the pipeline should conclude from it. The same
arguments always give byte-identical files with identical modification times.

Layout under ``landing_root``::

    registry/facilities.csv                     320 institutions of Hisar district
    registry/contacts.csv                       block medical officers and district/state contacts
    submissions/<YYYY-MM>/<facility_id>.csv     one long CSV per facility and period
    submissions/<YYYY-MM>/<facility_id>__v2.csv a second, later file (correction or revision)

The generator owns ``submissions/`` and the two registry files: each call deletes and
rewrites them, so a second call leaves the same tree.

Registry
    320 institutions: 266 registered on HMIS (118 public allopathic: 1 district hospital,
    2 sub-divisional hospitals, 8 CHCs, 22 PHCs and 85 sub-centres; 53 public AYUSH
    dispensaries; 95 private) and 54 private institutions not registered. All nine blocks
    have public facilities at every level and some private ones; private institutions
    cluster in Hisar-I, Hisar-II and Hansi-I. No facility is closed, so exactly 266 are
    expected to report for every period.

Submission mix, per period, over the 266 registered facilities
    The seeded random generator decides who does what; the outcome is recorded in
    :attr:`DemoTruth.scenario` and :attr:`DemoTruth.status`.

    * exactly 3 "malformed": their only file is broken, so their status is ``rejected``;
    * exactly 3 "corrected": a broken file on time, then a valid ``__v2`` file. Two send
      the correction before the due date (``on_time``); one after it (``late``);
    * exactly 2 "revised": a valid file on time, then a valid ``__v2`` file with a few
      different values after the due date. Status ``on_time``; values come from ``__v2``;
    * each of the other 258 is late with probability 9% and never submits with
      probability 5.5%; the rest submit on time. Overall about 84-87% are on time,
      8-9% late, about 5% missing and 1% rejected (with the default seed and as_of
      2026-11-27: 225/24/14/3, 230/21/12/3 and 226/24/13/3 for August to October 2026).

    The due date is the end of the 5th of the following month, Asia/Kolkata
    (:func:`hmis.reference.periods.due_at`). Every period has one on-time submission at exactly
    23:59 IST on the 5th and one late submission at 00:01 IST on the 6th. Late files
    arrive up to 25 days after the due date, most within a few days; late corrections
    and revisions within 5 days.

    Each file's moment is planned from the period and the seed alone; ``as_of`` only
    decides which planned files exist yet. Nothing is dated at or after ``as_of``, and
    a later ``as_of`` only adds files, never changes one. A facility with no file is
    ``missing``, or ``pending`` while the period is not yet due at ``as_of``.

Broken files
    Broken files cycle through :data:`DEFECT_KINDS` in a fixed order: a value written
    as text (``twelve``), a negative value, an unknown item code (``99.9.9``), the
    ``value`` column renamed to ``count``, a period inside the file that does not match
    its folder, the same item twice, and binary content that is not UTF-8. Each broken
    file is listed in :attr:`DemoTruth.files` with its kind and a one-line reason.

Values
    Clean files hold one row per item the facility type is expected to report (see
    :mod:`hmis.reference.catalogue`), as non-negative whole numbers. Volumes scale with the
    facility type and a per-facility size factor. There is seasonality (fever, dengue and
    malaria peak July-October, diarrhoea in summer and monsoon, respiratory infections
    in winter) and Poisson noise. Related items are always consistent: first-trimester
    registrations <= ANC registrations, C-sections <= institutional deliveries, live
    plus still births >= institutional deliveries (twins add), Penta-3 <= Penta-1,
    MR-2 <= MR-1, disease-wise counts <= outpatient attendance, and so on.

History (``history_months``)
    Disease-rise signals compare a month with the months before it, so ``history_months``
    more periods before the open ones can be written too: every registered facility sends
    one clean, valid file on time for each of them (status ``on_time``). They are listed
    in :attr:`DemoTruth.history_periods` and, oldest first, at the start of
    :attr:`DemoTruth.periods`. The default 0 writes only the ``months`` open periods.

Planted dengue rise
    Every year in August, September and October (:data:`DENGUE_RISE`), the facilities of
    block :data:`DENGUE_RISE_BLOCK` (Barwala) that report dengue (item 14.1.7: the SDH and
    private hospitals) see about 3, 5 and 6 times their seasonal dengue count, drawn out of
    their fever cases so every consistency rule still holds. The usual monsoon rise is the
    same in every block; this one is Barwala's alone, and the disease-signal pipeline must
    find it there and nowhere else (:attr:`DemoTruth.signal_block`,
    :attr:`DemoTruth.signal_periods`).

Ultrasound line lists
    Facilities that offer ultrasound — the DH, both SDHs, every CHC and about half of the
    registered private hospitals and nursing homes — send, for each open period, a line
    list of scans on pregnant women under ``ultrasound/<YYYY-MM>/<facility_id>.csv`` with
    columns :data:`ULTRASOUND_COLUMNS`, on time (before the 5th of the following month).
    Each scan should carry the woman's 12-digit RCH ID. In most facilities about 2.5 % of
    rows (never more than 5 %) have one mistake, cycling through
    :data:`ULTRASOUND_MISTAKES`: no RCH ID, 11 digits, all zeros, one repeated digit, a
    known test value, the same RCH ID twice on the same day, a scan date outside the
    month. :data:`ULTRASOUND_POOR_FACILITIES` facilities (private) get a mistake in about
    40 % of rows, clearly below :data:`ULTRASOUND_THRESHOLD`. What the pipeline should
    conclude per facility and period is in :attr:`DemoTruth.ultrasound`; the raw RCH IDs
    are only in the landing files, never in the truth.

Quality warnings (``quality_warnings=True``)
    A few valid files per open period carry problems that must load with a warning, never
    a rejection, recorded in :attr:`DemoTruth.warnings` as ``(facility_id, period, kind)``:
    ``first_trimester_gt_total`` (1.1.1 above 1.1) in 2 facilities, ``penta3_gt_penta1``
    (9.1.5 above 9.1.3) in 1, and ``extreme_value`` (one item at 10 times its usual level,
    still at most 10 times its typical maximum) in 1. :attr:`DemoTruth.values` holds the
    values as written. Off by default: such files break the consistency every other clean
    file keeps.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import shutil
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import numpy as np

from hmis.reference.catalogue import items_for_type, load_items
from hmis.reference.periods import (
    REPORTING_TZ,
    due_at,
    open_periods,
    parse_period,
    period_end,
    period_start,
    shift_period,
)

DISTRICT = "Hisar"
DISTRICT_LGD = "72"
STATE = "Haryana"

BLOCKS = (
    "Hisar-I",
    "Hisar-II",
    "Adampur",
    "Agroha",
    "Barwala",
    "Uklana",
    "Narnaund",
    "Hansi-I",
    "Hansi-II",
)

FACILITY_COLUMNS = (
    "facility_id",
    "name",
    "facility_type",
    "ownership",
    "is_ayush",
    "block",
    "district",
    "district_lgd",
    "state",
    "hmis_registered",
    "hmis_registered_on",
    "opened_on",
    "closed_on",
)
CONTACT_COLUMNS = ("role", "level", "area", "name", "email", "phone")
SUBMISSION_COLUMNS = ("facility_id", "period", "item_code", "value")

STATUSES = ("on_time", "late", "missing", "rejected", "pending")
SCENARIOS = ("on_time", "late", "missing", "malformed", "corrected", "corrected_late", "revised")
DEFECT_KINDS = (
    "text_value",
    "negative_value",
    "unknown_item",
    "missing_value_column",
    "period_mismatch",
    "duplicate_item",
    "not_utf8",
)
UNKNOWN_ITEM_CODE = "99.9.9"
EMAIL_DOMAIN = "hisar.hmis.example"

# The registry files carry this modification time, as if exported at the start of
# financial year 2025-26; every registration and opening date in them is earlier.
REGISTRY_EXPORTED_AT = datetime(2025, 4, 1, 10, 0, tzinfo=REPORTING_TZ)

MALFORMED_PER_PERIOD = 3
CORRECTED_PER_PERIOD = 3
CORRECTED_LATE_PER_PERIOD = 1
REVISED_PER_PERIOD = 2
P_LATE = 0.09
P_MISSING = 0.055
LATE_WINDOW = timedelta(days=25)
# Late corrections and revisions follow the due date closely, so by the 11th of the
# month every corrected and revised facility of the previous period is complete.
FOLLOW_UP_WINDOW = timedelta(days=5)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TYPE_ORDER = ("DH", "SDH", "CHC", "PHC", "SC", "AYUSH", "PVT_HOSPITAL", "NURSING_HOME", "CLINIC")
_PRIVATE_TYPES = ("PVT_HOSPITAL", "NURSING_HOME", "CLINIC")

DENGUE_ITEM = "14.1.7"
DENGUE_RISE_BLOCK = "Barwala"
# Calendar month -> multiple of the usual seasonal dengue count in the planted block.
DENGUE_RISE = {8: 3.0, 9: 5.0, 10: 6.0}

ULTRASOUND_COLUMNS = ("scan_date", "rch_id", "weeks_of_pregnancy", "referral", "pcpndt_reg_no")
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
# Share of scans with a valid RCH ID below which a facility is out of compliance.
ULTRASOUND_THRESHOLD = 0.9
ULTRASOUND_TEST_VALUES = ("123456789012", "987654321098")
_ULTRASOUND_VOLUME = {"DH": 140, "SDH": 70, "CHC": 28, "PVT_HOSPITAL": 45, "NURSING_HOME": 22}
_REFERRALS = ("self", "ASHA", "ANM", "PHC medical officer", "private practitioner", "CHC gynaecologist")

WARNING_KINDS = ("first_trimester_gt_total", "penta3_gt_penta1", "extreme_value")
_WARNINGS_PER_PERIOD = (("first_trimester_gt_total", 2), ("penta3_gt_penta1", 1), ("extreme_value", 1))
_EXTREME_ITEMS = ("8.13", "8.12", "14.2.1")


# --------------------------------------------------------------------------------------
# Truth
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoFile:
    """One file written under ``submissions/``.

    ``key`` is the path relative to the landing root with ``/`` separators;
    ``submitted_at`` equals the file's modification time. ``defect`` is one of
    :data:`DEFECT_KINDS` for a broken file (``valid`` is then False) and ``reason``
    says in one line what is wrong with it.
    """

    key: str
    facility_id: str
    period: str
    submitted_at: datetime
    valid: bool
    defect: str | None
    reason: str | None = None


@dataclass(frozen=True)
class UltrasoundList:
    """One facility's ultrasound line list for one period, and what checking it must find.

    ``scans`` is the number of rows, ``valid`` the rows without any problem, and
    ``problems`` the number of rows per mistake kind (see :data:`ULTRASOUND_MISTAKES`).
    """

    key: str
    facility_id: str
    period: str
    submitted_at: datetime
    scans: int
    valid: int
    problems: dict[str, int]

    @property
    def share_valid(self) -> float:
        return self.valid / self.scans if self.scans else 0.0

    def below(self, threshold: float = ULTRASOUND_THRESHOLD) -> bool:
        return self.share_valid < threshold


@dataclass(frozen=True)
class DemoTruth:
    """What the pipeline should conclude from the files :func:`generate` wrote.

    ``status`` has an entry for every registered facility and every period:
    ``on_time`` or ``late`` from the first valid file (on time if submitted no later
    than :func:`hmis.reference.periods.due_at`), ``rejected`` if every file was broken,
    ``missing`` if there is no file, or ``pending`` if there is no file and the period
    was not yet due at ``as_of``. ``submitted_at`` is the moment of the first valid file
    and ``values`` the contents of the latest valid file, for facility-periods that
    have one. ``scenario`` is the behaviour planned for each facility-period (see
    :data:`SCENARIOS`), including submissions that had not happened by ``as_of``.

    ``history_periods`` are the clean periods written before the open ones (also in
    ``periods``). ``signal_block``, ``signal_item`` and ``signal_periods`` name the planted
    disease rise among ``periods``; ``ultrasound`` the line list of each facility-period;
    ``warnings`` the planted warning-level problems as ``(facility_id, period, kind)``.
    """

    as_of: datetime
    periods: list[str]
    status: dict[tuple[str, str], str]
    submitted_at: dict[tuple[str, str], datetime]
    values: dict[tuple[str, str], dict[str, int]]
    files: list[DemoFile]
    registered_ids: list[str]
    unregistered_ids: list[str]
    scenario: dict[tuple[str, str], str] = field(default_factory=dict)
    history_periods: list[str] = field(default_factory=list)
    signal_block: str | None = None
    signal_item: str = DENGUE_ITEM
    signal_periods: list[str] = field(default_factory=list)
    ultrasound: dict[tuple[str, str], UltrasoundList] = field(default_factory=dict)
    ultrasound_threshold: float = ULTRASOUND_THRESHOLD
    warnings: list[tuple[str, str, str]] = field(default_factory=list)

    def ultrasound_below_threshold(self) -> list[tuple[str, str]]:
        """(facility_id, period) of line lists whose valid share is below the threshold."""
        return sorted(key for key, listing in self.ultrasound.items() if listing.below(self.ultrasound_threshold))

    def status_counts(self, period: str) -> dict[str, int]:
        """Number of registered facilities in each status for ``period`` (all statuses listed)."""
        counts = Counter(status for (_, p), status in self.status.items() if p == period)
        return {status: counts.get(status, 0) for status in STATUSES}

    def to_json(self) -> dict:
        """A JSON-serialisable view, nested by period then facility; datetimes in ISO 8601."""

        def by_period(mapping: dict[tuple[str, str], object], convert: Callable) -> dict:
            nested: dict[str, dict[str, object]] = {period: {} for period in self.periods}
            for (facility_id, period), value in sorted(mapping.items()):
                nested.setdefault(period, {})[facility_id] = convert(value)
            return nested

        return {
            "as_of": self.as_of.isoformat(),
            "periods": list(self.periods),
            "registered_ids": list(self.registered_ids),
            "unregistered_ids": list(self.unregistered_ids),
            "status_counts": {period: self.status_counts(period) for period in self.periods},
            "status": by_period(self.status, str),
            "scenario": by_period(self.scenario, str),
            "history_periods": list(self.history_periods),
            "signal": {"block": self.signal_block, "item_code": self.signal_item, "periods": list(self.signal_periods)},
            "ultrasound_threshold": self.ultrasound_threshold,
            "ultrasound": [
                {
                    "key": listing.key,
                    "facility_id": listing.facility_id,
                    "period": listing.period,
                    "submitted_at": listing.submitted_at.isoformat(),
                    "scans": listing.scans,
                    "valid": listing.valid,
                    "problems": dict(listing.problems),
                    "below_threshold": listing.below(self.ultrasound_threshold),
                }
                for _, listing in sorted(self.ultrasound.items())
            ],
            "warnings": [list(warning) for warning in self.warnings],
            "submitted_at": by_period(self.submitted_at, lambda moment: moment.isoformat()),
            "values": by_period(self.values, dict),
            "files": [
                {
                    "key": demo_file.key,
                    "facility_id": demo_file.facility_id,
                    "period": demo_file.period,
                    "submitted_at": demo_file.submitted_at.isoformat(),
                    "valid": demo_file.valid,
                    "defect": demo_file.defect,
                    "reason": demo_file.reason,
                }
                for demo_file in self.files
            ],
        }

    def save(self, path: Path) -> None:
        """Write :meth:`to_json` to ``path`` as UTF-8 JSON (parent folders are created)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.to_json(), ensure_ascii=False, indent=2, sort_keys=False)
        path.write_text(text + "\n", encoding="utf-8", newline="\n")


# --------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _BlockLayout:
    chc: str | None  # village of the block's CHC; Barwala has an SDH instead
    phcs: tuple[str, ...]
    scs: tuple[str, ...]
    town: str | None  # town that also hosts an AYUSH dispensary
    ayush: int
    private: int


# Villages of Hisar district grouped by block. Public facility names are the village
# names; AYUSH dispensaries are placed in some of the same villages.
# fmt: off
_LAYOUT: dict[str, _BlockLayout] = {
    "Hisar-I": _BlockLayout(
        chc="Mayyar", phcs=("Ladwa", "Talwandi Rana"),
        scs=("Dabra", "Satrod Kalan", "Kaimri", "Gangwa", "Dhandhur", "Mirzapur", "Rawalwas Kalan", "Jugalan"),
        town="Hisar", ayush=7, private=58,
    ),
    "Hisar-II": _BlockLayout(
        chc="Mangali", phcs=("Balsamand", "Arya Nagar", "Kheri Barki"),
        scs=("Dhansu", "Chaudhriwas", "Kirmara", "Ladwi", "Muklan", "Tokas Patan", "Bhojraj", "Sarsana",
             "Dhiktana", "Bugana"),
        town=None, ayush=6, private=24,
    ),
    "Adampur": _BlockLayout(
        chc="Adampur", phcs=("Chaudhriwali", "Kishangarh", "Sadalpur"),
        scs=("Khairampur", "Kohli", "Mohabbatpur", "Moda Khera", "Siswal", "Chuli Bagrian", "Chuli Kalan",
             "Bagla", "Asrawan", "Sarangpur"),
        town=None, ayush=6, private=9,
    ),
    "Agroha": _BlockLayout(
        chc="Agroha", phcs=("Nangthala", "Kanwari"),
        scs=("Sabarwas", "Landhari", "Chikanwas", "Kirori", "Siwani Bolan", "Nangal", "Meerpur", "Kulheri"),
        town=None, ayush=6, private=6,
    ),
    "Barwala": _BlockLayout(
        chc=None, phcs=("Khokha", "Rajli", "Kharak Punia"),
        scs=("Sarsod", "Budana", "Jevra", "Balak", "Chanot", "Raipur", "Bichpari", "Sarheda",
             "Dhani Khan Bahadur", "Kharkhari"),
        town="Barwala", ayush=6, private=9,
    ),
    "Uklana": _BlockLayout(
        chc="Uklana", phcs=("Bithmara", "Daulatpur"),
        scs=("Pabra", "Litani", "Surewala", "Sandlana", "Prabhuwala", "Budha Khera", "Kharkhara", "Mugalpura",
             "Gorchhi", "Chamar Khera"),
        town=None, ayush=5, private=8,
    ),
    "Narnaund": _BlockLayout(
        chc="Narnaund", phcs=("Mirchpur", "Rakhi Garhi", "Petwar"),
        scs=("Khanda Kheri", "Kheri Jalab", "Majra Pyau", "Thurana", "Kapro", "Lohari Ragho", "Bhatol Jattan",
             "Koth Kalan", "Rajthal", "Pali", "Ramayan"),
        town=None, ayush=6, private=7,
    ),
    "Hansi-I": _BlockLayout(
        chc="Sorkhi", phcs=("Sultanpur", "Jamawari"),
        scs=("Dhandheri", "Mohla", "Masudpur", "Umra", "Garhi", "Ghirai", "Haibatpur", "Kharad"),
        town="Hansi", ayush=6, private=22,
    ),
    "Hansi-II": _BlockLayout(
        chc="Sisai", phcs=("Bass", "Datta"),
        scs=("Rampura", "Sisar", "Puthi Mangal Khan", "Jamni", "Madha", "Kheri Lochab", "Kulana",
             "Bhaini Amirpur", "Gurana", "Hajampur"),
        town=None, ayush=5, private=6,
    ),
}
# fmt: on

# First-referral hospitals: (type, block, name).
_HOSPITALS = (
    ("DH", "Hisar-I", "Civil Hospital Hisar"),
    ("SDH", "Hansi-I", "SDH Hansi"),
    ("SDH", "Barwala", "SDH Barwala"),
)

# How many private institutions of each type exist, and how many are not on HMIS.
_PRIVATE_COUNTS = {"PVT_HOSPITAL": (38, 4), "NURSING_HOME": (46, 13), "CLINIC": (65, 37)}

# Invented names for private institutions; combined with a type-specific suffix.
# fmt: off
_PRIVATE_STEMS = (
    "Navjeevan", "Shivalik", "Aarogyam", "Shubham", "Umang", "Aastha", "Amrit", "Suraksha", "Sahaj", "Prerna",
    "Vatsalya", "Sanjog", "Kalpataru", "Anant", "Sarthak", "Nidaan", "Pragati", "Ujala", "Jeevandeep",
    "Saubhagya", "Mangalam", "Roshni", "Vardaan", "Muskaan", "Samarpan", "Tulsi", "Kamdhenu", "Kesar",
    "Chandan", "Sarvhit", "Vishwas", "Gayatri", "Kaveri", "Yamuna", "Garg", "Singla", "Goyal", "Bansal",
    "Mittal", "Tayal", "Khurana", "Chawla", "Kalra", "Saini", "Malik", "Punia", "Sihag", "Godara", "Beniwal",
    "Dhanda", "Lohan", "Kundu", "Sheoran", "Jakhar", "Dahiya", "Nain", "Kaushik", "Bhardwaj", "Sangwan",
)
# fmt: on
_PRIVATE_SUFFIXES = {
    "PVT_HOSPITAL": ("Hospital", "Multispeciality Hospital", "Hospital & Trauma Centre", "Mother & Child Hospital"),
    "NURSING_HOME": ("Nursing Home", "Maternity & Nursing Home", "Surgical & Maternity Home"),
    "CLINIC": ("Clinic", "Health Clinic", "Polyclinic", "Child Care Clinic", "Family Clinic"),
}
_AYUSH_SYSTEMS = (("Ayurvedic", 70), ("Homoeopathic", 22), ("Unani", 8))

_CONTACT_NAMES = {
    "Hisar-I": "Dr. Sunita Malik",
    "Hisar-II": "Dr. Rajesh Punia",
    "Adampur": "Dr. Anil Sihag",
    "Agroha": "Dr. Kavita Goyal",
    "Barwala": "Dr. Manoj Beniwal",
    "Uklana": "Dr. Pooja Dhanda",
    "Narnaund": "Dr. Sandeep Lohan",
    "Hansi-I": "Dr. Neha Kundu",
    "Hansi-II": "Dr. Vikas Sheoran",
}


@dataclass(frozen=True)
class _Facility:
    facility_id: str
    name: str
    facility_type: str
    ownership: str
    block: str
    registered: bool
    registered_on: date | None
    opened_on: date

    @property
    def number(self) -> int:
        return int(self.facility_id.rsplit("-", 1)[1])

    @property
    def is_ayush(self) -> bool:
        return self.facility_type == "AYUSH"

    def as_row(self) -> dict[str, str]:
        return {
            "facility_id": self.facility_id,
            "name": self.name,
            "facility_type": self.facility_type,
            "ownership": self.ownership,
            "is_ayush": _flag(self.is_ayush),
            "block": self.block,
            "district": DISTRICT,
            "district_lgd": DISTRICT_LGD,
            "state": STATE,
            "hmis_registered": _flag(self.registered),
            "hmis_registered_on": self.registered_on.isoformat() if self.registered_on else "",
            "opened_on": self.opened_on.isoformat(),
            "closed_on": "",
        }


def write_registry(landing_root: Path, seed: int = 2026) -> None:
    """Write ``registry/facilities.csv`` and ``registry/contacts.csv`` under ``landing_root``.

    Both files are rewritten from scratch, are UTF-8 with ``\\n`` line endings, and carry
    :data:`REGISTRY_EXPORTED_AT` as modification time, so equal seeds give equal files.
    """
    registry = Path(landing_root) / "registry"
    registry.mkdir(parents=True, exist_ok=True)
    facilities = _build_registry(seed)
    _write_file(
        registry / "facilities.csv",
        _csv_bytes(FACILITY_COLUMNS, [facility.as_row() for facility in facilities]),
        REGISTRY_EXPORTED_AT,
    )
    _write_file(registry / "contacts.csv", _csv_bytes(CONTACT_COLUMNS, _contacts(seed)), REGISTRY_EXPORTED_AT)


def _build_registry(seed: int) -> list[_Facility]:
    rng = random.Random(f"{seed}:registry")
    drafts: list[dict] = []  # one per institution, before identifiers are assigned

    def add(facility_type: str, block: str, name: str, ownership: str, registered: bool = True) -> None:
        drafts.append(
            {"type": facility_type, "block": block, "name": name, "ownership": ownership, "registered": registered}
        )

    for facility_type, block, name in _HOSPITALS:
        add(facility_type, block, name, "public")
    for block in BLOCKS:
        layout = _LAYOUT[block]
        if layout.chc:
            add("CHC", block, f"CHC {layout.chc}", "public")
        for village in layout.phcs:
            add("PHC", block, f"PHC {village}", "public")
        for village in layout.scs:
            add("SC", block, f"SC {village}", "public")
        places = ([layout.town] if layout.town else []) + [
            village for village in (layout.chc, *layout.phcs, *layout.scs) if village
        ]
        systems = [name for name, _ in _AYUSH_SYSTEMS]
        weights = [weight for _, weight in _AYUSH_SYSTEMS]
        for place in sorted(rng.sample(places, layout.ayush), key=places.index):
            system = rng.choices(systems, weights=weights)[0]
            add("AYUSH", block, f"Govt. {system} Dispensary {place}", "public")

    for facility_type, block, name, registered in _private_institutions(rng):
        add(facility_type, block, name, "private", registered)

    # Stable identifiers: by type, then block, then position within the block.
    type_rank = {facility_type: rank for rank, facility_type in enumerate(_TYPE_ORDER)}
    block_rank = {block: rank for rank, block in enumerate(BLOCKS)}
    drafts = [
        draft
        for _, draft in sorted(
            enumerate(drafts),
            key=lambda pair: (type_rank[pair[1]["type"]], block_rank[pair[1]["block"]], pair[0]),
        )
    ]

    facilities = []
    for number, draft in enumerate(drafts, start=1):
        opened_on, registered_on = _facility_dates(rng, draft["type"], draft["registered"])
        facilities.append(
            _Facility(
                facility_id=f"HR-HIS-{number:04d}",
                name=draft["name"],
                facility_type=draft["type"],
                ownership=draft["ownership"],
                block=draft["block"],
                registered=draft["registered"],
                registered_on=registered_on,
                opened_on=opened_on,
            )
        )
    return facilities


def _private_institutions(rng: random.Random) -> list[tuple[str, str, str, bool]]:
    types = [t for t in _PRIVATE_TYPES for _ in range(_PRIVATE_COUNTS[t][0])]
    rng.shuffle(types)
    blocks = [block for block in BLOCKS for _ in range(_LAYOUT[block].private)]
    if len(types) != len(blocks):
        raise ValueError(f"layout places {len(blocks)} private institutions but the type counts give {len(types)}")

    unregistered: set[int] = set()
    for facility_type in _PRIVATE_TYPES:
        positions = [i for i, t in enumerate(types) if t == facility_type]
        unregistered.update(rng.sample(positions, _PRIVATE_COUNTS[facility_type][1]))

    used: set[str] = set()
    result = []
    for position, (facility_type, block) in enumerate(zip(types, blocks)):
        suffixes = _PRIVATE_SUFFIXES[facility_type]
        while True:  # stems x suffixes offer several times more names than any type needs
            name = f"{rng.choice(_PRIVATE_STEMS)} {rng.choice(suffixes)}"
            if name not in used:
                break
        used.add(name)
        result.append((facility_type, block, name, position not in unregistered))
    return result


def _facility_dates(rng: random.Random, facility_type: str, registered: bool) -> tuple[date, date | None]:
    """(opened_on, hmis_registered_on); registration always after opening and before 2025."""
    opened_ranges = {
        "DH": (date(1956, 1, 1), date(1966, 12, 31)),
        "SDH": (date(1965, 1, 1), date(1990, 12, 31)),
        "CHC": (date(1975, 1, 1), date(2005, 12, 31)),
        "PHC": (date(1978, 1, 1), date(2010, 12, 31)),
        "SC": (date(1982, 1, 1), date(2013, 12, 31)),
        "AYUSH": (date(1968, 1, 1), date(2012, 12, 31)),
    }
    if facility_type in opened_ranges:
        opened_on = _random_date(rng, *opened_ranges[facility_type])
        # Public institutions came onto facility-wise HMIS reporting in its 2015-16 rollout;
        # AYUSH dispensaries followed a little later.
        window = (
            (date(2016, 6, 1), date(2019, 12, 31))
            if facility_type == "AYUSH"
            else (date(2015, 4, 1), date(2016, 12, 31))
        )
        return opened_on, _random_date(rng, *window)
    if not registered:
        return _random_date(rng, date(1995, 1, 1), date(2025, 2, 28)), None
    opened_on = _random_date(rng, date(1990, 1, 1), date(2021, 12, 31))
    earliest = max(opened_on + timedelta(days=180), date(2016, 1, 1))
    return opened_on, _random_date(rng, earliest, date(2024, 12, 31))


def _contacts(seed: int) -> list[dict[str, str]]:
    rng = random.Random(f"{seed}:contacts")

    def phone() -> str:
        return "+91-9" + "".join(str(rng.randrange(10)) for _ in range(9))

    def contact(role: str, level: str, area: str, name: str, mailbox: str) -> dict[str, str]:
        row = {"role": role, "level": level, "area": area, "name": name}
        return {**row, "email": f"{mailbox}@{EMAIL_DOMAIN}", "phone": phone()}

    rows = [
        contact("block_medical_officer", "block", block, _CONTACT_NAMES[block], f"bmo.{_email_slug(block)}")
        for block in BLOCKS
    ]
    rows.append(contact("district_nodal_officer", "district", DISTRICT, "Dr. Ramesh Godara (SMO HMIS)", "hmis.nodal"))
    rows.append(contact("civil_surgeon", "district", DISTRICT, "Dr. Meenakshi Jakhar", "civil.surgeon"))
    rows.append(contact("district_surveillance_officer", "district", DISTRICT, "Dr. Ashok Saini", "dso"))
    rows.append(contact("state_hmis_cell", "state", STATE, "State HMIS Cell (NHM Haryana)", "state.hmis.cell"))
    return rows


def _email_slug(block: str) -> str:
    """``Hisar-II`` -> ``hisar2``, ``Adampur`` -> ``adampur``."""
    base, _, roman = block.partition("-")
    return base.lower() + {"": "", "I": "1", "II": "2"}[roman]


# --------------------------------------------------------------------------------------
# Submissions
# --------------------------------------------------------------------------------------


def generate(
    landing_root: Path,
    as_of: datetime,
    months: int = 3,
    seed: int = 2026,
    history_months: int = 0,
    quality_warnings: bool = False,
) -> DemoTruth:
    """Write the registry, the submissions and the ultrasound line lists as of ``as_of``.

    ``as_of`` must be timezone-aware. The open periods are ``open_periods(as_of, months)``;
    ``history_months`` clean periods before them are written too (see the module
    docstring), and ``quality_warnings`` plants warning-level problems in a few valid files
    of each open period. Every file written is dated strictly before ``as_of``, so the
    landing zone looks as it would at that moment. Existing ``submissions/`` and
    ``ultrasound/`` content is removed first. Returns the :class:`DemoTruth` for what was
    written.
    """
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware")
    if months < 1:
        raise ValueError("months must be at least 1")
    if history_months < 0:
        raise ValueError("history_months must be 0 or more")
    landing_root = Path(landing_root)
    write_registry(landing_root, seed)
    facilities = _build_registry(seed)
    registered = [facility for facility in facilities if facility.registered]
    all_periods = open_periods(as_of, months + history_months)
    history, periods = all_periods[:history_months], all_periods[history_months:]

    for owned in ("submissions", "ultrasound"):
        if (landing_root / owned).exists():
            shutil.rmtree(landing_root / owned)
    submissions = landing_root / "submissions"

    written: list[DemoFile] = []
    file_values: dict[str, dict[str, int]] = {}
    scenario: dict[tuple[str, str], str] = {}
    warnings: list[tuple[str, str, str]] = []
    for period in all_periods:
        folder = submissions / period
        folder.mkdir(parents=True, exist_ok=True)
        if period in history:
            plans, period_scenario = _plan_history_period(period, registered, seed)
        else:
            plans, period_scenario = _plan_period(period, registered, seed)
            if quality_warnings:
                plans, planted = _plant_warnings(plans, period_scenario, registered, period, seed)
                warnings.extend(planted)
        scenario.update(period_scenario)
        for plan in plans:
            if plan.moment >= as_of:
                continue  # not sent yet at as_of
            _write_file(landing_root / plan.key, plan.content, plan.moment)
            written.append(
                DemoFile(plan.key, plan.facility_id, period, plan.moment, plan.valid, plan.defect, plan.reason)
            )
            if plan.valid:
                file_values[plan.key] = dict(plan.values)

    written.sort(key=lambda demo_file: (demo_file.period, demo_file.facility_id, demo_file.submitted_at))
    status, submitted_at, values = _derive_status(registered, all_periods, written, file_values, as_of)
    ultrasound = _write_ultrasound(landing_root, registered, periods, seed, as_of)
    block_reports_dengue = any(
        facility.block == DENGUE_RISE_BLOCK and DENGUE_ITEM in {item.item_code for item in items_for_type(facility.facility_type)}
        for facility in registered
    )
    return DemoTruth(
        as_of=as_of,
        periods=all_periods,
        status=status,
        submitted_at=submitted_at,
        values=values,
        files=written,
        registered_ids=[facility.facility_id for facility in registered],
        unregistered_ids=[facility.facility_id for facility in facilities if not facility.registered],
        scenario=scenario,
        history_periods=list(history),
        signal_block=DENGUE_RISE_BLOCK if block_reports_dengue else None,
        signal_item=DENGUE_ITEM,
        signal_periods=[period for period in all_periods if parse_period(period)[1] in DENGUE_RISE],
        ultrasound=ultrasound,
        warnings=sorted(warnings),
    )


def _plan_history_period(
    period: str, registered: Sequence[_Facility], seed: int
) -> tuple[list[_Plan], dict[tuple[str, str], str]]:
    """One clean file per registered facility, on time: the baseline before the open periods."""
    rng = random.Random(f"{seed}:history:{period}")
    plans = []
    for facility in sorted(registered, key=lambda facility: facility.facility_id):
        key = f"submissions/{period}/{facility.facility_id}.csv"
        values = _clean_values(facility, period, seed)
        plans.append(_valid_plan(key, facility.facility_id, period, _on_time_moment(rng, period), values))
    return plans, {(facility.facility_id, period): "on_time" for facility in registered}


def _plant_warnings(
    plans: list[_Plan],
    scenario: dict[tuple[str, str], str],
    registered: Sequence[_Facility],
    period: str,
    seed: int,
) -> tuple[list[_Plan], list[tuple[str, str, str]]]:
    """Replace a few plain on-time files with copies carrying one warning-level problem each."""
    rng = random.Random(f"{seed}:warnings:{period}")
    limits = {item.item_code: item.typical_max for item in load_items()}
    by_key = {plan.key: plan for plan in plans}
    candidates = sorted(
        facility.facility_id for facility in registered if scenario[(facility.facility_id, period)] == "on_time"
    )
    rng.shuffle(candidates)
    planted: list[tuple[str, str, str]] = []
    used: set[str] = set()
    for kind, wanted in _WARNINGS_PER_PERIOD:
        for facility_id in candidates:
            if wanted == 0:
                break
            key = f"submissions/{period}/{facility_id}.csv"
            if facility_id in used or key not in by_key:
                continue
            changed = _with_warning(kind, by_key[key].values, limits)
            if changed is None:
                continue
            plan = by_key[key]
            by_key[key] = _valid_plan(key, facility_id, period, plan.moment, changed)
            used.add(facility_id)
            planted.append((facility_id, period, kind))
            wanted -= 1
    return [by_key[plan.key] for plan in plans], planted


def _with_warning(kind: str, values: dict[str, int], limits: dict[str, int]) -> dict[str, int] | None:
    """``values`` with one problem of ``kind``, or None if this file cannot carry it plausibly."""
    changed = dict(values)
    if kind == "first_trimester_gt_total":
        total = values.get("1.1", 0)
        if "1.1.1" not in values or not 5 <= total <= 500:
            return None
        changed["1.1.1"] = total + max(2, round(total * 0.2))
    elif kind == "penta3_gt_penta1":
        penta1 = values.get("9.1.3", 0)
        if "9.1.5" not in values or not 5 <= penta1 <= 400:
            return None
        changed["9.1.5"] = penta1 + max(3, round(penta1 * 0.25))
    elif kind == "extreme_value":
        code = next((code for code in _EXTREME_ITEMS if values.get(code, 0) >= 10), None)
        if code is None or values[code] * 10 > 10 * limits[code]:
            return None
        changed[code] = values[code] * 10
    else:
        raise ValueError(f"unknown warning kind {kind!r}")
    return changed


@dataclass(frozen=True)
class _Plan:
    key: str
    facility_id: str
    moment: datetime
    content: bytes
    valid: bool
    defect: str | None
    reason: str | None
    values: dict[str, int]


def _plan_period(
    period: str, registered: Sequence[_Facility], seed: int
) -> tuple[list[_Plan], dict[tuple[str, str], str]]:
    """Every file each registered facility intends to send for ``period``, with its moment.

    The plan depends only on the period and the seed, never on ``as_of``.
    """
    rng = random.Random(f"{seed}:mix:{period}")
    order = sorted(registered, key=lambda facility: facility.facility_id)
    shuffled = list(order)
    rng.shuffle(shuffled)

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

    due_start = _ceil_second(due_at(period))  # 00:00:00 on the 6th
    year, month = parse_period(period)
    ordinal = year * 12 + month - 1
    broken_index = 0
    plans: list[_Plan] = []
    for facility in order:
        fid = facility.facility_id
        kind = scenario[fid]
        if kind == "missing":
            continue
        values = _clean_values(facility, period, seed)
        plain_key = f"submissions/{period}/{fid}.csv"
        second_key = f"submissions/{period}/{fid}__v2.csv"

        if kind in ("on_time", "late"):
            if fid == boundary_on_time:
                moment = due_start - timedelta(minutes=1)  # 23:59 on the 5th: still on time
            elif fid == boundary_late:
                moment = due_start + timedelta(minutes=1)  # 00:01 on the 6th: late
            elif kind == "on_time":
                moment = _on_time_moment(rng, period)
            else:
                moment = _late_moment(rng, period)
            plans.append(_valid_plan(plain_key, fid, period, moment, values))
            continue

        if kind == "revised":
            first = _on_time_moment(rng, period)
            plans.append(_valid_plan(plain_key, fid, period, first, values))
            revision = _revise(values, facility, period, seed)
            plans.append(_valid_plan(second_key, fid, period, _late_moment(rng, period, FOLLOW_UP_WINDOW), revision))
            continue

        # malformed, corrected, corrected_late: the first file is broken.
        defect = DEFECT_KINDS[
            (ordinal * (MALFORMED_PER_PERIOD + CORRECTED_PER_PERIOD) + broken_index) % len(DEFECT_KINDS)
        ]
        broken_index += 1
        first = _on_time_moment(rng, period, last_day_offset=3)
        content, reason = _broken_content(defect, fid, period, values, rng)
        plans.append(_Plan(plain_key, fid, first, content, False, defect, reason, {}))
        if kind == "malformed":
            continue
        if kind == "corrected_late":
            fixed_at = _late_moment(rng, period, FOLLOW_UP_WINDOW)
        else:
            earliest = first + timedelta(hours=1)
            latest = due_start - timedelta(seconds=1)
            fixed_at = earliest + timedelta(seconds=rng.randrange(int((latest - earliest).total_seconds()) + 1))
        plans.append(_valid_plan(second_key, fid, period, fixed_at, values))

    return plans, {(fid, period): kind for fid, kind in scenario.items()}


def _valid_plan(key: str, facility_id: str, period: str, moment: datetime, values: dict[str, int]) -> _Plan:
    rows = [
        {"facility_id": facility_id, "period": period, "item_code": code, "value": str(value)}
        for code, value in values.items()
    ]
    return _Plan(key, facility_id, moment, _csv_bytes(SUBMISSION_COLUMNS, rows), True, None, None, values)


def _broken_content(
    defect: str, facility_id: str, period: str, values: dict[str, int], rng: random.Random
) -> tuple[bytes, str]:
    """File content with exactly one defect that makes the whole file unacceptable."""
    codes = list(values)
    rows = [[facility_id, period, code, str(value)] for code, value in values.items()]
    header = list(SUBMISSION_COLUMNS)
    target = rng.randrange(len(rows))
    code = codes[target]

    if defect == "text_value":
        rows[target][3] = "twelve"
        reason = f"item {code}: value 'twelve' is not a whole number"
    elif defect == "negative_value":
        negative = -max(1, values[code] or rng.randint(1, 9))
        rows[target][3] = str(negative)
        reason = f"item {code}: value {negative} is negative"
    elif defect == "unknown_item":
        rows.insert(target + 1, [facility_id, period, UNKNOWN_ITEM_CODE, str(rng.randint(1, 40))])
        reason = f"item code {UNKNOWN_ITEM_CODE} is not in the HMIS data-item catalogue"
    elif defect == "missing_value_column":
        header[3] = "count"
        reason = "the header has no 'value' column (it is called 'count')"
    elif defect == "period_mismatch":
        stated = shift_period(period, -1)
        for row in rows:
            row[1] = stated
        reason = f"rows are for period {stated} but the file is in folder {period}"
    elif defect == "duplicate_item":
        rows.insert(target + 1, [facility_id, period, code, str(values[code] + rng.randint(1, 5))])
        reason = f"item {code} appears twice"
    elif defect == "not_utf8":
        # 0xFF never occurs in UTF-8, so no decoder can take this for text.
        noise = bytes(rng.randrange(256) for _ in range(48))
        return b"\xff\xfe\x00\x01" + noise + b"\xc3\x28\x00", "the file is binary, not UTF-8 CSV text"
    else:
        raise ValueError(f"unknown defect kind {defect!r}")
    return _csv_bytes(header, [dict(zip(header, row)) for row in rows]), reason


def _derive_status(
    registered: Sequence[_Facility],
    periods: Sequence[str],
    written: Sequence[DemoFile],
    file_values: dict[str, dict[str, int]],
    as_of: datetime,
) -> tuple[dict[tuple[str, str], str], dict[tuple[str, str], datetime], dict[tuple[str, str], dict[str, int]]]:
    by_key: dict[tuple[str, str], list[DemoFile]] = {}
    for demo_file in written:
        by_key.setdefault((demo_file.facility_id, demo_file.period), []).append(demo_file)

    status: dict[tuple[str, str], str] = {}
    submitted_at: dict[tuple[str, str], datetime] = {}
    values: dict[tuple[str, str], dict[str, int]] = {}
    for period in periods:
        due = due_at(period)
        for facility in registered:
            key = (facility.facility_id, period)
            files = sorted(by_key.get(key, []), key=lambda demo_file: demo_file.submitted_at)
            valid = [demo_file for demo_file in files if demo_file.valid]
            if valid:
                first = valid[0]
                status[key] = "on_time" if first.submitted_at <= due else "late"
                submitted_at[key] = first.submitted_at
                values[key] = dict(file_values[valid[-1].key])
            elif files:
                status[key] = "rejected"
            else:
                status[key] = "pending" if as_of <= due else "missing"
    return status, submitted_at, values


# --------------------------------------------------------------------------------------
# Submission moments
# --------------------------------------------------------------------------------------


def _ceil_second(moment: datetime) -> datetime:
    if moment.microsecond:
        return moment.replace(microsecond=0) + timedelta(seconds=1)
    return moment


def _on_time_moment(rng: random.Random, period: str, last_day_offset: int | None = None) -> datetime:
    """A whole-second moment from the 1st of the following month up to the due date.

    Most reports arrive in office hours, and more of them towards the due date.
    ``last_day_offset`` (0 = the 1st) limits how late in the window the moment may fall.
    """
    opens = datetime.combine(period_end(period) + timedelta(days=1), time(0), tzinfo=REPORTING_TZ)
    window_days = (_ceil_second(due_at(period)) - opens).days
    last = window_days - 1 if last_day_offset is None else min(last_day_offset, window_days - 1)
    days = list(range(last + 1))
    day = rng.choices(days, weights=[4 + 2 * d for d in days])[0]
    if rng.random() < 0.85:
        second = rng.randrange(9 * 3600, 19 * 3600)
    else:
        second = rng.randrange(24 * 3600)
    return opens + timedelta(days=day, seconds=second)


def _late_moment(rng: random.Random, period: str, window: timedelta = LATE_WINDOW) -> datetime:
    """A whole-second moment from one minute after the due date to ``window`` later.

    It does not depend on ``as_of``: the caller skips files planned at or after
    ``as_of``, so a later ``as_of`` only ever adds files to the landing zone.
    """
    due_start = _ceil_second(due_at(period))
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


# --------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Profile:
    """Typical monthly volumes of a facility type before size, season and noise."""

    opd: float = 0.0
    ayush_opd: float = 0.0
    anc: float = 0.0
    home_deliveries: float = 0.0
    deliveries: float = 0.0
    csection_rate: float = 0.0
    immunisation: float = 0.0
    ipd: float = 0.0
    emergency: float = 0.0
    major_ops: float = 0.0
    minor_ops: float = 0.0
    nsv: float = 0.0
    sterilisation: float = 0.0
    iucd: float = 0.0
    pills: float = 0.0
    condoms: float = 0.0


# fmt: off
_PROFILES: dict[str, _Profile] = {
    "SC": _Profile(opd=260, anc=16, home_deliveries=0.5, immunisation=12, iucd=2.5, pills=45, condoms=350),
    "PHC": _Profile(opd=1900, ayush_opd=260, anc=40, home_deliveries=0.6, deliveries=22, immunisation=26,
                    ipd=45, minor_ops=12, iucd=6, pills=90, condoms=800),
    "CHC": _Profile(opd=5200, ayush_opd=480, anc=95, home_deliveries=0.3, deliveries=85, csection_rate=0.10,
                    immunisation=45, ipd=260, emergency=320, major_ops=18, minor_ops=70, nsv=1.0,
                    sterilisation=9, iucd=12, pills=170, condoms=1500),
    "SDH": _Profile(opd=13500, ayush_opd=800, anc=190, deliveries=210, csection_rate=0.17, immunisation=75,
                    ipd=720, emergency=950, major_ops=65, minor_ops=220, nsv=2.5, sterilisation=22, iucd=22,
                    pills=260, condoms=2400),
    "DH": _Profile(opd=36000, ayush_opd=1500, anc=420, deliveries=540, csection_rate=0.24, immunisation=130,
                   ipd=2100, emergency=2900, major_ops=240, minor_ops=850, nsv=6, sterilisation=55, iucd=45,
                   pills=500, condoms=5200),
    # Private hospitals sit between a CHC and an SDH in volume, with far more C-sections.
    "PVT_HOSPITAL": _Profile(opd=7800, anc=70, deliveries=60, csection_rate=0.42, immunisation=14, ipd=430,
                             emergency=520, major_ops=85, minor_ops=150, nsv=0.5, sterilisation=6, iucd=5),
    "NURSING_HOME": _Profile(opd=2300, anc=38, deliveries=28, csection_rate=0.33, immunisation=6, ipd=140,
                             emergency=130, major_ops=22, minor_ops=45, sterilisation=2, iucd=3),
    "CLINIC": _Profile(opd=650, anc=10, minor_ops=8),
    "AYUSH": _Profile(ayush_opd=950),
}
# fmt: on

# Seasonal multipliers by calendar month (January first), for North India.
_SEASON = {
    "opd": (0.95, 0.95, 1.0, 1.0, 1.0, 1.05, 1.1, 1.15, 1.2, 1.15, 1.05, 0.95),
    "fever": (0.8, 0.75, 0.8, 0.9, 1.0, 1.1, 1.5, 1.8, 2.0, 1.9, 1.3, 0.9),
    "diarrhoea": (0.6, 0.6, 0.8, 1.1, 1.4, 1.6, 1.7, 1.6, 1.3, 1.0, 0.8, 0.6),
    "respiratory": (1.8, 1.5, 1.1, 0.8, 0.7, 0.7, 0.8, 0.8, 0.9, 1.1, 1.5, 1.8),
    "typhoid": (0.8, 0.8, 0.9, 1.0, 1.1, 1.2, 1.4, 1.4, 1.3, 1.1, 0.9, 0.8),
    "dengue": (0.1, 0.05, 0.05, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 3.5, 2.0, 0.5),
    "malaria": (0.2, 0.2, 0.3, 0.5, 0.8, 1.2, 2.5, 3.5, 4.0, 3.0, 1.5, 0.5),
    "births": (0.97, 0.95, 0.97, 0.97, 0.98, 1.0, 1.02, 1.05, 1.08, 1.06, 1.0, 0.98),
    "sterilisation": (1.5, 1.3, 1.2, 0.8, 0.7, 0.7, 0.7, 0.8, 0.8, 0.9, 1.5, 1.6),
    "nsv": (0.9, 0.8, 0.8, 0.7, 0.7, 0.7, 0.7, 0.7, 0.8, 0.9, 2.0, 1.8),
}


def _facility_traits(facility: _Facility, seed: int) -> tuple[float, float]:
    """(size factor, C-section rate factor), fixed for a facility across months."""
    rng = np.random.default_rng([seed, 0, facility.number])
    if facility.facility_type in ("DH", "SDH"):
        size = float(rng.uniform(0.95, 1.05))
    else:
        size = float(np.clip(rng.lognormal(0.0, 0.3), 0.5, 1.8))
    return size, float(rng.uniform(0.8, 1.2))


def _clean_values(facility: _Facility, period: str, seed: int) -> dict[str, int]:
    """Internally consistent counts for every item the facility type reports, in catalogue order."""
    year, month = parse_period(period)
    rng = np.random.default_rng([seed, year * 12 + month, facility.number])
    profile = _PROFILES[facility.facility_type]
    size, csection_factor = _facility_traits(facility, seed)

    def season(name: str) -> float:
        return _SEASON[name][month - 1]

    def poisson(mean: float) -> int:
        return int(rng.poisson(max(mean, 0.0)))

    def binomial(n: int, p: float) -> int:
        return int(rng.binomial(n, min(max(p, 0.0), 1.0))) if n > 0 else 0

    v: dict[str, int] = {}

    anc = poisson(profile.anc * size)
    v["1.1"] = anc
    v["1.1.1"] = binomial(anc, 0.72)
    # Nearly every woman registered for ANC gets Td1 at registration (WHO DQR checks this):
    # about 4 % miss it. Derived from the same draw as before so the rest of the random
    # stream (and every other value) stays as it was.
    v["1.2.1"] = anc - (anc - binomial(anc, 0.62)) // 10
    v["1.2.2"] = binomial(anc, 0.55)
    v["1.2.3"] = binomial(anc, 0.12)
    v["1.2.4"] = poisson(profile.anc * size * 0.85)
    v["1.2.7"] = poisson(profile.anc * size * 0.78)
    v["1.3.1"] = binomial(anc, 0.06)

    home = poisson(profile.home_deliveries)
    institutional = poisson(profile.deliveries * size * season("births"))
    csections = binomial(institutional, profile.csection_rate * csection_factor)
    v["2.1.1.a"] = home
    v["2.2"] = institutional
    v["2.2.1"] = binomial(institutional - csections, 0.78)
    v["3.1"] = csections
    v["3.1.1"] = binomial(csections, 0.3)

    deliveries = institutional + home
    still = binomial(deliveries, 0.014)
    # Twins add a baby without adding a delivery; capped so births stay close to deliveries.
    twins = min(binomial(deliveries - still, 0.011), int(deliveries * 0.05) + 2)
    live = deliveries - still + twins
    male = binomial(live, 0.525)
    weighed = binomial(live, 0.97)
    v["4.1.1.a"] = male
    v["4.1.1.b"] = live - male
    v["4.1.2"] = binomial(live, 0.08)
    v["4.1.3"] = still
    v["4.4.1"] = weighed
    v["4.4.2"] = binomial(weighed, 0.17)
    v["4.4.3"] = binomial(live, 0.82)

    v["8.1.1"] = poisson(profile.nsv * season("nsv"))
    v["8.2.1"] = poisson(profile.sterilisation * size * season("sterilisation"))
    v["8.3"] = poisson(profile.iucd * size)
    v["8.4"] = binomial(institutional, 0.22)
    v["8.12"] = poisson(profile.pills * size)
    v["8.13"] = poisson(profile.condoms * size)

    # Birth doses go to babies born here; other doses are given at sessions to cohorts
    # born earlier, with the usual drop-out between doses.
    penta1 = poisson(profile.immunisation * size)
    penta2 = binomial(penta1, 0.96)
    penta3 = binomial(penta1, 0.93)
    mr1 = binomial(penta1, 0.92)
    fully_immunised = binomial(mr1, 0.93)
    fully_male = binomial(fully_immunised, 0.52)
    mr2 = binomial(mr1, 0.88)
    v["9.1.1"] = binomial(live, 0.95)
    v["9.1.2"] = binomial(live, 0.9) + poisson(profile.immunisation * size * 0.15)
    v["9.1.3"] = penta1
    v["9.1.4"] = penta2
    v["9.1.5"] = penta3
    v["9.1.6"] = binomial(live, 0.9)
    v["9.1.7"] = penta1 - binomial(penta1, 0.01)
    v["9.1.8"] = penta2 - binomial(penta2, 0.01)
    # OPV goes with Penta at the same visit, so OPV-3 never exceeds OPV-1.
    v["9.1.9"] = min(penta3 - binomial(penta3, 0.01), v["9.1.7"])
    v["9.1.10"] = binomial(live, 0.88)
    v["9.1.11"] = penta1 - binomial(penta1, 0.02)
    v["9.2.2"] = mr1
    v["9.2.5.a"] = fully_male
    v["9.2.5.b"] = fully_immunised - fully_male
    v["9.4.1"] = mr2
    v["9.4.2"] = mr2 - binomial(mr2, 0.02)

    opd = poisson(profile.opd * size * season("opd"))
    ayush_opd = poisson(profile.ayush_opd * size * season("opd"))
    v["14.2.1"] = opd
    v["14.2.2"] = ayush_opd
    # Disease-wise counts are drawn out of the attendance they belong to, so together
    # they can never exceed it.
    remaining = ayush_opd if facility.facility_type == "AYUSH" else opd
    fever = binomial(remaining, 0.065 * season("fever"))
    remaining -= fever
    diarrhoea = binomial(remaining, 0.03 * season("diarrhoea"))
    remaining -= diarrhoea
    respiratory = binomial(remaining, 0.05 * season("respiratory"))
    remaining -= respiratory
    hypertension = binomial(remaining, 0.055)
    remaining -= hypertension
    diabetes = binomial(remaining, 0.042)
    remaining -= diabetes
    presumptive_tb = binomial(remaining, 0.011)
    typhoid = binomial(fever, 0.05 * season("typhoid"))
    dengue = binomial(fever - typhoid, 0.012 * season("dengue"))
    malaria = binomial(fever - typhoid - dengue, 0.003 * season("malaria"))
    dengue += _planted_dengue(facility, period, seed, fever - typhoid - dengue - malaria, dengue)
    v["14.1.1"] = diabetes
    v["14.1.2"] = hypertension
    v["14.1.3"] = fever
    v["14.1.4"] = diarrhoea
    v["14.1.5"] = respiratory
    v["14.1.6"] = typhoid
    v["14.1.7"] = dengue
    v["14.1.8"] = malaria
    v["14.1.9"] = presumptive_tb

    admissions = poisson(profile.ipd * size * season("opd"))
    boys, men, girls, women, elderly = (int(n) for n in rng.multinomial(admissions, [0.14, 0.30, 0.11, 0.25, 0.20]))
    v["14.3.1.a"] = boys
    v["14.3.1.b"] = men
    v["14.3.1.c"] = girls
    v["14.3.1.d"] = women + institutional  # every delivery is an adult female admission
    v["14.3.1.e"] = elderly
    v["14.5.3"] = poisson(profile.emergency * size)
    v["14.8.1.a"] = poisson(profile.major_ops * size)
    v["14.8.2"] = poisson(profile.minor_ops * size)

    values = {item.item_code: v[item.item_code] for item in items_for_type(facility.facility_type)}
    problems = _consistency_problems(values)
    if problems:
        raise RuntimeError(f"generated inconsistent values for {facility.facility_id} {period}: {problems}")
    return values


def _planted_dengue(facility: _Facility, period: str, seed: int, other_fevers: int, dengue: int) -> int:
    """Extra dengue cases of the planted rise (0 outside its block and months).

    They are drawn out of the facility's other fever cases with their own random stream, so
    every other value stays as it would be without the rise, and capped at the item's
    typical maximum.
    """
    year, month = parse_period(period)
    if facility.block != DENGUE_RISE_BLOCK or month not in DENGUE_RISE:
        return 0
    rng = np.random.default_rng([seed, year * 12 + month, facility.number, 3])
    usual = 0.012 * _SEASON["dengue"][month - 1]
    extra = int(rng.binomial(max(other_fevers, 0), min(usual * (DENGUE_RISE[month] - 1), 1.0)))
    limit = next(item.typical_max for item in load_items() if item.item_code == DENGUE_ITEM)
    return max(min(extra, limit - dengue), 0)


def _total(values: dict[str, int], codes: Sequence[str]) -> int | None:
    """Sum of ``codes`` if at least one is present, else None."""
    present = [values[code] for code in codes if code in values]
    return sum(present) if present else None


_BIRTH_CODES = ("4.1.1.a", "4.1.1.b", "4.1.3")
_LIVE_CODES = ("4.1.1.a", "4.1.1.b")
_DISEASE_CODES = ("14.1.1", "14.1.2", "14.1.3", "14.1.4", "14.1.5", "14.1.9")

# (description, smaller side, larger side, factor, slack): sum(smaller) <= factor * sum(larger) + slack.
# A rule applies only when every item on the smaller side and at least one on the larger is reported.
_RULES: tuple[tuple[str, tuple[str, ...], tuple[str, ...], float, int], ...] = (
    ("first-trimester registrations <= ANC registrations", ("1.1.1",), ("1.1",), 1.0, 0),
    ("C-sections <= institutional deliveries", ("3.1",), ("2.2",), 1.0, 0),
    ("night C-sections <= C-sections", ("3.1.1",), ("3.1",), 1.0, 0),
    ("48-hour stays + C-sections <= institutional deliveries", ("2.2.1", "3.1"), ("2.2",), 1.0, 0),
    ("institutional deliveries <= live + still births", ("2.2",), _BIRTH_CODES, 1.0, 0),
    ("live + still births close to deliveries", _BIRTH_CODES, ("2.2", "2.1.1.a"), 1.05, 2),
    ("pre-term newborns <= live births", ("4.1.2",), _LIVE_CODES, 1.0, 0),
    ("newborns weighed <= live births", ("4.4.1",), _LIVE_CODES, 1.0, 0),
    ("low birth weight <= newborns weighed", ("4.4.2",), ("4.4.1",), 1.0, 0),
    ("breastfed within 1 hour <= live births", ("4.4.3",), _LIVE_CODES, 1.0, 0),
    ("Vitamin K1 <= live births", ("9.1.1",), _LIVE_CODES, 1.0, 0),
    ("OPV 0 <= live births", ("9.1.6",), _LIVE_CODES, 1.0, 0),
    ("Hepatitis-B0 <= live births", ("9.1.10",), _LIVE_CODES, 1.0, 0),
    ("postpartum IUCD <= institutional deliveries", ("8.4",), ("2.2",), 1.0, 0),
    ("Penta-2 <= Penta-1", ("9.1.4",), ("9.1.3",), 1.05, 0),
    ("Penta-3 <= Penta-1", ("9.1.5",), ("9.1.3",), 1.05, 0),
    ("OPV 1 <= Penta-1", ("9.1.7",), ("9.1.3",), 1.05, 0),
    ("OPV 3 <= Penta-3", ("9.1.9",), ("9.1.5",), 1.05, 0),
    ("MR-2 <= MR-1", ("9.4.1",), ("9.2.2",), 1.0, 0),
    ("fully immunised <= MR-1", ("9.2.5.a", "9.2.5.b"), ("9.2.2",), 1.0, 0),
    ("typhoid + dengue + malaria <= fever", ("14.1.6", "14.1.7", "14.1.8"), ("14.1.3",), 1.0, 0),
)


def _consistency_problems(values: dict[str, int]) -> list[str]:
    """Descriptions of the consistency rules ``values`` breaks (empty if none)."""
    problems = []
    for description, smaller, larger, factor, slack in _RULES:
        if not all(code in values for code in smaller):
            continue
        bound = _total(values, larger)
        if bound is None:
            continue
        if sum(values[code] for code in smaller) > factor * bound + slack:
            problems.append(description)
    attendance = values.get("14.2.1", values.get("14.2.2"))
    diseases = _total(values, _DISEASE_CODES)
    if attendance is not None and diseases is not None and diseases > attendance:
        problems.append("disease-wise outpatient counts <= outpatient attendance")
    return problems


def _revise(values: dict[str, int], facility: _Facility, period: str, seed: int) -> dict[str, int]:
    """A copy of ``values`` with a few items changed, still consistent and plausible."""
    year, month = parse_period(period)
    rng = np.random.default_rng([seed, year * 12 + month, facility.number, 2])
    limits = {item.item_code: item.typical_max for item in load_items()}
    revised = dict(values)
    candidates = [code for code, value in values.items() if value >= 3]
    changed: set[str] = set()
    for index in rng.permutation(len(candidates)):
        if len(changed) == 3:
            break
        code = candidates[int(index)]
        delta = max(1, int(round(revised[code] * rng.uniform(0.03, 0.12))))
        new_value = revised[code] + (delta if rng.random() < 0.5 else -delta)
        if not 0 <= new_value <= limits[code]:
            continue
        trial = {**revised, code: new_value}
        if not _consistency_problems(trial):
            revised = trial
            changed.add(code)
    if not changed:
        # Raising attendance breaks no rule, and every type reports one of these.
        code = "14.2.1" if "14.2.1" in revised else "14.2.2"
        revised[code] += 1 + int(rng.integers(0, 25))
    return revised


# --------------------------------------------------------------------------------------
# Ultrasound line lists
# --------------------------------------------------------------------------------------


def ultrasound_facilities(registered: Sequence[_Facility], seed: int) -> tuple[list[_Facility], set[str]]:
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


def _write_ultrasound(
    landing_root: Path, registered: Sequence[_Facility], periods: Sequence[str], seed: int, as_of: datetime
) -> dict[tuple[str, str], UltrasoundList]:
    """Write every ultrasound line list sent before ``as_of``; return what checking them must find."""
    offering, poor = ultrasound_facilities(registered, seed)
    used_ids: set[str] = set()
    truth: dict[tuple[str, str], UltrasoundList] = {}
    for period in periods:
        moments = random.Random(f"{seed}:ultrasound:{period}")
        for facility in offering:
            moment = _on_time_moment(moments, period)
            rows, problems = _scan_rows(facility, period, seed, facility.facility_id in poor, used_ids)
            if moment >= as_of:
                continue
            key = f"ultrasound/{period}/{facility.facility_id}.csv"
            _write_file(landing_root / key, _csv_bytes(ULTRASOUND_COLUMNS, rows), moment)
            counts = Counter(problem for problem in problems if problem)
            truth[(facility.facility_id, period)] = UltrasoundList(
                key, facility.facility_id, period, moment, len(rows), len(rows) - sum(counts.values()),
                {kind: counts[kind] for kind in ULTRASOUND_MISTAKES if counts[kind]},
            )
    return truth


def _scan_rows(
    facility: _Facility, period: str, seed: int, poor: bool, used_ids: set[str]
) -> tuple[list[dict[str, str]], list[str | None]]:
    """The line list's rows (ordered by scan date) and each row's planted mistake (None if clean)."""
    year, month = parse_period(period)
    rng = np.random.default_rng([seed, year * 12 + month, facility.number, 5])
    size, _ = _facility_traits(facility, seed)
    count = max(3, int(rng.poisson(_ULTRASOUND_VOLUME[facility.facility_type] * size)))
    first, last = period_start(period), period_end(period)
    days = (last - first).days + 1
    registration = f"PNDT/HSR/{2008 + facility.number % 15}/{facility.number:04d}"

    rate = ULTRASOUND_POOR_RATE if poor else ULTRASOUND_MISTAKE_RATE
    cap = count if poor else int(count * ULTRASOUND_MAX_NORMAL_SHARE)
    mistaken = [index for index in range(count) if rng.random() < rate][:cap]
    kinds = {index: ULTRASOUND_MISTAKES[(facility.number + n) % len(ULTRASOUND_MISTAKES)]
             for n, index in enumerate(mistaken)}

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


# --------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _random_date(rng: random.Random, start: date, end: date) -> date:
    return start + timedelta(days=rng.randrange((end - start).days + 1))


def _csv_bytes(columns: Sequence[str], rows: Sequence[dict[str, str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _write_file(path: Path, content: bytes, moment: datetime) -> None:
    """Write ``content`` and set both access and modification time to ``moment``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    path.write_bytes(content)
    # Integer arithmetic: a float timestamp cannot hold nanoseconds exactly.
    elapsed = moment - _EPOCH
    stamp = (elapsed.days * 86_400 + elapsed.seconds) * 1_000_000_000 + elapsed.microseconds * 1_000
    os.utime(path, ns=(stamp, stamp))


# --------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m hmis_dev.demo.generator LANDING_ROOT --as-of 2026-11-27T06:00+05:30``."""
    parser = argparse.ArgumentParser(description="Write the Hisar HMIS demo landing zone.")
    parser.add_argument("landing_root", type=Path)
    parser.add_argument("--as-of", required=True, help="ISO 8601 moment with a UTC offset")
    parser.add_argument("--months", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--history-months", type=int, default=0, help="clean periods before the open ones")
    parser.add_argument("--quality-warnings", action="store_true", help="plant warning-level problems")
    parser.add_argument("--truth", type=Path, help="also write the expected outcome as JSON here")
    args = parser.parse_args(argv)

    as_of = datetime.fromisoformat(args.as_of)
    if as_of.tzinfo is None:
        parser.error("--as-of needs a UTC offset, e.g. 2026-11-27T06:00+05:30")
    truth = generate(args.landing_root, as_of, months=args.months, seed=args.seed,
                     history_months=args.history_months, quality_warnings=args.quality_warnings)
    if args.truth:
        truth.save(args.truth)
    for period in truth.periods:
        counts = truth.status_counts(period)
        print(period, " ".join(f"{status}={counts[status]}" for status in STATUSES))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
