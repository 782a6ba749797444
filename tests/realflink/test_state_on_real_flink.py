"""State survives every path that promises it — proven on a real Flink job, not on status fields.

The counter job (``airflow_flink_operator/testing/flink_jobs/CounterJob.java``) counts records per key in keyed
state and appends ``key=<k> count=<n> job=<flink job id>`` lines to a file. After each stop and start the tests
read back from Flink's own REST API (``/jobs/<id>/checkpoints`` → ``latest.restored.external_path``) where the new
job restored from, compare it with the path the task put in XCom, and check in the sink file that the counts go on.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from realflink.conftest import counts, first_per_key, last_per_key, wait_until
from specs import app
from task_harness import TaskInstanceStub, context_for, run_task

from airflow_flink_operator.artifacts import JarJob
from airflow_flink_operator.operators import (
    FlinkDeploymentOperator,
    FlinkResumeOperator,
    FlinkSuspendOperator,
    FlinkTeardownOperator,
    FlinkUpgradeOperator,
)
from airflow_flink_operator.testing.flink_jobs import COUNTER_JOB, JOBS_JAR_URI

pytestmark = pytest.mark.realflink
WAIT = {"poll_interval": 0.2, "timeout": 240}


def ctx(task_id: str):
    return context_for(TaskInstanceStub(dag_id="realflink", task_id=task_id))


def counter(name: str, out: Path, *args: str, upgrade_mode: str = "savepoint"):
    return app(name, job=JarJob(jar_uri=JOBS_JAR_URI, entry_class=COUNTER_JOB, args=["--out", str(out), *args],
                                parallelism=1, upgrade_mode=upgrade_mode))


def deploy(resource, **kwargs):
    return run_task(FlinkDeploymentOperator(task_id="deploy", deployment=resource, **WAIT, **kwargs), ctx("deploy"))


def job_id(cluster, name: str) -> str:
    return cluster.status("FlinkDeployment", name)["jobStatus"]["jobId"]


def restored_from(cluster, jid: str) -> str | None:
    """Where Flink says job ``jid`` restored from (``None``: it started empty), once it has run a checkpoint."""
    rest = cluster.flink.rest()
    wait_until(lambda: rest.job(jid)["state"] == "RUNNING", f"job {jid} running")
    wait_until(lambda: (rest.checkpoints(jid).get("counts") or {}).get("completed", 0) >= 1,
               f"job {jid} checkpointed")
    restored = (rest.checkpoints(jid).get("latest") or {}).get("restored") or {}
    return restored.get("external_path")


def counting(out: Path, jid: str, at_least: int) -> list[tuple[str, int]]:
    """Wait until job ``jid`` wrote ``at_least`` counts; its lines."""
    return wait_until(lambda: len(c := counts(out, jid)) >= at_least and c, f"{at_least} counts of {jid} in {out}")


def on_disk(path: str) -> bool:
    return Path(path.removeprefix("file:")).is_dir()


def assert_counts_continue(before: list[tuple[str, int]], after: list[tuple[str, int]], exact: bool) -> None:
    """The new job's first count of each key follows the old job's last: exactly, from a savepoint taken at the
    stop; from a checkpoint taken before the stop, Flink's at-least-once replay into this plain file sink may
    repeat the last few, never restart from 1."""
    last, first = last_per_key(before), first_per_key(after)
    assert set(first) == set(last), (first, last)
    for key, count in first.items():
        if exact:
            assert count == last[key] + 1, f"{key}: {last[key]} before, {count} first after"
        else:
            assert 1 < count <= last[key] + 1, f"{key}: {last[key]} before, {count} first after"


def test_savepoint_upgrade_restores_from_the_savepoint_in_xcom(real_cluster, tmp_path):
    out = tmp_path / "counts.txt"
    deploy(counter("sp-upgrade", out))
    old = job_id(real_cluster, "sp-upgrade")
    counting(out, old, 9)
    result = run_task(FlinkUpgradeOperator(task_id="upgrade", name="sp-upgrade", upgrade_mode="savepoint",
                                           spec_patch={"job": {"args": ["--out", str(out), "--interval-ms", "40"]}},
                                           **WAIT), ctx("upgrade"))
    path = result["savepoint_path"]
    assert path and on_disk(path), f"savepoint {path} is not on disk"
    new = job_id(real_cluster, "sp-upgrade")
    assert new != old
    assert restored_from(real_cluster, new) == path
    assert_counts_continue(counts(out, old), counting(out, new, 3), exact=True)


def test_suspend_then_resume_restores_from_the_suspend_savepoint(real_cluster, tmp_path):
    out = tmp_path / "counts.txt"
    deploy(counter("suspend-resume", out))
    old = job_id(real_cluster, "suspend-resume")
    counting(out, old, 9)
    suspended = run_task(FlinkSuspendOperator(task_id="suspend", name="suspend-resume", **WAIT), ctx("suspend"))
    assert suspended["savepoint_path"] and on_disk(suspended["savepoint_path"])
    assert real_cluster.flink.rest().job(old)["state"] == "FINISHED"  # stop-with-savepoint ends the job
    resumed = run_task(FlinkResumeOperator(task_id="resume", name="suspend-resume", **WAIT), ctx("resume"))
    assert resumed["restored_from"] == suspended["savepoint_path"]
    new = job_id(real_cluster, "suspend-resume")
    assert restored_from(real_cluster, new) == suspended["savepoint_path"]
    assert_counts_continue(counts(out, old), counting(out, new, 3), exact=True)


def test_teardown_then_redeploy_from_the_final_savepoint(real_cluster, tmp_path):
    out = tmp_path / "counts.txt"
    deploy(counter("teardown-redeploy", out))
    old = job_id(real_cluster, "teardown-redeploy")
    counting(out, old, 9)
    torn = run_task(FlinkTeardownOperator(task_id="teardown", name="teardown-redeploy", **WAIT), ctx("teardown"))
    assert torn["deleted"] and on_disk(torn["savepoint_path"])
    before = counts(out, old)  # the job is gone: these are all its counts
    deploy(counter("teardown-redeploy", out), initial_savepoint_path=torn["savepoint_path"])
    new = job_id(real_cluster, "teardown-redeploy")
    assert restored_from(real_cluster, new) == torn["savepoint_path"]
    # The final savepoint is a FlinkStateSnapshot of the running job, which counted on until it was deleted:
    # the restored counts go on from the savepoint, at most those last few repeated.
    assert_counts_continue(before, counting(out, new, 3), exact=False)


def test_last_state_upgrade_restores_the_latest_retained_checkpoint(real_cluster, tmp_path):
    out = tmp_path / "counts.txt"
    deploy(counter("last-state", out, upgrade_mode="last-state"))
    old = job_id(real_cluster, "last-state")
    rest = real_cluster.flink.rest()
    wait_until(lambda: (rest.checkpoints(old).get("counts") or {}).get("completed", 0) >= 1, "a checkpoint")
    counting(out, old, 9)
    result = run_task(FlinkUpgradeOperator(task_id="upgrade", name="last-state", upgrade_mode="last-state",
                                           spec_patch={"job": {"args": ["--out", str(out), "--interval-ms", "40"]}},
                                           **WAIT), ctx("upgrade"))
    assert "savepoint_path" not in result  # last-state takes no savepoint
    assert rest.job(old)["state"] == "CANCELED"
    latest_of_old = rest.checkpoints(old)["latest"]["completed"]["external_path"]
    assert on_disk(latest_of_old), "the cancelled job's checkpoint was not retained"
    new = job_id(real_cluster, "last-state")
    assert restored_from(real_cluster, new) == latest_of_old
    assert_counts_continue(counts(out, old), counting(out, new, 3), exact=False)


def test_stateless_upgrade_starts_from_zero(real_cluster, tmp_path):
    out = tmp_path / "counts.txt"
    deploy(counter("stateless", out, upgrade_mode="stateless"))
    old = job_id(real_cluster, "stateless")
    counting(out, old, 9)
    result = run_task(FlinkUpgradeOperator(task_id="upgrade", name="stateless", upgrade_mode="stateless",
                                           spec_patch={"job": {"args": ["--out", str(out), "--interval-ms", "40"]}},
                                           **WAIT), ctx("upgrade"))
    assert "savepoint_path" not in result  # the task reports no state it restored from...
    assert result["started_without_state"] is True  # ...and says the new job starts empty
    new = job_id(real_cluster, "stateless")
    assert restored_from(real_cluster, new) is None
    assert set(first_per_key(counting(out, new, 3)).values()) == {1}
