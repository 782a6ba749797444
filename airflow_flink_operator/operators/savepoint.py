"""Savepoints: trigger one (FlinkStateSnapshot where served, ``savepointTriggerNonce`` otherwise),
wait for it, return its path; and prune old ones."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow_flink_operator.constants import KIND_DEPLOYMENT, KIND_STATE_SNAPSHOT
from airflow_flink_operator.operators.base import FlinkBaseOperator, FlinkTaskError

SAVEPOINT_METHODS = ("auto", "snapshot", "nonce")


class SavepointMixin:
    """Start a savepoint of a running job in a way a retried task reattaches to.

    The snapshot name (or nonce) derives from the task instance, so a retry of the same task finds
    the savepoint its first try started instead of triggering another. A retry after a savepoint
    that FAILED for good starts a new one.
    """

    def start_savepoint(self, context: Any, *, job_kind: str, job_name: str, namespace: str, purpose: str = "savepoint",
                        method: str = "auto", snapshot_name: str | None = None, path: str | None = None,
                        format_type: str | None = None, dispose_on_delete: bool | None = None,
                        backoff_limit: int | None = 3) -> dict[str, Any]:
        """Trigger (or find) the savepoint; return how to wait for it: ``{mode, kind, name, nonce}``."""
        from airflow_flink_operator.models import FlinkStateSnapshot
        from airflow_flink_operator.models.status import Phase, SnapshotStatus, nonce_savepoint_phase
        from airflow_flink_operator.naming import run_scoped_name, run_scoped_nonce

        hook = self.hook  # type: ignore[attr-defined]
        log = self.log  # type: ignore[attr-defined]
        job = hook.get(job_kind, job_name, namespace)
        if job is None:
            raise FlinkTaskError(f"cannot take a savepoint: {job_kind} {namespace}/{job_name} does not exist")
        use_snapshot = method == "snapshot" or (method == "auto" and hook.snapshot_resources_served())
        if method == "snapshot" and not hook.snapshot_resources_served():
            raise FlinkTaskError("method='snapshot' but the cluster does not serve FlinkStateSnapshot (operator < 1.10); "
                                 "use method='auto' or 'nonce'")
        if use_snapshot:
            name = snapshot_name or run_scoped_name(job_name, context, purpose)
            existing = hook.get(KIND_STATE_SNAPSHOT, name, namespace)
            if existing is not None:
                phase, message = SnapshotStatus.from_object(existing).phase()
                if phase is Phase.FAILED:
                    log.info("Previous attempt %s; deleting it and triggering a new savepoint", message)
                    hook.delete(KIND_STATE_SNAPSHOT, name, namespace, timeout=60, poll_interval=0.5)
                else:
                    log.info("Reattaching to savepoint %s/%s (%s)", namespace, name, message)
                    return {"mode": "snapshot", "kind": KIND_STATE_SNAPSHOT, "name": name, "namespace": namespace}
            self._require_running(job, job_kind, job_name, namespace)
            spec: dict[str, Any] = {"jobReference": {"kind": job_kind, "name": job_name},
                                    "savepoint": {k: v for k, v in (("path", path), ("formatType", format_type),
                                                                    ("disposeOnDelete", dispose_on_delete)) if v is not None}}
            if backoff_limit is not None:
                spec["backoffLimit"] = backoff_limit
            snapshot = FlinkStateSnapshot.model_validate(
                {"apiVersion": "flink.apache.org/v1beta1", "kind": KIND_STATE_SNAPSHOT,
                 "metadata": {"name": name, "namespace": namespace}, "spec": spec})
            hook.create_snapshot(snapshot, namespace)
            log.info("Triggered savepoint %s/%s of %s %s", namespace, name, job_kind, job_name)
            return {"mode": "snapshot", "kind": KIND_STATE_SNAPSHOT, "name": name, "namespace": namespace}
        # Legacy: savepointTriggerNonce on the job itself.
        if path or format_type or dispose_on_delete is not None:
            log.warning("path/format_type/dispose_on_delete need FlinkStateSnapshot; the job's savepoint settings apply")
        nonce = run_scoped_nonce(context, purpose)
        phase, message, _ = nonce_savepoint_phase(job, nonce)
        current = ((job.get("spec") or {}).get("job") or {}).get("savepointTriggerNonce")
        if current == nonce and phase is Phase.FAILED:
            try_number = getattr(context["ti"], "try_number", 1)
            nonce = run_scoped_nonce(context, f"{purpose}-try-{try_number}")
        elif current == nonce:
            log.info("Reattaching to savepoint nonce %s of %s (%s)", nonce, job_name, message)
            return {"mode": "nonce", "kind": job_kind, "name": job_name, "namespace": namespace, "nonce": nonce}
        self._require_running(job, job_kind, job_name, namespace)
        hook.trigger_savepoint_nonce(job_kind, job_name, namespace, nonce=nonce)
        log.info("Triggered savepoint of %s %s with savepointTriggerNonce=%s", job_kind, job_name, nonce)
        return {"mode": "nonce", "kind": job_kind, "name": job_name, "namespace": namespace, "nonce": nonce}

    @staticmethod
    def _require_running(job: dict[str, Any], kind: str, name: str, namespace: str) -> None:
        from airflow_flink_operator.models.status import FlinkResourceStatus

        status = FlinkResourceStatus.from_object(job)
        if status.job_state != "RUNNING":
            raise FlinkTaskError(f"cannot take a savepoint of {kind} {namespace}/{name}: the job is not running "
                                 f"({status.describe()})")


class FlinkSavepointOperator(SavepointMixin, FlinkBaseOperator):
    """Take a savepoint of a running job and return its path.

    Uses a FlinkStateSnapshot where the cluster serves it (operator 1.10+), else
    ``savepointTriggerNonce``. A retried task reattaches to the savepoint its first try started.

    :param name: the FlinkDeployment or FlinkSessionJob. (templated)
    :param kind: ``FlinkDeployment`` (default) or ``FlinkSessionJob``.
    :param snapshot_name: the FlinkStateSnapshot name (default: derived from the task instance). (templated)
    :param path: target directory (default: the job's ``state.savepoints.dir``). (templated)
    :param format_type: ``CANONICAL`` or ``NATIVE``.
    :param dispose_on_delete: delete the savepoint data when its FlinkStateSnapshot is deleted.
    :param backoff_limit: retries by the operator on failure (default 3; the operator's own default
        of -1 retries forever, which would hang the task until its timeout).
    :param method: ``auto``, ``snapshot`` or ``nonce``.
    :return: ``{savepoint_path, job, namespace, snapshot | nonce}``.
    """

    template_fields = (*FlinkBaseOperator.template_fields, "name", "snapshot_name", "path")

    def __init__(self, *, name: str, kind: str = KIND_DEPLOYMENT, snapshot_name: str | None = None,
                 path: str | None = None, format_type: str | None = None, dispose_on_delete: bool | None = None,
                 backoff_limit: int | None = 3, method: str = "auto", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if method not in SAVEPOINT_METHODS:
            raise ValueError(f"method must be one of {', '.join(SAVEPOINT_METHODS)}, not {method!r}")
        self.name, self.kind, self.snapshot_name, self.path = name, kind, snapshot_name, path
        self.format_type, self.dispose_on_delete, self.backoff_limit, self.method = (
            format_type, dispose_on_delete, backoff_limit, method)

    def execute(self, context: Any) -> dict[str, Any]:
        namespace = self.resolved_namespace()
        wait = self.start_savepoint(context, job_kind=self.kind, job_name=self.name, namespace=namespace,
                                    method=self.method, snapshot_name=self.snapshot_name, path=self.path,
                                    format_type=self.format_type, dispose_on_delete=self.dispose_on_delete,
                                    backoff_limit=self.backoff_limit)
        return self.wait_or_defer(context, kind=wait["kind"], name=wait["name"], namespace=namespace, mode=wait["mode"],
                                  nonce=wait.get("nonce"), method_name="savepoint_complete", extra=wait)

    def savepoint_complete(self, context: Any, event: dict[str, Any]) -> dict[str, Any]:
        """Return the savepoint's path, or raise with the snapshot's error."""
        extra = event.get("echo") or {}
        result = self.check_event(event, kind=extra["kind"], name=extra["name"], namespace=extra["namespace"])
        output = {"savepoint_path": result.get("savepoint_path"), "job": self.name, "namespace": extra["namespace"]}
        if extra["mode"] == "snapshot":
            output["snapshot"] = extra["name"]
        else:
            output["nonce"] = extra.get("nonce")
        if not output["savepoint_path"]:
            raise FlinkTaskError(f"savepoint of {self.name} completed without a path: {event.get('message')}")
        return output


class FlinkSavepointRetentionOperator(FlinkBaseOperator):
    """Delete old completed savepoint FlinkStateSnapshots of a job, keeping the newest ones.

    Keeps the newest ``keep_last`` (never fewer than one); of the rest, deletes those older than
    ``max_age`` (all of them if ``max_age`` is not set). Deleting a snapshot disposes its data only
    if it was created with ``dispose_on_delete``. Without FlinkStateSnapshot (operator < 1.10) the
    operator's own ``kubernetes.operator.savepoint.history.*`` settings apply and nothing is done here.

    :param name: the job (FlinkDeployment or FlinkSessionJob). (templated)
    :param kind: its kind.
    :param keep_last: how many of the newest completed savepoints to keep (at least 1).
    :param max_age: only delete savepoints older than this.
    :param dry_run: report what would be deleted, delete nothing.
    :return: ``{kept: [...], deleted: [...]}`` (snapshot names).
    """

    template_fields = (*FlinkBaseOperator.template_fields, "name")

    def __init__(self, *, name: str, kind: str = KIND_DEPLOYMENT, keep_last: int = 5,
                 max_age: timedelta | float | None = None, dry_run: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if keep_last < 1:
            raise ValueError("keep_last must be at least 1: the newest savepoint is never deleted")
        self.name, self.kind, self.keep_last, self.dry_run = name, kind, keep_last, dry_run
        self.max_age = max_age.total_seconds() if isinstance(max_age, timedelta) else max_age

    def execute(self, context: Any) -> dict[str, list[str]]:
        import time

        namespace = self.resolved_namespace()
        if not self.hook.snapshot_resources_served():
            self.log.info("No FlinkStateSnapshot resources here; the operator's savepoint history settings apply")
            return {"kept": [], "deleted": []}
        completed = [s for s in self.hook.list_snapshots(self.name, namespace, self.kind)
                     if (s.get("status") or {}).get("state") == "COMPLETED" and "savepoint" in (s.get("spec") or {})]
        completed.sort(key=lambda s: int(s["status"].get("resultTimestamp") or 0), reverse=True)
        keep, candidates = completed[: self.keep_last], completed[self.keep_last:]
        now_ms = time.time() * 1000
        doomed = [s for s in candidates
                  if self.max_age is None or now_ms - int(s["status"].get("resultTimestamp") or 0) > self.max_age * 1000]
        keep += [s for s in candidates if s not in doomed]
        for snapshot in doomed:
            name = snapshot["metadata"]["name"]
            self.log.info("%s savepoint %s (%s)", "Would delete" if self.dry_run else "Deleting", name,
                          snapshot["status"].get("path"))
            if not self.dry_run:
                self.hook.delete(KIND_STATE_SNAPSHOT, name, namespace, wait=False)
        return {"kept": [s["metadata"]["name"] for s in keep], "deleted": [s["metadata"]["name"] for s in doomed]}
