"""Timing and memory of one benchmark step: wall seconds, rows per second, peak RSS.

Peak RSS is sampled every 20 ms by a background thread with psutil, because
``getrusage``'s ``ru_maxrss`` only ever grows over the process's life and cannot show a
later, smaller stage's own peak. It is this Python process's memory; the PostgreSQL
server's own processes are not counted.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import psutil

MIB = 1024 * 1024


class _RssSampler(threading.Thread):
    def __init__(self, interval: float = 0.02):
        super().__init__(daemon=True)
        self.process = psutil.Process()
        self.interval = interval
        self.peak = self.process.memory_info().rss
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def finish(self) -> int:
        self._stop_event.set()
        self.join()
        return max(self.peak, self.process.memory_info().rss)


@dataclass
class Step:
    """One measured call."""

    name: str
    seconds: float
    rows: int | None
    files: int | None
    peak_rss_mib: float
    rss_delta_mib: float
    result: Any = None
    note: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def rows_per_second(self) -> float | None:
        if not self.rows or self.seconds <= 0:
            return None
        return self.rows / self.seconds

    def as_dict(self) -> dict:
        data = asdict(self)
        data["rows_per_second"] = self.rows_per_second
        data["result"] = _jsonable(self.result)
        return data


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)


def measure(name: str, fn: Callable[[], Any], rows: int | Callable[[Any], int] | None = None,
            files: int | Callable[[Any], int] | None = None, note: str = "",
            profile_to: list | None = None) -> Step:
    """Call ``fn()`` once and return its :class:`Step`.

    ``rows`` and ``files`` are counts, or functions of the call's result. With
    ``profile_to`` (a list), the call runs under cProfile and its statistics are appended.
    """
    sampler = _RssSampler()
    before = sampler.process.memory_info().rss
    sampler.start()
    profiler = cProfile.Profile() if profile_to is not None else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    try:
        result = fn()
    finally:
        if profiler:
            profiler.disable()
        seconds = time.perf_counter() - started
        peak = sampler.finish()
    if profiler:
        profile_to.append(profiler)
    row_count = rows(result) if callable(rows) else rows
    file_count = files(result) if callable(files) else files
    return Step(name=name, seconds=seconds, rows=row_count, files=file_count, peak_rss_mib=peak / MIB,
                rss_delta_mib=(peak - before) / MIB, result=result, note=note)


def profile_report(profiler: cProfile.Profile, limit: int = 35) -> str:
    """The top functions by cumulative and by own time, as text."""
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.strip_dirs()
    out.write("=== by cumulative time ===\n")
    stats.sort_stats("cumulative").print_stats(limit)
    out.write("\n=== by own time ===\n")
    stats.sort_stats("tottime").print_stats(limit)
    return out.getvalue()
