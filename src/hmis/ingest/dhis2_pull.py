"""Pull facility-months from a DHIS2 server's Web API into the landing store.

Where facilities report into a DHIS2 instance (the state's, or a private hospital chain's),
the run asks its Web API for the data values of the open periods that changed since the last
pull (``/api/dataValueSets`` with ``lastUpdated``, per data set and period, the district's org
units with their children; :class:`hmis.dhis2.client.Dhis2Client`, retried with backoff) and
then each touched facility-month whole. Each becomes the facility's own submission
``submissions/<month>/<facility>__dhis2-<moment>.json`` — arriving at the run's moment — which
the usual stages judge on its own, its ids placed through the id-scheme mapping. A
facility-month whose values did not change writes nothing.

Configured by the Airflow HTTP connection ``dhis2_default`` (host = the server's base URL,
login/password or ``extra.token``) and ``HMIS_DHIS2_DATA_SETS`` / ``HMIS_DHIS2_ORG_UNITS``
(comma-separated UIDs). Without data sets the stage does nothing. A backfill (a run dated
before the latest pull) never pulls: the server only knows the present.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime

from hmis.dhis2.client import DEFAULT_CONN_ID, Dhis2Client
from hmis.dhis2.mapping import load_mapping
from hmis.ingest.portal import EarlierVersions
from hmis.platform.landing import LandingStore
from hmis.platform.store_layout import DHIS2_LABEL, pulled_submission_key
from hmis.reference.periods import REPORTING_TZ

log = logging.getLogger(__name__)


def _listed(name: str) -> list[str]:
    return [part.strip() for part in os.environ.get(name, "").split(",") if part.strip()]


def pull_dhis2(conn, store: LandingStore, periods: list[str], as_of: datetime, run_id: str,
               org_units_csv: bytes | None = None, client: Dhis2Client | None = None) -> dict:
    data_sets, roots = _listed("HMIS_DHIS2_DATA_SETS"), _listed("HMIS_DHIS2_ORG_UNITS")
    if not data_sets or not roots:
        return {"dhis2": "not configured (HMIS_DHIS2_DATA_SETS, HMIS_DHIS2_ORG_UNITS)"}
    with conn.cursor() as cur:
        cur.execute("SELECT pulled_at, high_watermark FROM ingest.dhis2_pull ORDER BY pulled_at DESC LIMIT 1")
        last = cur.fetchone()
    if last and last[0] >= as_of:
        return {"dhis2": f"not pulled: a run dated {as_of:%Y-%m-%d %H:%M} is before the latest pull"}
    since = last[1] if last else None
    client = client or Dhis2Client.from_connection(os.environ.get("HMIS_DHIS2_CONN", DEFAULT_CONN_ID))
    if since:
        pulled = client.pull_changed(data_sets=data_sets, periods=periods, org_units=roots, since=since)
    else:
        pulled = client.pull(data_sets=data_sets, periods=periods, org_units=roots, children=True)
    earlier = EarlierVersions(store, DHIS2_LABEL)
    written = 0
    moment = as_of.astimezone(REPORTING_TZ)
    for (facility_id, period), document in sorted(pulled.facility_months(load_mapping(org_units_csv)).items()):
        if earlier.latest(period, facility_id) == document:
            continue
        store.write(pulled_submission_key(period, facility_id, moment, DHIS2_LABEL, "json"), document)
        written += 1
    with conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO ingest.dhis2_pull (run_id, pulled_at, since, high_watermark, periods, values_pulled, "
            "new_versions) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (run_id, as_of, since, pulled.high_watermark or since, periods, len(pulled.values), written))
    log.info("DHIS2: %d value(s) pulled since %s; %d facility-month version(s) written",
             len(pulled.values), since or "the beginning", written)
    return {"dhis2_values": len(pulled.values), "dhis2_versions_written": written, "dhis2_since": since}
