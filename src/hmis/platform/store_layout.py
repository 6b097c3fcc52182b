"""Where a submission lives in the landing store, and what its key says about it.

Layout: ``submissions/<YYYY-MM>/<facility_id>[__<label>].<csv|json|xlsx>``. A facility may
send several files for one period (a correction, a revision); the label only keeps their
names apart, and the submission time decides which one is newest.

Reports pulled from the HMIS portal are kept as downloaded under
``portal/<YYYY-MM-DD>/<YYYYMMDDTHHMMSS>__<name>`` (the pull's moment, IST). Each
facility-month of a pull becomes ``submissions/<YYYY-MM>/<facility_id>__portal-<same moment>.csv``:
such a key carries its arrival time, because the facility-month arrived when the pull that
first held it was made, not when the file was written. A facility-month pulled from a DHIS2
server becomes ``<facility_id>__dhis2-<moment>.json`` the same way.

A key is never trusted: one that could climb out of the store (``..``, a backslash, an
absolute path) is refused before anything is read, and a quarantine copy's name keeps only
plain characters whatever the original key held.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from hmis.platform.landing import UnsafeKeyError, safe_key
from hmis.reference.periods import REPORTING_TZ, is_period

SUBMISSIONS_PREFIX = "submissions"
PORTAL_PREFIX = "portal"
PORTAL_LABEL = "portal-"
DHIS2_LABEL = "dhis2-"
# Labels whose time is the submission's arrival: a pulled facility-month arrived with its pull.
PULL_LABELS = (PORTAL_LABEL, DHIS2_LABEL)
_STAMP = "%Y%m%dT%H%M%S"
QUARANTINE_PREFIX = "quarantine"
REGISTRY_KEY = "registry/facilities.csv"
CONTACTS_KEY = "registry/contacts.csv"
SUPPORTED_EXTENSIONS = ("csv", "json", "xlsx", "xml")   # xml: DHIS2 ADX
# Compressed uploads are refused by name, before anything is read or inflated.
ARCHIVE_EXTENSIONS = ("zip", "gz", "tgz", "bz2", "xz", "7z", "rar", "tar", "zst")

_UNSAFE_CHARS_RE = re.compile(r"[^A-Za-z0-9._-]")
MAX_QUARANTINE_NAME = 120
_NAME_RE = re.compile(r"^(?P<facility>[A-Za-z0-9][A-Za-z0-9_-]*?)(?:__(?P<label>[A-Za-z0-9_-]+))?\.(?P<ext>[A-Za-z0-9]+)$")
_PORTAL_NAME_RE = re.compile(r"^(?P<stamp>\d{8}T\d{6})__(?P<name>[A-Za-z0-9._-]+)$")


class KeyLayoutError(ValueError):
    """A key that does not follow the submission layout."""


@dataclass(frozen=True)
class SubmissionKey:
    key: str
    period: str
    facility_id: str
    extension: str
    pulled_at: datetime | None = None   # a facility-month taken from a portal pull: its arrival


def period_prefix(period: str) -> str:
    return f"{SUBMISSIONS_PREFIX}/{period}/"


def parse_key(key: str) -> SubmissionKey:
    """Read period, facility and format from a key, or raise :class:`KeyLayoutError`."""
    try:
        safe_key(key)
    except UnsafeKeyError as exc:
        raise KeyLayoutError(str(exc)) from None
    parts = key.split("/")
    if len(parts) != 3 or parts[0] != SUBMISSIONS_PREFIX:
        raise KeyLayoutError(
            f"file {key!r} is not in a period folder; expected submissions/<YYYY-MM>/<facility_id>.csv"
        )
    _, period, name = parts
    if not is_period(period) or not period.isascii():
        raise KeyLayoutError(f"folder {period!r} of {key!r} is not a period in the form YYYY-MM")
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if suffix in ARCHIVE_EXTENSIONS:
        raise KeyLayoutError(
            f"file {name!r} is a compressed archive (.{suffix}); archives are never opened — "
            "upload the monthly report itself as .csv, .xlsx or DHIS2 .json"
        )
    if suffix == "xls":
        raise KeyLayoutError(
            f"file {name!r} is an old Excel 97-2003 workbook (.xls); save it as .xlsx or CSV UTF-8"
        )
    match = _NAME_RE.match(name)
    if not match:
        raise KeyLayoutError(
            f"file name {name!r} should be <facility_id>.csv (letters, digits, '-' and '_' only)"
        )
    extension = match.group("ext").lower()
    if extension not in SUPPORTED_EXTENSIONS:
        raise KeyLayoutError(
            f"file {name!r} has type .{extension}; send the monthly report as .csv, .xlsx, DHIS2 .json or ADX .xml"
        )
    label = match.group("label") or ""
    pulled_at = None
    pull = next((p for p in PULL_LABELS if label.startswith(p)), None)
    if pull:
        try:
            pulled_at = datetime.strptime(label.removeprefix(pull), _STAMP).replace(tzinfo=REPORTING_TZ)
        except ValueError:
            raise KeyLayoutError(f"file {name!r} is labelled as a {pull[:-1]} pull but its time is not "
                                 f"YYYYMMDDTHHMMSS") from None
    return SubmissionKey(key=key, period=period, facility_id=match.group("facility"), extension=extension,
                         pulled_at=pulled_at)


def portal_key(pulled_at: datetime, filename: str) -> str:
    """Where a downloaded portal report is kept: the pull's day and moment (IST), then the
    file's own name reduced to plain characters."""
    local = pulled_at.astimezone(REPORTING_TZ)
    name = _UNSAFE_CHARS_RE.sub("_", filename.rsplit("/", 1)[-1]).strip("._") or "report"
    while ".." in name:
        name = name.replace("..", "_")
    return f"{PORTAL_PREFIX}/{local:%Y-%m-%d}/{local.strftime(_STAMP)}__{name[-MAX_QUARANTINE_NAME:]}"


def parse_portal_key(key: str) -> tuple[datetime, str]:
    """(pull moment, file name) of a key :func:`portal_key` made, or :class:`KeyLayoutError`."""
    parts = key.split("/")
    match = _PORTAL_NAME_RE.match(parts[-1]) if len(parts) == 3 and parts[0] == PORTAL_PREFIX else None
    if not match:
        raise KeyLayoutError(f"{key!r} is not a portal pull; expected portal/<YYYY-MM-DD>/<YYYYMMDDTHHMMSS>__<name>")
    return datetime.strptime(match.group("stamp"), _STAMP).replace(tzinfo=REPORTING_TZ), match.group("name")


def pulled_submission_key(period: str, facility_id: str, pulled_at: datetime, label: str = PORTAL_LABEL,
                          extension: str = "csv") -> str:
    """The submission a facility-month of a pull (portal or DHIS2) becomes (see the module docstring)."""
    stamp = pulled_at.astimezone(REPORTING_TZ).strftime(_STAMP)
    return f"{period_prefix(period)}{facility_id}__{label}{stamp}.{extension}"


def quarantine_key(key: str, file_id: int) -> str:
    """Where a rejected file's copy is kept: always a plain key inside the quarantine folder,
    whatever the original key held; the file id keeps every version apart."""
    name = _UNSAFE_CHARS_RE.sub("_", key.rsplit("/", 1)[-1])
    while ".." in name:
        name = name.replace("..", "_")
    name = name[-MAX_QUARANTINE_NAME:] or "file"
    parts = key.split("/")
    folder = parts[1] if len(parts) >= 3 and is_period(parts[1]) and parts[1].isascii() else "unsorted"
    return f"{QUARANTINE_PREFIX}/{folder}/{file_id}-{name}"
