"""``wait_for="checkpointed"`` on real Flink: done only after a checkpoint of this start really completed (its
``_metadata`` on disk), failed with Flink's own reason when checkpoints cannot complete.

The task reads ``/jobs/<id>/checkpoints`` through the API emulator's service proxy, which forwards to the local
JobManager's REST API; the test reads Flink's answers straight from the JobManager and its files from disk.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("airflow_flink_operator.testing.flink_local", reason="the real-Flink tier (flink='local')")

from specs import app  # noqa: E402
from task_harness import TaskInstanceStub, context_for, run_task  # noqa: E402

from airflow_flink_operator.artifacts import JarJob  # noqa: E402
from airflow_flink_operator.local_airflow import wait_for  # noqa: E402
from airflow_flink_operator.manifests import render  # noqa: E402
from airflow_flink_operator.operators import FlinkDeploymentOperator, FlinkTaskError, FlinkUpgradeOperator  # noqa: E402
from airflow_flink_operator.testing.flink_jobs import COUNTER_JOB, JOBS_JAR_URI  # noqa: E402

pytestmark = pytest.mark.realflink
WAIT = {"poll_interval": 0.2, "timeout": 240}


def wait_until(predicate, what: str, timeout: float = 240.0):
    """Poll for an event (a generous bound on a loaded machine; never a timed assert)."""
    return wait_for(predicate, timeout, what, interval=0.05)


def ctx(task_id: str):
    return context_for(TaskInstanceStub(dag_id="realflink_checkpointed", task_id=task_id))


def counter(name: str, out: Path, checkpoints: Path, upgrade_mode: str = "last-state", **conf: str):
    resource = app(name, job=JarJob(jar_uri=JOBS_JAR_URI, entry_class=COUNTER_JOB, args=["--out", str(out)],
                                    parallelism=1, upgrade_mode=upgrade_mode),
                   flink_configuration={"execution.checkpointing.interval": "1 s",
                                        "execution.checkpointing.dir": checkpoints.as_uri(), **conf})
    # the typed Checkpointing helper of specs.app sets an s3:// dir; the local one above is the one used
    return resource.model_copy(update={"spec": resource.spec.model_copy(update={"checkpointing": None})})


def deploy(resource, task_id: str = "deploy", **kwargs):
    return run_task(FlinkDeploymentOperator(task_id=task_id, deployment=resource, wait_for="checkpointed", **WAIT,
                                            **kwargs), ctx(task_id))


def assert_really_checkpointed(cluster, result: dict) -> dict:
    """Flink's own record of the checkpoint the task returned: completed, of this start, on disk."""
    rest = cluster.flink.rest()
    start = rest.job(result["job_id"])["start-time"]
    history = {c["id"]: c for c in rest.checkpoints(result["job_id"])["history"]}
    ours = history[result["checkpoint_id"]]
    assert ours["status"] == "COMPLETED" and not ours["is_savepoint"]
    assert ours["trigger_timestamp"] >= start
    assert result["checkpoint_path"] == ours["external_path"]
    assert (Path(ours["external_path"].removeprefix("file:")) / "_metadata").is_file()
    return ours


@pytest.fixture
def removed_after(real_cluster):
    """Deployments to delete after the test (their jobs would go on using the shared local Flink)."""
    names: list[str] = []
    yield names
    for name in names:
        real_cluster.hook().delete("FlinkDeployment", name, timeout=240)


def test_checkpointed_only_after_a_real_checkpoint_of_this_start(real_cluster, tmp_path, removed_after):
    cluster, cp = real_cluster, tmp_path / "checkpoints"
    removed_after.append("ckpt-counter")
    first = deploy(counter("ckpt-counter", tmp_path / "out.txt", cp))
    first_cp = assert_really_checkpointed(cluster, first)

    # a last-state upgrade starts the job again from that checkpoint; only a checkpoint of the new start counts
    upgrade = FlinkUpgradeOperator(task_id="upgrade", name="ckpt-counter", upgrade_mode="last-state",
                                   spec_patch={"job": {"args": ["--out", str(tmp_path / "out.txt"),
                                                                "--interval-ms", "40"]}},
                                   wait_for="running", **WAIT)
    run_task(upgrade, ctx("upgrade"))
    second = _recheck(cluster, "ckpt-counter")
    ours = assert_really_checkpointed(cluster, second)
    started = int(cluster.status("FlinkDeployment", "ckpt-counter")["jobStatus"]["startTime"])
    assert ours["trigger_timestamp"] >= started > first_cp["latest_ack_timestamp"]
    assert second["checkpoint_path"] != first["checkpoint_path"]


def _recheck(cluster, name: str) -> dict:
    """The sensor-like re-check a DAG would run after the upgrade: wait for a checkpoint of the new start."""
    from airflow_flink_operator.sensors import FlinkJobSensor

    sensor = FlinkJobSensor(task_id="checkpointed", name=name, target="checkpointed", poke_interval=0.2, timeout=240,
                            mode="reschedule")
    return wait_until(lambda: (r := sensor.poke(ctx("checkpointed"))).is_done and r.xcom_value,
                      f"{name} checkpointed after the upgrade", timeout=240)


def test_checkpoints_that_cannot_complete_fail_the_task_with_flinks_reason(real_cluster, tmp_path, removed_after):
    """Every checkpoint directory of the job is taken by a file (root writes anywhere, so no chmod): Flink's
    ``mkdirs`` of ``chk-<n>`` fails, each checkpoint fails (``IO_EXCEPTION``), the job runs on (failures tolerated),
    and the task fails with Flink's reason once the newest ones of this start all failed."""
    cluster, cp, name = real_cluster, tmp_path / "checkpoints", "ckpt-broken"
    removed_after.append(name)
    resource = counter(name, tmp_path / "out.txt", cp,
                       **{"execution.checkpointing.tolerable-failed-checkpoints": "1000"})
    operator = cluster.operator
    operator.paused = True  # drive the simulated operator by hand until the job id is chosen, before submission
    try:
        cluster.hook().apply(render(resource))
        job_id = wait_until(lambda: operator.reconcile_all() or (cluster.status("FlinkDeployment", name).get(
            "jobStatus") or {}).get("jobId"), "the job id recorded before submission", timeout=60)
        assert cluster.status("FlinkDeployment", name)["jobManagerDeploymentStatus"] != "READY"  # not submitted yet
        for n in range(1, 500):
            (cp / job_id).mkdir(parents=True, exist_ok=True)
            (cp / job_id / f"chk-{n}").write_text("not a directory")
    finally:
        operator.paused = False
    with pytest.raises(FlinkTaskError) as failed:
        run_task(FlinkDeploymentOperator(task_id="deploy", deployment=resource, wait_for="checkpointed", **WAIT),
                 ctx("deploy"))
    message = str(failed.value)
    flink = cluster.flink.rest().checkpoints(job_id)
    reason = flink["latest"]["failed"]["failure_message"]
    assert flink["counts"]["completed"] == 0 and flink["counts"]["failed"] >= 3
    assert "no checkpoint of this start completed" in message and reason.splitlines()[0] in message, \
        json.dumps(flink["latest"]["failed"])[:2000]
    assert cluster.status("FlinkDeployment", name)["jobStatus"]["state"] == "RUNNING"
