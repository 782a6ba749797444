"""A FlinkSessionJob on a session cluster runs on the real Flink too: submitted with the operator's job id, and a
savepoint-mode upgrade stops it with a savepoint the new job restores from."""

from __future__ import annotations

import pytest
from specs import NS, session_cluster
from task_harness import run_task
from realflink.test_state_on_real_flink import WAIT, assert_counts_continue, counting, counts, ctx, on_disk, restored_from

from airflow_flink_operator.artifacts import JarJob
from airflow_flink_operator.models import FlinkSessionJob, FlinkSessionJobSpec
from airflow_flink_operator.operators import FlinkDeploymentOperator, FlinkSessionJobOperator, FlinkUpgradeOperator
from airflow_flink_operator.testing.flink_jobs import COUNTER_JOB

pytestmark = pytest.mark.realflink
#: The operator downloads a session job's jar; the local cluster has this one under the same file name.
JAR = "https://artifacts.example.com/airflow-flink-testing-jobs.jar"


def test_a_session_job_upgrade_restores_from_its_stop_savepoint(real_cluster, tmp_path):
    out = tmp_path / "counts.txt"
    run_task(FlinkDeploymentOperator(task_id="cluster", deployment=session_cluster("shared"), wait_for="ready", **WAIT),
             ctx("cluster"))
    job = FlinkSessionJob(name="counting", namespace=NS, spec=FlinkSessionJobSpec(
        deployment_name="shared",
        flink_configuration={"execution.checkpointing.dir": "s3://state/cp",
                             "execution.checkpointing.savepoint-dir": "s3://state/sp"},
        job=JarJob(jar_uri=JAR, entry_class=COUNTER_JOB, args=["--out", str(out)],
                                             parallelism=1, upgrade_mode="savepoint")))
    run_task(FlinkSessionJobOperator(task_id="submit", session_job=job, **WAIT), ctx("submit"))
    old = real_cluster.status("FlinkSessionJob", "counting")["jobStatus"]["jobId"]
    assert real_cluster.flink.rest().job(old)["state"] == "RUNNING"
    counting(out, old, 9)
    result = run_task(FlinkUpgradeOperator(task_id="upgrade", name="counting", kind="FlinkSessionJob",
                                           upgrade_mode="savepoint",
                                           spec_patch={"job": {"args": ["--out", str(out), "--interval-ms", "40"]}},
                                           **WAIT), ctx("upgrade"))
    new = real_cluster.status("FlinkSessionJob", "counting")["jobStatus"]["jobId"]
    assert new != old
    assert real_cluster.flink.rest().job(old)["state"] == "FINISHED"
    path = restored_from(real_cluster, new)
    assert path and on_disk(path)
    assert result["savepoint_path"] == path
    assert_counts_continue(counts(out, old), counting(out, new, 3), exact=True)
