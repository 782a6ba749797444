"""Blue/green where a user needs it most (issue 20): after an abort, on removals, on changes the operator ignores,
on suspend/resume, on a savepoint redeploy. Each story runs the operators against the simulated cluster over HTTP;
what the simulated controller does follows the operator's Java source (``FlinkBlueGreenDeploymentController``,
``BlueGreenDeploymentService``), not this package.
"""

from __future__ import annotations

import importlib
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest
from specs import NS, app
from task_harness import run_task
from test_bluegreen_simulator import bg_cluster  # noqa: F401  (fixture)

from airflow_flink_operator.models import FlinkBlueGreenDeployment
from airflow_flink_operator.operators import FlinkBlueGreenDeployOperator, FlinkBlueGreenUpgradeOperator, FlinkTaskError

FAST = {"poll_interval": 0.05, "timeout": 60}
BG, FD = "FlinkBlueGreenDeployment", "FlinkDeployment"
SHORT = {"abort_grace_period": "2 s", "deployment_deletion_delay": "200 ms"}


def deploy(deployment=None, **kwargs) -> dict:
    return run_task(FlinkBlueGreenDeployOperator(task_id="deploy", deployment=deployment or app("orders"),
                                                 configuration=SHORT, deferrable=False, **{**FAST, **kwargs}))


def upgrade(task_id: str = "upgrade", deferrable: bool = False, **kwargs) -> dict:
    return run_task(FlinkBlueGreenUpgradeOperator(task_id=task_id, name="orders", deferrable=deferrable,
                                                  **{**FAST, **kwargs}))


def image(cluster, child: str) -> str | None:
    return ((cluster.get(FD, child) or {}).get("spec") or {}).get("image")


def runs(cluster, child: str) -> bool:
    status = (cluster.get(FD, child) or {}).get("status") or {}
    return status.get("lifecycleState") == "STABLE" and (status.get("jobStatus") or {}).get("state") == "RUNNING"


def abort_a_broken_build(cluster) -> None:
    """Blue serves flink:1.20; an upgrade to a build whose green child never gets healthy is aborted."""
    cluster.behave("orders-green", jobmanager_error=True)
    with pytest.raises(FlinkTaskError, match="Aborting deployment 'orders-green'"):
        upgrade("broken", template_patch={"image": "flink:1.20.9-broken"})
    cluster.behave("orders-green", jobmanager_error=False)
    assert cluster.get(BG, "orders")["status"]["blueGreenState"] == "ACTIVE_BLUE"


@pytest.mark.parametrize("patch", [{"job": {"allowNonRestoredState": True}}, {"job": {"upgradeMode": "last-state"}},
                                   {"job": {"state": "suspended"}}])
def test_after_an_abort_an_in_place_change_never_pushes_the_failed_build_into_the_live_job(bg_cluster, patch):  # noqa: F811
    """Defect 1: the operator keeps the failed spec as lastReconciledSpec; PATCH_CHILD (or SUSPEND) copies the whole
    template into the serving child (``patchFlinkDeployment`` → ``prepareFlinkDeployment``). Refused, nothing sent."""
    deploy()
    abort_a_broken_build(bg_cluster)
    generation = bg_cluster.get(BG, "orders")["metadata"]["generation"]
    with pytest.raises(FlinkTaskError) as refused:
        upgrade("small_change", template_patch=patch)
    message = str(refused.value)
    assert "refused: the last blue/green change failed (Aborting deployment 'orders-green'" in message
    assert "orders-blue would then run the failed spec (it differs from what orders-blue runs in: image)" in message
    assert "restart=True" in message and "Nothing was sent" in message
    assert bg_cluster.get(BG, "orders")["metadata"]["generation"] == generation
    assert image(bg_cluster, "orders-blue") == "flink:1.20" and runs(bg_cluster, "orders-blue")


def test_after_an_abort_a_fixed_build_or_a_retry_moves_on(bg_cluster):  # noqa: F811
    """What a user does after an aborted transition: re-running the failed spec as it is does nothing in the
    operator (refused, saying so); ``restart=True`` (a new restartNonce) retries it as a transition."""
    deploy()
    abort_a_broken_build(bg_cluster)
    with pytest.raises(FlinkTaskError, match="the operator acts only on a changed template.*restart=True"):
        upgrade("same_again", template_patch={"image": "flink:1.20.9-broken"})
    retried = upgrade("retry", restart=True)
    assert retried["change"] == "TRANSITION" and retried["active_deployment"] == "orders-green"
    assert image(bg_cluster, "orders-green") == "flink:1.20.9-broken" and runs(bg_cluster, "orders-green")
    assert retried["savepoint_path"] and retried["job_id"]


