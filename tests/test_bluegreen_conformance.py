"""The simulated blue/green controller against the operator's Java source, rule by rule.

Each test drives the simulated cluster over real HTTP (the official Kubernetes client, plain dict manifests:
none of the package's models, rendering or status code) and names, in its docstring, the Java class and method
it follows (apache/flink-kubernetes-operator, main at 6e9caeb; ``release-1.14.0`` / ``release-1.15.0`` for the
version rules). What happened is read from one watch over both kinds, ordered by resourceVersion (the
emulator's global write order), so no short-lived state is missed and no test waits for a moment in time.
"""

from __future__ import annotations

import copy
import json
import queue
import threading
import time
from typing import Any

import pytest

from airflow_flink_operator.local_airflow import wait_for
from airflow_flink_operator.testing import SimulatedCluster

NS = "default"
GROUP, VERSION = "flink.apache.org", "v1beta1"
BG, FD = "flinkbluegreendeployments", "flinkdeployments"
SRC = "flink-kubernetes-operator/src/main/java/org/apache/flink/kubernetes/operator/"


# -- the cluster, a timeline of writes, and plain manifests -------------------------------------------------------

class Timeline:
    """Every write to blue/green deployments and FlinkDeployments in the namespace: (rv, plural, type, object)."""

    def __init__(self, cluster: SimulatedCluster) -> None:
        from kubernetes import client, config, watch

        self._api_client = config.new_client_from_config_dict(cluster.kubeconfig())
        custom = client.CustomObjectsApi(self._api_client)
        self.events: queue.Queue = queue.Queue()
        self.seen: list[tuple[int, str, str, dict]] = []
        self._watches = []
        for plural in (BG, FD):
            rv = custom.list_namespaced_custom_object(GROUP, VERSION, NS, plural)["metadata"]["resourceVersion"]
            stream = watch.Watch()
            self._watches.append(stream)

            def run(plural: str = plural, rv: str = rv, stream: Any = stream) -> None:
                try:
                    for event in stream.stream(custom.list_namespaced_custom_object, GROUP, VERSION, NS, plural,
                                               resource_version=rv, timeout_seconds=120):
                        obj = event["object"]
                        self.events.put((int(obj["metadata"]["resourceVersion"]), plural, event["type"], obj))
                except Exception:  # the server stops at the end of the test
                    pass

            threading.Thread(target=run, daemon=True).start()

    def all(self) -> list[tuple[int, str, str, dict]]:
        while True:
            try:
                self.seen.append(self.events.get_nowait())
            except queue.Empty:
                return sorted(self.seen, key=lambda e: e[0])

    def mark(self) -> int:
        """The resourceVersion of the latest write so far (to look only at what comes after)."""
        from kubernetes import client

        api = client.CustomObjectsApi(self._api_client)
        return int(api.list_namespaced_custom_object(GROUP, VERSION, NS, BG)["metadata"]["resourceVersion"])

    def parent(self, name: str = "orders", since: int = 0) -> list[tuple[int, dict]]:
        return [(rv, obj) for rv, plural, _, obj in self.all()
                if plural == BG and obj["metadata"]["name"] == name and rv > since]

    def states(self, name: str = "orders", since: int = 0) -> list[tuple[str | None, str | None]]:
        """The distinct (blueGreenState, jobStatus.state) the parent went through, in write order."""
        result: list[tuple[str | None, str | None]] = []
        for _, obj in self.parent(name, since):
            status = obj.get("status") or {}
            pair = (status.get("blueGreenState"), (status.get("jobStatus") or {}).get("state"))
            if pair[0] and (not result or result[-1] != pair):
                result.append(pair)
        return result

    def child(self, name: str) -> list[tuple[int, str, dict]]:
        return [(rv, kind, obj) for rv, plural, kind, obj in self.all()
                if plural == FD and obj["metadata"]["name"] == name]

    def until(self, last: tuple[str, str | None], name: str = "orders", since: int = 0,
              timeout: float = 90.0) -> list:
        """The states written after ``since`` once the last of them is ``last``."""
        deadline = time.monotonic() + timeout
        while True:
            states = self.states(name, since)
            if states and states[-1] == last:
                return states
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} never reached {last}: {states}")
            time.sleep(0.02)

    def stop(self) -> None:
        for stream in self._watches:
            stream.stop()
        self._api_client.close()


class Sim:
    """A simulated cluster of one operator version, its client and its timeline."""

    def __init__(self, version: str) -> None:
        from kubernetes import client, config

        self.cluster = SimulatedCluster(operator_version=version, bookmark_interval=0.2).start()
        self.controller = self.cluster.operator.bluegreen
        self._api_client = config.new_client_from_config_dict(self.cluster.kubeconfig())
        self.api = client.CustomObjectsApi(self._api_client)
        self.timeline = Timeline(self.cluster)

    def stop(self) -> None:
        self.timeline.stop()
        self._api_client.close()
        self.cluster.stop()

    def get(self, plural: str, name: str) -> dict | None:
        return self.cluster.api.get_object(plural, NS, name)

    def apply(self, manifest: dict) -> dict:
        """Create or replace the parent; :attr:`since` is this write's place in the write order."""
        from kubernetes.client.exceptions import ApiException

        while True:
            current = self.get(BG, manifest["metadata"]["name"])
            if current is None:
                self.since = 0
                return self.api.create_namespaced_custom_object(GROUP, VERSION, NS, BG, manifest)
            body = copy.deepcopy(current)
            body["spec"] = manifest["spec"]
            try:
                stored = self.api.replace_namespaced_custom_object(GROUP, VERSION, NS, BG,
                                                                   current["metadata"]["name"], body)
            except ApiException as exc:
                if exc.status == 409:  # the controller wrote the status meanwhile: read and try again
                    continue
                raise
            self.since = int(stored["metadata"]["resourceVersion"])
            return stored

    def wait(self, predicate, what: str, timeout: float = 90.0):
        return wait_for(predicate, timeout, what, interval=0.02,
                        diagnose=lambda: f"errors: {self.cluster.operator.errors[-3:]}")

    def looked_at(self, generation: int, name: str = "orders") -> None:
        """Wait until the controller finished a reconciliation of ``generation``."""
        self.wait(lambda: self.controller.last_reconciled.get((NS, name), 0) >= generation,
                  f"generation {generation} reconciled")

    def status(self, name: str = "orders") -> dict:
        return (self.get(BG, name) or {}).get("status") or {}


