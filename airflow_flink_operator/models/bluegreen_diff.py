"""How the operator classifies a change of a FlinkBlueGreenDeployment spec: the Java ``SpecDiff`` rules.

Followed from the operator's source (apache/flink-kubernetes-operator, main at 6e9caeb):

- ``FlinkBlueGreenDeploymentSpecDiff.compare``: only ``template.spec`` counts (``configuration``,
  ``ingress`` and ``template.metadata`` never do); a ``job.state`` change to ``suspended`` is ``SUSPEND``,
  ``suspended`` → ``running`` is ``RESUME``; then the nested FlinkDeployment specs go through
  ``ReflectiveDiffBuilder`` (always in ``NATIVE`` mode, ``BlueGreenUtils.getSpecDiff``): its
  ``SAVEPOINT_REDEPLOY`` wins, equal specs are ``IGNORE``, a builder result of ``IGNORE`` is
  ``PATCH_CHILD``, anything else (``SCALE``, ``UPGRADE``) is ``TRANSITION``;
- ``ReflectiveDiffBuilder.appendFields``: ``@SpecDiff`` on ``JobSpec`` (``IGNORE`` for
  ``savepointTriggerNonce``, ``initialSavepointPath``, ``checkpointTriggerNonce``, ``upgradeMode``,
  ``allowNonRestoredState``, ``autoscalerResetNonce``; ``SAVEPOINT_REDEPLOY`` with ``onNullIgnore`` for
  ``savepointRedeployNonce``; ``parallelism`` is ``SCALE`` only in STANDALONE) and on
  ``AbstractFlinkSpec`` (``restartNonce`` with ``onNullIgnore``; ``flinkConfiguration`` keys by prefix:
  ``job.autoscaler``, ``parallelism.default``, ``kubernetes.operator`` ``IGNORE``,
  ``pipeline.jobvertex-parallelism-overrides`` ``SCALE`` in NATIVE); every other field is ``UPGRADE``;
  ``onNullIgnore``: a field removed (new value ``null``) is no difference at all;
- Java's defaults (``JobSpec``: ``args = []``, ``state = running``, ``upgradeMode = stateless``,
  ``parallelism = 0``; ``JobManagerSpec.replicas = 1``; an empty ``flinkConfiguration``) make a field set to its
  default equal to the field left out; the builder compares ``flinkConfiguration`` flattened (``asFlatMap``),
  ``equals`` as the JSON tree given (a value changed only from ``"2"`` to ``2`` is ``PATCH_CHILD``).

Removing a field whose change is ignored (``restartNonce``, an ignored configuration key) still
differs from ``equals``, so it is ``PATCH_CHILD`` (the active child is patched, nothing restarts).
"""

from __future__ import annotations

from typing import Any

#: ``JobSpec`` fields annotated ``@SpecDiff(DiffType.IGNORE)``.
IGNORED_JOB_FIELDS = ("savepointTriggerNonce", "initialSavepointPath", "checkpointTriggerNonce", "upgradeMode",
                      "allowNonRestoredState", "autoscalerResetNonce")
#: ``AbstractFlinkSpec.flinkConfiguration``'s ``@SpecDiff.Config`` entries that apply in NATIVE mode, in order.
CONFIG_PREFIX_TYPES = (("job.autoscaler", "IGNORE"), ("parallelism.default", "IGNORE"),
                       ("kubernetes.operator", "IGNORE"), ("pipeline.jobvertex-parallelism-overrides", "SCALE"))
#: Field defaults of the Java spec classes: a field at its default equals the field left out.
JOB_DEFAULTS = {"args": [], "state": "running", "upgradeMode": "stateless", "parallelism": 0}
JOB_MANAGER_DEFAULTS = {"replicas": 1}
#: ``DiffType`` in its enum order (``DiffType.from`` takes the largest).
_ORDER = ("IGNORE", "SCALE", "UPGRADE", "SAVEPOINT_REDEPLOY")
#: The values :func:`diff_type` returns (``BlueGreenDiffType``).
CHANGE_TYPES = ("IGNORE", "TRANSITION", "PATCH_CHILD", "SAVEPOINT_REDEPLOY", "SUSPEND", "RESUME")
#: The changes the operator applies to the active child in place (no other colour is deployed).
IN_PLACE_CHANGES = ("PATCH_CHILD", "SUSPEND", "RESUME")


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _drop_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_drop_nulls(item) for item in value]
    return value


def _flat(conf: Any, prefix: str = "") -> dict[str, str]:
    """``ConfigObjectNode.asFlatMap``: nested keys joined with dots, values as strings."""
    flat: dict[str, str] = {}
    for key, value in (conf or {}).items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flat(value, name + "."))
        elif value is not None:
            flat[name] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return flat


