"""The approval DAGs' stages: open revisions, ask the nodal officer, record the answer, publish.

``hmis_approval_requests`` runs whenever the marts changed (the ``hmis_marts`` asset):
:func:`open_requests` opens a pending revision for each complete district-month whose inputs
changed and names one ``hmis_approval`` run per pending revision (a deterministic run id, so a
revision is never asked twice). Each ``hmis_approval`` run is about the revision its ``conf``
names: :func:`ask` e-mails the nodal officer the link to Airflow's approval form and writes the
form's text; the officer answers in the form (or its REST API); :func:`record_approval` or
:func:`record_rejection` records the answer; after an approval :func:`export_approved`
writes the state's approved export and :func:`tell_state` tells the state what changed.

State lives in the warehouse (:mod:`hmis.approval.revisions`), e-mail goes through the alert
ledger, so any task can be retried without asking, publishing or e-mailing twice.
"""

from __future__ import annotations

import logging
import re
from types import SimpleNamespace

from hmis.approval import messages, notices, publish, revisions
from hmis.approval.revisions import RevisionKey
from hmis.marts.export import org_unit_list
from hmis.pipeline.run import Run
from hmis.platform.landing import open_store
from hmis.platform.settings import load_settings
from hmis.platform.warehouse import with_migrated_connection

log = logging.getLogger(__name__)

APPROVAL_DAG_ID = "hmis_approval"
APPROVAL_TASK_ID = "approve"
_RUN_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")



def approval_run_id(key: RevisionKey) -> str:
    """``approval__hisar__2026-09__r1``: one approval run per revision, whoever triggers it."""
    district = _RUN_ID_UNSAFE.sub("-", key.district.strip().lower()).strip("-")
    return f"approval__{district}__{key.period}__r{key.revision}"


def trigger_arguments(key: RevisionKey) -> dict:
    """What the requests DAG's mapped trigger task gets for one pending revision."""
    return {"trigger_run_id": approval_run_id(key), "conf": key.params()}


def open_requests(run: Run) -> list[dict]:
    """Open the revisions the current marts need, refresh what the state reads, and return
    one trigger per revision still pending (also those opened by earlier runs: a trigger of a
    run that exists already is skipped, so a lost trigger is made up)."""

    def work(conn):
        opened = revisions.open_revisions(conn, run.key, run.as_of)
        refreshed = revisions.refresh_approved(conn)
        waiting = revisions.pending(conn)
        log.info("approval: %d revision(s) opened (%s); %d waiting; approved marts refreshed for %s",
                 len(opened), ", ".join(r.key.label for r in opened) or "none", len(waiting),
                 ", ".join(refreshed) or "no period")
        return [trigger_arguments(key) for key in waiting]

    return with_migrated_connection(work)


def _conf(context) -> RevisionKey:
    return RevisionKey.from_conf(context["dag_run"].conf or {})


def approval_link(context, base_url: str) -> str:
    """The Airflow UI's required-action page of this run's approval task (Airflow builds it)."""
    task = context["dag"].get_task(APPROVAL_TASK_ID)
    ti = context["ti"]
    target = SimpleNamespace(dag_id=ti.dag_id, run_id=ti.run_id, task_id=APPROVAL_TASK_ID, map_index=-1)
    return task.generate_link_to_ui(task_instance=target, base_url=base_url)


def ask(run: Run, context) -> dict:
    """E-mail the district's nodal officers the approval request (once per revision) and
    return the approval form's ``subject`` and ``body``. Skips the rest of the run when the
    revision is no longer pending (superseded before it was asked)."""
    settings = load_settings()
    key = _conf(context)
    dag_run_id = context["dag_run"].run_id
    link = approval_link(context, settings.airflow_url)
    api = messages.api_hint(settings.airflow_url, context["ti"].dag_id, dag_run_id, APPROVAL_TASK_ID)

    def work(conn):
        revision = revisions.read_revision(conn, key)
        if revision.status != revisions.PENDING:
            from airflow.sdk.exceptions import AirflowSkipException

            raise AirflowSkipException(f"{key.label} is {revision.status}, not pending: nothing to ask")
        revisions.attach_run(conn, key, dag_run_id)
        previous, changes = revisions.changes_since_approved(conn, key)
        indicators, items = revisions.key_figures(conn, key)
        officers = notices.nodal_officers(conn, key.district)
        built = (messages.request_email(revision, officer, previous=previous, changes=changes, link=link, api=api,
                                        sender=settings.mail_from, as_of=run.as_of) for officer in officers)
        done = notices.send(conn, built, run.key, run.as_of)
        body = messages.form_body(revision, previous=previous, changes=changes, indicators=indicators, items=items)
        return {**notices.summary(done, officers, f"the approval request of {key.label}"),
                "subject": messages.form_subject(revision), "body": body, "link": link,
                "previous_approved": previous, "changes": len(changes)}

    result = with_migrated_connection(work)
    _raise_if_failed(result, "approval request")
    return result