def template(image: str = "flink:1.20", upgrade_mode: str = "savepoint", savepoint_dir: bool = True) -> dict:
    conf = {"state.checkpoints.dir": "s3://state/cp", "high-availability.type": "kubernetes",
            "high-availability.storageDir": "s3://state/ha", "taskmanager.numberOfTaskSlots": "2"}
    if savepoint_dir:
        conf["state.savepoints.dir"] = "s3://state/sp"
    return {"image": image, "flinkVersion": "v1_20", "serviceAccount": "flink", "flinkConfiguration": conf,
            "jobManager": {"resource": {"cpu": 1, "memory": "2g"}},
            "taskManager": {"resource": {"cpu": 1, "memory": "2g"}},
            "job": {"jarURI": "local:///opt/flink/usrlib/orders.jar", "parallelism": 2, "upgradeMode": upgrade_mode}}


def blue_green(spec: dict | None = None, grace: str = "60 s", delay: str = "0 ms", **extra: Any) -> dict:
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "FlinkBlueGreenDeployment",
            "metadata": {"name": "orders", "namespace": NS},
            "spec": {"configuration": {"kubernetes.operator.bluegreen.abort.grace-period": grace,
                                       "kubernetes.operator.bluegreen.deployment-deletion.delay": delay},
                     "template": {"spec": spec or template()}, **extra}}


def changed(manifest: dict, **template_changes: Any) -> dict:
    """A copy with ``template.spec`` fields replaced (``job__x`` for ``job.x``; ``None`` removes)."""
    out = copy.deepcopy(manifest)
    spec = out["spec"]["template"]["spec"]
    for key, value in template_changes.items():
        target, field = (spec["job"], key[5:]) if key.startswith("job__") else (spec, key)
        if value is None:
            target.pop(field, None)
        else:
            target[field] = value
    return out


def with_grace(manifest: dict, grace: str) -> dict:
    """A copy with another ``abort.grace-period`` (read when a transition starts; a configuration-only change is
    IGNORE). Short ones only for transitions meant to abort: a healthy child on a loaded machine needs longer."""
    out = copy.deepcopy(manifest)
    out["spec"]["configuration"]["kubernetes.operator.bluegreen.abort.grace-period"] = grace
    return out


def ready(sim: Sim, name: str) -> bool:
    status = (sim.get(FD, name) or {}).get("status") or {}
    return status.get("lifecycleState") == "STABLE" and (status.get("jobStatus") or {}).get("state") == "RUNNING"


def active_blue(sim: Sim, manifest: dict | None = None) -> dict:
    manifest = manifest or blue_green()
    sim.apply(manifest)
    sim.timeline.until(("ACTIVE_BLUE", "RUNNING"), since=sim.since)
    sim.wait(lambda: ready(sim, "orders-blue"), "blue ready")
    return manifest


@pytest.fixture
def sim(request):
    version = getattr(request, "param", "main")
    simulated = Sim(version)
    try:
        yield simulated
    finally:
        simulated.stop()


def versions(*names: str):
    return pytest.mark.parametrize("sim", names, indirect=True)


# -- the spec diff: FlinkBlueGreenDeploymentSpecDiff.compare -----------------------------------------------------

def test_changes_outside_template_spec_are_ignored(sim):
    """``FlinkBlueGreenDeploymentSpecDiff.compare`` (reconciler/diff, "leftSpec = left.getTemplate().getSpec()"):
    only ``template.spec`` is compared, so ``configuration``, ``ingress`` and ``template.metadata`` alone are
    IGNORE: ``checkAndInitiateDeployment`` returns ``noUpdate`` — no state change, no status write,
    ``lastReconciledSpec`` kept, no child touched."""
    manifest = active_blue(sim)
    before, child_rv = sim.status(), sim.get(FD, "orders-blue")["metadata"]["resourceVersion"]
    change = copy.deepcopy(manifest)
    change["spec"]["configuration"]["kubernetes.operator.bluegreen.deployment-deletion.delay"] = "5 s"
    change["spec"]["ingress"] = {"template": "flink.example.com/{{name}}"}
    change["spec"]["template"]["metadata"] = {"labels": {"team": "data"}}
    generation = sim.apply(change)["metadata"]["generation"]
    sim.looked_at(generation)
    assert sim.status() == before
    assert sim.get(FD, "orders-blue")["metadata"]["resourceVersion"] == child_rv


def test_a_field_added_at_its_java_default_is_ignored(sim):
    """``compare`` "Case 2: FlinkDeploymentSpecs are identical": the specs are Java objects read by Jackson, so
    ``job.args: []``, ``job.state: running`` and ``jobManager.replicas: 1`` equal the missing fields' defaults
    (``JobSpec``: ``args = new String[0]``, ``state = RUNNING``; ``JobManagerSpec.replicas = 1``): IGNORE."""
    manifest = active_blue(sim)
    before = sim.status()
    change = changed(manifest, job__args=[], job__state="running",
                     jobManager={"resource": {"cpu": 1.0, "memory": "2g"}, "replicas": 1})
    sim.looked_at(sim.apply(change)["metadata"]["generation"])
    assert sim.status() == before


