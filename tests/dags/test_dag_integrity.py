"""Conventions every DAG must follow, checked over all DAG files at once."""

from pathlib import Path

import pytest

from hmis.pipeline.airflow import ALLOWED_TAGS, OWNER

pytestmark = pytest.mark.dags

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"


@pytest.fixture(scope="module")
def dag_bag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_DIR))


def test_every_dag_file_imports(dag_bag):
    assert dag_bag.import_errors == {}
    assert len(dag_bag.dags) >= 1


def test_every_dag_has_docs_owner_allowed_tags_and_retries(dag_bag):
    for dag_id, dag in dag_bag.dags.items():
        assert dag.doc_md and "Owner" in dag.doc_md, dag_id
        assert dag.tags and set(dag.tags) <= ALLOWED_TAGS, (dag_id, dag.tags)
        assert not dag.catchup, dag_id
        for task in dag.tasks:
            assert task.owner == OWNER, (dag_id, task.task_id)
            assert task.retries >= 1, (dag_id, task.task_id)
            assert task.doc_md, (dag_id, task.task_id)
            assert task.on_failure_callback, (dag_id, task.task_id)


def test_task_count_does_not_depend_on_facilities(dag_bag):
    """Facilities are batched inside tasks; the graph is fixed."""
    dag = dag_bag.dags["hmis_monthly"]
    assert len(dag.tasks) == 12
    assert not any(getattr(task, "is_mapped", False) for task in dag.tasks)


def test_pipeline_order(dag_bag):
    dag = dag_bag.dags["hmis_monthly"]
    order = ["prepare", "split_portal", "discover", "parse", "validate", "load", "compliance"]
    assert {"split_portal", "pull_dhis2"} <= dag.get_task("prepare").downstream_task_ids
    assert "discover" in dag.get_task("pull_dhis2").downstream_task_ids
    for upstream, downstream in zip(order, order[1:]):
        assert downstream in dag.get_task(upstream).downstream_task_ids
    assert "marts" in dag.get_task("compliance").downstream_task_ids
    # alerts attach the compliance page, so they follow the marts, also when those are skipped
    assert {"export", "notify_officers"} <= dag.get_task("marts").downstream_task_ids
    assert dag.get_task("notify_officers").trigger_rule == "none_failed"
    assert dag.get_task("summary").trigger_rule == "none_failed"


def test_dag_file_does_not_import_heavy_libraries():
    text = (DAGS_DIR / "hmis_monthly.py").read_text()
    head = text.split("def hmis_monthly")[0]
    assert "great_expectations" not in head and "pandas" not in head
