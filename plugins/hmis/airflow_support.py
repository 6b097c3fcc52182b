"""Small pieces the DAG files share: the run's moment, default arguments, notifiers.

Kept out of ``dags/`` so DAG files stay a table of contents, and cheap to import because
the DAG processor imports it on every parse.
"""

from __future__ import annotations

from datetime import datetime, timedelta

OWNER = "hmis-data-engineering"
# Emitted whenever the marts are rebuilt; downstream DAGs schedule on it.
MARTS_ASSET_URI = "hmis://warehouse/marts"
ALLOWED_TAGS = frozenset({"hmis", "monthly", "compliance", "quality", "marts", "alerts", "signals", "ultrasound"})


def as_of(context) -> datetime:
    """The moment a run reasons about: its logical date, or for a manual run without one,
    the time it was asked to run after. Never the wall clock."""
    return context.get("logical_date") or context["dag_run"].run_after


def failure_notifier():
    """E-mail the data engineers when a task fails for good (after its retries)."""
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    from hmis.config import load_settings

    settings = load_settings()
    return SmtpNotifier(
        to=settings.ops_email,
        from_email=settings.mail_from,
        subject="[HMIS pipeline] {{ ti.dag_id }}.{{ ti.task_id }} failed for {{ ds }}",
        html_content=(
            "<p>Task <b>{{ ti.task_id }}</b> of <b>{{ ti.dag_id }}</b> failed for logical date "
            "{{ ds }} after {{ ti.try_number }} attempt(s).</p><p>Log: {{ ti.log_url }}</p>"
        ),
        smtp_conn_id="smtp_default",
    )


def skip_unless_changed(result: dict) -> dict:
    """Skip the task (and with it the Asset event and the export) when no mart changed."""
    if not result.get("changed"):
        from airflow.sdk.exceptions import AirflowSkipException

        raise AirflowSkipException("no district-period changed since the marts were last built")
    return result


def marts_asset():
    from airflow.sdk import Asset

    return Asset(name="hmis_marts", uri=MARTS_ASSET_URI)


def default_args() -> dict:
    return {
        "owner": OWNER,
        "retries": 3,
        "retry_delay": timedelta(seconds=30),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=10),
        "on_failure_callback": failure_notifier(),
    }