def test_an_ignored_field_patches_the_active_child_with_the_whole_template(sim):
    """``compare`` "Case 3": ``ReflectiveDiffBuilder`` IGNORE (``JobSpec.allowNonRestoredState``,
    ``@SpecDiff(DiffType.IGNORE)``) on unequal specs is PATCH_CHILD; ``checkAndInitiateDeployment`` →
    ``patchFlinkDeployment`` → ``initiateDeployment``: the blue child gets the template (``prepareFlinkDeployment``),
    TRANSITIONING_TO_BLUE, no green."""
    manifest = active_blue(sim)
    sim.apply(changed(manifest, job__allowNonRestoredState=True))
    states = sim.timeline.until(("ACTIVE_BLUE", "RUNNING"), since=sim.since)
    assert states[-2:] == [("TRANSITIONING_TO_BLUE", "RECONCILING"), ("ACTIVE_BLUE", "RUNNING")]
    assert sim.get(FD, "orders-blue")["spec"]["job"]["allowNonRestoredState"] is True
    assert sim.get(FD, "orders-green") is None


@pytest.mark.parametrize("change", [
    {"restartNonce": None},
    {"job__savepointRedeployNonce": None},
])
def test_removing_an_on_null_ignore_field_is_a_patch_not_a_transition(sim, change):
    """``ReflectiveDiffBuilder.appendFields``: ``@SpecDiff(onNullIgnore = true)`` fields (``AbstractFlinkSpec.
    restartNonce``, ``JobSpec.savepointRedeployNonce``) add no diff when the new value is null; the specs still
    differ, so ``compare`` returns PATCH_CHILD ("Case 3"), not TRANSITION or SAVEPOINT_REDEPLOY."""
    spec = template()
    spec["restartNonce"] = 3
    spec["job"].update(savepointRedeployNonce=3, initialSavepointPath="s3://state/sp/savepoint-seed")
    manifest = active_blue(sim, blue_green(spec))
    sim.apply(changed(manifest, **change))
    states = sim.timeline.until(("ACTIVE_BLUE", "RUNNING"), since=sim.since)
    assert states[-2:] == [("TRANSITIONING_TO_BLUE", "RECONCILING"), ("ACTIVE_BLUE", "RUNNING")]
    assert sim.get(FD, "orders-green") is None


@pytest.mark.parametrize("conf_change", [
    {"pipeline.jobvertex-parallelism-overrides": "a:2"},   # SCALE in NATIVE mode
    {"taskmanager.numberOfTaskSlots": None},                # a key removed
])
def test_scale_and_removed_config_keys_are_transitions(sim, conf_change):
    """``AbstractFlinkSpec.flinkConfiguration`` ``@SpecDiff.Config``: ``pipeline.jobvertex-parallelism-overrides`` is
    SCALE in NATIVE mode (``BlueGreenUtils.getSpecDiff`` builds the diff with ``KubernetesDeploymentMode.NATIVE``),
    and ``ReflectiveDiffBuilder.configDiff`` compares the union of keys, so a removed key is UPGRADE; ``compare``
    "Case 4" maps both to TRANSITION: a savepoint of blue, then green."""
    manifest = active_blue(sim)
    change = copy.deepcopy(manifest)
    conf = change["spec"]["template"]["spec"]["flinkConfiguration"]
    for key, value in conf_change.items():
        conf.pop(key) if value is None else conf.__setitem__(key, value)
    sim.apply(change)
    states = sim.timeline.until(("ACTIVE_GREEN", "RUNNING"), since=sim.since)
    assert ("SAVEPOINTING_BLUE", "RUNNING") in states and ("TRANSITIONING_TO_GREEN", "RECONCILING") in states


def test_operator_and_autoscaler_config_keys_only_patch(sim):
    """``@SpecDiff.Config`` entries ``kubernetes.operator`` and ``job.autoscaler`` are IGNORE: PATCH_CHILD."""
    manifest = active_blue(sim)
    change = copy.deepcopy(manifest)
    change["spec"]["template"]["spec"]["flinkConfiguration"].update(
        {"kubernetes.operator.periodic.savepoint.interval": "1 h", "job.autoscaler.enabled": "true"})
    sim.apply(change)
    assert sim.timeline.until(("ACTIVE_BLUE", "RUNNING"), since=sim.since)[0][0] == "TRANSITIONING_TO_BLUE"
    assert sim.get(FD, "orders-green") is None


def test_a_config_value_of_another_json_type_is_a_patch(sim):
    """``compare``: ``ReflectiveDiffBuilder.configDiff`` compares ``ConfigObjectNode.asFlatMap`` values as text
    (``"2"`` and ``2`` both read "2": no diff), but Lombok ``equals`` compares the Jackson trees (``TextNode`` vs
    ``IntNode``: unequal), so the change is PATCH_CHILD ("Case 3")."""
    manifest = active_blue(sim)
    change = copy.deepcopy(manifest)
    change["spec"]["template"]["spec"]["flinkConfiguration"]["taskmanager.numberOfTaskSlots"] = 2
    sim.apply(change)
    states = sim.timeline.until(("ACTIVE_BLUE", "RUNNING"), since=sim.since)
    assert states[0] == ("TRANSITIONING_TO_BLUE", "RECONCILING") and sim.get(FD, "orders-green") is None


def test_job_parallelism_is_a_transition_in_native_mode(sim):
    """``JobSpec.parallelism`` is ``@SpecDiff(value = SCALE, mode = STANDALONE)``: in NATIVE mode
    (``ReflectiveDiffBuilder``: "modeApplies ? annotation.value() : UPGRADE") it is UPGRADE → TRANSITION."""
    manifest = active_blue(sim)
    sim.apply(changed(manifest, job__parallelism=4))
    assert ("TRANSITIONING_TO_GREEN", "RECONCILING") in sim.timeline.until(("ACTIVE_GREEN", "RUNNING"), since=sim.since)
    assert sim.get(FD, "orders-green")["spec"]["job"]["parallelism"] == 4


