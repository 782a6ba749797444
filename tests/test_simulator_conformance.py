"""The simulated operator follows the facts of the reference's section h (checked against the operator's source).

Every test talks to the emulator over real HTTP with the official Kubernetes client, as the real operator's
users do, and cites the bullet of section h (and the operator class) it checks. The manifests are plain dicts
so that what is checked is the simulator, not this package's models or hook.
"""

from __future__ import annotations

import math
import re
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from airflow_flink_operator.crd_schema import crd_dir_from_env
from airflow_flink_operator.testing import SimulatedCluster
from airflow_flink_operator.testing.operator import LAST_STATE_DUMMY_SP_PATH, kubernetes_timestamp

NS = "default"
GROUP, VERSION = "flink.apache.org", "v1beta1"
PLURALS = {"FlinkDeployment": "flinkdeployments", "FlinkSessionJob": "flinksessionjobs",
           "FlinkStateSnapshot": "flinkstatesnapshots"}
#: DateTimeFormatter.ISO_INSTANT: UTC, "Z", a fraction of 0, 3, 6 or 9 digits.
ISO_INSTANT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3}|\.\d{6}|\.\d{9})?Z$")
SNAPSHOT_FINALIZER = "flinkstatesnapshots.flink.apache.org/finalizer"


class Kube:
    """The Flink custom resources of one simulated cluster, through the official client over HTTP."""

    def __init__(self, cluster: SimulatedCluster) -> None:
        self.cluster = cluster
        self.operator = cluster.operator
        self._client = config.new_client_from_config_dict(cluster.kubeconfig())
        self._custom = client.CustomObjectsApi(self._client)
        self._core = client.CoreV1Api(self._client)

    def close(self) -> None:
        self._client.close()

    def create(self, manifest: dict[str, Any]) -> dict[str, Any]:
        return self._custom.create_namespaced_custom_object(GROUP, VERSION, NS, PLURALS[manifest["kind"]], manifest)

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        try:
            return self._custom.get_namespaced_custom_object(GROUP, VERSION, NS, PLURALS[kind], name)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def status(self, kind: str, name: str) -> dict[str, Any]:
        return (self.get(kind, name) or {}).get("status") or {}

    def job(self, name: str, kind: str = "FlinkDeployment") -> dict[str, Any]:
        return self.status(kind, name).get("jobStatus") or {}

    def patch_spec(self, kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        return self._custom.patch_namespaced_custom_object(GROUP, VERSION, NS, PLURALS[kind], name, {"spec": spec},
                                                           _content_type="application/merge-patch+json")

    def delete(self, kind: str, name: str) -> None:
        self._custom.delete_namespaced_custom_object(GROUP, VERSION, NS, PLURALS[kind], name,
                                                     body=client.V1DeleteOptions(propagation_policy="Background"))

    def drop_finalizers(self, kind: str, name: str) -> None:
        self._custom.patch_namespaced_custom_object(GROUP, VERSION, NS, PLURALS[kind], name,
                                                    {"metadata": {"finalizers": None}},
                                                    _content_type="application/merge-patch+json")

    def snapshots(self, label_selector: str = "") -> list[dict[str, Any]]:
        return self._custom.list_namespaced_custom_object(GROUP, VERSION, NS, PLURALS["FlinkStateSnapshot"],
                                                          label_selector=label_selector)["items"]

    def events(self, name: str) -> list[dict[str, Any]]:
        return [e.to_dict() for e in self._core.list_namespaced_event(NS).items
                if e.involved_object.name == name]

    def wait(self, predicate: Any, what: str, timeout: float = 15.0) -> Any:
        return self.cluster.wait_for(predicate, timeout=timeout, what=what)

    def wait_gone(self, kind: str, name: str) -> None:
        self.wait(lambda: self.get(kind, name) is None, f"{kind} {name} deleted")

    def wait_stable(self, name: str, kind: str = "FlinkDeployment") -> dict[str, Any]:
        def stable() -> dict[str, Any] | None:
            obj = self.get(kind, name) or {}
            status = obj.get("status") or {}
            done = (status.get("lifecycleState") == "STABLE"
                    and status.get("observedGeneration") == obj["metadata"].get("generation")
                    and (status.get("jobStatus") or {}).get("state") == "RUNNING")
            return status if done else None

        return self.wait(stable, f"{kind} {name} STABLE and RUNNING")

    def wait_lifecycle(self, name: str, state: str, kind: str = "FlinkDeployment") -> dict[str, Any]:
        def reached() -> dict[str, Any] | None:
            obj = self.get(kind, name) or {}
            status = obj.get("status") or {}
            caught_up = status.get("observedGeneration") == obj.get("metadata", {}).get("generation")
            return status if caught_up and status.get("lifecycleState") == state else None

        return self.wait(reached, f"{kind} {name} {state}")

    def wait_snapshot(self, name: str, *states: str) -> dict[str, Any]:
        return self.wait(lambda: (s := self.status("FlinkStateSnapshot", name)).get("state") in states and s,
                         f"snapshot {name} in {states}")

    def wait_passes(self, count: int = 5) -> None:
        """Wait until the operator has looked at every resource ``count`` more times."""
        start = self.operator.passes
        self.wait(lambda: self.operator.passes >= start + count, f"{count} reconcile passes")


def deployment(name: str = "orders", *, upgrade_mode: str = "savepoint", parallelism: int = 2,
               conf: dict[str, str] | None = None, **job: Any) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "FlinkDeployment", "metadata": {"name": name, "namespace": NS},
        "spec": {
            "image": "flink:1.20", "flinkVersion": "v1_20", "serviceAccount": "flink",
            "flinkConfiguration": {"execution.checkpointing.interval": "30 s", "state.checkpoints.dir": "s3://state/cp",
                                   "state.savepoints.dir": "s3://state/sp", "high-availability.type": "kubernetes",
                                   "high-availability.storageDir": "s3://state/ha", **(conf or {})},
            "jobManager": {"resource": {"memory": "2g", "cpu": 1}},
            "taskManager": {"resource": {"memory": "2g", "cpu": 1}},
            "job": {"jarURI": "local:///opt/flink/usrlib/orders.jar", "parallelism": parallelism,
                    "upgradeMode": upgrade_mode, **job},
        },
    }


