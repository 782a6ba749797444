"""Change running jobs safely: upgrade, suspend, resume, tear down."""

from __future__ import annotations

import copy
from typing import Any

from airflow_flink_operator.constants import KIND_DEPLOYMENT
from airflow_flink_operator.operators.base import FlinkBaseOperator, FlinkTaskError
from airflow_flink_operator.operators.deployment import load_resource, with_job_updates
from airflow_flink_operator.operators.savepoint import SavepointMixin


class SpecChangeMixin:
    """Apply a spec change validated as a whole resource, so nothing invalid is half-applied."""

    def current(self, kind: str, name: str, namespace: str) -> dict[str, Any]:
        obj = self.hook.get(kind, name, namespace)  # type: ignore[attr-defined]
        if obj is None:
            raise FlinkTaskError(f"{kind} {namespace}/{name} does not exist")
        return obj

    def apply_patch(self, context: Any, current: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
        """Merge ``patch`` into the current spec, validate the result, apply it; return the stored object."""
        from airflow_flink_operator.manifests import merge_patch, to_model
        from airflow_flink_operator.naming import ti_labels

        manifest = {"apiVersion": current["apiVersion"], "kind": current["kind"],
                    "metadata": {"name": current["metadata"]["name"], "namespace": current["metadata"]["namespace"]},
                    "spec": merge_patch(current.get("spec") or {}, patch)}
        model = to_model(manifest)
        return self.hook.apply(model, current["metadata"]["namespace"], labels=ti_labels(context))  # type: ignore[attr-defined]


class FlinkUpgradeOperator(SavepointMixin, SpecChangeMixin, FlinkBaseOperator):
    """Change a running job's spec (image, jar, args, parallelism, config, resources...) safely.

    Optionally takes a savepoint first (a safety copy, returned); applies the change with the
    chosen upgrade mode (``savepoint`` makes the operator stop the job with a savepoint and restore
    the new one from it); waits until the new generation is reconciled and STABLE; fails if the
    operator rolls it back or rejects it.

    :param name: the resource to upgrade (default: the name in ``deployment``). (templated)
    :param kind: ``FlinkDeployment`` (default) or ``FlinkSessionJob``.
    :param spec_patch: a merge patch for the spec, e.g. ``{"job": {"parallelism": 4}}``. (templated)
    :param deployment: or the full desired resource (model, dict, YAML). (templated)
    :param upgrade_mode: ``savepoint``, ``last-state`` or ``stateless`` for this change.
    :param savepoint_first: take a savepoint before changing anything.
    :param wait_for: ``stable`` (default) or ``running``.
    :return: ``{..., savepoint_path (used by the upgrade), safety_savepoint_path (if taken first)}``.
    """

    template_fields = (*FlinkBaseOperator.template_fields, "name", "spec_patch", "deployment", "upgrade_mode")
    template_ext = (".yaml", ".yml", ".json")

    def __init__(self, *, name: str | None = None, kind: str = KIND_DEPLOYMENT, spec_patch: dict[str, Any] | None = None,
                 deployment: Any = None, upgrade_mode: str | None = None, savepoint_first: bool = False,
                 wait_for: str = "stable", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if (spec_patch is None) == (deployment is None):
            raise ValueError("give exactly one of spec_patch (a merge patch) or deployment (the full resource)")
        if name is None and deployment is None:
            raise ValueError("name is required with spec_patch")
        if wait_for not in ("stable", "running"):
            raise ValueError(f"wait_for must be 'stable' or 'running', not {wait_for!r}")
        self.name, self.kind, self.spec_patch, self.deployment = name, kind, spec_patch, deployment
        self.upgrade_mode, self.savepoint_first, self.wait_for = upgrade_mode, savepoint_first, wait_for

    def _target_name(self) -> str:
        return self.name or load_resource(self.deployment, self.kind).name

    def execute(self, context: Any) -> Any:
        name = self._target_name()
        namespace = self.resolved_namespace()
        self.current(self.kind, name, namespace)  # fail early if it does not exist
        if self.savepoint_first:
            wait = self.start_savepoint(context, job_kind=self.kind, job_name=name, namespace=namespace,
                                        purpose="pre-upgrade")
            return self.wait_or_defer(context, kind=wait["kind"], name=wait["name"], namespace=namespace,
                                      mode=wait["mode"], nonce=wait.get("nonce"), method_name="after_savepoint",
                                      extra=wait)
        return self._change(context, name, namespace, None)

    def after_savepoint(self, context: Any, event: dict[str, Any]) -> Any:
        """The safety savepoint is done: apply the change."""
        extra = event.get("echo") or {}
        result = self.check_event(event, kind=extra["kind"], name=extra["name"], namespace=extra["namespace"])
        return self._change(context, self._target_name(), extra["namespace"], result.get("savepoint_path"))

    def _change(self, context: Any, name: str, namespace: str, safety_path: str | None) -> Any:
        current = self.current(self.kind, name, namespace)
        if self.deployment is not None:
            from airflow_flink_operator.naming import ti_labels

            model = with_job_updates(load_resource(self.deployment, self.kind), upgrade_mode=self.upgrade_mode)
            stored = self.hook.apply(model, namespace, labels=ti_labels(context))
        else:
            patch = copy.deepcopy(self.spec_patch or {})
            if self.upgrade_mode:
                patch.setdefault("job", {})["upgradeMode"] = self.upgrade_mode
            stored = self.apply_patch(context, current, patch)
        before, after = current["metadata"].get("generation"), stored["metadata"].get("generation")
        if before == after:
            self.log.info("%s %s/%s: the spec is unchanged (generation %s)", self.kind, namespace, name, after)
        else:
            self.log.info("%s %s/%s: applied generation %s (was %s)", self.kind, namespace, name, after, before)
        extra = {"kind": self.kind, "name": name, "namespace": namespace,
                 "base": {"safety_savepoint_path": safety_path} if safety_path else {}}
        if not self.wait_for_completion:
            return {"kind": self.kind, "name": name, "namespace": namespace, "generation": after, **extra["base"]}
        return self.wait_or_defer(context, kind=self.kind, name=name, namespace=namespace, target=self.wait_for,
                                  extra=extra)


class FlinkSuspendOperator(SpecChangeMixin, FlinkBaseOperator):
    """Suspend a job (``job.state: suspended``), by default with a savepoint whose path is returned.

    :param name: the FlinkDeployment or FlinkSessionJob. (templated)
    :param kind: its kind.
    :param with_savepoint: stop with a savepoint (sets ``upgradeMode: savepoint``); else the
        job's own upgrade mode decides (``last-state`` keeps HA metadata, ``stateless`` cancels).
    :return: ``{..., savepoint_path}``.
    """

    template_fields = (*FlinkBaseOperator.template_fields, "name")

    def __init__(self, *, name: str, kind: str = KIND_DEPLOYMENT, with_savepoint: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.name, self.kind, self.with_savepoint = name, kind, with_savepoint

    def execute(self, context: Any) -> Any:
        from airflow_flink_operator.models.status import FlinkResourceStatus

        namespace = self.resolved_namespace()
        current = self.current(self.kind, self.name, namespace)
        status = FlinkResourceStatus.from_object(current)
        if not status.is_suspended:
            job_patch: dict[str, Any] = {"state": "suspended"}
            if self.with_savepoint:
                if status.job_state != "RUNNING":
                    raise FlinkTaskError(f"cannot suspend {self.kind} {namespace}/{self.name} with a savepoint: the job "
                                         f"is not running ({status.describe()}); use with_savepoint=False")
                job_patch["upgradeMode"] = "savepoint"
            self.apply_patch(context, current, {"job": job_patch})
        else:
            self.log.info("%s %s/%s is already suspended", self.kind, namespace, self.name)
        return self.wait_or_defer(context, kind=self.kind, name=self.name, namespace=namespace, target="suspended",
                                  method_name="suspended", extra={"kind": self.kind, "name": self.name,
                                                                  "namespace": namespace})

    def suspended(self, context: Any, event: dict[str, Any]) -> dict[str, Any]:
        """Check the suspension took a savepoint when asked to."""
        extra = event.get("echo") or {}
        result = self.check_event(event, kind=self.kind, name=self.name, namespace=extra["namespace"])
        if self.with_savepoint and not result.get("savepoint_path"):
            self.fail(f"{self.kind} {self.name} was suspended but no savepoint path was recorded",
                      kind=self.kind, name=self.name, namespace=extra["namespace"])
        return result


class FlinkResumeOperator(SpecChangeMixin, FlinkBaseOperator):
    """Resume a suspended job (``job.state: running``); it restores from its latest state per upgrade mode.

    :param name: the FlinkDeployment or FlinkSessionJob. (templated)
    :param kind: its kind.
    :param wait_for: ``running`` (default) or ``stable``.
    :return: ``{..., restored_from}`` (the suspend savepoint, if any).
    """

    template_fields = (*FlinkBaseOperator.template_fields, "name")

    def __init__(self, *, name: str, kind: str = KIND_DEPLOYMENT, wait_for: str = "running", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.name, self.kind, self.wait_for = name, kind, wait_for

    def execute(self, context: Any) -> Any:
        namespace = self.resolved_namespace()
        current = self.current(self.kind, self.name, namespace)
        job_status = (current.get("status") or {}).get("jobStatus") or {}
        restored_from = job_status.get("upgradeSavepointPath")
        if ((current.get("spec") or {}).get("job") or {}).get("state") != "running":
            self.apply_patch(context, current, {"job": {"state": "running"}})
        extra = {"kind": self.kind, "name": self.name, "namespace": namespace,
                 "base": {"restored_from": restored_from} if restored_from else {}}
        return self.wait_or_defer(context, kind=self.kind, name=self.name, namespace=namespace, target=self.wait_for,
                                  extra=extra)


class FlinkTeardownOperator(SavepointMixin, SpecChangeMixin, FlinkBaseOperator):
    """Delete a job for good, after a final savepoint; refuse to delete if that savepoint fails.

    :param name: the FlinkDeployment or FlinkSessionJob. (templated)
    :param kind: its kind.
    :param savepoint: ``snapshot`` (default: a savepoint, the job keeps running until deleted),
        ``suspend`` (stop with a savepoint, then delete), or ``none``.
    :param force: delete even if the final savepoint fails or cannot be taken.
    :return: ``{deleted, savepoint_path}``.
    """

    template_fields = (*FlinkBaseOperator.template_fields, "name")

    def __init__(self, *, name: str, kind: str = KIND_DEPLOYMENT, savepoint: str = "snapshot", force: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if savepoint not in ("snapshot", "suspend", "none"):
            raise ValueError(f"savepoint must be 'snapshot', 'suspend' or 'none', not {savepoint!r}")
        self.name, self.kind, self.savepoint, self.force = name, kind, savepoint, force

    def execute(self, context: Any) -> Any:
        from airflow_flink_operator.models.status import FlinkResourceStatus

        namespace = self.resolved_namespace()
        current = self.hook.get(self.kind, self.name, namespace)
        if current is None:
            self.log.info("%s %s/%s does not exist; nothing to tear down", self.kind, namespace, self.name)
            return {"deleted": False, "existed": False, "savepoint_path": None}
        status = FlinkResourceStatus.from_object(current)
        if self.savepoint == "none" or current.get("spec", {}).get("job") is None:
            return self._delete(context, namespace, None)
        if status.is_suspended and status.upgrade_savepoint_path:
            self.log.info("Already suspended with savepoint %s", status.upgrade_savepoint_path)
            return self._delete(context, namespace, status.upgrade_savepoint_path)
        if status.job_state != "RUNNING":
            message = (f"cannot take a final savepoint of {self.kind} {namespace}/{self.name}: the job is not running "
                       f"({status.describe()})")
            if not self.force:
                self.fail(f"{message}. Nothing was deleted; pass force=True to delete without a savepoint.",
                          kind=self.kind, name=self.name, namespace=namespace)
            self.log.warning("%s; deleting anyway (force=True)", message)
            return self._delete(context, namespace, None)
        extra = {"kind": self.kind, "name": self.name, "namespace": namespace}
        if self.savepoint == "suspend":
            self.apply_patch(context, current, {"job": {"state": "suspended", "upgradeMode": "savepoint"}})
            return self.wait_or_defer(context, kind=self.kind, name=self.name, namespace=namespace, target="suspended",
                                      method_name="after_final_savepoint", extra={**extra, "mode": "suspend"})
        wait = self.start_savepoint(context, job_kind=self.kind, job_name=self.name, namespace=namespace,
                                    purpose="final")
        return self.wait_or_defer(context, kind=wait["kind"], name=wait["name"], namespace=namespace, mode=wait["mode"],
                                  nonce=wait.get("nonce"), method_name="after_final_savepoint",
                                  extra={**extra, "mode": wait["mode"], "wait_kind": wait["kind"],
                                         "wait_name": wait["name"]})

    def after_final_savepoint(self, context: Any, event: dict[str, Any]) -> Any:
        """Delete only if the final savepoint succeeded (or ``force``)."""
        extra = event.get("echo") or {}
        namespace = extra["namespace"]
        if event.get("status") != "success":
            message = f"final savepoint failed: {event.get('message')}"
            if not self.force:
                self.fail(f"{message}. Nothing was deleted; pass force=True to delete without a savepoint.",
                          kind=self.kind, name=self.name, namespace=namespace)
            self.log.warning("%s; deleting anyway (force=True)", message)
            return self._delete(context, namespace, None)
        path = (event.get("result") or {}).get("savepoint_path")
        if not path:
            self.fail("the final savepoint finished without a path. Nothing was deleted.", kind=self.kind,
                      name=self.name, namespace=namespace)
        self.log.info("Final savepoint at %s", path)
        return self._delete(context, namespace, path)

    def _delete(self, context: Any, namespace: str, path: str | None) -> Any:
        self.hook.delete(self.kind, self.name, namespace, wait=False)
        return self.wait_or_defer(context, kind=self.kind, name=self.name, namespace=namespace, mode="deleted",
                                  method_name="deleted", extra={"kind": self.kind, "name": self.name,
                                                                "namespace": namespace, "savepoint_path": path})

    def deleted(self, context: Any, event: dict[str, Any]) -> dict[str, Any]:
        """The resource is gone."""
        extra = event.get("echo") or {}
        self.check_event(event, kind=self.kind, name=self.name, namespace=extra["namespace"])
        return {"deleted": True, "kind": self.kind, "name": self.name, "namespace": extra["namespace"],
                "savepoint_path": extra.get("savepoint_path")}
