"""#23 item 6: workers that are not the scheduler's machine. Every step of a task runs in a process of its
own, each with its own working directory, HOME and TMPDIR (as on another machine: nothing one step wrote
to its local disk is there for the next): the deferring worker, the triggerer, the worker that resumes,
and a teardown retried after its first worker died. What carries state between them is what Airflow
carries (the deferral's trigger kwargs and event, XComs) and the resource's annotations on the cluster."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from specs import NS, app

from airflow_flink_operator.manifests import render

TESTS = Path(__file__).resolve().parent

#: One step of a task, run in a fresh interpreter: reads its input (JSON) from argv, prints its output (JSON).
STEP = textwrap.dedent("""
    import asyncio, json, sys
    from airflow.sdk.exceptions import TaskDeferred
    from task_harness import TaskInstanceStub, context_for, reimport, run_task
    from airflow_flink_operator.operators import FlinkDeploymentOperator, FlinkTeardownOperator
    from specs import app

    step, data = sys.argv[1], json.loads(sys.argv[2])
    ti = TaskInstanceStub(dag_id="pipeline", task_id=data["task_id"], try_number=data.get("try_number", 1),
                          xcoms=data.get("xcoms", {}))
    ctx = context_for(ti)
    FAST = {"poll_interval": 0.05, "timeout": 120}
    deploy = lambda: FlinkDeploymentOperator(task_id="deploy", deployment=app(), deferrable=True,
                                             on_kill_action="suspend", **FAST)
    out = {}
    if step == "defer":  # the worker that starts the task, and defers
        try:
            deploy().execute(ctx)
            raise SystemExit("did not defer")
        except TaskDeferred as deferred:
            out = {"trigger": list(deferred.trigger.serialize()), "method": deferred.method_name}
    elif step == "trigger":  # the triggerer
        classpath, kwargs = data["trigger"]
        module, _, name = classpath.rpartition(".")
        trigger = getattr(__import__(module, fromlist=[name]), name)(**kwargs)
        async def first():
            async for event in trigger.run():
                return event.payload
        out = {"event": asyncio.run(first())}
    elif step == "resume":  # another worker resumes the task
        out = {"result": deploy().resume_execution(data["method"], {"event": data["event"]}, ctx)}
    elif step == "teardown":  # a whole teardown on one worker (a retry after the first worker died)
        out = {"result": run_task(FlinkTeardownOperator(task_id="teardown", name="orders", deferrable=True, **FAST), ctx)}
    elif step == "teardown-dies-after-delete":
        op = FlinkTeardownOperator(task_id="teardown", name="orders", deferrable=True, **FAST)
        modes, step_ = [], lambda: op.execute(ctx)
        while True:  # as run_task, but the worker dies once it waits for the deletion
            try:
                step_()
                raise SystemExit("finished without waiting for the deletion")
            except TaskDeferred as deferred:
                modes.append(str(getattr(deferred.trigger.criteria.mode, "value", deferred.trigger.criteria.mode)))
                if modes[-1] == "deleted":
                    break
                trigger = reimport(deferred.trigger)
                async def first(t=trigger):
                    async for event in t.run():
                        return event.payload
                payload = asyncio.run(first())
                step_ = lambda m=getattr(op, deferred.method_name), e=payload: m(ctx, e)
        out = {"deferrals": modes}
    out["xcoms"] = ti.xcoms
    print(json.dumps(out, default=str))
""")


def on_another_machine(tmp_path: Path, name: str, step: str, data: dict) -> dict:
    """Run one step in a fresh process whose cwd, HOME and TMPDIR are its own, empty folders."""
    home = tmp_path / name
    (home / "tmp").mkdir(parents=True)
    env = {**os.environ, "HOME": str(home), "TMPDIR": str(home / "tmp"),
           "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    script = home / "step.py"
    script.write_text(STEP)
    proc = subprocess.run([sys.executable, str(script), step, json.dumps(data)], cwd=home, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_a_deferred_deploy_resumes_on_another_worker(cluster, tmp_path):
    cluster.operator.paused = True
    deferred = on_another_machine(tmp_path, "worker-1", "defer", {"task_id": "deploy"})
    assert deferred["method"] == "execute_complete"
    cluster.operator.paused = False
    fired = on_another_machine(tmp_path, "triggerer", "trigger", {"task_id": "deploy", "trigger": deferred["trigger"]})
    assert fired["event"]["status"] == "success"
    resumed = on_another_machine(tmp_path, "worker-2", "resume", {"task_id": "deploy", "method": deferred["method"],
                                                                  "event": fired["event"], "xcoms": deferred["xcoms"]})
    assert resumed["result"]["job_state"] == "RUNNING" and resumed["result"]["name"] == "orders"
    assert resumed["xcoms"]["flink_deferral"]["open"] is False  # the deferral closed where the task resumed


def test_a_teardown_retried_after_its_worker_died_returns_the_final_savepoint(cluster, tmp_path):
    cluster.hook().apply(render(app()), NS)
    cluster.wait_for_lifecycle("orders", "STABLE")
    first = on_another_machine(tmp_path, "worker-1", "teardown-dies-after-delete", {"task_id": "teardown"})
    assert first["deferrals"][-1] == "deleted"  # it deleted the job, then its worker died while waiting
    retry = on_another_machine(tmp_path, "worker-2", "teardown", {"task_id": "teardown", "try_number": 2})
    assert retry["result"]["deleted"] and retry["result"]["existed"] is True
    assert retry["result"]["savepoint_path"]
    finals = [s for s in cluster.list("FlinkStateSnapshot") if s["status"].get("state") == "COMPLETED"]
    assert [s["status"]["path"] for s in finals] == [retry["result"]["savepoint_path"]]  # one final savepoint
    assert cluster.get("FlinkDeployment", "orders") is None