def test_a_change_that_only_removes_a_key_is_a_transition_waited_for(bg_cluster):  # noqa: F811
    """Defect 2: a removed flinkConfiguration key is a difference the operator acts on (configDiff)."""
    deploy()
    added = upgrade("add", template_patch={"flinkConfiguration": {"custom.flag": "1"}})
    assert added["active_deployment"] == "orders-green"
    removed = upgrade("remove", template_patch={"flinkConfiguration": {"custom.flag": None}})
    assert removed["change"] == "TRANSITION" and removed["active_deployment"] == "orders-blue"
    assert runs(bg_cluster, "orders-blue")
    assert "custom.flag" not in bg_cluster.get(FD, "orders-blue")["spec"].get("flinkConfiguration", {})


@pytest.mark.parametrize("deferrable", [False, True], ids=["blocking", "deferrable"])
def test_configuration_or_ingress_alone_end_at_once(bg_cluster, deferrable):  # noqa: F811
    """Defect 4: the operator compares only template.spec; such a change is IGNORE (lastReconciledSpec stays)."""
    from airflow_flink_operator.models.common import IngressSpec

    deploy()
    configured = upgrade("configure", deferrable=deferrable, template_patch={},
                         configuration={"abort_grace_period": "1 min"})
    assert configured["change"] == "IGNORE" and configured["active_deployment"] == "orders-blue"
    assert bg_cluster.get(BG, "orders")["spec"]["configuration"][
        "kubernetes.operator.bluegreen.abort.grace-period"] == "1 min"
    with_ingress = FlinkBlueGreenDeployment.from_deployment(app("orders"), ingress=IngressSpec(
        template="{{name}}.{{namespace}}.example.com", class_name="nginx"), **SHORT)
    routed = upgrade("ingress", deferrable=deferrable, deployment=with_ingress)
    assert routed["change"] == "IGNORE" and routed["ingress"] == {"name": "orders", "service": "orders-blue-rest"}


def test_suspend_a_change_while_suspended_and_resume_end(bg_cluster):  # noqa: F811
    """Defect 5: SUSPEND and any change while suspended end in ACTIVE_<colour> with jobStatus SUSPENDED
    (``finalizeSuspendedDeployment``), on the same colour; RESUME runs that colour again."""
    deploy()
    suspended = upgrade("suspend", template_patch={"job": {"state": "suspended"}})
    assert (suspended["change"], suspended["blue_green_state"], suspended["job_state"]) == (
        "SUSPEND", "ACTIVE_BLUE", "SUSPENDED")
    assert bg_cluster.get(FD, "orders-blue")["status"]["lifecycleState"] == "SUSPENDED"
    changed = upgrade("new_image_while_suspended", template_patch={"image": "flink:1.20.5"})
    assert (changed["active_deployment"], changed["job_state"]) == ("orders-blue", "SUSPENDED")
    assert image(bg_cluster, "orders-blue") == "flink:1.20.5" and bg_cluster.get(FD, "orders-green") is None
    from airflow_flink_operator.operators import FlinkBlueGreenResumeOperator, FlinkBlueGreenSuspendOperator

    resumed = run_task(FlinkBlueGreenResumeOperator(task_id="resume", name="orders", deferrable=False, **FAST))
    assert (resumed["change"], resumed["active_deployment"], resumed["job_state"]) == ("RESUME", "orders-blue",
                                                                                       "RUNNING")
    assert runs(bg_cluster, "orders-blue") and image(bg_cluster, "orders-blue") == "flink:1.20.5"
    again = run_task(FlinkBlueGreenSuspendOperator(task_id="suspend_again", name="orders", deferrable=False, **FAST))
    assert again["job_state"] == "SUSPENDED"


def test_a_first_deployment_suspended_is_held_and_the_task_ends(bg_cluster):  # noqa: F811
    """Defect 5: InitializingBlueStateHandler holds a suspended first deployment; nothing is deployed."""
    from airflow_flink_operator.artifacts import JarJob

    held = deploy(app("orders", job=JarJob(jar_uri="local:///opt/flink/usrlib/orders.jar", parallelism=2,
                                           upgrade_mode="savepoint", state="suspended")))
    assert (held["blue_green_state"], held["job_state"], held["active_deployment"]) == (
        "INITIALIZING_BLUE", "SUSPENDED", None)
    assert bg_cluster.get(FD, "orders-blue") is None


