"""Blue/green deployments (FlinkBlueGreenDeployment, operator 1.14+): deploy, upgrade with zero downtime, tear down.

The Flink Kubernetes Operator does the work: it runs the job in a child FlinkDeployment of one colour
and, on a template change, deploys the other colour from a savepoint of the active one, switches over
once the new child runs, and deletes the old one; if the new child does not become healthy within the
abort grace period, it aborts and the old colour keeps serving. These operators apply the change and
wait on the status model's blue/green predicate (:mod:`airflow_flink_operator.models.status_bluegreen`).
"""

from __future__ import annotations

import copy
from typing import Any

from airflow_flink_operator.constants import KIND_DEPLOYMENT
from airflow_flink_operator.models.bluegreen import KIND_BLUE_GREEN
from airflow_flink_operator.operators.base import FlinkBaseOperator, FlinkTaskError
from airflow_flink_operator.operators.savepoint import SavepointMixin

COLOURS = ("blue", "green")


def load_blue_green(source: Any, configuration: dict[str, Any] | None = None) -> Any:
    """A FlinkBlueGreenDeployment model from a model, a manifest dict, YAML text or file, or a FlinkDeployment.

    A FlinkDeployment (model, dict or YAML) is converted with ``FlinkBlueGreenDeployment.from_deployment``
    and ``configuration``.
    """
    from airflow_flink_operator.manifests import load_manifests, to_model
    from airflow_flink_operator.models import FlinkBlueGreenDeployment, FlinkDeployment

    model = source
    if isinstance(source, dict):
        model = to_model(source)
    elif isinstance(source, str):
        found = [doc for doc in load_manifests(source) if isinstance(doc, (FlinkBlueGreenDeployment, FlinkDeployment))]
        if len(found) != 1:
            raise FlinkTaskError(f"expected exactly one FlinkBlueGreenDeployment or FlinkDeployment in the YAML, "
                                 f"found {len(found)}")
        model = found[0]
    if isinstance(model, FlinkDeployment):
        return FlinkBlueGreenDeployment.from_deployment(model, **(configuration or {}))
    if not isinstance(model, FlinkBlueGreenDeployment):
        raise FlinkTaskError(f"expected a FlinkBlueGreenDeployment or a FlinkDeployment, got "
                             f"{getattr(model, 'kind', type(model).__name__)}")
    if configuration:
        merged = {**model.configuration.model_dump(exclude_none=True), **configuration}
        from airflow_flink_operator.models.bluegreen import BlueGreenConfiguration

        model = model.model_copy(update={"spec": model.spec.model_copy(
            update={"configuration": BlueGreenConfiguration(**merged)})})
    return model


