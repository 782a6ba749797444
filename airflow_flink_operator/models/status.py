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
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from typing import Any

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


def error_fingerprint(error: Any) -> str | None:
    """A short digest of ``status.error`` as it stood when a wait began (to tell a new error from an
    old one while the operator has not picked up the new generation). No error text is kept."""
    if not error:
        return None
    raw = error if isinstance(error, str) else json.dumps(error, sort_keys=True)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def stale_error_of(obj: dict[str, Any] | None) -> str | None:
    """:func:`error_fingerprint` of a resource's ``status.error``, as a wait passes it on."""
    return error_fingerprint(((obj or {}).get("status") or {}).get("error"))


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


class Phase(str, Enum):
    """Where a resource stands relative to a target."""

    WAITING = "waiting"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class StatusError:
    """``status.error``, parsed: JSON ``FlinkResourceException`` or plain text.

    :param type: the exception class, if known.
    :param message: the message a person should read.
    :param raw: the text as the operator wrote it.
    """

    type: str | None
    message: str
    raw: str
    causes: tuple[str, ...] = ()

    def __str__(self) -> str:
        short_type = self.type.rsplit(".", 1)[-1] if self.type else None
        text = f"{short_type}: {self.message}" if short_type else self.message
        return text + "".join(f"\n  caused by: {cause}" for cause in self.causes)


def parse_status_error(error: Any) -> StatusError | None:
    """Parse ``status.error`` whether it is JSON or plain text; ``None`` when empty."""
    if error is None or (isinstance(error, str) and not error.strip()):
        return None
    raw = error if isinstance(error, str) else json.dumps(error)
    data: Any = error
    if isinstance(error, str):
        try:
            data = json.loads(error)
        except ValueError:
            return StatusError(type=None, message=error.strip(), raw=raw)
    if not isinstance(data, dict):
        return StatusError(type=None, message=str(data), raw=raw)
    causes = []
    for item in data.get("throwableList") or []:
        if isinstance(item, dict) and item.get("message"):
            kind = str(item.get("type") or "").rsplit(".", 1)[-1]
            causes.append(f"{kind}: {item['message']}" if kind else str(item["message"]))
    return StatusError(type=data.get("type"), message=str(data.get("message") or raw), raw=raw, causes=tuple(causes))


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
            raw_status=status,
        )

    # --- facts -----------------------------------------------------------------------------

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
        }[target]
        if target is Target.RUNNING and self.rollback_enabled:
            done = self.is_stable
        if done:
            return Phase.DONE, f"{self.kind} {self.name} is {target.value}: {self.describe()}"
        if target is Target.FINISHED and self.latest_generation_reconciled and self.job_state in ("CANCELED",):
            return Phase.FAILED, f"{self.kind} {self.name}: the job was CANCELED before finishing."
        if target in (Target.RUNNING, Target.STABLE) and self.job_state == "FINISHED" and self.latest_generation_reconciled:
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