def test_savepoint_path_reports_only_a_savepoint_this_change_made_the_new_child_start_from(bg_cluster):  # noqa: F811
    """Defect 9: an in-place change keeps the child's old initialSavepointPath; that is not a restore."""
    from airflow_flink_operator.artifacts import JarJob

    seeded = app("orders", job=JarJob(jar_uri="local:///opt/flink/usrlib/orders.jar", parallelism=2,
                                      upgrade_mode="savepoint", initial_savepoint_path="s3://state/sp/seed"))
    first = deploy(seeded)
    assert first["savepoint_path"] == "s3://state/sp/seed"  # the first deployment started from it
    patched = upgrade("patch", template_patch={"job": {"allowNonRestoredState": True}})
    assert patched["change"] == "PATCH_CHILD" and patched["active_deployment"] == "orders-blue"
    assert patched["savepoint_path"] is None
    moved = upgrade("move", template_patch={"image": "flink:1.20.1"})
    assert moved["savepoint_path"] and moved["savepoint_path"] != "s3://state/sp/seed"
    assert bg_cluster.get(FD, "orders-green")["spec"]["job"]["initialSavepointPath"] == moved["savepoint_path"]


def test_savepoint_redeploy_starts_the_other_colour_from_the_given_savepoint(bg_cluster):  # noqa: F811
    """SAVEPOINT_REDEPLOY (``savepointRedeployNonce`` + ``initialSavepointPath``): no new savepoint is taken."""
    deploy()
    redeployed = upgrade("redeploy", redeploy_from_savepoint="s3://state/sp/chosen-1")
    assert (redeployed["change"], redeployed["active_deployment"]) == ("SAVEPOINT_REDEPLOY", "orders-green")
    assert redeployed["savepoint_path"] == "s3://state/sp/chosen-1"
    job = bg_cluster.get(BG, "orders")["spec"]["template"]["spec"]["job"]
    assert (job["savepointRedeployNonce"], job["initialSavepointPath"]) == (1, "s3://state/sp/chosen-1")


def test_the_example_dag_survives_an_aborted_night(bg_cluster):  # noqa: F811
    """Defect 3: jobStatus FAILING stays until the next transition starts; ensure_running (update_existing=False)
    only checks that a colour serves, so the next night's fixed build rolls out."""
    from airflow.sdk.definitions.context import Context

    from airflow_flink_operator.example_dags import flink_bluegreen_upgrade as example

    def night(day: int) -> tuple:
        dag = importlib.reload(example).dag
        ensure, roll_out = dag.get_task("ensure_running"), dag.get_task("roll_out_nightly_build")
        for task in (ensure, roll_out):
            task.namespace, task.poll_interval, task.deferrable = NS, 0.05, False
        ensure.configuration = SHORT  # the example's 10 minutes of grace, shortened for the test
        roll_out.render_template_fields(Context(dag_run=SimpleNamespace(
            run_after=datetime(2026, 1, day, tzinfo=timezone.utc))))
        return ensure, roll_out

    ensure, roll_out = night(2)
    assert run_task(ensure)["active_deployment"] == "orders-enrichment-blue"
    bg_cluster.behave("orders-enrichment-green", jobmanager_error=True)  # night 2's build is broken
    with pytest.raises(FlinkTaskError, match="Aborting deployment 'orders-enrichment-green'"):
        run_task(roll_out)
    bg_cluster.behave("orders-enrichment-green", jobmanager_error=False)

    ensure, roll_out = night(3)  # the fixed build
    checked = run_task(ensure)
    assert checked["active_deployment"] == "orders-enrichment-blue" and checked["aborted"]
    rolled = run_task(roll_out)
    assert (rolled["previous_deployment"], rolled["active_deployment"]) == ("orders-enrichment-blue",
                                                                           "orders-enrichment-green")
    assert image(bg_cluster, "orders-enrichment-green") == "registry.example.com/data/orders-enrichment:20260103"