class _BlueGreenOperator(FlinkBaseOperator):
    """Shared by the blue/green operators: failure diagnostics that cover the children."""

    def fail(self, message: str, *, kind: str, name: str, namespace: str) -> None:
        """Raise :class:`FlinkTaskError` with ``message``, the blue/green status and both children's diagnostics."""
        if kind != KIND_BLUE_GREEN:
            super().fail(message, kind=kind, name=name, namespace=namespace)
            return
        from airflow_flink_operator.models.bluegreen import child_name
        from airflow_flink_operator.models.status_bluegreen import bluegreen_summary

        parts = []
        try:
            obj = self.hook.get(KIND_BLUE_GREEN, name, namespace)
            if obj is None:
                parts.append(f"{KIND_BLUE_GREEN} {namespace}/{name} does not exist.")
            else:
                summary = bluegreen_summary(obj)
                parts.append(f"{KIND_BLUE_GREEN} {namespace}/{name}: state={summary['blue_green_state']}, "
                             f"job={summary['job_state']}, serving={summary['active_deployment']}")
            for colour in COLOURS:
                child = child_name(name, colour)
                if self.hook.get(KIND_DEPLOYMENT, child, namespace) is not None:
                    parts.append(self.hook.diagnostics(KIND_DEPLOYMENT, child, namespace))
        except Exception as exc:  # the cluster may be the problem; keep the original message
            parts.append(f"(diagnostics incomplete: {exc})")
        details = "\n".join(parts)
        self.log.error("%s\n%s", message, details)
        raise FlinkTaskError(f"{message}\n{details}")

    def _current(self, name: str, namespace: str) -> dict[str, Any]:
        obj = self.hook.get(KIND_BLUE_GREEN, name, namespace)
        if obj is None:
            raise FlinkTaskError(f"{KIND_BLUE_GREEN} {namespace}/{name} does not exist")
        return obj

    def _serving(self, context: Any, event: dict[str, Any]) -> dict[str, Any]:
        """The wait's result, checked against the child now serving (its job must run), with the savepoint it used."""
        from airflow_flink_operator.models.status import FlinkResourceStatus

        carried = self.resume_state_of(event)
        name, namespace = carried["name"], carried["namespace"]
        result = self.check_event(event, kind=KIND_BLUE_GREEN, name=name, namespace=namespace)
        child = self.hook.get(KIND_DEPLOYMENT, result["active_deployment"], namespace)
        status = FlinkResourceStatus.from_object(child) if child is not None else None
        if status is None or not status.is_running:
            self.fail(f"{KIND_BLUE_GREEN} {namespace}/{name} is {result['blue_green_state']}, but its child "
                      f"{result['active_deployment']} does not run the job "
                      f"({status.describe() if status else 'it does not exist'})",
                      kind=KIND_BLUE_GREEN, name=name, namespace=namespace)
        result.update(job_id=status.job_id,
                      savepoint_path=((child.get("spec") or {}).get("job") or {}).get("initialSavepointPath"),
                      **carried.get("base", {}))
        self.log.info("%s %s/%s: %s serves the job (%s)%s", KIND_BLUE_GREEN, namespace, name,
                      result["active_deployment"], result["blue_green_state"],
                      f", restored from {result['savepoint_path']}" if result["savepoint_path"] else "")
        return result


