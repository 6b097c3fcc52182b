"""``hmis signals``: the EARS methods on any series file, and the signals the pipeline kept.

Input: a CSV with columns ``area, period, count`` and optionally ``completeness``; ``period`` is a month ``YYYY-MM`` or an ISO
week ``YYYY-Www`` (one kind per area); ``count`` is a number of cases, or empty for a period
without data. Each area is one series from its first to its last period; a period absent
from the file is missing, exactly like an empty count. Output: the same columns plus
``expected, sd, upper_bound, alarm`` for every period the method evaluates (from the 8th
period for C1, the 10th for C2, the 12th for C3 with the default baseline of 7); ``alarm``
is ``true``, ``false`` or empty where the method cannot judge (a missing value in the
window). The defaults are those of R's ``surveillance::earsC``; see
:mod:`hmis.signals.ears`.

Provisional months are never alarmed (:mod:`hmis.signals.completeness`). With a
``completeness`` column (``provisional`` or ``complete``; empty reads as complete: the file
says which periods are provisional), the output adds ``would_alarm`` (the method's verdict)
and ``completeness``, and ``alarm`` is ``false`` on every provisional period the method judged.

``hmis signals --warehouse [--district D] [--period YYYY-MM] [--method M]`` lists what the
pipeline kept in ``marts.disease_signals`` instead: every area, disease, period and method
with its month's class and its state in English and Hindi (``signal``, ``signal_hi``), a
provisional month's rise reading "rising, provisional: no alarm until the month is complete".

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

from hmis.signals.completeness import CLASSES, COMPLETE, PROVISIONAL
from hmis.signals.ears import DEFAULT_BASELINE, METHODS, EarsError, ears_c, first_evaluated

INPUT_COLUMNS = ("area", "period", "count")
OUTPUT_COLUMNS = ("area", "period", "count", "expected", "sd", "upper_bound", "alarm")
# Added when the input says which periods are provisional.
COMPLETENESS_COLUMNS = ("would_alarm", "completeness")
EXIT_USAGE = 2
EXIT_FAILURE = 1
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
    parser.add_argument("--method", choices=METHODS, default=None,
                        help="EARS method (default C1; with --warehouse, every method)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--input", help="CSV with columns area, period, count[, completeness] ('-' for stdin)")
    source.add_argument("--warehouse", action="store_true",
                        help="list the signals the pipeline kept (marts.disease_signals) instead")
    parser.add_argument("--district", help="with --warehouse: only this district")
    parser.add_argument("--period", help="with --warehouse: only this month (YYYY-MM)")
    parser.add_argument("--output", default="-", help="CSV to write ('-' for stdout, the default)")
    parser.add_argument("--baseline", type=int, default=DEFAULT_BASELINE,
                        help=f"periods in the baseline (default {DEFAULT_BASELINE}, at least 3)")
    parser.add_argument("--alpha", type=float, default=None,
                        help="false-alarm probability (default 0.001 for C1 and C2, 0.025 for C3)")
    parser.add_argument("--min-sigma", type=float, default=0.0, help="floor for the standard deviation (default 0)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Carry out ``hmis signals``; return the exit code (2 after a one-line error on stderr)."""
    if args.warehouse:
        return _run_listing(args)
    method = args.method or "C1"
    try:
        if args.district or args.period:
            raise SignalsUsageError("--district and --period go with --warehouse; a series file is judged whole")
        text = _read_input(args.input)
        series = parse_series(text)
        rows, skipped = evaluate(series, method, args.baseline, args.alpha, args.min_sigma)
        marked = any(classes is not None for *_, classes in series.values())
        columns = OUTPUT_COLUMNS + COMPLETENESS_COLUMNS if marked else OUTPUT_COLUMNS
        _write_output(args.output, [row if marked else row[:len(OUTPUT_COLUMNS)] for row in rows], columns)
    except (SignalsUsageError, EarsError) as exc:
        print(f"hmis signals: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for area, length in skipped:
        print(f"hmis signals: area {area!r} has {length} period(s), too few for {method}; skipped",
              file=sys.stderr)
    return 0


def _run_listing(args: argparse.Namespace) -> int:
    """``--warehouse``: the kept signals as CSV; provisional months marked, never alarmed."""
    import psycopg2
    import psycopg2.errors

    from hmis.platform.embedded import start_embedded_services
    from hmis.platform.settings import load_settings
    from hmis.platform.warehouse import connect
    from hmis.signals.listing import COLUMNS, read_listing

    try:
        if args.input is not None:
            raise SignalsUsageError("--input and --warehouse exclude each other")
        if args.period and not _MONTH_RE.match(args.period):
            raise SignalsUsageError(f"--period {args.period!r} is not a month YYYY-MM (e.g. 2026-11)")
        start_embedded_services(load_settings())
        conn = connect()
        try:
            listing = read_listing(conn, args.district, args.period, args.method)
        except psycopg2.errors.UndefinedTable:
            raise SignalsUsageError("the warehouse has no disease signals yet; run the hmis_signals DAG first") from None
        finally:
            conn.close()
        if not listing:
            raise SignalsUsageError("no disease signals match " + (", ".join(
                f"{name} {value}" for name, value in (("district", args.district), ("period", args.period),
                                                       ("method", args.method)) if value) or "at all"))
        _write_output(args.output, [[_cell(row[column]) for column in COLUMNS] for row in listing], COLUMNS)
    except SignalsUsageError as exc:
        print(f"hmis signals: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except psycopg2.OperationalError as exc:
        print(f"hmis signals: cannot reach the warehouse: {(str(exc).strip().splitlines() or [''])[0]}",
              file=sys.stderr)
        return EXIT_FAILURE
    return 0


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _number(value)
    return str(value)


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


def parse_series(text: str) -> dict[str, tuple[str, list[str], np.ndarray, list[str] | None]]:
    """Areas in file order, each as (kind, every period from first to last, counts with NaN gaps,
    each period's completeness class, or None when the file has no ``completeness`` column)."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        raise SignalsUsageError("the input file is empty; expected a header: area,period,count")
    columns = [column.strip().lower() for column in header]
    missing = [column for column in INPUT_COLUMNS if column not in columns]
    if missing:
        raise SignalsUsageError(f"the input lacks column(s) {', '.join(missing)}; expected area,period,count")
    at = {column: columns.index(column) for column in INPUT_COLUMNS}
    marked = "completeness" in columns
    found: dict[str, dict[int, float]] = {}
    classes: dict[str, dict[int, str]] = {}
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
        if marked:
            classes.setdefault(area, {})[index] = _completeness(record[columns.index("completeness")], line)
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
            # A period absent from the file has no count, so no verdict: its class does not matter.
            [classes[area].get(index, COMPLETE) for index in indexes] if marked else None,
        )
    return result


def _completeness(raw: str, line: int) -> str:
    value = raw.strip().lower()
    if value == "":
        return COMPLETE
    if value not in CLASSES:
        raise SignalsUsageError(f"line {line}: completeness {raw!r} must be provisional, complete or empty")
    return value


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
    """Output rows for every area long enough for ``method``, and (area, length) of those skipped.

    Each row has the columns of :data:`OUTPUT_COLUMNS` then :data:`COMPLETENESS_COLUMNS`.
    """
    if baseline < 3:
        raise SignalsUsageError(f"--baseline must be at least 3, not {baseline}")
    if alpha is not None and not 0 < alpha < 1:
        raise SignalsUsageError(f"--alpha must be between 0 and 1, not {alpha}")
    if min_sigma < 0 or not math.isfinite(min_sigma):
        raise SignalsUsageError(f"--min-sigma must be 0 or more, not {min_sigma}")
    needed = first_evaluated(method, baseline) + 1
    rows, skipped = [], []
    for area, (_kind, periods, counts, classes) in series.items():
        if len(counts) < needed:
            skipped.append((area, len(counts)))
            continue
        result = ears_c(counts, method, baseline, alpha, min_sigma)
        for record in result.itertuples(index=False):
            completeness = classes[record.position] if classes else COMPLETE
            alarm = record.alarm
            # A provisional period is judged, never alarmed (hmis.signals.completeness).
            if completeness == PROVISIONAL and alarm is not None and alarm is not pd.NA:
                alarm = False
            rows.append([
                area, periods[record.position], _number(record.observed), _number(record.expected),
                _number(record.sd), _number(record.upper_bound), _flag(alarm), _flag(record.alarm), completeness,
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


def _write_output(name: str, rows: list[list[str]], columns: Sequence[str] = OUTPUT_COLUMNS) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
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