def savepoint_snapshot(name: str, job: str = "orders", **savepoint: Any) -> dict[str, Any]:
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "FlinkStateSnapshot",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"jobReference": {"kind": "FlinkDeployment", "name": job}, "savepoint": savepoint}}


def checkpoint_snapshot(name: str, job: str = "orders") -> dict[str, Any]:
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "FlinkStateSnapshot",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"jobReference": {"kind": "FlinkDeployment", "name": job}, "checkpoint": {}}}


def _kube(cluster: SimulatedCluster) -> Iterator[Kube]:
    kube = Kube(cluster)
    try:
        yield kube
    finally:
        kube.close()


@pytest.fixture
def kube(emulated: SimulatedCluster) -> Iterator[Kube]:
    """Snapshot resources on, CRD served (operator 1.10+ defaults)."""
    yield from _kube(emulated)


@pytest.fixture
def kube_no_snapshot_controller() -> Iterator[Kube]:
    """The FlinkStateSnapshot CRD installed, but ``kubernetes.operator.snapshot.resource.enabled: false``."""
    with SimulatedCluster(crd_dir=crd_dir_from_env(), serve_snapshots=True, snapshot_resources=False,
                          bookmark_interval=0.2) as cluster:
        yield from _kube(cluster)


def _epoch_ms_string(value: Any) -> int:
    assert isinstance(value, str) and value.isdigit(), f"expected an epoch-ms string, got {value!r}"
    return int(value)


def _parse_iso(value: str) -> datetime:
    assert ISO_INSTANT.match(value), f"not an ISO_INSTANT timestamp: {value!r}"
    return _fromisoformat(value)


def _fromisoformat(value: str) -> datetime:
    """The standard library's ISO parser; before Python 3.11 it takes neither ``Z`` nor more than 6 fraction
    digits, so there the instant is spelled the way it does take (``+00:00``, microseconds)."""
    if sys.version_info < (3, 11):
        value = re.sub(r"(\.\d{6})\d+", r"\1", value).replace("Z", "+00:00")
    return datetime.fromisoformat(value)


# --- h, bullet 1: timestamps differ by field ---------------------------------------------------------


def test_snapshot_timestamps_are_iso_instants_in_utc(kube: Kube) -> None:
    """h, bullet 1 (``FlinkStateSnapshotUtils.snapshotInProgress`` / ``snapshotSuccessful`` with
    ``DateTimeUtils.kubernetes``): ``triggerTimestamp`` / ``resultTimestamp`` are ISO-8601 instants, not epoch ms."""
    kube.create(deployment())
    kube.wait_stable("orders")
    before = datetime.now(timezone.utc)
    kube.create(savepoint_snapshot("sp-1"))
    status = kube.wait_snapshot("sp-1", "COMPLETED")
    triggered, completed = _parse_iso(status["triggerTimestamp"]), _parse_iso(status["resultTimestamp"])
    assert triggered.utcoffset().total_seconds() == 0
    assert before.timestamp() - 1 <= triggered.timestamp() <= completed.timestamp() <= time.time() + 1


def test_already_existing_savepoint_gets_one_instant_for_trigger_and_result(kube: Kube) -> None:
    """h, bullet 1, and reference d (``alreadyExists``): ``snapshotSuccessful(..., setTriggerTimestamp=true)``
    stamps both fields with the same ISO instant, no job needed."""
    kube.create(savepoint_snapshot("imported", job="nobody", path="s3://old/savepoint-1", alreadyExists=True))
    status = kube.wait_snapshot("imported", "COMPLETED")
    assert status["path"] == "s3://old/savepoint-1"
    assert status["triggerTimestamp"] == status["resultTimestamp"]
    _parse_iso(status["resultTimestamp"])


@pytest.mark.parametrize(("epoch_ns", "digits", "expected"), [
    (1_795_726_800_000_000_000, 9, "2026-11-26T21:00:00Z"),
    (1_795_726_800_123_000_000, 9, "2026-11-26T21:00:00.123Z"),
    (1_795_726_800_123_456_000, 9, "2026-11-26T21:00:00.123456Z"),
    (1_795_726_800_123_456_789, 9, "2026-11-26T21:00:00.123456789Z"),
    (1_795_726_800_123_456_789, 6, "2026-11-26T21:00:00.123456Z"),
    (1_795_726_800_123_456_789, 3, "2026-11-26T21:00:00.123Z"),
])
def test_kubernetes_timestamp_formats_like_iso_instant(epoch_ns: int, digits: int, expected: str) -> None:
    """h, bullet 1: ``DateTimeUtils.kubernetes`` uses ``DateTimeFormatter.ISO_INSTANT``, which prints UTC with
    ``Z`` whatever the JVM zone, and the fraction in groups of three digits, as many as needed (none at all
    on a whole second) — so a parser must not assume milliseconds."""
    assert kubernetes_timestamp(epoch_ns, digits) == expected
    truncated = epoch_ns - epoch_ns % 10 ** (9 - digits)
    assert _fromisoformat(expected).timestamp() == pytest.approx(truncated / 1e9, abs=1e-6)


