"""The simulated operator's FlinkBlueGreenDeployment controller, following the upstream controller flow.

Called once per tick by :class:`~.core.SimulatedFlinkOperator`
(:func:`reconcile_blue_green`). It acts only through the API: the child FlinkDeployments it creates
are then run by the simulated FlinkDeployment reconciliation like any other.

Sources: the upstream page "Blue/Green Controller Flow" (``bluegreen-controller-flow.md``, cited
below as *flow*, with its section) and, where the page is silent, the operator's source
(``FlinkBlueGreenDeploymentController``, ``BlueGreenDeploymentService``, ``BlueGreenUtils``,
``BlueGreenKubernetesService``, ``FlinkBlueGreenDeploymentSpecDiff`` on main, 6e9caeb). What it does:

- a new resource gets ``INITIALIZING_BLUE`` (controller: no status yet), which creates the blue child
  and moves to ``TRANSITIONING_TO_BLUE`` (service ``initiateDeployment``); once the child is ready it is
  ``ACTIVE_BLUE`` (*flow*, "Initial Deployment");
- in ``ACTIVE_<c>``, a template change is classified as upstream's ``BlueGreenDiffType`` (*flow*, "Spec
  Difference Types"): ``TRANSITION`` takes a savepoint of the active child unless the upgrade mode is
  ``stateless`` (``SAVEPOINTING_<c>``, back to ``ACTIVE_<c>`` once it completed; *flow*, "SAVEPOINTING_BLUE"),
  then deploys the other colour from it (``TRANSITIONING_TO_<other>``; the savepoint becomes the new child's
  ``job.initialSavepointPath``, with ``file:`` cut out as ``prepareFlinkDeployment`` does); ``PATCH_CHILD``,
  ``SUSPEND`` and ``RESUME`` patch the active child in place; ``SAVEPOINT_REDEPLOY`` deploys the other
  colour from the template's ``initialSavepointPath``;
- in ``TRANSITIONING_TO_<new>``: the new child is ready when its job is RUNNING and its lifecycle STABLE
  (*flow*, "Deployment Success Criteria"); then, after ``deployment-deletion.delay`` counted from
  ``deploymentReadyTimestamp``, the old child is deleted and the state is ``ACTIVE_<new>`` with the job
  RUNNING. If it is not ready by ``abortTimestamp`` (now + ``abort.grace-period`` when it was deployed),
  the transition is aborted (*flow*, "Abort Grace Period"): the state goes back to ``ACTIVE_<old>``,
  ``jobStatus.state`` is FAILING with the error "Aborting deployment ...", and the old child, never
  touched, keeps serving. The page says the failed child is "left running as-is"; the source
  (``abortDeployment`` → ``suspendFlinkDeployment``) sets its ``job.state`` to ``suspended``, which is
  what this simulation does;
- children are named ``<name>-blue`` / ``<name>-green``, labelled ``flink/blue-green-deployment-type:
  BLUE|GREEN``, with an ownerReference to the parent (``prepareFlinkDeployment``,
  ``getDependentObjectMeta``), so deleting the parent garbage-collects them.

Differences, on purpose: the savepoint is simulated here (the real operator asks the child's Flink REST
API), after ``SimTimings.savepoint`` seconds at a path under the child's savepoint directory; and the
simulation looks every tick instead of every ``reconciliation.reschedule-interval`` (the real one also
reacts to child events at once). No Ingress is managed.

Knobs to make things fail, through :meth:`~.core.SimulatedFlinkOperator.behave` on a child's name:
``behave("<name>-green", jobmanager_error=True)`` (or ``fail_after=0``) keeps the new child from
becoming ready, so the transition aborts after the grace period; ``behave("<name>-blue",
savepoint="fail")`` fails the transition savepoint, ``savepoint="hang"`` leaves it pending."""

from __future__ import annotations

import copy
import json
import time
import weakref
from typing import Any

from airflow_flink_operator.constants import GROUP, VERSION
from airflow_flink_operator.models.bluegreen import COLOUR_LABEL, CONFIG_DEFAULTS, CONFIG_KEYS, diff_type
from airflow_flink_operator.testing.operator.bluegreen_children import (
    BLUE_GREEN_PLURAL,
    DEPLOYMENT_PLURAL,
    BlueGreenChildrenMixin,
    ChildSavepoint,
)
from airflow_flink_operator.testing.operator.clock import EPOCH, duration_seconds, instant_millis, instant_now


