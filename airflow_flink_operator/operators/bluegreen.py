"""Blue/green deployments (FlinkBlueGreenDeployment, operator 1.14+): deploy, upgrade with zero downtime, tear down.

The Flink Kubernetes Operator does the work: it runs the job in a child FlinkDeployment of one colour
and, on a template change, deploys the other colour from a savepoint of the active one, switches over
once the new child runs, and deletes the old one; if the new child does not become healthy within the
abort grace period, it aborts and the old colour keeps serving. These operators apply the change and
wait on the status model's blue/green predicate (:mod:`airflow_flink_operator.models.status_bluegreen`).
"""

from __future__ import annotations

import copy
import time
from typing import Any

from airflow_flink_operator.assets import redact_uri
from airflow_flink_operator.constants import KIND_DEPLOYMENT
from airflow_flink_operator.models.bluegreen import KIND_BLUE_GREEN
from airflow_flink_operator.operators.base import FlinkBaseOperator, FlinkTaskError

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
    """Shared by the blue/green operators: waits that end on the serving child, diagnostics that cover both."""

    def fail(self, message: str, *, kind: str, name: str, namespace: str) -> None:
        """Raise :class:`FlinkTaskError` with ``message``, the blue/green status, and for each child whether it
        runs the job, judged from the child itself, with its diagnostics."""
        if kind != KIND_BLUE_GREEN:
            super().fail(message, kind=kind, name=name, namespace=namespace)
            return
        from airflow_flink_operator.models.bluegreen import child_name
        from airflow_flink_operator.models.status_bluegreen import bluegreen_summary, child_verdict

        parts = []
        try:
            obj = self.hook.get(KIND_BLUE_GREEN, name, namespace)
            if obj is None:
                parts.append(f"{KIND_BLUE_GREEN} {namespace}/{name} does not exist.")
            else:
                summary = bluegreen_summary(obj)
                parts.append(f"{KIND_BLUE_GREEN} {namespace}/{name}: state={summary['blue_green_state']}, "
                             f"job={summary['job_state']}, active child={summary['active_deployment']}")
            children = {c: self.hook.get(KIND_DEPLOYMENT, child_name(name, c), namespace) for c in COLOURS}
            parts.append("Serving now, judged from the children: " + "; ".join(
                child_verdict(child, child_name(name, c)) for c, child in children.items() if child is not None)
                if any(children.values()) else "Serving now: no child exists.")
            parts.extend(self.hook.diagnostics(KIND_DEPLOYMENT, child_name(name, c), namespace)
                         for c, child in children.items() if child is not None)
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

    def _wait_parent(self, context: Any, *, name: str, namespace: str, target: str, stale: str | None,
                     carried: dict[str, Any]) -> Any:
        carried = {"name": name, "namespace": namespace, "deadline": time.time() + self.timeout, **carried}
        return self.wait_or_defer(context, kind=KIND_BLUE_GREEN, name=name, namespace=namespace, mode="bluegreen",
                                  target=target, stale_error=stale, method_name="parent_settled",
                                  resume_state=carried)

    def parent_settled(self, context: Any, event: dict[str, Any]) -> Any:
        """The parent reached its target: now wait for the active child itself to run, STABLE, (or be suspended) on
        its latest spec. The operator may finalize on a child status written before the child took a patch, and it
        starts the next transition only from a STABLE child (``isFlinkDeploymentReady``)."""
        from airflow_flink_operator.models.waiting import LATEST_GENERATION

        carried = self.resume_state_of(event)
        name, namespace = carried["name"], carried["namespace"]
        result = self.check_event(event, kind=KIND_BLUE_GREEN, name=name, namespace=namespace)
        if result.get("last_transition_error"):
            self.log.warning("%s %s/%s: the last blue/green change failed: %s", KIND_BLUE_GREEN, namespace, name,
                             result["last_transition_error"])
        if not result.get("active_deployment"):
            return {**carried.get("base", {}), **result}
        suspended = result.get("job_state") == "SUSPENDED"
        return self.wait_or_defer(context, kind=KIND_DEPLOYMENT, name=result["active_deployment"], namespace=namespace,
                                  target="suspended" if suspended else "stable", generation=LATEST_GENERATION,
                                  method_name="child_settled", resume_state={**carried, "parent": result},
                                  timeout=max(carried.get("deadline", time.time() + self.timeout) - time.time(), 1.0))

    def child_settled(self, context: Any, event: dict[str, Any]) -> dict[str, Any]:
        """The active child runs (or is suspended) on its latest spec: report what serves and what it started from."""
        from airflow_flink_operator.models.status import FlinkResourceStatus
        from airflow_flink_operator.models.status_bluegreen import child_started_from

        carried = self.resume_state_of(event)
        result, namespace = dict(carried["parent"]), carried["namespace"]
        child_name_ = result["active_deployment"]
        if event.get("status") != "success":
            self.fail(f"{KIND_BLUE_GREEN} {namespace}/{carried['name']} is {result['blue_green_state']}, but its child "
                      f"{child_name_} does not run the job: {event.get('message')}",
                      kind=KIND_BLUE_GREEN, name=carried["name"], namespace=namespace)
        child = self.hook.get(KIND_DEPLOYMENT, child_name_, namespace)
        started_from = child_started_from(child)
        expected = carried.get("savepoint_from")  # a path the task asked for (redeploy), or "taken" / None
        if expected not in (None, "taken") and started_from != expected:
            self.fail(f"{child_name_} did not start from the savepoint {redact_uri(expected)} (it started from "
                      f"{redact_uri(started_from) or 'no savepoint'})", kind=KIND_BLUE_GREEN, name=carried["name"],
                      namespace=namespace)
        # Only a savepoint this transition took (the operator put it into the new child) or the one asked for.
        took = expected == "taken" and started_from and started_from != carried.get("template_savepoint")
        result.update(job_id=FlinkResourceStatus.from_object(child).job_id if child else None,
                      savepoint_path=started_from if (took or expected not in (None, "taken")) else None,
                      **carried.get("base", {}))
        if carried.get("ingress"):
            # IngressUtils.reconcileBlueGreenIngress: the Ingress named after the parent routes to the active REST service.
            result["ingress"] = {"name": carried["name"], "service": f"{child_name_}-rest"}
        self.log.info("%s %s/%s: %s serves the job (%s)%s", KIND_BLUE_GREEN, namespace, carried["name"], child_name_,
                      result["blue_green_state"],
                      f", started from {redact_uri(result['savepoint_path'])}" if result["savepoint_path"] else "")
        return result


