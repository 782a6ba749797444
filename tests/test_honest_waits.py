"""Waits that mean what they say (issue #11, with #12 items 1, 2, 4 and #13 item 1).

A wait knows the generation it waits for: failure fields left by an older generation mean
"waiting" until the operator has reconciled the new one (reference, section h, last bullet),
so a user who fixes a failed job and re-runs the DAG is not failed by the old error.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
import time

import pytest
from specs import NS, app
from task_harness import TaskInstanceStub, context_for, reimport, run_task

from airflow_flink_operator.manifests import render
from airflow_flink_operator.operators import FlinkDeploymentOperator, FlinkTaskError, FlinkUpgradeOperator
from airflow_flink_operator.sensors import FlinkJobSensor
from airflow_flink_operator.triggers import FlinkWaitTrigger

FAST = {"poll_interval": 0.05, "timeout": 30}
modes = pytest.mark.parametrize("mode", ["blocking", "deferrable", "reschedule"])


def _deploy(deferrable: bool = False, **spec):
    op = FlinkDeploymentOperator(task_id="deploy", deployment=app(**spec), deferrable=deferrable, **FAST)
    return run_task(op, context_for(TaskInstanceStub(task_id="deploy")))


def _apply_and_wait(cluster, mode: str, **spec):
    """The user's re-run with the fixed spec: deploy (blocking / deferrable), or apply then a sensor in
    reschedule mode (one poke per try, as Airflow reschedules it)."""
    if mode != "reschedule":
        return _deploy(deferrable=mode == "deferrable", **spec)
    cluster.hook().apply(render(app(**spec)), NS)
    sensor = FlinkJobSensor(task_id="wait", name="orders", mode="reschedule", poke_interval=0.05, timeout=30)
    context = context_for(TaskInstanceStub(task_id="wait"))
    for _ in range(400):
        result = sensor.poke(context)
        if result.is_done:
            return result.xcom_value
        _next_reconcile_pass(cluster)
    raise AssertionError("the sensor never finished")


def _next_reconcile_pass(cluster) -> None:
    """Wait for the simulated operator to finish one more pass over the resources (an event, not a moment)."""
    seen = cluster.operator.passes
    deadline = time.monotonic() + 30
    while cluster.operator.passes <= seen and time.monotonic() < deadline:
        time.sleep(0.01)


@modes
def test_fix_forward_after_a_failed_job(cluster, mode):
    cluster.operator.behave("orders", fail_after=0)
    with pytest.raises(FlinkTaskError, match="FAILED"):
        _deploy()
    # The fix: the job no longer fails; the operator takes a moment to pick up the new spec, during
    # which lifecycle FAILED / job FAILED / error are still the old generation's.
    cluster.operator.behave("orders", fail_after=None, pickup_delay=0.5)
    result = _apply_and_wait(cluster, mode, parallelism=3)
    assert result["job_state"] == "RUNNING" and result["generation"] == 2


@modes
def test_fix_forward_after_a_jobmanager_error(cluster, mode):
    cluster.operator.behave("orders", jobmanager_error=True)
    with pytest.raises(FlinkTaskError, match="ERROR"):
        _deploy()
    cluster.operator.behave("orders", jobmanager_error=False, pickup_delay=0.5)
    result = _apply_and_wait(cluster, mode, image="flink:1.20.1")
    assert result["jobmanager_status"] == "READY" and result["job_state"] == "RUNNING"


@pytest.mark.parametrize("deferrable", [False, True], ids=["blocking", "deferrable"])
def test_new_upgrade_after_a_rollback(cluster, deferrable):
    _deploy(rollback=True)
    cluster.operator.behave("orders", upgrade="never-ready")
    with pytest.raises(FlinkTaskError, match="ROLLED_BACK"):
        run_task(FlinkUpgradeOperator(task_id="up", name="orders", spec_patch={"job": {"parallelism": 4}},
                                      deferrable=deferrable, **FAST))
    cluster.operator.behave("orders", upgrade="ok", pickup_delay=0.5)
    result = run_task(FlinkUpgradeOperator(task_id="up2", name="orders", spec_patch={"job": {"parallelism": 5}},
                                           deferrable=deferrable, **FAST))
    assert result["lifecycle_state"] == "STABLE" and result["job_state"] == "RUNNING"


@pytest.mark.parametrize("deferrable", [False, True], ids=["blocking", "deferrable"])
def test_a_new_generation_that_fails_still_fails_fast(cluster, deferrable):
    cluster.operator.behave("orders", fail_after=0)
    with pytest.raises(FlinkTaskError):
        _deploy()
    cluster.operator.behave("orders", pickup_delay=0.3)  # still failing, on the new generation too
    with pytest.raises(FlinkTaskError, match="FAILED") as failure:
        _deploy(deferrable=deferrable, parallelism=3)
    assert "Timed out" not in str(failure.value)
    assert cluster.hook().get("FlinkDeployment", "orders", NS)["status"]["observedGeneration"] == 2


def test_the_trigger_never_answers_from_an_older_generation(cluster):
    """#11 item 3: with the old generation RUNNING and the new one not picked up, no success yet."""
    _deploy()
    cluster.operator.behave("orders", pickup_delay=0.6)
    stored = cluster.hook().apply(render(app(parallelism=3)), NS)
    trigger = reimport(FlinkWaitTrigger(kind="FlinkDeployment", name="orders", namespace=NS, target="running",
                                        generation=stored["metadata"]["generation"], timeout_at=None))

    async def first_event():
        async for event in trigger.run():
            return event.payload

    payload = asyncio.run(first_event())
    assert payload["status"] == "success"
    obj = cluster.hook().get("FlinkDeployment", "orders", NS)
    assert obj["status"]["observedGeneration"] == 2 and payload["result"]["generation"] == 2