def test_millisecond_clock_gives_millisecond_snapshot_timestamps() -> None:
    """h, bullet 1: with ``clock_digits=3`` (a JVM whose clock ticks in milliseconds) the simulator's snapshot
    timestamps look like the reference's example ``2026-11-26T21:00:00.123Z`` (or ``...:00Z``)."""
    with SimulatedCluster(crd_dir=crd_dir_from_env(), clock_digits=3, bookmark_interval=0.2) as cluster:
        for kube in _kube(cluster):
            kube.create(savepoint_snapshot("imported", job="nobody", path="s3://old/sp", alreadyExists=True))
            stamp = kube.wait_snapshot("imported", "COMPLETED")["resultTimestamp"]
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z", stamp), stamp


def test_job_start_and_update_times_are_epoch_ms_strings(kube: Kube) -> None:
    """h, bullet 1 (``JobStatusObserver``: ``String.valueOf(...)``): ``jobStatus.startTime`` / ``updateTime`` are
    epoch milliseconds as strings; startTime is set when the job starts."""
    before = int(time.time() * 1000)
    kube.create(deployment())
    job = kube.wait_stable("orders")["jobStatus"]
    started, updated = _epoch_ms_string(job["startTime"]), _epoch_ms_string(job["updateTime"])
    assert before <= started <= updated <= int(time.time() * 1000)


def test_legacy_savepoint_info_times_are_epoch_ms_numbers(kube_no_snapshot_controller: Kube) -> None:
    """h, bullet 1 and reference d (legacy mode): ``savepointInfo.triggerTimestamp`` and
    ``savepointInfo.lastSavepoint.timeStamp`` are epoch-ms numbers; the savepoint's timeStamp is its trigger
    time (``SnapshotObserver.observeTriggeredSavepoint``)."""
    kube = kube_no_snapshot_controller
    kube.create(deployment())
    kube.wait_stable("orders")
    kube.operator.behave("orders", savepoint="hang")
    kube.patch_spec("FlinkDeployment", "orders", {"job": {"savepointTriggerNonce": 1}})
    pending = kube.wait(lambda: (kube.job("orders").get("savepointInfo") or {}).get("triggerId")
                        and kube.job("orders")["savepointInfo"], "savepoint pending")
    assert type(pending["triggerTimestamp"]) is int and pending["triggerType"] == "MANUAL"
    kube.operator.behave("orders", savepoint="ok")
    last = kube.wait(lambda: (kube.job("orders").get("savepointInfo") or {}).get("lastSavepoint"), "savepoint done")
    assert type(last["timeStamp"]) is int and last["timeStamp"] == pending["triggerTimestamp"]
    assert last["triggerNonce"] == 1 and last["location"].startswith("s3://state/sp/")


# --- h, bullet 2: upgradeSavepointPath is not always a savepoint -------------------------------------


def test_savepoint_upgrade_records_the_path_and_an_upgrade_snapshot(kube: Kube) -> None:
    """h, bullet 2, reference d (``AbstractJobReconciler.setUpgradeSavepointPath``,
    ``FlinkStateSnapshotUtils.createUpgradeSnapshotResource``): a savepoint-mode upgrade sets the real path
    and records an UPGRADE FlinkStateSnapshot (already existing, disposeOnDelete from
    ``kubernetes.operator.savepoint.dispose-on-delete``, default false)."""
    kube.create(deployment())
    kube.wait_stable("orders")
    kube.patch_spec("FlinkDeployment", "orders", {"job": {"parallelism": 4}})
    path = kube.wait(lambda: kube.job("orders").get("upgradeSavepointPath"), "upgrade savepoint path")
    assert path.startswith("s3://state/sp/savepoint-")
    (snap,) = kube.wait(lambda: kube.snapshots("snapshot.trigger-type=UPGRADE"), "upgrade snapshot")
    assert re.fullmatch(r"orders-savepoint-upgrade-\d{13}", snap["metadata"]["name"])
    assert snap["spec"]["savepoint"] == {"path": path, "alreadyExists": True, "disposeOnDelete": False,
                                         "formatType": "CANONICAL"}
    assert snap["spec"]["jobReference"] == {"kind": "FlinkDeployment", "name": "orders"}
    assert kube.wait_snapshot(snap["metadata"]["name"], "COMPLETED")["path"] == path


def test_savepoint_suspend_without_snapshot_resources_records_an_upgrade_savepoint_info(
        kube_no_snapshot_controller: Kube) -> None:
    """h, bullet 2 and reference d: with snapshot resources disabled the stop-with-savepoint goes to
    ``savepointInfo.lastSavepoint`` with triggerType UPGRADE (and no FlinkStateSnapshot is created)."""
    kube = kube_no_snapshot_controller
    kube.create(deployment())
    kube.wait_stable("orders")
    kube.patch_spec("FlinkDeployment", "orders", {"job": {"state": "suspended"}})
    status = kube.wait_lifecycle("orders", "SUSPENDED")
    last = status["jobStatus"]["savepointInfo"]["lastSavepoint"]
    assert last["triggerType"] == "UPGRADE" and type(last["timeStamp"]) is int
    assert last["location"] == status["jobStatus"]["upgradeSavepointPath"]
    assert kube.snapshots() == []


