"""A DAG never loses a job's state by accident (issue #10).

Each test arranges the simulated cluster the way the reference (section h) says the real
operator behaves, runs the tasks as Airflow would (deferrals included), and checks what a user
relies on: which savepoint a task reports, that it was taken of the job that runs now, and
that nothing is deleted or disposed of unless asked.
"""

from __future__ import annotations

import pytest
from specs import NS, app
from task_harness import TaskInstanceStub, context_for, run_task

from airflow_flink_operator.models.status import LAST_STATE_DUMMY_SAVEPOINT, parse_timestamp
from airflow_flink_operator.operators import (
    FlinkDeploymentOperator,
    FlinkResumeOperator,
    FlinkSavepointOperator,
    FlinkSavepointRetentionOperator,
    FlinkSuspendOperator,
    FlinkTaskError,
    FlinkTeardownOperator,
)
from airflow_flink_operator.testing import SimulatedCluster

FAST = {"poll_interval": 0.05, "timeout": 30}
deferrable_modes = pytest.mark.parametrize("deferrable", [False, True], ids=["blocking", "deferrable"])


def _context(task_id: str, try_number: int = 1):
    return context_for(TaskInstanceStub(dag_id="pipeline", task_id=task_id, run_id="manual__2026-11-26T10:00:00+00:00",
                                        try_number=try_number))


def _deploy(try_number: int = 1, deferrable: bool = False, **spec):
    op = FlinkDeploymentOperator(task_id="deploy", deployment=app(**spec), deferrable=deferrable, **FAST)
    return run_task(op, _context("deploy", try_number))


def _job(cluster, name: str = "orders"):
    return cluster.hook().get("FlinkDeployment", name, NS)


def _snapshot_of_path(cluster, path: str):
    found = [s for s in cluster.hook().list("FlinkStateSnapshot", NS) if (s.get("status") or {}).get("path") == path]
    assert len(found) == 1, f"no single snapshot with path {path}"
    return found[0]


@deferrable_modes
def test_a_cleared_run_tears_down_its_own_job_with_a_new_final_savepoint(cluster, deferrable):
    """Defect 1: the re-run of a cleared DAG run must not reuse the first run's final savepoint."""
    _deploy(deferrable=deferrable)
    first = run_task(FlinkTeardownOperator(task_id="teardown", name="orders", deferrable=deferrable, **FAST),
                     _context("teardown"))
    assert first["deleted"] and first["savepoint_path"]

    # The user clears the DAG run: the same run_id runs again, with a new job incarnation.
    _deploy(try_number=2, deferrable=deferrable)
    second_job_started = parse_timestamp(_job(cluster)["status"]["jobStatus"]["startTime"])
    second = run_task(FlinkTeardownOperator(task_id="teardown", name="orders", deferrable=deferrable, **FAST),
                      _context("teardown", try_number=2))

    assert second["deleted"] and second["savepoint_path"]
    assert second["savepoint_path"] != first["savepoint_path"]
    snapshot = _snapshot_of_path(cluster, second["savepoint_path"])
    assert parse_timestamp(snapshot["status"]["resultTimestamp"]) >= second_job_started
    for result in (first, second):
        # The final savepoint outlives its job: deleting its record later must not need the job.
        assert _snapshot_of_path(cluster, result["savepoint_path"])["spec"]["savepoint"]["disposeOnDelete"] is False


def test_savepoint_operator_after_a_redeploy_takes_a_savepoint_of_the_new_job(cluster):
    """Defect 1: FlinkSavepointOperator re-run against a re-created job returns a fresh path."""
    _deploy()
    first = run_task(FlinkSavepointOperator(task_id="sp", name="orders", **FAST), _context("sp"))
    cluster.hook().delete("FlinkDeployment", "orders", NS, timeout=30, poll_interval=0.05)
    _deploy(try_number=2)
    second = run_task(FlinkSavepointOperator(task_id="sp", name="orders", **FAST), _context("sp", try_number=2))
    assert second["savepoint_path"] != first["savepoint_path"]
    assert second["snapshot"] != first["snapshot"]


def test_a_retry_of_the_same_attempt_reattaches_to_its_savepoint(cluster):
    """A retry against the same job incarnation must not trigger a second savepoint."""
    _deploy()
    first = run_task(FlinkSavepointOperator(task_id="sp", name="orders", **FAST), _context("sp"))
    again = run_task(FlinkSavepointOperator(task_id="sp", name="orders", **FAST), _context("sp", try_number=2))
    assert again["savepoint_path"] == first["savepoint_path"]
    assert len(cluster.hook().list_snapshots("orders", NS)) == 1


