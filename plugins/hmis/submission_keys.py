"""Where a submission lives in the landing store, and what its key says about it.

Layout: ``submissions/<YYYY-MM>/<facility_id>[__<label>].<csv|json>``. A facility may send
several files for one period (a correction, a revision); the label only keeps their names
apart, and the submission time decides which one is newest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hmis.landing import UnsafeKeyError, safe_key
from hmis.periods import is_period

SUBMISSIONS_PREFIX = "submissions"
QUARANTINE_PREFIX = "quarantine"
REGISTRY_KEY = "registry/facilities.csv"
CONTACTS_KEY = "registry/contacts.csv"
SUPPORTED_EXTENSIONS = ("csv", "json")

_NAME_RE = re.compile(r"^(?P<facility>[A-Za-z0-9][A-Za-z0-9_-]*?)(?:__[A-Za-z0-9_-]+)?\.(?P<ext>[A-Za-z0-9]+)$")


class KeyLayoutError(ValueError):
    """A key that does not follow the submission layout."""


@dataclass(frozen=True)
class SubmissionKey:
    key: str
    period: str
    facility_id: str
    extension: str


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
    if not is_period(period):
        raise KeyLayoutError(f"folder {period!r} of {key!r} is not a period in the form YYYY-MM")
    match = _NAME_RE.match(name)
    if not match:
        raise KeyLayoutError(
            f"file name {name!r} should be <facility_id>.csv (letters, digits, '-' and '_' only)"
        )
    extension = match.group("ext").lower()
    if extension not in SUPPORTED_EXTENSIONS:
        raise KeyLayoutError(
            f"file {name!r} has type .{extension}; send the monthly report as .csv or DHIS2 .json"
        )
    return SubmissionKey(key=key, period=period, facility_id=match.group("facility"), extension=extension)


def quarantine_key(key: str, file_id: int) -> str:
    """Where a rejected file's copy is kept; the file id keeps every version apart."""
    name = key.rsplit("/", 1)[-1].replace("..", "_")
    folder = key.split("/")[1] if key.count("/") >= 2 and is_period(key.split("/")[1]) else "unsorted"
    return f"{QUARANTINE_PREFIX}/{folder}/{file_id}-{name}"