def test_last_state_upgrade_sets_the_dummy_path_and_keeps_the_job_id(kube: Kube) -> None:
    """h, bullet 2 (``ApplicationReconciler.deploy``: ``LAST_STATE_DUMMY_SP_PATH``): a last-state redeploy
    with a checkpoint in the HA metadata sets ``upgradeSavepointPath`` to the literal
    ``KUBERNETES_OPERATOR_LAST_STATE``; no savepoint is taken, and ``setJobIdIfNecessary`` keeps the job id."""
    kube.create(deployment(upgrade_mode="last-state"))
    job_id = kube.wait_stable("orders")["jobStatus"]["jobId"]
    kube.patch_spec("FlinkDeployment", "orders", {"job": {"parallelism": 4}})
    kube.wait(lambda: kube.status("FlinkDeployment", "orders").get("observedGeneration") == 2, "upgrade picked up")
    job = kube.wait_stable("orders")["jobStatus"]
    assert job["upgradeSavepointPath"] == LAST_STATE_DUMMY_SP_PATH == "KUBERNETES_OPERATOR_LAST_STATE"
    assert job["jobId"] == job_id
    assert kube.snapshots() == []


def test_stateless_and_last_state_stops_keep_an_older_real_path(kube: Kube) -> None:
    """h, bullet 2: a stateless or last-state suspend/upgrade does not clear an older real path (only
    ``setUpgradeSavepointPath`` after a savepoint and the last-state deploy write the field); resuming a
    last-state suspend deploys the last-state way and sets the dummy path."""
    kube.create(deployment())
    kube.wait_stable("orders")
    kube.patch_spec("FlinkDeployment", "orders", {"job": {"parallelism": 3}})  # savepoint upgrade
    kube.wait(lambda: kube.status("FlinkDeployment", "orders").get("observedGeneration") == 2, "upgrade picked up")
    real = kube.wait_stable("orders")["jobStatus"]["upgradeSavepointPath"]
    assert real.startswith("s3://state/sp/savepoint-")

    kube.patch_spec("FlinkDeployment", "orders", {"job": {"upgradeMode": "stateless", "parallelism": 4}})
    kube.wait(lambda: kube.status("FlinkDeployment", "orders").get("observedGeneration") == 3, "stateless upgrade")
    assert kube.wait_stable("orders")["jobStatus"]["upgradeSavepointPath"] == real

    kube.patch_spec("FlinkDeployment", "orders", {"job": {"state": "suspended"}})  # stateless suspend
    assert kube.wait_lifecycle("orders", "SUSPENDED")["jobStatus"]["upgradeSavepointPath"] == real
    kube.patch_spec("FlinkDeployment", "orders", {"job": {"state": "running", "upgradeMode": "last-state"}})
    kube.wait(lambda: kube.status("FlinkDeployment", "orders").get("observedGeneration") == 5, "resumed")
    assert kube.wait_stable("orders")["jobStatus"]["upgradeSavepointPath"] == real  # stopped stateless: stateless start

    kube.patch_spec("FlinkDeployment", "orders", {"job": {"state": "suspended"}})  # last-state suspend
    status = kube.wait_lifecycle("orders", "SUSPENDED")
    assert status["jobStatus"]["upgradeSavepointPath"] == real
    assert status["jobStatus"]["state"] == "FINISHED"  # AbstractFlinkService.cancelJob, whatever the mode
    kube.patch_spec("FlinkDeployment", "orders", {"job": {"state": "running"}})
    kube.wait(lambda: kube.status("FlinkDeployment", "orders").get("observedGeneration") == 7, "resumed")
    assert kube.wait_stable("orders")["jobStatus"]["upgradeSavepointPath"] == LAST_STATE_DUMMY_SP_PATH


def test_first_deployment_from_an_initial_savepoint_records_it(kube: Kube) -> None:
    """h, bullet 2 ("where the next start would restore from";
    ``AbstractFlinkResourceReconciler.updateStatusBeforeFirstDeployment``): ``initialSavepointPath`` is the
    first ``upgradeSavepointPath``."""
    kube.create(deployment(initialSavepointPath="s3://old/savepoint-7"))
    assert kube.wait_stable("orders")["jobStatus"]["upgradeSavepointPath"] == "s3://old/savepoint-7"


def test_savepoint_mode_upgrade_of_a_failed_job_restores_from_the_latest_checkpoint(kube: Kube) -> None:
    """h, bullet 2 (``SnapshotObserver.observeLatestCheckpoint``, ``AbstractJobReconciler.useStatusSavepoint``):
    once the job is globally terminal the latest checkpoint becomes ``upgradeSavepointPath`` — not a
    savepoint — and a savepoint-mode upgrade restores from it without taking a savepoint."""
    kube.operator.behave("orders", fail_after=0.05)
    kube.create(deployment())
    kube.wait(lambda: kube.job("orders").get("state") == "FAILED", "job FAILED")
    job = kube.job("orders")
    checkpoint = job["upgradeSavepointPath"]
    assert checkpoint.startswith(f"s3://state/cp/{job['jobId']}/chk-")
    kube.operator.behave("orders", fail_after=None)
    kube.patch_spec("FlinkDeployment", "orders", {"job": {"parallelism": 4}})
    kube.wait(lambda: kube.status("FlinkDeployment", "orders").get("observedGeneration") == 2, "upgrade picked up")
    assert kube.wait_stable("orders")["jobStatus"]["upgradeSavepointPath"] == checkpoint
    assert any(f"Restoring job from savepoint {checkpoint}" in line for line in kube.cluster.jobmanager_log("orders"))
    assert kube.snapshots("snapshot.trigger-type=UPGRADE") == []