def _enum(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def normalized_template_spec(spec: dict[str, Any] | None) -> dict[str, Any]:
    """A FlinkDeployment spec as the operator's Java object would compare it (defaults filled, nulls dropped)."""
    result = _drop_nulls(dict(spec or {}))
    # Kept as given: ``equals`` compares the JSON trees ("2" differs from 2, nested from flat); the diff
    # builder compares the flat string maps (:func:`_flat`).
    result["flinkConfiguration"] = result.get("flinkConfiguration") or {}
    if isinstance(result.get("job"), dict):
        job = {**JOB_DEFAULTS, **result["job"]}
        for key in ("state", "upgradeMode"):
            job[key] = _enum(job[key])
        result["job"] = job
    if isinstance(result.get("jobManager"), dict):
        result["jobManager"] = {**JOB_MANAGER_DEFAULTS, **result["jobManager"]}
    if isinstance(result.get("mode"), str):
        result["mode"] = result["mode"].lower()
    return result


def _max(types: list[str]) -> str:
    return max(types, key=_ORDER.index) if types else "IGNORE"


def _config_type(key: str) -> str:
    return next((kind for prefix, kind in CONFIG_PREFIX_TYPES if key.startswith(prefix)), "UPGRADE")


def _job_diff(left: dict[str, Any], right: dict[str, Any]) -> str:
    types = []
    for key in set(left) | set(right):
        before, after = left.get(key), right.get(key)
        if before == after:
            continue
        if key == "savepointRedeployNonce":
            if after is not None:  # onNullIgnore
                types.append("SAVEPOINT_REDEPLOY")
        elif key in IGNORED_JOB_FIELDS:
            types.append("IGNORE")
        else:  # parallelism is SCALE only in STANDALONE; blue/green diffs in NATIVE
            types.append("UPGRADE")
    return _max(types)


def spec_diff_type(left: dict[str, Any], right: dict[str, Any]) -> str:
    """``ReflectiveDiffBuilder(NATIVE, left, right).build().getType()`` on two normalised FlinkDeployment specs."""
    types = []
    for key in set(left) | set(right):
        before, after = left.get(key), right.get(key)
        if key == "flinkConfiguration":
            before, after = _flat(before), _flat(after)
            types.extend(_config_type(k) for k in set(before) | set(after) if before.get(k) != after.get(k))
        elif before == after:
            continue
        elif key == "restartNonce":
            if after is not None:  # onNullIgnore
                types.append("UPGRADE")
        elif key == "job" and isinstance(before, dict) and isinstance(after, dict):
            types.append(_job_diff(before, after))
        else:
            types.append("UPGRADE")
    return _max(types)


def diff_type(last: dict[str, Any] | None, new: dict[str, Any] | None) -> str:
    """How the operator treats ``new`` after ``last`` (``FlinkBlueGreenDeploymentSpecDiff.compare``).

    :param last: the blue/green spec the operator acted on last (``status.lastReconciledSpec``), manifest form.
    :param new: the blue/green spec now desired, manifest form.
    :return: one of :data:`CHANGE_TYPES`.
    """
    left = normalized_template_spec(((last or {}).get("template") or {}).get("spec"))
    right = normalized_template_spec(((new or {}).get("template") or {}).get("spec"))
    left_state = (left.get("job") or {}).get("state", "running")
    right_state = (right.get("job") or {}).get("state", "running")
    if left_state != right_state:
        if right_state == "suspended":
            return "SUSPEND"
        if left_state == "suspended" and right_state == "running":
            return "RESUME"
    builder = spec_diff_type(left, right)
    if builder == "SAVEPOINT_REDEPLOY":
        return "SAVEPOINT_REDEPLOY"
    if left == right:
        return "IGNORE"
    return "PATCH_CHILD" if builder == "IGNORE" else "TRANSITION"


def template_of_child(child_spec: dict[str, Any] | None, colour: str) -> dict[str, Any]:
    """The blue/green spec a child FlinkDeployment runs, for comparing with a template.

    ``BlueGreenUtils.prepareFlinkDeployment`` prefixes the child's ingress template with ``<colour>-``;
    that prefix is taken off again.
    """
    spec = dict(child_spec or {})
    ingress = spec.get("ingress")
    if isinstance(ingress, dict) and isinstance(ingress.get("template"), str):
        prefix = f"{colour.lower()}-"
        spec["ingress"] = {**ingress, "template": ingress["template"].removeprefix(prefix)}
    return {"template": {"spec": spec}}


def changed_fields(last: dict[str, Any] | None, new: dict[str, Any] | None) -> list[str]:
    """The ``template.spec`` fields (``job.*`` and ``flinkConfiguration.*`` one level deeper) that differ."""
    left = normalized_template_spec(((last or {}).get("template") or {}).get("spec"))
    right = normalized_template_spec(((new or {}).get("template") or {}).get("spec"))
    fields = []
    for key in sorted(set(left) | set(right)):
        before, after = left.get(key), right.get(key)
        if key == "flinkConfiguration":
            before, after = _flat(before), _flat(after)
        if key in ("job", "flinkConfiguration") and isinstance(before, dict) and isinstance(after, dict):
            fields.extend(f"{key}.{k}" for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k))
        elif before != after:
            fields.append(key)
    return fields


def runs_another_build(child_template: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether patching a child running ``child_template`` with ``new`` changes more than fields the operator
    applies in place (``job.state`` aside): a patch that would put a different build into the live job."""
    def running(spec: dict[str, Any]) -> dict[str, Any]:
        template_spec = dict(((spec.get("template") or {}).get("spec")) or {})
        if isinstance(template_spec.get("job"), dict):
            template_spec["job"] = {**template_spec["job"], "state": "running"}
        return {"template": {"spec": template_spec}}

    return diff_type(running(child_template), running(new)) in ("TRANSITION", "SAVEPOINT_REDEPLOY")
