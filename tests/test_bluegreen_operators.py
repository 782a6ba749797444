"""The blue/green operators in the simulated cluster, blocking and deferrable (deferrals run for real).

The story a user lives: deploy (blue) → upgrade (blue→green) → upgrade (green→blue) → an upgrade whose new
colour never becomes healthy (aborted, blue keeps serving) → teardown with a final savepoint.
"""

from __future__ import annotations

import pytest
from specs import NS, app
from task_harness import run_task
from test_bluegreen_simulator import bg_cluster  # noqa: F401  (fixture)

from airflow_flink_operator.models import FlinkBlueGreenDeployment
from airflow_flink_operator.operators import (
    FlinkBlueGreenDeployOperator,
    FlinkBlueGreenTeardownOperator,
    FlinkBlueGreenUpgradeOperator,
    FlinkTaskError,
)

FAST = {"poll_interval": 0.05, "timeout": 30}
BG, FD = "FlinkBlueGreenDeployment", "FlinkDeployment"
deferrable_modes = pytest.mark.parametrize("deferrable", [False, True], ids=["blocking", "deferrable"])


def upgrade(deferrable: bool, image: str, task_id: str, **kwargs) -> dict:
    op = FlinkBlueGreenUpgradeOperator(task_id=task_id, name="orders", template_patch={"image": image},
                                       deferrable=deferrable, **{**FAST, **kwargs})
    deferrals: list = []
    result = run_task(op, deferrals=deferrals)
    assert bool(deferrals) is deferrable
    return result


def serving(cluster, child: str) -> bool:
    status = (cluster.get(FD, child) or {}).get("status") or {}
    return status.get("lifecycleState") == "STABLE" and (status.get("jobStatus") or {}).get("state") == "RUNNING"


@deferrable_modes
def test_deploy_upgrade_twice_abort_then_teardown(bg_cluster, deferrable):  # noqa: F811
    cluster = bg_cluster
    # Deploy: a typed FlinkDeployment converted in the task, configured for a short grace period.
    deferrals: list = []
    deployed = run_task(FlinkBlueGreenDeployOperator(
        task_id="deploy", deployment=app("orders", upgrade_mode="savepoint"), deferrable=deferrable,
        configuration={"abort_grace_period": "2 s", "deployment_deletion_delay": "200 ms"}, **FAST),
        deferrals=deferrals)
    assert bool(deferrals) is deferrable
    assert deployed["blue_green_state"] == "ACTIVE_BLUE" and deployed["job_state"] == "RUNNING"
    assert (deployed["active_colour"], deployed["active_deployment"]) == ("blue", "orders-blue")
    assert deployed["savepoint_path"] is None and deployed["job_id"]
    assert cluster.get(BG, "orders")["spec"]["configuration"] == {
        "kubernetes.operator.bluegreen.abort.grace-period": "2 s",
        "kubernetes.operator.bluegreen.deployment-deletion.delay": "200 ms"}

    # Blue → green, from a savepoint of blue.
    first = upgrade(deferrable, "flink:1.20.1", "upgrade_1")
    assert (first["active_colour"], first["active_deployment"]) == ("green", "orders-green")
    assert (first["previous_colour"], first["previous_deployment"]) == ("blue", "orders-blue")
    assert first["savepoint_path"].startswith("s3://state/sp/savepoint-" + deployed["job_id"][:6])
    assert cluster.get(FD, "orders-green")["spec"]["image"] == "flink:1.20.1"
    cluster.wait_for(lambda: cluster.get(FD, "orders-blue") is None, what="the blue child deleted")

    # Green → blue, from a savepoint of green.
    second = upgrade(deferrable, "flink:1.20.2", "upgrade_2")
    assert (second["active_colour"], second["active_deployment"]) == ("blue", "orders-blue")
    assert second["savepoint_path"].startswith("s3://state/sp/savepoint-" + first["job_id"][:6])
    assert second["savepoint_path"] != first["savepoint_path"]
    cluster.wait_for(lambda: cluster.get(FD, "orders-green") is None, what="the green child deleted")

    # An upgrade whose green child never becomes healthy: aborted after the grace period, blue keeps serving.
    cluster.behave("orders-green", jobmanager_error=True)
    blue_job = cluster.get(FD, "orders-blue")["status"]["jobStatus"]["jobId"]
    with pytest.raises(FlinkTaskError) as failure:
        upgrade(deferrable, "flink:1.20.3-broken", "upgrade_3")
    message = str(failure.value)
    assert "change failed and the state is back to ACTIVE_BLUE" in message
    assert "Serving now, judged from the children: orders-blue runs the job (image flink:1.20.2" in message
    assert "orders-green does NOT run the job (image flink:1.20.3-broken" in message
    assert "Aborting deployment 'orders-green', rolling B/G deployment back to ACTIVE_BLUE" in message
    assert "CrashLoopBackOff" in message  # the failed child's diagnostics
    assert serving(cluster, "orders-blue")
    assert cluster.get(FD, "orders-blue")["status"]["jobStatus"]["jobId"] == blue_job
    assert cluster.get(BG, "orders")["status"]["blueGreenState"] == "ACTIVE_BLUE"

    # Teardown: a final savepoint of the serving child, kept on delete, then everything is deleted.
    deferrals = []
    gone = run_task(FlinkBlueGreenTeardownOperator(task_id="teardown", name="orders", deferrable=deferrable, **FAST),
                    deferrals=deferrals)
    assert bool(deferrals) is deferrable
    assert gone["deleted"] and gone["active_deployment"] == "orders-blue" and gone["savepoint_path"]
    assert cluster.get(BG, "orders") is None
    assert cluster.get(FD, "orders-blue") is None and cluster.get(FD, "orders-green") is None
    (snapshot,) = [s for s in cluster.hook().list_snapshots("orders-blue", NS)
                   if (s.get("status") or {}).get("path") == gone["savepoint_path"]]
    assert snapshot["spec"]["savepoint"]["disposeOnDelete"] is False