# -- abort, FAILING, and what comes after ----------------------------------------------------------------------

def aborted(sim: Sim, image: str = "flink:broken") -> dict:
    """ACTIVE_BLUE, then a TRANSITION whose green never becomes ready: aborted. Returns the (failed) manifest with
    the long grace period back, for the next change."""
    manifest = active_blue(sim)
    sim.cluster.behave("orders-green", jobmanager_error=True)
    broken = with_grace(changed(manifest, image=image), "1 s")
    sim.apply(broken)
    sim.timeline.until(("ACTIVE_BLUE", "FAILING"), since=sim.since)
    return with_grace(broken, "60 s")


def test_abort_suspends_the_new_child_keeps_the_template_and_reports_failing(sim):
    """``BlueGreenDeploymentService.abortDeployment`` (via ``monitorTransition`` → ``shouldWeAbort``, past
    ``abortTimestamp``): ``suspendFlinkDeployment`` on the new child, ``getPreviousState`` (two children:
    ACTIVE_BLUE), ``markDeploymentFailing`` with "Aborting deployment '<child>', rolling B/G deployment back to
    ACTIVE_BLUE". Nothing reverts the parent's template (``revertToLastSpec`` is never called) and
    ``lastReconciledSpec`` already holds the failed spec (``setLastReconciledSpec`` before ``startTransition``);
    the serving child is never touched."""
    manifest = active_blue(sim)
    blue_rv = sim.get(FD, "orders-blue")["metadata"]["generation"]
    sim.cluster.behave("orders-green", jobmanager_error=True)
    sim.apply(with_grace(changed(manifest, image="flink:broken"), "1 s"))
    sim.timeline.until(("ACTIVE_BLUE", "FAILING"), since=sim.since)
    status, parent = sim.status(), sim.get(BG, "orders")
    assert status["error"] == "Aborting deployment 'orders-green', rolling B/G deployment back to ACTIVE_BLUE"
    assert parent["spec"]["template"]["spec"]["image"] == "flink:broken"
    assert json.loads(status["lastReconciledSpec"])["spec"]["template"]["spec"]["image"] == "flink:broken"
    assert sim.get(FD, "orders-green")["spec"]["job"]["state"] == "suspended"
    assert sim.get(FD, "orders-blue")["metadata"]["generation"] == blue_rv and ready(sim, "orders-blue")


def test_failing_stays_until_the_next_transition_starts(sim):
    """``patchStatusUpdateControl``: the error is set with FAILING and cleared only with RECONCILING or RUNNING; an
    IGNORE change (``configuration``) does nothing (``checkAndInitiateDeployment`` → ``noUpdate``), so FAILING
    stays; the next change that starts something (``initiateDeployment``: RECONCILING) clears it."""
    broken = aborted(sim)
    quiet = copy.deepcopy(broken)
    quiet["spec"]["configuration"]["kubernetes.operator.bluegreen.deployment-deletion.delay"] = "1 ms"
    sim.looked_at(sim.apply(quiet)["metadata"]["generation"])
    assert sim.status()["jobStatus"]["state"] == "FAILING" and sim.status()["error"]
    sim.cluster.behave("orders-green", jobmanager_error=False)
    sim.apply(changed(quiet, image="flink:fixed"))
    states = sim.timeline.until(("ACTIVE_GREEN", "RUNNING"), since=sim.since)
    assert states[0] == ("SAVEPOINTING_BLUE", "FAILING")  # still FAILING while blue's savepoint is taken
    assert ("TRANSITIONING_TO_GREEN", "RECONCILING") in states and "error" not in sim.status()


def test_a_patch_after_an_abort_copies_the_failed_template_into_the_serving_child(sim):
    """``checkAndInitiateDeployment`` in ACTIVE_BLUE/FAILING with a PATCH_CHILD diff (``upgradeMode``, IGNORE):
    ``patchFlinkDeployment(BLUE)`` → ``prepareFlinkDeployment`` copies the *whole* current template — the failed
    image included — into the serving blue child; with both children present it is not a first deployment and
    the transition goes to TRANSITIONING_TO_BLUE, whose 'current' child is the suspended green: ``shouldWeDelete``
    deletes green once blue is (or looks) ready."""
    broken = aborted(sim)
    sim.apply(changed(broken, job__upgradeMode="stateless"))
    # Blue (the 'next' child) looks ready, so the suspended green (the 'current' one) is deleted and blue, now
    # running the failed image, is ACTIVE again.
    states = sim.timeline.until(("ACTIVE_BLUE", "RUNNING"), since=sim.since)
    assert states[0] == ("TRANSITIONING_TO_BLUE", "RECONCILING")
    assert sim.get(FD, "orders-blue")["spec"]["image"] == "flink:broken"


def test_a_transition_while_the_active_child_is_not_ready_fails_and_swallows_the_change(sim):
    """``checkAndInitiateDeployment``, active child not ``isFlinkDeploymentReady``, not yet FAILING:
    ``setLastReconciledSpec`` then FAILING "Transition to GREEN not possible, current Flink Deployment
    'orders-blue' is not READY. FAILING 'orders'"; the change counts as reconciled."""
    manifest = active_blue(sim)
    sim.cluster.behave("orders-blue", fail_after=0.0)
    sim.wait(lambda: not ready(sim, "orders-blue"), "blue not ready")
    sim.apply(changed(manifest, image="flink:next"))
    sim.timeline.until(("ACTIVE_BLUE", "FAILING"), since=sim.since)
    status = sim.status()
    assert status["error"] == ("Transition to GREEN not possible, current Flink Deployment 'orders-blue' is not "
                               "READY. FAILING 'orders'")
    assert json.loads(status["lastReconciledSpec"])["spec"]["template"]["spec"]["image"] == "flink:next"
    assert sim.get(FD, "orders-green") is None