@dataclass(frozen=True)
class SnapshotStatus:
    """A FlinkStateSnapshot's status."""

    name: str
    state: str | None
    path: str | None
    error: StatusError | None
    failures: int
    trigger_id: str | None
    backoff_limit: int = -1
    is_savepoint: bool = True
    trigger_type: str | None = None
    trigger_time: datetime | None = None
    result_time: datetime | None = None
    dispose_on_delete: bool = True
    job_name: str | None = None
    job_kind: str | None = None
    already_exists: bool = False
    spec_path: str | None = None
    created_at: datetime | None = None
    labels: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_object(cls, obj: dict[str, Any]) -> SnapshotStatus:
        """Read a FlinkStateSnapshot object."""
        metadata = obj.get("metadata") or {}
        spec = obj.get("spec") or {}
        status = obj.get("status") or {}
        labels = metadata.get("labels") or {}
        limit = spec.get("backoffLimit")
        savepoint = spec.get("savepoint")
        dispose = (savepoint or {}).get("disposeOnDelete")
        reference = spec.get("jobReference") or {}
        return cls(
            backoff_limit=-1 if limit is None else int(limit),
            name=metadata.get("name", ""),
            state=status.get("state"),
            path=status.get("path") or None,
            error=parse_status_error(status.get("error")),
            failures=int(status.get("failures") or 0),
            trigger_id=status.get("triggerId") or None,
            is_savepoint=savepoint is not None,
            trigger_type=(labels.get("snapshot.trigger-type") or "").upper() or None,
            trigger_time=parse_timestamp(status.get("triggerTimestamp")),
            result_time=parse_timestamp(status.get("resultTimestamp")),
            # SavepointSpec.disposeOnDelete defaults to true (reference, section h).
            dispose_on_delete=True if dispose is None else bool(dispose),
            job_name=reference.get("name") or labels.get("job-reference.name"),
            job_kind=reference.get("kind") or labels.get("job-reference.kind"),
            already_exists=bool((savepoint or {}).get("alreadyExists")),
            spec_path=(savepoint or {}).get("path") or None,
            created_at=parse_timestamp(metadata.get("creationTimestamp")),
            labels=dict(labels),
        )

    @property
    def taken_at(self) -> datetime | None:
        """When the snapshot was taken: its result time, else its trigger time, else its creation."""
        return self.result_time or self.trigger_time or self.created_at

    @property
    def completed_path(self) -> str | None:
        """The path of a savepoint that exists: COMPLETED, or recorded by the operator with
        ``alreadyExists`` (its upgrade savepoints) and not yet marked COMPLETED."""
        if not self.is_savepoint or self.state in ("FAILED", "ABANDONED"):
            return None
        if self.state == "COMPLETED":
            return self.path or (self.spec_path if self.already_exists else None)
        return self.spec_path if self.already_exists else None

    @property
    def will_retry(self) -> bool:
        """A FAILED snapshot is retried while ``failures <= backoffLimit`` (``-1``: forever)."""
        return self.state == "FAILED" and (self.backoff_limit == -1 or self.failures <= self.backoff_limit)

    def phase(self, pickup_deadline: float | None = None, now: float | None = None) -> tuple[Phase, str]:
        """DONE when COMPLETED, FAILED when ABANDONED or FAILED for good, else WAITING (retries included).

        :param pickup_deadline: epoch seconds by which the operator must have given the snapshot a
            status; past it, a snapshot without status means no snapshot controller runs
            (``kubernetes.operator.snapshot.resource.enabled: false`` with the CRD installed;
            reference, section h) and the wait fails instead of hanging.
        :param now: the current epoch seconds (for ``pickup_deadline``).
        """
        if self.state == "COMPLETED":
            return Phase.DONE, f"snapshot {self.name} completed at {self.path}"
        if self.state == "ABANDONED" or (self.state == "FAILED" and not self.will_retry):
            attempts = f" after {self.failures} attempt(s)" if self.failures else ""
            return Phase.FAILED, f"snapshot {self.name} {self.state}{attempts}: {self.error or 'no error reported'}"
        if self.state is None and pickup_deadline is not None and now is not None and now >= pickup_deadline:
            return Phase.FAILED, (f"snapshot {self.name} got no status from the Flink operator: its snapshot controller "
                                  "is not running (kubernetes.operator.snapshot.resource.enabled is false while the "
                                  "FlinkStateSnapshot CRD is installed)")
        retry = f" after {self.failures} failed attempt(s): {self.error}" if self.failures and self.error else ""
        return Phase.WAITING, f"snapshot {self.name} is {self.state or 'not yet picked up'}{retry}"


# --- savepoints as records: which one is whose ------------------------------------------------


@dataclass(frozen=True)
class SavepointRecord:
    """A completed savepoint the operator recorded, wherever it recorded it.

    :param path: the savepoint's location.
    :param taken_at: when it completed (operator clock), if known.
    :param trigger_type: ``MANUAL``, ``PERIODIC``, ``UPGRADE`` or ``UNKNOWN``, if known.
    :param source: ``snapshot`` (a FlinkStateSnapshot) or ``savepointInfo`` (the job's status).
    :param snapshot: the FlinkStateSnapshot's name, for ``snapshot``.
    """

    path: str
    taken_at: datetime | None
    trigger_type: str | None
    source: str
    snapshot: str | None = None


