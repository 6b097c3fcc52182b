"""Warning-level quality problems planted in a few valid submissions (``quality_warnings=True``).

Some data are wrong without being unreadable: the pipeline must load such a file with a
warning for the facility to check, never reject it. So that the warning rules have something
to find, a few plain on-time files per open period carry one such problem each, listed in
:attr:`hmis_dev.demo.truth.DemoTruth.warnings` as ``(facility_id, period, kind)``:
``first_trimester_gt_total`` (1.1.1 above 1.1) in 2 facilities, ``penta3_gt_penta1``
(9.1.5 above 9.1.3) in 1, and ``extreme_value`` (one item at 10 times its usual level, still
at most 10 times its typical maximum) in 1. :attr:`~hmis_dev.demo.truth.DemoTruth.values`
holds the values as written. Off by default: such files break the consistency every other
clean file keeps (:func:`hmis_dev.demo.values.consistency_problems`).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

from hmis.reference.catalogue import load_items

WARNING_KINDS = ("first_trimester_gt_total", "penta3_gt_penta1", "extreme_value")
_WARNINGS_PER_PERIOD = (("first_trimester_gt_total", 2), ("penta3_gt_penta1", 1), ("extreme_value", 1))
_EXTREME_ITEMS = ("8.13", "8.12", "14.2.1")


def plant_warnings(
    period: str, seed: int, on_time_ids: Sequence[str], values: Mapping[str, dict[str, int]]
) -> list[tuple[str, str, dict[str, int]]]:
    """``(facility_id, kind, changed values)`` for the files of ``period`` that get a warning.

    Candidates are the facilities in ``on_time_ids``; ``values`` holds the values of each
    candidate's plain file (a candidate without one is passed over). A facility gets at most
    one warning, and only one its values can carry plausibly.
    """
    rng = random.Random(f"{seed}:warnings:{period}")
    limits = {item.item_code: item.typical_max for item in load_items()}
    candidates = sorted(on_time_ids)
    rng.shuffle(candidates)
    planted: list[tuple[str, str, dict[str, int]]] = []
    used: set[str] = set()
    for kind, wanted in _WARNINGS_PER_PERIOD:
        for facility_id in candidates:
            if wanted == 0:
                break
            if facility_id in used or facility_id not in values:
                continue
            changed = _with_warning(kind, values[facility_id], limits)
            if changed is None:
                continue
            used.add(facility_id)
            planted.append((facility_id, kind, changed))
            wanted -= 1
    return planted


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
