"""Small pieces the DAG files share: calling a stage, default arguments, notifiers, the Asset.

Kept out of ``dags/`` so DAG files stay a table of contents, and cheap to import because
the DAG processor imports it on every parse: the stages themselves (pandas, psycopg2, Great
Expectations) are imported when a task runs, by :func:`run_stage`, never at parse time.
"""

from __future__ import annotations

import importlib
from datetime import timedelta

from hmis.pipeline.run import Run
from hmis.platform.settings import load_settings

OWNER = "hmis-data-engineering"
# Emitted whenever the marts are rebuilt; downstream DAGs schedule on it.
MARTS_ASSET_URI = "hmis://warehouse/marts"
ALLOWED_TAGS = frozenset({"hmis", "monthly", "compliance", "quality", "marts", "alerts", "signals", "ultrasound",
                          "approval"})


# The modules whose functions are DAG tasks; `run_stage` names them as "<module>.<function>".
STAGE_MODULES = ("monthly", "signals", "approval")


def stage_function(stage: str):
    """The pipeline function a task runs, from its name such as ``"monthly.prepare"``."""
    module, _, function = stage.partition(".")
    if module not in STAGE_MODULES:
        raise ValueError(f"unknown pipeline module {module!r} in stage {stage!r}; known: {', '.join(STAGE_MODULES)}")
    return getattr(importlib.import_module(f"hmis.pipeline.{module}"), function)


def run_stage(stage: str, context, *args):
    """Run one pipeline stage for the task's run (built once from its context)."""
    return stage_function(stage)(Run.from_context(context), *args)


def failure_notifier():
    """E-mail the data engineers when a task fails for good (after its retries)."""
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier


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