# -- suspend, resume, redeploy ---------------------------------------------------------------------------------

def test_suspend_and_resume_patch_the_active_child_in_place(sim):
    """``compare``: ``job.state`` to suspended is SUSPEND, back is RESUME; ``checkAndInitiateDeployment`` patches the
    active child in place (TRANSITIONING_TO_BLUE); ``monitorTransition``: a child whose spec is suspended and whose
    lifecycle is SUSPENDED → ``finalizeSuspendedDeployment``: ACTIVE_BLUE with job SUSPENDED; the resumed child
    becomes ready → ``finalizeBlueGreenDeployment``: ACTIVE_BLUE, RUNNING. No green ever."""
    manifest = active_blue(sim)
    suspended = changed(manifest, job__state="suspended")
    sim.apply(suspended)
    states = sim.timeline.until(("ACTIVE_BLUE", "SUSPENDED"), since=sim.since)
    assert states[0] == ("TRANSITIONING_TO_BLUE", "RECONCILING")
    assert sim.get(FD, "orders-blue")["status"]["lifecycleState"] == "SUSPENDED"
    sim.apply(changed(suspended, job__state="running"))
    assert sim.timeline.until(("ACTIVE_BLUE", "RUNNING"), since=sim.since)[0] == ("TRANSITIONING_TO_BLUE", "RECONCILING")
    sim.wait(lambda: ready(sim, "orders-blue"), "blue running again")
    assert sim.get(FD, "orders-green") is None


def test_any_change_while_suspended_patches_the_suspended_child(sim):
    """``checkAndInitiateDeployment``: "Check if child is currently suspended - if so, just patch specs without
    restart" (``isChildSuspended``) comes before the TRANSITION branch: an image change of a suspended job is
    applied to the same colour and ends ACTIVE_BLUE/SUSPENDED again."""
    manifest = active_blue(sim)
    suspended = changed(manifest, job__state="suspended")
    sim.apply(suspended)
    sim.timeline.until(("ACTIVE_BLUE", "SUSPENDED"), since=sim.since)
    sim.apply(changed(suspended, image="flink:next"))
    sim.timeline.until(("ACTIVE_BLUE", "SUSPENDED"), since=sim.since)
    assert sim.get(FD, "orders-blue")["spec"]["image"] == "flink:next"
    assert sim.get(FD, "orders-green") is None


def test_a_first_deployment_suspended_waits_in_initializing_blue(sim):
    """``InitializingBlueStateHandler.handle``: a template with ``job.state: suspended`` blocks the first
    deployment: INITIALIZING_BLUE with job SUSPENDED, no child."""
    spec = template()
    spec["job"]["state"] = "suspended"
    generation = sim.apply(blue_green(spec))["metadata"]["generation"]
    sim.timeline.until(("INITIALIZING_BLUE", "SUSPENDED"))
    sim.looked_at(generation)
    assert sim.get(FD, "orders-blue") is None


def test_savepoint_redeploy_starts_the_other_colour_from_the_given_path(sim):
    """``compare`` "Case 1": a changed ``savepointRedeployNonce`` (``@SpecDiff(SAVEPOINT_REDEPLOY)``) is
    SAVEPOINT_REDEPLOY; ``startSavepointRedeployTransition``: no savepoint of blue, green from the template's
    ``initialSavepointPath`` (``prepareFlinkDeployment``, "Redeploy scenarios"), which green restores from."""
    manifest = active_blue(sim)
    sim.apply(changed(manifest, job__savepointRedeployNonce=1, job__initialSavepointPath="s3://state/sp/golden"))
    states = sim.timeline.until(("ACTIVE_GREEN", "RUNNING"), since=sim.since)
    assert all(state != "SAVEPOINTING_BLUE" for state, _ in states)
    green = sim.get(FD, "orders-green")
    assert green["spec"]["job"]["initialSavepointPath"] == "s3://state/sp/golden"
    assert green["status"]["jobStatus"]["upgradeSavepointPath"] == "s3://state/sp/golden"


# -- savepoints of the active child ----------------------------------------------------------------------------

def test_no_savepoint_directory_fails_the_trigger_with_a_null_message(sim):
    """``BlueGreenUtils.triggerSavepoint``: ``Preconditions.checkNotNull(conf.get(SAVEPOINT_DIRECTORY))`` throws
    a NullPointerException without a message; ``checkAndInitiateDeployment`` → "Could not trigger Savepoint.
    Details: null", FAILING, and the spec is not marked reconciled (the trigger is retried)."""
    manifest = active_blue(sim, blue_green(template(upgrade_mode="last-state", savepoint_dir=False)))
    last = sim.status()["lastReconciledSpec"]
    sim.apply(changed(manifest, image="flink:next"))
    sim.timeline.until(("ACTIVE_BLUE", "FAILING"), since=sim.since)
    assert sim.status()["error"] == "Could not trigger Savepoint. Details: null"
    assert sim.status()["lastReconciledSpec"] == last and sim.get(FD, "orders-green") is None


def test_a_failed_savepoint_fails_the_start_of_the_transition(sim):
    """``SavepointingStateHandler``: a savepoint that is no longer pending (here failed) returns to ACTIVE_BLUE;
    ``startTransition`` → ``configureInitialSavepoint`` throws "Could not fetch savepoint with triggerId: <id>.
    Error: ...", caught as "Could not start Transition. Details: ..." with ``savepointTriggerId`` cleared; the
    spec was marked reconciled just before."""
    manifest = active_blue(sim)
    sim.cluster.behave("orders-blue", savepoint="fail")
    sim.apply(changed(manifest, image="flink:next"))
    states = sim.timeline.until(("ACTIVE_BLUE", "FAILING"), since=sim.since)
    assert states[:2] == [("SAVEPOINTING_BLUE", "RUNNING"), ("ACTIVE_BLUE", "RUNNING")]
    status = sim.status()
    assert status["error"].startswith("Could not start Transition. Details: Could not fetch savepoint with triggerId: ")
    assert "simulated checkpoint coordinator failure" in status["error"] and "savepointTriggerId" not in status
    assert json.loads(status["lastReconciledSpec"])["spec"]["template"]["spec"]["image"] == "flink:next"


