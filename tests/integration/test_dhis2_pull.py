"""The DHIS2 pull stage: facility-months land as their own submissions, once, with their arrival.

A real DHIS2 server cannot run on these machines: the client here is a stand-in that answers
with recorded ``dataValueSets`` responses (tests/fixtures/dhis2/api/). The HTTP client itself
(paging per org unit and period, retries, lastUpdated) is tested against a loopback server in
tests/unit/dhis2/test_client.py.
"""

import json
from datetime import datetime
from pathlib import Path

import pytest

from hmis.dhis2.client import Dhis2Pull, PulledChunk
from hmis.dhis2.readers import parse_json
from hmis.ingest.dhis2_pull import pull_dhis2
from hmis.ingest.parse import parse_records
from hmis.platform.landing import open_store
from hmis.platform.warehouse import connect, migrate
from hmis.platform.warehouse import fetch_all as rows
from hmis.reference.periods import REPORTING_TZ

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).parents[1] / "fixtures" / "dhis2"
FIRST = datetime(2026, 11, 4, 6, 0, tzinfo=REPORTING_TZ)


class RecordedDhis2:
    """Stand-in for :class:`hmis.dhis2.client.Dhis2Client`: recorded answers, calls kept."""

    def __init__(self, files: list[str]):
        self.files, self.calls = files, []

    def _pull(self, since=None) -> Dhis2Pull:
        chunks = []
        for name in self.files:
            body = (FIXTURES / "api" / name).read_bytes()
            unit, month = name.split("_")[0], name.split("_")[1][:6]
            chunks.append(PulledChunk(unit, f"{month[:4]}-{month[4:]}", False, since, body,
                                      parse_json(body, screen=False, allow_empty=True)))
        return Dhis2Pull(chunks=chunks, since=since)

    def pull(self, **kwargs):
        self.calls.append(("pull", kwargs))
        return self._pull()

    def pull_changed(self, **kwargs):
        self.calls.append(("pull_changed", kwargs))
        return self._pull(kwargs["since"])


@pytest.fixture
def configured(warehouse, landing, monkeypatch):
    monkeypatch.setenv("HMIS_DHIS2_DATA_SETS", "HMIS_SC_MONTHLY")
    monkeypatch.setenv("HMIS_DHIS2_ORG_UNITS", "dQhRFaX0HsR")
    conn = connect()
    migrate(conn)
    yield conn, open_store(str(landing)), (FIXTURES / "dhis2_org_units.csv").read_bytes()
    conn.close()


def test_pulled_facility_months_become_submissions_once(configured, landing):
    conn, store, org_units = configured
    client = RecordedDhis2(["Qw7eRt5YuI1_202610.json", "Pl9oKi8JuH7_202610.json"])
    first = pull_dhis2(conn, store, ["2026-10"], FIRST, "run-1", org_units, client)
    assert first["dhis2_versions_written"] == 2 and client.calls[0][0] == "pull"
    written = sorted(p.name for p in (landing / "submissions" / "2026-10").iterdir())
    assert written == ["HR-HIS-0101__dhis2-20261104T060000.json", "HR-HIS-0102__dhis2-20261104T060000.json"]
    # The written document reads back, its UIDs placed on the Sub-Centre format's own codes.
    records = parse_records((landing / "submissions" / "2026-10" / written[0]).read_bytes(), "json", 10**7,
                            "hmis2017_sc")
    assert records and {r[1] for r in records} == {"HR-HIS-0101"}
    # The next run asks only for what changed since the latest value it saw, and unchanged
    # facility-months write nothing.
    second = pull_dhis2(conn, store, ["2026-10"], datetime(2026, 11, 5, 6, 0, tzinfo=REPORTING_TZ), "run-2",
                        org_units, client)
    watermark = rows("SELECT high_watermark FROM ingest.dhis2_pull WHERE run_id = 'run-1'")[0][0]
    latest = max(value["lastUpdated"] for name in client.files
                 for value in json.loads((FIXTURES / "api" / name).read_text())["dataValues"])
    assert watermark == latest
    assert client.calls[1][0] == "pull_changed" and client.calls[1][1]["since"] == watermark
    assert second["dhis2_versions_written"] == 0
    assert rows("SELECT run_id, new_versions FROM ingest.dhis2_pull ORDER BY pull_id") == [("run-1", 2), ("run-2", 0)]
    # A backfill dated before the latest pull never asks the server.
    before = pull_dhis2(conn, store, ["2026-10"], datetime(2026, 11, 1, 6, 0, tzinfo=REPORTING_TZ), "run-0",
                        org_units, client)
    assert "before the latest pull" in before["dhis2"] and len(client.calls) == 2


def test_without_configuration_nothing_is_asked(warehouse, landing, monkeypatch):
    monkeypatch.delenv("HMIS_DHIS2_DATA_SETS", raising=False)
    conn = connect()
    migrate(conn)
    client = RecordedDhis2([])
    assert "not configured" in pull_dhis2(conn, open_store(str(landing)), ["2026-10"], FIRST, "r", None, client)["dhis2"]
    assert client.calls == []
    conn.close()
