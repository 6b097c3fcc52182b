"""Connections to the PostgreSQL warehouse, migrations, and small SQL helpers.

Every dynamic identifier goes through ``psycopg2.sql`` and every value is a bound
parameter. SQL that is longer than a line lives in ``sql/`` and is read by :func:`sql_file`.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import psycopg2
from psycopg2 import sql
from psycopg2.extensions import connection as Connection

from hmis.platform.connections import get_connection
from hmis.platform.settings import load_settings

WAREHOUSE_CONN_ID = "hmis_warehouse"
# Serialises migrations and whole pipeline runs across processes (see pipeline.run_lock).
MIGRATION_LOCK_KEY = 0x484D4953_0001


def connect(conn_id: str = WAREHOUSE_CONN_ID) -> Connection:
    """Open a connection described by the Airflow connection ``conn_id``."""
    info = get_connection(conn_id)
    return psycopg2.connect(
        host=info.host,
        port=info.port or 5432,
        user=info.login,
        password=info.password,
        dbname=info.schema or "postgres",
        application_name="hmis-pipeline",
        connect_timeout=10,
    )


@contextmanager
def transaction(conn_id: str = WAREHOUSE_CONN_ID) -> Iterator[Connection]:
    """A connection whose work is committed on success and rolled back on any error."""
    conn = connect(conn_id)
    try:
        with conn:
            yield conn
    finally:
        conn.close()


def fetch_all(statement, params=(), conn_id: str = WAREHOUSE_CONN_ID) -> list[tuple]:
    """Run one query on a fresh connection and return all its rows (for scripts and checks)."""
    conn = connect(conn_id)
    try:
        with conn.cursor() as cur:
            cur.execute(statement, params)
            return cur.fetchall()
    finally:
        conn.close()


def with_connection(fn):
    """``fn(conn)`` on a fresh warehouse connection, closed afterwards."""
    conn = connect()
    try:
        return fn(conn)
    finally:
        conn.close()


def with_migrated_connection(fn):
    """:func:`with_connection`, the migrations applied first (for the DAGs whose first task may
    run before the monthly DAG's prepare has migrated the warehouse)."""
    def work(conn):
        migrate(conn)
        return fn(conn)

    return with_connection(work)


def sql_file(relative: str) -> str:
    """Text of ``sql/<relative>`` from the project's SQL folder."""
    return (load_settings().sql_dir / relative).read_text(encoding="utf-8")


@functools.cache
def _named_statements(path: Path) -> dict[str, str]:
    statements: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("-- name: "):
            name = line.removeprefix("-- name: ").strip()
            if name in statements:
                raise ValueError(f"{path}: statement {name!r} is defined twice")
            current = statements[name] = []
        elif current is not None:
            current.append(line)
    return {name: "\n".join(lines).strip() for name, lines in statements.items()}


def statement(relative: str, name: str) -> str:
    """The statement headed ``-- name: <name>`` in ``sql/<relative>``.

    A stage's statements live together in one file, each under its name line, so the SQL is
    read as SQL (and reviewed as such) while the code refers to it by what it does.
    """
    statements = _named_statements(load_settings().sql_dir / relative)
    if name not in statements:
        raise KeyError(f"no statement {name!r} in sql/{relative}; it has: {', '.join(sorted(statements))}")
    return statements[name]


def migrate(conn: Connection, migrations_dir: Path | None = None) -> list[str]:
    """Apply the versioned migrations in ``sql/migrations`` in name order, once each.

    Returns the names applied by this call. A migration whose file changed after it was
    applied is an error: migrations are append-only.
    """
    folder = migrations_dir or load_settings().sql_dir / "migrations"
    applied: list[str] = []
    with conn:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_KEY,))
            cur.execute(
                """CREATE TABLE IF NOT EXISTS public.schema_migration (
                       version text PRIMARY KEY, sha256 text NOT NULL,
                       applied_at timestamptz NOT NULL DEFAULT now())"""
            )
            cur.execute("SELECT version, sha256 FROM public.schema_migration")
            done = dict(cur.fetchall())
            for path in sorted(folder.glob("*.sql")):
                text = path.read_text(encoding="utf-8")
                digest = hashlib.sha256(text.encode()).hexdigest()
                if path.name in done:
                    if done[path.name] != digest:
                        raise RuntimeError(
                            f"migration {path.name} changed after it was applied; "
                            "add a new migration file instead of editing an old one"
                        )
                    continue
                cur.execute(text)
                cur.execute(
                    "INSERT INTO public.schema_migration (version, sha256) VALUES (%s, %s)",
                    (path.name, digest),
                )
                applied.append(path.name)
    return applied


class _CopyNull(float):
    """Written by the csv module as a bare ``\\N``, which COPY reads as NULL."""

    def __str__(self) -> str:
        return "\\N"

    __repr__ = __str__


_NULL = _CopyNull()


def csv_lines(rows: Iterable[Sequence]) -> tuple[str, int]:
    """``rows`` as COPY-ready CSV text and their count.

    Every text value is quoted (QUOTE_NONNUMERIC) and only a missing value is written as a
    bare ``\\N``, so a submitted cell that happens to read ``\\N`` stays text and never
    turns into a database NULL.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
    count = 0
    for row in rows:
        writer.writerow([_NULL if value is None else value for value in row])
        count += 1
    return buffer.getvalue(), count


def copy_csv(cur, table: str, columns: Sequence[str], text: str) -> None:
    """COPY CSV ``text`` (as :func:`csv_lines` writes it: a bare ``\\N`` is NULL) into ``schema.table``."""
    if not text:
        return
    schema, name = table.split(".")
    statement = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv, NULL '\\N')").format(
        sql.Identifier(schema, name), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    cur.copy_expert(statement.as_string(cur), io.StringIO(text))


def copy_rows(cur, table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """COPY ``rows`` into ``schema.table`` through an in-memory CSV buffer (see :func:`csv_lines`)."""
    text, count = csv_lines(rows)
    copy_csv(cur, table, columns, text)
    return count


def query_csv(conn: Connection, statement: str, out) -> int:
    """Run a read-only statement and write the result as CSV with a header to ``out``."""
    with conn.cursor() as cur:
        cur.execute("SET TRANSACTION READ ONLY")
        cur.execute(statement)
        writer = csv.writer(out, lineterminator="\n")
        if cur.description is None:
            return 0
        writer.writerow([col.name for col in cur.description])
        rows = 0
        for row in cur:
            writer.writerow(row)
            rows += 1
    conn.rollback()
    return rows
