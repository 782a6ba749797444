"""The simulated blue/green controller against the upstream controller flow.

Each test cites the section of the upstream page "Blue/Green Controller Flow"
(``bluegreen-controller-flow.md``; *flow* below) or the operator source it checks. States are recorded
from a watch on the resource, so no short-lived state is missed and no test waits for a moment in time.
"""

from __future__ import annotations

import queue
import threading
import time

import pytest
from specs import NS, app

from airflow_flink_operator.manifests import render
from airflow_flink_operator.models import FlinkBlueGreenDeployment
from airflow_flink_operator.models.bluegreen import COLOUR_LABEL
from airflow_flink_operator.testing.operator import bluegreen as bluegreen_sim
from airflow_flink_operator.testing.operator.clock import instant_millis
from airflow_flink_operator.testing import operator as operator_module

BG = "FlinkBlueGreenDeployment"
FD = "FlinkDeployment"


def plug_blue_green(monkeypatch: pytest.MonkeyPatch, cluster) -> None:
    """Run the blue/green controller on each tick of the simulated operator.

    Stands in for the one-line plug in ``SimulatedFlinkOperator.reconcile_all`` until it lands there.
    """
    if hasattr(operator_module, "reconcile_blue_green"):
        return  # the simulated operator runs it already
    operator = cluster.operator
    original = operator.reconcile_all

    def reconcile_all() -> None:
        original()
        bluegreen_sim.reconcile_blue_green(operator)

    monkeypatch.setattr(operator, "reconcile_all", reconcile_all)


@pytest.fixture
def bg_cluster(emulated, monkeypatch):
    """The emulated cluster, its blue/green controller running, as the ``kubernetes_default`` connection."""
    plug_blue_green(monkeypatch, emulated)
    for key, value in emulated.airflow_connection_env().items():
        monkeypatch.setenv(key, value)
    return emulated


def blue_green(name: str = "orders", *, upgrade_mode: str = "savepoint", grace: str = "60 s", delay: str = "300 ms",
               image: str = "flink:1.20") -> FlinkBlueGreenDeployment:
    return FlinkBlueGreenDeployment.from_deployment(app(name, upgrade_mode=upgrade_mode, image=image),
                                                    abort_grace_period=grace, deployment_deletion_delay=delay)


class Recorder:
    """Every write to one kind in the namespace, from a watch: (time, type, object)."""

    def __init__(self, cluster, kind: str) -> None:
        from kubernetes import client, config, watch

        self._api_client = config.new_client_from_config_dict(cluster.kubeconfig())
        custom = client.CustomObjectsApi(self._api_client)
        plural = {"FlinkBlueGreenDeployment": "flinkbluegreendeployments", "FlinkDeployment": "flinkdeployments"}[kind]
        self.events: queue.Queue = queue.Queue()
        self.seen: list[tuple[float, str, dict]] = []
        self._watch = watch.Watch()
        version = custom.list_namespaced_custom_object("flink.apache.org", "v1beta1", NS, plural)["metadata"][
            "resourceVersion"]

        def run() -> None:
            try:
                for event in self._watch.stream(custom.list_namespaced_custom_object, "flink.apache.org", "v1beta1",
                                                NS, plural, resource_version=version, timeout_seconds=60):
                    self.events.put((time.monotonic(), event["type"], event["object"]))
            except Exception:  # the server stops at the end of the test; events so far are kept
                pass

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def drain(self) -> list[tuple[float, str, dict]]:
        while True:
            try:
                self.seen.append(self.events.get_nowait())
            except queue.Empty:
                return self.seen

    def states(self, name: str) -> list[tuple[str, str | None]]:
        """The distinct (blueGreenState, jobStatus.state) the resource went through, in order."""
        result: list[tuple[str, str | None]] = []
        for _, _, obj in self.drain():
            if obj["metadata"]["name"] != name:
                continue
            status = obj.get("status") or {}
            pair = (status.get("blueGreenState"), (status.get("jobStatus") or {}).get("state"))
            if pair[0] and (not result or result[-1] != pair):
                result.append(pair)
        return result

    def until(self, name: str, last: tuple[str, str | None], timeout: float = 10.0) -> list[tuple[str, str | None]]:
        """The states once the watch has delivered ``last`` (a GET may see a write before the watch does)."""
        deadline = time.monotonic() + timeout
        while True:
            states = self.states(name)
            if states and states[-1] == last:
                return states
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} never reached {last} in the watch: {states}")
            time.sleep(0.02)

    def stop(self) -> None:
        self._watch.stop()
        self._api_client.close()


