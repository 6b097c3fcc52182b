"""
### HMIS district approval — requests

Owner: **hmis-data-engineering**. Runs whenever `hmis_monthly` rebuilds the marts (the
`hmis_marts` asset). Each task is one function of `src/hmis/pipeline/approval.py`:

1. **open_revisions** — every complete district-month (`marts.reporting_rates`, district level,
   `completeness = complete`) whose inputs changed since its latest revision gets a new
   pending revision with its figures frozen (`marts.district_revision`, `_value`); a revision
   still waiting is superseded. Refreshes `marts.approved_district_monthly`.
2. **ask_district** — one `hmis_approval` run per pending revision (mapped over revisions,
   never facilities; run id `approval__<district>__<period>__r<n>`, skipped if it exists).
"""

from datetime import timedelta

import pendulum
from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import Param, dag, task

from hmis.pipeline.airflow import default_args, marts_asset, run_stage
from hmis.pipeline.hitl import RESPONSE_KEY, DistrictApprovalOperator
from hmis.platform.settings import load_settings

APPROVAL_DOC = """
### HMIS district approval — one district-month revision

Owner: **hmis-data-engineering**. Started by `hmis_approval_requests` with `conf`
`{"district", "period", "revision"}`. Each task is one function of `src/hmis/pipeline/approval.py`:

1. **ask** — e-mail the district HMIS nodal officer the link to this run's approval form (once).
2. **approve** — Airflow's human-in-the-loop approval (`ApprovalOperator`, keeping the answer
   in XCom `response` on Reject too): key figures, reporting completeness and
   what changed since the last approved revision; the officer answers Approve or Reject (with
   a comment) in the UI or the REST API (docs/runbook.md, "Approve a district-month").
3. **record_approval** — the revision becomes the state's (skipped on Reject).
4. **export_approved** — `exports/<period>/approved/` written and its debt settled.
5. **tell_state** — the state HMIS cell is told which items changed.
6. **record_rejection** — runs when `record_approval` was skipped: records Reject and the
   comment, e-mails the district's compilers.
"""


@dag(
    dag_id="hmis_approval_requests",
    schedule=[marts_asset()],
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Kolkata"),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    tags=["hmis", "approval"],
    doc_md=__doc__,
)
def hmis_approval_requests():
    @task(doc_md="Open a pending revision for each complete district-month whose inputs changed.")
    def open_revisions(**context):
        return run_stage("approval.open_requests", context)

    TriggerDagRunOperator.partial(
        task_id="ask_district",
        trigger_dag_id="hmis_approval",
        logical_date=None,
        skip_when_already_exists=True,
        doc_md="Start the hmis_approval run of each pending revision (skipped when it exists).",
    ).expand_kwargs(open_revisions())


@dag(
    dag_id="hmis_approval",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Kolkata"),
    catchup=False,
    # Every waiting request is an active run: allow one per district-month a state may have open.
    max_active_runs=2000,
    default_args=default_args(),
    tags=["hmis", "approval"],
    doc_md=APPROVAL_DOC,
)
def hmis_approval():
    @task(doc_md="E-mail the nodal officer the link to the approval form; write the form's text.")
    def ask(**context):
        return run_stage("approval.ask", context, context)

    approve = DistrictApprovalOperator(
        task_id="approve",
        subject="{{ ti.xcom_pull(task_ids='ask')['subject'] }}",
        body="{{ ti.xcom_pull(task_ids='ask')['body'] }}",
        params={"comment": Param("", type="string", title="Comment",
                                 description="Why you reject (sent to the district's compilers), or a note")},
        response_timeout=timedelta(days=load_settings().approval_response_days),
        retries=1,
        doc_md="The nodal officer approves or rejects the frozen revision (human-in-the-loop).",
    )

    @task(doc_md="Record the approval: the revision becomes the state's; its period is owed to the export.")
    def record_approval(**context):
        answer = context["ti"].xcom_pull(task_ids="approve", key=RESPONSE_KEY)
        return run_stage("approval.record_approval", context, context, answer)

    @task(doc_md="Write the approved export of every owed period and settle it.")
    def export_approved(**context):
        return run_stage("approval.export_approved", context)

    @task(doc_md="Tell the state HMIS cell what changed since the previous approved revision.")
    def tell_state(recorded: dict, **context):
        return run_stage("approval.tell_state", context, context, recorded)

    # The approval operator skips its direct downstream on Reject, so the rejection is recorded
    # by a task that runs exactly when record_approval was skipped.
    @task(trigger_rule="all_skipped",
          doc_md="On Reject: record the rejection and its comment, e-mail the district's compilers.")
    def record_rejection(**context):
        answer = context["ti"].xcom_pull(task_ids="approve", key=RESPONSE_KEY)
        return run_stage("approval.record_rejection", context, context, answer)

    recorded = record_approval()
    ask() >> approve >> recorded
    recorded >> export_approved() >> tell_state(recorded)
    recorded >> record_rejection()


hmis_approval_requests()
hmis_approval()