# --- h, bullet 3: disposeOnDelete ---------------------------------------------------------------------


def _completed_savepoint(kube: Kube, name: str = "sp-1", **savepoint: Any) -> dict[str, Any]:
    kube.create(deployment())
    kube.wait_stable("orders")
    kube.create(savepoint_snapshot(name, **savepoint))
    return kube.wait_snapshot(name, "COMPLETED")


def test_dispose_on_delete_defaults_to_true_and_deleting_disposes_the_data(kube: Kube) -> None:
    """h, bullet 3 (``SavepointSpec.disposeOnDelete = true``, ``StateSnapshotReconciler.cleanup``): deleting a
    COMPLETED savepoint snapshot of a running job disposes of the savepoint data, then the CR goes."""
    path = _completed_savepoint(kube)["path"]
    assert SNAPSHOT_FINALIZER in kube.get("FlinkStateSnapshot", "sp-1")["metadata"]["finalizers"]
    kube.delete("FlinkStateSnapshot", "sp-1")
    kube.wait_gone("FlinkStateSnapshot", "sp-1")
    assert kube.operator.disposed_savepoints == [path]


def test_dispose_on_delete_false_keeps_the_data(kube: Kube) -> None:
    """h, bullet 3: with ``disposeOnDelete: false`` the CR is deleted and the savepoint data stays."""
    _completed_savepoint(kube, disposeOnDelete=False)
    kube.delete("FlinkStateSnapshot", "sp-1")
    kube.wait_gone("FlinkStateSnapshot", "sp-1")
    assert kube.operator.disposed_savepoints == []


def test_delete_hangs_while_the_referenced_job_is_not_running(kube: Kube) -> None:
    """h, bullet 3 (``StateSnapshotReconciler.getFlinkDeployment``, ``FlinkStateSnapshotController.cleanup``):
    with the job not running the cleanup throws "... is not running!", reported as a CleanupFailed Warning
    Event; the finalizer stays, so the delete hangs — until the job runs again, when the data is disposed."""
    path = _completed_savepoint(kube)["path"]
    kube.patch_spec("FlinkDeployment", "orders", {"job": {"state": "suspended", "upgradeMode": "stateless"}})
    kube.wait_lifecycle("orders", "SUSPENDED")
    kube.delete("FlinkStateSnapshot", "sp-1")
    message = "Cannot dispose of snapshot because referenced Flink job is not running!"
    event = kube.wait(lambda: [e for e in kube.events("sp-1") if e["reason"] == "CleanupFailed"], "CleanupFailed")[0]
    assert event["message"] == message and event["type"] == "Warning"
    kube.wait_passes()
    stuck = kube.get("FlinkStateSnapshot", "sp-1")
    assert stuck["metadata"]["deletionTimestamp"] and SNAPSHOT_FINALIZER in stuck["metadata"]["finalizers"]
    assert kube.operator.disposed_savepoints == []
    kube.patch_spec("FlinkDeployment", "orders", {"job": {"state": "running"}})
    kube.wait_gone("FlinkStateSnapshot", "sp-1")
    assert kube.operator.disposed_savepoints == [path]


def test_delete_hangs_when_the_referenced_job_is_gone(kube: Kube) -> None:
    """h, bullet 3: a final savepoint that must outlive its job needs ``disposeOnDelete: false``; with the
    default, once the FlinkDeployment is deleted the cleanup fails with "Cannot dispose of snapshot because
    referenced Flink job cannot be found!" and the snapshot cannot be deleted."""
    _completed_savepoint(kube)
    kube.delete("FlinkDeployment", "orders")
    kube.wait_gone("FlinkDeployment", "orders")
    kube.delete("FlinkStateSnapshot", "sp-1")
    message = "Cannot dispose of snapshot because referenced Flink job cannot be found!"
    kube.wait(lambda: any(e["message"] == message for e in kube.events("sp-1")), "CleanupFailed event")
    kube.wait_passes()
    assert kube.get("FlinkStateSnapshot", "sp-1")["metadata"]["deletionTimestamp"]
    assert kube.operator.disposed_savepoints == []
    kube.drop_finalizers("FlinkStateSnapshot", "sp-1")  # what a person would do: the data stays
    kube.wait_gone("FlinkStateSnapshot", "sp-1")


def test_in_progress_snapshot_blocks_deletion_for_good(kube: Kube) -> None:
    """h, bullet 3 ("IN_PROGRESS snapshots block deletion"), as the source has it: once a snapshot is being
    deleted JOSDK calls only ``FlinkStateSnapshotController.cleanup`` — the observer that would complete it
    no longer runs — and ``StateSnapshotReconciler.cleanup`` keeps the finalizer while the state is
    IN_PROGRESS. So the state never changes and the delete hangs, silently (no event), until someone removes
    the finalizer; nothing is disposed."""
    kube.create(deployment())
    kube.wait_stable("orders")
    kube.operator.behave("orders", savepoint="hang")
    kube.create(savepoint_snapshot("sp-1"))
    kube.wait_snapshot("sp-1", "IN_PROGRESS")
    kube.delete("FlinkStateSnapshot", "sp-1")
    kube.operator.behave("orders", savepoint="ok")  # the savepoint itself would finish now
    kube.wait_passes(10)
    stuck = kube.get("FlinkStateSnapshot", "sp-1")
    assert stuck["metadata"]["deletionTimestamp"] and stuck["status"]["state"] == "IN_PROGRESS"
    assert not [e for e in kube.events("sp-1") if e["reason"] == "CleanupFailed"]
    kube.drop_finalizers("FlinkStateSnapshot", "sp-1")
    kube.wait_gone("FlinkStateSnapshot", "sp-1")
    assert kube.operator.disposed_savepoints == []


