"""Deterministic demo landing zone for the HMIS portal of Hisar district, Haryana.

:func:`generate` writes what facilities would have dropped into the landing zone, and
returns a :class:`~hmis_dev.demo.truth.DemoTruth` saying what the pipeline should conclude
from it. The same arguments always give byte-identical files with identical modification
times. It only wires the modules that each generate one part:

* :mod:`hmis_dev.demo.registry` — the 320 institutions of the district (with LGD codes) and
  the contacts;
* :mod:`hmis_dev.demo.values` — each facility's monthly report in its own HMIS format, with
  :mod:`hmis_dev.demo.counts` for the counts per data element and the planted dengue rise,
  :mod:`hmis_dev.demo.scale` for volumes at the district's real scale and
  :mod:`hmis_dev.demo.rules` for the validation rules every clean report keeps;
* :mod:`hmis_dev.demo.submissions` — who sends which file when (on time, late, missing,
  broken, corrected, revised), with :mod:`hmis_dev.demo.defects` for the broken files,
  :mod:`hmis_dev.demo.quality_warnings` for the planted warnings and
  :mod:`hmis_dev.demo.moments` for the moments;
* :mod:`hmis_dev.demo.ultrasound` — the ultrasound line lists and their RCH ID mistakes;
* :mod:`hmis_dev.demo.files` — the layout, columns and time stamps of every file;
* :mod:`hmis_dev.demo.truth` — the truth and its JSON.

The generator owns ``submissions/``, ``ultrasound/`` and the two registry files: each call
deletes and rewrites them, so a second call leaves the same tree.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from hmis.reference.periods import open_periods
from hmis_dev.demo.counts import SIGNAL_ITEMS
from hmis_dev.demo.registry import build_registry, write_registry
from hmis_dev.demo.submissions import write_submissions
from hmis_dev.demo.truth import STATUSES, DemoTruth, derive_rule_failures, derive_status
from hmis_dev.demo.ultrasound import write_ultrasound
from hmis_dev.demo.values import planted_rise

# Callers import the entry point and the truth from here.
__all__ = ["DemoTruth", "generate", "main", "write_registry"]


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
    ``history_months`` clean periods before them are written too (see
    :mod:`hmis_dev.demo.submissions`), and ``quality_warnings`` plants warning-level problems
    in a few valid files of each open period (:mod:`hmis_dev.demo.quality_warnings`). Every
    file written is dated strictly before ``as_of``, so the landing zone looks as it would
    at that moment. Existing ``submissions/`` and ``ultrasound/`` content is removed first.
    Returns the :class:`~hmis_dev.demo.truth.DemoTruth` for what was written.
    """
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware")
    if months < 1:
        raise ValueError("months must be at least 1")
    if history_months < 0:
        raise ValueError("history_months must be 0 or more")
    landing_root = Path(landing_root)
    write_registry(landing_root, seed)
    facilities = build_registry(seed)
    registered = [facility for facility in facilities if facility.registered]
    registered_ids = [facility.facility_id for facility in registered]
    all_periods = open_periods(as_of, months + history_months)
    history, periods = all_periods[:history_months], all_periods[history_months:]

    submissions = write_submissions(landing_root, registered, all_periods, history, seed, as_of, quality_warnings)
    status, submitted_at, values, formats = derive_status(
        registered_ids, all_periods, submissions.files, submissions.file_reports, as_of
    )
    ultrasound = write_ultrasound(landing_root, registered, periods, seed, as_of)
    signal_block, signal_periods = planted_rise(registered, all_periods)
    return DemoTruth(
        as_of=as_of,
        periods=all_periods,
        status=status,
        submitted_at=submitted_at,
        values=values,
        formats=formats,
        files=submissions.files,
        registered_ids=registered_ids,
        unregistered_ids=[facility.facility_id for facility in facilities if not facility.registered],
        scenario=submissions.scenario,
        history_periods=list(history),
        signal_block=signal_block,
        signal_items=SIGNAL_ITEMS,
        signal_periods=signal_periods,
        ultrasound=ultrasound,
        warnings=sorted(submissions.warnings),
        rule_failures=derive_rule_failures(values, all_periods),
    )


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
    truth = generate(
        args.landing_root,
        as_of,
        months=args.months,
        seed=args.seed,
        history_months=args.history_months,
        quality_warnings=args.quality_warnings,
    )
    if args.truth:
        truth.save(args.truth)
    for period in truth.periods:
        counts = truth.status_counts(period)
        print(period, " ".join(f"{status}={counts[status]}" for status in STATUSES))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
