"""What the operators that change a live resource share: validated spec changes and the
bookkeeping that tells which savepoint a stop took."""

from __future__ import annotations

from typing import Any

from airflow_flink_operator.operators.base import FlinkTaskError


#: Annotation on a job resource: what its savepoint records looked like when a task began
#: stopping it (so a retried task can still tell the savepoint that stop took).
ANNOTATION_STOP_BASELINE = "airflow-flink-operator/stop-baseline"


class SpecChangeMixin:
    """Apply a spec change validated as a whole resource, so nothing invalid is half-applied."""

    def existing_resource(self, kind: str, name: str, namespace: str) -> dict[str, Any]:
        """The resource as it is now; :class:`FlinkTaskError` if it does not exist."""
        obj = self.hook.get(kind, name, namespace)  # type: ignore[attr-defined]
        if obj is None:
            raise FlinkTaskError(f"{kind} {namespace}/{name} does not exist")
        return obj

    def apply_patch(self, context: Any, current: dict[str, Any], patch: dict[str, Any],
                    annotations: dict[str, str] | None = None) -> dict[str, Any]:
        """Merge ``patch`` into the current spec, validate the result, apply it; return the stored object."""
        from airflow_flink_operator.manifests import merge_patch, to_model
        from airflow_flink_operator.naming import ti_labels

        manifest = {"apiVersion": current["apiVersion"], "kind": current["kind"],
                    "metadata": {"name": current["metadata"]["name"], "namespace": current["metadata"]["namespace"]},
                    "spec": merge_patch(current.get("spec") or {}, patch)}
        model = to_model(manifest)
        self.ensure_may_continue(context, f"change {current['kind']} {current['metadata']['name']}")  # type: ignore[attr-defined]
        return self.hook.apply(self.render_manifests(model), current["metadata"]["namespace"],  # type: ignore[attr-defined]
                               labels=ti_labels(context),
                               annotations=annotations)

    def snapshots_of(self, kind: str, name: str, namespace: str) -> list[dict[str, Any]]:
        """The job's FlinkStateSnapshots (none where the cluster does not serve them)."""
        hook = self.hook  # type: ignore[attr-defined]
        return hook.list_snapshots(name, namespace, kind) if hook.snapshot_resources_served() else []

    def stop_baseline(self, kind: str, name: str, namespace: str, current: dict[str, Any]) -> dict[str, Any]:
        """The savepoint records before a stop (see :func:`~airflow_flink_operator.models.status.savepoint_baseline`)."""
        from airflow_flink_operator.models.savepoints import savepoint_baseline

        return savepoint_baseline(current, self.snapshots_of(kind, name, namespace))

    def begin_stop(self, context: Any, current: dict[str, Any], job_patch: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """Apply a stopping ``job_patch`` (a suspend, with or without a savepoint), remembering the savepoint records
        from before it in an annotation so a retried task can still tell the savepoint this stop took.

        :return: the stored object and the baseline (for :meth:`savepoint_of_stop`).
        """
        import json

        kind, name, namespace = current["kind"], current["metadata"]["name"], current["metadata"]["namespace"]
        baseline = self.stop_baseline(kind, name, namespace, current)
        stored = self.apply_patch(context, current, {"job": job_patch},
                                  annotations={ANNOTATION_STOP_BASELINE: json.dumps(baseline, sort_keys=True)})
        return stored, baseline

    @staticmethod
    def recorded_stop_baseline(current: dict[str, Any]) -> dict[str, Any] | None:
        """The baseline :meth:`begin_stop` recorded on the resource, if a task began its stop."""
        import json

        text = (current["metadata"].get("annotations") or {}).get(ANNOTATION_STOP_BASELINE)
        return json.loads(text) if text else None

    def savepoint_of_stop(self, kind: str, name: str, namespace: str, baseline: dict[str, Any] | None) -> str | None:
        """The savepoint the operator took for the stop begun at ``baseline``; ``None`` if it took none.

        Without a baseline (the stop was not begun by this task), only a savepoint of the last job
        incarnation that the operator will restore from counts.
        """
        from airflow_flink_operator.models.savepoints import current_job_savepoint, stop_savepoint
        from airflow_flink_operator.models.status import FlinkResourceStatus

        job = self.hook.get(kind, name, namespace)  # type: ignore[attr-defined]
        snapshots = self.snapshots_of(kind, name, namespace)
        if baseline is not None:
            return stop_savepoint(job, snapshots, baseline)
        record = current_job_savepoint(job, snapshots)
        if record is None or job is None:
            return None
        # The operator restores from upgradeSavepointPath; it counts only when it is that completed savepoint.
        return record.path if record.path == FlinkResourceStatus.from_object(job).upgrade_savepoint_path else None
