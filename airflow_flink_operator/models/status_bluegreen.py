"""The blue/green states of a FlinkBlueGreenDeployment, and the one predicate every wait on one uses.

What the operator writes (``FlinkBlueGreenDeploymentStatus``, ``BlueGreenDeploymentService``):

- ``blueGreenState``: ``INITIALIZING_BLUE`` → ``TRANSITIONING_TO_BLUE`` → ``ACTIVE_BLUE`` on the first
  deployment; then per template change ``ACTIVE_<old>`` → [``SAVEPOINTING_<old>`` → ``ACTIVE_<old>``] →
  ``TRANSITIONING_TO_<new>`` → ``ACTIVE_<new>`` (the savepoint is taken unless the template's upgrade mode is
  ``stateless``); an in-place change (``PATCH_CHILD``, suspend, resume, any change while suspended) goes
  ``TRANSITIONING_TO_<same>`` → ``ACTIVE_<same>``;
- ``jobStatus.state``: ``RECONCILING`` while a child is being deployed, ``RUNNING`` once a transition finished,
  ``SUSPENDED`` once a suspended child is (``finalizeSuspendedDeployment``; also a first deployment held while the
  template says suspended), ``FAILING`` with ``error`` when it could not go on;
- on an abort (the new child not RUNNING + STABLE within the grace period) the state goes back to the previous
  ``ACTIVE_*`` (or ``INITIALIZING_BLUE``), ``jobStatus.state`` is ``FAILING`` and ``error`` reads "Aborting
  deployment '<child>', rolling B/G deployment back to <state>". The template is not reverted:
  ``lastReconciledSpec`` holds the failed spec, and FAILING stays until the next change starts something;
- ``lastReconciledSpec``: ``{"spec": <the blue/green spec>}`` as last acted on. The status carries no
  ``observedGeneration``: the operator has acted on the spec when it differs from ``lastReconciledSpec`` by
  an ``IGNORE`` change at most (:mod:`.bluegreen_diff`, ``BlueGreenUtils.hasSpecChanged``).

Whether a child serves is not the parent's to say: :func:`child_verdict` reads the child itself.
"""

from __future__ import annotations

import json
from enum import Enum
from typing import Any

from airflow_flink_operator.models.bluegreen_diff import diff_type
from airflow_flink_operator.models.status import Phase, parse_status_error
from airflow_flink_operator.models.status_errors import error_fingerprint


class BlueGreenState(str, Enum):
    """``FlinkBlueGreenDeploymentState``, as listed in the operator's enum and CRD."""

    INITIALIZING_BLUE = "INITIALIZING_BLUE"
    ACTIVE_BLUE = "ACTIVE_BLUE"
    ACTIVE_GREEN = "ACTIVE_GREEN"
    TRANSITIONING_TO_BLUE = "TRANSITIONING_TO_BLUE"
    TRANSITIONING_TO_GREEN = "TRANSITIONING_TO_GREEN"
    SAVEPOINTING_BLUE = "SAVEPOINTING_BLUE"
    SAVEPOINTING_GREEN = "SAVEPOINTING_GREEN"

    @property
    def colour(self) -> str | None:
        """``blue``/``green`` for the ACTIVE and SAVEPOINTING states (the colour serving), else ``None``."""
        if self.name.startswith(("ACTIVE_", "SAVEPOINTING_")):
            return self.name.rsplit("_", 1)[1].lower()
        return None

    @property
    def is_active(self) -> bool:
        """One of the two stable states."""
        return self in (BlueGreenState.ACTIVE_BLUE, BlueGreenState.ACTIVE_GREEN)


#: What a wait on a FlinkBlueGreenDeployment can wait for: ``active`` (a colour active, job RUNNING, on the
#: current spec), ``suspended`` (a colour active with its job SUSPENDED, ``finalizeSuspendedDeployment``), each
#: optionally of one colour; ``serving`` (a colour active, whatever the last transition did: for a task that
#: changes nothing and only checks a colour serves).
TARGETS = ("active", "active_blue", "active_green", "suspended", "suspended_blue", "suspended_green", "serving")
#: ``BlueGreenDeploymentService.checkAndInitiateDeployment``: the error written when triggering the savepoint
#: of the active child failed. The spec is then not marked reconciled, and the operator tries again.
SAVEPOINT_TRIGGER_ERROR = "Could not trigger Savepoint"


def other_colour(colour: str) -> str:
    """``blue`` ↔ ``green``."""
    return "green" if colour.lower() == "blue" else "blue"