@pytest.mark.parametrize("outcome", ["FAILED", "ABANDONED"])
def test_failed_and_abandoned_snapshots_are_deleted_without_disposal(kube: Kube, outcome: str) -> None:
    """h, bullet 3: FAILED / TRIGGER_PENDING / ABANDONED snapshots are deleted without disposal."""
    kube.create(deployment())
    kube.wait_stable("orders")
    if outcome == "FAILED":
        kube.operator.behave("orders", savepoint="fail")
        kube.create({**savepoint_snapshot("sp-1"), "spec": {**savepoint_snapshot("sp-1")["spec"], "backoffLimit": 0}})
    else:
        kube.patch_spec("FlinkDeployment", "orders", {"job": {"state": "suspended"}})
        kube.wait_lifecycle("orders", "SUSPENDED")
        kube.create(savepoint_snapshot("sp-1"))
    kube.wait_snapshot("sp-1", outcome)
    kube.delete("FlinkStateSnapshot", "sp-1")
    kube.wait_gone("FlinkStateSnapshot", "sp-1")
    assert kube.operator.disposed_savepoints == []


def test_checkpoint_snapshot_deletion_removes_only_the_resource(kube: Kube) -> None:
    """h, bullet 3 and reference d: for checkpoints only the CR is deleted, never data."""
    kube.create(deployment())
    kube.wait_stable("orders")
    kube.create(checkpoint_snapshot("cp-1"))
    kube.wait_snapshot("cp-1", "COMPLETED")
    kube.delete("FlinkStateSnapshot", "cp-1")
    kube.wait_gone("FlinkStateSnapshot", "cp-1")
    assert kube.operator.disposed_savepoints == []


@pytest.mark.parametrize(("conf", "expected"), [({}, False),
                                                ({"kubernetes.operator.savepoint.dispose-on-delete": "true"}, True)])
def test_operator_created_savepoints_take_dispose_on_delete_from_the_config(kube: Kube, conf: dict[str, str],
                                                                            expected: bool) -> None:
    """h, bullet 3 and reference d: snapshots the operator creates (here for a ``savepointTriggerNonce``) get
    ``disposeOnDelete`` from ``kubernetes.operator.savepoint.dispose-on-delete`` (default false), not
    ``SavepointSpec``'s default."""
    kube.create(deployment(conf=conf))
    kube.wait_stable("orders")
    kube.patch_spec("FlinkDeployment", "orders", {"job": {"savepointTriggerNonce": 7}})
    (snap,) = kube.wait(lambda: kube.snapshots("snapshot.trigger-type=MANUAL"), "manual snapshot")
    assert re.fullmatch(r"orders-savepoint-manual-\d{13}", snap["metadata"]["name"])
    assert snap["spec"]["savepoint"]["disposeOnDelete"] is expected
    assert snap["spec"]["savepoint"]["alreadyExists"] is False
    status = kube.wait_snapshot(snap["metadata"]["name"], "COMPLETED")
    kube.delete("FlinkStateSnapshot", snap["metadata"]["name"])
    kube.wait_gone("FlinkStateSnapshot", snap["metadata"]["name"])
    assert kube.operator.disposed_savepoints == ([status["path"]] if expected else [])


# --- h, bullet 4: the snapshot controller only when enabled ------------------------------------------


def test_disabled_snapshot_resources_leave_snapshots_unreconciled(kube_no_snapshot_controller: Kube) -> None:
    """h, bullet 4 (``FlinkOperator.registerSnapshotController`` does nothing when
    ``kubernetes.operator.snapshot.resource.enabled`` is false): the CRD is installed, a FlinkStateSnapshot
    can be created, but nobody reconciles it — no status, no finalizer, no labels, ever; deleting it is
    immediate."""
    kube = kube_no_snapshot_controller
    kube.create(deployment())
    kube.wait_stable("orders")
    kube.create(savepoint_snapshot("sp-1"))
    kube.wait_passes(10)
    snap = kube.get("FlinkStateSnapshot", "sp-1")
    assert "status" not in snap or not snap["status"]
    assert not snap["metadata"].get("finalizers") and not snap["metadata"].get("labels")
    kube.delete("FlinkStateSnapshot", "sp-1")
    kube.wait_gone("FlinkStateSnapshot", "sp-1")


def test_disabled_snapshot_resources_take_nonce_savepoints_the_legacy_way(kube_no_snapshot_controller: Kube) -> None:
    """h, bullet 4 and reference d (legacy mode): with the controller disabled a ``savepointTriggerNonce``
    savepoint completes in ``savepointInfo`` and creates no FlinkStateSnapshot."""
    kube = kube_no_snapshot_controller
    kube.create(deployment())
    kube.wait_stable("orders")
    kube.patch_spec("FlinkDeployment", "orders", {"job": {"savepointTriggerNonce": 3}})
    last = kube.wait(lambda: ((kube.job("orders").get("savepointInfo") or {}).get("lastSavepoint") or {})
                     .get("triggerNonce") == 3 and kube.job("orders")["savepointInfo"]["lastSavepoint"], "savepoint")
    assert last["triggerType"] == "MANUAL" and last["location"].startswith("s3://state/sp/")
    assert kube.snapshots() == []