def test_teardown_refuses_to_delete_when_the_final_savepoint_fails(bg_cluster):  # noqa: F811
    run_task(FlinkBlueGreenDeployOperator(task_id="deploy", deployment=FlinkBlueGreenDeployment.from_deployment(
        app("orders")), deferrable=False, **FAST))
    bg_cluster.behave("orders-blue", savepoint="fail")
    op = FlinkBlueGreenTeardownOperator(task_id="teardown", name="orders", deferrable=False, **FAST)
    with pytest.raises(FlinkTaskError, match="Nothing was deleted"):
        run_task(op)
    assert bg_cluster.get(BG, "orders") is not None and serving(bg_cluster, "orders-blue")


def test_upgrade_refuses_while_a_transition_is_in_progress(bg_cluster):  # noqa: F811
    run_task(FlinkBlueGreenDeployOperator(task_id="deploy", deployment=app("orders"), deferrable=False, **FAST))
    bg_cluster.behave("orders-green", jobmanager_error=True)  # green never gets ready (grace period: 10 min)
    started = run_task(FlinkBlueGreenUpgradeOperator(task_id="up", name="orders", template_patch={"image": "flink:2"},
                                                     wait_for_completion=False, **FAST))
    assert started["change"] == "TRANSITION" and started["previous_deployment"] == "orders-blue"
    bg_cluster.wait_for(lambda: bg_cluster.get(BG, "orders")["status"]["blueGreenState"] == "TRANSITIONING_TO_GREEN",
                        what="the transition under way")
    with pytest.raises(FlinkTaskError, match="TRANSITIONING_TO_GREEN: a deployment or transition is in progress"):
        run_task(FlinkBlueGreenUpgradeOperator(task_id="up2", name="orders", template_patch={"image": "flink:3"},
                                               deferrable=False, **FAST))


def test_an_unchanged_template_is_not_a_transition(bg_cluster):  # noqa: F811
    run_task(FlinkBlueGreenDeployOperator(task_id="deploy", deployment=app("orders"), deferrable=False, **FAST))
    generation = bg_cluster.get(BG, "orders")["metadata"]["generation"]
    result = run_task(FlinkBlueGreenUpgradeOperator(task_id="up", name="orders", template_patch={"image": "flink:1.20"},
                                                    deferrable=False, **FAST))
    assert result["change"] == "IGNORE" and result["active_deployment"] == "orders-blue"
    assert bg_cluster.get(BG, "orders")["metadata"]["generation"] == generation


def test_invalid_template_change_is_refused_before_anything_is_sent(bg_cluster):  # noqa: F811
    run_task(FlinkBlueGreenDeployOperator(task_id="deploy", deployment=app("orders"), deferrable=False, **FAST))
    generation = bg_cluster.get(BG, "orders")["metadata"]["generation"]
    from airflow_flink_operator.errors import FlinkSpecError

    with pytest.raises(FlinkSpecError, match=r"spec\.template\.spec\.flinkVersion"):
        run_task(FlinkBlueGreenUpgradeOperator(task_id="up", name="orders", template_patch={"flinkVersion": "v1_13"},
                                               deferrable=False, **FAST))
    assert bg_cluster.get(BG, "orders")["metadata"]["generation"] == generation


