"""Fault injection: the API misbehaves during waits, savepoints, upgrades and teardowns, and tasks
are retried at each step. Nothing terminal is missed, nothing is duplicated, nothing is deleted
without its requested savepoint, and every failure is a clear task error within the timeout."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

import pytest
from specs import app
from task_harness import TaskInstanceStub, context_for, run_task

from airflow_flink_operator.hooks import FlinkApiError
from airflow_flink_operator.operators import (
    FlinkDeploymentOperator,
    FlinkSavepointOperator,
    FlinkTaskError,
    FlinkTeardownOperator,
    FlinkUpgradeOperator,
)

FAST = {"poll_interval": 0.05, "timeout": 30}
deferrable_modes = pytest.mark.parametrize("deferrable", [False, True], ids=["blocking", "deferrable"])


@pytest.fixture
def cluster(cluster):
    cluster.operator.timings.stable_after = 0.4  # leave room for faults while waiting
    return cluster


@contextmanager
def chaos(cluster, period=0.12):
    """Network faults in turn in the background while the block runs; all faults cleared after it."""
    actions = network_chaos(cluster)
    stop = threading.Event()

    def run():
        i = 0
        while not stop.wait(period):
            actions[i % len(actions)]()
            i += 1

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        cluster.api.faults.clear()


def network_chaos(cluster):
    api = cluster.api
    return [
        api.drop_watches,
        lambda: api.faults.fail(500, times=2),
        lambda: (api.expire_history(), api.faults.fail(410, times=1, watch=True), api.drop_watches()),
        lambda: api.faults.drop(times=1),
        lambda: api.restart(downtime=0.05),
    ]


def retry(op_factory, task_id, attempts=4):
    """Run a task, retrying it as Airflow would (same task instance, next try number)."""
    for try_number in range(1, attempts + 1):
        try:
            return run_task(op_factory(), context_for(TaskInstanceStub(task_id=task_id, try_number=try_number)))
        except Exception as exc:  # any task failure: Airflow retries after retry_delay
            last = exc
            time.sleep(0.2)
    raise AssertionError(f"still failing after {attempts} tries: {last}")


@deferrable_modes
def test_deploy_wait_survives_chaos_and_sees_the_final_state(cluster, deferrable):
    with chaos(cluster):
        result = retry(lambda: FlinkDeploymentOperator(task_id="deploy", deployment=app(), wait_for="stable",
                                                       deferrable=deferrable, **FAST), "deploy")
    assert result["lifecycle_state"] == "STABLE"
    assert len(cluster.list("FlinkDeployment")) == 1
    assert cluster.get("FlinkDeployment", "orders")["metadata"]["generation"] == 1


@deferrable_modes
def test_savepoint_under_chaos_is_taken_exactly_once(cluster, deferrable):
    run_task(FlinkDeploymentOperator(task_id="deploy", deployment=app(), **FAST))
    with chaos(cluster):
        result = retry(lambda: FlinkSavepointOperator(task_id="savepoint", name="orders", deferrable=deferrable, **FAST),
                       "savepoint")
    assert result["savepoint_path"]
    assert len(cluster.list("FlinkStateSnapshot")) == 1


def test_a_failed_snapshot_create_then_retry_leaves_one_snapshot(cluster):
    run_task(FlinkDeploymentOperator(task_id="deploy", deployment=app(), **FAST))
    cluster.api.faults.fail(500, times=10, method="POST", path_contains="/flinkstatesnapshots")
    with pytest.raises(FlinkApiError):
        run_task(FlinkSavepointOperator(task_id="sp", name="orders", **FAST))
    cluster.api.faults.clear()
    result = run_task(FlinkSavepointOperator(task_id="sp", name="orders", **FAST),
                      context_for(TaskInstanceStub(task_id="sp", try_number=2)))
    assert result["savepoint_path"] and len(cluster.list("FlinkStateSnapshot")) == 1


@deferrable_modes
def test_upgrade_under_chaos_applies_one_generation_and_waits_for_stable(cluster, deferrable):
    run_task(FlinkDeploymentOperator(task_id="deploy", deployment=app(), **FAST))
    with chaos(cluster):
        result = retry(lambda: FlinkUpgradeOperator(task_id="upgrade", name="orders", spec_patch={"job": {"parallelism": 6}},
                                                    deferrable=deferrable, **FAST), "upgrade")
    assert result["lifecycle_state"] == "STABLE"
    obj = cluster.get("FlinkDeployment", "orders")
    assert obj["metadata"]["generation"] == 2 and obj["spec"]["job"]["parallelism"] == 6


def test_teardown_retried_after_an_api_failure_deletes_once_with_one_final_savepoint(cluster):
    run_task(FlinkDeploymentOperator(task_id="deploy", deployment=app(), **FAST))
    cluster.api.faults.fail(500, times=10, method="DELETE", path_contains="/flinkdeployments/orders")
    with pytest.raises(FlinkApiError):
        run_task(FlinkTeardownOperator(task_id="teardown", name="orders", **FAST),
                 context_for(TaskInstanceStub(task_id="teardown")))
    assert cluster.get("FlinkDeployment", "orders") is not None  # the failed try deleted nothing
    cluster.api.faults.clear()
    result = run_task(FlinkTeardownOperator(task_id="teardown", name="orders", **FAST),
                      context_for(TaskInstanceStub(task_id="teardown", try_number=2)))
    assert result["deleted"] and result["savepoint_path"]
    assert cluster.get("FlinkDeployment", "orders") is None
    assert len(cluster.list("FlinkStateSnapshot")) == 1  # the retry reattached to the first try's savepoint


@deferrable_modes
def test_teardown_never_deletes_while_the_savepoint_hangs(cluster, deferrable):
    run_task(FlinkDeploymentOperator(task_id="deploy", deployment=app(), **FAST))
    cluster.behave("orders", savepoint="hang")
    started = time.monotonic()
    with pytest.raises(FlinkTaskError, match="Timed out.*Nothing was deleted"):
        run_task(FlinkTeardownOperator(task_id="teardown", name="orders", deferrable=deferrable,
                                       poll_interval=0.05, timeout=1.0))
    assert time.monotonic() - started < 15  # bounded by the task's timeout, not a hang
    assert not cluster.get("FlinkDeployment", "orders")["metadata"].get("deletionTimestamp")


@deferrable_modes
def test_an_api_that_stays_down_is_a_clear_error_within_the_timeout(cluster, deferrable):
    run_task(FlinkDeploymentOperator(task_id="deploy", deployment=app(), wait_for_completion=False, **FAST))
    cluster.api.faults.fail(503, for_seconds=30)
    started = time.monotonic()
    with pytest.raises((FlinkTaskError, FlinkApiError)) as err:
        run_task(FlinkSavepointOperator(task_id="sp", name="orders", deferrable=deferrable, poll_interval=0.05,
                                        timeout=1.0))
    assert time.monotonic() - started < 20
    assert "503" in str(err.value) or "Timed out" in str(err.value)
    cluster.api.faults.clear()