def savepoint_records(job: dict[str, Any] | None, snapshots: list[dict[str, Any]] = ()) -> list[SavepointRecord]:
    """Every completed savepoint of a job the operator recorded, newest first.

    From COMPLETED savepoint FlinkStateSnapshots (operator 1.10+) and the job's
    ``savepointInfo.lastSavepoint`` / ``savepointHistory`` (older operators, or snapshot
    resources disabled). Never ``jobStatus.upgradeSavepointPath``: it can hold
    ``KUBERNETES_OPERATOR_LAST_STATE`` or an older real path (reference, section h), so it proves
    nothing about a savepoint having been taken.
    """
    records: dict[str, SavepointRecord] = {}
    for obj in snapshots:
        snap = SnapshotStatus.from_object(obj)
        path = snap.completed_path
        if path:
            records[path] = SavepointRecord(path, snap.taken_at, snap.trigger_type, "snapshot", snap.name)
    info = ((((job or {}).get("status") or {}).get("jobStatus") or {}).get("savepointInfo")) or {}
    for item in [*(info.get("savepointHistory") or []), info.get("lastSavepoint") or {}]:
        location = item.get("location") if isinstance(item, dict) else None
        if location and location != LAST_STATE_DUMMY_SAVEPOINT and location not in records:
            records[location] = SavepointRecord(location, parse_timestamp(item.get("timeStamp")),
                                                (item.get("triggerType") or None), "savepointInfo")
    oldest = datetime.min.replace(tzinfo=timezone.utc)
    return sorted(records.values(), key=lambda r: r.taken_at or oldest, reverse=True)


def savepoint_baseline(job: dict[str, Any] | None, snapshots: list[dict[str, Any]] = ()) -> dict[str, Any]:
    """What a stop must differ from to have taken a savepoint: the recorded savepoint paths and
    ``upgradeSavepointPath`` before it began (small and JSON-able, carried through a deferral)."""
    job_status = (((job or {}).get("status") or {}).get("jobStatus")) or {}
    return {"paths": sorted(r.path for r in savepoint_records(job, snapshots)),
            "upgrade_path": job_status.get("upgradeSavepointPath")}


def stop_savepoint(job: dict[str, Any] | None, snapshots: list[dict[str, Any]], baseline: dict[str, Any]) -> str | None:
    """The savepoint the operator took for a stop (suspend or upgrade) begun at ``baseline``, or ``None``.

    It is a savepoint recorded after the stop began: an UPGRADE snapshot (counted as soon as the
    operator creates it with ``alreadyExists``) or ``lastSavepoint`` that was not there before. A
    change of ``upgradeSavepointPath`` alone proves nothing: the operator also sets it to the
    last-state marker, or to a failed or finished job's latest checkpoint.
    """
    before = set(baseline.get("paths") or ())
    for record in savepoint_records(job, snapshots):
        if record.path not in before and (record.trigger_type in (None, "UPGRADE", "UNKNOWN")):
            return record.path
    return None


def current_job_savepoint(job: dict[str, Any] | None, snapshots: list[dict[str, Any]] = ()) -> SavepointRecord | None:
    """The newest savepoint taken of the job incarnation that runs (or last ran) now, or ``None``.

    A savepoint counts only if it completed after the current Flink job started
    (``jobStatus.startTime``): one taken of an earlier incarnation (before a redeploy, or of a
    deleted and re-created resource of the same name) is not this job's state.
    """
    status = FlinkResourceStatus.from_object(job) if job else None
    started = status.job_start_time if status else None
    for record in savepoint_records(job, snapshots):
        if started is None or (record.taken_at is not None and _not_before(record.taken_at, started)):
            return record
    return None


def _not_before(taken: datetime, started: datetime) -> bool:
    """``taken >= started``, at the precision of ``taken`` (a creationTimestamp has whole seconds)."""
    if taken.microsecond == 0:
        return taken >= started.replace(microsecond=0)
    return taken >= started


def nonce_savepoint_phase(obj: dict[str, Any], nonce: int) -> tuple[Phase, str, str | None]:
    """The result of a savepoint triggered with ``savepointTriggerNonce`` (operators before 1.10, or
    with snapshot resources disabled).

    :return: phase, message, and the savepoint path when done.
    """
    metadata = obj.get("metadata") or {}
    status = obj.get("status") or {}
    info = (status.get("jobStatus") or {}).get("savepointInfo") or {}
    last = info.get("lastSavepoint") or {}
    name = metadata.get("name", "")
    pending = bool(info.get("triggerId"))
    if not pending and last.get("triggerNonce") == nonce and last.get("location"):
        return Phase.DONE, f"savepoint {nonce} of {name} completed at {last['location']}", last["location"]
    reconciled_nonce = ((_last_reconciled_spec(status) or {}).get("job") or {}).get("savepointTriggerNonce")
    picked_up = reconciled_nonce == nonce and status.get("observedGeneration") == metadata.get("generation")
    if picked_up and not pending:
        error = parse_status_error(status.get("error"))
        return Phase.FAILED, f"savepoint {nonce} of {name} was not taken: {error or 'the trigger expired'}", None
    return Phase.WAITING, f"savepoint {nonce} of {name} {'in progress' if pending else 'not picked up yet'}", None


