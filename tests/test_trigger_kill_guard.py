"""A cancelled trigger suspends or deletes a job only after a user's kill, never after a redistribution.

Airflow 3.3.2's triggerer cancels "by user action", and calls ``on_kill()`` on, every trigger that left
its assignment list (``TriggerRunnerSupervisor.update_triggers`` / ``TriggerRunner.cancel_triggers``),
including the triggers ``Trigger.assign_unassigned`` handed to another triggerer while this one's
heartbeat lapsed (apache/airflow#73454). What a user's kill leaves in Airflow, per Airflow's own code:
``mark failed`` / ``mark success`` set the deferred task instance's state and nothing resumes it
(``Trigger.clean_unused`` then drops the trigger); an event from any triggerer sets it ``scheduled``
(``handle_event_submit``) and the task resumes through ``BaseOperator.resume_execution``.

The Airflow side is played by a stand-in for the triggerer's channel to the API server
(``SUPERVISOR_COMMS``): it answers the Task SDK's ``GetTaskStates`` and ``GetXCom`` from a task
instance state the test sets and the XComs the task pushed, serialised as ``BaseXCom`` does.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from airflow_flink_operator.operators import FlinkDeploymentOperator
from airflow_flink_operator.triggers import FlinkWaitTrigger
from airflow_flink_operator.triggers.kill_guard import (
    DEFERRAL_XCOM_KEY, TOKEN_KEY, closed_mark, kill_verdict, new_token, open_mark,
)

from specs import app
from task_harness import TaskInstanceStub, context_for, reimport

NS = "default"


class AirflowAnswers:
    """The triggerer's channel to Airflow's API, answering from one task instance's state and XComs."""

    def __init__(self, ti: TaskInstanceStub, state: str | None) -> None:
        self.ti, self.state, self.asked = ti, state, []

    def send(self, msg: Any) -> Any:
        from airflow.sdk.bases.xcom import BaseXCom
        from airflow.sdk.execution_time.comms import GetTaskStates, GetXCom, TaskStatesResult, XComResult

        self.asked.append(type(msg).__name__)
        if isinstance(msg, GetTaskStates):
            assert (msg.dag_id, msg.task_ids, msg.run_ids) == (self.ti.dag_id, [self.ti.task_id], [self.ti.run_id])
            return TaskStatesResult(task_states={self.ti.run_id: {self.ti.task_id: self.state}})
        if isinstance(msg, GetXCom):
            assert (msg.dag_id, msg.task_id, msg.run_id, msg.map_index) == (
                self.ti.dag_id, self.ti.task_id, self.ti.run_id, self.ti.map_index)
            value = self.ti.xcoms.get(msg.key)
            return XComResult(key=msg.key, value=None if value is None else BaseXCom.serialize_value(value))
        if type(msg).__name__ == "MaskSecret":  # the connection lookup registers its secrets with the masker
            return None
        raise AssertionError(f"unexpected request {msg!r}")


@pytest.fixture
def airflow_says(monkeypatch):
    """Install the stand-in channel: ``airflow_says(ti, state)``."""
    from airflow.sdk.execution_time import task_runner

    def install(ti: TaskInstanceStub, state: str | None) -> AirflowAnswers:
        answers = AirflowAnswers(ti, state)
        monkeypatch.setattr(task_runner, "SUPERVISOR_COMMS", answers, raising=False)
        return answers

    return install


def deferred_deploy(cluster, on_kill_action: str = "suspend") -> tuple[FlinkDeploymentOperator, TaskInstanceStub, Any]:
    """Deploy with the simulated operator paused, so the task defers; return the operator, its task
    instance and the (serialised, re-imported) trigger it deferred to, bound to that task instance."""
    from airflow.sdk.exceptions import TaskDeferred

    ti = TaskInstanceStub(task_id="deploy")
    op = FlinkDeploymentOperator(task_id="deploy", deployment=app(), deferrable=True, on_kill_action=on_kill_action)
    cluster.operator.paused = True
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(context_for(ti))
    trigger = reimport(deferred.value.trigger)
    trigger.task_instance = ti  # as the triggerer's create_triggers binds it
    return op, ti, trigger


def job_state(cluster) -> str:
    return cluster.get("FlinkDeployment", "orders")["spec"]["job"].get("state", "running")


# -- the decision, from what Airflow says -----------------------------------------------------------

