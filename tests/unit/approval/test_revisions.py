"""Revisions without a database: what a response is, what it makes of a revision, what changed."""

from datetime import UTC, datetime

import pytest

from hmis.approval.revisions import (
    APPROVED,
    PENDING,
    REJECTED,
    SUPERSEDED,
    Change,
    Recorded,
    Response,
    RevisionKey,
    diff,
    outcome,
)
from hmis.pipeline.approval import approval_run_id, trigger_arguments

pytestmark = pytest.mark.unit

AT = datetime(2026, 10, 7, 5, 30, tzinfo=UTC)


def hitl(choice="Approve", comment="", user=None):
    return {"chosen_options": [choice], "params_input": {"comment": comment}, "responded_at": AT,
            "responded_by_user": user or {"id": "nodal.hisar", "name": "nodal.hisar"}}


def test_response_reads_the_approval_operators_return_value():
    response = Response.from_hitl(hitl("Reject", "  OPD of CHC Adampur is doubled  "))
    assert response == Response("Reject", "nodal.hisar", AT, "OPD of CHC Adampur is doubled")
    assert not response.approves
    assert Response.from_hitl({**hitl(), "responded_at": AT.isoformat()}).responded_at == AT


def test_response_without_an_answer_is_refused():
    with pytest.raises(ValueError, match="no response"):
        Response.from_hitl(None)
    with pytest.raises(ValueError, match="no response"):
        Response.from_hitl({"chosen_options": []})


def test_only_a_pending_revision_changes_its_status():
    approve, reject = Response.from_hitl(hitl()), Response.from_hitl(hitl("Reject"))
    assert outcome(PENDING, approve) == APPROVED
    assert outcome(PENDING, reject) == REJECTED
    # superseded while it waited: the answer is kept for the audit, nothing is published
    assert outcome(SUPERSEDED, approve) == SUPERSEDED
    assert outcome(APPROVED, reject) == APPROVED
    assert Recorded(RevisionKey("Hisar", "2026-09", 2), SUPERSEDED, True).published is False


def test_diff_lists_changed_added_and_removed_items_in_item_order():
    before = {("9.1.3", "TOTAL"): 40.0, ("1.1", "TOTAL"): 120.0, ("15.1", "5. Total Stock"): 7.0}
    after = {("9.1.3", "TOTAL"): 40.0, ("1.1", "TOTAL"): 125.0, ("2.1", "TOTAL"): 3.0}
    assert diff(before, after) == [Change("1.1", "TOTAL", 120.0, 125.0), Change("15.1", "5. Total Stock", 7.0, None),
                                   Change("2.1", "TOTAL", None, 3.0)]
    assert diff(before, dict(before)) == []
    assert Change("1.1", "TOTAL", 120.0, 125.0).difference == 5.0
    assert Change("2.1", "TOTAL", None, 3.0).difference is None


def test_a_revision_comes_from_the_runs_conf():
    assert RevisionKey.from_conf({"district": "Hisar", "period": "2026-09", "revision": "2"}) == \
        RevisionKey("Hisar", "2026-09", 2)
    with pytest.raises(ValueError, match="lacks revision"):
        RevisionKey.from_conf({"district": "Hisar", "period": "2026-09"})


def test_one_deterministic_run_per_revision():
    key = RevisionKey("Charkhi Dadri", "2026-09", 3)
    assert approval_run_id(key) == "approval__charkhi-dadri__2026-09__r3"
    assert trigger_arguments(key) == {"trigger_run_id": "approval__charkhi-dadri__2026-09__r3",
                                      "conf": {"district": "Charkhi Dadri", "period": "2026-09", "revision": 3}}
