"""Change running jobs safely: upgrade, suspend, resume (tearing down is in :mod:`.teardown`)."""

from __future__ import annotations

import copy
from typing import Any

from airflow_flink_operator.constants import KIND_DEPLOYMENT
from airflow_flink_operator.operators.base import FlinkBaseOperator, FlinkTaskError
from airflow_flink_operator.operators.deployment import with_job_updates
from airflow_flink_operator.operators.savepoint import SavepointMixin
from airflow_flink_operator.operators.spec_change import SpecChangeMixin


class FlinkUpgradeOperator(SavepointMixin, SpecChangeMixin, FlinkBaseOperator):
    """Change a running job's spec (image, jar, args, parallelism, config, resources...) safely.

    Optionally takes a savepoint first (a safety copy, returned); applies the change with the
    chosen upgrade mode (``savepoint`` makes the operator stop the job with a savepoint and restore
    the new one from it); waits until the new generation is reconciled and STABLE; fails if the
    operator rolls it back or rejects it. Failure fields left from an older generation (a fix of a
    failed job) mean "waiting" until the operator has picked up the new one.

    :param name: the resource to upgrade (default: the name in ``deployment``). (templated)
    :param kind: ``FlinkDeployment`` (default) or ``FlinkSessionJob``.
    :param spec_patch: a merge patch for the spec, e.g. ``{"job": {"parallelism": 4}}``. (templated)
    :param deployment: or the full desired resource (model, dict, YAML). (templated)
    :param upgrade_mode: ``savepoint``, ``last-state`` or ``stateless`` for this change.
    :param savepoint_first: take a savepoint before changing anything.
    :param wait_for: ``stable`` (default) or ``running``.
    :return: ``{..., generation, savepoint_path (the one the operator took to stop the old job, only
        when it took one), safety_savepoint_path (if taken first), started_without_state (True after a
        stateless change: the new job starts without the old one's state)}``.
    """

    #: With ``deployment=`` it applies the whole spec: ``openlineage_flink_config`` takes effect there.
    accepts_openlineage_flink_config = True

    template_fields = (*FlinkBaseOperator.template_fields, "name", "spec_patch", "deployment", "upgrade_mode")
    template_ext = (".yaml", ".yml", ".json")
    template_fields_renderers = {"deployment": "yaml", "spec_patch": "json"}

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
        if self.openlineage_flink_config and deployment is None:
            raise ValueError("openlineage_flink_config needs deployment= (the whole resource): a spec_patch keeps "
                             "the openlineage.* keys the deploy task set")
        self.name, self.kind, self.spec_patch, self.deployment = name, kind, spec_patch, deployment
        self.upgrade_mode, self.savepoint_first, self.wait_for = upgrade_mode, savepoint_first, wait_for

    def _target_name(self) -> str:
        from airflow_flink_operator.manifests import load_resource

        return self.name or load_resource(self.deployment, self.kind).name

    def execute(self, context: Any) -> Any:
        name = self._target_name()
        namespace = self.resolved_namespace()
        self.existing_resource(self.kind, name, namespace)  # fail early if it does not exist
        if self.savepoint_first:
            wait = self.start_savepoint(context, job_kind=self.kind, job_name=name, namespace=namespace,
                                        purpose="pre-upgrade")
            return self.wait_for_savepoint(context, wait, "after_savepoint")
        return self._change(context, name, namespace, None)

    def after_savepoint(self, context: Any, event: dict[str, Any]) -> Any:
        """The safety savepoint is done: apply the change."""
        path, continued = self.savepoint_outcome(context, event, "after_savepoint")
        if path is None:
            return continued
        return self._change(context, self._target_name(), (self.resume_state_of(event))["savepoint"]["namespace"], path)

    def _change(self, context: Any, name: str, namespace: str, safety_path: str | None) -> Any:
        from airflow_flink_operator.models.status import stale_error_of

        current = self.existing_resource(self.kind, name, namespace)
        baseline = self.stop_baseline(self.kind, name, namespace, current)
        if self.deployment is not None:
            from airflow_flink_operator.manifests import load_resource
            from airflow_flink_operator.naming import ti_labels

            model = with_job_updates(load_resource(self.deployment, self.kind), upgrade_mode=self.upgrade_mode)
            model = self.openlineage_prepare(model, context, namespace)  # keep the opt-in openlineage.* keys
            self.ensure_may_continue(context, f"change {self.kind} {name}")
            stored = self.hook.apply(self.render_manifests(model), namespace, labels=ti_labels(context))
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
        base: dict[str, Any] = {"generation": after}
        if safety_path:
            base["safety_savepoint_path"] = safety_path
        carried = {"kind": self.kind, "name": name, "namespace": namespace, "base": base,
                 "baseline": baseline if before != after else None}
        if before != after and ((stored.get("spec") or {}).get("job") or {}).get("upgradeMode") == "stateless":
            carried["stateless"] = True  # the new job starts without the old one's state: the result says so
        if not self.wait_for_completion:
            return {"kind": self.kind, "name": name, "namespace": namespace, **base}
        return self.wait_or_defer(context, kind=self.kind, name=name, namespace=namespace, target=self.wait_for,
                                  generation=after, stale_error=stale_error_of(stored),
                                  method_name="upgraded", resume_state=carried)

    def upgraded(self, context: Any, event: dict[str, Any]) -> dict[str, Any]:
        """The new generation runs: report it, and the savepoint the operator took to stop the old job."""
        carried = self.resume_state_of(event)
        result = self.check_event(event, kind=self.kind, name=carried["name"], namespace=carried["namespace"])
        output = {**carried.get("base", {}), **result}
        if carried.get("baseline") is not None:
            path = self.savepoint_of_stop(self.kind, carried["name"], carried["namespace"], carried["baseline"])
            if path:
                output["savepoint_path"] = path
        if carried.get("stateless") and not output.get("savepoint_path"):
            output["started_without_state"] = True
            self.log.warning("%s %s/%s: upgraded in stateless mode: the new job started without the old job's state",
                             self.kind, carried["namespace"], carried["name"])
        from airflow_flink_operator.assets import record_upgrade

        record_upgrade(context, self.outlets, job=carried["name"], namespace=carried["namespace"],
                       resource_kind=self.kind, generation=output.get("generation"),
                       restored_from=output.get("savepoint_path"), safety_savepoint_path=output.get("safety_savepoint_path"), job_id=output.get("job_id"))
        return output


