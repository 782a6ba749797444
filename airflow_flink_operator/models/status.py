"""One place that reads a custom resource's status and answers "is it running / done / failed?".

Operators, sensors and triggers all ask this module; none of them reads status fields itself.
It follows the reference's "really running and latest spec applied" predicate:

1. ``status.observedGeneration == metadata.generation`` and ``reconciliationStatus.state == DEPLOYED``;
2. ``lifecycleState`` in ``STABLE``/``DEPLOYED`` (``STABLE`` only, when rollback may still happen);
3. application: ``jobStatus.state == RUNNING``; session cluster: JobManager ``READY``;
   session job: ``jobStatus.state == RUNNING``.

Failure signals: lifecycle ``FAILED``, JobManager ``ERROR``, job ``FAILED``, ``ROLLED_BACK``, or an
``error`` the operator reports for the latest generation. ``MISSING`` is transient while upgrading;
``RESTARTING``/``FAILING`` are unhealthy, not failed.

This module reads a FlinkDeployment's or FlinkSessionJob's status (:class:`FlinkResourceStatus`).
Beside it: :mod:`.savepoints` (FlinkStateSnapshots and which recorded savepoint is whose),
:mod:`.waiting` (the one step every wait takes: :func:`~.waiting.decide`, :class:`~.waiting.WaitMode`,
:class:`~.waiting.WaitCriteria`), :mod:`.summary` (what goes to XCom), :mod:`.status_errors` (``status.error``
parsed and fingerprinted) and :mod:`.status_bluegreen`.
Their names are importable from here too, each loaded on first use.
"""

from __future__ import annotations

import importlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from typing import Any

from airflow_flink_operator.models.status_errors import (  # noqa: F401  (importable from here too)
    StatusError,
    error_fingerprint,
    parse_status_error,
    stale_error_of,
)

TERMINAL_LIFECYCLE = frozenset({"SUSPENDED", "STABLE", "ROLLED_BACK", "FAILED", "DELETED"})
GLOBALLY_TERMINAL_JOB = frozenset({"FAILED", "CANCELED", "FINISHED"})
#: ``FlinkResourceException.type`` values meaning "this spec will not be deployed as it is": the
#: operator writes them about a new spec without advancing ``observedGeneration``. Not
#: ``DeploymentFailedException``: it reports the deployed generation's JobManager (CrashLoopBackOff...),
#: so while a newer generation is pending it is the old generation's.
SPEC_REJECTION_ERRORS = frozenset({"ValidationException", "UpgradeFailureException"})
#: What ``jobStatus.upgradeSavepointPath`` holds after a last-state (re)deploy: a marker, not a
#: savepoint (``AbstractJobReconciler.LAST_STATE_DUMMY_SP_PATH``; reference, section h).
LAST_STATE_DUMMY_SAVEPOINT = "KUBERNETES_OPERATOR_LAST_STATE"


_ISO = re.compile(r"(?P<date>\d{4}-\d{2}-\d{2})[Tt ](?P<time>\d{2}:\d{2}(?::\d{2})?)(?P<fraction>\.\d+)?"
                  r"(?P<zone>[Zz]|[+-]\d{2}:?\d{2})?$")


def parse_timestamp(value: Any) -> datetime | None:
    """A status timestamp as an aware UTC datetime, whichever form the operator wrote.

    FlinkStateSnapshot ``triggerTimestamp``/``resultTimestamp`` are ISO-8601 in the operator JVM's
    zone (``2026-11-26T21:00:00.123Z``, or with an offset); ``jobStatus.startTime``/``updateTime``
    are epoch-millisecond strings; ``savepointInfo`` times are epoch-millisecond numbers
    (reference, section h). ``None`` when empty or unreadable.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value / 1000, tz=timezone.utc)
    text = str(value).strip()
    if not text:
        return None
    if text.lstrip("-").isdigit():
        return datetime.fromtimestamp(int(text) / 1000, tz=timezone.utc)
    match = _ISO.match(text)
    if match is None:
        return None
    # Python 3.10's fromisoformat takes neither "Z" nor more than 6 fraction digits (Java writes up to 9).
    fraction = match["fraction"][:7].ljust(7, "0") if match["fraction"] else ""
    zone = "+00:00" if match["zone"] in (None, "Z", "z") else match["zone"]
    if len(zone) == 5:  # +0100 → +01:00
        zone = f"{zone[:3]}:{zone[3:]}"
    try:
        parsed = datetime.fromisoformat(f"{match['date']}T{match['time']}{fraction}{zone}")
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


class Target(str, Enum):
    """What a wait waits for."""

    RUNNING = "running"
    """The job runs on the latest spec (application or session job)."""
    STABLE = "stable"
    """Like RUNNING, and the operator marked the spec stable (no rollback can follow)."""
    FINISHED = "finished"
    """A bounded job finished."""
    SUSPENDED = "suspended"
    """The job was suspended on the latest spec."""
    READY = "ready"
    """A session cluster's JobManager is ready on the latest spec."""
    CHECKPOINTED = "checkpointed"
    """Like RUNNING, and a checkpoint of this start completed (read from Flink's REST API: :mod:`.checkpoints`)."""


