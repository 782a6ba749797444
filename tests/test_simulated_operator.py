"""The simulated operator behaves as the reference describes, read through the status model."""

from __future__ import annotations

import copy

from specs import NS, app, session_cluster, session_job

from airflow_flink_operator.manifests import render
from airflow_flink_operator.models.status import FlinkResourceStatus, Phase, Target


def phase_of(cluster, name, target, kind="FlinkDeployment"):
    return FlinkResourceStatus.from_object(cluster.get(kind, name)).phase(target)


def wait_phase(cluster, name, target, expected, kind="FlinkDeployment", timeout=10):
    return cluster.wait_for(lambda: (p := phase_of(cluster, name, target, kind))[0] is expected and p,
                            timeout=timeout, what=f"{name} {target.value} → {expected.value}")


def test_deploys_to_stable_with_the_job_running(emulated):
    emulated.hook().apply(render(app()))
    wait_phase(emulated, "orders", Target.STABLE, Phase.DONE)
    status = emulated.status("FlinkDeployment", "orders")
    assert status["jobManagerDeploymentStatus"] == "READY"
    assert status["reconciliationStatus"]["lastStableSpec"] == status["reconciliationStatus"]["lastReconciledSpec"]
    assert emulated.get("FlinkDeployment", "orders")["metadata"]["finalizers"] == ["flinkdeployments.flink.apache.org/finalizer"]


def test_job_failure_surfaces_with_the_operator_error(emulated):
    emulated.behave("orders", fail_after=0.05)
    emulated.hook().apply(render(app()))
    _, message = wait_phase(emulated, "orders", Target.RUNNING, Phase.FAILED)
    assert "FAILED" in message and "Recovery is suppressed" in message


def test_restart_loop_is_unhealthy_but_not_failed(emulated):
    emulated.behave("orders", restart_loop=True)
    emulated.hook().apply(render(app()))
    emulated.wait_for(lambda: FlinkResourceStatus.from_object(emulated.get("FlinkDeployment", "orders")).is_restarting,
                      what="restarting")
    assert phase_of(emulated, "orders", Target.RUNNING)[0] is Phase.WAITING


def test_jobmanager_error(emulated):
    emulated.behave("orders", jobmanager_error=True)
    emulated.hook().apply(render(app()))
    _, message = wait_phase(emulated, "orders", Target.RUNNING, Phase.FAILED)
    assert "JobManager deployment is in ERROR" in message and "CrashLoopBackOff" in message


def test_bounded_job_finishes(emulated):
    emulated.behave("backfill", bounded=0.1)
    emulated.hook().apply(render(app("backfill", upgrade_mode="stateless")))
    wait_phase(emulated, "backfill", Target.FINISHED, Phase.DONE)


def test_savepoint_upgrade_restores_the_new_job_from_the_upgrade_savepoint(emulated):
    hook = emulated.hook()
    hook.apply(render(app(parallelism=2)))
    wait_phase(emulated, "orders", Target.STABLE, Phase.DONE)
    hook.apply(render(app(parallelism=4)))
    seen = emulated.wait_for_lifecycle("orders", "UPGRADING")
    assert seen["observedGeneration"] == 2  # the new spec is written with UPGRADING first
    wait_phase(emulated, "orders", Target.STABLE, Phase.DONE)
    status = emulated.status("FlinkDeployment", "orders")
    path = status["jobStatus"]["upgradeSavepointPath"]
    assert path.startswith("s3://state/sp/savepoint-")
    assert any(f"Restoring job from savepoint {path}" in line for line in emulated.jobmanager_log("orders"))
    upgrade_snapshots = [s for s in emulated.list("FlinkStateSnapshot") if "-savepoint-upgrade-" in s["metadata"]["name"]]
    assert [s["spec"]["savepoint"]["path"] for s in upgrade_snapshots] == [path]


def test_upgrade_that_never_becomes_ready_is_rolled_back(emulated):
    hook = emulated.hook()
    hook.apply(render(app(rollback=True)))
    wait_phase(emulated, "orders", Target.STABLE, Phase.DONE)
    emulated.behave("orders", upgrade="never-ready")
    hook.apply(render(app(rollback=True, parallelism=8)))
    _, message = wait_phase(emulated, "orders", Target.STABLE, Phase.FAILED)
    assert "ROLLED_BACK" in message
    status = emulated.status("FlinkDeployment", "orders")
    assert status["jobStatus"]["state"] == "RUNNING"  # the last stable spec runs again
    assert '"parallelism": 2' in status["reconciliationStatus"]["lastReconciledSpec"]


def test_suspend_with_savepoint_then_resume_from_it(emulated):
    hook = emulated.hook()
    hook.apply(render(app()))
    wait_phase(emulated, "orders", Target.STABLE, Phase.DONE)
    hook.patch_spec("FlinkDeployment", "orders", {"job": {"state": "suspended"}}, NS)
    wait_phase(emulated, "orders", Target.SUSPENDED, Phase.DONE)
    status = emulated.status("FlinkDeployment", "orders")
    path = status["jobStatus"]["upgradeSavepointPath"]
    assert status["jobManagerDeploymentStatus"] == "MISSING" and path
    hook.patch_spec("FlinkDeployment", "orders", {"job": {"state": "running"}}, NS)
    wait_phase(emulated, "orders", Target.RUNNING, Phase.DONE)
    assert any(f"Restoring job from savepoint {path}" in line for line in emulated.jobmanager_log("orders"))


def test_spec_the_operator_rejects_is_reported_as_its_validation_error(emulated):
    (manifest,) = render(app())
    bad = copy.deepcopy(manifest)
    bad["spec"]["flinkConfiguration"]["kubernetes.cluster-id"] = "other"  # sent raw, bypassing our checks
    emulated.hook().apply([bad])
    _, message = wait_phase(emulated, "orders", Target.RUNNING, Phase.FAILED)
    assert "ValidationException" in message and "kubernetes.cluster-id" in message


def test_session_cluster_deletion_waits_for_its_jobs(emulated):
    hook = emulated.hook()
    hook.apply(render(session_cluster()))
    wait_phase(emulated, "shared", Target.READY, Phase.DONE)
    hook.apply(render(session_job()))
    wait_phase(emulated, "topspeed", Target.RUNNING, Phase.DONE, kind="FlinkSessionJob")
    hook.delete("FlinkDeployment", "shared", NS, wait=False)
    emulated.wait_for(lambda: "deletion is blocked" in (emulated.status("FlinkDeployment", "shared").get("error") or ""),
                      what="blocked deletion")
    hook.delete("FlinkSessionJob", "topspeed", NS, timeout=5, poll_interval=0.05)
    hook.wait_deleted("FlinkDeployment", "shared", NS, timeout=5, poll_interval=0.05)