# -- who writes first: children, then the parent; the parent may act on a child's stale status ----------------

def first_rv(events, predicate, timeout: float = 60.0) -> int:
    """The write order (resourceVersion) of the first event matching ``predicate``. ``events`` may be a callable,
    polled until such an event has arrived: the two watches deliver independently of each other."""
    deadline = time.monotonic() + timeout
    while True:
        found = [rv for rv, *rest in (events() if callable(events) else events) if predicate(*rest)]
        if found or not callable(events) or time.monotonic() > deadline:
            return found[0]
        time.sleep(0.02)


def test_the_child_is_written_before_the_parent_status(sim):
    """``initiateDeployment``: ``deployCluster`` (createOrReplace the child) before ``patchStatusUpdateControl``;
    ``abortDeployment``: ``suspendFlinkDeployment`` before ``markDeploymentFailing``. An observer can see the
    new child while the parent still shows the previous state."""
    manifest = active_blue(sim)
    sim.cluster.behave("orders-green", jobmanager_error=True)
    sim.apply(with_grace(changed(manifest, image="flink:broken"), "1 s"))
    sim.timeline.until(("ACTIVE_BLUE", "FAILING"), since=sim.since)
    parent = sim.timeline.parent(since=sim.since)
    green = lambda: sim.timeline.child("orders-green")  # noqa: E731
    created = first_rv(green, lambda kind, obj: kind == "ADDED")
    transitioning = first_rv(parent, lambda obj: obj["status"].get("blueGreenState") == "TRANSITIONING_TO_GREEN")
    assert created < transitioning
    suspended = first_rv(green, lambda kind, obj: obj["spec"]["job"].get("state") == "suspended")
    failing = first_rv(parent, lambda obj: obj["status"]["jobStatus"].get("state") == "FAILING")
    assert suspended < failing


def test_a_patch_may_finalize_on_the_childs_stale_status(sim):
    """JOSDK reconciles the parent on its child's event right after ``deployCluster``, before the FlinkDeployment
    controller has written the child's status for the new generation; ``monitorTransition`` →
    ``isFlinkDeploymentReady`` reads the old STABLE/RUNNING status, and with a single child
    (``shouldWeDelete``, current deployment null) ``finalizeBlueGreenDeployment`` writes ACTIVE_BLUE/RUNNING while
    the child has not yet even started on the patch (its ``observedGeneration`` is older)."""
    manifest = active_blue(sim)
    generation = sim.get(FD, "orders-blue")["metadata"]["generation"] + 1
    sim.apply(changed(manifest, job__allowNonRestoredState=True))
    sim.timeline.until(("ACTIVE_BLUE", "RUNNING"), since=sim.since)
    sim.wait(lambda: ready(sim, "orders-blue") and sim.get(FD, "orders-blue")["status"]["observedGeneration"]
             == generation, "blue on the patch")
    finalized = first_rv(sim.timeline.parent(since=sim.since),
                         lambda obj: obj["status"].get("blueGreenState") == "ACTIVE_BLUE")
    picked_up = first_rv(lambda: sim.timeline.child("orders-blue"),
                         lambda kind, obj: (obj.get("status") or {}).get("observedGeneration") == generation)
    assert finalized < picked_up


def test_suspend_during_a_transition_waits_for_the_transition(sim):
    """``handleSpecChangesDuringTransition``: "Block SUSPEND during transition - wait for transition to complete
    first"; ``finalizeBlueGreenDeployment`` reschedules at once, and ACTIVE_GREEN then suspends green in place."""
    manifest = active_blue(sim)
    sim.cluster.behave("orders-green", pickup_delay=1.0)
    upgraded = changed(manifest, image="flink:next")
    sim.apply(upgraded)
    start = sim.since
    sim.timeline.until(("TRANSITIONING_TO_GREEN", "RECONCILING"), since=start)
    sim.apply(changed(upgraded, job__state="suspended"))
    states = sim.timeline.until(("ACTIVE_GREEN", "SUSPENDED"), since=start)
    assert states.index(("ACTIVE_GREEN", "RUNNING")) < states.index(("ACTIVE_GREEN", "SUSPENDED"))
    running = first_rv(sim.timeline.parent(since=start), lambda obj: obj["status"].get("blueGreenState") ==
                       "ACTIVE_GREEN" and obj["status"]["jobStatus"].get("state") == "RUNNING")
    suspended = first_rv(lambda: sim.timeline.child("orders-green"),
                         lambda kind, obj: obj["spec"]["job"].get("state") == "suspended")
    assert running < suspended


# -- per operator version ----------------------------------------------------------------------------------------

def savepoint_aborted(sim: Sim) -> tuple[dict, str]:
    """A stateful TRANSITION (blue's savepoint taken) aborted; returns the template and the aborted savepoint."""
    manifest = active_blue(sim)
    sim.cluster.behave("orders-green", jobmanager_error=True)
    sim.apply(with_grace(changed(manifest, image="flink:broken"), "1 s"))
    sim.timeline.until(("ACTIVE_BLUE", "FAILING"), since=sim.since)
    sim.cluster.behave("orders-green", jobmanager_error=False)
    broken = changed(manifest, image="flink:broken")
    return broken, sim.get(FD, "orders-green")["spec"]["job"]["initialSavepointPath"]


