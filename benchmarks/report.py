"""Targets, the printed table and the machine description of a benchmark run."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import psutil

GIB = 1024**3

# The targets. They are reported as met or missed, never asserted.
STATE_E2E_SECONDS = 60.0
NATIONAL_E2E_SECONDS = 15 * 60.0
NATIONAL_PEAK_RSS_GIB = 4.0
LOAD_VALIDATE_VS_COPY = 2.5
INCREMENTAL_SHARE = 0.05
NATIONAL_FACILITIES = 201_600  # benchmarks.generator.SCALES["national"], same type mix


def machine() -> dict:
    """nproc, memory and CPU model of this machine."""
    model = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / GIB, 1),
        "cpu_model": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
        # Other work on the machine slows every figure; the 1-minute load is kept to show it.
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def _fmt(value, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if value >= 1000:
            return f"{value:,.0f}"
        return f"{value:.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def step_table(title: str, steps: list[dict]) -> str:
    """A fixed-width table of measured steps."""
    header = f"{'step':<28}{'seconds':>10}{'rows':>13}{'rows/s':>13}{'files':>9}{'peak RSS MiB':>14}{'ΔRSS MiB':>10}  note"
    lines = [title, header, "-" * len(header)]
    for s in steps:
        lines.append(
            f"{s['name']:<28}{_fmt(s['seconds']):>10}{_fmt(s.get('rows')):>13}{_fmt(s.get('rows_per_second'), 0):>13}"
            f"{_fmt(s.get('files')):>9}{_fmt(s.get('peak_rss_mib'), 0):>14}{_fmt(s.get('rss_delta_mib'), 0):>10}"
            f"  {s.get('note', '')}"
        )
    return "\n".join(lines)


def baseline_table(baselines: list[dict]) -> str:
    header = f"{'baseline':<40}{'seconds':>10}{'rows':>13}{'rows/s':>13}  measured on"
    lines = ["side by side, same rows", header, "-" * len(header)]
    for b in baselines:
        measured = (f"{b['sample_rows']:,} rows / {b['sample_files']:,} files in {b['measured_seconds']:.2f} s"
                    + (" (EXTRAPOLATED)" if b["extrapolated"] else " (all rows)"))
        lines.append(f"{b['name']:<40}{_fmt(b['seconds']):>10}{_fmt(b['rows']):>13}{_fmt(b['rows_per_second'], 0):>13}"
                     f"  {measured}; {b.get('note', '')}")
    return "\n".join(lines)


def targets(scale: str, results: dict) -> list[dict]:
    """Each target with its measured figure and met / missed / n/a."""
    out = []
    e2e = results.get("e2e", {})
    seconds = e2e.get("seconds")
    rows = results["generated"]["rows"]

    def add(name, target, measured, met, note=""):
        out.append({"target": name, "goal": target, "measured": measured,
                    "status": "n/a" if met is None else ("met" if met else "MISSED"), "note": note})

    if seconds is not None and scale == "state":
        add("state month end to end", f"<= {STATE_E2E_SECONDS:.0f} s", f"{seconds:.1f} s",
            seconds <= STATE_E2E_SECONDS, "sum of the task functions of hmis.pipeline.monthly, one run")
    elif seconds is not None:
        add("state month end to end", f"<= {STATE_E2E_SECONDS:.0f} s", f"{seconds:.1f} s at {scale} scale", None,
            "measured at the state scale")
    if seconds is not None:
        peak = e2e.get("peak_rss_mib", 0) / 1024
        if scale == "national":
            add("national month end to end", f"<= {NATIONAL_E2E_SECONDS / 60:.0f} min, peak RSS <= 4 GiB",
                f"{seconds / 60:.1f} min, {peak:.2f} GiB",
                seconds <= NATIONAL_E2E_SECONDS and peak <= NATIONAL_PEAK_RSS_GIB)
        else:
            facilities = results["generated"]["facilities"]
            projected = seconds * NATIONAL_FACILITIES / facilities
            add("national month end to end", f"<= {NATIONAL_E2E_SECONDS / 60:.0f} min, peak RSS <= 4 GiB",
                f"~{projected / 60:.0f} min projected linearly from {scale} ({seconds:.1f} s for "
                f"{facilities:,} facilities, {rows:,} rows); peak RSS {peak:.2f} GiB here", None,
                "not run at national scale: projection only")
    ratios = results.get("ratios", {})
    ratio = ratios.get("load_validate_vs_keyed_copy")
    if ratio is not None:
        # The limit is COPY "into an identical table": the facts table's twin.
        add("load + validate vs raw COPY", f"<= {LOAD_VALIDATE_VS_COPY}x", f"{ratio:.1f}x",
            ratio <= LOAD_VALIDATE_VS_COPY,
            "validate_parsed + load_accepted over COPY into a table identical to facts; "
            f"{ratios['load_validate_vs_raw_copy']:.1f}x over COPY into a table without keys")
    dag = results.get("dag")
    if dag:
        add("Airflow task count independent of facilities", "same for 266 and 200,000",
            f"{dag['tasks']} tasks, {dag['mapped_tasks']} mapped", dag["mapped_tasks"] == 0,
            "parsed from dags/hmis_monthly.py; no dynamic mapping, so the count cannot grow")
    incremental = results.get("incremental")
    if incremental:
        add("incremental day (1 % new files)", f"<= {INCREMENTAL_SHARE:.0%} of a full run",
            f"{incremental['share_of_full']:.1%} ({incremental['seconds']:.1f} s vs {seconds:.1f} s)",
            incremental["share_of_full"] <= INCREMENTAL_SHARE)
    return out


def target_table(rows: list[dict]) -> str:
    header = f"{'target':<46}{'goal':<36}{'status':<8}measured"
    lines = ["targets", header, "-" * len(header)]
    for r in rows:
        lines.append(f"{r['target']:<46}{r['goal']:<36}{r['status']:<8}{r['measured']}"
                     + (f"  ({r['note']})" if r.get("note") else ""))
    return "\n".join(lines)