class FlinkSuspendOperator(SpecChangeMixin, FlinkBaseOperator):
    """Suspend a job (``job.state: suspended``), by default with a savepoint whose path is returned.

    The path returned is the savepoint the operator recorded for this stop (an UPGRADE snapshot or
    ``lastSavepoint`` that appeared during it), never ``upgradeSavepointPath`` read on its own: that
    field can hold ``KUBERNETES_OPERATOR_LAST_STATE`` or an older savepoint (reference, section h).

    :param name: the FlinkDeployment or FlinkSessionJob. (templated)
    :param kind: its kind.
    :param with_savepoint: stop with a savepoint (sets ``upgradeMode: savepoint``); else the
        job's own upgrade mode decides (``last-state`` keeps HA metadata, ``stateless`` cancels)
        and no savepoint path is returned.
    :return: ``{..., savepoint_path}`` (``None`` without a savepoint).
    """

    template_fields = (*FlinkBaseOperator.template_fields, "name")

    def __init__(self, *, name: str, kind: str = KIND_DEPLOYMENT, with_savepoint: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.name, self.kind, self.with_savepoint = name, kind, with_savepoint

    def execute(self, context: Any) -> Any:
        from airflow_flink_operator.models.status import FlinkResourceStatus, stale_error_of

        namespace = self.resolved_namespace()
        current = self.existing_resource(self.kind, self.name, namespace)
        status = FlinkResourceStatus.from_object(current)
        generation = status.generation
        stale_error = stale_error_of(current)
        desired = ((current.get("spec") or {}).get("job") or {}).get("state")
        if desired != "suspended":
            job_patch: dict[str, Any] = {"state": "suspended"}
            if self.with_savepoint:
                if status.job_state != "RUNNING":
                    raise FlinkTaskError(f"cannot suspend {self.kind} {namespace}/{self.name} with a savepoint: the job "
                                         f"is not running ({status.describe()}); use with_savepoint=False")
                job_patch["upgradeMode"] = "savepoint"
            stored, baseline = self.begin_stop(context, current, job_patch)
            generation = stored["metadata"].get("generation")
            stale_error = stale_error_of(stored)
        else:
            self.log.info("%s %s/%s is already being suspended or suspended", self.kind, namespace, self.name)
            baseline = self.recorded_stop_baseline(current)
        return self.wait_or_defer(context, kind=self.kind, name=self.name, namespace=namespace, target="suspended",
                                  generation=generation, stale_error=stale_error, method_name="suspended",
                                  resume_state={"kind": self.kind, "name": self.name, "namespace": namespace,
                                         "baseline": baseline})

    def suspended(self, context: Any, event: dict[str, Any]) -> dict[str, Any]:
        """Report the savepoint this stop took; fail if one was asked for and none was recorded."""
        carried = self.resume_state_of(event)
        namespace = carried["namespace"]
        result = self.check_event(event, kind=self.kind, name=self.name, namespace=namespace)
        path = self.savepoint_of_stop(self.kind, self.name, namespace, carried.get("baseline"))
        if self.with_savepoint and not path:
            self.fail(f"{self.kind} {self.name} was suspended but the operator recorded no savepoint for this stop "
                      "(it may have fallen back to last-state)", kind=self.kind, name=self.name, namespace=namespace)
        if path:
            from airflow_flink_operator.assets import record_savepoint

            # The operator stops a job with a savepoint it records as an UPGRADE one (reference, section d).
            record_savepoint(context, self.outlets, savepoint_path=path, job=self.name, namespace=namespace,
                             resource_kind=self.kind, trigger_type="UPGRADE", snapshot=None)
        return {**result, "savepoint_path": path}


class FlinkResumeOperator(SpecChangeMixin, FlinkBaseOperator):
    """Resume a suspended job (``job.state: running``); it restores from its latest state per upgrade mode.

    :param name: the FlinkDeployment or FlinkSessionJob. (templated)
    :param kind: its kind.
    :param wait_for: ``running`` (default) or ``stable``.
    :return: ``{..., restored_from}``: the savepoint the job was suspended with, when the operator
        restores from it (absent after a last-state or stateless suspend).
    """

    template_fields = (*FlinkBaseOperator.template_fields, "name")

    def __init__(self, *, name: str, kind: str = KIND_DEPLOYMENT, wait_for: str = "running", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.name, self.kind, self.wait_for = name, kind, wait_for

    def execute(self, context: Any) -> Any:
        from airflow_flink_operator.models.status import stale_error_of

        namespace = self.resolved_namespace()
        current = self.existing_resource(self.kind, self.name, namespace)
        restored_from = None
        stored = current
        if ((current.get("spec") or {}).get("job") or {}).get("state") != "running":
            restored_from = self.savepoint_of_stop(self.kind, self.name, namespace, None)
            stored = self.apply_patch(context, current, {"job": {"state": "running"}})
        carried = {"kind": self.kind, "name": self.name, "namespace": namespace,
                 "base": {"restored_from": restored_from} if restored_from else {}}
        return self.wait_or_defer(context, kind=self.kind, name=self.name, namespace=namespace, target=self.wait_for,
                                  generation=stored["metadata"].get("generation"),
                                  stale_error=stale_error_of(stored), resume_state=carried)
