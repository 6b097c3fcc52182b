"""Ultrasound line lists: check each scan's RCH ID, pseudonymise it, measure compliance.

A facility that offers ultrasound sends, for each month, a list of the scans it did on
pregnant women: ``ultrasound/<YYYY-MM>/<facility_id>[__<label>].csv`` in the landing store
with columns ``scan_date, rch_id, weeks_of_pregnancy, referral, pcpndt_reg_no``. Every
scan must carry the woman's 12-digit RCH (Reproductive and Child Health) ID.

Each row is checked against these expectations, in this order; the first it fails is its
``problem``, and a row with no problem counts as a scan with a valid RCH ID:

``rch.present``         the RCH ID is given;
``rch.twelve_digits``   it is exactly 12 digits;
``rch.not_placeholder`` it is not a placeholder: all zeros, one digit repeated, or a known
                        test value (:data:`KNOWN_TEST_VALUES`);
``scan_date.in_period`` the scan date is a YYYY-MM-DD date inside the list's month;
``rch.unique_in_day``   the same RCH ID does not appear earlier in the list on the same day.

Compliance per facility and month (``marts.ultrasound_compliance``, with the facility's
district from the registry, by which district readers see it): scans, scans with a valid RCH
ID and their share; a share below ``HMIS_ULTRASOUND_MIN_VALID_SHARE`` (default
0.9) sets ``below_threshold`` for the district officer.

Privacy: the RCH ID is replaced by a keyed HMAC-SHA256 pseudonym (hex) as soon as a row is
read, before anything is stored or logged. The checks run here in plain Python rather than
through Great Expectations because GX results echo the failing values, which would be the
raw IDs. Messages and stored reasons name expectations and line numbers, never values. The
key comes from ``HMIS_PSEUDONYM_KEY``, else the password of the Airflow connection
``hmis_pseudonym``; without either, production (``HMIS_ENV=production``) stops with an
error, and the embedded set-up creates a random key in ``<var>/secrets/pseudonym.key``
(mode 0600) on first use and keeps using it.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import logging
import os
import re
import secrets
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from hmis.platform.connections import get_connection
from hmis.platform.landing import LandingStore
from hmis.platform.settings import Settings, load_settings
from hmis.platform.warehouse import copy_rows
from hmis.reference.periods import is_period, period_end, period_start

log = logging.getLogger(__name__)

PREFIX = "ultrasound"
COLUMNS = ("scan_date", "rch_id", "weeks_of_pregnancy", "referral", "pcpndt_reg_no")
EXPECTATIONS = ("rch.present", "rch.twelve_digits", "rch.not_placeholder", "scan_date.in_period", "rch.unique_in_day")
KNOWN_TEST_VALUES = frozenset({"123456789012", "987654321098", "012345678901", "123412341234"})
KEY_ENV = "HMIS_PSEUDONYM_KEY"
KEY_CONN_ID = "hmis_pseudonym"
THRESHOLD_ENV = "HMIS_ULTRASOUND_MIN_VALID_SHARE"
DEFAULT_THRESHOLD = 0.9
SCAN_COLUMNS = ["facility_id", "period", "row_no", "scan_date", "rch_pseudonym", "weeks", "referral",
                "pcpndt_reg", "rch_valid", "problem", "source_key", "loaded_at"]

_NAME_RE = re.compile(r"^(?P<facility>[A-Za-z0-9][A-Za-z0-9_-]*?)(?:__[A-Za-z0-9_-]+)?\.csv$")
_DIGITS_RE = re.compile(r"^[0-9]{12}$")


class PseudonymKeyError(RuntimeError):
    """No pseudonymisation key is configured where one is required."""


class LineListError(ValueError):
    """A line list that cannot be read at all; the message names no person's data."""


# ------------------------------------------------------------------------------ key and pseudonym


def pseudonym_key(settings: Settings | None = None) -> bytes:
    """The HMAC key: environment, then the Airflow connection, then (embedded only) a local file."""
    settings = settings or load_settings()
    value = os.environ.get(KEY_ENV, "").strip()
    if value:
        return value.encode("utf-8")
    problem = f"neither {KEY_ENV} nor the Airflow connection {KEY_CONN_ID!r} (password) is set"
    try:

        password = (get_connection(KEY_CONN_ID).password or "").strip()
        if password:
            return password.encode("utf-8")
    except Exception as exc:  # a missing connection is normal in the embedded set-up
        if type(exc).__name__ != "AirflowNotFoundException":
            problem += f" (looking up the connection failed: {type(exc).__name__})"
    if settings.env == "production":
        raise PseudonymKeyError(
            f"cannot pseudonymise RCH IDs: {problem}. Set one of them; the key must never be in the repository."
        )
    return _local_key(settings.var_dir / "secrets" / "pseudonym.key")


