"""Warning-level quality problems planted in a few valid submissions (``quality_warnings=True``).

Some data are wrong without being unreadable: the pipeline must load such a file with a
warning for the facility to check, never reject it. So that the warning rules have something
to find, a few plain on-time files per open period carry one such problem each, listed in
:attr:`hmis_dev.demo.truth.DemoTruth.warnings` as ``(facility_id, period, kind)``. Each breaks
a rule of ``expectations/validation_rules.yaml`` or the typical maximum, on data elements:

``first_trimester_gt_total`` (2 facilities a period)
    1.1.1 above 1.1: rule ``anc.first_trimester_le_registered``.
``penta3_gt_penta1`` (1)
    Pentavalent-3 (9.1.8) above Pentavalent-1 (9.1.6) in the month, which has at least 20
    doses: consistency check ``consistency.penta1_to_penta3_dropout``. Whether the
    year-to-date rule ``imm.penta3_le_penta1_fytd`` fails too depends on the facility's
    earlier months of the year, and may carry into its later months; the truth's
    ``rule_failures`` says where it does.
``extreme_value`` (1)
    Condoms (8.13), oral pills (8.12) or outpatients (14.2.1) at 10 times the facility's own
    value, and at least twice the element's typical maximum (``typical_max.csv``; 150,000
    where the file has no maximum for it): far above anything the facility or the
    district's largest hospital reports. It breaks no relation (those elements are never
    the larger side of a rule) but is above the typical maximum and an outlier against
    the facility's history.

:attr:`~hmis_dev.demo.truth.DemoTruth.values` holds the values as written. Off by default:
such files break the consistency every other clean file keeps
(:func:`hmis_dev.demo.rules.consistency_problems`).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

from hmis_dev.demo.scale import typical_maxima
from hmis_dev.demo.values import Report

WARNING_KINDS = ("first_trimester_gt_total", "penta3_gt_penta1", "extreme_value")
_WARNINGS_PER_PERIOD = (("first_trimester_gt_total", 2), ("penta3_gt_penta1", 1), ("extreme_value", 1))
_EXTREME_ELEMENTS = ("8.13", "8.12", "14.2.1")
# An extreme value is at least this where typical_max.csv has no maximum for the element:
# more than any facility of the district reports of anything in a month.
EXTREME_FLOOR = 150_000
PENTA_MIN_DOSES = 20  # the dropout check leaves smaller counts alone (min_count)


def plant_warnings(
    period: str, seed: int, on_time_ids: Sequence[str], reports: Mapping[str, Report]
) -> list[tuple[str, str, Report]]:
    """``(facility_id, kind, changed report)`` for the files of ``period`` that get a warning.

    Candidates are the facilities in ``on_time_ids``; ``reports`` holds the report of each
    candidate's plain file (a candidate without one is passed over). A facility gets at most
    one warning, and only one its values can carry plausibly.
    """
    rng = random.Random(f"{seed}:warnings:{period}")
    candidates = sorted(on_time_ids)
    rng.shuffle(candidates)
    planted: list[tuple[str, str, Report]] = []
    used: set[str] = set()
    for kind, wanted in _WARNINGS_PER_PERIOD:
        for facility_id in candidates:
            if wanted == 0:
                break
            if facility_id in used or facility_id not in reports:
                continue
            changed = _with_warning(kind, reports[facility_id].numbers())
            if changed is None:
                continue
            used.add(facility_id)
            planted.append((facility_id, kind, reports[facility_id].with_counts(changed)))
            wanted -= 1
    return planted


def extreme_value(element: str, usual: int) -> int:
    """The planted value: ten times the usual one, and at least twice the element's typical
    maximum (:data:`EXTREME_FLOOR` where it has none)."""
    limit = typical_maxima().get(element)
    return max(10 * usual, EXTREME_FLOOR if limit is None else 2 * limit)


def _with_warning(kind: str, numbers: dict[str, int]) -> dict[str, int] | None:
    """The counts to change for one problem of ``kind``, or None if this file cannot carry it."""
    if kind == "first_trimester_gt_total":
        total = numbers.get("1.1", 0)
        if "1.1.1" not in numbers or not 5 <= total <= 500:
            return None
        return {"1.1.1": total + max(2, round(total * 0.2))}
    if kind == "penta3_gt_penta1":
        penta1 = numbers.get("9.1.6", 0)
        if "9.1.8" not in numbers or not PENTA_MIN_DOSES <= penta1 <= 400:
            return None
        return {"9.1.8": penta1 + max(3, round(penta1 * 0.25))}
    if kind == "extreme_value":
        element = next((e for e in _EXTREME_ELEMENTS if numbers.get(e, 0) >= 10), None)
        if element is None:
            return None
        return {element: extreme_value(element, numbers[element])}
    raise ValueError(f"unknown warning kind {kind!r}")