def test_the_sensor_returns_its_summary_in_poke_mode(cluster):
    """#11 item 5: poke/reschedule modes push the resource summary to XCom like the deferrable mode."""
    _deploy()
    sensor = FlinkJobSensor(task_id="wait", name="orders", poke_interval=0.05, timeout=10)
    result = sensor.poke(context_for(TaskInstanceStub(task_id="wait")))
    assert result.is_done and result.xcom_value["job_state"] == "RUNNING"
    assert result.xcom_value["name"] == "orders"


def test_no_deferral_when_the_target_is_already_reached(cluster):
    """#12 item 2: an unchanged-spec deploy costs no round trip through the triggerer."""
    _deploy()
    deferrals: list = []
    op = FlinkDeploymentOperator(task_id="deploy", deployment=app(), deferrable=True, **FAST)
    result = run_task(op, context_for(TaskInstanceStub(task_id="deploy")), deferrals=deferrals)
    assert deferrals == [] and result["job_state"] == "RUNNING"


def test_the_first_trigger_never_blocks_the_event_loop(cluster, tmp_path):
    """#12 item 1: a fresh triggerer process (nothing of ours imported, no ``preload()``) runs our trigger;
    no event-loop step may take 0.2 s. Steps are timed in CPU seconds of the loop thread (as
    ``tests/test_trigger_loop.py`` does), which neither a busy machine's preemption nor the import thread
    holding the GIL inflates, while importing the Kubernetes clients on the loop would take seconds of it."""
    _deploy()
    script = tmp_path / "run_trigger.py"
    script.write_text(textwrap.dedent("""
        import asyncio, json, time
        from airflow.triggers.base import BaseTrigger  # the triggerer has Airflow loaded already

        steps = []
        real_run = asyncio.events.Handle._run

        def timed_run(self):
            started = time.thread_time()
            try:
                return real_run(self)
            finally:
                steps.append((time.thread_time() - started, repr(self)[:300]))

        asyncio.events.Handle._run = timed_run

        async def main():
            from airflow_flink_operator.triggers import FlinkWaitTrigger  # as the triggerer imports it
            trigger = FlinkWaitTrigger(kind="FlinkDeployment", name="orders", namespace="default", target="running")
            async for event in trigger.run():
                return event.payload["status"]

        status = asyncio.run(main())
        print(json.dumps({"status": status, "steps": len(steps), "slowest": sorted(steps, reverse=True)[:5]}))
    """))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=dict(os.environ),
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    outcome = json.loads(proc.stdout.strip().splitlines()[-1])
    print("slowest loop steps (CPU s):", json.dumps(outcome["slowest"], indent=1))
    assert outcome["status"] == "success" and outcome["steps"] > 0
    slow = [step for step in outcome["slowest"] if step[0] >= 0.2]
    assert slow == [], "\n".join(f"{cpu:.3f}s {what}" for cpu, what in slow)