def test_example_dag_rolls_out_the_nightly_build_without_undoing_it(bg_cluster):  # noqa: F811
    import importlib

    from airflow.sdk.definitions.context import Context

    from airflow_flink_operator.example_dags import flink_bluegreen_upgrade as example

    dag = importlib.reload(example).dag
    ensure, roll_out = dag.get_task("ensure_running"), dag.get_task("roll_out_nightly_build")
    for task in (ensure, roll_out):
        task.namespace, task.poll_interval = NS, 0.05
    first = run_task(ensure)
    assert first["active_deployment"] == "orders-enrichment-blue"
    from datetime import datetime, timezone
    from types import SimpleNamespace

    # A manual run has no logical date on Airflow 3.0 (ds_nodash undefined): the tag comes from run_after.
    roll_out.render_template_fields(Context(dag_run=SimpleNamespace(run_after=datetime(2026, 1, 2, tzinfo=timezone.utc))))
    result = run_task(roll_out)
    assert (result["previous_deployment"], result["active_deployment"]) == ("orders-enrichment-blue",
                                                                           "orders-enrichment-green")
    assert result["savepoint_path"].startswith("s3://flink-state/orders-enrichment/savepoints/")
    image = bg_cluster.get(BG, "orders-enrichment")["spec"]["template"]["spec"]["image"]
    assert image == "registry.example.com/data/orders-enrichment:20260102"
    # The next night: ensure_running leaves the upgraded template alone.
    again = run_task(ensure)
    assert again["active_deployment"] == "orders-enrichment-green"
    assert bg_cluster.get(BG, "orders-enrichment")["spec"]["template"]["spec"]["image"] == image


@deferrable_modes
def test_a_first_deployment_that_never_gets_healthy_fails_saying_nothing_serves(bg_cluster, deferrable):  # noqa: F811
    bg_cluster.behave("orders-blue", fail_after=0)
    op = FlinkBlueGreenDeployOperator(task_id="deploy", deployment=app("orders"), deferrable=deferrable,
                                      configuration={"abort_grace_period": "1 s"}, **FAST)
    with pytest.raises(FlinkTaskError) as failure:
        run_task(op)
    message = str(failure.value)
    assert "the first deployment was aborted (state INITIALIZING_BLUE); nothing is serving" in message
    assert "Aborting deployment 'orders-blue', rolling B/G deployment back to INITIALIZING_BLUE" in message
    assert bg_cluster.get(FD, "orders-blue")["spec"]["job"]["state"] == "suspended"


def test_teardown_deletes_the_children_where_no_garbage_collector_does(bg_cluster):  # noqa: F811
    """A bare kube-apiserver (envtest) has no garbage collector: the children would outlive their parent."""
    run_task(FlinkBlueGreenDeployOperator(task_id="deploy", deployment=app("orders"), deferrable=False, **FAST))
    bg_cluster.api.garbage_collector = False
    gone = run_task(FlinkBlueGreenTeardownOperator(task_id="teardown", name="orders", deferrable=False, **FAST))
    assert gone["deleted"] and gone["savepoint_path"]
    assert bg_cluster.get(BG, "orders") is None and bg_cluster.get(FD, "orders-blue") is None


def test_upgrade_to_a_whole_new_deployment_spec(bg_cluster):  # noqa: F811
    """``deployment=``: the desired FlinkDeployment (converted), here stateless, so no savepoint is taken."""
    run_task(FlinkBlueGreenDeployOperator(task_id="deploy", deployment=app("orders", upgrade_mode="stateless"),
                                          deferrable=False, **FAST))
    result = run_task(FlinkBlueGreenUpgradeOperator(
        task_id="up", deployment=app("orders", upgrade_mode="stateless", image="flink:1.20.1", parallelism=4),
        configuration={"deployment_deletion_delay": "100 ms"}, deferrable=False, **FAST))
    assert result["change"] == "TRANSITION" and result["active_deployment"] == "orders-green"
    assert result["savepoint_path"] is None  # stateless: the new colour starts empty
    stored = bg_cluster.get(BG, "orders")["spec"]
    assert stored["template"]["spec"]["job"]["parallelism"] == 4
    assert stored["configuration"] == {"kubernetes.operator.bluegreen.deployment-deletion.delay": "100 ms"}


def test_the_sensor_waits_for_an_active_colour(bg_cluster):  # noqa: F811
    """Issue #15: "the sensor can wait for active and running" — the same predicate as the operators."""
    from task_harness import TaskInstanceStub, context_for

    from airflow_flink_operator.sensors import FlinkJobSensor

    run_task(FlinkBlueGreenDeployOperator(task_id="deploy", deployment=FlinkBlueGreenDeployment.from_deployment(app()),
                                          **FAST))
    sensor = FlinkJobSensor(task_id="wait", name="orders", kind="FlinkBlueGreenDeployment", target="active_blue",
                            poke_interval=0.05, timeout=10)
    result = sensor.poke(context_for(TaskInstanceStub(task_id="wait")))
    assert result.is_done and result.xcom_value["active_deployment"] == "orders-blue"