@deferrable_modes
def test_last_state_suspend_reports_no_savepoint_and_teardown_refuses(cluster, deferrable):
    """Defect 2: after a savepoint suspend and resume, a last-state suspend leaves the old path in
    upgradeSavepointPath; no task may report it (or the last-state marker) as a savepoint."""
    _deploy(upgrade_mode="last-state")
    with_savepoint = run_task(FlinkSuspendOperator(task_id="s1", name="orders", deferrable=deferrable, **FAST),
                              _context("s1"))
    old_path = with_savepoint["savepoint_path"]
    assert old_path and old_path != LAST_STATE_DUMMY_SAVEPOINT
    # The suspend set upgradeMode: savepoint; the user goes back to last-state before resuming.
    cluster.hook().patch_spec("FlinkDeployment", "orders", {"job": {"upgradeMode": "last-state"}}, NS)
    resumed = run_task(FlinkResumeOperator(task_id="r1", name="orders", deferrable=deferrable, **FAST), _context("r1"))
    assert resumed.get("restored_from") in (None, old_path)

    last_state = run_task(FlinkSuspendOperator(task_id="s2", name="orders", with_savepoint=False,
                                               deferrable=deferrable, **FAST), _context("s2"))
    job_status = _job(cluster)["status"]["jobStatus"]
    assert job_status.get("upgradeSavepointPath") in (old_path, LAST_STATE_DUMMY_SAVEPOINT)  # what the operator leaves
    assert last_state["savepoint_path"] is None

    with pytest.raises(FlinkTaskError, match="suspended without a savepoint of its last run"):
        run_task(FlinkTeardownOperator(task_id="teardown", name="orders", deferrable=deferrable, **FAST),
                 _context("teardown"))
    assert _job(cluster) is not None, "the job's state is in HA checkpoints: nothing may be deleted"

    resumed = run_task(FlinkResumeOperator(task_id="r2", name="orders", deferrable=deferrable, **FAST), _context("r2"))
    assert "restored_from" not in resumed
    assert LAST_STATE_DUMMY_SAVEPOINT not in repr(resumed)


def test_teardown_of_a_job_suspended_with_a_savepoint_returns_that_savepoint(cluster):
    _deploy()
    suspended = run_task(FlinkSuspendOperator(task_id="suspend", name="orders", **FAST), _context("suspend"))
    result = run_task(FlinkTeardownOperator(task_id="teardown", name="orders", **FAST), _context("teardown"))
    assert result["deleted"] and result["savepoint_path"] == suspended["savepoint_path"]


def test_retention_and_restore_read_iso_snapshot_timestamps(cluster):
    """Defect 3: snapshot timestamps are ISO-8601 on the real operator; order by them."""
    _deploy()
    paths = []
    for i in range(3):
        result = run_task(FlinkSavepointOperator(task_id=f"sp{i}", name="orders", **FAST), _context(f"sp{i}"))
        paths.append(result["savepoint_path"])
    stamps = [s["status"]["resultTimestamp"] for s in cluster.hook().list_snapshots("orders", NS)]
    assert all("T" in stamp for stamp in stamps), stamps  # the simulator writes them as the operator does

    op = FlinkDeploymentOperator(task_id="replay", deployment=app("replay"),
                                 restore_from_latest_savepoint_of="orders", **FAST)
    assert run_task(op, _context("replay"))["initial_savepoint_path"] == paths[-1]

    pruned = run_task(FlinkSavepointRetentionOperator(task_id="prune", name="orders", keep_last=1, **FAST),
                      _context("prune"))
    newest = _snapshot_of_path(cluster, paths[-1])["metadata"]["name"]
    assert pruned["kept"] == [newest]
    assert len(pruned["deleted"]) == 2 and not pruned["not_deleted"]
    assert pruned["disposed_data"] is True
    assert sorted(cluster.operator.disposed_savepoints) == sorted(paths[:2])


def test_retention_that_keeps_data_disposes_nothing(cluster):
    _deploy()
    for i in range(2):
        run_task(FlinkSavepointOperator(task_id=f"sp{i}", name="orders", **FAST), _context(f"sp{i}"))
    pruned = run_task(FlinkSavepointRetentionOperator(task_id="prune", name="orders", keep_last=1, dispose_data=False,
                                                      **FAST), _context("prune"))
    assert len(pruned["deleted"]) == 1 and pruned["disposed_data"] is False
    assert cluster.operator.disposed_savepoints == []


