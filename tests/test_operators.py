"""Each operator and the sensor against the simulated cluster, blocking and deferrable."""

from __future__ import annotations

import json

import pytest
from specs import NS, app, session_cluster, session_job
from task_harness import TaskInstanceStub, context_for, reimport, run_task

from airflow_flink_operator.naming import LABEL_DAG_ID, LABEL_RUN_ID, LABEL_TASK_ID
from airflow_flink_operator.operators import (
    FlinkDeploymentOperator,
    FlinkResumeOperator,
    FlinkSavepointOperator,
    FlinkSavepointRetentionOperator,
    FlinkSessionJobOperator,
    FlinkSuspendOperator,
    FlinkTaskError,
    FlinkTeardownOperator,
    FlinkUpgradeOperator,
    FlinkWebUILink,
)
from airflow_flink_operator.sensors import FlinkJobSensor
from airflow_flink_operator.triggers import FlinkWaitTrigger

FAST = {"poll_interval": 0.05, "timeout": 20}


@pytest.fixture
def legacy(legacy_cluster, monkeypatch):
    for key, value in legacy_cluster.airflow_connection_env().items():
        monkeypatch.setenv(key, value)
    return legacy_cluster


deferrable_modes = pytest.mark.parametrize("deferrable", [False, True], ids=["blocking", "deferrable"])


def deploy(cluster, deferrable=False, **kwargs):
    context = kwargs.pop("context", None)
    op = FlinkDeploymentOperator(task_id="deploy", deployment=kwargs.pop("deployment", app()), deferrable=deferrable,
                                 **{**FAST, **kwargs})
    return run_task(op, context)


@deferrable_modes
def test_deployment_operator_waits_until_the_job_runs(cluster, deferrable):
    deferrals = []
    op = FlinkDeploymentOperator(task_id="deploy", deployment=app(), deferrable=deferrable, **FAST)
    result = run_task(op, deferrals=deferrals)
    assert bool(deferrals) is deferrable
    assert result["job_state"] == "RUNNING" and result["lifecycle_state"] in ("DEPLOYED", "STABLE")
    assert result["name"] == "orders" and result["namespace"] == NS and result["job_id"]
    labels = cluster.get("FlinkDeployment", "orders")["metadata"]["labels"]
    assert labels[LABEL_DAG_ID] == "flink_dag" and labels[LABEL_TASK_ID] == "deploy"
    assert labels[LABEL_RUN_ID] == "manual__2026-11-26T10-00-00-00-00"


@deferrable_modes
def test_job_failure_while_waiting_fails_the_task_with_the_operator_error(cluster, deferrable):
    cluster.behave("orders", fail_after=0)
    with pytest.raises(FlinkTaskError) as err:
        deploy(cluster, deferrable)
    text = str(err.value)
    assert "the Flink job FAILED" in text or "lifecycle state is FAILED" in text
    assert "Recovery is suppressed" in text  # status.error
    assert "JobStatusChanged" in text  # events
    assert "switched from CREATED to FAILED" in text  # JobManager log tail


@deferrable_modes
def test_timeout_fails_the_task_with_the_last_state(cluster, deferrable):
    cluster.behave("orders", restart_loop=True)
    with pytest.raises(FlinkTaskError, match="Timed out.*RESTARTING"):
        deploy(cluster, deferrable, timeout=1.0, wait_for="stable")


def test_retried_deployment_task_reattaches_to_the_same_job(cluster):
    first = deploy(cluster)
    retry = run_task(FlinkDeploymentOperator(task_id="deploy", deployment=app(), **FAST),
                     context_for(TaskInstanceStub(try_number=2)))
    assert len(cluster.list("FlinkDeployment")) == 1
    assert retry["generation"] == first["generation"] == 1
    assert retry["job_id"] == first["job_id"]  # the same job, not a restart


def test_deployment_from_yaml_and_wait_for_finished(cluster, tmp_path):
    from airflow_flink_operator.manifests import render, to_yaml

    cluster.behave("backfill", bounded=0.1)
    text = to_yaml(render(app("backfill", upgrade_mode="stateless")))
    result = run_task(FlinkDeploymentOperator(task_id="backfill", deployment=text, wait_for="finished", **FAST))
    assert result["job_state"] == "FINISHED"


def test_start_from_the_latest_savepoint_of_another_job(cluster):
    deploy(cluster)
    saved = run_task(FlinkSavepointOperator(task_id="sp", name="orders", **FAST))
    result = run_task(FlinkDeploymentOperator(task_id="clone", deployment=app("orders-v2"),
                                              restore_from_latest_savepoint_of="orders", **FAST))
    assert result["initial_savepoint_path"] == saved["savepoint_path"]
    assert any(f"Restoring job from savepoint {saved['savepoint_path']}" in line
               for line in cluster.jobmanager_log("orders-v2"))


