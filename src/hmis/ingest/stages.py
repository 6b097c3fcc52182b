"""From the landing store to loaded facts: discover, parse, validate, load.

Each stage reads its input from the file ledger (``ingest.file``) by status and writes its
output back there, so every stage can be re-run on its own and a crash between stages
loses nothing: the next run continues from the ledger.

    discovered --parse--> parsed --validate--> accepted --load--> loaded
         \\                   \\-> rejected           \\-> superseded (an older version)
          \\-> rejected (unreadable; quarantined with the reason)
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Iterable
from datetime import datetime

import pandas as pd
from psycopg2 import sql
from psycopg2.extras import execute_values

from hmis.ingest.parse import SubmissionError, parse_records, staging_lines
from hmis.platform.landing import LandingStore
from hmis.platform.store_layout import KeyLayoutError, parse_key, period_prefix, quarantine_key
from hmis.platform.warehouse import copy_csv, csv_lines, statement
from hmis.quality.feedback import resolve_superseded, write_feedback
from hmis.quality.findings import BatchOutcome, Finding
from hmis.quality.items import file_formats
from hmis.quality.runner import SuiteRunner, history_periods, validate_batch
from hmis.reference.diseases import disease_elements
from hmis.reference.periods import is_period
from hmis.reference.registry import read_registry

log = logging.getLogger(__name__)
SQL = "ingest/stages.sql"  # this module's statements, by name


def _chunks(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --------------------------------------------------------------------------- discover


def discover(conn, store: LandingStore, periods: list[str], as_of: datetime, run_id: str) -> dict:
    """Record every new or changed file of the open periods in the ledger.

    A file counts as arrived when the store says it was last modified, and only files that
    arrived by ``as_of`` (the run's logical date) are taken, so a run for a past date sees
    what had arrived by then. Unchanged files (same key, size and time) are not re-read;
    changed ones are hashed, and content already in the ledger is not taken twice.
    """
    with conn.cursor() as cur:
        cur.execute(
            "SELECT key, sha256, size_bytes, modified_at FROM ingest.file WHERE period = ANY(%s)",
            (periods,),
        )
        known = cur.fetchall()
    seen_stat = {(key, size, modified) for key, _sha, size, modified in known}
    seen_content = {(key, sha) for key, sha, _size, _modified in known}
    new_rows, skipped_future, unchanged = [], 0, 0
    for period in periods:
        for obj in store.list(period_prefix(period)):
            if obj.key.endswith(".partial"):
                continue  # an upload still being written
            # A facility-month taken from a portal pull arrived with the pull, whenever the
            # file was written (store_layout); every other file when the store says.
            try:
                parsed = parse_key(obj.key)
            except KeyLayoutError:
                parsed = None
            arrived = parsed.pulled_at if parsed and parsed.pulled_at else obj.modified_at
            if arrived > as_of:
                skipped_future += 1
                continue
            if (obj.key, obj.size, obj.modified_at) in seen_stat:
                unchanged += 1
                continue
            try:
                if parsed is None:
                    raise KeyLayoutError(obj.key)
                facility_id, key_period = parsed.facility_id, parsed.period
                digest = hashlib.sha256(store.read(obj.key)).hexdigest()
            except KeyLayoutError:
                # Never read a key that does not follow the layout (it may climb out of the
                # store): the ledger identifies it by name, size and time instead, and the
                # parse stage rejects it with the reason.
                facility_id, key_period = None, period
                digest = "unread:" + hashlib.sha256(
                    f"{obj.key}|{obj.size}|{obj.modified_at.isoformat()}".encode()).hexdigest()
            if (obj.key, digest) in seen_content:
                unchanged += 1
                continue
            new_rows.append(
                (obj.key, digest, obj.size, obj.modified_at, arrived, facility_id,
                 key_period, "discovered", run_id, as_of)
            )
            seen_content.add((obj.key, digest))
    if new_rows:
        with conn, conn.cursor() as cur:
            execute_values(
                cur,
                statement(SQL, "record_discovered"),
                new_rows,
            )
    log.info("discovered %d new file(s); %d unchanged; %d not yet arrived as of %s",
             len(new_rows), unchanged, skipped_future, as_of.isoformat())
    return {"new_files": len(new_rows), "unchanged_files": unchanged, "not_yet_arrived": skipped_future}


# --------------------------------------------------------------------------- quarantine


def _quarantine(cur, store: LandingStore, file_id: int, key: str, reason: str, data: bytes | None,
                now: datetime) -> None:
    """Keep a copy of a rejected file and its reason beside it; the original stays put."""
    target = quarantine_key(key, file_id)
    try:
        if data is None:
            data = store.read(key)
        store.write(target, data)
    except Exception as exc:  # an unreadable key: keep the reason, which says why
        log.warning("could not copy %s to quarantine: %s", key, exc)
        reason = f"{reason} (the file itself could not be copied to quarantine)"
    store.write(target + ".reason.txt", (reason + "\n").encode("utf-8"))
    cur.execute(
        statement(SQL, "mark_rejected"),
        (reason, target, now, file_id),
    )


def _record_findings(cur, run_id: str, files: dict[int, tuple], findings: list[Finding], now: datetime) -> None:
    execute_values(
        cur,
        statement(SQL, "insert_findings"),
        [
            (run_id, f.file_id, files[f.file_id][1], files[f.file_id][2], f.expectation_id,
             f.severity, f.column, f.failed_rows, f.observed, f.expected, f.message, now,
             f.item_code, f.message_hi, f.suite)
            for f in findings
        ],
    )


# --------------------------------------------------------------------------- parse


def parse_discovered(conn, store: LandingStore, run_id: str, now: datetime, max_bytes: int,
                     batch_files: int) -> dict:
    """Parse every discovered file into ``ingest.staged_value``; quarantine unreadable ones."""
    with conn.cursor() as cur:
        cur.execute(statement(SQL, "files_to_parse"))
        pending = cur.fetchall()
    registry = read_registry(conn)
    facilities = {rec["facility_id"]: rec for rec in registry.to_dict("records")}
    # A DHIS2 document names items by UID: they are placed on the facility's own format.
    formats = file_formats(pd.DataFrame(
        [(file_id, facility_id, period) for file_id, _key, _size, facility_id, period in pending],
        columns=["file_id", "key_facility_id", "key_period"]), registry)
    parsed = rejected = rows_staged = 0
    for chunk in _chunks(pending, batch_files):
        with conn, conn.cursor() as cur:
            good = []
            for file_id, key, size, facility_id, period in chunk:
                data = None
                try:
                    layout = parse_key(key)
                    if size > max_bytes:
                        raise SubmissionError(
                            f"the file is {size:,} bytes, over the limit of {max_bytes:,}; "
                            "send one facility's month per file"
                        )
                    data = store.read(key)
                    fast = staging_lines(data, layout.extension, max_bytes, file_id)
                    if fast is None:
                        text, count = csv_lines((file_id, *rec) for rec in parse_records(
                            data, layout.extension, max_bytes, formats.get(file_id)))
                    else:
                        text, count = fast
                except (KeyLayoutError, SubmissionError) as exc:
                    reason = f"{key}: {exc}"
                    _quarantine(cur, store, file_id, key, reason, data, now)
                    finding = Finding(file_id, "file.readable", "blocking", None, 0, "", "", str(exc),
                                      message_hi=f"फ़ाइल पढ़ी नहीं जा सकी: {exc}", suite="parse")
                    _record_findings(cur, run_id, {file_id: (key, facility_id, period)}, [finding], now)
                    write_feedback(cur, store, file_id, key, facilities.get(facility_id, {"facility_id": facility_id}),
                                   period, [finding], "rejected", now)
                    rejected += 1
                    continue
                good.append((file_id, text, count))
            # One DELETE, one COPY and one UPDATE per batch rather than per file. The DELETE
            # clears rows a crashed earlier attempt may have staged for these files.
            ids = [file_id for file_id, _, _ in good]
            cur.execute("DELETE FROM ingest.staged_value WHERE file_id = ANY(%s)", (ids,))
            copy_csv(cur, "ingest.staged_value",
                     ["file_id", "row_no", "facility_id", "period", "item_code", "value_raw", "sub_item"],
                     "".join(text for _, text, _ in good))
            rows_staged += sum(count for _, _, count in good)
            if good:
                execute_values(
                    cur,
                    statement(SQL, "mark_parsed"),
                    [(file_id, count) for file_id, _, count in good],
                )
            parsed += len(good)
    return {"parsed_files": parsed, "unreadable_files": rejected, "rows_staged": rows_staged}


# --------------------------------------------------------------------------- validate


STAGED_TEXT = ("facility_id", "period", "item_code", "value_raw", "sub_item")


def _read_staged(conn, file_ids: list[int]) -> pd.DataFrame:
    """The staged rows of ``file_ids``, streamed out with COPY (much cheaper than fetching
    tuples). CSV cannot tell a missing cell from an empty one, so a bit mask per row says
    which text columns were NULL, and those become None again. COPY takes no bound
    parameters: the ids (integers) go in as quoted literals."""
    nulls = sql.SQL(" + ").join(
        sql.SQL("({} IS NULL)::int * {}").format(sql.Identifier(column), sql.Literal(1 << bit))
        for bit, column in enumerate(STAGED_TEXT))
    query = sql.SQL("COPY (SELECT file_id, row_no, {columns}, {nulls} AS nulls FROM ingest.staged_value"
                    " WHERE file_id = ANY({ids})) TO STDOUT WITH (FORMAT csv)").format(
        columns=sql.SQL(", ").join(map(sql.Identifier, STAGED_TEXT)), nulls=nulls,
        ids=sql.Literal(list(file_ids)))
    buffer = io.BytesIO()
    with conn.cursor() as cur:
        cur.copy_expert(query.as_string(cur), buffer)
    names = ["file_id", "row_no", *STAGED_TEXT, "nulls"]
    if not buffer.tell():
        return pd.DataFrame(columns=names[:-1])
    buffer.seek(0)
    frame = pd.read_csv(buffer, names=names, dtype={c: object for c in STAGED_TEXT},
                        keep_default_na=False, na_filter=False)
    for bit, column in enumerate(STAGED_TEXT):
        missing = (frame["nulls"].to_numpy() & (1 << bit)) != 0
        if missing.any():
            frame.loc[missing, column] = None
    return frame.drop(columns="nulls")


def summarise_findings(findings: list[Finding]) -> str:
    return "; ".join(f.message for f in findings)


def _read_history(conn, facility_ids: list[str], periods: list[str]) -> pd.DataFrame:
    """Accepted numeric values (by data element and disaggregation) of the batch's facilities
    over the months baselines need."""
    columns = ["facility_id", "period", "item_code", "disaggregation", "value"]
    valid = [p for p in periods if p and is_period(p)]
    if not valid or not facility_ids:
        return pd.DataFrame(columns=columns)
    low, high = history_periods(valid)
    with conn.cursor() as cur:
        cur.execute(
            statement(SQL, "accepted_history"),
            (facility_ids, low, high),
        )
        frame = pd.DataFrame(cur.fetchall(), columns=columns)
    frame["value"] = frame["value"].astype(float)
    return frame


def validate_parsed(conn, store: LandingStore, runner: SuiteRunner, run_id: str,
                    now: datetime, batch_files: int, data_docs: str | None = None) -> dict:
    """Validate parsed files batch by batch (one GX run per suite and batch), then settle
    each file: rejected ones are quarantined, accepted ones (with the format they follow)
    wait for the load stage, and every rejected or flagged file gets a feedback document."""
    registry = read_registry(conn)
    facilities = {rec["facility_id"]: rec for rec in registry.to_dict("records")}
    # Disease counts rise with epidemics: hmis.signals judges them, the outlier checks do not.
    exempt = frozenset(disease_elements())
    with conn.cursor() as cur:
        cur.execute("SELECT file_id, key, facility_id, period FROM ingest.file WHERE status = 'parsed' ORDER BY period, file_id")
        pending = cur.fetchall()
    accepted = rejected = warnings = batches = 0
    for chunk in _chunks(pending, batch_files):
        files = {row[0]: row[1:] for row in chunk}
        file_frame = pd.DataFrame(
            [(fid, fac, per) for fid, (_key, fac, per) in files.items()],
            columns=["file_id", "key_facility_id", "key_period"],
        )
        rows = _read_staged(conn, list(files))
        history = _read_history(conn, sorted({f for f in file_frame["key_facility_id"] if f}),
                                sorted({p for p in file_frame["key_period"] if p}))
        outcome: BatchOutcome = validate_batch(runner, rows, file_frame, registry, history, exempt)
        batches += 1
        blocking = outcome.blocking_by_file()
        flagged = outcome.warnings_by_file()
        with conn, conn.cursor() as cur:
            _record_findings(cur, run_id, files, outcome.findings, now)
            for record in outcome.validations:
                cur.execute(
                    statement(SQL, "insert_validation_run"),
                    (run_id, record["suite"], record["files"], record["rows"], record["expectations"],
                     record["failed"], record["success"], record["seconds"], data_docs, now),
                )
            settled: list[tuple[int, int, str | None, str]] = []  # accepted: file, warnings, reason, format
            for file_id, (key, facility_id, period) in files.items():
                facility = facilities.get(facility_id, {"facility_id": facility_id})
                if file_id in blocking:
                    problems = blocking[file_id] + flagged.get(file_id, [])
                    reason = f"{key}: {summarise_findings(blocking[file_id])}"
                    _quarantine(cur, store, file_id, key, reason, None, now)
                    cur.execute("DELETE FROM ingest.staged_value WHERE file_id = %s", (file_id,))
                    write_feedback(cur, store, file_id, key, facility, period, problems, "rejected", now)
                    rejected += 1
                    continue
                settled.append((file_id, len(flagged.get(file_id, [])),
                                summarise_findings(flagged[file_id]) if file_id in flagged else None,
                                outcome.formats[file_id]))
                accepted += 1
                if file_id in flagged:
                    warnings += 1
                    write_feedback(cur, store, file_id, key, facility, period, flagged[file_id], "flagged", now)
            # One statement for the batch's accepted files, not one round trip each.
            execute_values(
                cur,
                statement(SQL, "mark_accepted"),
                [(*row[:3], now, row[3]) for row in settled],
            )
            if outcome.completeness:
                execute_values(
                    cur,
                    statement(SQL, "insert_completeness"),
                    [c for c in outcome.completeness if c[0] not in blocking],
                )
            if outcome.flagged_rows:
                execute_values(
                    cur,
                    "UPDATE ingest.staged_value s SET flagged = true "
                    "FROM (VALUES %s) AS f(file_id, row_no) "
                    "WHERE s.file_id = f.file_id AND s.row_no = f.row_no",
                    sorted(outcome.flagged_rows),
                )
    runner.finish()
    return {"validated_batches": batches, "accepted_files": accepted, "rejected_files": rejected,
            "files_with_warnings": warnings}


# --------------------------------------------------------------------------- load


def load_accepted(conn, run_id: str, now: datetime) -> dict:
    """Make the newest accepted file of each facility-period its loaded values.

    For every facility-period with a newly accepted file, the newest file by submission
    time (among accepted and already loaded ones) wins: its rows replace the facility's
    values for that period, and every other version is marked superseded. The replaced
    values are kept (facts.superseded_value), and so are those of an accepted version that
    arrived before the winner but is read after it, and each version records when the next
    one arrived (``superseded_at``): the values as of any moment can be rebuilt. All of it,
    ledger included, happens in one transaction, so no reader and no crash ever sees a
    facility-period half replaced.
    """
    with conn, conn.cursor() as cur:
        # The staged rows and the ledger of a whole month arrive within one run, and the format
        # items are rewritten by each prepare, long before autovacuum sees any of them; planned
        # on stale statistics, the insert that places each row on its item took 147 s instead
        # of 7-8 for a state month, in one benchmark run out of two.
        cur.execute("ANALYZE ingest.staged_value, ingest.file, ref.format_item")
        cur.execute(
            statement(SQL, "rank_versions")
        )
        ranked = cur.fetchall()
        winners = [r[0] for r in ranked if r[4] == 1 and r[3] == "accepted"]
        losers = [r[0] for r in ranked if r[4] > 1]
        never_loaded = [r[0] for r in ranked if r[4] > 1 and r[3] == "accepted"]
        pairs = sorted({(r[1], r[2]) for r in ranked if r[4] == 1 and r[3] == "accepted"})
        if pairs:
            execute_values(cur, statement(SQL, "keep_replaced_values"), pairs)
            execute_values(
                cur,
                statement(SQL, "delete_replaced_values"),
                pairs,
            )
        insert = statement(SQL, "insert_values")
        cur.execute(sql.SQL(insert).format(target=sql.Identifier("facts", "monthly_value")), (now, winners))
        loaded_rows = cur.rowcount
        if never_loaded:
            cur.execute(sql.SQL(insert).format(target=sql.Identifier("facts", "superseded_value")),
                        (now, never_loaded))
        # Logical time in processed_at (the run's date); the clock in settled_at, for audits.
        cur.execute(
            "UPDATE ingest.file SET status = 'loaded', processed_at = %s, settled_at = clock_timestamp()"
            " WHERE file_id = ANY(%s)",
            (now, winners),
        )
        cur.execute(
            "UPDATE ingest.file SET status = 'superseded', processed_at = %s, settled_at = clock_timestamp()"
            " WHERE file_id = ANY(%s)",
            (now, losers),
        )
        touched_pairs = sorted({(r[1], r[2]) for r in ranked})
        if touched_pairs:
            execute_values(cur, statement(SQL, "date_versions"), touched_pairs)
        # Staged rows of settled files go. When no file is still between parse and load
        # (the usual end of a run) that is every row, and TRUNCATE drops them without
        # visiting each one; otherwise only these files' rows are deleted.
        cur.execute("SELECT EXISTS (SELECT 1 FROM ingest.file WHERE status IN ('discovered', 'parsed', 'accepted'))")
        if cur.fetchone()[0]:
            cur.execute("DELETE FROM ingest.staged_value WHERE file_id = ANY(%s)", (winners + losers,))
        else:
            cur.execute("TRUNCATE ingest.staged_value")
        resolved = resolve_superseded(
            cur, {(r[1], r[2]): r[0] for r in ranked if r[4] == 1 and r[3] == "accepted"}, now)
    return {"feedback_resolved": resolved, "loaded_files": len(winners), "superseded_files": len(losers), "rows_loaded": loaded_rows,
            "facility_periods_replaced": len(pairs)}