def test_a_failed_savepoint_trigger_ends_the_wait_with_the_operators_error(bg_cluster):  # noqa: F811
    """Defect 6: a spec applied outside the package (kubectl: nothing validated) whose transition needs a savepoint
    but has no savepoint directory: ``checkAndInitiateDeployment`` writes FAILING "Could not trigger Savepoint.
    Details: ..." and leaves the spec unreconciled. The wait ends at once with that error, not at its timeout."""
    from airflow_flink_operator.models.waiting import WaitCriteria

    deploy(app("orders", upgrade_mode="stateless", savepoints=None))
    hook = bg_cluster.hook()
    stored = bg_cluster.get(BG, "orders")
    manifest = {"apiVersion": stored["apiVersion"], "kind": BG, "metadata": {"name": "orders", "namespace": NS},
                "spec": stored["spec"]}
    manifest["spec"]["template"]["spec"]["job"]["upgradeMode"] = "last-state"
    manifest["spec"]["template"]["spec"]["image"] = "flink:1.20.1"
    hook.apply([manifest], NS)
    status, message, _ = hook.wait_until_decided(BG, "orders", NS, WaitCriteria(mode="bluegreen", target="active_green"),
                                                 timeout=60, poll_interval=0.05)
    assert status == "error" and "the operator could not start the transition: Could not trigger Savepoint" in message
    assert runs(bg_cluster, "orders-blue") and bg_cluster.get(FD, "orders-green") is None


def test_the_expected_colour_follows_the_operators_classification(bg_cluster):  # noqa: F811
    """Defect 7: ``pipeline.jobvertex-parallelism-overrides`` is SCALE in NATIVE mode, so a TRANSITION for blue/green
    (the old classification called it in place and waited for the wrong colour)."""
    deploy()
    scaled = upgrade("scale", template_patch={"flinkConfiguration": {"pipeline.jobvertex-parallelism-overrides": "a:1"}})
    assert (scaled["change"], scaled["active_deployment"]) == ("TRANSITION", "orders-green")


def test_the_change_is_judged_against_what_the_operator_last_reconciled(bg_cluster):  # noqa: F811
    """Defect 7: after a change the operator could not act on (a savepoint it could not trigger; applied with
    kubectl), the stored spec is not what it reconciled. Going back to ``stateless`` differs from the stored spec
    only by ``upgradeMode`` (in place), but from ``lastReconciledSpec`` by the image: a transition to green."""
    deploy(app("orders", upgrade_mode="stateless", savepoints=None))
    hook, stored = bg_cluster.hook(), bg_cluster.get(BG, "orders")
    spec = stored["spec"]
    spec["template"]["spec"]["job"]["upgradeMode"] = "last-state"
    spec["template"]["spec"]["image"] = "flink:1.20.1"
    hook.apply([{"apiVersion": stored["apiVersion"], "kind": BG, "metadata": {"name": "orders", "namespace": NS},
                 "spec": spec}], NS)
    bg_cluster.wait_for(lambda: str(bg_cluster.get(BG, "orders")["status"].get("error")).startswith(
        "Could not trigger Savepoint"), timeout=60, what="the savepoint trigger failure")
    back = upgrade("stateless_again", template_patch={"job": {"upgradeMode": "stateless"}})
    assert (back["change"], back["active_deployment"]) == ("TRANSITION", "orders-green")
    assert image(bg_cluster, "orders-green") == "flink:1.20.1" and back["savepoint_path"] is None


def test_the_result_names_the_service_the_ingress_routes_to(bg_cluster):  # noqa: F811
    """The Ingress follows the active colour (``IngressUtils.reconcileBlueGreenIngress``): the result says where it
    routes, and the cluster's Ingress (named after the resource) routes there."""
    from airflow_flink_operator.models.common import IngressSpec

    def backend() -> str | None:
        ingress = bg_cluster.api.get_object("ingresses", NS, "orders")
        return ingress and ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"]

    routed = deploy(FlinkBlueGreenDeployment.from_deployment(app("orders"), ingress=IngressSpec(
        template="flink.example.com/{{namespace}}/{{name}}", class_name="nginx")))
    assert routed["ingress"] == {"name": "orders", "service": "orders-blue-rest"}
    bg_cluster.wait_for(lambda: backend() == "orders-blue-rest", timeout=60, what="the Ingress on blue")
    moved = upgrade("move", template_patch={"image": "flink:1.20.1"})
    assert moved["ingress"] == {"name": "orders", "service": "orders-green-rest"}
    assert backend() == "orders-green-rest"  # switched before ACTIVE_GREEN was written