@versions("1.14")
def test_1_14_reuses_the_aborted_attempts_savepoint(sim):
    """release-1.14.0 ``abortDeployment`` does not clear ``savepointTriggerId`` (fixed by hotfix a00bf278 in 1.15.0):
    the next TRANSITION's ``handleSavepoint`` sees "Savepoint previously requested", skips SAVEPOINTING, and
    ``configureInitialSavepoint`` fetches the old trigger: green starts from the aborted attempt's savepoint."""
    broken, old_savepoint = savepoint_aborted(sim)
    assert sim.status()["savepointTriggerId"]
    sim.apply(changed(broken, image="flink:fixed"))
    states = sim.timeline.until(("ACTIVE_GREEN", "RUNNING"), since=sim.since)
    assert all(state != "SAVEPOINTING_BLUE" for state, _ in states)
    assert sim.get(FD, "orders-green")["spec"]["job"]["initialSavepointPath"] == old_savepoint


@versions("1.15", "main")
def test_from_1_15_the_next_transition_takes_a_fresh_savepoint(sim):
    """release-1.15.0 and main ``abortDeployment`` clear ``savepointTriggerId``: the next TRANSITION savepoints blue
    again and green starts from the new savepoint."""
    broken, old_savepoint = savepoint_aborted(sim)
    assert "savepointTriggerId" not in sim.status()
    sim.apply(changed(broken, image="flink:fixed"))
    states = sim.timeline.until(("ACTIVE_GREEN", "RUNNING"), since=sim.since)
    assert ("SAVEPOINTING_BLUE", "FAILING") in states
    assert sim.get(FD, "orders-green")["spec"]["job"]["initialSavepointPath"] != old_savepoint


@versions("main")
def test_main_resets_all_transition_markers_on_abort(sim):
    """main ``abortDeployment`` → ``resetTransitionMarkers`` (FLINK-40119): ``abortTimestamp`` and
    ``deploymentReadyTimestamp`` back to the epoch, no trigger id."""
    aborted(sim)
    status = sim.status()
    assert status["abortTimestamp"] == status["deploymentReadyTimestamp"] == "1970-01-01T00:00:00Z"


@versions("1.15")
def test_1_15_keeps_the_abort_timestamp_after_an_abort(sim):
    """release-1.15.0 ``abortDeployment`` resets only ``savepointTriggerId``: ``abortTimestamp`` stays set."""
    aborted(sim)
    assert sim.status()["abortTimestamp"] != "1970-01-01T00:00:00Z"


@pytest.mark.parametrize("sim, finalized_before_gone", [("1.15", False), ("main", True)], indirect=["sim"])
def test_when_the_transition_is_finalized_after_the_old_childs_deletion(sim, finalized_before_gone):
    """``shouldWeDelete`` → ``deleteDeployment``: main finalizes right after the delete call (FLINK-40092), while the
    old child may still be deleting; release-1.15.0 returns ``noUpdate`` and finalizes on a later reconciliation,
    once the old child is gone (``shouldWeDelete`` with current deployment null)."""
    manifest = active_blue(sim, blue_green(template(upgrade_mode="stateless")))
    sim.apply(changed(manifest, image="flink:next"))
    sim.timeline.until(("ACTIVE_GREEN", "RUNNING"), since=sim.since)
    sim.wait(lambda: any(kind == "DELETED" for _, kind, _ in sim.timeline.child("orders-blue")), "blue gone")
    finalized = first_rv(sim.timeline.parent(since=sim.since),
                         lambda obj: obj["status"].get("blueGreenState") == "ACTIVE_GREEN")
    gone = first_rv(lambda: sim.timeline.child("orders-blue"), lambda kind, obj: kind == "DELETED")
    assert (finalized < gone) is finalized_before_gone


# -- the Ingress follows the active colour ---------------------------------------------------------------------

def test_the_ingress_follows_the_active_colour(sim):
    """``finalizeBlueGreenDeployment`` → ``updateBlueGreenIngress`` and ``ActiveStateHandler`` →
    ``reconcileIngressForActiveDeployment``, both ``IngressUtils.reconcileBlueGreenIngress``: with the parent's
    ``spec.ingress`` an Ingress named after the parent, owned by it, host and path from the template
    (``getIngressUrl``: ``{{name}}``/``{{namespace}}`` of the parent), backend ``<active child>-rest`` on the REST
    port; it moves to green only when the transition is finalized; without ``spec.ingress`` the parent's (owned)
    Ingress is deleted. The children's own ingress templates are prefixed with their colour
    (``prepareFlinkDeployment``)."""
    spec = template()
    spec["ingress"] = {"template": "flink.example.com/{{namespace}}/{{name}}"}
    manifest = blue_green(spec, ingress={"template": "flink.example.com/{{namespace}}/{{name}}",
                                         "className": "nginx"})
    active_blue(sim, manifest)

    def backend() -> str | None:
        ingress = sim.get("ingresses", "orders")
        if ingress is None:
            return None
        (rule,) = ingress["spec"]["rules"]
        assert (rule["host"], rule["http"]["paths"][0]["path"]) == ("flink.example.com", "/default/orders")
        assert ingress["spec"]["ingressClassName"] == "nginx"
        assert ingress["metadata"]["ownerReferences"][0]["name"] == "orders"
        service = rule["http"]["paths"][0]["backend"]["service"]
        assert service["port"]["number"] == 8081
        return service["name"]

    assert sim.wait(backend, "the ingress") == "orders-blue-rest"
    assert sim.get(FD, "orders-blue")["spec"]["ingress"]["template"] == "blue-flink.example.com/{{namespace}}/{{name}}"
    sim.apply(changed(manifest, image="flink:next"))
    sim.timeline.until(("ACTIVE_GREEN", "RUNNING"), since=sim.since)
    assert backend() == "orders-green-rest"
    # Switched in finalizeBlueGreenDeployment: after the old child's deletion (main), before the ACTIVE_GREEN write.
    switched = int(sim.get("ingresses", "orders")["metadata"]["resourceVersion"])
    deleting = first_rv(lambda: sim.timeline.child("orders-blue"), lambda kind, obj: obj["metadata"].get("deletionTimestamp"))
    finalized = first_rv(sim.timeline.parent(since=sim.since),
                         lambda obj: obj["status"].get("blueGreenState") == "ACTIVE_GREEN")
    assert deleting < switched < finalized
    # Without spec.ingress (an IGNORE diff) the next ACTIVE reconciliation deletes the parent's Ingress.
    without = changed(manifest, image="flink:next")
    del without["spec"]["ingress"]
    sim.apply(without)
    sim.wait(lambda: sim.get("ingresses", "orders") is None, "the ingress deleted")


