"""The nodal officer's approval form: Airflow's ApprovalOperator, keeping its answer either way.

``ApprovalOperator`` returns the answer as its XCom only on Approve: on Reject it skips its
downstream tasks by raising, so the return value is never pushed and the task recording the
rejection could not read the officer's comment. This operator pushes the answer (XCom key
``response``: ``chosen_options``, ``params_input``, ``responded_at``, ``responded_by_user``)
before the operator decides what to skip. Cheap to import: the DAG processor parses it.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.standard.operators.hitl import ApprovalOperator

RESPONSE_KEY = "response"


class DistrictApprovalOperator(ApprovalOperator):
    """An :class:`ApprovalOperator` whose answer reaches downstream on Reject as well."""

    def execute_complete(self, context, event: dict[str, Any]) -> Any:
        if "error" not in event:
            user = event.get("responded_by_user")
            context["ti"].xcom_push(key=RESPONSE_KEY, value={
                "chosen_options": list(event.get("chosen_options") or []),
                "params_input": dict(event.get("params_input") or {}),
                "responded_at": event["responded_at"].isoformat() if event.get("responded_at") else None,
                "responded_by_user": dict(user) if user else None,
            })
        return super().execute_complete(context, event)