def test_web_ui_link_is_pushed_for_a_host_ingress(cluster):
    from airflow_flink_operator.models import IngressSpec

    ti = TaskInstanceStub()
    run_task(FlinkDeploymentOperator(task_id="deploy", deployment=app(
        ingress=IngressSpec(template="{{name}}.{{namespace}}.flink.example.com")), **FAST), context_for(ti))
    assert ti.xcoms[FlinkWebUILink().xcom_key] == "http://orders.default.flink.example.com/"


def test_on_kill_keeps_a_streaming_job_by_default_and_can_suspend(cluster):
    op = FlinkDeploymentOperator(task_id="deploy", deployment=app(), **FAST)
    run_task(op)
    op.on_kill()
    assert cluster.get("FlinkDeployment", "orders")["spec"]["job"].get("state", "running") == "running"
    op = FlinkDeploymentOperator(task_id="deploy", deployment=app(), on_kill_action="suspend", **FAST)
    run_task(op)
    op.on_kill()
    assert cluster.get("FlinkDeployment", "orders")["spec"]["job"]["state"] == "suspended"


@deferrable_modes
def test_session_job_operator(cluster, deferrable):
    deploy(cluster, deployment=session_cluster())
    result = run_task(FlinkSessionJobOperator(task_id="job", session_job=session_job(), deferrable=deferrable, **FAST))
    assert result["kind"] == "FlinkSessionJob" and result["job_state"] == "RUNNING"


def test_session_job_on_a_missing_cluster(cluster):
    with pytest.raises(FlinkTaskError, match="session cluster default/shared does not exist"):
        run_task(FlinkSessionJobOperator(task_id="job", session_job=session_job(), **FAST))
    assert cluster.list("FlinkSessionJob") == []


def test_session_job_on_an_application_cluster(cluster):
    deploy(cluster)
    with pytest.raises(FlinkTaskError, match="is an application cluster"):
        run_task(FlinkSessionJobOperator(task_id="job", session_job=session_job(cluster="orders"), **FAST))
    assert cluster.list("FlinkSessionJob") == []


@deferrable_modes
def test_savepoint_operator_returns_the_path_and_a_retry_does_not_take_another(cluster, deferrable):
    deploy(cluster)
    ti = TaskInstanceStub(task_id="savepoint")
    first = run_task(FlinkSavepointOperator(task_id="savepoint", name="orders", deferrable=deferrable, **FAST),
                     context_for(ti))
    assert first["savepoint_path"].startswith("s3://state/sp/savepoint-")
    retry = run_task(FlinkSavepointOperator(task_id="savepoint", name="orders", deferrable=deferrable, **FAST),
                     context_for(TaskInstanceStub(task_id="savepoint", try_number=2)))
    assert retry == first
    assert len(cluster.list("FlinkStateSnapshot")) == 1


@deferrable_modes
def test_failed_savepoint_raises_with_the_snapshot_error(cluster, deferrable):
    deploy(cluster)
    cluster.behave("orders", savepoint="fail")
    with pytest.raises(FlinkTaskError) as err:
        run_task(FlinkSavepointOperator(task_id="sp", name="orders", backoff_limit=0, deferrable=deferrable, **FAST))
    assert "FAILED" in str(err.value) and "checkpoint coordinator failure" in str(err.value)


def test_a_retry_after_a_failed_savepoint_tries_again(cluster):
    deploy(cluster)
    cluster.behave("orders", savepoint="fail", savepoint_failures=1)
    with pytest.raises(FlinkTaskError):
        run_task(FlinkSavepointOperator(task_id="sp", name="orders", backoff_limit=0, **FAST))
    result = run_task(FlinkSavepointOperator(task_id="sp", name="orders", backoff_limit=0, **FAST),
                      context_for(TaskInstanceStub(task_id="sp", try_number=2)))
    assert result["savepoint_path"]


@deferrable_modes
def test_savepoint_by_nonce_without_snapshot_resources(legacy, deferrable):
    run_task(FlinkDeploymentOperator(task_id="deploy", deployment=app(), **FAST))
    result = run_task(FlinkSavepointOperator(task_id="sp", name="orders", deferrable=deferrable, **FAST))
    assert result["nonce"] and result["savepoint_path"].startswith("s3://state/sp/")
    again = run_task(FlinkSavepointOperator(task_id="sp", name="orders", deferrable=deferrable, **FAST))
    assert again == result  # same task instance: same nonce, no second savepoint
    history = legacy.status("FlinkDeployment", "orders")["jobStatus"]["savepointInfo"]["savepointHistory"]
    assert len(history) == 1


@deferrable_modes
def test_a_stateless_upgrade_says_the_new_job_starts_without_state(cluster, deferrable):
    deploy(cluster)
    stateless = run_task(FlinkUpgradeOperator(task_id="upgrade", name="orders", spec_patch={"job": {"parallelism": 3}},
                                              upgrade_mode="stateless", deferrable=deferrable, **FAST))
    assert stateless["started_without_state"] is True and "savepoint_path" not in stateless
    kept = run_task(FlinkUpgradeOperator(task_id="upgrade2", name="orders", spec_patch={"job": {"parallelism": 4}},
                                         upgrade_mode="savepoint", deferrable=deferrable, **FAST))
    assert "started_without_state" not in kept and kept["savepoint_path"]


@deferrable_modes
def test_upgrade_with_savepoint_first(cluster, deferrable):
    deploy(cluster)
    result = run_task(FlinkUpgradeOperator(task_id="upgrade", name="orders", spec_patch={"job": {"parallelism": 4}},
                                           upgrade_mode="savepoint", savepoint_first=True, deferrable=deferrable, **FAST))
    assert result["generation"] == 2 and result["lifecycle_state"] == "STABLE"
    assert result["safety_savepoint_path"].startswith("s3://state/sp/")
    assert result["savepoint_path"].startswith("s3://state/sp/")  # the operator's upgrade savepoint
    assert result["savepoint_path"] != result["safety_savepoint_path"]
    assert cluster.get("FlinkDeployment", "orders")["spec"]["job"]["parallelism"] == 4


@deferrable_modes
def test_upgrade_that_is_rolled_back_fails(cluster, deferrable):
    deploy(cluster, deployment=app(rollback=True), wait_for="stable")
    cluster.behave("orders", upgrade="never-ready")
    with pytest.raises(FlinkTaskError, match="ROLLED_BACK"):
        run_task(FlinkUpgradeOperator(task_id="upgrade", name="orders", spec_patch={"image": "flink:1.20-broken"},
                                      deferrable=deferrable, **FAST))


def test_invalid_upgrade_is_refused_before_anything_is_sent(cluster):
    deploy(cluster)
    before = cluster.get("FlinkDeployment", "orders")["metadata"]["resourceVersion"]
    with pytest.raises(ValueError, match="spec.job.parallelism"):
        run_task(FlinkUpgradeOperator(task_id="upgrade", name="orders", spec_patch={"job": {"parallelism": 0}}, **FAST))
    assert cluster.get("FlinkDeployment", "orders")["metadata"]["resourceVersion"] == before


@deferrable_modes
def test_suspend_then_resume_restores_from_the_suspend_savepoint(cluster, deferrable):
    deploy(cluster)
    suspended = run_task(FlinkSuspendOperator(task_id="suspend", name="orders", deferrable=deferrable, **FAST))
    path = suspended["savepoint_path"]
    assert path and suspended["lifecycle_state"] == "SUSPENDED"
    resumed = run_task(FlinkResumeOperator(task_id="resume", name="orders", deferrable=deferrable, **FAST))
    assert resumed["restored_from"] == path and resumed["job_state"] == "RUNNING"
    assert any(f"Restoring job from savepoint {path}" in line for line in cluster.jobmanager_log("orders"))


@deferrable_modes
def test_teardown_takes_a_final_savepoint_then_deletes(cluster, deferrable):
    deploy(cluster)
    result = run_task(FlinkTeardownOperator(task_id="teardown", name="orders", deferrable=deferrable, **FAST))
    assert result["deleted"] is True and result["savepoint_path"].startswith("s3://state/sp/")
    assert cluster.get("FlinkDeployment", "orders") is None
    (snapshot,) = cluster.list("FlinkStateSnapshot")  # the final savepoint's record survives the job
    assert snapshot["status"]["path"] == result["savepoint_path"]


@deferrable_modes
def test_teardown_refuses_to_delete_when_the_savepoint_fails(cluster, deferrable):
    deploy(cluster)
    cluster.behave("orders", savepoint="fail")
    with pytest.raises(FlinkTaskError, match="Nothing was deleted"):
        run_task(FlinkTeardownOperator(task_id="teardown", name="orders", deferrable=deferrable, **FAST))
    obj = cluster.get("FlinkDeployment", "orders")
    assert obj is not None and not obj["metadata"].get("deletionTimestamp")


def test_teardown_with_force_deletes_despite_a_failed_savepoint(cluster):
    deploy(cluster)
    cluster.behave("orders", savepoint="fail")
    result = run_task(FlinkTeardownOperator(task_id="teardown", name="orders", force=True, **FAST))
    assert result == {"deleted": True, "kind": "FlinkDeployment", "name": "orders", "namespace": NS,
                      "savepoint_path": None}
    assert cluster.get("FlinkDeployment", "orders") is None


def test_teardown_of_a_failed_job_needs_force(cluster):
    cluster.behave("orders", fail_after=0)
    with pytest.raises(FlinkTaskError):
        deploy(cluster)
    with pytest.raises(FlinkTaskError, match="not running.*Nothing was deleted"):
        run_task(FlinkTeardownOperator(task_id="teardown", name="orders", **FAST))
    assert cluster.get("FlinkDeployment", "orders") is not None


def test_teardown_by_suspending(cluster):
    deploy(cluster)
    result = run_task(FlinkTeardownOperator(task_id="teardown", name="orders", savepoint="suspend", **FAST))
    assert result["deleted"] and result["savepoint_path"]


def test_retention_keeps_the_newest(cluster):
    deploy(cluster)
    paths = []
    for i in range(4):
        ti = TaskInstanceStub(task_id="sp", run_id=f"scheduled__{i}")
        paths.append(run_task(FlinkSavepointOperator(task_id="sp", name="orders", **FAST), context_for(ti))["savepoint_path"])
    result = run_task(FlinkSavepointRetentionOperator(task_id="prune", name="orders", keep_last=2, **FAST))
    assert len(result["kept"]) == 2 and len(result["deleted"]) == 2
    cluster.wait_for(lambda: len(cluster.list("FlinkStateSnapshot")) == 2, what="old snapshots deleted")
    kept_paths = {s["status"]["path"] for s in cluster.list("FlinkStateSnapshot")}
    assert kept_paths == set(paths[2:])


@pytest.mark.parametrize("mode", ["poke", "reschedule", "deferrable"])
def test_sensor_waits_for_running(cluster, mode):
    run_task(FlinkDeploymentOperator(task_id="deploy", deployment=app(), wait_for_completion=False, **FAST))
    sensor = FlinkJobSensor(task_id="wait", name="orders", target="stable", poke_interval=0.05, timeout=20,
                            mode="reschedule" if mode == "reschedule" else "poke", deferrable=mode == "deferrable")
    if mode == "reschedule":
        # One poke per reschedule: poke until it says done, as the scheduler would.
        cluster.wait_for(lambda: sensor.poke(context_for()), what="sensor done")
    else:
        run_task(sensor)


@pytest.mark.parametrize("deferrable", [False, True], ids=["poke", "deferrable"])
def test_sensor_fails_fast_when_the_job_fails(cluster, deferrable):
    cluster.behave("orders", fail_after=0)
    run_task(FlinkDeploymentOperator(task_id="deploy", deployment=app(), wait_for_completion=False, **FAST))
    sensor = FlinkJobSensor(task_id="wait", name="orders", poke_interval=0.05, timeout=20, deferrable=deferrable)
    with pytest.raises(FlinkTaskError, match="FAILED"):
        run_task(sensor)


def test_trigger_round_trips_through_serialize_and_import():
    trigger = FlinkWaitTrigger(kind="FlinkDeployment", name="orders", namespace="flink", mode="resource",
                               target="stable", timeout_at=123.0, kubernetes_conn_id="k8s",
                               resume_state={"kind": "FlinkDeployment", "base": {"generation": 2}})
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_flink_operator.triggers.flink.FlinkWaitTrigger"
    again = reimport(trigger)
    assert again.serialize() == (classpath, kwargs)
    assert json.loads(json.dumps(kwargs)) == kwargs  # plain JSON: storable by the triggerer


def test_a_task_deferred_by_the_previous_version_resumes_with_its_carried_state():
    """Events the triggerer fired before an upgrade carry the task's state under ``echo``: the new
    worker still resumes the task with it (a teardown still reports the savepoint it deleted after)."""
    deploy = FlinkDeploymentOperator(task_id="deploy", deployment=app())
    event = {"status": "success", "message": "running", "result": {"job_state": "RUNNING"},
             "echo": {"kind": "FlinkDeployment", "name": "orders", "namespace": NS, "base": {"generation": 2}}}
    assert deploy.execute_complete({}, event) == {"generation": 2, "job_state": "RUNNING"}

    teardown = FlinkTeardownOperator(task_id="teardown", name="orders")
    gone = {"status": "success", "message": "deleted", "result": {},
            "echo": {"kind": "FlinkDeployment", "name": "orders", "namespace": NS, "savepoint_path": "s3://sp/final-1"}}
    assert teardown.deleted({}, gone)["savepoint_path"] == "s3://sp/final-1"