@pytest.fixture
def recorder(bg_cluster):
    recorders: list[Recorder] = []

    def start(kind: str = BG) -> Recorder:
        recorders.append(Recorder(bg_cluster, kind))
        return recorders[-1]

    yield start
    for item in recorders:
        item.stop()


def wait_state(cluster, state: str, job_state: str, name: str = "orders", timeout: float = 30.0) -> dict:
    """Wait until the parent's status says ``(blueGreenState, jobStatus.state)``; the object then.

    Read from the status the operator writes, not with the package's judging code (this tests the simulator)."""
    deadline = time.monotonic() + timeout
    while True:
        obj = cluster.get(BG, name)
        status = (obj or {}).get("status") or {}
        if (status.get("blueGreenState"), (status.get("jobStatus") or {}).get("state")) == (state, job_state):
            return obj
        if time.monotonic() > deadline:
            raise TimeoutError(f"{(state, job_state)} not reached in {timeout}s: {status}; "
                               f"operator errors: {cluster.operator.errors[-3:]}")
        time.sleep(0.02)


def upgrade(cluster, bg: FlinkBlueGreenDeployment, image: str, grace: str | None = None) -> FlinkBlueGreenDeployment:
    """Change the image; ``grace``: a short abort grace period for this transition only (one meant to abort: a
    healthy child on a loaded machine needs the long default)."""
    template = bg.spec.template.model_copy(update={"spec": bg.spec.template.spec.model_copy(update={"image": image})})
    spec_update: dict = {"template": template}
    if grace is not None:
        spec_update["configuration"] = bg.spec.configuration.model_copy(update={"abort_grace_period": grace})
    changed = bg.model_copy(update={"spec": bg.spec.model_copy(update=spec_update)})
    cluster.hook().apply(render(changed), NS)
    return changed


def deploy_active_blue(cluster, **kwargs) -> FlinkBlueGreenDeployment:
    bg = blue_green(**kwargs)
    cluster.hook().apply(render(bg), NS)
    wait_state(cluster, "ACTIVE_BLUE", "RUNNING")
    return bg


