"""Independent reading of the demo landing zone, shared by the demo tests.

Statuses and values are recomputed here from the files on disk (contents read with pandas
and placed on their data elements through the official catalogue, submission moments from
modification times), so the tests check the generator's truth rather than read it back.
Rules are judged with the pipeline's own functions (:mod:`hmis.quality.rules`), not the
demo's copy of them.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from hmis.platform.settings import project_root
from hmis.quality.rules import RULES_FILE, evaluate_consistency, evaluate_rule, load_rules
from hmis.reference.formats import STATUS_VALUES, STOCK_SUB_ITEMS, TOTAL, load_catalogue
from hmis.reference.periods import REPORTING_TZ, due_at, financial_year

AS_OF = datetime(2026, 11, 27, 6, 0, tzinfo=REPORTING_TZ)
EARLY_AS_OF = datetime(2026, 11, 3, 12, 0, tzinfo=REPORTING_TZ)
PERIODS = ["2026-08", "2026-09", "2026-10"]
# Hisar's blocks and their Local Government Directory codes (the LGD's list for district 63).
BLOCK_LGD = {
    "Adampur": "484",
    "Agroha": "485",
    "Barwala": "486",
    "Hansi-I": "487",
    "Hansi-II": "488",
    "Hisar-I": "489",
    "Hisar-II": "490",
    "Narnaund": "491",
    "Uklana": "492",
}
BLOCKS = set(BLOCK_LGD)
HEADER = ["facility_id", "period", "item_code", "value"]
HEADER_WITH_SUB_ITEM = [*HEADER, "sub_item"]
_PERCENTAGE = re.compile(r"(100(\.0{1,2})?|[0-9]{1,2}(\.[0-9]{1,2})?)")


def read_registry(root: Path) -> pd.DataFrame:
    return pd.read_csv(root / "registry" / "facilities.csv", dtype=str, keep_default_na=False)


def facility_types(root: Path) -> dict[str, str]:
    registry = read_registry(root)
    return dict(zip(registry["facility_id"], registry["facility_type"]))


def mtime(path: Path) -> datetime:
    seconds, remainder = divmod(path.stat().st_mtime_ns, 1_000_000_000)
    assert remainder == 0, f"{path} has a fractional modification time"
    return datetime.fromtimestamp(seconds, tz=REPORTING_TZ)


def _value(value_type: str, text: str) -> int | str | None:
    """The value as the pipeline keeps it, or None if it is not valid for its type."""
    if value_type in ("count", "stock"):
        return int(text) if re.fullmatch(r"[0-9]{1,9}", text) else None
    if value_type == "status":
        return text if text in STATUS_VALUES else None
    if value_type == "date":
        try:
            datetime.strptime(text, "%d/%m/%Y")
        except ValueError:
            return None
        return text
    if value_type == "percentage":
        return text if _PERCENTAGE.fullmatch(text) else None
    raise AssertionError(f"unknown value type {value_type}")


def inspect_file(path: Path, folder_period: str, facility_id: str, facility_type: str):
    """(values by (element, disaggregation), None) for an acceptable file, else (None, what is
    wrong with it), judged against the format the facility reports on that month."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None, "not_utf8"
    catalogue = load_catalogue()
    format_id = catalogue.format_for(facility_type, folder_period).format_id
    items = catalogue.expected_items(facility_type, folder_period)
    stock = any(item.value_type == "stock" for item in items)
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    if "value" not in frame.columns:
        return None, "missing_value_column"
    if list(frame.columns) != (HEADER_WITH_SUB_ITEM if stock else HEADER):
        return None, "wrong_header"
    if (frame["period"] != folder_period).any():
        return None, "period_mismatch"
    if (frame["facility_id"] != facility_id).any():
        return None, "facility_mismatch"
    sub_items = frame["sub_item"] if stock else pd.Series("", index=frame.index)
    values: dict[tuple[str, str], int | str] = {}
    for code, sub_item, text in zip(frame["item_code"], sub_items, frame["value"]):
        item = catalogue.item(format_id, code)
        if item is None:
            return None, "newer_format_item" if catalogue.item("hmis_newer", code) else "unknown_item"
        if (sub_item in STOCK_SUB_ITEMS) != (item.value_type == "stock"):
            return None, "wrong_sub_item"
        key = (item.element, sub_item or TOTAL)
        if key in values:
            return None, "duplicate_item"
        value = _value(item.value_type, text)
        if value is None:
            return None, "negative_value" if re.fullmatch(r"-[0-9]+", text) else "text_value"
        values[key] = value
    return values, None


