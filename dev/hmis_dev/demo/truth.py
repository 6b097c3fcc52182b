"""The truth: what the pipeline should conclude from the files the demo generator wrote.

:class:`DemoTruth` is built by :func:`hmis_dev.demo.generator.generate` from what each
generating module planned: the files it wrote (:class:`DemoFile`), the scenario of each
facility-period, the planted disease rise, the ultrasound line lists (:class:`UltrasoundList`)
and the planted quality warnings. Tests and the demo runner compare the warehouse, the
e-mails and the report with it, so statuses are not the plan but its outcome: they are
derived from the files actually written before ``as_of`` (:func:`derive_status`), by the
rules the compliance stage applies. :meth:`DemoTruth.save` writes it as JSON
(``var/demo/truth.json``). Raw RCH IDs are only in the landing files, never in the truth.

Values are keyed as the warehouse keys them: by data element and disaggregation
(``("2.2", "TOTAL")``, ``("17.2", "5. Total Stock")``), whatever code the facility's
format gives the item; ``formats`` names the format each facility-month was written in.
Areas carry their LGD codes (Hisar 63, blocks 484-492), the codes the state's DHIS2 uses.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from hmis.reference.formats import TOTAL
from hmis.reference.periods import due_at, financial_year
from hmis_dev.demo.counts import SIGNAL_ITEMS
from hmis_dev.demo.registry import BLOCK_LGD, DISTRICT, DISTRICT_LGD
from hmis_dev.demo.rules import failed_checks
from hmis_dev.demo.values import Report, Value

# A facility-month's values: (element, disaggregation) -> count, or text as written.
Values = dict[tuple[str, str], Value]

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
    was not yet due at ``as_of``. ``submitted_at`` is the moment of the first valid file,
    ``values`` the contents of the latest valid file (by element and disaggregation) and
    ``formats`` its format id, for facility-periods that have one. ``scenario`` is the
    behaviour planned for each facility-period (see :data:`SCENARIOS`), including
    submissions that had not happened by ``as_of``.

    ``history_periods`` are the clean periods written before the open ones (also in
    ``periods``). ``signal_block`` (LGD code ``signal_block_lgd``), ``signal_items`` (data
    elements) and ``signal_periods`` name the planted disease rise among ``periods``;
    ``ultrasound`` the line list of each facility-period; ``warnings`` the planted
    warning-level problems as ``(facility_id, period, kind)``; ``rule_failures`` the ids of
    the rules and consistency checks the values of a facility-period fail (year-to-date
    rules on the sums of the periods written), so clean facility-periods are absent.
    """

    as_of: datetime
    periods: list[str]
    status: dict[tuple[str, str], str]
    submitted_at: dict[tuple[str, str], datetime]
    values: dict[tuple[str, str], Values]
    files: list[DemoFile]
    registered_ids: list[str]
    unregistered_ids: list[str]
    formats: dict[tuple[str, str], str] = field(default_factory=dict)
    scenario: dict[tuple[str, str], str] = field(default_factory=dict)
    history_periods: list[str] = field(default_factory=list)
    signal_block: str | None = None
    signal_items: tuple[str, ...] = SIGNAL_ITEMS
    signal_periods: list[str] = field(default_factory=list)
    ultrasound: dict[tuple[str, str], UltrasoundList] = field(default_factory=dict)
    ultrasound_threshold: float = ULTRASOUND_THRESHOLD
    warnings: list[tuple[str, str, str]] = field(default_factory=list)
    rule_failures: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    district: str = DISTRICT
    district_lgd: str = DISTRICT_LGD
    block_lgd: dict[str, str] = field(default_factory=lambda: dict(BLOCK_LGD))

    @property
    def signal_item(self) -> str:
        """The first planted signal element (11.3.1, dengue RDT positives), for readers of one."""
        return self.signal_items[0]

    @property
    def signal_block_lgd(self) -> str | None:
        return self.block_lgd.get(self.signal_block) if self.signal_block else None

    def counts(self, facility_id: str, period: str) -> dict[str, int]:
        """The counts (plain totals) of a facility-period by element, as the rules read them."""
        return {
            element: value
            for (element, sub), value in self.values[(facility_id, period)].items()
            if sub == TOTAL and isinstance(value, int)
        }

    def ultrasound_below_threshold(self) -> list[tuple[str, str]]:
        """(facility_id, period) of line lists whose valid share is below the threshold."""
        return sorted(key for key, listing in self.ultrasound.items() if listing.below(self.ultrasound_threshold))

    def status_counts(self, period: str) -> dict[str, int]:
        """Number of registered facilities in each status for ``period`` (all statuses listed)."""
        counts = Counter(status for (_, p), status in self.status.items() if p == period)
        return {status: counts.get(status, 0) for status in STATUSES}

    def to_json(self) -> dict:
        """A JSON-serialisable view, nested by period then facility; datetimes in ISO 8601.

        A facility-period's values are ``{element: value}``, a stock element's value
        ``{sub_item: value}``.
        """

        def by_period(mapping: dict[tuple[str, str], object], convert: Callable) -> dict:
            nested: dict[str, dict[str, object]] = {period: {} for period in self.periods}
            for (facility_id, period), value in sorted(mapping.items()):
                nested.setdefault(period, {})[facility_id] = convert(value)
            return nested

        return {
            "as_of": self.as_of.isoformat(),
            "district": {"name": self.district, "lgd": self.district_lgd},
            "blocks": dict(sorted(self.block_lgd.items(), key=lambda pair: pair[1])),
            "periods": list(self.periods),
            "registered_ids": list(self.registered_ids),
            "unregistered_ids": list(self.unregistered_ids),
            "status_counts": {period: self.status_counts(period) for period in self.periods},
            "status": by_period(self.status, str),
            "scenario": by_period(self.scenario, str),
            "history_periods": list(self.history_periods),
            "signal": {
                "block": self.signal_block,
                "block_lgd": self.signal_block_lgd,
                "elements": list(self.signal_items),
                "periods": list(self.signal_periods),
            },
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
            "rule_failures": by_period(self.rule_failures, list),
            "submitted_at": by_period(self.submitted_at, lambda moment: moment.isoformat()),
            "formats": by_period(self.formats, str),
            "values": by_period(self.values, values_json),
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


def values_json(values: Values) -> dict[str, object]:
    """``{element: value}``, a stock element as ``{sub_item: value}``, in the file's order."""
    nested: dict[str, object] = {}
    for (element, sub_item), value in values.items():
        if sub_item == TOTAL:
            nested[element] = value
        else:
            nested.setdefault(element, {})[sub_item] = value
    return nested


def derive_status(
    registered_ids: Sequence[str],
    periods: Sequence[str],
    written: Sequence[DemoFile],
    file_reports: dict[str, Report],
    as_of: datetime,
) -> tuple[
    dict[tuple[str, str], str],
    dict[tuple[str, str], datetime],
    dict[tuple[str, str], Values],
    dict[tuple[str, str], str],
]:
    """(status, first valid moment, latest valid values, their format) per (facility_id, period).

    ``written`` are the files on disk at ``as_of`` and ``file_reports`` the report of each
    valid one by key; the rules are those of :class:`DemoTruth`.
    """
    by_key: dict[tuple[str, str], list[DemoFile]] = {}
    for demo_file in written:
        by_key.setdefault((demo_file.facility_id, demo_file.period), []).append(demo_file)

    status: dict[tuple[str, str], str] = {}
    submitted_at: dict[tuple[str, str], datetime] = {}
    values: dict[tuple[str, str], Values] = {}
    formats: dict[tuple[str, str], str] = {}
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
                latest = file_reports[valid[-1].key]
                values[key] = dict(latest.values)
                formats[key] = latest.format_id
            elif files:
                status[key] = "rejected"
            else:
                status[key] = "pending" if as_of <= due else "missing"
    return status, submitted_at, values, formats


def derive_rule_failures(
    values: dict[tuple[str, str], Values], periods: Sequence[str]
) -> dict[tuple[str, str], list[str]]:
    """The rules and checks each facility-period's accepted values fail, as the pipeline judges
    them: a month alone, year-to-date rules on that month plus the facility's accepted
    earlier months of the same financial year among ``periods``."""
    failures: dict[tuple[str, str], list[str]] = {}
    totals: dict[tuple[str, str], dict[str, int]] = {}  # (facility, financial year) -> sums so far
    for period in sorted(periods):
        year = financial_year(period)
        for (facility_id, p), month_values in sorted(values.items()):
            if p != period:
                continue
            month = {
                element: value
                for (element, sub), value in month_values.items()
                if sub == TOTAL and isinstance(value, int)
            }
            so_far = totals.setdefault((facility_id, year), {})
            for element, value in month.items():
                so_far[element] = so_far.get(element, 0) + value
            failed = failed_checks(month, dict(so_far))
            if failed:
                failures[(facility_id, period)] = failed
    return failures
