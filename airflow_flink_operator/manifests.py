"""Turn models into ordered, deterministic Kubernetes manifests (plain dicts or YAML), and back.

:func:`render` validates first and raises :class:`~airflow_flink_operator.errors.FlinkSpecError`
listing every problem, so nothing half-valid ever reaches a cluster. The output is the
ConfigMaps a job needs, then the custom resource that mounts them.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
from pathlib import Path
from typing import Any, Union

import yaml
from pydantic import ValidationError

from airflow_flink_operator.constants import (
    DEFAULT_OPERATOR_VERSION,
    KIND_DEPLOYMENT,
    KIND_SESSION_JOB,
    KIND_STATE_SNAPSHOT,
    LABEL_COMPONENT,
    LABEL_MANAGED_BY,
    LABEL_OWNER_KIND,
    LABEL_OWNER_NAME,
    MANAGED_BY,
)
from airflow_flink_operator.errors import FlinkSpecError, FlinkTaskError, SpecProblem
from airflow_flink_operator.models.bluegreen import KIND_BLUE_GREEN, FlinkBlueGreenDeployment
from airflow_flink_operator.models.deployment import FlinkDeployment
from airflow_flink_operator.models.pod import add_main_container_mount
from airflow_flink_operator.models.session_job import FlinkSessionJob
from airflow_flink_operator.models.snapshot import FlinkStateSnapshot
from airflow_flink_operator.validation import (
    validate_blue_green,
    validate_deployment,
    validate_session_job,
    validate_snapshot,
)
from airflow_flink_operator.versions import OperatorVersion

FlinkResource = Union[FlinkDeployment, FlinkSessionJob, FlinkStateSnapshot, FlinkBlueGreenDeployment]
MODELS: dict[str, type[FlinkResource]] = {
    KIND_DEPLOYMENT: FlinkDeployment,
    KIND_SESSION_JOB: FlinkSessionJob,
    KIND_STATE_SNAPSHOT: FlinkStateSnapshot,
    KIND_BLUE_GREEN: FlinkBlueGreenDeployment,
}


def render(
    resource: FlinkResource | dict[str, Any],
    *,
    operator_version: str | OperatorVersion = DEFAULT_OPERATOR_VERSION,
    allowed_jar_schemes: frozenset[str] | set[str] | None = None,
    session_cluster: FlinkDeployment | None = None,
) -> list[dict[str, Any]]:
    """Validate a resource and return its manifests in apply order.

    :param resource: a model, or a manifest dict (validated into a model first).
    :param operator_version: the Flink Kubernetes Operator version to target (``"1.15"``,
        ``"main"``); decides which fields and Flink versions are allowed.
    :param allowed_jar_schemes: session jobs only: the operator's
        ``kubernetes.operator.user.artifacts.allowed-schemes`` if not the default.
    :param session_cluster: session jobs only: the target session cluster, for deeper checks.
    :return: ConfigMaps the job needs (if any), then the custom resource; plain dicts.
    :raises FlinkSpecError: listing every problem, each with its field and fix.
    """
    model = to_model(resource)
    version = OperatorVersion(operator_version)
    if isinstance(model, FlinkDeployment):
        problems, conf = validate_deployment(model, version)
        _raise(model, problems)
        return _render_deployment(model, conf)
    if isinstance(model, FlinkBlueGreenDeployment):
        problems, conf = validate_blue_green(model, version)
        _raise(model, problems)
        return _render_blue_green(model, conf)
    if isinstance(model, FlinkSessionJob):
        schemes = frozenset(allowed_jar_schemes) if allowed_jar_schemes is not None else None
        problems, conf = validate_session_job(model, version, schemes, session_cluster)
        _raise(model, problems)
        manifest = model.to_dict()
        _set_config(manifest, conf)
        return [manifest]
    _raise(model, validate_snapshot(model))
    return [model.to_dict()]


def _raise(model: FlinkResource, problems: list[SpecProblem]) -> None:
    if problems:
        raise FlinkSpecError(f"{model.kind} {model.metadata.name!r}", problems)


def _set_config(manifest: dict[str, Any], conf: dict[str, str]) -> None:
    """Put the merged flat configuration where the CRD lists it (after the image settings)."""
    spec = manifest["spec"]
    spec.pop("flinkConfiguration", None)
    if not conf:
        return
    anchors = ("deploymentName", "serviceAccount", "flinkVersion", "imagePullPolicy", "image")
    after = next((a for a in anchors if a in spec), None)
    items = list(spec.items())
    at = [k for k, _ in items].index(after) + 1 if after else 0
    items.insert(at, ("flinkConfiguration", conf))
    manifest["spec"] = dict(items)


def _render_deployment(dep: FlinkDeployment, conf: dict[str, str]) -> list[dict[str, Any]]:
    manifest = dep.to_dict()
    return _with_job_files(manifest, manifest, dep, conf, KIND_DEPLOYMENT)


def _render_blue_green(bg: FlinkBlueGreenDeployment, conf: dict[str, str]) -> list[dict[str, Any]]:
    """The blue/green manifests: the job's files ConfigMap (owned by the parent), then the resource, whose
    template carries the merged configuration and the files' mount as a FlinkDeployment would."""
    manifest = bg.to_dict()
    return _with_job_files(manifest, manifest["spec"]["template"], bg, conf, KIND_BLUE_GREEN)


