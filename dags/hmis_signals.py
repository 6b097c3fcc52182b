"""
### HMIS disease-rise signals and ultrasound RCH-ID compliance

Owner: **hmis-data-engineering**. Runs whenever `hmis_monthly` rebuilds the marts (the
`hmis_marts` asset) and works on the same open periods, derived from the run's moment.

Each task is one function of `src/hmis/pipeline/signals.py`; state lives in the warehouse:

1. **ultrasound_compliance** — the open periods' ultrasound line lists: RCH IDs checked and
   replaced by keyed HMAC pseudonyms (`ultrasound.scan`), compliance per facility and month
   (`marts.ultrasound_compliance`).
2. **disease_signals** — monthly series per disease and area (block, district) and the CDC
   EARS methods C1, C2 and C3 (`marts.disease_signals`). Each result carries its month's
   completeness class from `marts.reporting_rates`; a provisional month (not yet due, or
   too few reports in) is judged and kept (`would_alarm`) but never alarmed.
3. **notify_surveillance_officer** — each new alarm e-mailed to the district surveillance
   officer once per area, disease and period (ledger `alerts.sent`); never for a
   provisional month.
"""

import pendulum
from airflow.sdk import dag, task

from hmis.pipeline.airflow import default_args, marts_asset, run_stage


@dag(
    dag_id="hmis_signals",
    schedule=[marts_asset()],
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Kolkata"),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    tags=["hmis", "signals", "ultrasound"],
    doc_md=__doc__,
)
def hmis_signals():
    @task(doc_md="Check and pseudonymise the open periods' ultrasound line lists; compliance per facility.")
    def ultrasound_compliance(**context):
        return run_stage("signals.ultrasound_compliance", context)

    @task(doc_md="Rebuild marts.disease_signals: EARS C1/C2/C3 per disease, block and district.")
    def disease_signals(**context):
        return run_stage("signals.rebuild_signals", context)

    @task(doc_md="E-mail each new disease alarm to the district surveillance officer, once.")
    def notify_surveillance_officer(**context):
        return run_stage("signals.notify_signals", context)

    ultrasound_compliance() >> disease_signals() >> notify_surveillance_officer()


hmis_signals()
