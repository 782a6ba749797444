"""Savepoints: trigger one (FlinkStateSnapshot where served, ``savepointTriggerNonce`` otherwise),
wait for it, return its path; and prune old ones."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Any

from airflow_flink_operator.constants import KIND_DEPLOYMENT, KIND_STATE_SNAPSHOT
from airflow_flink_operator.operators.base import SNAPSHOT_PICKUP_TIMEOUT, FlinkBaseOperator, FlinkTaskError

#: How long a namespace's "no snapshot controller" note is trusted before a savepoint tries a FlinkStateSnapshot
#: again (``kubernetes.operator.snapshot.resource.enabled`` may have been turned on since): one pickup timeout
#: (60 s) per 6 hours instead of per savepoint.
SNAPSHOT_CONTROLLER_RECHECK = timedelta(hours=6)

SAVEPOINT_METHODS = ("auto", "snapshot", "nonce")


class SavepointMixin:
    """Start a savepoint of the running job in a way a retried task reattaches to.

    The snapshot name (or nonce) derives from the task instance *and the job incarnation* (the
    resource's uid and the Flink job's start time): a retry of the same task finds the savepoint
    its first try started, while a re-run after the job was redeployed (or deleted and created
    again) takes a new one of the job that runs now. A retry after a savepoint that FAILED for
    good starts a new one.
    """

    snapshot_pickup_timeout: float = SNAPSHOT_PICKUP_TIMEOUT
    snapshot_controller_recheck: timedelta = SNAPSHOT_CONTROLLER_RECHECK

    def start_savepoint(self, context: Any, *, job_kind: str, job_name: str, namespace: str, purpose: str = "savepoint",
                        method: str = "auto", snapshot_name: str | None = None, path: str | None = None,
                        format_type: str | None = None, dispose_on_delete: bool | None = None,
                        backoff_limit: int | None = 3) -> dict[str, Any]:
        """Trigger (or find) the savepoint; return how to wait for it: ``{mode, kind, name, namespace, nonce}``."""
        from airflow_flink_operator.models import FlinkStateSnapshot
        from airflow_flink_operator.models.savepoints import SnapshotStatus, nonce_savepoint_phase
        from airflow_flink_operator.models.status import FlinkResourceStatus, Phase
        from airflow_flink_operator.naming import LABEL_JOB_UID, LABEL_PURPOSE, label_value, run_scoped_name, \
            run_scoped_nonce, ti_labels

        hook = self.hook  # type: ignore[attr-defined]
        log = self.log  # type: ignore[attr-defined]
        job = hook.get(job_kind, job_name, namespace)
        if job is None:
            raise FlinkTaskError(f"cannot take a savepoint: {job_kind} {namespace}/{job_name} does not exist")
        status = FlinkResourceStatus.from_object(job)
        incarnation = status.incarnation
        use_snapshot = method == "snapshot" or (method == "auto" and hook.snapshot_resources_served())
        if method == "snapshot" and not hook.snapshot_resources_served():
            raise FlinkTaskError("method='snapshot' but the cluster does not serve FlinkStateSnapshot (operator < 1.10); "
                                 "use method='auto' or 'nonce'")
        wait = {"kind": KIND_STATE_SNAPSHOT, "namespace": namespace, "job_kind": job_kind, "job_name": job_name,
                "method": method, "purpose": purpose}
        if use_snapshot:
            name = snapshot_name or run_scoped_name(job_name, context, purpose, *incarnation)
            wait.update(mode="snapshot", name=name)
            existing = hook.get(KIND_STATE_SNAPSHOT, name, namespace)
            if method == "auto" and not (existing and SnapshotStatus.from_object(existing).state):
                use_snapshot = self._snapshot_controller_expected(namespace, name, existing, wait)
        if use_snapshot:
            if existing is not None:
                phase, message = SnapshotStatus.from_object(existing).phase()
                if phase is Phase.FAILED:
                    # FAILED/ABANDONED snapshots hold no data: deleting one disposes nothing.
                    log.info("Previous attempt %s; deleting it and triggering a new savepoint", message)
                    hook.delete(KIND_STATE_SNAPSHOT, name, namespace, timeout=60, poll_interval=0.5)
                else:
                    log.info("Reattaching to savepoint %s/%s (%s)", namespace, name, message)
                    return wait
            self._require_running(job, job_kind, job_name, namespace)
            spec: dict[str, Any] = {"jobReference": {"kind": job_kind, "name": job_name},
                                    "savepoint": {k: v for k, v in (("path", path), ("formatType", format_type),
                                                                    ("disposeOnDelete", dispose_on_delete)) if v is not None}}
            if backoff_limit is not None:
                spec["backoffLimit"] = backoff_limit
            labels = {**ti_labels(context), LABEL_PURPOSE: label_value(purpose)}
            if status.uid:
                labels[LABEL_JOB_UID] = label_value(status.uid)
            snapshot = FlinkStateSnapshot.model_validate(
                {"apiVersion": "flink.apache.org/v1beta1", "kind": KIND_STATE_SNAPSHOT,
                 "metadata": {"name": name, "namespace": namespace, "labels": labels}, "spec": spec})
            from airflow_flink_operator.manifests import render

            (manifest,) = render(snapshot)
            hook.create_snapshot(manifest, namespace)
            log.info("Triggered savepoint %s/%s of %s %s (disposeOnDelete: %s)", namespace, name, job_kind, job_name,
                     "true (the operator's default)" if dispose_on_delete is None else str(dispose_on_delete).lower())
            return wait
        # Legacy: savepointTriggerNonce on the job itself.
        wait.pop("recheck", None)
        if path or format_type or dispose_on_delete is not None:
            log.warning("path/format_type/dispose_on_delete need FlinkStateSnapshot; the job's savepoint settings apply")
        nonce = run_scoped_nonce(context, purpose, *incarnation)
        wait.update(mode="nonce", kind=job_kind, name=job_name, nonce=nonce)
        phase, message, _ = nonce_savepoint_phase(job, nonce)
        current = ((job.get("spec") or {}).get("job") or {}).get("savepointTriggerNonce")
        if current == nonce and phase is Phase.FAILED:
            try_number = getattr(context["ti"], "try_number", 1)
            nonce = run_scoped_nonce(context, f"{purpose}-try-{try_number}", *incarnation)
            wait["nonce"] = nonce
        elif current == nonce:
            log.info("Reattaching to savepoint nonce %s of %s (%s)", nonce, job_name, message)
            return wait
        self._require_running(job, job_kind, job_name, namespace)
        if hook.snapshot_resources_served():
            # An operator with snapshot resources on records a nonce savepoint as a new FlinkStateSnapshot
            # (models.savepoints.nonce_snapshot): remember which snapshots were there before.
            try:
                wait["snapshots_before"] = sorted(
                    (s.get("metadata") or {}).get("name", "")
                    for s in hook.list_snapshots(job_name, namespace, job_kind, "snapshot.trigger-type=MANUAL"))
            except Exception as exc:  # only a fallback's aid; the nonce wait works without it
                log.warning("Cannot list the FlinkStateSnapshots of %s %s: %s", job_kind, job_name, exc)
        hook.trigger_savepoint_nonce(job_kind, job_name, namespace, nonce=nonce)
        log.info("Triggered savepoint of %s %s with savepointTriggerNonce=%s", job_kind, job_name, nonce)
        return wait

    def _snapshot_controller_expected(self, namespace: str, name: str, existing: dict[str, Any] | None,
                                      wait: dict[str, Any]) -> bool:
        """Whether to take this savepoint with a FlinkStateSnapshot, by the namespace's note of whether a
        snapshot controller runs there (``method="auto"``).

        A recent "no controller" verdict sends the savepoint straight to ``savepointTriggerNonce``
        (deleting a status-less snapshot of this task an earlier try left); an old one is put to the
        test again, marking ``wait`` so the outcome updates the note.
        """
        from airflow_flink_operator.models.savepoints import SnapshotControllerVerdict

        verdict = SnapshotControllerVerdict.from_data(self.hook.snapshot_controller_note(namespace))  # type: ignore[attr-defined]
        if verdict is None or verdict.running:
            return True
        now = datetime.now(timezone.utc)
        if verdict.recheck_due(now, self.snapshot_controller_recheck):
            self.log.info("No snapshot controller was found here at %s; trying FlinkStateSnapshot again",  # type: ignore[attr-defined]
                          verdict.checked_at.isoformat())
            wait["recheck"] = True
            return True
        self.log.info("Using savepointTriggerNonce: the Flink operator reconciled no FlinkStateSnapshot in %s "  # type: ignore[attr-defined]
                      "when last tried (%s: %s); FlinkStateSnapshot is tried again after %s", namespace,
                      verdict.checked_at.isoformat(), verdict.evidence, verdict.checked_at + self.snapshot_controller_recheck)
        if existing is not None:
            # A status-less snapshot an earlier try of this task created: no controller, so no finalizer.
            self.hook.delete(KIND_STATE_SNAPSHOT, name, namespace, timeout=60, poll_interval=0.5)  # type: ignore[attr-defined]
        return False

    def _note_snapshot_controller(self, namespace: str, running: bool, evidence: str) -> None:
        from airflow_flink_operator.models.savepoints import SnapshotControllerVerdict

        verdict = SnapshotControllerVerdict(running=running, checked_at=datetime.now(timezone.utc), evidence=evidence)
        self.hook.note_snapshot_controller(verdict.to_data(), namespace)  # type: ignore[attr-defined]

    def wait_for_savepoint(self, context: Any, wait: dict[str, Any], method_name: str,
                           carried: dict[str, Any] | None = None) -> Any:
        """Wait (or defer) for the savepoint ``wait`` describes, then continue in ``method_name``."""
        return self.wait_or_defer(  # type: ignore[attr-defined]
            context, kind=wait["kind"], name=wait["name"], namespace=wait["namespace"], mode=wait["mode"],
            nonce=wait.get("nonce"), method_name=method_name, resume_state={**(carried or {}), "savepoint": wait},
            pickup_timeout=self.snapshot_pickup_timeout if wait["mode"] == "snapshot" else None)

    def savepoint_outcome(self, context: Any, event: dict[str, Any], method_name: str) -> tuple[str | None, Any]:
        """Read a savepoint wait's event: ``(path, None)``, or ``(None, continued)`` when the savepoint
        had to be taken another way and that wait already continued in ``method_name``.

        When the FlinkStateSnapshot got no status in time (the operator's snapshot controller is
        off while the CRD is installed), ``method="auto"`` falls back to ``savepointTriggerNonce``;
        ``method="snapshot"`` fails and says why.

        :raises FlinkTaskError: when the savepoint failed (with the snapshot's error, events, log).
        """
        carried = self.resume_state_of(event)
        wait = carried.get("savepoint") or {}
        result = event.get("result") or {}
        if event.get("status") == "error" and result.get("no_snapshot_controller"):
            self._note_snapshot_controller(wait["namespace"], False, f"{event.get('message')}")
            if wait.get("method") != "auto":
                self.fail(f"{event.get('message')}. With method='snapshot' there is no other way: enable "  # type: ignore[attr-defined]
                          "kubernetes.operator.snapshot.resource.enabled on the operator, or use method='auto'",
                          kind=wait["kind"], name=wait["name"], namespace=wait["namespace"])
            self.log.warning("%s; falling back to savepointTriggerNonce", event.get("message"))  # type: ignore[attr-defined]
            # No controller, so no finalizer: the snapshot we created goes at once, disposing nothing.
            self.hook.delete(KIND_STATE_SNAPSHOT, wait["name"], wait["namespace"], timeout=60,  # type: ignore[attr-defined]
                             poll_interval=0.5)
            fallback = self.start_savepoint(context, job_kind=wait["job_kind"], job_name=wait["job_name"],
                                            namespace=wait["namespace"], purpose=wait.get("purpose", "savepoint"),
                                            method="nonce")
            return None, self.wait_for_savepoint(context, fallback, method_name,
                                                 {k: v for k, v in carried.items() if k != "savepoint"})
        if wait.get("mode") == "nonce" and event.get("status") != "success" and "snapshots_before" in wait:
            continued = self._follow_nonce_snapshot(context, carried, wait, method_name)
            if continued is not None:
                return None, continued
        self.check_event(event, kind=wait.get("kind", ""), name=wait.get("name", ""),  # type: ignore[attr-defined]
                         namespace=wait.get("namespace", ""))
        path = result.get("savepoint_path")
        if not path:
            self.fail(f"the savepoint finished without a path: {event.get('message')}",  # type: ignore[attr-defined]
                      kind=wait["kind"], name=wait["name"], namespace=wait["namespace"])
        if wait.get("recheck"):
            self._note_snapshot_controller(wait["namespace"], True, f"snapshot {wait['name']} completed")
        return path, None

    def _follow_nonce_snapshot(self, context: Any, carried: dict[str, Any], wait: dict[str, Any],
                               method_name: str) -> Any:
        """A nonce savepoint that looks expired, but which the operator recorded as a FlinkStateSnapshot
        (its snapshot controller runs after all: a "no controller" note was a false negative): wait for
        that snapshot instead and note the controller as running. ``None`` when there is no such snapshot."""
        from airflow_flink_operator.models.savepoints import nonce_snapshot

        namespace = wait["namespace"]
        try:
            snapshots = self.hook.list_snapshots(wait["job_name"], namespace, wait["job_kind"],  # type: ignore[attr-defined]
                                                 "snapshot.trigger-type=MANUAL")
        except Exception as exc:
            self.log.warning("Cannot list the FlinkStateSnapshots of %s: %s", wait["job_name"], exc)  # type: ignore[attr-defined]
            return None
        name = nonce_snapshot(snapshots, wait["snapshots_before"])
        if name is None:
            return None
        self.log.info("The Flink operator recorded savepoint nonce %s as FlinkStateSnapshot %s (snapshot "  # type: ignore[attr-defined]
                      "resources are enabled); waiting for it", wait.get("nonce"), name)
        self._note_snapshot_controller(namespace, True, f"nonce {wait.get('nonce')} became snapshot {name}")
        follow = {k: v for k, v in wait.items() if k not in ("snapshots_before", "recheck")}
        # method "snapshot": this snapshot is the savepoint; no further fallback to a nonce.
        follow.update(mode="snapshot", kind=KIND_STATE_SNAPSHOT, name=name, method="snapshot")
        return self.wait_for_savepoint(context, follow, method_name, {k: v for k, v in carried.items() if k != "savepoint"})

    @staticmethod
    def _require_running(job: dict[str, Any], kind: str, name: str, namespace: str) -> None:
        from airflow_flink_operator.models.status import FlinkResourceStatus

        status = FlinkResourceStatus.from_object(job)
        if status.job_state != "RUNNING":
            raise FlinkTaskError(f"cannot take a savepoint of {kind} {namespace}/{name}: the job is not running "
                                 f"({status.describe()})")


class FlinkSavepointOperator(SavepointMixin, FlinkBaseOperator):
    """Take a savepoint of the running job and return its path.

    Uses a FlinkStateSnapshot where the cluster serves it (operator 1.10+), else
    ``savepointTriggerNonce``. A retried task reattaches to the savepoint its first try started;
    a re-run after the job was redeployed takes a new one of the job that runs now. If the
    FlinkStateSnapshot gets no status within ``snapshot_pickup_timeout`` (the operator's snapshot
    controller is off), ``method="auto"`` falls back to ``savepointTriggerNonce`` and notes that in the
    namespace (ConfigMap ``airflow-flink-snapshot-controller``): later savepoints there use the nonce at
    once, and try a FlinkStateSnapshot again once the note is ``snapshot_controller_recheck`` old.

    :param name: the FlinkDeployment or FlinkSessionJob. (templated)
    :param kind: ``FlinkDeployment`` (default) or ``FlinkSessionJob``.
    :param snapshot_name: the FlinkStateSnapshot name (default: derived from the task instance and
        the job incarnation). (templated)
    :param path: target directory (default: the job's ``state.savepoints.dir``). (templated)
    :param format_type: ``CANONICAL`` or ``NATIVE``.
    :param dispose_on_delete: whether deleting the FlinkStateSnapshot later disposes the savepoint
        data. ``None`` leaves the operator's default, which is **true** (``SavepointSpec``).
    :param backoff_limit: retries by the operator on failure (default 3; the operator's own default
        of -1 retries forever, which would hang the task until its timeout).
    :param method: ``auto``, ``snapshot`` or ``nonce``.
    :param snapshot_pickup_timeout: seconds the operator has to give the snapshot a status.
    :param snapshot_controller_recheck: how long a "no snapshot controller here" note is trusted
        (default 6 hours; a ``timedelta`` or seconds).
    :return: ``{savepoint_path, job, namespace, snapshot | nonce}``.
    """

    template_fields = (*FlinkBaseOperator.template_fields, "name", "snapshot_name", "path")

    def __init__(self, *, name: str, kind: str = KIND_DEPLOYMENT, snapshot_name: str | None = None,
                 path: str | None = None, format_type: str | None = None, dispose_on_delete: bool | None = None,
                 backoff_limit: int | None = 3, method: str = "auto",
                 snapshot_pickup_timeout: float = SNAPSHOT_PICKUP_TIMEOUT,
                 snapshot_controller_recheck: timedelta | float = SNAPSHOT_CONTROLLER_RECHECK, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if method not in SAVEPOINT_METHODS:
            raise ValueError(f"method must be one of {', '.join(SAVEPOINT_METHODS)}, not {method!r}")
        self.name, self.kind, self.snapshot_name, self.path = name, kind, snapshot_name, path
        self.format_type, self.dispose_on_delete, self.backoff_limit, self.method = (
            format_type, dispose_on_delete, backoff_limit, method)
        self.snapshot_pickup_timeout = snapshot_pickup_timeout
        self.snapshot_controller_recheck = (snapshot_controller_recheck if isinstance(snapshot_controller_recheck, timedelta)
                                            else timedelta(seconds=snapshot_controller_recheck))

    def execute(self, context: Any) -> dict[str, Any]:
        namespace = self.resolved_namespace()
        wait = self.start_savepoint(context, job_kind=self.kind, job_name=self.name, namespace=namespace,
                                    method=self.method, snapshot_name=self.snapshot_name, path=self.path,
                                    format_type=self.format_type, dispose_on_delete=self.dispose_on_delete,
                                    backoff_limit=self.backoff_limit)
        return self.wait_for_savepoint(context, wait, "savepoint_complete")

    def savepoint_complete(self, context: Any, event: dict[str, Any]) -> dict[str, Any]:
        """Return the savepoint's path, or raise with the snapshot's error."""
        path, continued = self.savepoint_outcome(context, event, "savepoint_complete")
        if path is None:
            return continued
        wait = (self.resume_state_of(event))["savepoint"]
        output: dict[str, Any] = {"savepoint_path": path, "job": self.name, "namespace": wait["namespace"]}
        if wait["mode"] == "snapshot":
            output["snapshot"] = wait["name"]
        if wait.get("nonce") is not None:
            output["nonce"] = wait["nonce"]
        from airflow_flink_operator.assets import record_savepoint

        # A savepoint a task asks for, by snapshot or nonce, is a MANUAL one to the Flink operator.
        record_savepoint(context, self.outlets, savepoint_path=path, job=self.name, namespace=wait["namespace"],
                         resource_kind=self.kind, trigger_type="MANUAL", snapshot=output.get("snapshot"),
                         nonce=output.get("nonce"))
        return output


class FlinkSavepointRetentionOperator(FlinkBaseOperator):
    """Prune old completed savepoints of a job, keeping the newest ones — and, by default, their data.

    Keeps the newest ``keep_last`` completed savepoint FlinkStateSnapshots (never fewer than
    one); of the rest, prunes those older than ``max_age`` (all of them if ``max_age`` is not set).

    What pruning deletes, in the Flink operator's terms (reference, section h):

    - ``dispose_data=True`` (default; pruning is what this operator is for): each pruned snapshot
      is deleted with ``disposeOnDelete: true``, so the operator disposes the savepoint data
      through the job's REST API. That needs the job running: when it is not, nothing is
      deleted for that snapshot and the result says why (a delete would hang on the finalizer).
    - ``dispose_data=False``: ``disposeOnDelete`` is set to false first, then the snapshot is
      deleted: the record goes, the data stays where it is.

    Deletions are waited for, at most ``deletion_timeout`` seconds in all; those not finished are
    reported with the operator's error. Without FlinkStateSnapshot (operator < 1.10) the
    operator's own ``kubernetes.operator.savepoint.history.*`` settings apply and nothing is done.

    :param name: the job (FlinkDeployment or FlinkSessionJob). (templated)
    :param kind: its kind.
    :param keep_last: how many of the newest completed savepoints to keep (at least 1).
    :param max_age: only prune savepoints older than this.
    :param dispose_data: delete the savepoint data too (default), or only the records.
    :param dry_run: report what would be pruned, delete nothing.
    :param deletion_timeout: seconds to wait for the deletions to finish.
    :return: ``{kept, deleted, not_deleted: {name: reason}, disposed_data, dry_run}`` (snapshot names).
    """

    template_fields = (*FlinkBaseOperator.template_fields, "name")

    def __init__(self, *, name: str, kind: str = KIND_DEPLOYMENT, keep_last: int = 5,
                 max_age: timedelta | float | None = None, dispose_data: bool = True, dry_run: bool = False,
                 deletion_timeout: float = 120.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if keep_last < 1:
            raise ValueError("keep_last must be at least 1: the newest savepoint is never deleted")
        self.name, self.kind, self.keep_last, self.dry_run = name, kind, keep_last, dry_run
        self.dispose_data, self.deletion_timeout = dispose_data, deletion_timeout
        self.max_age = max_age.total_seconds() if isinstance(max_age, timedelta) else max_age

    def execute(self, context: Any) -> dict[str, Any]:
        from datetime import datetime, timezone

        from airflow_flink_operator.models.savepoints import SnapshotStatus
        from airflow_flink_operator.models.status import FlinkResourceStatus

        namespace = self.resolved_namespace()
        result: dict[str, Any] = {"kept": [], "deleted": [], "not_deleted": {}, "disposed_data": self.dispose_data,
                                  "dry_run": self.dry_run}
        if not self.hook.snapshot_resources_served():
            self.log.info("No FlinkStateSnapshot resources here; the operator's savepoint history settings apply")
            return result
        oldest = datetime.min.replace(tzinfo=timezone.utc)
        completed = sorted((s for s in map(SnapshotStatus.from_object, self.hook.list_snapshots(self.name, namespace,
                                                                                                  self.kind))
                            if s.state == "COMPLETED" and s.is_savepoint),
                           key=lambda s: s.taken_at or oldest, reverse=True)
        keep, candidates = completed[: self.keep_last], completed[self.keep_last:]
        now = datetime.now(timezone.utc)
        doomed = [s for s in candidates if self.max_age is None
                  or (s.taken_at is not None and (now - s.taken_at).total_seconds() > self.max_age)]
        keep += [s for s in candidates if s not in doomed]
        result["kept"] = [s.name for s in keep]
        job = self.hook.get(self.kind, self.name, namespace)
        job_running = job is not None and FlinkResourceStatus.from_object(job).job_state == "RUNNING"
        started: list[str] = []
        for snapshot in doomed:
            verb = "dispose of" if self.dispose_data else "delete the record of (keeping the data)"
            if self.dispose_data and not job_running:
                result["not_deleted"][snapshot.name] = (
                    f"the job {self.kind} {namespace}/{self.name} is not running, so the operator cannot dispose of "
                    f"{snapshot.path}; nothing deleted (dispose_data=False removes only the record)")
                continue
            self.log.info("%s savepoint %s (%s)", f"Would {verb}" if self.dry_run else verb.capitalize(),
                          snapshot.name, snapshot.path)
            if self.dry_run:
                result["deleted"].append(snapshot.name)
                continue
            self.ensure_may_continue(context, f"delete FlinkStateSnapshot {snapshot.name}")
            if snapshot.dispose_on_delete != self.dispose_data:
                self.hook.patch_spec(KIND_STATE_SNAPSHOT, snapshot.name, {"savepoint": {"disposeOnDelete": self.dispose_data}},
                                     namespace)
            self.hook.delete(KIND_STATE_SNAPSHOT, snapshot.name, namespace, wait=False)
            started.append(snapshot.name)
        deadline = time.monotonic() + self.deletion_timeout
        pending = list(started)
        while pending:
            left = []
            for name in pending:
                obj = self.hook.get(KIND_STATE_SNAPSHOT, name, namespace)
                if obj is None:
                    result["deleted"].append(name)
                else:
                    left.append((name, obj))
            pending = [name for name, _ in left]
            if not pending:
                break
            if time.monotonic() >= deadline:
                for name, obj in left:
                    error = SnapshotStatus.from_object(obj).error
                    finalizers = ", ".join(obj["metadata"].get("finalizers") or []) or "none"
                    result["not_deleted"][name] = (f"still there after {self.deletion_timeout:.0f}s "
                                                   f"(finalizers: {finalizers}; operator error: {error or 'none'})")
                break
            time.sleep(min(self.poll_interval, 1.0))
        for name, reason in result["not_deleted"].items():
            self.log.warning("Savepoint %s not deleted: %s", name, reason)
        return result