def test_retention_of_a_deleted_job_reports_what_it_cannot_dispose_and_does_not_hang(cluster):
    """Defect 4: disposing needs the job; deleting such a snapshot would hang on its finalizer."""
    _deploy()
    for i in range(2):
        run_task(FlinkSavepointOperator(task_id=f"sp{i}", name="orders", **FAST), _context(f"sp{i}"))
    cluster.hook().delete("FlinkDeployment", "orders", NS, timeout=30, poll_interval=0.05)
    pruned = run_task(FlinkSavepointRetentionOperator(task_id="prune", name="orders", keep_last=1,
                                                      deletion_timeout=5, **FAST), _context("prune"))
    assert pruned["deleted"] == [] and len(pruned["not_deleted"]) == 1
    (reason,) = pruned["not_deleted"].values()
    assert "not running" in reason and "dispose_data=False" in reason
    assert len(cluster.hook().list_snapshots("orders", NS)) == 2  # nothing half-deleted

    kept_data = run_task(FlinkSavepointRetentionOperator(task_id="prune2", name="orders", keep_last=1,
                                                         dispose_data=False, deletion_timeout=60, **FAST),
                         _context("prune2"))
    assert len(kept_data["deleted"]) == 1 and not kept_data["not_deleted"]
    assert cluster.operator.disposed_savepoints == []


def test_the_final_savepoint_record_can_be_deleted_after_its_job_is_gone(cluster):
    """Defect 4: a teardown's final snapshot has disposeOnDelete false, so deleting it never hangs."""
    _deploy()
    result = run_task(FlinkTeardownOperator(task_id="teardown", name="orders", **FAST), _context("teardown"))
    name = _snapshot_of_path(cluster, result["savepoint_path"])["metadata"]["name"]
    cluster.hook().delete("FlinkStateSnapshot", name, NS, timeout=10, poll_interval=0.05)
    assert cluster.operator.disposed_savepoints == []


@pytest.fixture
def controller_off(monkeypatch):
    """The FlinkStateSnapshot CRD installed, the operator's snapshot controller off (reference h)."""
    with SimulatedCluster(serve_snapshots=True, snapshot_resources=False, bookmark_interval=0.2) as sim:
        for key, value in sim.airflow_connection_env().items():
            monkeypatch.setenv(key, value)
        yield sim


@deferrable_modes
def test_snapshot_without_a_controller_falls_back_to_the_nonce(controller_off, deferrable):
    """Defect 5: auto mode must not wait its whole timeout for a snapshot nobody reconciles."""
    _deploy()
    result = run_task(FlinkSavepointOperator(task_id="sp", name="orders", snapshot_pickup_timeout=1,
                                             deferrable=deferrable, **FAST), _context("sp"))
    assert result["savepoint_path"] and result["nonce"]
    assert controller_off.hook().list_snapshots("orders", NS) == []  # our orphan snapshot was removed


def test_snapshot_mode_without_a_controller_fails_saying_why(controller_off):
    _deploy()
    with pytest.raises(FlinkTaskError, match="snapshot controller is not running"):
        run_task(FlinkSavepointOperator(task_id="sp", name="orders", method="snapshot", snapshot_pickup_timeout=1,
                                        **FAST), _context("sp"))


def test_teardown_without_a_garbage_collector_deletes_with_background_propagation(monkeypatch):
    """Defect 6: Foreground propagation leaves ``foregroundDeletion`` for ever where no garbage collector runs."""
    with SimulatedCluster(bookmark_interval=0.2, garbage_collector=False) as sim:  # kube-apiserver + etcd, as envtest
        for key, value in sim.airflow_connection_env().items():
            monkeypatch.setenv(key, value)
        _deploy()
        result = run_task(FlinkTeardownOperator(task_id="teardown", name="orders", **FAST), _context("teardown"))
        assert result["deleted"] and sim.hook().get("FlinkDeployment", "orders", NS) is None
        policies = {d["propagationPolicy"] for d in sim.api.deletions if d["plural"] == "flinkdeployments"}
        assert policies == {"Background"}


def test_a_teardown_retried_after_its_delete_went_through_returns_the_final_savepoint(cluster):
    """#12 item 3: the retry must not say "nothing to tear down" and lose the path."""
    _deploy()
    first = run_task(FlinkTeardownOperator(task_id="teardown", name="orders", **FAST), _context("teardown"))
    retry = run_task(FlinkTeardownOperator(task_id="teardown", name="orders", **FAST), _context("teardown", 2))
    assert retry["savepoint_path"] == first["savepoint_path"] and retry["existed"] is True


def test_no_delete_once_airflow_told_the_task_to_stop(cluster):
    """#12 item 3: after on_kill (the supervisor's SIGTERM), a teardown deletes nothing."""
    _deploy()
    op = FlinkTeardownOperator(task_id="teardown", name="orders", savepoint="none", **FAST)
    op.on_kill()
    with pytest.raises(FlinkTaskError, match="told this task to stop"):
        run_task(op, _context("teardown"))
    assert _job(cluster) is not None
