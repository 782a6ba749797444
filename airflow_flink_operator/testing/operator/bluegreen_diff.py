"""The simulated blue/green controller's own spec diff: ``FlinkBlueGreenDeploymentSpecDiff.compare`` over
``ReflectiveDiffBuilder`` (NATIVE mode), and the specs as the operator's Jackson reads and writes them.

Written from the operator's source (apache/flink-kubernetes-operator, main at 6e9caeb; identical in
release-1.14.0 and release-1.15.0 but for the ``resources`` fields, main only), never from this package's
models:

- only ``template.spec`` is compared (``compare``: ``left.getTemplate().getSpec()``); ``configuration``,
  ``ingress`` and ``template.metadata`` changes are IGNORE;
- ``job.state`` first: to ``suspended`` is SUSPEND, ``suspended`` → ``running`` is RESUME (a missing job or
  state reads as RUNNING, ``getJobState``);
- then ``ReflectiveDiffBuilder(NATIVE, left, right)``: ``@SpecDiff`` types per field (``JobSpec``,
  ``AbstractFlinkSpec``), ``onNullIgnore`` (``restartNonce``, ``savepointRedeployNonce``: a removal adds no
  diff), ``@SpecDiff.Config`` prefixes for ``flinkConfiguration`` compared as flat string maps
  (``kubernetes.operator``, ``job.autoscaler``, ``parallelism.default`` IGNORE;
  ``pipeline.jobvertex-parallelism-overrides`` SCALE in NATIVE mode), SCALE entries limited to STANDALONE
  (``job.parallelism``, ``taskManager.replicas``) are UPGRADE, everything else UPGRADE;
- a SAVEPOINT_REDEPLOY diff wins; specs equal as Java objects (Lombok ``equals``, after Jackson filled the
  defaults: ``args: []``, ``state: running``, ``upgradeMode: stateless``, ``parallelism: 0``,
  ``jobManager.replicas: 1``) are IGNORE, so a field added at its default is IGNORE; an all-IGNORE diff of
  unequal specs is PATCH_CHILD; anything else (SCALE, UPGRADE) is TRANSITION.

Java's value types matter to ``equals``: ``flinkConfiguration`` is a Jackson tree, where ``2``, ``"2"`` and
``2.0`` differ (while its flat map, which the diff compares, reads all three as text), so such a change is
PATCH_CHILD. fabric8 objects (pod templates, ``resources``, ``tls``, metadata) are compared as JSON with
empty collections and nulls left out (fabric8 fills empty lists), and a pod template's top-level keys other
than ``metadata``/``spec`` dropped (``clearIgnoredFields``).
"""

from __future__ import annotations

import json
from typing import Any

#: ``DiffType`` in ordinal order: ``DiffType.from`` takes the largest.
IGNORE, SCALE, UPGRADE, SAVEPOINT_REDEPLOY = 0, 1, 2, 3

_CONFIG_TYPES = (("job.autoscaler", IGNORE), ("parallelism.default", IGNORE), ("kubernetes.operator", IGNORE),
                 ("pipeline.jobvertex-parallelism-overrides", SCALE))  # AbstractFlinkSpec @SpecDiff.Config (NATIVE)

# JobSpec fields in declaration order: (name, type, default, diff type, onNullIgnore).
_JOB = (("jarURI", "str", None, UPGRADE, False), ("parallelism", "int", 0, UPGRADE, False),
        ("entryClass", "str", None, UPGRADE, False), ("args", "strlist", [], UPGRADE, False),
        ("state", "str", "running", UPGRADE, False), ("savepointTriggerNonce", "long", None, IGNORE, False),
        ("initialSavepointPath", "str", None, IGNORE, False), ("checkpointTriggerNonce", "long", None, IGNORE, False),
        ("upgradeMode", "str", "stateless", IGNORE, False), ("allowNonRestoredState", "bool", None, IGNORE, False),
        ("savepointRedeployNonce", "long", None, SAVEPOINT_REDEPLOY, True),
        ("autoscalerResetNonce", "long", None, IGNORE, False))