def test_a_change_the_operator_would_ignore_is_refused_at_once(bg_cluster):  # noqa: F811
    """``checkAndInitiateDeployment``: a transition while the active child is not ready fails ("Transition to GREEN
    not possible ..."); a further change while FAILING with that child still not ready is ignored by the operator
    (no status write), so the package refuses it instead of waiting for its timeout."""
    deploy()
    bg_cluster.behave("orders-blue", fail_after=0.0)
    bg_cluster.wait_for(lambda: not runs(bg_cluster, "orders-blue"), timeout=60, what="blue not running")
    with pytest.raises(FlinkTaskError, match="Transition to GREEN not possible"):
        upgrade("first", template_patch={"image": "flink:next"})
    generation = bg_cluster.get(BG, "orders")["metadata"]["generation"]
    with pytest.raises(FlinkTaskError, match="orders-blue is not ready, so the operator would not act on this change"):
        upgrade("second", template_patch={"image": "flink:next-2"})
    assert bg_cluster.get(BG, "orders")["metadata"]["generation"] == generation


def test_after_a_failed_first_deployment_a_fixed_template_deploys_blue(bg_cluster):  # noqa: F811
    """``InitializingBlueStateHandler``: back in INITIALIZING_BLUE/FAILING, the operator redeploys blue only on a
    changed spec; the upgrade task accepts that state and waits for ACTIVE_BLUE."""
    bg_cluster.behave("orders-blue", fail_after=0.0)
    with pytest.raises(FlinkTaskError, match="the first deployment was aborted"):
        deploy()
    bg_cluster.behave("orders-blue", fail_after=None)
    fixed = upgrade("fixed", template_patch={"image": "flink:1.20.1"})
    assert (fixed["active_deployment"], fixed["blue_green_state"], fixed["previous_deployment"]) == (
        "orders-blue", "ACTIVE_BLUE", None)
    assert image(bg_cluster, "orders-blue") == "flink:1.20.1" and runs(bg_cluster, "orders-blue")


def test_after_a_failed_change_with_the_child_not_ready_the_suggested_suspend_gets_out(bg_cluster):  # noqa: F811
    """``checkAndInitiateDeployment`` while FAILING with the active child not ready acts only on SUSPEND/RESUME
    (patching that child with the parent template; ``FlinkBlueGreenDeploymentSpecDiff.compare`` ranks a change to
    ``job.state: suspended`` above every other difference). The refusal names FlinkBlueGreenSuspendOperator; it
    suspends what blue runs (never the failed build); a fixed build while suspended, then resume, runs again."""
    from airflow_flink_operator.operators import FlinkBlueGreenResumeOperator, FlinkBlueGreenSuspendOperator

    deploy()
    bg_cluster.behave("orders-blue", fail_after=0.0)
    bg_cluster.wait_for(lambda: not runs(bg_cluster, "orders-blue"), timeout=60, what="blue not running")
    with pytest.raises(FlinkTaskError, match="Transition to GREEN not possible"):
        upgrade("failed", template_patch={"image": "flink:1.20.9-broken"})
    for refused in ({"template_patch": {"image": "flink:1.20.1"}}, {"restart": True},  # TRANSITION
                    {"template_patch": {"image": "flink:1.20.9-broken"}},  # IGNORE: the failed template again
                    {"template_patch": {"job": {"state": "suspended"}}}):  # SUSPEND of the failed template
        with pytest.raises(FlinkTaskError, match="run FlinkBlueGreenSuspendOperator") as why:
            upgrade("refused", **refused)
        assert "restart=True" not in str(why.value) and "deployment=..." not in str(why.value)
    suspended = run_task(FlinkBlueGreenSuspendOperator(task_id="suspend", name="orders", deferrable=False, **FAST))
    assert (suspended["change"], suspended["active_deployment"], suspended["job_state"]) == (
        "SUSPEND", "orders-blue", "SUSPENDED")
    assert image(bg_cluster, "orders-blue") == "flink:1.20" and bg_cluster.get(FD, "orders-green") is None
    bg_cluster.behave("orders-blue", fail_after=None)
    fixed = upgrade("fixed_while_suspended", template_patch={"image": "flink:1.20.1"})
    assert (fixed["active_deployment"], fixed["job_state"]) == ("orders-blue", "SUSPENDED")
    resumed = run_task(FlinkBlueGreenResumeOperator(task_id="resume", name="orders", deferrable=False, **FAST))
    assert (resumed["change"], resumed["active_deployment"], resumed["job_state"]) == ("RESUME", "orders-blue",
                                                                                       "RUNNING")
    assert image(bg_cluster, "orders-blue") == "flink:1.20.1" and runs(bg_cluster, "orders-blue")