def test_only_a_user_marked_open_deferral_is_a_kill():
    token = new_token()
    assert kill_verdict("failed", open_mark(token), token).killed
    assert kill_verdict("success", open_mark(token), token).killed
    assert kill_verdict("skipped", open_mark(token), token).killed
    # Handed to another triggerer: still deferred, or resumed by its event (and maybe finished since).
    for state in ("deferred", "scheduled", "queued", "running", "up_for_retry", "restarting", None):
        assert not kill_verdict(state, open_mark(token), token).killed, state
    for state in ("success", "failed"):
        assert not kill_verdict(state, closed_mark(token), token).killed, state
        assert not kill_verdict(state, closed_mark(None), token).killed, state  # closed by Airflow's __fail__
    # A later try or deferral of the task owns the resource now.
    assert not kill_verdict("failed", open_mark(new_token()), token).killed
    assert not kill_verdict("failed", None, token).killed
    # Deferred by a version without the guard: no evidence, no destruction.
    assert not kill_verdict("failed", None, None).killed


# -- the trigger's on_kill ---------------------------------------------------------------------------

def test_a_user_marking_the_deferred_task_failed_suspends_the_job(cluster, airflow_says):
    _, ti, trigger = deferred_deploy(cluster)
    assert ti.xcoms[DEFERRAL_XCOM_KEY] == open_mark(trigger.resume_state[TOKEN_KEY])
    answers = airflow_says(ti, "failed")
    asyncio.run(trigger.on_kill())
    assert answers.asked[:2] == ["GetTaskStates", "GetXCom"]
    assert job_state(cluster) == "suspended"


def test_a_user_marking_it_success_with_on_kill_action_delete_deletes_the_job(cluster, airflow_says):
    _, ti, trigger = deferred_deploy(cluster, on_kill_action="delete")
    airflow_says(ti, "success")
    asyncio.run(trigger.on_kill())
    cluster.wait_for(lambda: cluster.get("FlinkDeployment", "orders") is None, what="the deployment deleted")


def test_a_trigger_handed_to_another_triggerer_leaves_the_job_alone(cluster, airflow_says):
    """The stalled triggerer resumes while the task still waits in the other triggerer."""
    _, ti, trigger = deferred_deploy(cluster)
    airflow_says(ti, "deferred")
    asyncio.run(trigger.on_kill())
    assert job_state(cluster) == "running"


def test_a_task_resumed_by_the_other_triggerers_event_is_no_kill_even_once_finished(cluster, airflow_says):
    """The other triggerer fired, the task resumed and ended (success, or failed) before the stalled one
    came back: its state alone looks like a user's mark, its closed deferral says it is not."""
    op, ti, trigger = deferred_deploy(cluster)
    cluster.operator.paused = False
    event = asyncio.run(_first_event(reimport(trigger)))
    op.resume_execution("execute_complete", {"event": event.payload}, context_for(ti))  # as the task runner does
    assert ti.xcoms[DEFERRAL_XCOM_KEY] == closed_mark(trigger.resume_state[TOKEN_KEY])
    for state in ("success", "failed"):
        airflow_says(ti, state)
        asyncio.run(trigger.on_kill())
        assert job_state(cluster) == "running", state


def test_a_deferral_airflow_failed_is_closed_too(cluster, airflow_says):
    """A trigger timeout (``__fail__``) resumes the task only to fail it: still not a user's kill."""
    from airflow.sdk.exceptions import TaskDeferralError

    op, ti, trigger = deferred_deploy(cluster)
    with pytest.raises(TaskDeferralError):
        op.resume_execution("__fail__", {"error": "Trigger failure"}, context_for(ti))
    airflow_says(ti, "failed")
    asyncio.run(trigger.on_kill())
    assert job_state(cluster) == "running"


def test_no_answer_from_airflow_means_no_action(cluster, monkeypatch):
    """Outside a triggerer (or when the API fails) the trigger cannot confirm a kill: it does nothing."""
    from airflow.sdk.execution_time import task_runner

    monkeypatch.delattr(task_runner, "SUPERVISOR_COMMS", raising=False)
    _, _, trigger = deferred_deploy(cluster)
    asyncio.run(trigger.on_kill())
    assert job_state(cluster) == "running"
    unbound = reimport(FlinkWaitTrigger(kind="FlinkDeployment", name="orders", namespace=NS, target="running",
                                        on_kill_action="suspend"))
    asyncio.run(unbound.on_kill())  # no task instance at all
    assert job_state(cluster) == "running"


async def _first_event(trigger):
    async for event in trigger.run():
        return event
    raise AssertionError("no event")
