"""Issue 23 item 4: with the FlinkStateSnapshot CRD installed but the operator's snapshot controller off
(``kubernetes.operator.snapshot.resource.enabled: false``, reference section h), the first savepoint finds out
(the pickup timeout, then ``savepointTriggerNonce``) and notes it in the namespace; the next ones use the nonce
at once, and after ``snapshot_controller_recheck`` a savepoint tries a FlinkStateSnapshot again."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from specs import NS, app
from task_harness import TaskInstanceStub, context_for, run_task

from airflow_flink_operator.operators import FlinkDeploymentOperator, FlinkSavepointOperator
from airflow_flink_operator.testing import SimulatedCluster

FAST = {"poll_interval": 0.05, "timeout": 30}
NOTE = "airflow-flink-snapshot-controller"
deferrable_modes = pytest.mark.parametrize("deferrable", [False, True], ids=["blocking", "deferrable"])
DOCUMENTED_ROLE = Path(__file__).resolve().parents[1] / "docs" / "rbac-role.yaml"


def _context(task_id: str, run: int = 1):
    return context_for(TaskInstanceStub(dag_id="hourly_savepoints", task_id=task_id,
                                        run_id=f"scheduled__2026-11-26T{run:02d}:00:00+00:00"))


def _simulated(monkeypatch, **kwargs):
    sim = SimulatedCluster(serve_snapshots=True, snapshot_resources=False, bookmark_interval=0.2, **kwargs).start()
    for key, value in sim.airflow_connection_env().items():
        monkeypatch.setenv(key, value)
    run_task(FlinkDeploymentOperator(task_id="deploy", deployment=app(), **FAST), _context("deploy"))
    return sim


@pytest.fixture
def controller_off(monkeypatch):
    """The CRD installed, the snapshot controller off, tasks bound to exactly the documented Role."""
    role = yaml.safe_load(DOCUMENTED_ROLE.read_text())
    role["metadata"]["namespace"] = NS
    sim = _simulated(monkeypatch, rbac_role=role)
    yield sim
    sim.stop()


def _savepoint(run: int, deferrable: bool = False, **kwargs):
    return run_task(FlinkSavepointOperator(task_id="savepoint", name="orders", deferrable=deferrable,
                                           **{"snapshot_pickup_timeout": 1, **FAST, **kwargs}), _context("savepoint", run))


def _snapshot_deletions(sim) -> int:
    return sum(d["plural"] == "flinkstatesnapshots" for d in sim.api.deletions)


def _note(sim) -> dict:
    obj = sim.api.get_object("configmaps", NS, NOTE)
    assert obj is not None, "no snapshot-controller note in the namespace"
    return obj["data"]


@deferrable_modes
def test_the_next_savepoint_uses_the_nonce_without_waiting_for_a_pickup(controller_off, deferrable):
    first = _savepoint(1, deferrable)
    assert first["nonce"] and _snapshot_deletions(controller_off) == 1  # found out the slow way, once
    assert _note(controller_off)["snapshotController"] == "absent"

    # A pickup wait could never end within the task's 30 s timeout: only not waiting passes.
    second = _savepoint(2, deferrable, snapshot_pickup_timeout=3600)
    assert second["nonce"] and second["savepoint_path"] and second["savepoint_path"] != first["savepoint_path"]
    assert controller_off.list("FlinkStateSnapshot") == [] and _snapshot_deletions(controller_off) == 1


def test_an_old_note_is_put_to_the_test_again_and_a_controller_turned_on_is_used(controller_off):
    _savepoint(1)
    controller_off.operator.snapshot_resources = True  # the operator restarted with the snapshot controller on

    again = _savepoint(2, snapshot_controller_recheck=0)
    assert again.get("snapshot") and "nonce" not in again
    assert _note(controller_off)["snapshotController"] == "running"

    third = _savepoint(3, snapshot_pickup_timeout=3600)
    assert third.get("snapshot"), "a controller found running must be used without re-checking"


@deferrable_modes
def test_a_false_no_controller_note_costs_no_savepoint(controller_off, deferrable):
    """The note was a false negative: the operator runs with snapshot resources on, so it records the nonce
    savepoint as a MANUAL FlinkStateSnapshot (AbstractJobReconciler.triggerSnapshotIfNeeded ->
    FlinkStateSnapshotUtils.createSavepointResource), never in savepointInfo. The savepoint is that snapshot's."""
    _savepoint(1, deferrable)
    assert _note(controller_off)["snapshotController"] == "absent"
    controller_off.operator.snapshot_resources = True  # e.g. the operator pod was restarting during the first one

    second = _savepoint(2, deferrable, snapshot_pickup_timeout=3600)
    snapshot = controller_off.get("FlinkStateSnapshot", second["snapshot"])
    assert snapshot["metadata"]["labels"]["snapshot.trigger-type"] == "MANUAL"
    assert second["nonce"] and second["savepoint_path"] == snapshot["status"]["path"]
    assert _note(controller_off)["snapshotController"] == "running"  # corrected at once, not after 6 h

    third = _savepoint(3, deferrable, snapshot_pickup_timeout=3600)
    assert third.get("snapshot") and "nonce" not in third


def test_an_old_note_of_a_controller_still_off_is_renewed(controller_off):
    _savepoint(1)
    noted = _note(controller_off)["checkedAt"]
    retried = _savepoint(2, snapshot_controller_recheck=timedelta(0))
    assert retried["nonce"] and _snapshot_deletions(controller_off) == 2  # it tried a snapshot again
    assert _note(controller_off)["snapshotController"] == "absent" and _note(controller_off)["checkedAt"] >= noted


def test_a_retry_after_the_note_was_written_drops_its_orphan_snapshot(controller_off):
    """A first try created a snapshot nobody reconciles; meanwhile another task noted the controller off."""
    _savepoint(1)
    hook = controller_off.hook()
    orphan = {"apiVersion": "flink.apache.org/v1beta1", "kind": "FlinkStateSnapshot",
              "metadata": {"name": "orders-orphan", "namespace": NS},
              "spec": {"jobReference": {"kind": "FlinkDeployment", "name": "orders"}, "savepoint": {}}}
    hook.create_snapshot(orphan, NS)
    result = _savepoint(2, snapshot_name="orders-orphan", snapshot_pickup_timeout=3600)
    assert result["nonce"] and controller_off.list("FlinkStateSnapshot") == []


def test_without_rights_on_configmaps_the_savepoint_still_succeeds(monkeypatch, caplog):
    """The note only saves time: a Role without ConfigMaps costs the pickup wait each time, nothing else."""
    role = yaml.safe_load(DOCUMENTED_ROLE.read_text())
    role["metadata"]["namespace"] = NS
    role["rules"] = [rule for rule in role["rules"] if "configmaps" not in rule["resources"]]
    sim = _simulated(monkeypatch, rbac_role=role)
    try:
        with caplog.at_level(logging.WARNING, logger="airflow_flink_operator"):
            assert _savepoint(1)["nonce"]
        assert "Cannot read the snapshot-controller note" in caplog.text
        assert "Cannot write the snapshot-controller note" in caplog.text
        assert sim.api.get_object("configmaps", NS, NOTE) is None
    finally:
        sim.stop()