def test_job_level_switch_disables_snapshot_resources_for_that_job(kube: Kube) -> None:
    """h, bullet 4 and reference d (``FlinkStateSnapshotUtils.isSnapshotResourceEnabled``: the operator's
    setting AND the job's): ``kubernetes.operator.snapshot.resource.enabled: false`` in one job's
    ``flinkConfiguration`` sends its nonce savepoints the legacy way while the controller runs."""
    kube.create(deployment(conf={"kubernetes.operator.snapshot.resource.enabled": "false"}))
    kube.wait_stable("orders")
    kube.patch_spec("FlinkDeployment", "orders", {"job": {"savepointTriggerNonce": 3}})
    kube.wait(lambda: ((kube.job("orders").get("savepointInfo") or {}).get("lastSavepoint") or {})
              .get("triggerNonce") == 3, "legacy savepoint")
    assert kube.snapshots() == []


# --- fresh job ids (reference c/e; ApplicationReconciler.setJobIdIfNecessary) -------------------------


def test_every_deployment_gets_a_fresh_job_id(kube: Kube) -> None:
    """Reference c/e and h, bullet 2 (``ApplicationReconciler.setJobIdIfNecessary``: "Rotate job id when not
    last-state deployment"): deploy, savepoint upgrade, savepoint resume and a delete + re-create each run a
    new Flink job with a new id (recorded before submission) and a new startTime; a re-created resource
    also has a new uid."""
    seen: list[str] = []
    started: list[int] = []

    def settle(generation: int) -> None:
        kube.wait(lambda: kube.status("FlinkDeployment", "orders").get("observedGeneration") == generation,
                  f"generation {generation} picked up")
        job = kube.wait_stable("orders")["jobStatus"]
        seen.append(job["jobId"])
        started.append(_epoch_ms_string(job["startTime"]))

    first = kube.create(deployment())
    settle(1)
    kube.patch_spec("FlinkDeployment", "orders", {"job": {"parallelism": 4}})
    settle(2)
    kube.patch_spec("FlinkDeployment", "orders", {"job": {"state": "suspended"}})
    kube.wait_lifecycle("orders", "SUSPENDED")
    kube.patch_spec("FlinkDeployment", "orders", {"job": {"state": "running"}})
    settle(4)
    kube.delete("FlinkDeployment", "orders")
    kube.wait_gone("FlinkDeployment", "orders")
    second = kube.create(deployment())
    settle(1)
    assert len(set(seen)) == 4, seen
    assert all(re.fullmatch(r"[0-9a-f]{32}", job_id) for job_id in seen)
    assert started == sorted(started) and len(set(started)) == 4
    assert first["metadata"]["uid"] != second["metadata"]["uid"]


def test_job_id_is_recorded_before_the_job_runs(kube: Kube) -> None:
    """``ApplicationReconciler.setJobIdIfNecessary`` records the id "before first deployment": it is in the
    status while the job is still RECONCILING."""
    kube.create(deployment())
    job = kube.wait(lambda: (j := kube.job("orders")).get("state") == "RECONCILING" and j, "RECONCILING")
    assert job.get("jobId")
    assert kube.wait_stable("orders")["jobStatus"]["jobId"] == job["jobId"]


def test_rollback_runs_a_new_job(kube: Kube) -> None:
    """Reference e (rollback) with ``setJobIdIfNecessary``: a stateless rollback to the last stable spec
    submits a new job."""
    kube.create(deployment(upgrade_mode="stateless",
                           conf={"kubernetes.operator.deployment.rollback.enabled": "true"}))
    job_id = kube.wait_stable("orders")["jobStatus"]["jobId"]
    kube.operator.behave("orders", upgrade="never-ready")
    kube.patch_spec("FlinkDeployment", "orders", {"job": {"parallelism": 8}})
    status = kube.wait(lambda: (s := kube.status("FlinkDeployment", "orders")).get("lifecycleState") == "ROLLED_BACK"
                       and s, "ROLLED_BACK")
    assert status["jobStatus"]["state"] == "RUNNING" and status["jobStatus"]["jobId"] != job_id


def test_session_job_gets_a_new_job_id_per_submission(kube: Kube) -> None:
    """``SessionJobReconciler.deploy`` generates a job id for every submission;
    ``AbstractFlinkService.cancelSessionJob`` leaves the job FINISHED with no id."""
    cluster = deployment("shared")
    del cluster["spec"]["job"]
    kube.create(cluster)
    kube.wait(lambda: kube.status("FlinkDeployment", "shared").get("jobManagerDeploymentStatus") == "READY",
              "session cluster ready")
    kube.create({"apiVersion": f"{GROUP}/{VERSION}", "kind": "FlinkSessionJob", "metadata": {"name": "topspeed",
                 "namespace": NS}, "spec": {"deploymentName": "shared", "job": {
                     "jarURI": "https://repo.example.com/topspeed.jar", "parallelism": 1, "upgradeMode": "stateless"}}})
    running = lambda: (j := kube.job("topspeed", "FlinkSessionJob")).get("state") == "RUNNING" and j  # noqa: E731
    first = kube.wait(running, "session job running")["jobId"]
    kube.patch_spec("FlinkSessionJob", "topspeed", {"job": {"state": "suspended"}})
    stopped = kube.wait(lambda: (j := kube.job("topspeed", "FlinkSessionJob")).get("state") == "FINISHED" and j,
                        "session job suspended")
    assert stopped.get("jobId") is None
    kube.patch_spec("FlinkSessionJob", "topspeed", {"job": {"state": "running"}})
    assert kube.wait(running, "session job resumed")["jobId"] not in (None, first)


