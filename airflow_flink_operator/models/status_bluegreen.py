"""The blue/green states of a FlinkBlueGreenDeployment, and the one predicate every wait on one uses.

What the operator writes (``FlinkBlueGreenDeploymentStatus``, ``BlueGreenDeploymentService``):

- ``blueGreenState``: ``INITIALIZING_BLUE`` → ``TRANSITIONING_TO_BLUE`` → ``ACTIVE_BLUE`` on the first
  deployment; then per template change ``ACTIVE_<old>`` → [``SAVEPOINTING_<old>`` → ``ACTIVE_<old>``] →
  ``TRANSITIONING_TO_<new>`` → ``ACTIVE_<new>`` (upstream "Blue/Green Controller Flow", "State
  Transition Logic"; the savepoint is taken unless the template's upgrade mode is ``stateless``);
- ``jobStatus.state``: ``RECONCILING`` while a child is being deployed, ``RUNNING`` once a
  transition finished, ``FAILING`` with ``error`` when it could not go on;
- on an abort (the new child not RUNNING + STABLE within the grace period, ``abortTimestamp``
  passed), the state goes back to the previous ``ACTIVE_*`` (or ``INITIALIZING_BLUE`` if there was
  none), ``jobStatus.state`` is ``FAILING`` and ``error`` reads "Aborting deployment '<child>',
  rolling B/G deployment back to <state>"; the old child was never touched and keeps serving;
- ``lastReconciledSpec``: ``{"spec": <the blue/green spec>}`` as last acted on. The status carries
  no ``observedGeneration``: whether the operator acted on the spec being waited for is judged by
  comparing the spec with ``lastReconciledSpec``.
"""

from __future__ import annotations

import json
from enum import Enum
from typing import Any

from airflow_flink_operator.models.status import Phase, parse_status_error


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


#: What a wait on a FlinkBlueGreenDeployment can wait for.
TARGETS = ("active", "active_blue", "active_green")


def other_colour(colour: str) -> str:
    """``blue`` ↔ ``green``."""
    return "green" if colour.lower() == "blue" else "blue"


def _contained(wanted: Any, have: Any) -> bool:
    """Every value set in ``wanted`` is the same in ``have`` (``have`` may add defaults the operator filled in)."""
    if isinstance(wanted, dict):
        return isinstance(have, dict) and all(
            value is None or _contained(value, have.get(key)) for key, value in wanted.items())
    if isinstance(wanted, list):
        return isinstance(have, list) and len(wanted) == len(have) and all(
            _contained(w, h) for w, h in zip(wanted, have))
    if isinstance(wanted, bool) or isinstance(have, bool):
        return wanted is have
    if isinstance(wanted, (int, float)) and isinstance(have, (int, float)):
        return float(wanted) == float(have)
    if isinstance(wanted, str) and isinstance(have, str) and wanted.lower() == have.lower():
        return True  # enums: the operator writes "running"/"stateless" whatever case was sent
    return wanted == have


def spec_reconciled(obj: dict[str, Any]) -> bool:
    """Whether the operator has acted on the spec the object has now (its ``lastReconciledSpec`` holds it)."""
    text = (obj.get("status") or {}).get("lastReconciledSpec")
    if not text:
        return False
    try:
        last = json.loads(text)
    except ValueError:
        return False
    last_spec = last.get("spec") if isinstance(last, dict) else None
    return last_spec is not None and _contained(obj.get("spec") or {}, last_spec)


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


def bluegreen_phase(obj: dict[str, Any], target: str | None) -> tuple[Phase, str, dict[str, Any]]:
    """Where a FlinkBlueGreenDeployment stands relative to ``target``.

    :param obj: the object as the API returns it.
    :param target: ``active`` (either colour active, job RUNNING, on the current spec),
        ``active_blue`` or ``active_green`` (that colour).
    :return: phase, a message for people, and :func:`bluegreen_summary` (plus ``aborted``).
    """
    target = (target or "active").lower()
    if target not in TARGETS:
        raise ValueError(f"unknown blue/green target {target!r}; use one of {', '.join(TARGETS)}")
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
    current = spec_reconciled(obj)
    wanted_colour = target.split("_", 1)[1] if "_" in target else None
    if not current:
        return Phase.WAITING, f"{where}: the operator has not acted on the latest spec yet ({described})", result
    if job_state == "FAILING" and (state.is_active or state is BlueGreenState.INITIALIZING_BLUE):
        # The operator gave up on the latest spec: an abort after the grace period, or a transition it
        # could not start. The colour that was active stays active (it is never touched on abort).
        result["aborted"] = True
        if state.is_active:
            serving = f"{state.colour.upper()} ({result['active_deployment']}) is still active and serving"
            return Phase.FAILED, (f"{where}: the blue/green transition was aborted and the state is back to "
                                  f"{raw_state}; {serving}. Operator error: {error or 'none reported'}"), result
        return Phase.FAILED, (f"{where}: the first deployment was aborted (state {raw_state}); nothing is "
                              f"serving. Operator error: {error or 'none reported'}"), result
    if state.is_active and job_state == "RUNNING" and wanted_colour in (None, state.colour):
        return Phase.DONE, f"{where} is {raw_state}: {result['active_deployment']} serves the job", result
    if state.is_active and job_state == "RUNNING":
        # Active on the other colour with the latest spec reconciled: the change was applied in place
        # (a PATCH_CHILD or suspend/resume difference) and no transition to ``wanted_colour`` will come.
        return Phase.FAILED, (f"{where} is {raw_state} on the latest spec: the change did not need a blue/green "
                              f"transition, so {wanted_colour.upper()} will not become active"), result
    return Phase.WAITING, f"{where} not {target} yet ({described})", result
