"""Savepoints, read from status: a FlinkStateSnapshot's progress, and which recorded savepoint is whose.

A savepoint may be recorded in two places: a FlinkStateSnapshot (operator 1.10+) or the job's
``status.jobStatus.savepointInfo`` (older operators, snapshot resources disabled, or the legacy
``savepointTriggerNonce``). Operators ask these functions instead of reading either themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from airflow_flink_operator.models.status import (
    LAST_STATE_DUMMY_SAVEPOINT,
    FlinkResourceStatus,
    Phase,
    StatusError,
    _last_reconciled_spec,
    parse_status_error,
    parse_timestamp,
)


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
            return Phase.DONE, f"snapshot {self.name} completed at {_shown(self.path)}"
        if self.state == "ABANDONED" or (self.state == "FAILED" and not self.will_retry):
            attempts = f" after {self.failures} attempt(s)" if self.failures else ""
            return Phase.FAILED, f"snapshot {self.name} {self.state}{attempts}: {self.error or 'no error reported'}"
        if self.state is None and pickup_deadline is not None and now is not None and now >= pickup_deadline:
            return Phase.FAILED, (f"snapshot {self.name} got no status from the Flink operator: its snapshot controller "
                                  "is not running (kubernetes.operator.snapshot.resource.enabled is false while the "
                                  "FlinkStateSnapshot CRD is installed)")
        retry = f" after {self.failures} failed attempt(s): {self.error}" if self.failures and self.error else ""
        return Phase.WAITING, f"snapshot {self.name} is {self.state or 'not yet picked up'}{retry}"


# --- is a snapshot controller running here: what savepoint tasks found out ----------------------

@dataclass(frozen=True)
class SnapshotControllerVerdict:
    """What a savepoint task last found out about whether the Flink operator reconciles FlinkStateSnapshots
    in a namespace: with the CRD installed and ``kubernetes.operator.snapshot.resource.enabled: false``
    a snapshot never gets a status (reference, section h), and every savepoint would wait out its pickup
    timeout before falling back to ``savepointTriggerNonce``.

    Stored as the string data of one small ConfigMap per namespace, so every worker and triggerer of
    every Airflow deployment using that namespace reads the same verdict.

    :param running: whether a snapshot controller was seen working (a snapshot got a status).
    :param checked_at: when that was found out (UTC).
    :param evidence: what it was found from (the snapshot and what happened to it).
    """

    running: bool
    checked_at: datetime
    evidence: str = ""

    @classmethod
    def from_data(cls, data: dict[str, str] | None) -> SnapshotControllerVerdict | None:
        """Read the ConfigMap's data; ``None`` for no verdict (or one that cannot be read)."""
        if not data or data.get("snapshotController") not in ("running", "absent"):
            return None
        checked_at = parse_timestamp(data.get("checkedAt"))
        if checked_at is None:
            return None
        return cls(running=data["snapshotController"] == "running", checked_at=checked_at,
                   evidence=data.get("evidence", ""))

    def to_data(self) -> dict[str, str]:
        """The ConfigMap's data."""
        return {"snapshotController": "running" if self.running else "absent",
                "checkedAt": self.checked_at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "evidence": self.evidence}

    def skips_snapshots(self, now: datetime, recheck: timedelta) -> bool:
        """Whether a savepoint should go straight to ``savepointTriggerNonce``: no controller was found,
        and that is younger than ``recheck`` (an older verdict is put to the test again: the operator's
        ``kubernetes.operator.snapshot.resource.enabled`` may have been turned on since)."""
        return not self.running and now - self.checked_at < recheck

    def recheck_due(self, now: datetime, recheck: timedelta) -> bool:
        """Whether this is an old "no controller" verdict a savepoint should put to the test again."""
        return not self.running and not self.skips_snapshots(now, recheck)


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
        return Phase.DONE, f"savepoint {nonce} of {name} completed at {_shown(last['location'])}", last["location"]
    reconciled_nonce = ((_last_reconciled_spec(status) or {}).get("job") or {}).get("savepointTriggerNonce")
    picked_up = reconciled_nonce == nonce and status.get("observedGeneration") == metadata.get("generation")
    if picked_up and not pending:
        error = parse_status_error(status.get("error"))
        return Phase.FAILED, f"savepoint {nonce} of {name} was not taken: {error or 'the trigger expired'}", None
    return Phase.WAITING, f"savepoint {nonce} of {name} {'in progress' if pending else 'not picked up yet'}", None


def nonce_snapshot(snapshots: list[dict[str, Any]], before: list[str] | tuple[str, ...]) -> str | None:
    """The FlinkStateSnapshot the operator created for a ``savepointTriggerNonce`` trigger, or ``None``.

    With snapshot resources enabled (``FlinkStateSnapshotUtils.isSnapshotResourceEnabled``: the job's and
    the operator's ``kubernetes.operator.snapshot.resource.enabled``), ``AbstractJobReconciler.triggerSnapshotIfNeeded``
    does not trigger a nonce savepoint itself: it calls ``FlinkStateSnapshotUtils.createSavepointResource``
    (a snapshot named ``<job>-savepoint-manual-<epochMillis>``, label ``snapshot.trigger-type: MANUAL``) and
    ``ReconciliationUtils.updateLastReconciledSnapshotTriggerNonce``; ``savepointInfo`` never sees the nonce.
    So :func:`nonce_savepoint_phase` reads such a nonce as expired; the savepoint is that snapshot's.

    :param snapshots: the job's FlinkStateSnapshots now.
    :param before: the names of the job's snapshots just before the nonce was set.
    :return: the newest MANUAL savepoint snapshot not in ``before``.
    """
    known = set(before)
    fresh = [s for s in (SnapshotStatus.from_object(obj) for obj in snapshots)
             if s.is_savepoint and s.trigger_type == "MANUAL" and s.name not in known]
    oldest = datetime.min.replace(tzinfo=timezone.utc)
    fresh.sort(key=lambda s: (s.created_at or oldest, s.name), reverse=True)
    return fresh[0].name if fresh else None


def _shown(path: str | None) -> str | None:
    """A savepoint path for a message (logs, trigger events): without user info (the result keeps the path)."""
    from airflow_flink_operator.uris import strip_userinfo

    return strip_userinfo(path) if path else path
