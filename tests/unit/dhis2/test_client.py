"""The DHIS2 Web API pull, against a loopback stand-in for a DHIS2 server.

A real DHIS2 server (a Java web application with its own PostgreSQL) cannot run on these
machines, so each test starts a small ``http.server`` on 127.0.0.1 (port 0, in a thread,
stopped by the test) that answers ``GET /api/dataValueSets`` with recorded-shape responses
from ``tests/fixtures/dhis2/api/`` — shaped after the DHIS2 Web API guide's examples — and
can be told to fail first (503, a stall past the client's timeout, 401). It checks what the
client sends (parameters, ``lastUpdated``, basic auth), not DHIS2's own behaviour.
"""

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from hmis.dhis2.client import Dhis2Client, Dhis2Error, base_url
from hmis.dhis2.mapping import load_mapping
from hmis.dhis2.readers import parse_json, translate
from hmis.platform.connections import ConnectionInfo

pytestmark = pytest.mark.unit

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "dhis2"
API = FIXTURES / "api"
DISTRICT = "dQhRFaX0HsR"
SC_1, SC_2 = "Qw7eRt5YuI1", "Pl9oKi8JuH7"


class FakeDhis2(ThreadingHTTPServer):
    """Answers from the recorded files; ``failures`` are answered first, one per request."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[dict] = []
        self.failures: list = []          # 503, 401, or "stall"
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):   # keep test output quiet
        pass

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # noqa: N802 - http.server's name
        server: FakeDhis2 = self.server
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        with server.lock:
            server.requests.append({"path": parts.path, "query": query,
                                    "authorization": self.headers.get("Authorization")})
            failure = server.failures.pop(0) if server.failures else None
        if failure == "stall":
            time.sleep(0.6)
            return self._send(200, b"{}")
        if failure is not None:
            return self._send(failure, json.dumps({"httpStatusCode": failure, "message": "Service unavailable"}).encode())
        if parts.path != "/api/dataValueSets":
            return self._send(404, b'{"message": "not found"}')
        if "dataSet" not in query:
            return self._send(409, json.dumps({"httpStatusCode": 409, "status": "ERROR",
                                               "message": "At least one valid data set must be specified"}).encode())
        name = f"{query['orgUnit'][0]}_{query['period'][0]}{'_changed' if 'lastUpdated' in query else ''}.json"
        path = API / name
        return self._send(200, path.read_bytes() if path.exists() else b'{"dataValues": []}')


@pytest.fixture
def server():
    fake = FakeDhis2()
    thread = threading.Thread(target=fake.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield fake
    fake.shutdown()
    fake.server_close()
    thread.join(timeout=5)


@pytest.fixture
def client(server, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_DHIS2_DEFAULT", json.dumps({
        "conn_type": "http", "host": "127.0.0.1", "port": server.server_address[1], "schema": "http",
        "login": "hmis-pull", "password": "s3cret-Pass", "extra": {"timeout": "0.3", "retries": "2"}}))
    slept: list[float] = []
    dhis2 = Dhis2Client.from_connection("dhis2_default", sleep=slept.append)
    dhis2.slept = slept
    return dhis2


def test_a_pull_asks_for_each_org_unit_and_period_with_the_connection_s_credentials(server, client):
    pulled = client.pull(data_sets=["HMIS_SC"], periods=["2026-09", "2026-10"], org_units=[DISTRICT])
    assert [(c.org_unit, c.period, len(c.value_set.values)) for c in pulled.chunks] == [
        (DISTRICT, "2026-09", 0), (DISTRICT, "2026-10", 5)]
    first = server.requests[0]
    assert first["path"] == "/api/dataValueSets"
    assert first["query"] == {"dataSet": ["HMIS_SC"], "period": ["202609"], "orgUnit": [DISTRICT], "children": ["true"]}
    assert first["authorization"] == "Basic " + base64.b64encode(b"hmis-pull:s3cret-Pass").decode()
    assert pulled.high_watermark == "2026-11-03T10:15:00.000"


def test_a_503_then_200_succeeds_after_a_backoff(server, client):
    server.failures = [503]
    pulled = client.pull(data_sets=["HMIS_SC"], periods=["2026-10"], org_units=[DISTRICT])
    assert len(pulled.values) == 5
    assert len(server.requests) == 2 and client.slept == [1.0]


def test_a_timeout_then_200_succeeds(server, client):
    server.failures = ["stall"]
    pulled = client.pull(data_sets=["HMIS_SC"], periods=["2026-10"], org_units=[DISTRICT])
    assert len(pulled.values) == 5 and client.slept == [1.0]


def test_a_server_that_stays_down_fails_after_the_retries(server, client):
    server.failures = [503, 502, 504]
    with pytest.raises(Dhis2Error, match=r"did not answer /api/dataValueSets after 3 attempt\(s\) \(last: HTTP 504\)"):
        client.pull(data_sets=["HMIS_SC"], periods=["2026-10"], org_units=[DISTRICT])
    assert client.slept == [1.0, 2.0]


def test_refused_credentials_fail_at_once_without_repeating_them(server, client):
    server.failures = [401]
    with pytest.raises(Dhis2Error, match="check the credentials of connection 'dhis2_default'") as caught:
        client.pull(data_sets=["HMIS_SC"], periods=["2026-10"], org_units=[DISTRICT])
    assert "s3cret" not in str(caught.value) and len(server.requests) == 1


def test_dhis2_s_own_refusal_is_passed_on(server, client):
    with pytest.raises(Dhis2Error, match="HTTP 409: At least one valid data set must be specified"):
        client.get("/api/dataValueSets", [("orgUnit", DISTRICT), ("period", "202610")])


def test_an_incremental_pull_sends_last_updated_then_pulls_each_touched_facility_month_whole(server, client):
    pulled = client.pull_changed(data_sets=["HMIS_SC"], periods=["2026-10"], org_units=[DISTRICT],
                                 since="2026-11-01T00:00:00")
    changed, *whole = server.requests
    assert changed["query"]["lastUpdated"] == ["2026-11-01T00:00:00"]
    assert changed["query"]["children"] == ["true"]
    assert [(r["query"]["orgUnit"], "lastUpdated" in r["query"], "children" in r["query"]) for r in whole] == [
        ([SC_1], False, False), ([SC_2], False, False)]
    assert [(c.org_unit, len(c.value_set.values)) for c in pulled.chunks] == [(SC_1, 3), (SC_2, 2)]
    assert pulled.high_watermark == "2026-11-03T10:15:00.000"

    mapping = load_mapping((FIXTURES / "dhis2_org_units.csv").read_bytes())
    documents = pulled.facility_months(mapping)
    assert sorted(documents) == [("HR-HIS-0101", "2026-10"), ("HR-HIS-0102", "2026-10")]
    records = translate(parse_json(documents[("HR-HIS-0101", "2026-10")]), mapping)
    assert [(r.org_unit, r.data_element, r.value) for r in records] == [
        ("HR-HIS-0101", "1.1", "12"), ("HR-HIS-0101", "4.1.1.a", "8"), ("HR-HIS-0101", "4.1.1.b", "6")]


def test_nothing_changed_keeps_the_watermark(server, client):
    pulled = client.pull_changed(data_sets=["HMIS_SC"], periods=["2026-09"], org_units=[DISTRICT],
                                 since="2026-11-01T00:00:00")
    assert pulled.chunks == [] and pulled.high_watermark == "2026-11-01T00:00:00"
    assert len(server.requests) == 1


@pytest.mark.parametrize("conn, expected", [
    (ConnectionInfo("d", "http", "127.0.0.1", 8080, schema="http"), "http://127.0.0.1:8080"),
    (ConnectionInfo("d", "http", "hmis.example.gov.in/dhis", 443, schema="https"), "https://hmis.example.gov.in:443/dhis"),
    (ConnectionInfo("d", "https", "hmis.example.gov.in"), "https://hmis.example.gov.in"),
    (ConnectionInfo("d", "http", "https://hmis.example.gov.in/dhis/"), "https://hmis.example.gov.in/dhis"),
])
def test_the_base_url_follows_airflow_s_http_connection(conn, expected):
    assert base_url(conn) == expected


def test_a_connection_without_a_host_is_explained():
    with pytest.raises(Dhis2Error, match="has no host"):
        base_url(ConnectionInfo("dhis2_default", "http"))


def test_a_personal_access_token_is_sent_as_dhis2_expects(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_DHIS2_DEFAULT", json.dumps({
        "conn_type": "http", "host": "https://hmis.example.gov.in", "extra": {"token": "d2pat_abc"}}))
    dhis2 = Dhis2Client.from_connection()
    assert dhis2.session.headers["Authorization"] == "ApiToken d2pat_abc"
    assert dhis2.session.auth is None and dhis2.base == "https://hmis.example.gov.in"
