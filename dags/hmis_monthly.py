"""
### HMIS monthly reporting

Owner: **hmis-data-engineering**. Runs every day at 06:00 IST and works on the last three
complete months, because facilities keep sending late and corrected reports after the due
date (the 5th of the following month).

Each task is one stage of `src/hmis/pipeline/monthly.py`; state lives in the warehouse, so any task
can be cleared and re-run safely:

1. **prepare** — migrations; registry, contacts and item catalogue from the landing store.
2. **discover** — new or changed files → file ledger (`ingest.file`).
3. **parse** — files → staged rows; unreadable files quarantined with the reason.
4. **validate** — one Great Expectations run per batch; results in `dq.result`.
5. **load** — newest accepted file per facility-period replaces its values (`facts`).
6. **compliance** — on time / late / missing / rejected / pending per facility.
7. **marts** — block, district and state aggregates, splits, indicators, reporting rates, each
   figure with its month's completeness (provisional or complete); only district-periods whose
   inputs changed, in one transaction that also records them as owed to the state. Skipped
   when nothing changed, so the `hmis_marts` Asset event means "the marts changed".
8. **export** — every period owed to the state's store (Parquet, CSV, DHIS2 JSON, report pages,
   manifest last), also when this run's marts were skipped: a run that died before exporting
   loses nothing.

A run dated before a later run of the same period (a backfill) computes that period as of its
own date into schema `asof` and leaves the current statuses, marts and exports alone; it
sends no alerts (see `hmis.pipeline.currency`).
9. **notify_officers** — the alert ladder of `config/alert_policy.yaml` (block officers on day 1,
   district on day 3, Civil Surgeon on day 7, state cell on day 10) and the monthly
   registration-gap digest; each alert is sent once (ledger `alerts.sent`).
10. **summary** — one-screen summary in the log and in `ingest.run`.
"""

import pendulum
from airflow.sdk import dag, task
from airflow.timetables.trigger import CronTriggerTimetable

from hmis.pipeline.airflow import default_args, marts_asset, run_stage, skip_unless_changed


@dag(
    dag_id="hmis_monthly",
    schedule=CronTriggerTimetable("0 6 * * *", timezone="Asia/Kolkata"),
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Kolkata"),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    tags=["hmis", "monthly", "compliance"],
    doc_md=__doc__,
)
def hmis_monthly():
    @task(doc_md="Apply migrations; load registry, contacts and the official HMIS formats.")
    def prepare(**context):
        return run_stage("monthly.prepare", context)

    @task(doc_md="Split new HMIS portal pulls into one submission per facility-month (hmis portal-import).")
    def split_portal(**context):
        return run_stage("monthly.split_portal", context)

    @task(doc_md="Pull facility-months changed on the DHIS2 server (connection dhis2_default), if configured.")
    def pull_dhis2(**context):
        return run_stage("monthly.pull_dhis2", context)

    @task(doc_md="Record new or changed files of the open periods in the file ledger.")
    def discover(**context):
        return run_stage("monthly.discover", context)

    @task(doc_md="Parse discovered files into staged rows; quarantine unreadable files.")
    def parse(**context):
        return run_stage("monthly.parse", context)

    @task(doc_md="Validate staged rows with the Great Expectations suite, one run per batch.")
    def validate(**context):
        return run_stage("monthly.validate", context)

    @task(doc_md="Replace each facility-period's values with its newest accepted file.")
    def load(**context):
        return run_stage("monthly.load", context)

    @task(doc_md="Compute every expected facility's reporting status per open period.")
    def compliance(**context):
        return run_stage("monthly.update_compliance", context)

    @task(
        doc_md="Rebuild district and state marts and reporting rates for the open periods.",
        outlets=[marts_asset()],
    )
    def marts(**context):
        return skip_unless_changed(run_stage("monthly.build_marts", context))

    @task(doc_md="Export every period owed to the state's store; each manifest is written last.",
          trigger_rule="none_failed")
    def export(**context):
        return run_stage("monthly.export_marts", context)

    @task(
        doc_md="Send the alerts due under config/alert_policy.yaml, each at most once; district digests "
        "attach the compliance page, so this runs after the marts (also when they were skipped).",
        trigger_rule="none_failed",
    )
    def notify_officers(**context):
        return run_stage("monthly.notify_officers", context)

    @task(doc_md="Log a one-screen summary of the run and keep it in ingest.run.", trigger_rule="none_failed")
    def summary(**context):
        return run_stage("monthly.summarise", context)

    checked = compliance()
    found = discover()
    prepare() >> [split_portal(), pull_dhis2()] >> found
    found >> parse() >> validate() >> load() >> checked
    built = marts()
    finished = summary()
    checked >> built >> notify_officers() >> finished
    built >> export() >> finished


hmis_monthly()
