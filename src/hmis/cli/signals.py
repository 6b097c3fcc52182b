"""``hmis signals``: the EARS methods on any series file, for analysts and for checking.

Input: a CSV with columns ``area, period, count``; ``period`` is a month ``YYYY-MM`` or an ISO
week ``YYYY-Www`` (one kind per area); ``count`` is a number of cases, or empty for a period
without data. Each area is one series from its first to its last period; a period absent
from the file is missing, exactly like an empty count. Output: the same columns plus
``expected, sd, upper_bound, alarm`` for every period the method evaluates (from the 8th
period for C1, the 10th for C2, the 12th for C3 with the default baseline of 7); ``alarm``
is ``true``, ``false`` or empty where the method cannot judge (a missing value in the
window). The defaults are those of R's ``surveillance::earsC``; see
:mod:`hmis.signals.ears`.

Mistakes in the call or the file are one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import re
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from hmis.signals.ears import DEFAULT_BASELINE, METHODS, EarsError, ears_c, first_evaluated

INPUT_COLUMNS = ("area", "period", "count")
OUTPUT_COLUMNS = ("area", "period", "count", "expected", "sd", "upper_bound", "alarm")
_MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$")


class SignalsUsageError(Exception):
    """A mistake in the call or the input file; shown as one line without a traceback."""


def register(subparsers) -> None:
    """Add the ``signals`` subcommand to the ``hmis`` command's subparsers."""
    parser = subparsers.add_parser(
        "signals",
        help="run EARS C1/C2/C3 on a series CSV (area, period, count)",
        description="Detect aberrations in count series with the CDC EARS methods, as R's surveillance::earsC.",
    )
    parser.add_argument("--method", choices=METHODS, default="C1", help="EARS method (default C1)")
    parser.add_argument("--input", required=True, help="CSV with columns area, period, count ('-' for stdin)")
    parser.add_argument("--output", required=True, help="CSV to write ('-' for stdout)")
    parser.add_argument("--baseline", type=int, default=DEFAULT_BASELINE,
                        help=f"periods in the baseline (default {DEFAULT_BASELINE}, at least 3)")
    parser.add_argument("--alpha", type=float, default=None,
                        help="false-alarm probability (default 0.001 for C1 and C2, 0.025 for C3)")
    parser.add_argument("--min-sigma", type=float, default=0.0, help="floor for the standard deviation (default 0)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Carry out ``hmis signals``; return the exit code (2 after a one-line error on stderr)."""
    try:
        text = _read_input(args.input)
        series = parse_series(text)
        rows, skipped = evaluate(series, args.method, args.baseline, args.alpha, args.min_sigma)
        _write_output(args.output, rows)
    except (SignalsUsageError, EarsError) as exc:
        print(f"hmis signals: {exc}", file=sys.stderr)
        return 2
    for area, length in skipped:
        print(f"hmis signals: area {area!r} has {length} period(s), too few for {args.method}; skipped",
              file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """The subcommand on its own: ``python -m hmis.cli.signals signals --input ...``."""
    parser = argparse.ArgumentParser(prog="hmis")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


# ------------------------------------------------------------------------------ input


def _read_input(name: str) -> str:
    if name == "-":
        return sys.stdin.read()
    path = Path(name)
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise SignalsUsageError(f"input file {name} does not exist") from None
    except IsADirectoryError:
        raise SignalsUsageError(f"input {name} is a folder, not a CSV file") from None
    except UnicodeDecodeError:
        raise SignalsUsageError(f"input file {name} is not UTF-8 text") from None
    except OSError as exc:
        raise SignalsUsageError(f"cannot read {name}: {exc.strerror}") from None


def period_index(period: str) -> tuple[str, int]:
    """(``month`` or ``week``, a number that grows by one per period) for a period label."""
    month = _MONTH_RE.match(period)
    if month:
        return "month", int(month.group(1)) * 12 + int(month.group(2)) - 1
    week = _WEEK_RE.match(period)
    if week:
        year, number = int(week.group(1)), int(week.group(2))
        try:
            monday = date.fromisocalendar(year, number, 1)
        except ValueError:
            raise SignalsUsageError(f"period {period!r}: ISO year {year} has no week {number}") from None
        return "week", monday.toordinal() // 7
    raise SignalsUsageError(f"period {period!r} is neither YYYY-MM (e.g. 2026-10) nor an ISO week YYYY-Www (e.g. 2026-W07)")


def period_label(kind: str, index: int) -> str:
    if kind == "month":
        return f"{index // 12:04d}-{index % 12 + 1:02d}"
    year, week, _ = date.fromordinal(index * 7 + 1).isocalendar()  # ordinal*7+1 is a Monday
    return f"{year:04d}-W{week:02d}"


def parse_series(text: str) -> dict[str, tuple[str, list[str], np.ndarray]]:
    """Areas in file order, each as (kind, every period from first to last, counts with NaN gaps)."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        raise SignalsUsageError("the input file is empty; expected a header: area,period,count")
    columns = [column.strip().lower() for column in header]
    missing = [column for column in INPUT_COLUMNS if column not in columns]
    if missing:
        raise SignalsUsageError(f"the input lacks column(s) {', '.join(missing)}; expected area,period,count")
    at = {column: columns.index(column) for column in INPUT_COLUMNS}
    found: dict[str, dict[int, float]] = {}
    kinds: dict[str, str] = {}
    for line, record in enumerate(reader, start=2):
        if not any(cell.strip() for cell in record):
            continue
        if len(record) < len(columns):
            raise SignalsUsageError(f"line {line} has {len(record)} field(s); expected {len(columns)}")
        area, period, raw = (record[at[column]].strip() for column in INPUT_COLUMNS)
        if not area:
            raise SignalsUsageError(f"line {line}: the area is empty")
        kind, index = period_index(period)
        if kinds.setdefault(area, kind) != kind:
            raise SignalsUsageError(f"line {line}: area {area!r} mixes months and ISO weeks")
        value = _count(raw, line)
        series = found.setdefault(area, {})
        if index in series:
            raise SignalsUsageError(f"line {line}: area {area!r} has period {period} twice")
        series[index] = value
    if not found:
        raise SignalsUsageError("the input has a header but no rows")
    result = {}
    for area, series in found.items():
        first, last = min(series), max(series)
        indexes = range(first, last + 1)
        result[area] = (
            kinds[area],
            [period_label(kinds[area], index) for index in indexes],
            np.array([series.get(index, math.nan) for index in indexes], dtype=float),
        )
    return result


def _count(raw: str, line: int) -> float:
    if raw == "" or raw.upper() == "NA":
        return math.nan
    try:
        value = float(raw)
    except ValueError:
        raise SignalsUsageError(f"line {line}: count {raw!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise SignalsUsageError(f"line {line}: count {raw!r} must be a number of 0 or more")
    return value


# ------------------------------------------------------------------------------ evaluation and output


def evaluate(series: dict, method: str, baseline: int, alpha: float | None, min_sigma: float):
    """Output rows for every area long enough for ``method``, and (area, length) of those skipped."""
    if baseline < 3:
        raise SignalsUsageError(f"--baseline must be at least 3, not {baseline}")
    if alpha is not None and not 0 < alpha < 1:
        raise SignalsUsageError(f"--alpha must be between 0 and 1, not {alpha}")
    if min_sigma < 0 or not math.isfinite(min_sigma):
        raise SignalsUsageError(f"--min-sigma must be 0 or more, not {min_sigma}")
    needed = first_evaluated(method, baseline) + 1
    rows, skipped = [], []
    for area, (_kind, periods, counts) in series.items():
        if len(counts) < needed:
            skipped.append((area, len(counts)))
            continue
        result = ears_c(counts, method, baseline, alpha, min_sigma)
        for record in result.itertuples(index=False):
            rows.append([
                area, periods[record.position], _number(record.observed), _number(record.expected),
                _number(record.sd), _number(record.upper_bound), _flag(record.alarm),
            ])
    if not rows:
        raise SignalsUsageError(
            f"no area has the {needed} consecutive periods {method} needs with a baseline of {baseline}"
        )
    return rows, skipped


def _flag(alarm) -> str:
    if alarm is None or alarm is pd.NA:
        return ""
    return "true" if alarm else "false"


def _number(value: float) -> str:
    if value is None or math.isnan(value):
        return ""
    if math.isinf(value):
        return "Inf" if value > 0 else "-Inf"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def _write_output(name: str, rows: list[list[str]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(OUTPUT_COLUMNS)
    writer.writerows(rows)
    if name == "-":
        sys.stdout.write(buffer.getvalue())
        return
    try:
        Path(name).write_text(buffer.getvalue(), encoding="utf-8")
    except OSError as exc:
        raise SignalsUsageError(f"cannot write {name}: {exc.strerror}") from None


if __name__ == "__main__":
    raise SystemExit(main())