# -- the first deployment, the deletion delay ------------------------------------------------------------------

def test_a_failed_first_deployment_waits_in_initializing_blue_for_a_changed_spec(sim):
    """``abortDeployment`` → ``getPreviousState``: with one child the state goes back to INITIALIZING_BLUE (FAILING);
    ``InitializingBlueStateHandler``: "recovering from a failure and the spec has changed" redeploys blue
    (``initiateDeployment(BLUE, TRANSITIONING_TO_BLUE, null, true)``); an unchanged spec is not retried."""
    sim.cluster.behave("orders-blue", jobmanager_error=True)
    manifest = blue_green(grace="1 s")
    sim.apply(manifest)
    sim.timeline.until(("INITIALIZING_BLUE", "FAILING"))
    assert sim.status()["error"] == "Aborting deployment 'orders-blue', rolling B/G deployment back to INITIALIZING_BLUE"
    assert sim.get(FD, "orders-blue")["spec"]["job"]["state"] == "suspended"
    sim.cluster.behave("orders-blue", jobmanager_error=False)
    sim.apply(with_grace(changed(manifest, image="flink:fixed"), "60 s"))
    assert sim.timeline.until(("ACTIVE_BLUE", "RUNNING"), since=sim.since)[0] == ("TRANSITIONING_TO_BLUE",
                                                                                   "RECONCILING")
    assert sim.get(FD, "orders-blue")["spec"]["image"] == "flink:fixed"


def test_the_old_child_is_deleted_a_deletion_delay_after_the_new_one_was_ready(sim):
    """``shouldWeDelete``: the first time the new child is seen ready ``deploymentReadyTimestamp`` is written and
    the reconciliation rescheduled; the old child is deleted once ``deploymentReadyTimestamp`` +
    ``deployment-deletion.delay`` has passed (``deletionTimestamp < System.currentTimeMillis()``)."""
    from datetime import datetime

    manifest = active_blue(sim, blue_green(template(upgrade_mode="stateless"), delay="2 s"))
    sim.apply(changed(manifest, image="flink:next"))
    sim.timeline.until(("ACTIVE_GREEN", "RUNNING"), since=sim.since)
    parent = sim.timeline.parent(since=sim.since)
    ready_at = next(obj["status"]["deploymentReadyTimestamp"] for _, obj in parent
                    if obj["status"].get("deploymentReadyTimestamp", "1970").startswith("20"))
    ready_rv = first_rv(parent, lambda obj: obj["status"].get("deploymentReadyTimestamp") == ready_at)
    deleting = next(obj for _, _, obj in sim.timeline.child("orders-blue") if obj["metadata"].get("deletionTimestamp"))
    assert first_rv(lambda: sim.timeline.child("orders-blue"), lambda kind, obj: obj is deleting) > ready_rv

    def seconds(text: str) -> float:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()

    # deletionTimestamp has whole seconds (the API server's format): allow for the truncation.
    assert seconds(deleting["metadata"]["deletionTimestamp"]) + 1 >= seconds(ready_at) + 2


@pytest.mark.parametrize("sim, keeps_ready_time", [("1.15", True), ("main", False)], indirect=["sim"])
def test_an_abort_after_the_new_child_was_ready_keeps_its_ready_time_before_main(sim, keeps_ready_time):
    """``shouldWeDelete`` writes ``deploymentReadyTimestamp`` the first time the new child is ready; if that child
    then fails within the grace period the transition aborts. release-1.15.0 ``abortDeployment`` leaves the
    timestamp, so the next transition counts the deletion delay from the *aborted* child's ready time (no new one
    is written); main resets it (FLINK-40119, "prevent premature blue delete on next deploy")."""
    manifest = active_blue(sim, blue_green(template(upgrade_mode="stateless"), delay="60 s"))
    sim.cluster.behave("orders-green", fail_after=2.0)  # ready (STABLE after 0.1 s running) well before it fails
    sim.apply(with_grace(changed(manifest, image="flink:flaky"), "10 s"))  # long enough to become ready first
    sim.timeline.until(("ACTIVE_BLUE", "FAILING"), since=sim.since)
    first_ready = next(obj["status"]["deploymentReadyTimestamp"] for _, obj in sim.timeline.parent(since=sim.since)
                       if obj["status"].get("deploymentReadyTimestamp", "1970").startswith("20"))
    sim.cluster.behave("orders-green", fail_after=None)
    sim.apply(changed(manifest, image="flink:fixed"))
    sim.wait(lambda: ready(sim, "orders-green") and sim.get(FD, "orders-green")["spec"]["image"] == "flink:fixed",
             "the fixed green ready")
    sim.wait(lambda: any(obj["status"].get("deploymentReadyTimestamp") not in (None, "1970-01-01T00:00:00Z")
                         for _, obj in sim.timeline.parent(since=sim.since)), "a ready time during the retry")
    seen = {obj["status"].get("deploymentReadyTimestamp") for _, obj in sim.timeline.parent(since=sim.since)}
    seen.discard("1970-01-01T00:00:00Z")
    assert (seen == {first_ready}) is keeps_ready_time