def _raise_if_failed(result: dict, what: str) -> None:
    if result["failed"]:
        raise RuntimeError(f"{result['failed']} {what} e-mail(s) could not be sent and are recorded as failed in "
                           f"alerts.sent; the task's retry sends them: {'; '.join(result['errors'])}")


def _record(run: Run, context, payload) -> revisions.Recorded:
    key = _conf(context)
    response = revisions.Response.from_hitl(payload)
    recorded = with_migrated_connection(lambda conn: revisions.record_response(conn, key, response, run.as_of, run.key,
                                                                 context["dag_run"].run_id))
    log.info("%s: %s by %s at %s -> %s%s", key.label, response.choice, response.responded_by,
             response.responded_at, recorded.status, "" if recorded.newly else " (recorded before)")
    return recorded


def record_approval(run: Run, context, payload) -> dict:
    """Record an approval: the revision becomes the one the state reads, and its period is owed
    to the approved export. An approval of a revision superseded while it waited is kept for
    the audit and published nowhere."""
    recorded = _record(run, context, payload)
    return {"district": recorded.key.district, "period": recorded.key.period, "revision": recorded.key.revision,
            "status": recorded.status, "published": recorded.published}


def record_rejection(run: Run, context, payload) -> dict:
    """Record a rejection with the officer's comment and e-mail it to the district's compilers.
    Skipped when the run asked nothing (the officer's answer is absent)."""
    if not payload:
        from airflow.sdk.exceptions import AirflowSkipException

        raise AirflowSkipException("the approval task did not run (nothing was asked), so nothing was rejected")
    recorded = _record(run, context, payload)
    result = {"district": recorded.key.district, "period": recorded.key.period, "revision": recorded.key.revision,
              "status": recorded.status}
    if recorded.status != revisions.REJECTED:
        return {**result, "sent": 0, "failed": 0}
    settings = load_settings()

    def work(conn):
        revision = revisions.read_revision(conn, recorded.key)
        people = notices.compilers(conn, revision.district)
        built = (messages.returned_email(revision, person, sender=settings.mail_from, as_of=run.as_of)
                 for person in people)
        return notices.summary(notices.send(conn, built, run.key, run.as_of), people,
                               f"the rejection of {recorded.key.label}")

    sent = with_migrated_connection(work)
    _raise_if_failed(sent, "returned-with-comment")
    return {**result, **sent}


def export_approved(run: Run) -> dict:
    """Write every approved export owed (this approval's and any a failed run left) and settle it."""
    settings = load_settings()
    store = open_store(settings.export_url)
    org_units = org_unit_list(open_store(settings.landing_url))
    result = with_migrated_connection(lambda conn: publish.settle_owed(conn, store, run.key, run.as_of, org_units))
    log.info("approved export: periods %s, %d files in %s", ", ".join(result["exported_periods"]) or "none",
             result["files"], settings.export_url)
    return {**result, "store": settings.export_url}


def tell_state(run: Run, context, recorded: dict) -> dict:
    """E-mail the state HMIS cell that the revision was approved and which items changed since
    the previous approved revision (once per revision)."""
    if not recorded or not recorded.get("published"):
        return {"sent": 0, "why": "nothing was published"}
    settings = load_settings()
    key = _conf(context)

    def work(conn):
        revision = revisions.read_revision(conn, key)
        previous, changes = revisions.changes_since_approved(conn, key)
        people = notices.state_cell(conn, revision.state or notices.state_of(conn, key.district) or "")
        export = f"{settings.export_url.rstrip('/')}/{publish.prefix(key.period)}"
        built = (messages.changes_email(revision, person, previous=previous, changes=changes, export=export,
                                        sender=settings.mail_from, as_of=run.as_of) for person in people)
        return {**notices.summary(notices.send(conn, built, run.key, run.as_of), people,
                                  f"the approval of {key.label}"), "changes": len(changes), "previous": previous}

    result = with_migrated_connection(work)
    _raise_if_failed(result, "what-changed")
    return result