class Phase(str, Enum):
    """Where a resource stands relative to a target."""

    WAITING = "waiting"
    DONE = "done"
    FAILED = "failed"


def _last_reconciled_spec(status: dict[str, Any], key: str = "lastReconciledSpec") -> dict[str, Any] | None:
    text = (status.get("reconciliationStatus") or {}).get(key)
    if not text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data.get("spec") if isinstance(data, dict) else None


@dataclass(frozen=True)
class FlinkResourceStatus:
    """A FlinkDeployment's or FlinkSessionJob's status, read once.

    Build with :meth:`from_object` from the object as the API returns it.
    """

    kind: str
    name: str
    namespace: str | None
    generation: int | None
    observed_generation: int | None
    lifecycle_state: str | None
    reconciliation_state: str | None
    jobmanager_status: str | None
    job_state: str | None
    job_id: str | None
    error: StatusError | None
    upgrade_savepoint_path: str | None
    is_session_cluster: bool
    desired_job_state: str | None
    last_reconciled_job_state: str | None
    rollback_enabled: bool
    deleting: bool
    uid: str | None = None
    job_start_time: datetime | None = None
    #: When the operator last observed the job's state (``jobStatus.updateTime``): for a FINISHED job,
    #: when it saw it finish (the operator records no end time of its own).
    job_update_time: datetime | None = None
    raw_status: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @classmethod
    def from_object(cls, obj: dict[str, Any]) -> FlinkResourceStatus:
        """Read the status of a FlinkDeployment or FlinkSessionJob object (a dict from the API)."""
        metadata = obj.get("metadata") or {}
        spec = obj.get("spec") or {}
        status = obj.get("status") or {}
        job_status = status.get("jobStatus") or {}
        last_spec = _last_reconciled_spec(status) or {}
        conf = spec.get("flinkConfiguration") or {}
        rollback = str(conf.get("kubernetes.operator.deployment.rollback.enabled", "false")).lower() == "true"
        kind = obj.get("kind") or "FlinkDeployment"
        return cls(
            kind=kind,
            name=metadata.get("name", ""),
            namespace=metadata.get("namespace"),
            generation=metadata.get("generation"),
            observed_generation=status.get("observedGeneration"),
            lifecycle_state=status.get("lifecycleState"),
            reconciliation_state=(status.get("reconciliationStatus") or {}).get("state"),
            jobmanager_status=status.get("jobManagerDeploymentStatus"),
            job_state=job_status.get("state"),
            job_id=job_status.get("jobId"),
            error=parse_status_error(status.get("error")),
            upgrade_savepoint_path=job_status.get("upgradeSavepointPath"),
            is_session_cluster=kind == "FlinkDeployment" and not spec.get("job"),
            desired_job_state=(spec.get("job") or {}).get("state") or ("running" if spec.get("job") else None),
            last_reconciled_job_state=(last_spec.get("job") or {}).get("state"),
            rollback_enabled=rollback,
            deleting=bool(metadata.get("deletionTimestamp")),
            uid=metadata.get("uid"),
            job_start_time=parse_timestamp(job_status.get("startTime")),
            job_update_time=parse_timestamp(job_status.get("updateTime")),
            raw_status=status,
        )

    # --- facts -----------------------------------------------------------------------------

    @property
    def incarnation(self) -> tuple[str | None, str | None]:
        """Which run of the job this is: the resource's uid and the Flink job's ``startTime`` exactly as
        the operator wrote it (savepoint names and nonces hash it, so it must not be reformatted)."""
        return self.uid, (self.raw_status.get("jobStatus") or {}).get("startTime")

    @property
    def latest_generation_reconciled(self) -> bool:
        """The operator picked up the latest spec and finished deploying it (not upgrading)."""
        return (
            self.generation is not None
            and self.observed_generation == self.generation
            and self.reconciliation_state == "DEPLOYED"
        )

    @property
    def is_upgrading(self) -> bool:
        """A spec change is being applied (or has not been picked up yet)."""
        return (
            self.lifecycle_state == "UPGRADING"
            or self.reconciliation_state == "UPGRADING"
            or (self.generation is not None and self.observed_generation is not None
                and self.observed_generation < self.generation)
        )

    @property
    def is_rolling_back(self) -> bool:
        """The operator is reverting to the last stable spec."""
        return self.lifecycle_state == "ROLLING_BACK" or self.reconciliation_state == "ROLLING_BACK"

    @property
    def is_rolled_back(self) -> bool:
        """The latest spec was rejected and the last stable spec restored."""
        return self.lifecycle_state == "ROLLED_BACK" or self.reconciliation_state == "ROLLED_BACK"

    @property
    def is_suspended(self) -> bool:
        """Suspended on the latest spec."""
        return self.lifecycle_state == "SUSPENDED" and self.latest_generation_reconciled

    @property
    def is_restarting(self) -> bool:
        """The job is restarting or failing over: unhealthy, not yet failed."""
        return self.job_state in ("RESTARTING", "FAILING")

    @property
    def is_running(self) -> bool:
        """The reference's predicate: the job really runs on the latest spec."""
        if not self.latest_generation_reconciled or self.deleting:
            return False
        if self.lifecycle_state not in ("STABLE", "DEPLOYED"):
            return False
        if self.is_session_cluster:
            return self.jobmanager_status == "READY"
        return self.job_state == "RUNNING"

    @property
    def is_stable(self) -> bool:
        """Running and marked stable by the operator."""
        return self.is_running and self.lifecycle_state == "STABLE"

    @property
    def is_finished(self) -> bool:
        """A bounded job finished on the latest spec."""
        return self.latest_generation_reconciled and self.job_state == "FINISHED" and self.lifecycle_state != "SUSPENDED"

    def reached(self, generation: int | None) -> bool:
        """The operator has reconciled ``generation`` (or a later one); ``None``: no generation to wait for.

        Until then every failure field (lifecycle ``FAILED``, job ``FAILED``, JobManager ``ERROR``,
        ``ROLLED_BACK``, ``error``) may be left over from an older generation (reference, section h,
        "Failure fields outlive a fix").
        """
        if generation is None:
            return True
        return self.observed_generation is not None and self.observed_generation >= generation

    def failure(self, generation: int | None = None, stale_error: str | None = None) -> str | None:
        """Why the resource has failed for ``generation``, or ``None``. Transient states are not failures.

        :param generation: the generation a wait waits for; failure fields count only once the
            operator has reconciled it, except a new spec rejection (the operator rejects a spec
            without advancing ``observedGeneration``).
        :param stale_error: :func:`error_fingerprint` of ``status.error`` when the wait began: an
            unchanged error is the old generation's, not a rejection of the new one.
        """
        if self.deleting:
            return None
        error = f" Operator error: {self.error}" if self.error else ""
        rejected = self.spec_rejected and (
            generation is None or error_fingerprint(self.error.raw if self.error else None) != stale_error)
        rejection = f"the operator rejected the spec (generation {self.generation}).{error}" if rejected else None
        if not self.reached(generation):
            return rejection
        if self.lifecycle_state == "UPGRADING" or self.reconciliation_state == "UPGRADING":
            return rejection  # the old job's state is still on the object while the new one deploys
        if self.lifecycle_state == "FAILED":
            return f"lifecycle state is FAILED (job {self.job_state or 'unknown'}).{error}"
        if self.job_state == "FAILED":
            return f"the Flink job FAILED.{error}"
        if self.jobmanager_status == "ERROR":
            return f"the JobManager deployment is in ERROR; it needs a spec change.{error}"
        if self.is_rolled_back:
            return f"the upgrade was ROLLED_BACK to the last stable spec.{error}"
        return rejection

    @property
    def spec_rejected(self) -> bool:
        """The operator refused the latest spec (validation or upgrade failure), so it will not run.

        Only an error the operator raises *about the spec* counts while a newer generation is
        pending; an older error (say, from a job failure) stays until the new spec is picked up
        and must not fail a wait for a fixed spec.
        """
        if self.error is None or self.generation is None:
            return False
        pending = self.observed_generation is None or self.observed_generation < self.generation
        if not pending or self.reconciliation_state == "UPGRADING" or self.lifecycle_state == "UPGRADING":
            return False
        kind = (self.error.type or "").rsplit(".", 1)[-1]
        if kind in SPEC_REJECTION_ERRORS:
            return True
        # Operators before 1.13 wrote validation errors as plain text; on a resource never
        # deployed, any error means its spec was refused.
        return self.error.type is None and not self.observed_generation

    def phase(self, target: Target | str, generation: int | None = None,
              stale_error: str | None = None) -> tuple[Phase, str]:
        """Where this resource stands relative to ``target``, with a message for people.

        :param generation: the generation the wait is for (from its own apply, or the current one):
            success and failure are judged only once the operator has reconciled it.
        :param stale_error: see :meth:`failure`.
        """
        target = Target(target)
        failed = self.failure(generation, stale_error)
        if failed and not (target is Target.SUSPENDED and self.lifecycle_state == "SUSPENDED"):
            return Phase.FAILED, f"{self.kind} {self.name}: {failed}"
        if not self.reached(generation):
            return Phase.WAITING, (f"{self.kind} {self.name}: waiting for the operator to pick up generation "
                                   f"{generation}: {self.describe()}")
        done = {
            Target.RUNNING: self.is_running,
            Target.STABLE: self.is_stable,
            Target.FINISHED: self.is_finished,
            Target.SUSPENDED: self.is_suspended,
            Target.READY: self.is_running if self.is_session_cluster else False,
            Target.CHECKPOINTED: self.is_running and not self.is_session_cluster,
        }[target]
        if target in (Target.RUNNING, Target.CHECKPOINTED) and self.rollback_enabled:
            done = self.is_stable
        if done:
            return Phase.DONE, f"{self.kind} {self.name} is {target.value}: {self.describe()}"
        if target is Target.FINISHED and self.latest_generation_reconciled and self.job_state in ("CANCELED",):
            return Phase.FAILED, f"{self.kind} {self.name}: the job was CANCELED before finishing."
        if target in (Target.RUNNING, Target.STABLE, Target.CHECKPOINTED) and self.job_state == "FINISHED" \
                and self.latest_generation_reconciled:
            return Phase.FAILED, f"{self.kind} {self.name}: the job FINISHED; it is not a streaming job running."
        return Phase.WAITING, f"{self.kind} {self.name} not {target.value} yet: {self.describe()}"

    def describe(self) -> str:
        """One line with the fields a person on call needs."""
        parts = [
            f"lifecycle={self.lifecycle_state}",
            f"job={self.job_state}",
        ]
        if self.kind == "FlinkDeployment":
            parts.append(f"jobManager={self.jobmanager_status}")
        parts.append(f"generation={self.generation} observed={self.observed_generation}")
        if self.reconciliation_state:
            parts.append(f"reconciliation={self.reconciliation_state}")
        if self.error:
            parts.append(f"error={self.error.message[:200]}")
        return ", ".join(parts)


#: Names that moved to the modules beside this one, still importable from here (loaded on first use).
_MOVED = {name: module for module, names in {
    "savepoints": ("SavepointRecord", "SnapshotStatus", "current_job_savepoint", "nonce_savepoint_phase",
                   "savepoint_baseline", "savepoint_records", "stop_savepoint"),
    "summary": ("summary",),
    "waiting": ("LATEST_GENERATION", "WAIT_MODES", "Decision", "WaitCriteria", "WaitMode", "decide", "evaluate"),
}.items() for name in names}


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        return getattr(importlib.import_module(f"airflow_flink_operator.models.{_MOVED[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