def test_typed_models_render_as_yaml_in_the_rendered_template_view():
    """#12 item 4: what Airflow stores for the rendered-template view is the YAML that will be applied."""
    from airflow.serialization.helpers import serialize_template_field

    op = FlinkDeploymentOperator(task_id="deploy", deployment=app())
    shown = serialize_template_field(op.deployment, "deployment")
    assert isinstance(shown, str) and shown.startswith("apiVersion: flink.apache.org/v1beta1\nkind: FlinkDeployment")
    assert "jarURI: local:///opt/flink/usrlib/orders.jar" in shown and "api_version=" not in shown


def test_config_file_is_a_path_never_a_template_file(tmp_path):
    """#13 item 1: a kubeconfig path ending in .yaml is not read as a template (its token would be
    stored as the rendered value), and an absolute path does not fail rendering."""
    from airflow.sdk import DAG

    token = "kubeconfig-canary-token-5f1e"
    (tmp_path / "kubeconfig.yaml").write_text(f"users:\n- name: u\n  user:\n    token: {token}\n")
    with DAG("kube", schedule=None, template_searchpath=[str(tmp_path)]):
        relative = FlinkDeploymentOperator(task_id="a", deployment=app(), config_file="kubeconfig.yaml")
        absolute = FlinkDeploymentOperator(task_id="b", deployment=app(),
                                           config_file=str(tmp_path / "{{ params.name }}.yaml"),
                                           params={"name": "kubeconfig"})
    for op in (relative, absolute):
        op.resolve_template_files()
        op.render_template_fields({"params": op.params, "ds": "2026-11-26"})
    assert relative.config_file == "kubeconfig.yaml"
    assert absolute.config_file == str(tmp_path / "kubeconfig.yaml")
    assert token not in repr(vars(relative)) and token not in repr(vars(absolute))


def test_resuming_with_the_answer_in_the_event_loads_no_kubernetes_client(tmp_path):
    """#12 item 6: a resumed task whose trigger event already carries the result must not spend
    seconds importing the Kubernetes clients again."""
    script = tmp_path / "resume.py"
    script.write_text(textwrap.dedent("""
        import json, sys
        sys.path.insert(0, "tests")
        from specs import app
        from task_harness import TaskInstanceStub, context_for
        from airflow_flink_operator.operators import FlinkDeploymentOperator, FlinkSavepointOperator

        event = {"status": "success", "message": "running", "result": {"job_state": "RUNNING"},
                 "resume_state": {"kind": "FlinkDeployment", "name": "orders", "namespace": "default", "base": {"generation": 1}}}
        out = FlinkDeploymentOperator(task_id="d", deployment=app()).execute_complete(context_for(TaskInstanceStub()), event)
        sp_event = {"status": "success", "message": "done", "result": {"savepoint_path": "s3://sp/1"},
                    "resume_state": {"savepoint": {"mode": "snapshot", "kind": "FlinkStateSnapshot", "name": "s",
                                           "namespace": "default", "method": "auto"}}}
        sp = FlinkSavepointOperator(task_id="s", name="orders").savepoint_complete(context_for(TaskInstanceStub()), sp_event)
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("kubernetes", "kubernetes_asyncio"))
        print(json.dumps({"out": out, "sp": sp, "loaded": loaded}))
    """))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    outcome = json.loads(proc.stdout.strip().splitlines()[-1])
    assert outcome["out"]["job_state"] == "RUNNING" and outcome["sp"]["savepoint_path"] == "s3://sp/1"
    assert outcome["loaded"] == []