# --- h, bullet 6: failure fields outlive a fix --------------------------------------------------------


@pytest.mark.parametrize("failure", ["job", "jobmanager"])
def test_failure_fields_stay_until_the_new_generation_is_reconciled(kube: Kube, failure: str) -> None:
    """h, last bullet (``ReconciliationUtils.updateStatusForSpecReconciliation`` clears ``error`` as it records
    the new spec and ``observedGeneration``): after a failed deployment, a fixed spec does not clear
    ``lifecycleState: FAILED`` / ``jobStatus.state: FAILED`` / ``jobManagerDeploymentStatus: ERROR`` /
    ``error`` until the operator reconciles the new generation; then they go."""
    if failure == "job":
        kube.operator.behave("orders", fail_after=0.05)
    else:
        kube.operator.behave("orders", jobmanager_error=True)
    kube.create(deployment())
    if failure == "job":
        failed = kube.wait_lifecycle("orders", "FAILED")
        assert failed["jobStatus"]["state"] == "FAILED"
    else:
        failed = kube.wait(lambda: (s := kube.status("FlinkDeployment", "orders")).get(
            "jobManagerDeploymentStatus") == "ERROR" and s, "JobManager ERROR")
    assert failed["error"]

    kube.operator.behave("orders", fail_after=None, jobmanager_error=False, pickup_delay=math.inf)
    kube.patch_spec("FlinkDeployment", "orders", {"job": {"parallelism": 1}})
    kube.wait_passes()
    window = kube.get("FlinkDeployment", "orders")
    assert window["metadata"]["generation"] == 2 and window["status"]["observedGeneration"] == 1
    for key in ("lifecycleState", "jobManagerDeploymentStatus", "jobStatus", "error"):
        assert window["status"][key] == failed[key], key  # still the failure, although the spec is fixed

    kube.operator.behave("orders", pickup_delay=0)
    caught_up = kube.wait(lambda: (s := kube.status("FlinkDeployment", "orders")).get("observedGeneration") == 2 and s,
                          "generation 2 reconciled")
    assert not caught_up.get("error") and caught_up["lifecycleState"] != "FAILED"
    kube.wait_stable("orders")


def test_pickup_delay_holds_a_new_generation_for_that_long(kube: Kube) -> None:
    """The ``pickup_delay`` knob (used above to open the window of h's last bullet deterministically): a finite
    delay postpones the operator's reconcile of a new generation, then it proceeds as usual."""
    kube.create(deployment())
    kube.wait_stable("orders")
    kube.operator.behave("orders", pickup_delay=0.3)
    changed_at = time.monotonic()
    kube.patch_spec("FlinkDeployment", "orders", {"job": {"parallelism": 4}})
    kube.wait(lambda: kube.status("FlinkDeployment", "orders").get("observedGeneration") == 2, "picked up")
    assert time.monotonic() - changed_at >= 0.3


# --- h, bullet 5: deletion propagation ---------------------------------------------------------------


def _delete_with(kube: Kube, name: str, propagation: str) -> None:
    kube._custom.delete_namespaced_custom_object(GROUP, VERSION, NS, PLURALS["FlinkDeployment"], name,
                                                 body=client.V1DeleteOptions(propagation_policy=propagation))


def test_savepoint_on_deletion_with_background_propagation_takes_the_savepoint(kube: Kube) -> None:
    """h, bullet 5 and reference d (``ApplicationReconciler.cleanupInternal``): with
    ``kubernetes.operator.job.savepoint-on-deletion`` the operator's finalizer stops the job with a savepoint
    through its JobManager — recorded as an UPGRADE FlinkStateSnapshot that outlives the deployment — then
    deletes the JobManager itself; a Background delete leaves it the JobManager to do so."""
    kube.create(deployment(conf={"kubernetes.operator.job.savepoint-on-deletion": "true"}))
    kube.wait_stable("orders")
    _delete_with(kube, "orders", "Background")
    kube.wait_gone("FlinkDeployment", "orders")
    (snap,) = kube.snapshots("snapshot.trigger-type=UPGRADE")
    assert snap["spec"]["savepoint"]["disposeOnDelete"] is False
    path = kube.wait_snapshot(snap["metadata"]["name"], "COMPLETED")["path"]
    assert path.startswith("s3://state/sp/savepoint-")


def test_savepoint_on_deletion_with_foreground_propagation_hangs(kube: Kube) -> None:
    """h, bullet 5: with Foreground propagation the garbage collector removes the owned JobManager while the
    operator's finalizer still needs it for the savepoint: the cleanup fails and is retried, no savepoint
    is taken and the FlinkDeployment stays in DELETING."""
    kube.create(deployment(conf={"kubernetes.operator.job.savepoint-on-deletion": "true"}))
    kube.wait_stable("orders")
    _delete_with(kube, "orders", "Foreground")
    kube.wait(lambda: kube.status("FlinkDeployment", "orders").get("lifecycleState") == "DELETING", "DELETING")
    kube.wait_passes(10)
    stuck = kube.get("FlinkDeployment", "orders")
    assert stuck is not None and "flinkdeployments.flink.apache.org/finalizer" in stuck["metadata"]["finalizers"]
    assert kube._core.list_namespaced_pod(NS, label_selector="app=orders,component=jobmanager").items == []
    assert kube.snapshots() == []
