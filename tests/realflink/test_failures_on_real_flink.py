"""Real Flink's own failures reach the task, bounded jobs end FINISHED, savepoint data is really disposed of."""

from __future__ import annotations

from pathlib import Path

import pytest
from realflink.conftest import counts, wait_until
from specs import NS
from task_harness import run_task
from realflink.test_state_on_real_flink import WAIT, counter, ctx, deploy, job_id, on_disk, restored_from

from airflow_flink_operator.operators import (
    FlinkDeploymentOperator,
    FlinkSavepointOperator,
    FlinkTaskError,
    FlinkTeardownOperator,
    FlinkUpgradeOperator,
)

pytestmark = pytest.mark.realflink


def test_a_job_that_throws_fails_the_deploy_with_flinks_root_exception(real_cluster, tmp_path):
    with pytest.raises(FlinkTaskError) as failed:
        deploy(counter("throws-in-main", tmp_path / "counts.txt", "--fail-in-main"))
    assert "CounterJob was told to fail in main" in str(failed.value)


def test_a_bounded_job_that_throws_fails_its_wait_with_flinks_root_exception(real_cluster, tmp_path):
    with pytest.raises(FlinkTaskError) as failed:
        deploy(counter("throws", tmp_path / "counts.txt", "--fail-after", "5", "--limit", "1000"), wait_for="finished")
    assert "CounterJob was told to fail after 5 records" in str(failed.value)
    assert real_cluster.flink.rest().job(job_id(real_cluster, "throws"))["state"] == "FAILED"


def test_a_savepoint_flink_refuses_fails_the_task_and_teardown_deletes_nothing(real_cluster, tmp_path):
    # More parallel tasks than the cluster has slots: Flink says RUNNING, but its tasks never run.
    deploy(counter("unscheduled", tmp_path / "counts.txt", "--count-parallelism", "1000"))
    jid = job_id(real_cluster, "unscheduled")
    with pytest.raises(FlinkTaskError) as failed:
        run_task(FlinkSavepointOperator(task_id="savepoint", name="unscheduled", backoff_limit=0, **WAIT),
                 ctx("savepoint"))
    assert "Not all required tasks are currently running" in str(failed.value)
    with pytest.raises(FlinkTaskError) as refused:
        run_task(FlinkTeardownOperator(task_id="teardown", name="unscheduled", **WAIT), ctx("teardown"))
    assert "Not all required tasks are currently running" in str(refused.value)
    assert real_cluster.get("FlinkDeployment", "unscheduled") is not None
    assert real_cluster.flink.rest().job(jid)["state"] == "RUNNING"


def test_a_bounded_job_finishes_and_the_streaming_job_starts_from_the_savepoint_before_it(real_cluster, tmp_path):
    """The shape of example_dags/flink_batch_then_streaming.py, on real jobs."""
    stream_out, batch_out = tmp_path / "stream.txt", tmp_path / "backfill.txt"
    deploy(counter("sessions-streaming", stream_out))
    finished = run_task(FlinkDeploymentOperator(
        task_id="backfill", deployment=counter("sessions-backfill", batch_out, "--limit", "30", "--interval-ms", "5",
                                               upgrade_mode="stateless"),
        wait_for="finished", **WAIT), ctx("backfill"))
    assert finished["job_state"] == "FINISHED"
    assert real_cluster.flink.rest().job(job_id(real_cluster, "sessions-backfill"))["state"] == "FINISHED"
    assert len(counts(batch_out)) == 30
    old = job_id(real_cluster, "sessions-streaming")
    upgraded = run_task(FlinkUpgradeOperator(
        task_id="upgrade_streaming", name="sessions-streaming", upgrade_mode="savepoint", savepoint_first=True,
        spec_patch={"job": {"args": ["--out", str(stream_out), "--interval-ms", "40"]}}, **WAIT),
        ctx("upgrade_streaming"))
    assert on_disk(upgraded["safety_savepoint_path"]) and on_disk(upgraded["savepoint_path"])
    new = job_id(real_cluster, "sessions-streaming")
    assert new != old and restored_from(real_cluster, new) == upgraded["savepoint_path"]


def test_dispose_on_delete_removes_the_savepoint_data_and_a_kept_one_stays(real_cluster, tmp_path):
    deploy(counter("disposal", tmp_path / "counts.txt"))
    rest = real_cluster.flink.rest()
    jid = job_id(real_cluster, "disposal")
    wait_until(lambda: (rest.checkpoints(jid).get("counts") or {}).get("completed", 0) >= 1, "a checkpoint")
    taken = {}
    for dispose in (True, False):
        result = run_task(FlinkSavepointOperator(task_id=f"savepoint_{dispose}", name="disposal",
                                                 dispose_on_delete=dispose, **WAIT), ctx(f"savepoint_{dispose}"))
        assert on_disk(result["savepoint_path"])
        taken[dispose] = result
    hook = real_cluster.hook()
    for dispose, result in taken.items():
        hook.delete("FlinkStateSnapshot", result["snapshot"], NS, timeout=120, poll_interval=0.2)
    assert not Path(taken[True]["savepoint_path"].removeprefix("file:")).exists()
    assert on_disk(taken[False]["savepoint_path"])
