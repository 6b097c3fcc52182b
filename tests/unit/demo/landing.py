"""Independent reading of the demo landing zone, shared by the demo tests.

Statuses and values are recomputed here from the files on disk (contents read with pandas,
submission moments from modification times), so the tests check the generator's truth
rather than read it back.
"""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

import pandas as pd

from hmis.reference.catalogue import item_codes
from hmis.reference.periods import REPORTING_TZ, due_at

AS_OF = datetime(2026, 11, 27, 6, 0, tzinfo=REPORTING_TZ)
EARLY_AS_OF = datetime(2026, 11, 3, 12, 0, tzinfo=REPORTING_TZ)
PERIODS = ["2026-08", "2026-09", "2026-10"]
BLOCKS = {"Hisar-I", "Hisar-II", "Adampur", "Agroha", "Barwala", "Uklana", "Narnaund", "Hansi-I", "Hansi-II"}
SUBMISSION_HEADER = ["facility_id", "period", "item_code", "value"]


def read_registry(root: Path) -> pd.DataFrame:
    return pd.read_csv(root / "registry" / "facilities.csv", dtype=str, keep_default_na=False)


def mtime(path: Path) -> datetime:
    seconds, remainder = divmod(path.stat().st_mtime_ns, 1_000_000_000)
    assert remainder == 0, f"{path} has a fractional modification time"
    return datetime.fromtimestamp(seconds, tz=REPORTING_TZ)


def inspect_file(path: Path, folder_period: str, facility_id: str) -> tuple[dict[str, int] | None, str | None]:
    """(values, None) for an acceptable file, else (None, what is wrong with it)."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None, "not_utf8"
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    if list(frame.columns) != SUBMISSION_HEADER:
        return None, "missing_value_column"
    if (frame["period"] != folder_period).any():
        return None, "period_mismatch"
    if (frame["facility_id"] != facility_id).any():
        return None, "facility_mismatch"
    if not frame["item_code"].isin(item_codes()).all():
        return None, "unknown_item"
    if frame["item_code"].duplicated().any():
        return None, "duplicate_item"
    if frame["value"].str.fullmatch(r"-[0-9]+").any():
        return None, "negative_value"
    if not frame["value"].str.fullmatch(r"[0-9]+").all():
        return None, "text_value"
    return dict(zip(frame["item_code"], frame["value"].astype(int))), None


def scan(root: Path, periods: list[str]) -> list[dict]:
    """Every submission file with its facility, moment, validity and values."""
    found = []
    for period in periods:
        for path in sorted((root / "submissions" / period).iterdir()):
            facility_id = path.stem.split("__")[0]
            values, problem = inspect_file(path, period, facility_id)
            found.append(
                {
                    "key": path.relative_to(root).as_posix(),
                    "path": path,
                    "facility_id": facility_id,
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


def consistency_problems(v: dict[str, int]) -> list[str]:
    """The relations between items that a clean report must respect."""
    problems = []

    def check(description: str, *codes: str, holds) -> None:
        if all(code in v for code in codes) and not holds():
            problems.append(description)

    live = lambda: v["4.1.1.a"] + v["4.1.1.b"]  # noqa: E731
    births = lambda: live() + v["4.1.3"]  # noqa: E731
    check("1.1.1 <= 1.1", "1.1", "1.1.1", holds=lambda: v["1.1.1"] <= v["1.1"])
    check("3.1 <= 2.2", "2.2", "3.1", holds=lambda: v["3.1"] <= v["2.2"])
    check("3.1.1 <= 3.1", "3.1", "3.1.1", holds=lambda: v["3.1.1"] <= v["3.1"])
    check("2.2.1 <= 2.2 - 3.1", "2.2", "2.2.1", "3.1", holds=lambda: v["2.2.1"] <= v["2.2"] - v["3.1"])
    check("births >= 2.2", "2.2", "4.1.1.a", "4.1.1.b", "4.1.3", holds=lambda: births() >= v["2.2"])
    check(
        "births close to deliveries",
        "4.1.1.a",
        "4.1.1.b",
        "4.1.3",
        holds=lambda: births() <= 1.05 * (v.get("2.2", 0) + v.get("2.1.1.a", 0)) + 2,
    )
    for dose in ("9.1.1", "9.1.6", "9.1.10", "4.4.1", "4.4.3", "4.1.2"):
        check(f"{dose} <= live births", dose, "4.1.1.a", "4.1.1.b", holds=lambda dose=dose: v[dose] <= live())
    check("4.4.2 <= 4.4.1", "4.4.1", "4.4.2", holds=lambda: v["4.4.2"] <= v["4.4.1"])
    check("Penta-3 <= 1.05 Penta-1", "9.1.3", "9.1.5", holds=lambda: v["9.1.5"] <= 1.05 * v["9.1.3"])
    check("Penta-2 <= 1.05 Penta-1", "9.1.3", "9.1.4", holds=lambda: v["9.1.4"] <= 1.05 * v["9.1.3"])
    check("MR-2 <= MR-1", "9.2.2", "9.4.1", holds=lambda: v["9.4.1"] <= v["9.2.2"])
    check(
        "fully immunised <= MR-1",
        "9.2.2",
        "9.2.5.a",
        "9.2.5.b",
        holds=lambda: v["9.2.5.a"] + v["9.2.5.b"] <= v["9.2.2"],
    )
    check("8.4 <= 2.2", "2.2", "8.4", holds=lambda: v["8.4"] <= v["2.2"])
    confirmed = sum(v.get(code, 0) for code in ("14.1.6", "14.1.7", "14.1.8"))
    check("confirmed fevers <= fever", "14.1.3", holds=lambda: confirmed <= v["14.1.3"])
    attendance = v.get("14.2.1", v.get("14.2.2", 0))
    diseases = sum(v.get(code, 0) for code in ("14.1.1", "14.1.2", "14.1.3", "14.1.4", "14.1.5", "14.1.9"))
    if diseases > attendance:
        problems.append("disease-wise counts <= attendance")
    return problems


def tree(root: Path) -> dict[str, tuple[bytes, int]]:
    return {
        path.relative_to(root).as_posix(): (path.read_bytes(), path.stat().st_mtime_ns)
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }
