"""Pull data values from a DHIS2 server's Web API (``GET /api/dataValueSets``).

The server, its credentials and options come from an Airflow HTTP connection
(``dhis2_default`` unless told otherwise), resolved by :func:`hmis.platform.connections.get_connection`
— an ``AIRFLOW_CONN_DHIS2_DEFAULT`` variable first, then Airflow's own ``BaseHook`` from
``airflow.sdk`` — as every other connection of the project is. The connection's ``host``
may be a full URL (``https://hmis.example.gov.in/dhis``); otherwise ``schema`` (``http`` or
``https``, default ``http`` as Airflow's HTTP hook has it), host and port make the base URL.
``login`` and ``password`` are sent as HTTP basic auth, or ``extra.token`` as a DHIS2
personal access token (``Authorization: ApiToken …``). ``extra.timeout`` (seconds) and
``extra.retries`` override the defaults.

``dataValueSets`` is not paged by DHIS2, so a pull is *chunked*: one request per org unit and
period (``children=true`` takes a district's facilities with it). Each request is retried with
exponential backoff on a 5xx answer, a 429, a timeout or a dropped connection; any other
failure is raised at once as :class:`Dhis2Error` with what to check.

Incremental pulls use ``lastUpdated``: :meth:`Dhis2Client.pull_changed` first asks which
values changed since a moment, then pulls each touched facility-month whole (without
``lastUpdated``), because a month's submission must hold all its values, not only the
changed ones. The newest ``lastUpdated`` seen is the next pull's starting point.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from hmis.dhis2.mapping import Dhis2Mapping, load_mapping
from hmis.dhis2.readers import DataValue, DataValueSet, parse_json
from hmis.dhis2.writer import data_value_set_json, period_to_dhis2
from hmis.ingest.parse import SubmissionError
from hmis.platform.connections import ConnectionInfo, get_connection
from hmis.platform.retry import backoff_delays

log = logging.getLogger(__name__)

DEFAULT_CONN_ID = "dhis2_default"
DATA_VALUE_SETS = "/api/dataValueSets"
DEFAULT_TIMEOUT_SECONDS = 60.0
DEFAULT_RETRIES = 3
RETRY_BASE_SECONDS = 1.0
RETRY_CAP_SECONDS = 30.0
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class Dhis2Error(RuntimeError):
    """A DHIS2 request failed; the message says what to check (never the credentials)."""


@dataclass
class PulledChunk:
    org_unit: str
    period: str                       # YYYY-MM
    children: bool
    last_updated: str | None
    body: bytes                       # the response as the server sent it
    value_set: DataValueSet


@dataclass
class Dhis2Pull:
    chunks: list[PulledChunk] = field(default_factory=list)
    since: str | None = None

    @property
    def values(self) -> list[DataValue]:
        return [v for chunk in self.chunks for v in chunk.value_set.values]

    @property
    def high_watermark(self) -> str | None:
        """The newest ``lastUpdated`` among the pulled values (the next pull's ``since``), or
        ``since`` itself when nothing newer came back."""
        stamps = [v.last_updated for v in self.values if v.last_updated]
        if self.since:
            stamps.append(self.since)
        return max(stamps, key=_moment) if stamps else None

    def facility_months(self, mapping: Dhis2Mapping | None = None) -> dict[tuple[str, str], bytes]:
        """One ``dataValueSets`` JSON document per (facility id, YYYY-MM), for the landing
        store (``submissions/<YYYY-MM>/<facility_id>__dhis2-<stamp>.json``). The org unit is
        named by the facility code the mapping gives its UID, so the submission names the
        facility it is filed for, as any other does (the ingest checks that it does); data
        element and option combo ids stay as DHIS2 sent them. An org unit the mapping does
        not list keeps its DHIS2 id as the facility id (the ingest then reports it as unknown)."""
        mapping = mapping or load_mapping()
        grouped: dict[tuple[str, str], list[DataValue]] = {}
        for value in self.values:
            unit = mapping.org_unit(value.org_unit)
            facility = unit.code if unit and unit.scope == "facility" else value.org_unit
            grouped.setdefault((facility, value.period), []).append(replace(value, org_unit=facility))
        return {key: json.dumps(data_value_set_json(values), indent=1, ensure_ascii=False).encode("utf-8")
                for key, values in grouped.items()}


def _moment(stamp: str) -> datetime:
    """A DHIS2 timestamp (``2026-11-03T10:15:00.000``, with or without offset) for ordering."""
    try:
        parsed = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return datetime.min
    return parsed.replace(tzinfo=None) if parsed.tzinfo is None else parsed.astimezone().replace(tzinfo=None)


def base_url(conn: ConnectionInfo) -> str:
    """The DHIS2 base URL a connection names (no trailing slash)."""
    host = (conn.host or "").strip()
    if not host:
        raise Dhis2Error(f"connection {conn.conn_id!r} has no host; set it to the DHIS2 server, "
                         "e.g. https://hmis.example.gov.in/dhis")
    if "://" in host:
        return host.rstrip("/")
    scheme = conn.schema if conn.schema in ("http", "https") else ("https" if conn.conn_type == "https" else "http")
    name, slash, path = host.partition("/")
    port = f":{conn.port}" if conn.port else ""
    return f"{scheme}://{name}{port}{slash}{path}".rstrip("/")


def _param_time(value: date | datetime | str) -> str:
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


class Dhis2Client:
    """A small DHIS2 Web API client for ``dataValueSets``; see the module's description."""

    def __init__(self, base: str, *, login: str | None = None, password: str | None = None,
                 token: str | None = None, timeout: float = DEFAULT_TIMEOUT_SECONDS,
                 retries: int = DEFAULT_RETRIES, sleep: Callable[[float], None] = time.sleep,
                 session=None, conn_id: str = DEFAULT_CONN_ID) -> None:
        import requests  # the HTTP provider's dependency; only needed when pulling

        self.base = base.rstrip("/")
        self.timeout = timeout
        self.delays = backoff_delays(retries, RETRY_BASE_SECONDS, RETRY_CAP_SECONDS)
        self.sleep = sleep
        self.conn_id = conn_id
        self.session = session or requests.Session()
        self.session.headers["Accept"] = "application/json"
        if token:
            self.session.headers["Authorization"] = f"ApiToken {token}"
        elif login:
            self.session.auth = (login, password or "")
        self._requests = requests

    @classmethod
    def from_connection(cls, conn_id: str = DEFAULT_CONN_ID, **overrides) -> Dhis2Client:
        """A client for the server an Airflow HTTP connection names."""
        conn = get_connection(conn_id)
        extra = conn.extra or {}
        options = {"login": conn.login, "password": conn.password, "token": extra.get("token"), "conn_id": conn_id}
        if extra.get("timeout"):
            options["timeout"] = float(extra["timeout"])
        if extra.get("retries") not in (None, ""):
            options["retries"] = int(extra["retries"])
        options.update(overrides)
        return cls(base_url(conn), **options)

    # ------------------------------------------------------------------ one request

    def get(self, path: str, params: Sequence[tuple[str, str]]) -> bytes:
        """GET ``path`` with retries; the body of the first good answer."""
        url = f"{self.base}{path}"
        last = ""
        for attempt in range(len(self.delays) + 1):
            delay = self.delays[attempt] if attempt < len(self.delays) else None
            try:
                response = self.session.get(url, params=list(params), timeout=self.timeout, allow_redirects=False)
            except (self._requests.Timeout, self._requests.ConnectionError,
                    self._requests.exceptions.ChunkedEncodingError) as exc:
                last = f"{type(exc).__name__}"
                if delay is None:
                    break
                log.warning("DHIS2 %s: attempt %d failed (%s); retrying in %.1f s", path, attempt + 1, last, delay)
                self.sleep(delay)
                continue
            status = response.status_code
            if status in RETRY_STATUSES:
                last = f"HTTP {status}"
                if delay is None:
                    break
                retry_after = response.headers.get("Retry-After", "")
                if retry_after.isdigit():
                    delay = min(float(retry_after), RETRY_CAP_SECONDS)
                log.warning("DHIS2 %s: attempt %d answered %s; retrying in %.1f s", path, attempt + 1, last, delay)
                self.sleep(delay)
                continue
            if 300 <= status < 400:
                raise Dhis2Error(f"DHIS2 at {self.base} redirected {path} (HTTP {status}), as it does to its login "
                                 f"page when credentials are refused; check the login and password (or token) of "
                                 f"connection {self.conn_id!r}, and that its host includes DHIS2's context path")
            if status in (401, 403):
                raise Dhis2Error(f"DHIS2 at {self.base} refused {path} (HTTP {status}); check the credentials of "
                                 f"connection {self.conn_id!r} and that the user may read the data set and org units")
            if status >= 400:
                raise Dhis2Error(f"DHIS2 at {self.base} answered {path} with HTTP {status}: {_server_message(response)}")
            return response.content
        raise Dhis2Error(f"DHIS2 at {self.base} did not answer {path} after {len(self.delays) + 1} attempt(s) "
                         f"(last: {last}); is the server up? Airflow's task retries will try again later")

    def data_value_sets(self, *, data_sets: Iterable[str], periods: Iterable[str], org_units: Iterable[str],
                        children: bool = True, last_updated: date | datetime | str | None = None,
                        id_schemes: dict[str, str] | None = None) -> bytes:
        """One ``GET /api/dataValueSets`` (periods ``YYYY-MM`` or DHIS2's own)."""
        params = [("dataSet", d) for d in data_sets]
        params += [("period", period_to_dhis2(p)) for p in periods]
        params += [("orgUnit", o) for o in org_units]
        if children:
            params.append(("children", "true"))
        if last_updated is not None:
            params.append(("lastUpdated", _param_time(last_updated)))
        params += sorted((id_schemes or {}).items())
        if not any(k == "dataSet" for k, _ in params) or not any(k == "orgUnit" for k, _ in params):
            raise ValueError("a dataValueSets pull names at least one data set and one org unit")
        return self.get(DATA_VALUE_SETS, params)

    # ------------------------------------------------------------------ chunked pulls

    def pull(self, *, data_sets: Sequence[str], periods: Sequence[str], org_units: Sequence[str],
             children: bool = True, last_updated: date | datetime | str | None = None) -> Dhis2Pull:
        """Every (org unit, period) chunk, one request each, parsed (not screened: the
        ingest screens each facility-month as it reads it)."""
        since = _param_time(last_updated) if last_updated is not None else None
        result = Dhis2Pull(since=since)
        for org_unit in org_units:
            for period in periods:
                body = self.data_value_sets(data_sets=data_sets, periods=[period], org_units=[org_unit],
                                            children=children, last_updated=last_updated)
                try:
                    value_set = parse_json(body, screen=False, allow_empty=True)
                except SubmissionError as exc:
                    raise Dhis2Error(f"DHIS2 at {self.base} answered dataValueSets for {org_unit} {period} with "
                                     f"something that is not a dataValueSets document ({exc})") from None
                result.chunks.append(PulledChunk(org_unit, period, children, since, body, value_set))
        return result

    def pull_changed(self, *, data_sets: Sequence[str], periods: Sequence[str], org_units: Sequence[str],
                     since: date | datetime | str) -> Dhis2Pull:
        """The facility-months with a value changed since ``since``, each pulled whole."""
        changed = self.pull(data_sets=data_sets, periods=periods, org_units=org_units, children=True,
                            last_updated=since)
        touched = list(dict.fromkeys((v.org_unit, v.period) for v in changed.values))
        result = Dhis2Pull(since=changed.high_watermark)
        for org_unit, period in touched:
            whole = self.pull(data_sets=data_sets, periods=[period], org_units=[org_unit], children=False)
            result.chunks.extend(whole.chunks)
        return result


def _server_message(response) -> str:
    """DHIS2's own explanation of a refusal (its JSON ``message``), shortened."""
    try:
        text = str(response.json().get("message", ""))
    except (ValueError, AttributeError):
        text = response.text[:200] if response.text and not response.text.lstrip().startswith("<") else ""
    text = " ".join(text.split())
    return (text[:297] + "…") if len(text) > 300 else (text or "no explanation given")