def _local_key(path: Path) -> bytes:
    """Read the embedded key, creating it (mode 0600, random) on first use."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_hex(32) + "\n")
        log.info("created the embedded pseudonymisation key %s (mode 0600)", path)
    return path.read_text(encoding="utf-8").strip().encode("utf-8")


def pseudonymise(rch_id: str, key: bytes) -> str:
    """Keyed HMAC-SHA256 of the RCH ID (surrounding spaces removed), as 64 hex characters.

    The same ID and key always give the same pseudonym, so scans of one woman can be linked
    without her ID; another key gives unrelated pseudonyms.
    """
    return hmac.new(key, rch_id.strip().encode("utf-8"), hashlib.sha256).hexdigest()


# ------------------------------------------------------------------------------ checking one list


@dataclass(frozen=True)
class Scan:
    """One checked row; the raw RCH ID is gone, only its pseudonym is kept."""

    row_no: int
    scan_date: date | None
    rch_pseudonym: str | None
    weeks: int | None
    referral: str
    pcpndt_reg: str
    problem: str | None

    @property
    def rch_valid(self) -> bool:
        return self.problem is None


def rch_problem(rch_id: str) -> str | None:
    """The first RCH-ID expectation ``rch_id`` fails (see the module docstring), or None."""
    value = rch_id.strip()
    if not value:
        return "rch.present"
    if not _DIGITS_RE.match(value):
        return "rch.twelve_digits"
    if len(set(value)) == 1 or value in KNOWN_TEST_VALUES:
        return "rch.not_placeholder"
    return None


def _scan_date(text: str, period: str) -> tuple[date | None, bool]:
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        return None, False
    return day, period_start(period) <= day <= period_end(period)


def _weeks(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isdigit() and len(text) <= 3 else None


def check_line_list(data: bytes, period: str, key: bytes) -> list[Scan]:
    """Read, check and pseudonymise one line list; raises :class:`LineListError` if unreadable."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise LineListError("the file is not UTF-8 CSV text") from None
    reader = csv.reader(io.StringIO(text))
    header = [column.strip().lower() for column in next(reader, [])]
    missing = [column for column in COLUMNS if column not in header]
    if missing:
        raise LineListError(f"the header lacks column(s) {', '.join(missing)}")
    at = {column: header.index(column) for column in COLUMNS}
    scans: list[Scan] = []
    seen: set[tuple[str, date]] = set()
    for row_no, record in enumerate(reader, start=2):
        if not any(cell.strip() for cell in record):
            continue
        if len(record) < len(header):
            raise LineListError(f"line {row_no} has {len(record)} field(s); the header has {len(header)}")
        raw = record[at["rch_id"]]
        problem = rch_problem(raw)
        pseudonym = pseudonymise(raw, key) if raw.strip() else None
        day, inside = _scan_date(record[at["scan_date"]], period)
        if problem is None and not inside:
            problem = "scan_date.in_period"
        if problem is None:
            if (pseudonym, day) in seen:
                problem = "rch.unique_in_day"
            seen.add((pseudonym, day))
        scans.append(Scan(row_no, day, pseudonym, _weeks(record[at["weeks_of_pregnancy"]]),
                          record[at["referral"]].strip(), record[at["pcpndt_reg_no"]].strip(), problem))
    return scans


@dataclass(frozen=True)
class Compliance:
    scans: int
    valid: int
    threshold: float

    @property
    def share(self) -> float | None:
        return self.valid / self.scans if self.scans else None

    @property
    def below_threshold(self) -> bool:
        return self.share is None or self.share < self.threshold


def compliance(scans: list[Scan], threshold: float) -> Compliance:
    """Scans, scans with a valid RCH ID, and whether their share is below ``threshold``."""
    return Compliance(len(scans), sum(scan.rch_valid for scan in scans), threshold)


def threshold_from_env() -> float:
    value = float(os.environ.get(THRESHOLD_ENV, DEFAULT_THRESHOLD))
    if not 0 <= value <= 1:
        raise ValueError(f"{THRESHOLD_ENV} must be a share between 0 and 1, not {value}")
    return value


# ------------------------------------------------------------------------------ the pipeline step


def list_key(key: str) -> tuple[str, str] | None:
    """(period, facility_id) of ``ultrasound/<period>/<facility_id>[__label].csv``, else None."""
    parts = key.split("/")
    if len(parts) != 3 or parts[0] != PREFIX or not is_period(parts[1]):
        return None
    match = _NAME_RE.match(parts[2])
    return (parts[1], match.group("facility")) if match else None


