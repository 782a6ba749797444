"""The simulated operator's FlinkBlueGreenDeployment controller, written from the operator's Java source.

Sources (apache/flink-kubernetes-operator, main at 6e9caeb, and the tags release-1.14.0 / release-1.15.0):
``FlinkBlueGreenDeploymentController.reconcile``, the handlers in ``controller/bluegreen/handlers/``
(``InitializingBlueStateHandler``, ``ActiveStateHandler``, ``SavepointingStateHandler``,
``TransitioningStateHandler``), ``BlueGreenDeploymentService``, ``BlueGreenUtils``,
``BlueGreenKubernetesService``, ``FlinkBlueGreenDeploymentSpecDiff`` (:mod:`.bluegreen_diff`) and
``FlinkBlueGreenDeploymentConfigOptions``. Each method names the Java method it follows;
``tests/test_bluegreen_conformance.py`` checks each rule over HTTP and ``docs/bluegreen-operator-notes.md``
says where the upstream page "Blue/Green Controller Flow" and the source disagree (the source wins).

How it runs (JOSDK): a resource is reconciled when its generation changes, when one of its children changes
(spec or status; the children informer), and when the reschedule its last reconciliation asked for is due
(capped by :attr:`SimulatedBlueGreenController.reschedule_cap` so tests stay fast). Every status write is one
``patchStatus`` at the end of a reconciliation, after the children were written (child first, parent after).
After a reconciliation that wrote a child it reconciles again at once (:attr:`reacts_to_child_writes`), as the
child's own event makes JOSDK do, before the FlinkDeployment controller has written the child's new status: it
may then finalize on the child's stale status (e.g. a PATCH_CHILD of a running child ends ``ACTIVE_<c>``/
``RUNNING`` at once).

Per operator version (``operator_version`` of the simulated operator):

- 1.14: an abort leaves ``savepointTriggerId`` (and the ready/abort timestamps) set, so the next TRANSITION
  skips the savepoint and starts the new child from the aborted attempt's savepoint; after the old child's
  deletion the controller waits until it is gone before it finalizes;
- 1.15: as 1.14, but the abort clears ``savepointTriggerId`` (hotfix a00bf278);
- main (1.16): the abort resets all transition markers (FLINK-40119) and the transition is finalized right
  after the old child's deletion (FLINK-40092).

Fault knobs are the children's traits (:meth:`~.core.SimulatedFlinkOperator.behave`); see
``/work/notes/bgsim-api.md``."""

from __future__ import annotations

import copy
import time
import weakref
from typing import Any

from airflow_flink_operator.testing.operator.bluegreen_children import (
    BLUE_GREEN_PLURAL,
    DEPLOYMENT_PLURAL,
    GROUP,
    LABEL_KEY,
    VERSION,
    BlueGreenChildrenMixin,
    ChildSavepoint,
)
from airflow_flink_operator.testing.operator.bluegreen_diff import compare, read_spec_json, write_spec_json
from airflow_flink_operator.testing.operator.bluegreen_transitions import (
    ABORT_GRACE_PERIOD,
    RESCHEDULE_INTERVAL,
    BlueGreenTransitionMixin,
    _other,
)
from airflow_flink_operator.testing.operator.clock import EPOCH, duration_seconds, instant_now
from airflow_flink_operator.testing.operator.status import compute_lifecycle

_NEVER = float("inf")


def _version_key(version: Any) -> tuple[int, int]:
    text = str(version or "main")
    if text == "main":
        return (1, 16)
    major, minor = (int(p) for p in text.split("-")[0].split(".")[:2])
    return (major, minor)