def _scalar(value: Any, kind: str) -> Any:
    """Jackson's scalar coercion into a typed field."""
    if value is None:
        return None
    if kind in ("int", "long"):
        return int(value)
    if kind == "float":
        return float(value)
    if kind == "bool":
        return value if isinstance(value, bool) else str(value).lower() == "true"
    if kind == "strlist":
        return [_scalar(v, "str") for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fabric8(value: Any) -> Any:
    """A fabric8 model object as JSON: nulls and empty collections left out."""
    if isinstance(value, dict):
        out = {k: _fabric8(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not None and v != {} and v != []} or {}
    if isinstance(value, list):
        return [_fabric8(v) for v in value]
    return value


def _resource(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    return {"cpu": _scalar(value.get("cpu"), "float"), "memory": _scalar(value.get("memory"), "str"),
            "ephemeralStorage": _scalar(value.get("ephemeralStorage"), "str")}


def _str_map(value: Any) -> dict[str, str] | None:
    return None if value is None else {str(k): _scalar(v, "str") for k, v in value.items()}


def _member(value: Any, version: Any, replicas_default: int | None) -> dict[str, Any] | None:
    """``JobManagerSpec`` / ``TaskManagerSpec`` (``resources`` only on main, 1.16)."""
    if value is None:
        return None
    out: dict[str, Any] = {"resource": _resource(value.get("resource"))}
    if _main(version):
        out["resources"] = _fabric8(value["resources"]) if value.get("resources") is not None else None
    replicas = value.get("replicas")
    out["replicas"] = _scalar(replicas, "int") if replicas is not None else replicas_default
    out["podTemplate"] = _fabric8(value["podTemplate"]) if value.get("podTemplate") is not None else None
    return out


def _main(version: Any) -> bool:
    text = str(version or "main")
    if text == "main":
        return True
    major, minor = (int(p) for p in text.split("-")[0].split(".")[:2])
    return (major, minor) >= (1, 16)


def java_spec(spec: dict[str, Any] | None, version: Any = "main") -> dict[str, Any]:
    """A ``FlinkDeploymentSpec`` as the operator's Jackson reads it and writes it back: its fields in
    declaration order (``AbstractFlinkSpec`` first), defaults filled, unknown keys dropped, nulls kept."""
    spec = spec or {}
    job = spec.get("job")
    job_out = None
    if job is not None:
        job_out = {}
        for name, kind, default, _, _ in _JOB:
            value = job.get(name)
            job_out[name] = _scalar(value, kind) if value is not None else default
    conf = spec["flinkConfiguration"] if "flinkConfiguration" in spec else {}
    ingress = spec.get("ingress")
    return {
        "job": job_out,
        "restartNonce": _scalar(spec.get("restartNonce"), "long"),
        "flinkConfiguration": conf,
        "image": _scalar(spec.get("image"), "str"),
        "imagePullPolicy": _scalar(spec.get("imagePullPolicy"), "str"),
        "serviceAccount": _scalar(spec.get("serviceAccount"), "str"),
        "flinkVersion": _scalar(spec.get("flinkVersion"), "str"),
        "ingress": None if ingress is None else {
            "template": _scalar(ingress.get("template"), "str"), "className": _scalar(ingress.get("className"), "str"),
            "annotations": _str_map(ingress.get("annotations")), "labels": _str_map(ingress.get("labels")),
            "tls": _fabric8(ingress["tls"]) if ingress.get("tls") is not None else None},
        "podTemplate": _fabric8(spec["podTemplate"]) if spec.get("podTemplate") is not None else None,
        "jobManager": _member(spec.get("jobManager"), version, 1),
        "taskManager": _member(spec.get("taskManager"), version, None),
        "logConfiguration": _str_map(spec.get("logConfiguration")),
        "mode": _scalar(spec.get("mode"), "str"),
    }


def java_bluegreen_spec(spec: dict[str, Any] | None, version: Any = "main") -> dict[str, Any]:
    """A ``FlinkBlueGreenDeploymentSpec`` as Jackson writes it (``configuration``, ``ingress``, ``template``)."""
    spec = spec or {}
    template = spec.get("template") or {}
    ingress = java_spec({"ingress": spec.get("ingress")}, version)["ingress"]
    return {"configuration": _str_map(spec.get("configuration")), "ingress": ingress,
            "template": {"metadata": _fabric8(template["metadata"]) if template.get("metadata") is not None else None,
                         "spec": java_spec(template.get("spec"), version)}}


def write_spec_json(spec: dict[str, Any] | None, version: Any = "main") -> str:
    """``BlueGreenUtils.setLastReconciledSpec``: ``SpecUtils.writeSpecAsJSON(spec, "spec")``, nulls included
    (a plain ``ObjectMapper``)."""
    return json.dumps({"spec": java_bluegreen_spec(spec, version)}, separators=(",", ":"))


def read_spec_json(text: str) -> dict[str, Any]:
    """``SpecUtils.readSpecFromJSON(text, "spec", ...)``: the blue/green spec stored in ``lastReconciledSpec``."""
    return json.loads(text)["spec"]


def child_spec(template_spec: dict[str, Any] | None, version: Any = "main") -> dict[str, Any]:
    """The child's ``spec`` as fabric8 sends it: the Java object, null fields left out, defaults written."""
    def drop_nulls(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: drop_nulls(v) for k, v in value.items() if v is not None}
        return value
    return drop_nulls(java_spec(template_spec, version))


def _tagged(value: Any) -> Any:
    """A JSON value with its Java type kept: ``2``, ``2.0``, ``"2"`` and ``true`` are different nodes."""
    if isinstance(value, dict):
        return ("o", frozenset((k, _tagged(v)) for k, v in value.items()))
    if isinstance(value, list):
        return ("a", tuple(_tagged(v) for v in value))
    return (type(value).__name__, value)


def _equal(left: Any, right: Any) -> bool:
    return _tagged(left) == _tagged(right)


def flat_config(tree: Any) -> dict[str, str] | None:
    """``ConfigObjectNode.asFlatMap``: nested keys joined by ``.``, arrays as ``a;b``, scalars ``asText``."""
    if tree is None:
        return None
    flat: dict[str, str] = {}

    def text(node: Any) -> str:
        if isinstance(node, bool):
            return "true" if node else "false"
        if node is None:
            return "null"
        if isinstance(node, (dict, list)):
            return ""
        return str(node)

    def walk(node: Any, key: str) -> None:
        if isinstance(node, dict):
            for child_key, child in node.items():
                walk(child, f"{key}.{child_key}" if key else child_key)
        elif isinstance(node, list):
            if node:
                flat[key] = ";".join(text(item) for item in node)
        else:
            flat[key] = text(node)

    walk(tree, "")
    return flat


def _config_type(key: str) -> int:
    for prefix, diff in _CONFIG_TYPES:
        if key.startswith(prefix):
            return diff
    return UPGRADE


def _reflective(left: dict[str, Any], right: dict[str, Any]) -> int:
    """``ReflectiveDiffBuilder(NATIVE, left, right).build().getType()`` for two ``FlinkDeploymentSpec``."""
    if _equal(_for_equals(left), _for_equals(right)):
        return IGNORE
    types = [IGNORE]
    for name in left:
        lval, rval = left[name], right[name]
        if name == "flinkConfiguration":
            lflat, rflat = flat_config(lval) or {}, flat_config(rval) or {}
            types += [_config_type(k) for k in set(lflat) | set(rflat) if lflat.get(k) != rflat.get(k)]
        elif name == "restartNonce":
            if rval is not None and lval != rval:
                types.append(UPGRADE)
        elif name == "job" and lval is not None and rval is not None:
            for field, _, _, diff, on_null_ignore in _JOB:
                if (rval[field] is not None or not on_null_ignore) and not _equal(lval[field], rval[field]):
                    types.append(diff)
        elif not _equal(_for_equals({name: lval}), _for_equals({name: rval})):
            types.append(UPGRADE)
    return max(types)


def _for_equals(spec: dict[str, Any]) -> dict[str, Any]:
    """``clearIgnoredFields``: pod templates lose their additional properties (all but metadata and spec)."""
    def clear(template: Any) -> Any:
        return {k: v for k, v in template.items() if k in ("metadata", "spec")} if isinstance(template, dict) else template
    out = dict(spec)
    if "podTemplate" in out:
        out["podTemplate"] = clear(out["podTemplate"])
    for member in ("jobManager", "taskManager"):
        if isinstance(out.get(member), dict):
            out[member] = {**out[member], "podTemplate": clear(out[member].get("podTemplate"))}
    return out


def _job_state(spec: dict[str, Any]) -> str:
    return (spec.get("job") or {}).get("state") or "running"


def compare(left_spec: dict[str, Any] | None, right_spec: dict[str, Any] | None, version: Any = "main") -> str:
    """``FlinkBlueGreenDeploymentSpecDiff.compare``: the ``BlueGreenDiffType`` between two blue/green specs
    (``lastReconciledSpec`` and the current spec), from their ``template.spec`` alone."""
    left = java_spec(((left_spec or {}).get("template") or {}).get("spec"), version)
    right = java_spec(((right_spec or {}).get("template") or {}).get("spec"), version)
    left_state, right_state = _job_state(left), _job_state(right)
    if left_state != right_state:
        if right_state == "suspended":
            return "SUSPEND"
        if left_state == "suspended" and right_state == "running":
            return "RESUME"
    diff = _reflective(left, right)
    if diff == SAVEPOINT_REDEPLOY:
        return "SAVEPOINT_REDEPLOY"
    if _equal(_for_equals(left), _for_equals(right)):
        return "IGNORE"
    return "PATCH_CHILD" if diff == IGNORE else "TRANSITION"