def ingest(conn, store: LandingStore, periods: list[str], as_of: datetime, key: bytes,
           threshold: float) -> dict:
    """Check every facility's newest line list of ``periods`` that arrived by ``as_of``.

    For each facility and period the newest list replaces the stored scans and compliance
    row in one transaction, so re-running gives the same tables. Lists that cannot be read,
    or whose facility is not in the registry, are recorded in ``ultrasound.rejected_list``.
    """
    with conn.cursor() as cur:
        cur.execute("SELECT facility_id, district FROM ref.facility")
        known = dict(cur.fetchall())  # facility -> district, which the compliance row carries
    conn.rollback()
    newest: dict[tuple[str, str], object] = {}
    for period in periods:
        for obj in store.list(f"{PREFIX}/{period}/"):
            parsed = list_key(obj.key)
            if obj.key.endswith(".partial") or obj.modified_at > as_of:
                continue
            if parsed is None or parsed[0] != period:
                _reject(conn, obj.key, None, period, "the file name is not <facility_id>.csv", as_of)
                continue
            current = newest.get(parsed)
            if current is None or (obj.modified_at, obj.key) > (current.modified_at, current.key):
                newest[parsed] = obj
    counts = Counter()
    for (period, facility_id), obj in sorted(newest.items()):
        if facility_id not in known:
            _reject(conn, obj.key, facility_id, period, "the facility is not in the district registry", as_of)
            counts["rejected"] += 1
            continue
        try:
            scans = check_line_list(store.read(obj.key), period, key)
        except LineListError as exc:
            _reject(conn, obj.key, facility_id, period, str(exc), as_of)
            counts["rejected"] += 1
            continue
        result = compliance(scans, threshold)
        with conn, conn.cursor() as cur:
            cur.execute("DELETE FROM ultrasound.scan WHERE facility_id = %s AND period = %s", (facility_id, period))
            copy_rows(cur, "ultrasound.scan", SCAN_COLUMNS, (
                [facility_id, period, scan.row_no, scan.scan_date, scan.rch_pseudonym, scan.weeks, scan.referral,
                 scan.pcpndt_reg, scan.rch_valid, scan.problem, obj.key, as_of]
                for scan in scans))
            cur.execute("DELETE FROM ultrasound.rejected_list WHERE facility_id = %s AND period = %s",
                        (facility_id, period))
            cur.execute(
                """INSERT INTO marts.ultrasound_compliance (facility_id, district, period, scans,
                       scans_with_valid_rch, share_valid, threshold, below_threshold, built_at)
                   VALUES (%s, %s, %s, %s, %s, round(%s::numeric, 4), %s, %s, %s)
                   ON CONFLICT (facility_id, period) DO UPDATE SET district = EXCLUDED.district, scans = EXCLUDED.scans,
                       scans_with_valid_rch = EXCLUDED.scans_with_valid_rch, share_valid = EXCLUDED.share_valid,
                       threshold = EXCLUDED.threshold, below_threshold = EXCLUDED.below_threshold,
                       built_at = EXCLUDED.built_at""",
                (facility_id, known[facility_id], period, result.scans, result.valid, result.share, threshold,
                 result.below_threshold, as_of),
            )
        counts["lists"] += 1
        counts["scans"] += result.scans
        counts["valid"] += result.valid
        counts["below_threshold"] += int(result.below_threshold)
    log.info("ultrasound line lists for %s: %d checked, %d rejected, %d scans (%d with a valid RCH ID), "
             "%d facility-months below %.0f %%", ", ".join(periods), counts["lists"], counts["rejected"],
             counts["scans"], counts["valid"], counts["below_threshold"], threshold * 100)
    return {"ultrasound_lists": counts["lists"], "ultrasound_rejected": counts["rejected"],
            "ultrasound_scans": counts["scans"], "ultrasound_valid": counts["valid"],
            "ultrasound_below_threshold": counts["below_threshold"]}


def _reject(conn, key: str, facility_id: str | None, period: str, reason: str, as_of: datetime) -> None:
    log.warning("ultrasound list %s not used: %s", key, reason)
    with conn, conn.cursor() as cur:
        cur.execute(
            """INSERT INTO ultrasound.rejected_list (source_key, facility_id, period, reason, checked_at)
               VALUES (%s, %s, %s, %s, %s)
               ON CONFLICT (source_key) DO UPDATE SET reason = EXCLUDED.reason, checked_at = EXCLUDED.checked_at""",
            (key, facility_id, period, reason, as_of),
        )