class SimulatedBlueGreenController(BlueGreenTransitionMixin, BlueGreenChildrenMixin):
    """The blue/green controller of one :class:`~.core.SimulatedFlinkOperator` (its ``bluegreen`` attribute).

    :ivar reacts_to_child_writes: reconcile again at once after writing a child (default ``True``).
    :ivar reschedule_cap: seconds; a requested reschedule is never later than this (``None``: as asked).
    :ivar manage_ingress: ``kubernetes.operator.ingress.manage`` (default ``True``).
    :ivar default_configuration: the operator's default Flink configuration (e.g. ``state.savepoints.dir``),
        under each child's own, when a savepoint is triggered.
    """

    def __init__(self, operator: Any) -> None:
        self.operator = operator
        self._savepoints: dict[str, ChildSavepoint] = {}
        self._schedule: dict[str, float] = {}  # uid → when the requested reschedule is due
        self._seen: dict[str, Any] = {}  # uid → (generation, children's resourceVersions) last reconciled
        self._wrote_child = False
        self._served_cache: tuple[float, bool] | None = None
        self.reacts_to_child_writes = True
        self.reschedule_cap: float | None = 0.2
        self.manage_ingress = True
        self.default_configuration: dict[str, str] = {}
        self.reconciliations = 0
        #: (namespace, name) → the generation its last finished reconciliation saw: lets a test wait until a change
        #: was looked at before it checks that nothing happened.
        self.last_reconciled: dict[tuple[str, str], int] = {}

    @property
    def _custom(self) -> Any:
        return self.operator._custom

    @property
    def operator_version(self) -> str:
        return str(self.operator.operator_version)

    @property
    def _version(self) -> tuple[int, int]:
        return _version_key(self.operator_version)

    def _served(self) -> bool:
        """Whether the FlinkBlueGreenDeployment CRD is served (asked at most once a second)."""
        from kubernetes.client.exceptions import ApiException

        now = time.monotonic()
        if self._served_cache is not None and now - self._served_cache[0] < 1.0:
            return self._served_cache[1]
        try:
            resources = self._custom.get_api_resources(GROUP, VERSION, _request_timeout=5).resources
            served = any(r.name == BLUE_GREEN_PLURAL for r in resources)
        except ApiException:
            served = False
        self._served_cache = (now, served)
        return served

    # -- the loop --------------------------------------------------------------------------------------------

    def reconcile_all(self) -> None:
        """One pass: reconcile each FlinkBlueGreenDeployment that has an event or a due reschedule."""
        if not self._served() or self._version < (1, 14):
            return
        items = self._custom.list_cluster_custom_object(GROUP, VERSION, BLUE_GREEN_PLURAL, _request_timeout=5)["items"]
        if not items:
            return
        for bg in items:
            try:
                for _ in range(2):
                    children = self._children(bg)
                    if not self._due(bg, children):
                        break
                    self._wrote_child = False
                    try:
                        self.reconcile(bg, children)
                    finally:
                        meta = bg["metadata"]
                        self.last_reconciled[(meta["namespace"], meta["name"])] = meta.get("generation", 0)
                    if not (self._wrote_child and self.reacts_to_child_writes):
                        break
                    bg = self._get(bg) or bg
            except Exception as exc:  # JOSDK logs, retries later; one resource's trouble stops no other
                self.operator.errors.append(f"bluegreen {bg['metadata']['name']}: {exc!r}")
                del self.operator.errors[:-50]
                self._schedule[bg["metadata"]["uid"]] = time.monotonic() + (self.reschedule_cap or 1.0)

    def _children(self, bg: dict[str, Any]) -> list[dict[str, Any]]:
        meta = bg["metadata"]
        items = self._custom.list_namespaced_custom_object(GROUP, VERSION, meta["namespace"], DEPLOYMENT_PLURAL,
                                                           _request_timeout=5)["items"]
        return [c for c in items if any(ref.get("uid") == meta["uid"]
                                        for ref in c["metadata"].get("ownerReferences") or [])]

    def _get(self, bg: dict[str, Any]) -> dict[str, Any] | None:
        from kubernetes.client.exceptions import ApiException

        try:
            return self._custom.get_namespaced_custom_object(GROUP, VERSION, bg["metadata"]["namespace"],
                                                             BLUE_GREEN_PLURAL, bg["metadata"]["name"],
                                                             _request_timeout=5)
        except ApiException:
            return None

    def _due(self, bg: dict[str, Any], children: list[dict[str, Any]]) -> bool:
        """An event (new generation, a child changed) or the reschedule is due."""
        uid = bg["metadata"]["uid"]
        seen = (bg["metadata"].get("generation"), bool(bg["metadata"].get("deletionTimestamp")),
                tuple(sorted((c["metadata"]["name"], c["metadata"].get("resourceVersion")) for c in children)))
        due = self._seen.get(uid) != seen or time.monotonic() >= self._schedule.get(uid, _NEVER)
        if due:
            self._seen[uid] = seen
            self._schedule.pop(uid, None)
        return due

    def _reschedule(self, bg: dict[str, Any], seconds: float) -> None:
        """``UpdateControl.rescheduleAfter``."""
        if self.reschedule_cap is not None:
            seconds = min(seconds, self.reschedule_cap)
        self._schedule[bg["metadata"]["uid"]] = time.monotonic() + max(seconds, 0.0)

    def _config(self, bg: dict[str, Any], option: tuple[str, str]) -> float:
        """``BlueGreenUtils.getConfigOption`` on the parent's ``spec.configuration``, in seconds."""
        configuration = (bg.get("spec") or {}).get("configuration") or {}
        return duration_seconds(configuration.get(option[0]) or option[1])

    # -- FlinkBlueGreenDeploymentController.reconcile ----------------------------------------------------

    def reconcile(self, bg: dict[str, Any], children: list[dict[str, Any]]) -> None:
        """``FlinkBlueGreenDeploymentController.reconcile``: a new resource gets ``INITIALIZING_BLUE``; else the
        handler of its state runs; the status is written once at the end (``patchAndCacheStatus``)."""
        self.reconciliations += 1
        if bg["metadata"].get("deletionTimestamp"):
            return  # no cleanup: the API server deletes it, the garbage collector its children
        if not bg.get("status"):
            self._patch(bg, {"jobStatus": {}}, state="INITIALIZING_BLUE")
            self._reschedule(bg, 0)
            return
        status = copy.deepcopy(bg["status"])
        status.setdefault("jobStatus", {})
        state = status.get("blueGreenState")
        by_colour: dict[str, dict[str, Any]] = {}
        if state != "INITIALIZING_BLUE":
            if not children or len(children) > 2:  # FlinkBlueGreenDeployments.fromSecondaryResources
                raise RuntimeError(f"Unexpected number of dependent deployments: {len(children)}")
            for child in children:
                colour = ((child["metadata"].get("labels") or {}).get(LABEL_KEY) or "").lower()
                if colour in by_colour:
                    raise RuntimeError(f"Detected multiple Dependent Deployments of type {colour.upper()}")
                by_colour[colour] = child
        self._status = status
        if state == "INITIALIZING_BLUE":
            self._initializing_blue(bg)
        elif state in ("ACTIVE_BLUE", "ACTIVE_GREEN"):
            colour = state.split("_")[1].lower()
            self._reconcile_ingress(bg, by_colour.get(colour))  # reconcileIngressForActiveDeployment
            self._check_and_initiate(bg, by_colour, colour)
        elif state in ("SAVEPOINTING_BLUE", "SAVEPOINTING_GREEN"):
            self._savepointing(bg, by_colour, state.split("_")[1].lower())
        elif state in ("TRANSITIONING_TO_BLUE", "TRANSITIONING_TO_GREEN"):
            self._monitor_transition(bg, by_colour, _other(state.rsplit("_", 1)[1].lower()))

    def _patch(self, bg: dict[str, Any], status: dict[str, Any], state: str | None = None,
               job_state: str | None = None, error: str | None = None) -> None:
        """``patchStatusUpdateControl``: state and job state when given; the error set with FAILING, cleared
        with RECONCILING or RUNNING; ``lastReconciledTimestamp`` now; then the status patch."""
        from kubernetes.client.exceptions import ApiException

        if state is not None:
            status["blueGreenState"] = state
        if job_state is not None:
            status.setdefault("jobStatus", {})["state"] = job_state
        if job_state == "FAILING":
            status["error"] = error
        if job_state in ("RECONCILING", "RUNNING"):
            status["error"] = None
        status["lastReconciledTimestamp"] = instant_now()
        body = copy.deepcopy(bg)
        body["status"] = {k: v for k, v in status.items() if v is not None}
        try:
            stored = self._custom.replace_namespaced_custom_object_status(
                GROUP, VERSION, bg["metadata"]["namespace"], BLUE_GREEN_PLURAL, bg["metadata"]["name"], body,
                _request_timeout=5)
        except ApiException as exc:
            if exc.status in (404, 409):
                self._reschedule(bg, 0)  # changed or gone meanwhile: JOSDK retries
                return
            raise
        bg["status"], bg["metadata"] = stored["status"], stored["metadata"]

    def _set_last_spec(self, bg: dict[str, Any]) -> None:
        """``BlueGreenUtils.setLastReconciledSpec``."""
        self._status["lastReconciledSpec"] = write_spec_json(bg.get("spec"), self.operator_version)
        self._status["lastReconciledTimestamp"] = instant_now()

    def _diff(self, bg: dict[str, Any]) -> str:
        """``BlueGreenUtils.getSpecDiff``: ``lastReconciledSpec`` against the current spec."""
        return compare(read_spec_json(self._status["lastReconciledSpec"]), bg.get("spec"), self.operator_version)

    def _failing(self, bg: dict[str, Any], error: str) -> None:
        """``markDeploymentFailing``."""
        self._patch(bg, self._status, job_state="FAILING", error=error)

    def _reset_markers(self) -> None:
        """``resetTransitionMarkers``."""
        self._status.update(deploymentReadyTimestamp=EPOCH, abortTimestamp=EPOCH, savepointTriggerId=None)

    @staticmethod
    def _lifecycle(child: dict[str, Any]) -> str:
        """``CommonStatus.getLifecycleState``, computed from the child's status as the controller read it."""
        status = child.get("status") or {}
        return compute_lifecycle("FlinkDeployment", status, status.get("lifecycleState") in ("DELETING", "DELETED"))

    def _ready(self, child: dict[str, Any]) -> bool:
        """``isFlinkDeploymentReady``: lifecycle STABLE and the job RUNNING."""
        return (self._lifecycle(child) == "STABLE"
                and ((child.get("status") or {}).get("jobStatus") or {}).get("state") == "RUNNING")

    @staticmethod
    def _child_suspended(child: dict[str, Any] | None) -> bool:
        """``isChildSuspended``: the child's *spec* says ``job.state: suspended``."""
        return (((child or {}).get("spec") or {}).get("job") or {}).get("state") == "suspended"

    # -- handlers ------------------------------------------------------------------------------------------

    def _initializing_blue(self, bg: dict[str, Any]) -> None:
        """``InitializingBlueStateHandler.handle``."""
        job = ((((bg.get("spec") or {}).get("template") or {}).get("spec") or {}).get("job"))
        if job is not None and job.get("state") == "suspended":
            self._patch(bg, self._status, job_state="SUSPENDED")
            return
        if self._status.get("lastReconciledSpec") is None or (
                self._status["jobStatus"].get("state") == "FAILING" and self._diff(bg) != "IGNORE"):
            self._set_last_spec(bg)
            self._initiate(bg, {}, "blue", "TRANSITIONING_TO_BLUE", None, first=True)

    def _initiate(self, bg: dict[str, Any], children: dict[str, Any], colour: str, next_state: str,
                  savepoint: str | None, first: bool) -> None:
        """``initiateDeployment``: prepare and ``createOrReplace`` the child, ``abortTimestamp`` = now + grace
        period, then the status: ``next_state``, RECONCILING, no error."""
        self._deploy_cluster(self._prepare(bg, colour, savepoint, first))
        abort_at = time.time() + self._config(bg, ABORT_GRACE_PERIOD)
        self._status["abortTimestamp"] = _instant(abort_at)
        self._patch(bg, self._status, state=next_state, job_state="RECONCILING")
        self._reschedule(bg, self._config(bg, RESCHEDULE_INTERVAL))

    def _patch_child(self, bg: dict[str, Any], children: dict[str, Any], colour: str, carry: bool = True) -> None:
        """``patchFlinkDeployment``: redeploy ``colour`` in place (``TRANSITIONING_TO_<colour>``); a first
        deployment unless both children exist; the child's savepoint carried over (``carryOverSavepoint``:
        its ``initialSavepointPath``, else its ``upgradeSavepointPath``), used only when not first."""
        savepoint = None
        if carry:
            child = children[colour]  # a missing child is an NPE upstream
            savepoint = ((child.get("spec") or {}).get("job") or {}).get("initialSavepointPath") or (
                ((child.get("status") or {}).get("jobStatus") or {}).get("upgradeSavepointPath"))
        self._initiate(bg, children, colour, f"TRANSITIONING_TO_{colour.upper()}", savepoint or None,
                       first=len(children) != 2)

    def _check_and_initiate(self, bg: dict[str, Any], children: dict[str, Any], current: str) -> None:
        """``checkAndInitiateDeployment`` (``ActiveStateHandler``)."""
        diff = self._diff(bg)
        if diff == "IGNORE":
            return
        child = children.get(current)
        if diff in ("SUSPEND", "RESUME") and child is not None or self._child_suspended(child):
            self._set_last_spec(bg)
            self._patch_child(bg, children, current)
            return
        if child is not None and self._ready(child):
            if diff == "TRANSITION":
                try:
                    triggered = self._handle_savepoint(bg, child)
                except Exception as exc:
                    self._failing(bg, f"Could not trigger Savepoint. Details: {_message(exc)}")
                    return
                if triggered:  # the spec is not marked reconciled: the TRANSITION is seen again afterwards
                    self._patch(bg, self._status, state=f"SAVEPOINTING_{current.upper()}")
                    self._reschedule(bg, self._config(bg, RESCHEDULE_INTERVAL))
                    return
                self._set_last_spec(bg)
                try:
                    savepoint = self._initial_savepoint(bg, child)
                except Exception as exc:
                    self._status["savepointTriggerId"] = None
                    self._failing(bg, f"Could not start Transition. Details: {_message(exc)}")
                    return
                other = _other(current)
                self._initiate(bg, children, other, f"TRANSITIONING_TO_{other.upper()}", savepoint, first=False)
            elif diff == "SAVEPOINT_REDEPLOY":
                self._set_last_spec(bg)
                other = _other(current)  # startSavepointRedeployTransition: the template's initialSavepointPath
                self._initiate(bg, children, other, f"TRANSITIONING_TO_{other.upper()}", None, first=False)
            else:
                self._set_last_spec(bg)
                self._patch_child(bg, children, current)
        elif self._status["jobStatus"].get("state") != "FAILING":
            self._set_last_spec(bg)
            name = child["metadata"]["name"] if child is not None else "null"
            self._failing(bg, f"Transition to {_other(current).upper()} not possible, current Flink Deployment "
                              f"'{name}' is not READY. FAILING '{bg['metadata']['name']}'")

def _instant(epoch_seconds: float) -> str:
    """``millisToInstantStr``: ``Instant.ofEpochMilli(ms).toString()``."""
    from datetime import datetime, timezone

    millis = int(epoch_seconds * 1000)
    text = datetime.fromtimestamp(millis / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{millis % 1000:03d}Z" if millis % 1000 else f"{text}Z"


def _message(exc: Exception) -> str:
    """Java's ``e.getMessage()``: ``null`` for an exception without one."""
    message = getattr(exc, "message", str(exc))
    return "null" if message is None else str(message)


_controllers: weakref.WeakKeyDictionary[Any, SimulatedBlueGreenController] = weakref.WeakKeyDictionary()


def controller_of(operator: Any) -> SimulatedBlueGreenController:
    """The blue/green controller of ``operator`` (created on first use)."""
    controller = _controllers.get(operator)
    if controller is None:
        controller = _controllers[operator] = SimulatedBlueGreenController(operator)
    return controller


def reconcile_blue_green(operator: Any) -> None:
    """One pass of the blue/green controller for ``operator``; the simulated operator calls it every tick."""
    controller_of(operator).reconcile_all()
