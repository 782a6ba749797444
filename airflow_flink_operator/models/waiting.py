"""The one step every wait takes: given the object, what is waited for and the time, decide.

Operators, the sensor, the hook's blocking loop and the trigger's async loop all call
:func:`decide`; none of them judges a status itself. What a wait waits for travels as one small
:class:`WaitCriteria`, which serialises to the trigger's kwargs and back.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from enum import Enum
from typing import Any

from airflow_flink_operator.models.checkpoints import (
    FlinkRestRequest,
    RestAnswer,
    checkpoint_phase,
    checkpoints_request,
    job_start_ms,
)
from airflow_flink_operator.models.status import FlinkResourceStatus, Phase, Target
from airflow_flink_operator.models.summary import summary

#: ``WaitCriteria.generation`` meaning "the generation the object has when it is looked at" (the sensor's
#: wait on an existing resource: older generations' failure fields mean "waiting").
LATEST_GENERATION = "latest"


class WaitMode(str, Enum):
    """What kind of wait it is. A ``str`` Enum: plain strings (persisted trigger kwargs, operators) still work."""

    RESOURCE = "resource"
    """A FlinkDeployment/FlinkSessionJob reaching a :class:`~.status.Target`."""
    SNAPSHOT = "snapshot"
    """A FlinkStateSnapshot completing."""
    NONCE = "nonce"
    """A savepoint triggered with ``savepointTriggerNonce`` (operators before 1.10)."""
    DELETED = "deleted"
    """The resource is gone (finalizers done)."""
    BLUEGREEN = "bluegreen"
    """A FlinkBlueGreenDeployment reaching an active colour (:mod:`.status_bluegreen`)."""


#: The modes' names, as older code listed them.
WAIT_MODES = tuple(mode.value for mode in WaitMode)


@dataclass(frozen=True)
class WaitCriteria:
    """What a wait waits for; the same object is judged by the hook, the trigger and the sensor.

    :param mode: the kind of wait (a :class:`WaitMode` or its value).
    :param target: for ``resource``: a :class:`~.status.Target` value; for ``bluegreen``: ``active``,
        ``active_blue`` or ``active_green``.
    :param nonce: for ``nonce``: the savepoint trigger nonce.
    :param generation: for ``resource``: the generation waited for (older generations' failure fields
        mean "waiting"), :data:`LATEST_GENERATION` for the object's own, or ``None``.
    :param stale_error: for ``resource``: :func:`~.status.error_fingerprint` of ``status.error`` when
        the wait began.
    :param pickup_deadline: for ``snapshot``: epoch seconds by which the operator must pick it up.
    :param failed_checkpoints: for target ``checkpointed``: how many checkpoints of this start may fail, none
        completed, before the wait fails (default :data:`~.checkpoints.DEFAULT_FAILED_CHECKPOINTS`).
    """

    mode: WaitMode = WaitMode.RESOURCE
    target: str | None = None
    nonce: int | None = None
    generation: int | str | None = None
    stale_error: str | None = None
    pickup_deadline: float | None = None
    failed_checkpoints: int | None = None

    def __post_init__(self) -> None:
        try:
            mode = WaitMode(self.mode)
        except ValueError:
            raise ValueError(f"unknown wait mode {self.mode!r}; use one of {', '.join(WAIT_MODES)}") from None
        object.__setattr__(self, "mode", mode)
        if isinstance(self.target, Enum):
            object.__setattr__(self, "target", self.target.value)
        if self.mode is WaitMode.NONCE and self.nonce is None:
            raise ValueError("mode 'nonce' needs the nonce")
        if isinstance(self.generation, str) and self.generation != LATEST_GENERATION:
            raise ValueError(f"generation must be a number, {LATEST_GENERATION!r} or None, not {self.generation!r}")
        if self.failed_checkpoints is not None and (isinstance(self.failed_checkpoints, bool)
                                                    or not isinstance(self.failed_checkpoints, int)
                                                    or self.failed_checkpoints < 1):
            raise ValueError("failed_checkpoints must be a whole number of at least 1, "
                             f"not {self.failed_checkpoints!r}")

    @property
    def reads_checkpoints(self) -> bool:
        """Whether the wait also reads the job's checkpoints from Flink's REST API (target ``checkpointed``)."""
        return self.mode is WaitMode.RESOURCE and self.target == Target.CHECKPOINTED.value

    def to_kwargs(self) -> dict[str, Any]:
        """Plain JSON-able values (the mode as its string), for a trigger's kwargs or a hook call."""
        return {f.name: (self.mode.value if f.name == "mode" else getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_kwargs(cls, kwargs: dict[str, Any]) -> WaitCriteria:
        """The criteria among ``kwargs`` (other keys are ignored); ``mode`` defaults to ``resource``."""
        known = {f.name for f in fields(cls)}
        given = {key: value for key, value in kwargs.items() if key in known and value is not None}
        return cls(**given)

    def generation_for(self, obj: dict[str, Any] | None) -> int | None:
        """The generation to judge ``obj`` by (:data:`LATEST_GENERATION` resolved to the object's own)."""
        if self.generation == LATEST_GENERATION:
            return ((obj or {}).get("metadata") or {}).get("generation")
        return self.generation  # type: ignore[return-value]


@dataclass(frozen=True)
class Decision:
    """Where a wait stands after one look.

    :param phase: :class:`~.status.Phase`: WAITING, DONE or FAILED.
    :param message: for people and logs.
    :param result: what goes to XCom (see :func:`~.summary.summary`).
    """

    phase: Phase
    message: str
    result: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str | None:
        """The trigger event's ``status``: ``success``, ``error``, or ``None`` while waiting."""
        return {Phase.DONE: "success", Phase.FAILED: "error"}.get(self.phase)

    def event(self) -> dict[str, Any]:
        """The event shape every wait ends with (``resume_state`` is added by whoever carries it)."""
        return {"status": self.status, "message": self.message, "result": self.result}


def checkpoints_to_read(obj: dict[str, Any] | None, criteria: WaitCriteria) -> FlinkRestRequest | None:
    """The Flink REST read a ``checkpointed`` wait needs before it can decide, or ``None``.

    Only once the job runs on the generation waited for: until then the object alone decides, and nothing is
    asked of a JobManager that may not exist yet.
    """
    if obj is None or not criteria.reads_checkpoints:
        return None
    phase, _ = FlinkResourceStatus.from_object(obj).phase(
        Target.CHECKPOINTED, criteria.generation_for(obj), criteria.stale_error)
    return checkpoints_request(obj) if phase is Phase.DONE else None


def decide(obj: dict[str, Any] | None, criteria: WaitCriteria, *, kind: str, name: str,
           now: float | None = None, checkpoints: RestAnswer | None = None) -> Decision:
    """The step function: where a wait on ``kind``/``name`` stands, given the object as last read.

    :param obj: the object as the API returns it; ``None`` when it does not exist.
    :param criteria: what is waited for.
    :param now: the current epoch seconds (for ``pickup_deadline``; without it the deadline is not judged).
    :param checkpoints: for target ``checkpointed``: Flink's answer to :func:`checkpoints_to_read`'s request
        (``None``: not read, the wait goes on).
    """
    mode = criteria.mode
    if mode is WaitMode.DELETED:
        if obj is None:
            return Decision(Phase.DONE, f"{kind} {name} is deleted", {"kind": kind, "name": name, "deleted": True})
        metadata = obj.get("metadata") or {}
        state = (f"finalizers: {', '.join(metadata.get('finalizers') or []) or 'none'}; "
                 f"lifecycle: {(obj.get('status') or {}).get('lifecycleState')}")
        if metadata.get("deletionTimestamp"):
            return Decision(Phase.WAITING, f"{kind} {name} is being deleted ({state})", summary(obj))
        return Decision(Phase.WAITING, f"{kind} {name} still exists, no deletion requested ({state})", summary(obj))
    if obj is None:
        return Decision(Phase.FAILED, f"{kind} {name} does not exist (deleted while waiting?)",
                        {"kind": kind, "name": name, "exists": False})
    if mode is WaitMode.SNAPSHOT:
        from airflow_flink_operator.models.savepoints import SnapshotStatus

        snapshot = SnapshotStatus.from_object(obj)
        phase, message = snapshot.phase(criteria.pickup_deadline, now)
        result = summary(obj)
        if phase is Phase.FAILED and snapshot.state is None:
            result["no_snapshot_controller"] = True
        return Decision(phase, message, result)
    if mode is WaitMode.NONCE:
        from airflow_flink_operator.models.savepoints import nonce_savepoint_phase

        phase, message, path = nonce_savepoint_phase(obj, criteria.nonce)  # type: ignore[arg-type]
        result = summary(obj)
        if path:
            result["savepoint_path"] = path
        result["nonce"] = criteria.nonce
        return Decision(phase, message, result)
    if mode is WaitMode.BLUEGREEN:
        from airflow_flink_operator.models.status_bluegreen import bluegreen_phase

        return Decision(*bluegreen_phase(obj, criteria.target))
    status = FlinkResourceStatus.from_object(obj)
    if criteria.reads_checkpoints and status.is_session_cluster:
        return Decision(Phase.FAILED, f"{kind} {name} is a session cluster: it has no job whose checkpoints could "
                                      "be waited for (wait for its FlinkSessionJob, or for 'ready')", summary(obj))
    phase, message = status.phase(Target(criteria.target or Target.RUNNING), criteria.generation_for(obj),
                                  criteria.stale_error)
    if phase is Phase.DONE and criteria.reads_checkpoints:
        if checkpoints is None:
            return Decision(Phase.WAITING, f"{message}; reading its checkpoints", summary(obj))
        phase, message, found = checkpoint_phase(checkpoints, job_start_ms(obj), f"{kind} {name}",
                                                 failed_checkpoints=criteria.failed_checkpoints)
        return Decision(phase, message, {**summary(obj), **found})
    return Decision(phase, message, summary(obj))


def evaluate(mode: WaitMode | str, obj: dict[str, Any] | None, *, kind: str, name: str, target: str | None = None,
             nonce: int | None = None, generation: int | str | None = None, stale_error: str | None = None,
             pickup_deadline: float | None = None, now: float | None = None, failed_checkpoints: int | None = None,
             checkpoints: RestAnswer | None = None) -> tuple[Phase, str, dict[str, Any]]:
    """:func:`decide` with the criteria as keywords, answering ``(phase, message, result)``.

    :param mode: see :class:`WaitMode`; the other keywords are :class:`WaitCriteria`'s.
    """
    decision = decide(obj, WaitCriteria(mode=mode, target=target, nonce=nonce,  # type: ignore[arg-type]
                                        generation=generation, stale_error=stale_error,
                                        pickup_deadline=pickup_deadline, failed_checkpoints=failed_checkpoints),
                      kind=kind, name=name, now=now, checkpoints=checkpoints)
    return decision.phase, decision.message, decision.result
