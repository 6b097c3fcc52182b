"""The truth: what the pipeline should conclude from the files the demo generator wrote.

:class:`DemoTruth` is built by :func:`hmis_dev.demo.generator.generate` from what each
generating module planned: the files it wrote (:class:`DemoFile`), the scenario of each
facility-period, the planted disease rise, the ultrasound line lists (:class:`UltrasoundList`)
and the planted quality warnings. Tests and the demo runner compare the warehouse, the
e-mails and the report with it, so statuses are not the plan but its outcome: they are
derived from the files actually written before ``as_of`` (:func:`derive_status`), by the
rules the compliance stage applies. :meth:`DemoTruth.save` writes it as JSON
(``var/demo/truth.json``). Raw RCH IDs are only in the landing files, never in the truth.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from hmis.reference.periods import due_at
from hmis_dev.demo.values import DENGUE_ITEM

STATUSES = ("on_time", "late", "missing", "rejected", "pending")
SCENARIOS = ("on_time", "late", "missing", "malformed", "corrected", "corrected_late", "revised")

# Share of scans with a valid RCH ID below which a facility is out of compliance.
ULTRASOUND_THRESHOLD = 0.9


@dataclass(frozen=True)
class DemoFile:
    """One file written under ``submissions/``.

    ``key`` is the path relative to the landing root with ``/`` separators;
    ``submitted_at`` equals the file's modification time. ``defect`` is one of
    :data:`hmis_dev.demo.defects.DEFECT_KINDS` for a broken file (``valid`` is then False)
    and ``reason`` says in one line what is wrong with it.
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
    ``problems`` the number of rows per mistake kind (see
    :data:`hmis_dev.demo.ultrasound.ULTRASOUND_MISTAKES`).
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
    """What the pipeline should conclude from the files :func:`~hmis_dev.demo.generator.generate` wrote.

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


def derive_status(
    registered_ids: Sequence[str],
    periods: Sequence[str],
    written: Sequence[DemoFile],
    file_values: dict[str, dict[str, int]],
    as_of: datetime,
) -> tuple[dict[tuple[str, str], str], dict[tuple[str, str], datetime], dict[tuple[str, str], dict[str, int]]]:
    """(status, first valid moment, latest valid values) per (facility_id, period).

    ``written`` are the files on disk at ``as_of`` and ``file_values`` the values of each
    valid one by key; the rules are those of :class:`DemoTruth`.
    """
    by_key: dict[tuple[str, str], list[DemoFile]] = {}
    for demo_file in written:
        by_key.setdefault((demo_file.facility_id, demo_file.period), []).append(demo_file)

    status: dict[tuple[str, str], str] = {}
    submitted_at: dict[tuple[str, str], datetime] = {}
    values: dict[tuple[str, str], dict[str, int]] = {}
    for period in periods:
        due = due_at(period)
        for facility_id in registered_ids:
            key = (facility_id, period)
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