class FlinkBlueGreenDeployOperator(_BlueGreenOperator):
    """Create (or update) a FlinkBlueGreenDeployment and wait until a colour is active with its job running.

    A first deployment always starts blue (``INITIALIZING_BLUE`` → ``ACTIVE_BLUE``); one whose template says
    ``job.state: suspended`` is held by the operator and nothing is deployed (the task returns at once).
    Re-running the task with the same spec changes nothing; with a changed template it is an upgrade (see
    :class:`FlinkBlueGreenUpgradeOperator`, which also says which colour to expect).

    :param deployment: a :class:`~airflow_flink_operator.models.FlinkBlueGreenDeployment`, or a
        FlinkDeployment (converted), as a model, manifest dict, YAML text or file. (templated)
    :param configuration: blue/green settings, e.g. ``{"abort_grace_period": "5 min"}`` (see
        :class:`~airflow_flink_operator.models.BlueGreenConfiguration`).
    :param labels: extra labels on the resource. (templated)
    :param update_existing: apply the spec to an existing resource too (default). With ``False`` an
        existing resource is left as it is and the task only checks a colour serves, judged from its child,
        also after an aborted transition (logged as a warning): a scheduled DAG can ensure the job exists
        without undoing the upgrades its later tasks make.
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
        from airflow_flink_operator.models.status_bluegreen import failure_marker
        from airflow_flink_operator.naming import ti_labels

        model = load_blue_green(self.deployment, self.configuration)
        namespace = self.resolved_namespace(model.to_dict())
        existing = self.hook.get(KIND_BLUE_GREEN, model.name, namespace)
        suspended = ((model.spec.template.spec.job.state if model.spec.template.spec.job else None) or "") == "suspended"
        if existing is not None and not self.update_existing:
            self.log.info("%s %s/%s exists (generation %s); left as it is (update_existing=False)", KIND_BLUE_GREEN,
                          namespace, model.name, existing["metadata"].get("generation"))
            stored, target = existing, "serving"
        else:
            manifests = self.render_manifests(model)
            stored = self.hook.apply(manifests, namespace, labels={**ti_labels(context), **self.labels})
            target = "suspended" if suspended else "active"
        base = {"generation": stored["metadata"].get("generation")}
        if not self.wait_for_completion:
            return {"kind": KIND_BLUE_GREEN, "name": model.name, "namespace": namespace, **base}
        return self._wait_parent(context, name=model.name, namespace=namespace, target=target,
                                 stale=failure_marker(existing),
                                 carried={"base": base, "ingress": bool(model.spec.ingress), "savepoint_from":
                                          _initial_savepoint(stored.get("spec")) if existing is None else None})

    def deployed(self, context: Any, event: dict[str, Any]) -> Any:
        """Deferred tasks stored by an earlier version continue here."""
        return self.parent_settled(context, event)


def _ready(child: dict[str, Any] | None) -> bool:
    """``BlueGreenKubernetesService.isFlinkDeploymentReady``: lifecycle STABLE and the job RUNNING."""
    from airflow_flink_operator.models.status import FlinkResourceStatus

    status = FlinkResourceStatus.from_object(child) if child is not None else None
    return status is not None and status.lifecycle_state == "STABLE" and status.job_state == "RUNNING"


def _way_out(serving: str) -> str:
    """Advice after a failed change while the serving child is not ready: the operator then acts only on SUSPEND or
    RESUME (``BlueGreenDeploymentService.checkAndInitiateDeployment``); the suspend operator suspends what it runs."""
    return (f"Get {serving} running again (see its status and events), or run FlinkBlueGreenSuspendOperator (it "
            f"suspends the build {serving} runs, never the failed one), then roll out a fixed template while "
            "suspended and resume (FlinkBlueGreenResumeOperator).")


def _initial_savepoint(spec: dict[str, Any] | None) -> str | None:
    return ((((spec or {}).get("template") or {}).get("spec") or {}).get("job") or {}).get("initialSavepointPath")


class FlinkBlueGreenUpgradeOperator(_BlueGreenOperator):
    """Change the template of a FlinkBlueGreenDeployment and wait until the operator has applied it.

    The change is classified as the operator will (:mod:`airflow_flink_operator.models.bluegreen_diff`, against
    ``status.lastReconciledSpec``). A ``TRANSITION`` savepoints the active child (unless ``stateless``), deploys
    the other colour from it, switches over once the new job runs and is stable, and deletes the old child;
    a ``SAVEPOINT_REDEPLOY`` deploys the other colour from ``initialSavepointPath``; changes the operator
    applies in place (``PATCH_CHILD``, suspend, resume, any change while suspended) keep the colour;
    ``configuration``/``ingress``/``template.metadata`` alone need nothing from the operator. The task fails
    with the operator's error when the transition is aborted.

    After a failed transition the operator keeps the failed spec as its last-reconciled one; an in-place change
    would copy that whole template, failed build included, into the serving child. Such a change is refused
    (nothing is sent), saying what failed and how to move on: roll out a fixed template, retry the failed one as
    a new transition (``restart=True``), or put back the spec the serving child runs; while that child is not
    ready the operator acts only on suspend/resume, so the way out is :class:`FlinkBlueGreenSuspendOperator`.

    :param name: the FlinkBlueGreenDeployment (default: the name in ``deployment``). (templated)
    :param template_patch: a merge patch for the template's FlinkDeployment spec, e.g.
        ``{"image": "registry/orders:2.0", "job": {"args": ["--v2"]}}``. (templated)
    :param deployment: or the whole desired resource (blue/green or a FlinkDeployment, as for the deploy
        operator). (templated)
    :param configuration: blue/green settings to set with this change (e.g. a shorter ``abort_grace_period``).
    :param restart: also bump ``restartNonce``: the operator's way to retry a spec whose transition failed
        (it acts only on a changed template).
    :param redeploy_from_savepoint: deploy the other colour from this savepoint (``initialSavepointPath`` with a
        new ``savepointRedeployNonce``: ``SAVEPOINT_REDEPLOY``); the task checks the new child started from it. (templated)
    :return: ``{active_colour, active_deployment, previous_colour, previous_deployment, change, savepoint_path,
        blue_green_state, job_state, job_id, ...}``; ``savepoint_path`` is a savepoint this change made the new
        child start from (one the transition took, or ``redeploy_from_savepoint``), else ``None``.
    """

    template_fields = (*FlinkBaseOperator.template_fields, "name", "template_patch", "deployment",
                       "redeploy_from_savepoint")
    template_ext = (".yaml", ".yml", ".json")

    def __init__(self, *, name: str | None = None, template_patch: dict[str, Any] | None = None,
                 deployment: Any = None, configuration: dict[str, Any] | None = None, restart: bool = False,
                 redeploy_from_savepoint: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if template_patch is not None and deployment is not None:
            raise ValueError("give one of template_patch (a merge patch) or deployment (the full resource), not both")
        if template_patch is None and deployment is None and not (restart or redeploy_from_savepoint):
            raise ValueError("give template_patch, deployment, restart=True or redeploy_from_savepoint")
        if name is None and deployment is None:
            raise ValueError("name is required without deployment")
        self.name, self.template_patch, self.deployment = name, template_patch, deployment
        self.configuration, self.restart, self.redeploy_from_savepoint = configuration, restart, redeploy_from_savepoint

    def _desired(self, current: dict[str, Any], name: str, namespace: str) -> Any:
        from airflow_flink_operator.manifests import merge_patch, to_model

        if self.deployment is not None:
            model = load_blue_green(self.deployment, self.configuration)
            if not (self.template_patch or self.restart or self.redeploy_from_savepoint):
                return model
            manifest = self.render_manifests(model)[-1]  # typed settings merged into flinkConfiguration
        else:
            manifest = {"apiVersion": current["apiVersion"], "kind": KIND_BLUE_GREEN,
                        "metadata": {"name": name, "namespace": namespace},
                        "spec": copy.deepcopy(current.get("spec") or {})}
        template = manifest["spec"].setdefault("template", {})
        spec = merge_patch(template.get("spec") or {}, self.template_patch or {})
        was = ((current.get("spec") or {}).get("template") or {}).get("spec") or {}
        if self.restart:
            spec["restartNonce"] = int(was.get("restartNonce") or 0) + 1
        if self.redeploy_from_savepoint:
            nonce = int((was.get("job") or {}).get("savepointRedeployNonce") or 0) + 1
            spec["job"] = {**(spec.get("job") or {}), "initialSavepointPath": self.redeploy_from_savepoint,
                           "savepointRedeployNonce": nonce}
        template["spec"] = spec
        return load_blue_green(to_model(manifest), self.configuration)

    def execute(self, context: Any) -> Any:
        from airflow_flink_operator.models.bluegreen_diff import IN_PLACE_CHANGES, diff_type
        from airflow_flink_operator.models.status_bluegreen import (
            BlueGreenState,
            bluegreen_summary,
            failure_marker,
            last_reconciled_spec,
            last_transition_error,
            other_colour,
        )
        from airflow_flink_operator.naming import ti_labels

        name = self.name or load_blue_green(self.deployment, self.configuration).name
        namespace = self.resolved_namespace()
        current = self._current(name, namespace)
        summary = bluegreen_summary(current)
        state, failed = summary["blue_green_state"], last_transition_error(current)
        first_failed = state == BlueGreenState.INITIALIZING_BLUE.value and failed is not None
        if state not in (BlueGreenState.ACTIVE_BLUE.value, BlueGreenState.ACTIVE_GREEN.value) and not first_failed:
            raise FlinkTaskError(f"{KIND_BLUE_GREEN} {namespace}/{name} is {state}: a deployment or transition is in "
                                 "progress; upgrade once it is ACTIVE_BLUE or ACTIVE_GREEN")
        model = self._desired(current, name, namespace)
        manifests = self.render_manifests(model)  # validated before anything is sent
        new_spec = manifests[-1]["spec"]
        change = diff_type(last_reconciled_spec(current), new_spec)
        colour = summary["active_colour"] or "blue"
        child = self.hook.get(KIND_DEPLOYMENT, summary["active_deployment"], namespace) \
            if summary["active_deployment"] else None
        child_suspended = str((((child or {}).get("spec") or {}).get("job") or {}).get("state")).lower() == "suspended"
        in_place = not first_failed and (change in IN_PLACE_CHANGES or (child_suspended and change != "IGNORE"))
        where = f"{KIND_BLUE_GREEN} {namespace}/{name}"
        if in_place and failed:
            self._refuse_in_place(where, change, failed, current, child, colour, new_spec)
        if failed and change not in ("IGNORE", "SUSPEND", "RESUME") and not child_suspended and not first_failed \
                and not _ready(child):
            # checkAndInitiateDeployment: with the active child not ready and the job already FAILING, the operator
            # does nothing with a change (no status write, spec not reconciled): a wait would only time out.
            raise FlinkTaskError(
                f"{where}: refused: the last change failed ({failed}) and the active child "
                f"{summary['active_deployment']} is not ready, so the operator would not act on this change "
                f"({change}). Nothing was sent. {_way_out(summary['active_deployment'])}")
        if change == "IGNORE" and failed:
            raise FlinkTaskError(
                f"{where}: the template is the one whose last change failed ({failed}); the operator acts only on a "
                f"changed template, so nothing would happen. Nothing was sent. "
                + (_way_out(summary["active_deployment"]) if not (_ready(child) or child_suspended) else
                   "To retry it, run the upgrade with restart=True (a new restartNonce); or roll out a fixed template."))
        stored = self.hook.apply(manifests, namespace, labels=ti_labels(context))
        expected = colour
        if change in ("TRANSITION", "SAVEPOINT_REDEPLOY") and not in_place and not first_failed:
            expected = other_colour(colour)
        desired_state = str((((new_spec.get("template") or {}).get("spec") or {}).get("job") or {}).get("state")
                            or "running").lower()
        kind = "suspended" if desired_state == "suspended" or (child_suspended and change != "RESUME") else "active"
        base = {"previous_colour": summary["active_colour"], "previous_deployment": summary["active_deployment"],
                "change": change, "generation": stored["metadata"].get("generation")}
        self.log.info("%s: applied generation %s (%s); waiting for %s_%s", where, base["generation"], change,
                      kind.upper(), expected.upper())
        if not self.wait_for_completion:
            return {"kind": KIND_BLUE_GREEN, "name": name, "namespace": namespace, **base}
        savepoint_from = None
        if change == "SAVEPOINT_REDEPLOY" and not in_place:
            savepoint_from = _initial_savepoint(new_spec)
        elif change == "TRANSITION" and not in_place and not first_failed:
            savepoint_from = "taken"
        return self._wait_parent(context, name=name, namespace=namespace, target=f"{kind}_{expected}",
                                 stale=failure_marker(current),
                                 carried={"base": base, "savepoint_from": savepoint_from,
                                          "template_savepoint": _initial_savepoint(new_spec),
                                          "ingress": bool(new_spec.get("ingress"))})

    @staticmethod
    def _refuse_in_place(where: str, change: str, failed: str, current: dict[str, Any], child: dict[str, Any] | None,
                         colour: str, new_spec: dict[str, Any]) -> None:
        """Refuse an in-place change that would copy the failed template into the serving child."""
        from airflow_flink_operator.models.bluegreen import child_name
        from airflow_flink_operator.models.bluegreen_diff import changed_fields, runs_another_build, template_of_child
        from airflow_flink_operator.models.status_bluegreen import last_reconciled_spec

        if child is None:
            return
        runs = template_of_child(child.get("spec"), colour)
        if not runs_another_build(runs, new_spec):
            return  # the template is what the child runs: the patch changes only what the operator patches in place
        serving = child_name(current["metadata"]["name"], colour)
        failed_fields = ", ".join(changed_fields(runs, last_reconciled_spec(current)) or ["?"])
        raise FlinkTaskError(
            f"{where}: refused: the last blue/green change failed ({failed}). The operator keeps that failed spec as "
            f"its last-reconciled one, and this change ({change}) would be applied in place to the serving child "
            f"{serving}, copying the whole template into it: {serving} would then run the failed spec (it differs "
            f"from what {serving} runs in: {failed_fields}). Nothing was sent. " + (
                f"To move on: roll out a fixed template (a transition, e.g. template_patch={{'image': '<fixed "
                f"build>'}}); retry the failed spec as a new transition (restart=True); or put back the spec {serving} "
                f"runs (deployment=...)." if _ready(child) else _way_out(serving)))

    def upgraded(self, context: Any, event: dict[str, Any]) -> dict[str, Any]:
        """Deferred tasks stored by an earlier version continue here."""
        return self.parent_settled(context, event)


#: Operators that live in modules of their own (size), importable from here too, lazily: an eager import here
#: would be a circle (they subclass this module's operators).
_ELSEWHERE = {"FlinkBlueGreenTeardownOperator": "bluegreen_teardown",
              "FlinkBlueGreenSuspendOperator": "bluegreen_lifecycle", "FlinkBlueGreenResumeOperator": "bluegreen_lifecycle"}


def __getattr__(name: str) -> Any:
    """:data:`_ELSEWHERE`'s operators, imported on first use."""
    if name in _ELSEWHERE:
        import importlib

        return getattr(importlib.import_module(f"airflow_flink_operator.operators.{_ELSEWHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