def last_reconciled_spec(obj: dict[str, Any] | None) -> dict[str, Any] | None:
    """The blue/green spec the operator acted on last (``status.lastReconciledSpec``), or ``None``."""
    text = ((obj or {}).get("status") or {}).get("lastReconciledSpec")
    if not text:
        return None
    try:
        last = json.loads(text)
    except ValueError:
        return None
    spec = last.get("spec") if isinstance(last, dict) else None
    return spec if isinstance(spec, dict) else None


def spec_reconciled(obj: dict[str, Any]) -> bool:
    """Whether the operator has nothing left to do for the spec the object has now.

    ``BlueGreenUtils.hasSpecChanged``: the spec differs from ``lastReconciledSpec`` by an ``IGNORE``
    change at most (``configuration``, ``ingress`` and ``template.metadata`` never count; a removed field
    does).
    """
    last = last_reconciled_spec(obj)
    return last is not None and diff_type(last, obj.get("spec") or {}) == "IGNORE"


def failure_marker(obj: dict[str, Any] | None) -> str | None:
    """A fingerprint of the operator's last failure write (error and ``lastReconciledTimestamp``), for
    :class:`~.waiting.WaitCriteria` ``stale_error``: a wait fails only on a failure written after it began."""
    status = (obj or {}).get("status") or {}
    if (status.get("jobStatus") or {}).get("state") != "FAILING":
        return None
    return error_fingerprint(f"{status.get('error')}@{status.get('lastReconciledTimestamp')}")


def last_transition_error(obj: dict[str, Any] | None) -> str | None:
    """The operator's error when the last change it acted on failed (job FAILING on the reconciled spec).

    After an abort the operator does not revert the template: ``lastReconciledSpec`` holds the spec that
    failed, and it stays FAILING until the next change starts something.
    """
    status = (obj or {}).get("status") or {}
    if (status.get("jobStatus") or {}).get("state") != "FAILING":
        return None
    return str(parse_status_error(status.get("error")) or "no error reported")


def bluegreen_summary(obj: dict[str, Any]) -> dict[str, Any]:
    """A small, secret-free dict for XCom: the state, the colour and child serving, the job state."""
    metadata = obj.get("metadata") or {}
    status = obj.get("status") or {}
    name = metadata.get("name")
    raw_state = status.get("blueGreenState")
    state = BlueGreenState(raw_state) if raw_state in BlueGreenState.__members__ else None
    colour = state.colour if state is not None else None
    return {
        "kind": obj.get("kind") or "FlinkBlueGreenDeployment",
        "name": name,
        "namespace": metadata.get("namespace"),
        "generation": metadata.get("generation"),
        "blue_green_state": raw_state,
        "job_state": (status.get("jobStatus") or {}).get("state"),
        "active_colour": colour,
        "active_deployment": f"{name}-{colour}" if colour else None,
    }


def _wanted(target: str | None) -> tuple[str, str | None]:
    target = (target or "active").lower()
    if target not in TARGETS:
        raise ValueError(f"unknown blue/green target {target!r}; use one of {', '.join(TARGETS)}")
    kind, _, colour = target.partition("_")
    return kind, colour or None


