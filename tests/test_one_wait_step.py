"""One step decides every wait (issue #14): the hook's look, its blocking loop, the trigger and the
sensor give the same answer for the same object and criteria, because they all call
:func:`airflow_flink_operator.models.waiting.decide`.
"""

from __future__ import annotations

import asyncio

import pytest
from specs import NS, app
from task_harness import TaskInstanceStub, context_for, reimport

from airflow_flink_operator.manifests import render
from airflow_flink_operator.models.status import Phase
from airflow_flink_operator.models.waiting import LATEST_GENERATION, Decision, WaitCriteria, WaitMode, decide
from airflow_flink_operator.operators import FlinkTaskError
from airflow_flink_operator.sensors import FlinkJobSensor
from airflow_flink_operator.triggers import FlinkWaitTrigger

#: What FlinkJobSensor(target="running") waits for on a FlinkDeployment.
RUNNING = WaitCriteria(mode=WaitMode.RESOURCE, target="running", generation=LATEST_GENERATION)


def _trigger_answer(trigger: FlinkWaitTrigger, decided: bool) -> tuple[str | None, str, dict]:
    """The trigger's answer: its one event when decided; else its step on the first state its watch hands it."""

    async def event():
        async for item in trigger.run():
            return item.payload

    async def first_look():
        states = trigger._states()
        try:
            return trigger.decide(await anext(states))
        finally:
            await states.aclose()

    if decided:
        payload = asyncio.run(event())
        assert set(payload) == {"status", "message", "result", "resume_state"}
        return payload["status"], payload["message"], payload["result"]
    decision = asyncio.run(first_look())
    return decision.status, decision.message, decision.result


def _sensor_answer(hook) -> tuple[str | None, str | None, dict | None]:
    """A poke: done with its XCom, raised with its message (and diagnostics), or not done."""
    sensor = FlinkJobSensor(task_id="wait", name="orders", target="running", poke_interval=0.05, timeout=10)
    try:
        poked = sensor.poke(context_for(TaskInstanceStub(task_id="wait")))
    except FlinkTaskError as err:
        return "error", str(err), None
    return ("success" if poked.is_done else None), None, poked.xcom_value


def _answers(cluster, decided: bool) -> dict[str, tuple]:
    """Every driver's answer about the object as it stands now (retried if the object changed meanwhile)."""
    hook = cluster.hook()
    for _ in range(5):
        before = hook.get("FlinkDeployment", "orders", NS)
        answers = {
            "step": decide(before, RUNNING, kind="FlinkDeployment", name="orders").event(),
            "hook.decide": hook.decide("FlinkDeployment", "orders", NS, **RUNNING.to_kwargs()),
            "hook.wait": hook.wait("FlinkDeployment", "orders", NS, timeout=0, poll_interval=0.01,
                                   **RUNNING.to_kwargs()),
            "trigger": _trigger_answer(reimport(FlinkWaitTrigger(kind="FlinkDeployment", name="orders", namespace=NS,
                                                                 timeout_at=None, **RUNNING.to_kwargs())), decided),
            "sensor": _sensor_answer(hook),
        }
        after = hook.get("FlinkDeployment", "orders", NS)
        if after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]:
            step = answers.pop("step")
            answers["step"] = (step["status"], step["message"], step["result"])
            return answers
    raise AssertionError("the object kept changing with the simulated operator paused")


@pytest.mark.parametrize("state", ["waiting", "fix_pending", "done", "failed"])
def test_hook_trigger_and_sensor_take_the_same_step(cluster, state):
    if state == "waiting":
        cluster.operator.paused = True  # applied, never picked up: the status is empty
        cluster.hook().apply(render(app()), NS)
    elif state == "fix_pending":
        # The failed generation 1's fields are still there while generation 2 waits to be picked up:
        # judged on the latest generation, that is waiting, not failed.
        cluster.behave("orders", fail_after=0)
        cluster.hook().apply(render(app()), NS)
        cluster.wait_for_lifecycle("orders", "FAILED", timeout=60)
        cluster.operator.paused = True
        cluster.hook().apply(render(app(parallelism=3)), NS)
    else:
        if state == "failed":
            cluster.behave("orders", fail_after=0)
        cluster.hook().apply(render(app()), NS)
        cluster.wait_for_lifecycle("orders", "STABLE" if state == "done" else "FAILED", timeout=60)
        cluster.operator.paused = True
    decided = state in ("done", "failed")
    answers = _answers(cluster, decided=decided)
    status, message, result = answers["step"]
    assert status == {"waiting": None, "fix_pending": None, "done": "success", "failed": "error"}[state]
    assert answers["hook.decide"] == (status, message, result)
    assert answers["trigger"] == (status, message, result)
    if not decided:
        assert answers["hook.wait"] == ("timeout", f"Timed out after 0s: {message}", {})
        assert answers["sensor"] == (None, None, None)
    else:
        assert answers["hook.wait"] == (status, message, result)
        sensor_status, sensor_message, xcom = answers["sensor"]
        assert sensor_status == status
        if status == "error":
            assert sensor_message.startswith(f"{message}\n") and xcom is None
        else:
            assert sensor_message is None and xcom == result


def test_wait_criteria_travel_as_plain_values_and_old_strings_still_work():
    """The trigger's kwargs carry the criteria as plain strings; a trigger persisted with string modes resumes."""
    trigger = FlinkWaitTrigger(kind="FlinkStateSnapshot", name="sp", namespace=NS, mode=WaitMode.SNAPSHOT,
                               pickup_deadline=12.5)
    _, kwargs = trigger.serialize()
    assert kwargs["mode"] == "snapshot" and type(kwargs["mode"]) is str
    assert reimport(trigger).criteria == trigger.criteria == WaitCriteria(mode="snapshot", pickup_deadline=12.5)
    assert WaitCriteria.from_kwargs(kwargs) == trigger.criteria
    with pytest.raises(ValueError, match="unknown wait mode 'sideways'"):
        WaitCriteria(mode="sideways")
    gone = decide(None, WaitCriteria(mode="deleted"), kind="FlinkDeployment", name="orders")
    assert gone == Decision(Phase.DONE, "FlinkDeployment orders is deleted",
                            {"kind": "FlinkDeployment", "name": "orders", "deleted": True})