class SimulatedBlueGreenController(BlueGreenChildrenMixin):
    """The blue/green controller of one :class:`~.core.SimulatedFlinkOperator`.

    :param operator: the simulated operator (its API client, timings, behaviours and error list).
    """

    def __init__(self, operator: Any) -> None:
        self.operator = operator
        self._savepoints: dict[str, ChildSavepoint] = {}  # by trigger id

    @property
    def _custom(self) -> Any:
        return self.operator._custom

    def _served(self) -> bool:
        """Whether the FlinkBlueGreenDeployment CRD is served (asked at most once a second: the operator
        learns its CRDs at start-up, and this runs every tick)."""
        from kubernetes.client.exceptions import ApiException

        now = time.monotonic()
        cached = getattr(self, "_served_cache", None)
        if cached is not None and now - cached[0] < 1.0:
            return cached[1]
        try:
            resources = self._custom.get_api_resources(GROUP, VERSION, _request_timeout=5).resources
            served = any(r.name == BLUE_GREEN_PLURAL for r in resources)
        except ApiException:
            served = False
        self._served_cache = (now, served)
        return served

    def _patch_status(self, bg: dict[str, Any], status: dict[str, Any]) -> bool:
        """``patchStatusUpdateControl``: write the status (``lastReconciledTimestamp`` set each time)."""
        from kubernetes.client.exceptions import ApiException

        status["lastReconciledTimestamp"] = instant_now()
        body = copy.deepcopy(bg)
        body["status"] = status
        try:
            stored = self._custom.replace_namespaced_custom_object_status(
                GROUP, VERSION, bg["metadata"]["namespace"], BLUE_GREEN_PLURAL, bg["metadata"]["name"], body,
                _request_timeout=5)
        except ApiException as exc:
            if exc.status in (404, 409):
                return False  # changed or gone meanwhile: look again next tick
            raise
        bg["status"], bg["metadata"] = stored["status"], stored["metadata"]
        return True

    def reconcile_all(self) -> None:
        """One pass over every FlinkBlueGreenDeployment (none when the CRD is not served)."""
        if not self._served():
            return
        items = self._custom.list_cluster_custom_object(GROUP, VERSION, BLUE_GREEN_PLURAL, _request_timeout=5)["items"]
        if not items:
            return
        children = self._custom.list_cluster_custom_object(GROUP, VERSION, DEPLOYMENT_PLURAL,
                                                           _request_timeout=5)["items"]
        for bg in items:
            try:
                self.reconcile(bg, children)
            except Exception as exc:  # one resource's trouble must not stop the others (a JOSDK retry)
                self.operator.errors.append(f"bluegreen {bg['metadata']['name']}: {exc!r}")
                del self.operator.errors[:-50]

    def reconcile(self, bg: dict[str, Any], all_children: list[dict[str, Any]]) -> None:
        """``FlinkBlueGreenDeploymentController.reconcile``: dispatch on ``blueGreenState``."""
        meta = bg["metadata"]
        if meta.get("deletionTimestamp"):
            return  # no finalizer (the controller has no cleanup): the API server deletes it and collects the children
        status = copy.deepcopy(bg.get("status") or {})
        if not status.get("blueGreenState"):
            # Controller: a resource without status starts in INITIALIZING_BLUE.
            status.update(blueGreenState="INITIALIZING_BLUE", jobStatus=status.get("jobStatus") or {})
            self._patch_status(bg, status)
            return
        state = status["blueGreenState"]
        children = {(c["metadata"].get("labels") or {}).get(COLOUR_LABEL, "").lower(): c for c in all_children
                    if c["metadata"]["namespace"] == meta["namespace"]
                    and any(ref.get("uid") == meta["uid"] for ref in c["metadata"].get("ownerReferences") or [])}
        if state != "INITIALIZING_BLUE" and not children:
            raise RuntimeError("Unexpected number of dependent deployments: 0")
        if state == "INITIALIZING_BLUE":
            self._initializing(bg, status)
        elif state.startswith("ACTIVE_"):
            self._check_and_initiate(bg, status, children, state.split("_")[1].lower())
        elif state.startswith("SAVEPOINTING_"):
            self._savepointing(bg, status, state.split("_")[1].lower())
        elif state.startswith("TRANSITIONING_TO_"):
            new = state.rsplit("_", 1)[1].lower()
            self._monitor_transition(bg, status, children, "green" if new == "blue" else "blue")

    @staticmethod
    def _config(bg: dict[str, Any], field: str) -> float:
        value = ((bg.get("spec") or {}).get("configuration") or {}).get(CONFIG_KEYS[field]) or CONFIG_DEFAULTS[field]
        return max(duration_seconds(value), 0.0)

    @staticmethod
    def _last_spec(status: dict[str, Any]) -> dict[str, Any] | None:
        text = status.get("lastReconciledSpec")
        return json.loads(text)["spec"] if text else None

    @staticmethod
    def _set_last_spec(bg: dict[str, Any], status: dict[str, Any]) -> None:
        status["lastReconciledSpec"] = json.dumps({"spec": bg.get("spec") or {}})
        status["lastReconciledTimestamp"] = instant_now()

    def _diff(self, bg: dict[str, Any], status: dict[str, Any]) -> str:
        return diff_type(self._last_spec(status) or {}, bg.get("spec") or {})

    @staticmethod
    def _ready(child: dict[str, Any] | None) -> bool:
        """``isFlinkDeploymentReady``: lifecycle STABLE and the job RUNNING (*flow*, "Deployment Success Criteria")."""
        status = (child or {}).get("status") or {}
        return status.get("lifecycleState") == "STABLE" and (status.get("jobStatus") or {}).get("state") == "RUNNING"

    @staticmethod
    def _suspended(child: dict[str, Any] | None) -> bool:
        return ((((child or {}).get("spec") or {}).get("job") or {}).get("state") or "").lower() == "suspended"

    @staticmethod
    def _reset_markers(status: dict[str, Any]) -> None:
        status.update(deploymentReadyTimestamp=EPOCH, abortTimestamp=EPOCH)
        status.pop("savepointTriggerId", None)

    def _fail(self, bg: dict[str, Any], status: dict[str, Any], error: str) -> None:
        """``markDeploymentFailing``: job state FAILING with the error."""
        status.setdefault("jobStatus", {})["state"] = "FAILING"
        status["error"] = error
        self._patch_status(bg, status)

    def _initializing(self, bg: dict[str, Any], status: dict[str, Any]) -> None:
        """``InitializingBlueStateHandler``."""
        job = ((bg.get("spec") or {}).get("template") or {}).get("spec", {}).get("job") or {}
        if (job.get("state") or "").lower() == "suspended":
            status.setdefault("jobStatus", {})["state"] = "SUSPENDED"
            self._patch_status(bg, status)
            return
        failing = (status.get("jobStatus") or {}).get("state") == "FAILING"
        if status.get("lastReconciledSpec") is None or (failing and self._diff(bg, status) != "IGNORE"):
            self._set_last_spec(bg, status)
            self._initiate(bg, status, "blue", "TRANSITIONING_TO_BLUE", None, first=True)

    def _check_and_initiate(self, bg: dict[str, Any], status: dict[str, Any], children: dict[str, Any],
                            current: str) -> None:
        """``ActiveStateHandler`` → ``checkAndInitiateDeployment``."""
        diff = self._diff(bg, status)
        if diff == "IGNORE":
            return
        child = children.get(current)
        if diff in ("SUSPEND", "RESUME") and child is not None or self._suspended(child):
            self._set_last_spec(bg, status)
            self._patch_child(bg, status, children, current)
            return
        other = "green" if current == "blue" else "blue"
        if child is not None and self._ready(child):
            if diff == "TRANSITION":
                if self._needs_savepoint(bg) and not status.get("savepointTriggerId"):
                    try:
                        status["savepointTriggerId"] = self._trigger_savepoint(child)
                    except RuntimeError as exc:
                        self._fail(bg, status, f"Could not trigger Savepoint. Details: {exc}")
                        return
                    # The spec is not marked reconciled: the TRANSITION is seen again once the savepoint is done.
                    status["blueGreenState"] = f"SAVEPOINTING_{current.upper()}"
                    self._patch_status(bg, status)
                    return
                self._set_last_spec(bg, status)
                location = None
                if self._needs_savepoint(bg):
                    savepoint = self._savepoints.pop(status.get("savepointTriggerId") or "", None)
                    if savepoint is None or savepoint.error or savepoint.location is None:
                        reason = savepoint.error if savepoint is not None else "unknown trigger"
                        trigger_id = savepoint.trigger_id if savepoint else None
                        status.pop("savepointTriggerId", None)
                        self._fail(bg, status, "Could not start Transition. Details: Could not fetch savepoint with "
                                               f"triggerId: {trigger_id}. Error: {reason}")
                        return
                    location = savepoint.location
                self._initiate(bg, status, other, f"TRANSITIONING_TO_{other.upper()}", location, first=False)
            elif diff == "SAVEPOINT_REDEPLOY":
                self._set_last_spec(bg, status)
                self._initiate(bg, status, other, f"TRANSITIONING_TO_{other.upper()}", None, first=False)
            else:  # PATCH_CHILD
                self._set_last_spec(bg, status)
                self._patch_child(bg, status, children, current)
        elif (status.get("jobStatus") or {}).get("state") != "FAILING":
            self._set_last_spec(bg, status)
            name = child["metadata"]["name"] if child is not None else "null"
            self._fail(bg, status, f"Transition to {other.upper()} not possible, current Flink Deployment '{name}' is "
                                   f"not READY. FAILING '{bg['metadata']['name']}'")

    def _savepointing(self, bg: dict[str, Any], status: dict[str, Any], current: str) -> None:
        """``SavepointingStateHandler``: back to ``ACTIVE_<current>`` once the savepoint is no longer pending."""
        savepoint = self._savepoints.get(status.get("savepointTriggerId") or "")
        if savepoint is not None:
            self._progress_savepoint(savepoint)
            if savepoint.location is None and savepoint.error is None:
                return  # upstream waits indefinitely here (a TODO in the handler)
        status["blueGreenState"] = f"ACTIVE_{current.upper()}"
        self._patch_status(bg, status)

    def _monitor_transition(self, bg: dict[str, Any], status: dict[str, Any], children: dict[str, Any],
                            current: str) -> None:
        """``TransitioningStateHandler`` → ``monitorTransition``."""
        new = "green" if current == "blue" else "blue"
        diff = self._diff(bg, status)
        if diff not in ("IGNORE", "SUSPEND"):
            # Spec changes during a transition go to the child being deployed (*flow*, "TRANSITIONING_TO_GREEN").
            self._set_last_spec(bg, status)
            self._patch_child(bg, status, children, new, carry_savepoint=diff != "SAVEPOINT_REDEPLOY")
            return
        next_child, current_child = children.get(new), children.get(current)
        if next_child is None:
            raise RuntimeError(f"Target Dependent Deployment resource not found. Blue/Green deployment name: "
                               f"{bg['metadata']['name']}, current deployment type: {current.upper()}")
        next_state = f"ACTIVE_{new.upper()}"
        if self._suspended(next_child):
            if (next_child.get("status") or {}).get("lifecycleState") == "SUSPENDED":
                self._reset_markers(status)
                status["blueGreenState"] = next_state
                status.setdefault("jobStatus", {})["state"] = "SUSPENDED"
                status.pop("error", None)
                self._patch_status(bg, status)
            else:
                self._abort_or_retry(bg, status, children, next_child, next_state)
            return
        if self._ready(next_child):
            self._delete_or_wait(bg, status, current_child, next_state)
        else:
            self._abort_or_retry(bg, status, children, next_child, next_state)

    def _delete_or_wait(self, bg: dict[str, Any], status: dict[str, Any], current_child: dict[str, Any] | None,
                        next_state: str) -> None:
        """``shouldWeDelete``: delete the old child ``deployment-deletion.delay`` after the new one became ready."""
        if current_child is None:
            status["deploymentReadyTimestamp"] = instant_now()
            self._finalize(bg, status, next_state)
            return
        ready_at = instant_millis(status.get("deploymentReadyTimestamp"))
        if ready_at == 0:
            status["deploymentReadyTimestamp"] = instant_now()
            self._patch_status(bg, status)
            return
        if ready_at + self._config(bg, "deployment_deletion_delay") * 1000 < time.time() * 1000:
            if self._delete_child(current_child):
                self._finalize(bg, status, next_state)

    def _abort_or_retry(self, bg: dict[str, Any], status: dict[str, Any], children: dict[str, Any],
                        next_child: dict[str, Any], next_state: str) -> None:
        """``shouldWeAbort``: past ``abortTimestamp``, suspend the new child and go back to the previous state."""
        abort_at = instant_millis(status.get("abortTimestamp"))
        if abort_at == 0:
            raise RuntimeError("Unexpected abortTimestamp == 0")
        if abort_at >= time.time() * 1000:
            return  # not ready yet: look again (retryDeployment)
        self._update_child_spec(next_child, {**next_child["spec"], "job": {**next_child["spec"]["job"],
                                                                              "state": "suspended"}})
        if len(children) == 1:
            previous = "INITIALIZING_BLUE"
        else:
            previous = "ACTIVE_GREEN" if next_state == "ACTIVE_BLUE" else "ACTIVE_BLUE"
        status["blueGreenState"] = previous
        self._reset_markers(status)
        self._fail(bg, status, f"Aborting deployment '{next_child['metadata']['name']}', rolling B/G deployment "
                               f"back to {previous}")

    def _finalize(self, bg: dict[str, Any], status: dict[str, Any], next_state: str) -> None:
        """``finalizeBlueGreenDeployment``: the new colour is active, the job RUNNING, the error cleared."""
        self._reset_markers(status)
        status["blueGreenState"] = next_state
        status.setdefault("jobStatus", {})["state"] = "RUNNING"
        status.pop("error", None)
        self._patch_status(bg, status)


_controllers: weakref.WeakKeyDictionary[Any, SimulatedBlueGreenController] = weakref.WeakKeyDictionary()


def reconcile_blue_green(operator: Any) -> None:
    """One pass of the blue/green controller for ``operator`` (a :class:`~.core.SimulatedFlinkOperator`).

    The simulated operator calls this from ``reconcile_all``, once per tick.
    """
    controller = _controllers.get(operator)
    if controller is None:
        controller = _controllers[operator] = SimulatedBlueGreenController(operator)
    controller.reconcile_all()