# --- one evaluation for every wait (operators, sensor, trigger) -------------------------------

WAIT_MODES = ("resource", "snapshot", "nonce", "deleted", "bluegreen")


def summary(obj: dict[str, Any] | None, kind: str | None = None) -> dict[str, Any]:
    """A small, secret-free dict about a resource for XCom and events."""
    if obj is None:
        return {"kind": kind, "exists": False}
    metadata = obj.get("metadata") or {}
    status = obj.get("status") or {}
    job_status = status.get("jobStatus") or {}
    result: dict[str, Any] = {
        "kind": obj.get("kind") or kind,
        "name": metadata.get("name"),
        "namespace": metadata.get("namespace"),
        "generation": metadata.get("generation"),
    }
    if result["kind"] == "FlinkStateSnapshot":
        result.update(state=status.get("state"), savepoint_path=status.get("path"))
        return result
    result.update(
        lifecycle_state=status.get("lifecycleState"),
        job_state=job_status.get("state"),
        job_id=job_status.get("jobId"),
        jobmanager_status=status.get("jobManagerDeploymentStatus"),
    )
    return result


def evaluate(mode: str, obj: dict[str, Any] | None, *, kind: str, name: str, target: str | None = None,
             nonce: int | None = None, generation: int | None = None, stale_error: str | None = None,
             pickup_deadline: float | None = None, now: float | None = None) -> tuple[Phase, str, dict[str, Any]]:
    """Where a wait stands: the single decision used by operators, sensors and triggers.

    :param mode: ``resource`` (a FlinkDeployment/FlinkSessionJob reaching ``target``), ``snapshot``
        (a FlinkStateSnapshot completing), ``nonce`` (a legacy savepoint with ``nonce``), or
        ``deleted`` (the resource is gone).
    :param generation: for ``resource``: the generation waited for (see :meth:`FlinkResourceStatus.phase`).
    :param stale_error: for ``resource``: :func:`error_fingerprint` of the error when the wait began.
    :param pickup_deadline: for ``snapshot``: epoch seconds by which the operator must have picked it up.
    :param now: the current epoch seconds (for ``pickup_deadline``).
    :return: phase, message for people, and a result dict (see :func:`summary`).
    """
    if mode == "deleted":
        if obj is None:
            return Phase.DONE, f"{kind} {name} is deleted", {"kind": kind, "name": name, "deleted": True}
        return Phase.WAITING, f"{kind} {name} is being deleted ({(obj.get('status') or {}).get('lifecycleState')})", summary(obj)
    if obj is None:
        return Phase.FAILED, f"{kind} {name} does not exist (deleted while waiting?)", {"kind": kind, "name": name,
                                                                                      "exists": False}
    if mode == "snapshot":
        snapshot = SnapshotStatus.from_object(obj)
        phase, message = snapshot.phase(pickup_deadline, now)
        result = summary(obj)
        if phase is Phase.FAILED and snapshot.state is None:
            result["no_snapshot_controller"] = True
        return phase, message, result
    if mode == "nonce":
        if nonce is None:
            raise ValueError("mode 'nonce' needs the nonce")
        phase, message, path = nonce_savepoint_phase(obj, nonce)
        result = summary(obj)
        if path:
            result["savepoint_path"] = path
        result["nonce"] = nonce
        return phase, message, result
    if mode == "bluegreen":
        from airflow_flink_operator.models.status_bluegreen import bluegreen_phase

        return bluegreen_phase(obj, target)
    if mode != "resource":
        raise ValueError(f"unknown wait mode {mode!r}; use one of {', '.join(WAIT_MODES)}")
    phase, message = FlinkResourceStatus.from_object(obj).phase(Target(target or Target.RUNNING), generation,
                                                                stale_error)
    return phase, message, summary(obj)
