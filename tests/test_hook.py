"""FlinkKubernetesHook against an API server over HTTP (the emulator, or a real kube-apiserver)."""

from __future__ import annotations

import pytest
from specs import NS, app, session_cluster, session_job, sql_app

from airflow_flink_operator.constants import LABEL_OWNER_NAME
from airflow_flink_operator.hooks import FlinkApiError
from airflow_flink_operator.manifests import render
from airflow_flink_operator.models import FlinkStateSnapshot, FlinkStateSnapshotSpec, JobReference, SavepointSpec
from airflow_flink_operator.models.savepoints import SnapshotStatus, nonce_savepoint_phase
from airflow_flink_operator.models.status import FlinkResourceStatus, Phase, Target


def running(backend, name="orders", kind="FlinkDeployment", target=Target.STABLE):
    hook = backend.hook()

    def check():
        obj = hook.get(kind, name, NS)
        return obj if obj and FlinkResourceStatus.from_object(obj).phase(target)[0] is Phase.DONE else None

    return backend.wait_for(check, what=f"{kind} {name} {target.value}")


def test_apply_twice_is_create_then_noop_then_update(k8s):
    hook = k8s.hook()
    first = hook.apply(render(app(parallelism=2)))
    assert first["metadata"]["generation"] == 1
    again = hook.apply(render(app(parallelism=2)))
    assert again["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]  # nothing written
    running(k8s)
    changed = hook.apply(render(app(parallelism=4)))  # the operator wrote status meanwhile: no 409 for us
    assert changed["metadata"]["generation"] == 2
    assert changed["spec"]["job"]["parallelism"] == 4
    assert "status" in changed  # the status the operator wrote is untouched by our update
    obj = running(k8s)
    assert obj["status"]["observedGeneration"] == 2


def test_apply_retries_a_conflicting_update(k8s):
    hook = k8s.hook()
    hook.apply(render(app(parallelism=2)))
    k8s.operator.paused = True  # only our requests meet the injected conflicts
    k8s.emulator.faults.fail(409, times=2, method="PUT", path_contains="/flinkdeployments/orders")
    puts = k8s.emulator.requests_by_verb.get("PUT", 0)
    updated = hook.apply(render(app(parallelism=3)))
    assert updated["spec"]["job"]["parallelism"] == 3
    assert k8s.emulator.requests_by_verb["PUT"] - puts == 3  # two conflicts, then success
    assert len(hook.list("FlinkDeployment", NS)) == 1


def test_apply_gives_up_after_bounded_conflicts(k8s):
    hook = k8s.hook(conflict_retries=2)
    hook.apply(render(app(parallelism=2)))
    k8s.operator.paused = True
    k8s.emulator.faults.fail(409, times=10, method="PUT", path_contains="/flinkdeployments/orders")
    with pytest.raises(FlinkApiError) as err:
        hook.apply(render(app(parallelism=3)))
    assert err.value.status == 409


def test_job_files_config_map_is_owned_by_the_deployment_and_collected_with_it(k8s):
    hook = k8s.hook()
    stored = hook.apply(render(sql_app()))
    core = hook.core_v1_client
    (cm,) = core.list_namespaced_config_map(NS, label_selector=f"{LABEL_OWNER_NAME}=revenue").items
    (owner,) = cm.metadata.owner_references
    assert (owner.kind, owner.name, owner.uid, owner.controller) == ("FlinkDeployment", "revenue",
                                                                     stored["metadata"]["uid"], True)
    running(k8s, "revenue")
    if k8s.cluster is None:
        return  # a bare kube-apiserver runs no garbage collector
    hook.delete("FlinkDeployment", "revenue", NS, timeout=10, poll_interval=0.05)
    assert core.list_namespaced_config_map(NS, label_selector=f"{LABEL_OWNER_NAME}=revenue").items == []


def test_changed_sql_gets_a_new_config_map_and_old_generations_are_pruned(k8s):
    hook = k8s.hook(keep_config_maps=2)
    for i in range(4):
        hook.apply(render(sql_app(sql=f"INSERT INTO sink SELECT {i} FROM src;")))
    names = [c.metadata.name for c in hook.core_v1_client.list_namespaced_config_map(
        NS, label_selector=f"{LABEL_OWNER_NAME}=revenue").items]
    assert len(names) == 2
    current = hook.get("FlinkDeployment", "revenue", NS)
    mounted = current["spec"]["podTemplate"]["spec"]["volumes"][0]["configMap"]["name"]
    assert mounted in names


def test_invalid_spec_sends_nothing(k8s):
    hook = k8s.hook()
    with pytest.raises(ValueError):
        hook.apply(render(app(flink_version=None)))
    assert hook.list("FlinkDeployment", NS) == []
    assert hook.core_v1_client.list_namespaced_config_map(NS).items == [] or k8s.cluster is None


def test_the_hook_takes_rendered_manifests_not_models(emulated):
    """The hook only talks to the API: a model is refused before anything is sent, naming render()."""
    hook = emulated.hook()
    with pytest.raises(TypeError, match=r"render\(\)"):
        hook.apply(app())
    with pytest.raises(TypeError, match=r"render\(\)"):
        hook.create_snapshot(FlinkStateSnapshot(name="orders-sp", namespace=NS, spec=FlinkStateSnapshotSpec(
            job_reference=JobReference(kind="FlinkDeployment", name="orders"), savepoint=SavepointSpec())))
    assert hook.list("FlinkDeployment", NS) == [] and hook.list("FlinkStateSnapshot", NS) == []


def test_delete_waits_for_the_operator_finalizer(k8s):
    hook = k8s.hook()
    hook.apply(render(app()))
    running(k8s)
    k8s.operator.paused = True
    with pytest.raises(TimeoutError, match="finalizers: flinkdeployments.flink.apache.org/finalizer"):
        hook.delete("FlinkDeployment", "orders", NS, timeout=0.3, poll_interval=0.05)
    assert hook.get("FlinkDeployment", "orders", NS)["metadata"].get("deletionTimestamp")
    k8s.operator.paused = False
    hook.wait_deleted("FlinkDeployment", "orders", NS, timeout=10, poll_interval=0.05)
    assert hook.get("FlinkDeployment", "orders", NS) is None
    assert hook.delete("FlinkDeployment", "orders", NS) is False  # already gone


def test_savepoint_through_flink_state_snapshot(k8s):
    hook = k8s.hook()
    hook.apply(render(app()))
    running(k8s)
    assert hook.snapshot_resources_served()
    snapshot = FlinkStateSnapshot(name="orders-sp-1", namespace=NS, spec=FlinkStateSnapshotSpec(
        job_reference=JobReference(kind="FlinkDeployment", name="orders"), savepoint=SavepointSpec(), backoff_limit=0))
    hook.create_snapshot(render(snapshot)[0])
    hook.create_snapshot(render(snapshot)[0])  # a retried task does not trigger a second one
    done = k8s.wait_for(lambda: (s := hook.get("FlinkStateSnapshot", "orders-sp-1", NS)) and
                        SnapshotStatus.from_object(s).phase()[0] is Phase.DONE and s, what="snapshot completed")
    assert done["status"]["path"].startswith("s3://state/sp/savepoint-")
    assert [s["metadata"]["name"] for s in hook.list_snapshots("orders", NS)] == ["orders-sp-1"]


def test_failing_snapshot_reports_the_operator_error(k8s):
    hook = k8s.hook()
    hook.apply(render(app()))
    running(k8s)
    k8s.operator.behave("orders", savepoint="fail")
    hook.create_snapshot(render(FlinkStateSnapshot(name="orders-sp-bad", namespace=NS, spec=FlinkStateSnapshotSpec(
        job_reference=JobReference(kind="FlinkDeployment", name="orders"), savepoint=SavepointSpec(), backoff_limit=1)))[0])
    status = k8s.wait_for(lambda: (s := hook.get("FlinkStateSnapshot", "orders-sp-bad", NS)) and
                          SnapshotStatus.from_object(s).phase()[0] is Phase.FAILED and SnapshotStatus.from_object(s),
                          what="snapshot failed")
    assert status.failures == 2  # the first try and one retry (backoffLimit 1)
    assert "checkpoint coordinator failure" in str(status.error)


def test_savepoint_by_nonce_where_snapshots_are_not_served(legacy_cluster):
    hook = legacy_cluster.hook()
    assert hook.snapshot_resources_served() is False
    hook.apply(render(app()))
    legacy_cluster.wait_for_lifecycle("orders", "STABLE")
    nonce = hook.trigger_savepoint_nonce("FlinkDeployment", "orders", NS)

    def result():
        phase, _, path = nonce_savepoint_phase(hook.get("FlinkDeployment", "orders", NS), nonce)
        return path if phase is Phase.DONE else None

    path = legacy_cluster.wait_for(result, what="nonce savepoint")
    assert path.startswith("s3://state/sp/savepoint-")
    # The job kept running: a nonce is not an upgrade.
    assert FlinkResourceStatus.from_object(hook.get("FlinkDeployment", "orders", NS)).is_running


def test_discovery_follows_the_crd_being_installed_or_not(emulated):
    assert emulated.hook().snapshot_resources_served() is True
    emulated.api.set_serve_snapshots(False)
    assert emulated.hook().snapshot_resources_served() is False  # asked once per hook: a new hook asks again


def test_diagnostics_carry_status_error_events_and_log(emulated):
    hook = emulated.hook()
    hook.apply(render(app()))
    emulated.behave("orders", fail_after=0.05)
    emulated.wait_for_lifecycle("orders", "FAILED")
    report = hook.diagnostics("FlinkDeployment", "orders", NS)
    assert "lifecycle=FAILED" in report
    assert "Recovery is suppressed" in report  # the operator's status.error
    assert "JobStatusChanged" in report  # an event
    assert "switched from RUNNING to FAILED" in report  # the JobManager log tail


def test_session_job_needs_an_existing_session_cluster(k8s):
    hook = k8s.hook()
    hook.apply(render(session_job(cluster="missing")))
    obj = k8s.wait_for(lambda: (o := hook.get("FlinkSessionJob", "topspeed", NS)) and (o.get("status") or {}).get("error") and o,
                       what="session job error")
    assert "not found" in obj["status"]["error"]
    hook.apply(render(session_cluster("shared")))
    running(k8s, "shared", target=Target.READY)
    hook.apply(render(session_job(name="on-shared", cluster="shared")))
    running(k8s, "on-shared", kind="FlinkSessionJob", target=Target.RUNNING)


def test_session_job_on_an_application_cluster_is_rejected(k8s):
    hook = k8s.hook()
    hook.apply(render(app("orders")))
    running(k8s)
    hook.apply(render(session_job(cluster="orders")))

    def rejected():
        obj = hook.get("FlinkSessionJob", "topspeed", NS)
        phase, message = FlinkResourceStatus.from_object(obj).phase(Target.RUNNING)
        return message if phase is Phase.FAILED else None

    assert "application cluster" in k8s.wait_for(rejected, what="session job rejected")