def _with_job_files(manifest: dict[str, Any], target: dict[str, Any], resource: Any, conf: dict[str, str],
                    owner_kind: str) -> list[dict[str, Any]]:
    """Set ``conf`` on ``target`` (the part of ``manifest`` with the FlinkDeployment spec) and mount the job's files."""
    _set_config(target, conf)
    job = (resource.spec.template.spec if owner_kind == KIND_BLUE_GREEN else resource.spec).job
    files = job.files() if job is not None else {}
    if not files:
        return [manifest]
    config_map = job_config_map(resource.metadata.name, resource.metadata.namespace, owner_kind, job.kind, files)
    volume_name = f"airflow-flink-{job.kind}"
    target["spec"]["podTemplate"] = add_main_container_mount(
        target["spec"].get("podTemplate"),
        {"name": volume_name, "configMap": {"name": config_map["metadata"]["name"]}},
        {"name": volume_name, "mountPath": job.mount_dir(), "readOnly": True},
    )
    return [config_map, manifest]


def job_config_map(
    owner_name: str, namespace: str | None, owner_kind: str, component: str, files: dict[str, str]
) -> dict[str, Any]:
    """A ConfigMap carrying a job's files, named and labelled after the resource that owns it.

    The name ends in a hash of the content, so changing a file changes the resource's spec and
    the operator redeploys the job (a ConfigMap edit alone would go unnoticed by a running job).
    """
    digest = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()[:10]
    metadata: dict[str, Any] = {"name": f"{owner_name}-{component}-{digest}"}
    if namespace:
        metadata["namespace"] = namespace
    metadata["labels"] = {
        LABEL_MANAGED_BY: MANAGED_BY,
        LABEL_OWNER_KIND: owner_kind,
        LABEL_OWNER_NAME: owner_name,
        LABEL_COMPONENT: component,
    }
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": dict(sorted(files.items()))}


def to_model(resource: FlinkResource | dict[str, Any]) -> FlinkResource:
    """Validate a manifest dict into its model (models pass through).

    :raises FlinkSpecError: for an unknown ``kind``, or fields of the wrong type or unknown
        fields, each named (with a suggestion for a misspelt one).
    """
    if not isinstance(resource, dict):
        return resource
    kind = resource.get("kind")
    model = MODELS.get(kind)  # type: ignore[arg-type]
    if model is None:
        raise FlinkSpecError(
            f"manifest {resource.get('metadata', {}).get('name', '?')!r}",
            [SpecProblem("kind", f"{kind!r} is not a Flink custom resource.",
                         f"Use one of {', '.join(MODELS)} (other kinds are passed through by load_manifests).")],
        )
    try:
        return model.model_validate(resource)
    except ValidationError as exc:
        name = (resource.get("metadata") or {}).get("name", "?")
        raise FlinkSpecError(f"{kind} {name!r}", problems_from_validation_error(exc)) from None


def _known_fields() -> set[str]:
    from airflow_flink_operator.models.base import FlinkModel

    names: set[str] = set()
    stack = [FlinkModel]
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        for field_name, info in getattr(cls, "model_fields", {}).items():
            names.add(info.serialization_alias or field_name)
    return names


def problems_from_validation_error(exc: ValidationError) -> list[SpecProblem]:
    """pydantic's errors as :class:`SpecProblem` s, with a "did you mean" for misspelt fields."""
    problems = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"])
        if error["type"] == "extra_forbidden":
            unknown = str(error["loc"][-1])
            close = difflib.get_close_matches(unknown, _known_fields(), n=1, cutoff=0.7)
            fix = f"Did you mean {close[0]!r}?" if close else "Remove it, or check the CRD reference for the field's name."
            problems.append(SpecProblem(field, "is not a known field.", fix))
        else:
            message = error["msg"].removeprefix("Value error, ")
            problems.append(SpecProblem(field, message.rstrip(".") + "."))
    return problems


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: dicts merge recursively, ``None`` removes a key, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# --- YAML -----------------------------------------------------------------------------------


class _Dumper(yaml.SafeDumper):
    """Block style for multi-line strings (SQL, logging config), so manifests read well."""


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _str_representer)


def to_yaml(manifests: list[dict[str, Any]]) -> str:
    """Manifests as one multi-document YAML string, in the given order, keys in insertion order."""
    return yaml.dump_all(manifests, Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True)


def load_manifests(source: str | Path) -> list[FlinkResource | dict[str, Any]]:
    """Read manifests from a YAML file path or YAML text.

    Flink custom resources become models (validated); any other kind is returned as a dict.
    """
    text = Path(source).read_text() if isinstance(source, Path) or _looks_like_path(source) else source
    result: list[FlinkResource | dict[str, Any]] = []
    for doc in yaml.safe_load_all(text):
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise FlinkSpecError("YAML document", [SpecProblem("(document)", "is not a mapping.",
                                                               "Each YAML document must be one Kubernetes object.")])
        result.append(to_model(doc) if doc.get("kind") in MODELS else doc)
    return result


def _looks_like_path(source: str) -> bool:
    return "\n" not in source and source.endswith((".yaml", ".yml", ".json")) and Path(source).exists()


def load_resource(source: Any, kind: str) -> Any:
    """A model of ``kind`` from a model, a manifest dict, YAML text or a YAML file path."""
    model_type = MODELS[kind]
    if isinstance(source, model_type):
        return source
    if isinstance(source, dict):
        model = to_model(source)
    elif isinstance(source, str):
        found = [doc for doc in load_manifests(source) if isinstance(doc, model_type)]
        if len(found) != 1:
            raise FlinkTaskError(f"expected exactly one {kind} in the YAML, found {len(found)}")
        model = found[0]
    else:
        raise FlinkTaskError(f"cannot read a {kind} from {type(source).__name__}; pass the model, a dict or YAML")
    if not isinstance(model, model_type):
        raise FlinkTaskError(f"expected a {kind}, got {getattr(model, 'kind', type(model).__name__)}")
    return model
