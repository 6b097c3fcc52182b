"""What the same rows cost without the pipeline: raw COPY, ``to_sql``, GX per facility.

All three run on the files the pipeline loaded in the same benchmark run, so the ratios
compare like with like: the same lines, in their formats' layouts (four columns, and a fifth,
``sub_item``, in the files of formats with stock items). ``to_sql`` and per-facility Great
Expectations are too slow to run on every row at state or national scale; they run on a
sample and the total is extrapolated linearly, which the result says (``extrapolated: true``).

A raw COPY cannot tell a count from a status, so it puts every value as sent into the facts'
text column ``value_text`` (the load turns counts into ``value``, a bigint) and the sub-item,
where the file has one, into ``disaggregation``.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd
from psycopg2 import sql

from hmis.ingest.parse import parse_submission
from hmis.quality.runner import SuiteRunner, validate_batch
from hmis.reference.registry import read_registry

SQL_DIR = Path(__file__).resolve().parent / "sql"
# The file's columns -> the facts' columns they are copied into.
COPY_COLUMNS = {
    b"facility_id,period,item_code,value": ("facility_id", "period", "item_code", "value_text"),
    b"facility_id,period,item_code,value,sub_item": ("facility_id", "period", "item_code", "value_text",
                                                     "disaggregation"),
}


@dataclass
class Baseline:
    """One way of doing the work, measured on ``sample_rows`` and scaled to ``rows``."""

    name: str
    seconds: float  # for all rows (extrapolated when extrapolated is true)
    rows: int
    files: int
    measured_seconds: float
    sample_rows: int
    sample_files: int
    extrapolated: bool
    note: str = ""

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict:
        return {**asdict(self), "rows_per_second": self.rows_per_second}


def create_tables(conn) -> None:
    """(Re)create the ``bench`` schema and its target tables."""
    with conn, conn.cursor() as cur:
        cur.execute((SQL_DIR / "baseline_tables.sql").read_text(encoding="utf-8"))


class _FileBodies:
    """A read-only stream of the data lines of many CSV files, headers dropped, read lazily
    so COPY never needs the whole month in memory."""

    def __init__(self, paths: list[Path], header: bytes):
        self._paths = iter(paths)
        self._header = header
        self._buffer = b""
        self.rows = 0

    def _next_body(self) -> bool:
        path = next(self._paths, None)
        if path is None:
            return False
        data = path.read_bytes()
        end = data.index(b"\n")
        if data[:end] != self._header:
            raise ValueError(f"{path}: header {data[:end]!r}, expected {self._header!r}")
        body = data[end + 1 :]
        self.rows += body.count(b"\n")
        self._buffer += body
        return True

    def read(self, size: int = -1) -> bytes:
        while (size < 0 or len(self._buffer) < size) and self._next_body():
            pass
        if size < 0:
            size = len(self._buffer)
        chunk, self._buffer = self._buffer[:size], self._buffer[size:]
        return chunk

    def readline(self, size: int = -1) -> bytes:  # psycopg2 only calls read(); kept for file-likeness
        return self.read(size)


def _header(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.readline().rstrip(b"\r\n")


def group_by_layout(paths: list[Path]) -> dict[bytes, list[Path]]:
    """The files by header line (their layout), each group in the given order."""
    groups: dict[bytes, list[Path]] = {}
    for path in paths:
        header = _header(path)
        if header not in COPY_COLUMNS:
            raise ValueError(f"{path}: header {header!r} is not one the baselines copy")
        groups.setdefault(header, []).append(path)
    return groups


def raw_copy(conn, paths: list[Path], table: str) -> Baseline:
    """COPY the data lines of ``paths`` straight into ``bench.<table>``, reading the files:
    one COPY per layout (four columns; five with the sub-item), in one transaction. An
    empty sub-item (every item but the stock ones) is copied as '' (``FORCE_NOT_NULL``)."""
    groups = group_by_layout(paths)  # reads only the header lines, before the clock starts
    rows = 0
    started = time.perf_counter()
    with conn, conn.cursor() as cur:
        for header, group in groups.items():
            columns = COPY_COLUMNS[header]
            options = sql.SQL("FORMAT csv, FORCE_NOT_NULL (disaggregation)" if "disaggregation" in columns
                              else "FORMAT csv")
            statement = sql.SQL("COPY {} ({}) FROM STDIN WITH ({})").format(
                sql.Identifier("bench", table), sql.SQL(", ").join(map(sql.Identifier, columns)), options)
            stream = _FileBodies(group, header)
            cur.copy_expert(statement.as_string(cur), stream, size=1 << 20)
            rows += stream.rows
    seconds = time.perf_counter() - started
    note = ("same columns as facts, no keys or indexes" if table == "copy_plain"
            else "a table identical to facts (key, checks)")
    return Baseline(f"raw COPY into bench.{table}", seconds, rows, len(paths), seconds, rows,
                    len(paths), False, note + f"; {len(groups)} layout(s), values as text")


def _read_frames(paths: list[Path]) -> pd.DataFrame:
    """The files as one frame of the columns the baseline tables have (values as text)."""
    frames = [pd.read_csv(path, dtype=str, keep_default_na=False) for path in paths]
    frame = pd.concat(frames, ignore_index=True)
    if "sub_item" not in frame:
        frame["sub_item"] = ""
    frame["sub_item"] = frame["sub_item"].fillna("")
    return frame.rename(columns={"value": "value_text", "sub_item": "disaggregation"})


def to_sql(server, paths: list[Path], total_rows: int, sample_rows: int) -> Baseline:
    """``DataFrame.to_sql`` through SQLAlchemy (default ``executemany``) into ``bench.to_sql``.

    Runs on the first files holding about ``sample_rows`` rows and extrapolates to
    ``total_rows`` linearly.
    """
    from sqlalchemy import URL, create_engine

    sample, rows = [], 0
    for path in paths:
        if rows >= sample_rows:
            break
        sample.append(path)
        rows += sum(1 for _ in path.open("rb")) - 1
    frame = _read_frames(sample)
    url = URL.create("postgresql+psycopg2", username="postgres", host="127.0.0.1", port=server.port,
                     database=server.database)
    engine = create_engine(url)
    try:
        started = time.perf_counter()
        frame.to_sql("to_sql", engine, schema="bench", if_exists="append", index=False, chunksize=10_000)
        measured = time.perf_counter() - started
    finally:
        engine.dispose()
    extrapolated = len(frame) < total_rows
    seconds = measured * total_rows / len(frame)
    return Baseline("DataFrame.to_sql (SQLAlchemy)", seconds, total_rows, len(paths), measured, len(frame),
                    len(sample), extrapolated, "default executemany, chunks of 10,000")


def gx_per_facility(conn, runner: SuiteRunner, paths: list[Path], total_files: int,
                    total_rows: int, sample_files: int, max_bytes: int) -> tuple[Baseline, Baseline]:
    """One validation (both suites of ``runner``) per file on ``sample_files`` files,
    extrapolated to ``total_files``; and, for reference, the same sample validated as one
    batch (the pipeline's way). No history: as in the month's first load. Each file is read
    in its facility's format, found from the registry as the pipeline finds it."""
    registry = read_registry(conn)

    def check(rows: pd.DataFrame, files: pd.DataFrame) -> None:
        validate_batch(runner, rows, files, registry)

    frames, files = [], []
    for file_id, path in enumerate(paths[:sample_files], start=1):
        frame = parse_submission(path.read_bytes(), "csv", max_bytes)
        frame.insert(0, "file_id", file_id)
        frames.append(frame)
        fid, period = path.stem.split("__")[0], path.parent.name
        files.append((file_id, fid, period))
    file_frame = pd.DataFrame(files, columns=["file_id", "key_facility_id", "key_period"])
    started = time.perf_counter()
    for frame, (file_id, _fid, _period) in zip(frames, files):
        check(frame, file_frame[file_frame["file_id"] == file_id])
    measured = time.perf_counter() - started
    sample_rows = sum(len(f) for f in frames)
    per_file = Baseline(
        "GX one validation per facility", measured * total_files / len(frames), total_rows, total_files,
        measured, sample_rows, len(frames), len(frames) < total_files,
        f"{measured / len(frames) * 1000:.0f} ms per file",
    )
    started = time.perf_counter()
    check(pd.concat(frames, ignore_index=True), file_frame)
    batched = time.perf_counter() - started
    one_batch = Baseline(
        "GX one validation for the same sample", batched, sample_rows, len(frames), batched, sample_rows,
        len(frames), False, f"per-file runs are {measured / batched:.0f}x slower on this sample",
    )
    return per_file, one_batch