def bluegreen_phase(obj: dict[str, Any], target: str | None,
                    stale_error: str | None = None) -> tuple[Phase, str, dict[str, Any]]:
    """Where a FlinkBlueGreenDeployment stands relative to ``target`` (see :data:`TARGETS`).

    Judged from the parent alone: whether its child really runs is the child's own status, which the
    operators check after this wait (the parent may finalize on a child status written before the child
    picked up its new spec).

    :param obj: the object as the API returns it.
    :param target: one of :data:`TARGETS` (default ``active``).
    :param stale_error: :func:`failure_marker` when the wait began: that failure is not this wait's.
    :return: phase, a message for people, and :func:`bluegreen_summary` (plus ``aborted`` and
        ``last_transition_error`` when the operator reports a failed change).
    """
    kind, wanted_colour = _wanted(target)
    result = bluegreen_summary(obj)
    metadata = obj.get("metadata") or {}
    status = obj.get("status") or {}
    where = f"FlinkBlueGreenDeployment {metadata.get('namespace')}/{metadata.get('name')}"
    raw_state = status.get("blueGreenState")
    job_state = (status.get("jobStatus") or {}).get("state")
    error = parse_status_error(status.get("error"))
    described = f"state={raw_state}, job={job_state}" + (f", error={error}" if error else "")
    if metadata.get("deletionTimestamp"):
        return Phase.FAILED, f"{where} is being deleted ({described})", result
    if raw_state not in BlueGreenState.__members__:
        return Phase.WAITING, f"{where} not picked up by the operator yet ({described})", result
    state = BlueGreenState(raw_state)
    desired_state = ((((obj.get("spec") or {}).get("template") or {}).get("spec") or {}).get("job") or {}).get("state")
    if state is BlueGreenState.INITIALIZING_BLUE and job_state == "SUSPENDED" \
            and str(desired_state).lower() == "suspended":
        # InitializingBlueStateHandler: a first deployment with job.state suspended is held, nothing is deployed.
        message = (f"{where}: the operator holds the first deployment while the template's job.state is suspended "
                   "(nothing is deployed); set job.state to running to deploy blue")
        return (Phase.DONE if kind == "suspended" and wanted_colour is None else Phase.FAILED), message, result
    if not spec_reconciled(obj):
        if (state.is_active and job_state == "FAILING" and not status.get("savepointTriggerId")
                and str(error or "").startswith(SAVEPOINT_TRIGGER_ERROR)
                and (stale_error is None or failure_marker(obj) != stale_error)):
            # checkAndInitiateDeployment: the savepoint of the active child could not be triggered; the
            # spec stays unreconciled and each retry fails the same way until the cause is fixed.
            return Phase.FAILED, (f"{where}: the operator could not start the transition: {error}. "
                                  f"{result['active_deployment']} was not changed."), result
        return Phase.WAITING, f"{where}: the operator has not acted on the latest spec yet ({described})", result
    if job_state == "FAILING" and (state.is_active or state is BlueGreenState.INITIALIZING_BLUE):
        result["aborted"] = str(error or "").startswith("Aborting deployment")
        result["last_transition_error"] = str(error or "no error reported")
        if state.is_active and kind == "serving" and wanted_colour is None:
            return Phase.DONE, (f"{where} is {raw_state}; the last change failed ({error}), so its last-reconciled "
                                "spec is the failed one"), result
        if state.is_active:
            was = f"{state.colour.upper()} ({result['active_deployment']}) was active before it"
            return Phase.FAILED, (f"{where}: the blue/green change failed and the state is back to {raw_state}; "
                                  f"{was}. Operator error: {error or 'none reported'}"), result
        return Phase.FAILED, (f"{where}: the first deployment was aborted (state {raw_state}); nothing is "
                              f"serving. Operator error: {error or 'none reported'}"), result
    if not state.is_active:
        return Phase.WAITING, f"{where} not {target} yet ({described})", result
    if job_state not in ("RUNNING", "SUSPENDED"):
        return Phase.WAITING, f"{where} not {target} yet ({described})", result
    reached = "suspended" if job_state == "SUSPENDED" else "active"
    if kind == "serving":
        kind = "active"
    if reached != kind:
        return Phase.FAILED, (f"{where} is {raw_state} with its job {job_state} on the latest spec, not {kind}: "
                              + ("set job.state to running to resume it" if reached == "suspended"
                                 else "set job.state to suspended to suspend it")), result
    if wanted_colour not in (None, state.colour):
        # Active on the other colour with the latest spec reconciled: the change was applied in place
        # (PATCH_CHILD, suspend/resume, or a change while suspended): no transition will come.
        return Phase.FAILED, (f"{where} is {raw_state} on the latest spec: the change did not need a blue/green "
                              f"transition, so {wanted_colour.upper()} will not become active"), result
    if reached == "suspended":
        return Phase.DONE, f"{where} is {raw_state} with {result['active_deployment']} suspended", result
    return Phase.DONE, f"{where} is {raw_state}: {result['active_deployment']} runs the job", result


def child_started_from(child: dict[str, Any] | None) -> str | None:
    """The savepoint a child FlinkDeployment was deployed from: ``job.initialSavepointPath`` of the spec its
    operator last reconciled, once that is its latest generation (else ``None``)."""
    from airflow_flink_operator.models.status import FlinkResourceStatus, _last_reconciled_spec

    if child is None or not FlinkResourceStatus.from_object(child).latest_generation_reconciled:
        return None
    last = _last_reconciled_spec((child.get("status") or {})) or {}
    return (last.get("job") or {}).get("initialSavepointPath") or None


def child_verdict(child: dict[str, Any] | None, name: str) -> str:
    """Whether a child serves, judged from the child itself (its job on its latest spec), for messages."""
    from airflow_flink_operator.models.status import FlinkResourceStatus

    if child is None:
        return f"{name} does not exist"
    status = FlinkResourceStatus.from_object(child)
    image = (child.get("spec") or {}).get("image")
    if status.is_running:
        return f"{name} runs the job (image {image}; {status.describe()})"
    if status.is_suspended:
        return f"{name} is suspended (image {image}; {status.describe()})"
    return f"{name} does NOT run the job (image {image}; {status.describe()})"