def test_initial_deployment_goes_through_initializing_blue_to_active_blue(bg_cluster, recorder):
    """*flow*, "Initial Deployment": INITIALIZING_BLUE → ACTIVE_BLUE; the controller passes through
    TRANSITIONING_TO_BLUE while the first child deploys (``InitializingBlueStateHandler`` →
    ``initiateDeployment(BLUE, TRANSITIONING_TO_BLUE)``), the job RECONCILING until it is ready."""
    states = recorder()
    bg_cluster.hook().apply(render(blue_green()), NS)
    wait_state(bg_cluster, "ACTIVE_BLUE", "RUNNING")
    assert states.until("orders", ("ACTIVE_BLUE", "RUNNING")) == [
        ("INITIALIZING_BLUE", None), ("TRANSITIONING_TO_BLUE", "RECONCILING"), ("ACTIVE_BLUE", "RUNNING")]
    # Children: named <name>-<colour>, labelled with the colour, owned by the parent (BlueGreenUtils,
    # BlueGreenKubernetesService.getDependentObjectMeta); the blue one is running.
    child = bg_cluster.get(FD, "orders-blue")
    parent = bg_cluster.get(BG, "orders")
    assert child["metadata"]["labels"] == {COLOUR_LABEL: "BLUE"}
    (owner,) = child["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["uid"]) == (BG, "orders", parent["metadata"]["uid"])
    assert child["status"]["lifecycleState"] == "STABLE" and child["status"]["jobStatus"]["state"] == "RUNNING"
    assert bg_cluster.get(FD, "orders-green") is None


def test_upgrade_with_state_savepoints_blue_then_deploys_green_from_it(bg_cluster, recorder):
    """*flow*, "Deployment from Blue to Green": ACTIVE_BLUE → SAVEPOINTING_BLUE → (ACTIVE_BLUE, "Returns to
    ACTIVE_BLUE once savepoint completes") → TRANSITIONING_TO_GREEN → ACTIVE_GREEN, Green restoring from the
    savepoint ("restoring from savepoint if applicable") while Blue keeps serving."""
    bg = deploy_active_blue(bg_cluster)
    blue_job = bg_cluster.get(FD, "orders-blue")["status"]["jobStatus"]["jobId"]
    states, children = recorder(), recorder(FD)
    upgrade(bg_cluster, bg, "flink:1.20.1")
    wait_state(bg_cluster, "ACTIVE_GREEN", "RUNNING")
    assert states.until("orders", ("ACTIVE_GREEN", "RUNNING")) == [
        ("ACTIVE_BLUE", "RUNNING"), ("SAVEPOINTING_BLUE", "RUNNING"), ("ACTIVE_BLUE", "RUNNING"),
        ("TRANSITIONING_TO_GREEN", "RECONCILING"), ("ACTIVE_GREEN", "RUNNING")]
    green = bg_cluster.get(FD, "orders-green")
    savepoint = green["spec"]["job"]["initialSavepointPath"]
    assert savepoint.startswith("s3://state/sp/savepoint-" + blue_job[:6])
    assert green["spec"]["image"] == "flink:1.20.1"
    # Blue ran, untouched, until Green was ready; then it was deleted (TransitioningStateHandler).
    bg_cluster.wait_for(lambda: bg_cluster.get(FD, "orders-blue") is None, what="the blue child deleted")
    blue_changes = [obj for _, kind, obj in children.drain() if obj["metadata"]["name"] == "orders-blue"]
    assert all(obj["spec"]["image"] == "flink:1.20" for obj in blue_changes)


def test_old_child_is_deleted_only_after_the_deletion_delay(bg_cluster, recorder):
    """*flow*, "TRANSITIONING_TO_GREEN": "Transitions to ACTIVE_GREEN once Green is ready and deletion delay
    passes" (``shouldWeDelete``: ``deploymentReadyTimestamp`` + ``deployment-deletion.delay``)."""
    bg = deploy_active_blue(bg_cluster, upgrade_mode="stateless", delay="1 s")
    states, children = recorder(), recorder(FD)
    upgrade(bg_cluster, bg, "flink:1.20.1")
    wait_state(bg_cluster, "ACTIVE_GREEN", "RUNNING")
    bg_cluster.wait_for(lambda: bg_cluster.get(FD, "orders-blue") is None, what="the blue child deleted")
    states.until("orders", ("ACTIVE_GREEN", "RUNNING"))
    statuses = [obj.get("status") or {} for _, _, obj in states.drain()]
    ready_at = next(s["deploymentReadyTimestamp"] for s in statuses
                    if s.get("deploymentReadyTimestamp", "1970").startswith("20"))
    # The old child is deleted, then the state becomes ACTIVE_GREEN, in the same reconciliation.
    finalized_at = next(s["lastReconciledTimestamp"] for s in statuses if s.get("blueGreenState") == "ACTIVE_GREEN")
    assert instant_millis(finalized_at) - instant_millis(ready_at) >= 1000
    bg_cluster.wait_for(lambda: any(obj["metadata"]["name"] == "orders-blue" and kind == "DELETED"
                                    for _, kind, obj in children.drain()), what="the deletion seen by the watch")
    # stateless: no savepoint, no SAVEPOINTING state, Green starts empty (isSavepointRequired).
    assert "SAVEPOINTING_BLUE" not in [s for s, _ in states.states("orders")]
    assert "initialSavepointPath" not in bg_cluster.get(FD, "orders-green")["spec"]["job"]


def test_green_to_blue_is_the_mirror_image(bg_cluster, recorder):
    """*flow*, "Deployment from Green to Blue": ACTIVE_GREEN → [SAVEPOINTING_GREEN] → TRANSITIONING_TO_BLUE →
    ACTIVE_BLUE."""
    bg = deploy_active_blue(bg_cluster)
    bg = upgrade(bg_cluster, bg, "flink:1.20.1")
    wait_state(bg_cluster, "ACTIVE_GREEN", "RUNNING")
    bg_cluster.wait_for(lambda: bg_cluster.get(FD, "orders-blue") is None, what="the blue child deleted")
    states = recorder()
    upgrade(bg_cluster, bg, "flink:1.20.2")
    wait_state(bg_cluster, "ACTIVE_BLUE", "RUNNING")
    assert states.until("orders", ("ACTIVE_BLUE", "RUNNING")) == [
        ("ACTIVE_GREEN", "RUNNING"), ("SAVEPOINTING_GREEN", "RUNNING"), ("ACTIVE_GREEN", "RUNNING"),
        ("TRANSITIONING_TO_BLUE", "RECONCILING"), ("ACTIVE_BLUE", "RUNNING")]
    blue = bg_cluster.get(FD, "orders-blue")
    assert blue["spec"]["image"] == "flink:1.20.2" and blue["spec"]["job"]["initialSavepointPath"]
    bg_cluster.wait_for(lambda: bg_cluster.get(FD, "orders-green") is None, what="the green child deleted")


def test_new_child_not_ready_within_the_grace_period_aborts_and_blue_keeps_serving(bg_cluster, recorder):
    """*flow*, "Abort Grace Period": the previous deployment "remains as the active deployment", the state
    goes back to ACTIVE_BLUE; the source (``abortDeployment``) suspends the failed child and reports FAILING
    with "Aborting deployment '<child>', rolling B/G deployment back to ACTIVE_BLUE"."""
    bg = deploy_active_blue(bg_cluster)
    blue_before = bg_cluster.get(FD, "orders-blue")
    bg_cluster.behave("orders-green", jobmanager_error=True)
    states = recorder()
    upgrade(bg_cluster, bg, "flink:1.20.1", grace="1 s")
    obj = wait_state(bg_cluster, "ACTIVE_BLUE", "FAILING")
    assert obj["status"]["error"] == "Aborting deployment 'orders-green', rolling B/G deployment back to ACTIVE_BLUE"
    assert states.until("orders", ("ACTIVE_BLUE", "FAILING"))[-2:] == [
        ("TRANSITIONING_TO_GREEN", "RECONCILING"), ("ACTIVE_BLUE", "FAILING")]
    # Operator 1.15 (the simulated cluster's default) clears only savepointTriggerId on abort (hotfix a00bf278);
    # resetting abortTimestamp/deploymentReadyTimestamp too came later (FLINK-40119, main).
    assert "savepointTriggerId" not in obj["status"]
    # The failed child is suspended for analysis; Blue never changed and still runs.
    assert bg_cluster.get(FD, "orders-green")["spec"]["job"]["state"] == "suspended"
    blue = bg_cluster.get(FD, "orders-blue")
    assert blue["metadata"]["generation"] == blue_before["metadata"]["generation"]
    assert blue["status"]["jobStatus"]["state"] == "RUNNING" and blue["status"]["lifecycleState"] == "STABLE"


def test_a_failed_transition_savepoint_keeps_blue_active_and_deploys_nothing(bg_cluster):
    """*flow*, "SavepointingStateHandler": savepoint failures at the fetch stage end the attempt with an
    error (source: ``startTransition`` → "Could not start Transition ...", ``markDeploymentFailing``)."""
    bg = deploy_active_blue(bg_cluster)
    bg_cluster.behave("orders-blue", savepoint="fail")
    upgrade(bg_cluster, bg, "flink:1.20.1")
    message = wait_state(bg_cluster, "ACTIVE_BLUE", "FAILING")["status"]["error"]
    assert "Could not start Transition" in message and "simulated checkpoint coordinator failure" in message
    assert bg_cluster.get(FD, "orders-green") is None
    assert bg_cluster.get(FD, "orders-blue")["status"]["jobStatus"]["state"] == "RUNNING"


def test_a_change_of_an_ignored_field_patches_the_active_child_in_place(bg_cluster, recorder):
    """*flow*, "PATCH_CHILD": changes the diff builder ignores (here ``job.upgradeMode``) update the active
    deployment in place; no transition, no second colour."""
    bg = deploy_active_blue(bg_cluster, upgrade_mode="stateless")
    states = recorder()
    job = bg.spec.template.spec.job.model_copy(update={"upgrade_mode": "last-state"})
    template = bg.spec.template.model_copy(update={"spec": bg.spec.template.spec.model_copy(update={"job": job})})
    bg_cluster.hook().apply(render(bg.model_copy(update={"spec": bg.spec.model_copy(update={"template": template})})), NS)
    bg_cluster.wait_for(lambda: len(states.states("orders")) > 1, what="the patch picked up")
    assert states.until("orders", ("ACTIVE_BLUE", "RUNNING")) == [
        ("ACTIVE_BLUE", "RUNNING"), ("TRANSITIONING_TO_BLUE", "RECONCILING"), ("ACTIVE_BLUE", "RUNNING")]
    assert bg_cluster.get(FD, "orders-blue")["spec"]["job"]["upgradeMode"] == "last-state"
    assert bg_cluster.get(FD, "orders-green") is None


def test_deleting_the_parent_deletes_both_children(bg_cluster):
    """Children carry an ownerReference to the parent (``getDependentObjectMeta``): the API server's garbage
    collector deletes them with it."""
    deploy_active_blue(bg_cluster)
    bg_cluster.hook().delete(BG, "orders", NS, timeout=10, poll_interval=0.05)
    bg_cluster.wait_for(lambda: bg_cluster.get(FD, "orders-blue") is None, what="the blue child collected")


def test_a_fixed_template_after_an_abort_transitions_again(bg_cluster, recorder):
    """After an abort the state is ACTIVE_BLUE again, so the next template change is a new TRANSITION
    (``checkAndInitiateDeployment``); the suspended green child is replaced (``createOrReplace``)."""
    bg = deploy_active_blue(bg_cluster)
    bg_cluster.behave("orders-green", jobmanager_error=True)
    upgrade(bg_cluster, bg, "flink:1.20.1-broken", grace="1 s")
    wait_state(bg_cluster, "ACTIVE_BLUE", "FAILING")
    bg_cluster.behave("orders-green", jobmanager_error=False)
    states = recorder()
    upgrade(bg_cluster, bg, "flink:1.20.1")
    obj = wait_state(bg_cluster, "ACTIVE_GREEN", "RUNNING")
    assert "error" not in obj["status"]
    assert states.until("orders", ("ACTIVE_GREEN", "RUNNING"))[-2:] == [("TRANSITIONING_TO_GREEN", "RECONCILING"),
                                                                        ("ACTIVE_GREEN", "RUNNING")]
    green = bg_cluster.get(FD, "orders-green")
    assert green["spec"]["image"] == "flink:1.20.1" and green["spec"]["job"].get("state", "running") == "running"