def scan(root: Path, periods: Iterable[str]) -> list[dict]:
    """Every submission file with its facility, moment, validity and values."""
    types = facility_types(root)
    found = []
    for period in periods:
        for path in sorted((root / "submissions" / period).iterdir()):
            facility_id = path.stem.split("__")[0]
            values, problem = inspect_file(path, period, facility_id, types[facility_id])
            found.append(
                {
                    "key": path.relative_to(root).as_posix(),
                    "path": path,
                    "facility_id": facility_id,
                    "facility_type": types[facility_id],
                    "period": period,
                    "moment": mtime(path),
                    "values": values,
                    "problem": problem,
                }
            )
    return found


def recompute(root: Path, registered_ids: list[str], periods: list[str], as_of: datetime):
    """Status, first valid moment and latest valid values per (facility, period), from disk."""
    by_key: dict[tuple[str, str], list[dict]] = {}
    for entry in scan(root, periods):
        by_key.setdefault((entry["facility_id"], entry["period"]), []).append(entry)
    status, first_moment, values = {}, {}, {}
    for period in periods:
        for facility_id in registered_ids:
            key = (facility_id, period)
            files = sorted(by_key.get(key, []), key=lambda entry: entry["moment"])
            valid = [entry for entry in files if entry["problem"] is None]
            if valid:
                first_moment[key] = valid[0]["moment"]
                status[key] = "on_time" if valid[0]["moment"] <= due_at(period) else "late"
                values[key] = valid[-1]["values"]
            elif files:
                status[key] = "rejected"
            else:
                status[key] = "pending" if as_of <= due_at(period) else "missing"
    return status, first_moment, values


def counts_of(values: dict[tuple[str, str], int | str]) -> dict[str, int]:
    """The plain totals that are numbers: what the validation rules read."""
    return {element: value for (element, sub), value in values.items() if sub == TOTAL and isinstance(value, int)}


def pipeline_rule_failures(values: dict[tuple[str, str], dict]) -> dict[tuple[str, str], list[str]]:
    """Per (facility, period), the rules and checks the pipeline's own evaluator fails on the
    given values: a month alone, year-to-date rules on the sums of the facility's earlier
    periods of the same financial year among those given."""
    ruleset = load_rules(project_root() / "expectations" / RULES_FILE)
    keys = sorted(values, key=lambda key: (key[1], key[0]))
    month = pd.DataFrame([counts_of(values[key]) for key in keys], index=pd.MultiIndex.from_tuples(keys))
    rows = []
    for facility_id, period in keys:
        earlier = [
            key
            for key in keys
            if key[0] == facility_id and key[1] <= period and financial_year(key[1]) == financial_year(period)
        ]
        rows.append(month.loc[earlier].sum(axis=0, min_count=1))
    fytd = pd.DataFrame(rows, index=month.index)
    failed: dict[tuple[str, str], list[str]] = {}
    for rule in ruleset.rules:
        outcome, _, _ = evaluate_rule(rule, fytd if rule.period == "financial_year_to_date" else month)
        for key in outcome.index[outcome.eq(False)]:
            failed.setdefault(key, []).append(rule.id)
    for check in ruleset.consistency:
        outcome, _, _ = evaluate_consistency(check, month)
        for key in outcome.index[outcome.eq(False)]:
            failed.setdefault(key, []).append(check.id)
    return failed


def parse_date(text: str) -> date:
    return datetime.strptime(text, "%d/%m/%Y").date()


def tree(root: Path) -> dict[str, tuple[bytes, int]]:
    return {
        path.relative_to(root).as_posix(): (path.read_bytes(), path.stat().st_mtime_ns)
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }
