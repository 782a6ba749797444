"""``wait_for="checkpointed"``: the job runs on the latest generation *and* a checkpoint of this start completed.

The oracle is Flink's REST API: ``GET /jobs/<id>/checkpoints`` answers ``CheckpointingStatistics``
(``flink-runtime`` ``rest.messages.checkpoints``; Flink's ``CheckpointStatsHistory`` keeps savepoints in
``latest.savepoint``, apart from ``latest.completed``), read here straight through the API server's service proxy
and compared with what the task reported. The rule itself is the README's (``models/checkpoints.py``).
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from specs import NS, app, session_cluster, session_job
from task_harness import TaskInstanceStub, context_for, run_task

from airflow_flink_operator.errors import FlinkSpecError
from airflow_flink_operator.models import Checkpointing
from airflow_flink_operator.models.checkpoints import RestAnswer
from airflow_flink_operator.models.status import Phase
from airflow_flink_operator.models.waiting import WaitCriteria, checkpoints_to_read, decide
from airflow_flink_operator.operators import FlinkDeploymentOperator, FlinkSessionJobOperator, FlinkTaskError
from airflow_flink_operator.operators import FlinkUpgradeOperator
from airflow_flink_operator.sensors import FlinkJobSensor
from airflow_flink_operator.testing import SimulatedCluster

ROLE = Path(__file__).resolve().parents[1] / "docs" / "rbac-role.yaml"
FAST = {"poll_interval": 0.05, "timeout": 60}
deferrable = pytest.mark.parametrize("deferrable", [False, True], ids=["blocking", "deferrable"])
CHECKPOINTED = WaitCriteria(target="checkpointed", generation=1)


# --- the rule, on Flink-shaped answers ----------------------------------------------------------

START = 1_790_000_000_000


def running(start: int = START) -> dict:
    """A FlinkDeployment as the operator reports a running job (generation 1 reconciled)."""
    return {"apiVersion": "flink.apache.org/v1beta1", "kind": "FlinkDeployment",
            "metadata": {"name": "orders", "namespace": NS, "generation": 1},
            "spec": {"job": {"jarURI": "local:///x.jar", "upgradeMode": "last-state"}},
            "status": {"observedGeneration": 1, "lifecycleState": "STABLE", "jobManagerDeploymentStatus": "READY",
                       "reconciliationStatus": {"state": "DEPLOYED", "lastReconciledSpec": json.dumps(
                           {"spec": {}, "resource_metadata": {"firstDeployment": True}}), "lastStableSpec": json.dumps(
                           {"spec": {}, "resource_metadata": {"firstDeployment": True}})},
                       "jobStatus": {"jobId": "a" * 32, "state": "RUNNING", "startTime": str(start)}}}


def checkpoint(id_: int, trigger: int, status: str = "COMPLETED", savepoint: bool = False, **extra) -> dict:
    """One ``CheckpointStatistics`` entry (``className`` as Jackson writes the subtype)."""
    stats = {"className": {"COMPLETED": "completed", "FAILED": "failed"}.get(status, "in_progress"), "id": id_,
             "status": status, "is_savepoint": savepoint, "trigger_timestamp": trigger,
             "latest_ack_timestamp": trigger + 40, "checkpoint_type": "SAVEPOINT" if savepoint else "CHECKPOINT"}
    if status == "COMPLETED":
        stats.update(external_path=f"s3://state/cp/{'a' * 32}/chk-{id_}", discarded=False)
    if status == "FAILED":
        stats.update(failure_timestamp=trigger + 40, failure_message=extra.pop("reason", "IO-problem detected."))
    return {**stats, **extra}


def stats(*history: dict, completed=None, savepoint=None, failed=None) -> RestAnswer:
    return RestAnswer(200, {"counts": {"restored": 0, "total": len(history), "in_progress": 0,
                                       "completed": sum(c["status"] == "COMPLETED" for c in history),
                                       "failed": sum(c["status"] == "FAILED" for c in history)},
                            "summary": {}, "history": sorted(history, key=lambda c: -c["id"]),
                            "latest": {"completed": completed, "savepoint": savepoint, "failed": failed,
                                       "restored": None}})


def judge(answer: RestAnswer, criteria: WaitCriteria = CHECKPOINTED):
    return decide(running(), criteria, kind="FlinkDeployment", name="orders", checkpoints=answer)


def test_only_a_checkpoint_triggered_after_this_start_counts():
    old = checkpoint(7, START - 5_000)  # completed before this start (an earlier run of the job)
    assert judge(stats(old, completed=old)).phase is Phase.WAITING
    new = checkpoint(1, START + 1_000)
    decision = judge(stats(new, completed=new))
    assert decision.phase is Phase.DONE
    assert decision.result["checkpoint_id"] == 1
    assert decision.result["checkpoint_path"] == new["external_path"]
    assert decision.result["checkpoint_completed_at"] == new["latest_ack_timestamp"]


def test_a_savepoint_is_not_a_checkpoint():
    savepoint = checkpoint(3, START + 1_000, savepoint=True)
    assert judge(stats(savepoint, savepoint=savepoint)).phase is Phase.WAITING


def test_checkpoints_that_keep_failing_fail_the_wait_with_flinks_reason():
    failures = [checkpoint(i, START + i * 1_000, "FAILED", reason=f"IO-problem detected #{i}") for i in (1, 2, 3)]
    two = judge(stats(*failures[:2], failed=failures[1]))
    assert two.phase is Phase.WAITING and "IO-problem detected #2" in two.message
    three = judge(stats(*failures, failed=failures[2]))
    assert three.phase is Phase.FAILED
    assert "IO-problem detected #3" in three.message
    assert judge(stats(*failures, failed=failures[2]), WaitCriteria(target="checkpointed", generation=1,
                                                                  failed_checkpoints=4)).phase is Phase.WAITING


def test_failures_before_this_start_or_before_a_completion_do_not_count():
    before = [checkpoint(i, START - 10_000 + i, "FAILED") for i in (1, 2, 3)]
    assert judge(stats(*before, failed=before[-1])).phase is Phase.WAITING
    ok = checkpoint(4, START + 1_000)
    after = [checkpoint(i, START + i * 1_000, "FAILED") for i in (5, 6)]
    # a completed one of this start is done, whatever failed after it
    assert judge(stats(ok, *after, completed=ok, failed=after[-1])).phase is Phase.DONE


def test_what_flink_and_the_api_server_answer_instead():
    disabled = judge(RestAnswer(404, {"errors": ["Checkpointing has not been enabled."]}))
    assert disabled.phase is Phase.FAILED and "Checkpointing has not been enabled" in disabled.message
    no_endpoints = {"kind": "Status", "code": 503, "message": 'no endpoints available for service "orders-rest"'}
    assert judge(RestAnswer(503, no_endpoints)).phase is Phase.WAITING
    not_yet = {"kind": "Status", "code": 404, "message": 'endpoints "orders-rest" not found'}
    assert judge(RestAnswer(404, not_yet)).phase is Phase.WAITING
    forbidden = {"kind": "Status", "code": 403, "reason": "Forbidden",
                 "message": 'services "orders-rest:rest" is forbidden: cannot get resource "services/proxy"'}
    refused = judge(RestAnswer(403, forbidden))
    assert refused.phase is Phase.FAILED and "services/proxy" in refused.message
    assert judge(RestAnswer(None, "no answer")).phase is Phase.WAITING


def test_a_session_cluster_has_no_checkpoints_to_wait_for():
    cluster = running()
    cluster["spec"] = {}
    decision = decide(cluster, CHECKPOINTED, kind="FlinkDeployment", name="shared")
    assert decision.phase is Phase.FAILED and "session cluster" in decision.message


def test_nothing_is_read_before_the_job_runs_on_the_generation_waited_for():
    obj = running()
    assert checkpoints_to_read(obj, CHECKPOINTED).proxy_path == \
        f"/api/v1/namespaces/{NS}/services/orders-rest:rest/proxy/jobs/{'a' * 32}/checkpoints"
    assert checkpoints_to_read(obj, WaitCriteria(target="checkpointed", generation=2)) is None
    obj["status"]["jobStatus"]["state"] = "RECONCILING"
    assert checkpoints_to_read(obj, CHECKPOINTED) is None
    assert checkpoints_to_read(running(), WaitCriteria(target="running", generation=1)) is None


# --- on the simulated cluster, over HTTP ----------------------------------------------------------


def _deploy(deployment, deferrable: bool, **kwargs):
    op = FlinkDeploymentOperator(task_id="deploy", deployment=deployment, wait_for="checkpointed",
                                 deferrable=deferrable, **{**FAST, **kwargs})
    return run_task(op, context_for(TaskInstanceStub(task_id="deploy")))


def flink_checkpoints(cluster, name: str, job_id: str, namespace: str = NS) -> dict:
    """What Flink answers, read as a user would through the API server's service proxy (admin token)."""
    url = f"{cluster.api.url}/api/v1/namespaces/{namespace}/services/{name}-rest:rest/proxy/jobs/{job_id}/checkpoints"
    with urllib.request.urlopen(url) as answer:
        return json.load(answer)


def assert_checkpoint_of_this_start(cluster, result: dict, name: str = "orders") -> dict:
    status = cluster.status("FlinkDeployment", name)
    start = int(status["jobStatus"]["startTime"])
    flink = flink_checkpoints(cluster, name, result["job_id"])
    ours = [c for c in flink["history"] if c["id"] == result["checkpoint_id"]]
    assert ours and ours[0]["status"] == "COMPLETED" and not ours[0]["is_savepoint"]
    assert ours[0]["trigger_timestamp"] >= start
    assert result["checkpoint_path"] == ours[0]["external_path"]
    return ours[0]


@deferrable
def test_checkpointed_returns_a_completed_checkpoint_of_this_start(cluster, deferrable):
    result = _deploy(app(), deferrable)
    assert result["job_state"] == "RUNNING"
    assert_checkpoint_of_this_start(cluster, result)


@deferrable
def test_after_a_restart_only_a_checkpoint_of_the_new_start_counts(cluster, deferrable):
    first = _deploy(app(upgrade_mode="last-state"), deferrable)
    cluster.behave("orders", checkpoints="none")  # the new run takes no checkpoint until we say so
    upgrade = FlinkUpgradeOperator(task_id="upgrade", name="orders", spec_patch={"job": {"parallelism": 3}},
                                   upgrade_mode="last-state", wait_for="running", **FAST)
    run_task(upgrade, context_for(TaskInstanceStub(task_id="upgrade")))
    restarted = cluster.status("FlinkDeployment", "orders")["jobStatus"]
    assert restarted["jobId"] == first["job_id"]  # last-state: same Flink job, a new start
    sensor = FlinkJobSensor(task_id="wait", name="orders", target="checkpointed", poke_interval=0.05, timeout=60)
    context = context_for(TaskInstanceStub(task_id="wait"))
    assert not sensor.poke(context).is_done  # the first run's checkpoint is no checkpoint of this start
    cluster.behave("orders", checkpoints="ok")
    result = _deploy(app(upgrade_mode="last-state", parallelism=3), deferrable)
    ours = assert_checkpoint_of_this_start(cluster, result)
    assert ours["trigger_timestamp"] >= int(restarted["startTime"]) >= first["checkpoint_completed_at"]


SECRET = "p@ss/w0rd:x"


@deferrable
def test_checkpoints_that_keep_failing_fail_the_task_with_flinks_reason(cluster, deferrable):
    reason = f"IO-problem detected: s3://flink:{SECRET}@state/cp/chk-3 is not writable (Permission denied)"
    cluster.behave("orders", checkpoints="fail", checkpoint_failure=reason)
    with pytest.raises(FlinkTaskError, match="Permission denied") as failed:
        _deploy(app(), deferrable, failed_checkpoints=2)
    assert "no checkpoint of this start completed" in str(failed.value)
    assert "s3://state/cp/chk-3 is not writable" in str(failed.value)
    assert SECRET not in str(failed.value) and "p@ss" not in str(failed.value)


def test_a_checkpoint_path_with_credentials_reaches_xcom_without_them():
    done = checkpoint(1, START + 1, external_path=f"s3://flink:{SECRET}@state/cp/chk-1")
    result = judge(stats(done, completed=done)).result
    assert result["checkpoint_path"] == "s3://state/cp/chk-1"


@deferrable
def test_a_session_job_is_checkpointed_through_its_clusters_rest_service(cluster, deferrable):
    run_task(FlinkDeploymentOperator(task_id="cluster", deployment=session_cluster(), **FAST),
             context_for(TaskInstanceStub(task_id="cluster")))
    job = session_job()
    job = job.model_copy(update={"spec": job.spec.model_copy(update={
        "flink_configuration": {"execution.checkpointing.interval": "10 s"}})})
    op = FlinkSessionJobOperator(task_id="job", session_job=job, wait_for="checkpointed", deferrable=deferrable,
                                 **FAST)
    result = run_task(op, context_for(TaskInstanceStub(task_id="job")))
    flink = flink_checkpoints(cluster, "shared", result["job_id"])
    assert flink["latest"]["completed"]["id"] >= result["checkpoint_id"]


# --- refused before anything is sent ----------------------------------------------------------------


def test_checkpointed_without_checkpointing_is_refused_before_anything_is_sent(cluster, no_network):
    op = FlinkDeploymentOperator(task_id="deploy", deployment=app(checkpointing=None, upgrade_mode="stateless",
                                                                  high_availability=None),
                                 wait_for="checkpointed", **FAST)
    with pytest.raises(FlinkSpecError, match=r"execution\.checkpointing\.interval.*Checkpointing\(interval="):
        op.execute(context_for())
    cluster_op = FlinkDeploymentOperator(task_id="cluster", deployment=session_cluster(), wait_for="checkpointed",
                                         **FAST)
    with pytest.raises(FlinkSpecError, match="session cluster"):
        cluster_op.execute(context_for())
    with pytest.raises(ValueError, match="checkpointed"):
        FlinkDeploymentOperator(task_id="x", deployment=app(), wait_for="checkpointd")
    with pytest.raises(ValueError, match="failed_checkpoints"):
        FlinkDeploymentOperator(task_id="x", deployment=app(), wait_for="checkpointed", failed_checkpoints=0)


# --- RBAC ------------------------------------------------------------------------------------------


@pytest.fixture
def role_cluster(request, monkeypatch):
    role = yaml.safe_load(ROLE.read_text())
    if getattr(request, "param", None) == "without services/proxy":
        for rule in role["rules"]:
            rule["resources"] = [r for r in rule["resources"] if r != "services/proxy"]
    with SimulatedCluster(rbac_role=role, bookmark_interval=0.2) as cluster:
        for key, value in cluster.airflow_connection_env().items():
            monkeypatch.setenv(key, value)
        yield cluster


@deferrable
def test_the_documented_role_is_enough_for_checkpointed(role_cluster, deferrable):
    result = _deploy(app(), deferrable, namespace=role_cluster.namespace)
    assert result["checkpoint_id"] >= 1
    assert role_cluster.api.denied == []


@pytest.mark.parametrize("role_cluster", ["without services/proxy"], indirect=True)
def test_without_services_proxy_the_task_says_which_permission_is_missing(role_cluster):
    with pytest.raises(FlinkTaskError, match="'get' on 'services/proxy'"):
        _deploy(app(), False, namespace=role_cluster.namespace)
    assert any(d.startswith("get services/proxy") for d in role_cluster.api.denied)


def test_the_checkpoint_interval_of_the_typed_helper_is_what_the_check_reads():
    """Checkpointing(interval=...) renders execution.checkpointing.interval, the key the check and Flink read."""
    conf = Checkpointing(interval="30 s", dir="s3://x").to_config()
    assert conf["execution.checkpointing.interval"] == "30 s"


def test_checkpoints_are_polled_while_the_resource_does_not_change(cluster):
    """Deferred: the trigger reads the checkpoints again every poll_interval although the watched object does
    not change (the job is RUNNING and STABLE before the first checkpoint is let through)."""
    cluster.behave("orders", checkpoints="none")
    run_task(FlinkDeploymentOperator(task_id="deploy", deployment=app(), wait_for="stable", **FAST),
             context_for(TaskInstanceStub(task_id="deploy")))
    rest = cluster.operator.flink_rest
    asked = rest.requests

    def let_checkpoints_through():  # once the trigger asked Flink several times with nothing new to watch
        deadline = time.monotonic() + 60
        while rest.requests < asked + 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        cluster.behave("orders", checkpoints="ok")

    threading.Thread(target=let_checkpoints_through, daemon=True).start()
    deferrals: list = []
    op = FlinkDeploymentOperator(task_id="wait", deployment=app(), wait_for="checkpointed", deferrable=True, **FAST)
    result = run_task(op, context_for(TaskInstanceStub(task_id="wait")), deferrals)
    assert deferrals, "the task deferred"
    assert rest.requests >= asked + 4
    assert_checkpoint_of_this_start(cluster, result)


def test_reads_through_the_proxy_reload_expired_credentials(emulated, tmp_path):
    """An exec-plugin token revoked while a wait reads Flink's checkpoints: both hooks load the credentials
    again once (as for every other call) instead of waiting on a 401 until the timeout."""
    import asyncio

    from test_token_refresh import ExecAuth

    from airflow_flink_operator.manifests import render
    from airflow_flink_operator.models.checkpoints import checkpoints_request

    emulated.hook().apply(render(app()))
    emulated.wait_for_lifecycle("orders", "STABLE", timeout=60)
    auth = ExecAuth(emulated, tmp_path)  # no expirationTimestamp: only a 401 says the token is gone
    hook = auth.connection.sync_hook(transient_retries=0)
    request = checkpoints_request(hook.get("FlinkDeployment", "orders", NS))
    assert hook.flink_rest_get(request).status == 200
    runs = auth.runs
    auth.expire_all()
    assert hook.flink_rest_get(request).status == 200
    assert auth.runs > runs
    async_hook = auth.connection.async_hook()
    assert asyncio.run(async_hook.flink_rest_get(request)).status == 200
    runs = auth.runs
    auth.expire_all()
    assert asyncio.run(async_hook.flink_rest_get(request)).status == 200
    assert auth.runs > runs


@pytest.mark.parametrize("mode", ["poke", "deferrable"])
def test_the_sensor_waits_for_a_checkpoint_of_this_start(cluster, mode):
    run_task(FlinkDeploymentOperator(task_id="deploy", deployment=app(), **FAST),
             context_for(TaskInstanceStub(task_id="deploy")))
    sensor = FlinkJobSensor(task_id="checkpointed", name="orders", target="checkpointed", poke_interval=0.05,
                            timeout=60, deferrable=mode == "deferrable")
    result = run_task(sensor, context_for(TaskInstanceStub(task_id="checkpointed")))
    assert_checkpoint_of_this_start(cluster, result)