class FlinkBlueGreenDeployOperator(_BlueGreenOperator):
    """Create (or update) a FlinkBlueGreenDeployment and wait until a colour is active with its job running.

    A first deployment always starts blue (``INITIALIZING_BLUE`` → ``ACTIVE_BLUE``). Re-running the task
    with the same spec changes nothing; with a changed template it is an upgrade (see
    :class:`FlinkBlueGreenUpgradeOperator`, which also says which colour to expect).

    :param deployment: a :class:`~airflow_flink_operator.models.FlinkBlueGreenDeployment`, or a
        FlinkDeployment (converted), as a model, manifest dict, YAML text or file. (templated)
    :param configuration: blue/green settings, e.g. ``{"abort_grace_period": "5 min"}`` (see
        :class:`~airflow_flink_operator.models.BlueGreenConfiguration`).
    :param labels: extra labels on the resource. (templated)
    :param update_existing: apply the spec to an existing resource too (default). With ``False`` an
        existing resource is left as it is and only waited for: a scheduled DAG can ensure the job
        exists without undoing the upgrades its later tasks make.
    :return: ``{kind, name, namespace, blue_green_state, active_colour, active_deployment, job_state, job_id,
        savepoint_path}``.
    """

    template_fields = (*FlinkBaseOperator.template_fields, "deployment", "labels")
    template_ext = (".yaml", ".yml", ".json")
    template_fields_renderers = {"deployment": "yaml"}

    def __init__(self, *, deployment: Any, configuration: dict[str, Any] | None = None,
                 labels: dict[str, str] | None = None, update_existing: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.deployment = deployment
        self.configuration = configuration
        self.labels = labels or {}
        self.update_existing = update_existing

    def execute(self, context: Any) -> Any:
        from airflow_flink_operator.naming import ti_labels

        model = load_blue_green(self.deployment, self.configuration)
        namespace = self.resolved_namespace(model.to_dict())
        stored = None if self.update_existing else self.hook.get(KIND_BLUE_GREEN, model.name, namespace)
        if stored is not None:
            self.log.info("%s %s/%s exists (generation %s); left as it is (update_existing=False)", KIND_BLUE_GREEN,
                          namespace, model.name, stored["metadata"].get("generation"))
        else:
            stored = self.hook.apply(self.render_manifests(model), namespace, labels={**ti_labels(context), **self.labels})
        base = {"generation": stored["metadata"].get("generation")}
        if not self.wait_for_completion:
            return {"kind": KIND_BLUE_GREEN, "name": model.name, "namespace": namespace, **base}
        return self.wait_or_defer(context, kind=KIND_BLUE_GREEN, name=model.name, namespace=namespace,
                                  mode="bluegreen", target="active", method_name="deployed",
                                  resume_state={"name": model.name, "namespace": namespace, "base": base})

    def deployed(self, context: Any, event: dict[str, Any]) -> dict[str, Any]:
        """A colour is active: check its child runs the job and return what serves."""
        return self._serving(context, event)


class FlinkBlueGreenUpgradeOperator(_BlueGreenOperator):
    """Change the template of a FlinkBlueGreenDeployment and wait until the other colour serves it.

    The operator takes a savepoint of the active child (unless the upgrade mode is ``stateless``),
    deploys the other colour from it, switches over once the new job runs and is stable, then deletes
    the old child. A change the Flink operator applies in place (only fields its diff ignores, such as
    ``upgradeMode``) keeps the colour. Fails, with the operator's error, when the transition is aborted
    (the new child did not become healthy within the abort grace period): the old colour then still serves.

    :param name: the FlinkBlueGreenDeployment (default: the name in ``deployment``). (templated)
    :param template_patch: a merge patch for the template's FlinkDeployment spec, e.g.
        ``{"image": "registry/orders:2.0", "job": {"args": ["--v2"]}}``. (templated)
    :param deployment: or the whole desired resource (blue/green or a FlinkDeployment, as for the deploy
        operator). (templated)
    :param configuration: blue/green settings to set with this change (e.g. a shorter ``abort_grace_period``).
    :return: ``{active_colour, active_deployment, previous_colour, previous_deployment, savepoint_path,
        blue_green_state, job_id, ...}``; ``savepoint_path`` is the savepoint the new child started from.
    """

    template_fields = (*FlinkBaseOperator.template_fields, "name", "template_patch", "deployment")
    template_ext = (".yaml", ".yml", ".json")

    def __init__(self, *, name: str | None = None, template_patch: dict[str, Any] | None = None,
                 deployment: Any = None, configuration: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if (template_patch is None) == (deployment is None):
            raise ValueError("give exactly one of template_patch (a merge patch) or deployment (the full resource)")
        if name is None and deployment is None:
            raise ValueError("name is required with template_patch")
        self.name, self.template_patch, self.deployment = name, template_patch, deployment
        self.configuration = configuration

    def execute(self, context: Any) -> Any:
        from airflow_flink_operator.manifests import merge_patch, to_model
        from airflow_flink_operator.models.bluegreen import diff_type
        from airflow_flink_operator.models.status_bluegreen import BlueGreenState, bluegreen_summary, other_colour
        from airflow_flink_operator.naming import ti_labels

        if self.deployment is not None:
            model = load_blue_green(self.deployment, self.configuration)
            name = self.name or model.name
        else:
            name = self.name
        namespace = self.resolved_namespace()
        current = self._current(name, namespace)
        summary = bluegreen_summary(current)
        state = summary["blue_green_state"]
        if state not in (BlueGreenState.ACTIVE_BLUE.value, BlueGreenState.ACTIVE_GREEN.value):
            raise FlinkTaskError(f"{KIND_BLUE_GREEN} {namespace}/{name} is {state}: a deployment or transition is in "
                                 "progress; upgrade once it is ACTIVE_BLUE or ACTIVE_GREEN")
        if self.deployment is None:
            manifest = {"apiVersion": current["apiVersion"], "kind": KIND_BLUE_GREEN,
                        "metadata": {"name": name, "namespace": namespace},
                        "spec": copy.deepcopy(current.get("spec") or {})}
            template = manifest["spec"].setdefault("template", {})
            template["spec"] = merge_patch(template.get("spec") or {}, self.template_patch)
            model = load_blue_green(to_model(manifest), self.configuration)
        stored = self.hook.apply(self.render_manifests(model), namespace, labels=ti_labels(context))
        colour = summary["active_colour"]
        change = diff_type(current.get("spec") or {}, stored.get("spec") or {})
        expected = other_colour(colour) if change in ("TRANSITION", "SAVEPOINT_REDEPLOY") else colour
        base = {"previous_colour": colour, "previous_deployment": summary["active_deployment"], "change": change,
                "generation": stored["metadata"].get("generation")}
        if change == "IGNORE":
            self.log.info("%s %s/%s: the template is unchanged; %s keeps serving", KIND_BLUE_GREEN, namespace, name,
                          summary["active_deployment"])
        else:
            self.log.info("%s %s/%s: applied generation %s (%s); waiting for ACTIVE_%s", KIND_BLUE_GREEN, namespace,
                          name, base["generation"], change, expected.upper())
        if not self.wait_for_completion:
            return {"kind": KIND_BLUE_GREEN, "name": name, "namespace": namespace, **base}
        return self.wait_or_defer(context, kind=KIND_BLUE_GREEN, name=name, namespace=namespace, mode="bluegreen",
                                  target=f"active_{expected}", method_name="upgraded",
                                  resume_state={"name": name, "namespace": namespace, "base": base})

    def upgraded(self, context: Any, event: dict[str, Any]) -> dict[str, Any]:
        """The expected colour is active: check its child runs the job and return what serves."""
        return self._serving(context, event)


class FlinkBlueGreenTeardownOperator(SavepointMixin, _BlueGreenOperator):
    """Delete a FlinkBlueGreenDeployment for good, after a final savepoint of the active child.

    As :class:`~airflow_flink_operator.operators.FlinkTeardownOperator`: the savepoint is taken first
    (a FlinkStateSnapshot with ``disposeOnDelete: false``, or ``savepointTriggerNonce`` on operators
    without snapshot resources), and nothing is deleted if it fails. Then the resource is deleted and
    both children with it (explicitly too, for clusters without a garbage collector).

    :param name: the FlinkBlueGreenDeployment. (templated)
    :param savepoint: ``snapshot`` (default) or ``none``.
    :param force: delete even if the final savepoint fails or cannot be taken.
    :return: ``{deleted, name, namespace, active_colour, active_deployment, savepoint_path}``.
    """

    template_fields = (*FlinkBaseOperator.template_fields, "name")

    def __init__(self, *, name: str, savepoint: str = "snapshot", force: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if savepoint not in ("snapshot", "none"):
            raise ValueError(f"savepoint must be 'snapshot' or 'none', not {savepoint!r}")
        self.name, self.savepoint, self.force = name, savepoint, force

    def execute(self, context: Any) -> Any:
        from airflow_flink_operator.models.status import FlinkResourceStatus
        from airflow_flink_operator.models.status_bluegreen import BlueGreenState, bluegreen_summary

        namespace = self.resolved_namespace()
        current = self.hook.get(KIND_BLUE_GREEN, self.name, namespace)
        if current is None:
            self.log.info("%s %s/%s does not exist; nothing to tear down", KIND_BLUE_GREEN, namespace, self.name)
            return {"deleted": False, "existed": False, "savepoint_path": None}
        summary = bluegreen_summary(current)
        carried = {"name": self.name, "namespace": namespace, "active_colour": summary["active_colour"],
                 "active_deployment": summary["active_deployment"]}
        if self.savepoint == "none":
            return self._delete(context, carried, None)
        child = self.hook.get(KIND_DEPLOYMENT, summary["active_deployment"], namespace) \
            if summary["active_deployment"] else None
        running = child is not None and FlinkResourceStatus.from_object(child).job_state == "RUNNING"
        if summary["blue_green_state"] not in (BlueGreenState.ACTIVE_BLUE.value, BlueGreenState.ACTIVE_GREEN.value) \
                or not running:
            message = (f"cannot take a final savepoint of {KIND_BLUE_GREEN} {namespace}/{self.name}: "
                       f"state {summary['blue_green_state']}, active child {summary['active_deployment']} "
                       f"{'running' if running else 'not running'}")
            if not self.force:
                self.fail(f"{message}. Nothing was deleted; pass force=True to delete without a savepoint.",
                          kind=KIND_BLUE_GREEN, name=self.name, namespace=namespace)
            self.log.warning("%s; deleting anyway (force=True)", message)
            return self._delete(context, carried, None)
        wait = self.start_savepoint(context, job_kind=KIND_DEPLOYMENT, job_name=summary["active_deployment"],
                                    namespace=namespace, purpose="final", dispose_on_delete=False)
        return self.wait_or_defer(context, kind=wait["kind"], name=wait["name"], namespace=namespace, mode=wait["mode"],
                                  nonce=wait.get("nonce"), method_name="after_final_savepoint", resume_state=carried)

    def after_final_savepoint(self, context: Any, event: dict[str, Any]) -> Any:
        """Delete only if the final savepoint succeeded (or ``force``)."""
        carried = self.resume_state_of(event)
        namespace = carried["namespace"]
        path = (event.get("result") or {}).get("savepoint_path") if event.get("status") == "success" else None
        if not path:
            message = f"final savepoint of {carried['active_deployment']} failed: {event.get('message')}"
            if not self.force:
                self.fail(f"{message}. Nothing was deleted; pass force=True to delete without a savepoint.",
                          kind=KIND_BLUE_GREEN, name=self.name, namespace=namespace)
            self.log.warning("%s; deleting anyway (force=True)", message)
        else:
            self.log.info("Final savepoint of %s at %s", carried["active_deployment"], path)
        return self._delete(context, carried, path)

    def _delete(self, context: Any, carried: dict[str, Any], path: str | None) -> Any:
        self.hook.delete(KIND_BLUE_GREEN, self.name, carried["namespace"], wait=False)
        return self.wait_or_defer(context, kind=KIND_BLUE_GREEN, name=self.name, namespace=carried["namespace"],
                                  mode="deleted", method_name="parent_deleted", resume_state={**carried, "savepoint_path": path})

    def parent_deleted(self, context: Any, event: dict[str, Any]) -> Any:
        """The resource is gone: delete the children (a no-op where the garbage collector did) and wait for them."""
        from airflow_flink_operator.models.bluegreen import child_name

        carried = self.resume_state_of(event)
        self.check_event(event, kind=KIND_BLUE_GREEN, name=self.name, namespace=carried["namespace"])
        remaining = [child_name(self.name, c) for c in COLOURS
                     if self.hook.delete(KIND_DEPLOYMENT, child_name(self.name, c), carried["namespace"], wait=False)]
        return self._wait_children(context, {**carried, "remaining": remaining})

    def _wait_children(self, context: Any, carried: dict[str, Any]) -> Any:
        if not carried["remaining"]:
            return {"deleted": True, "kind": KIND_BLUE_GREEN, "name": self.name, "namespace": carried["namespace"],
                    "active_colour": carried["active_colour"], "active_deployment": carried["active_deployment"],
                    "savepoint_path": carried.get("savepoint_path")}
        child, *rest = carried["remaining"]
        return self.wait_or_defer(context, kind=KIND_DEPLOYMENT, name=child, namespace=carried["namespace"],
                                  mode="deleted", method_name="child_deleted", resume_state={**carried, "remaining": rest,
                                                                                      "waiting_for": child})

    def child_deleted(self, context: Any, event: dict[str, Any]) -> Any:
        """One child is gone; wait for the next."""
        carried = self.resume_state_of(event)
        self.check_event(event, kind=KIND_DEPLOYMENT, name=carried["waiting_for"], namespace=carried["namespace"])
        return self._wait_children(context, carried)
