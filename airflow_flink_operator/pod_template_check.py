"""Check raw pod templates against the core/v1 ``Pod`` fields the ``kubernetes`` client knows.

A FlinkDeployment's ``podTemplate`` (global, ``jobManager.`` and ``taskManager.``) is a core/v1 Pod:
the Flink Kubernetes Operator takes it as a fabric8 ``Pod`` and merges it into the pods it creates
(reference section g). The typed models keep it a free-form dict, so a typo such as ``envv`` or a
label written as a number would only show up when the operator or the API server rejects the pod.
The official ``kubernetes`` client carries every core/v1 field and its type
(``openapi_types`` / ``attribute_map`` of each ``V1...`` class), so these checks need no CRD files.

Used at validate time only: ``kubernetes`` is imported on the first check, never when a DAG file
imports the models.
"""

from __future__ import annotations

import difflib
import re
from functools import lru_cache
from typing import Any

from airflow_flink_operator.errors import SpecProblem

#: Where a FlinkDeployment carries pod templates (manifest paths).
POD_TEMPLATE_PATHS = (
    ("podTemplate",),
    ("jobManager", "podTemplate"),
    ("taskManager", "podTemplate"),
)

#: Fields the client types as strings that the API server reads as ``resource.Quantity``, which
#: takes a number too (``cpu: 1``). ``(class, attribute)``; the dict types cover their values.
_QUANTITIES = frozenset({
    ("V1ResourceRequirements", "limits"),
    ("V1ResourceRequirements", "requests"),
    ("V1VolumeResourceRequirements", "limits"),
    ("V1VolumeResourceRequirements", "requests"),
    ("V1EmptyDirVolumeSource", "size_limit"),
    ("V1PodSpec", "overhead"),
})
_LIST = re.compile(r"^list\[(.+)\]$")
_DICT = re.compile(r"^dict\((?:str), ?(.+)\)$|^dict\[(?:str), ?(.+)\]$")
_PLAIN_KEY = re.compile(r"^[A-Za-z_][\w-]*$")
_SCALARS = {"str": "a string", "int": "a whole number", "float": "a number", "bool": "true or false"}


@lru_cache(maxsize=None)
def _fields(class_name: str) -> tuple[dict[str, str], dict[str, str]]:
    """The manifest keys of a ``kubernetes.client`` model: ``{jsonKey: type}`` and ``{jsonKey: attribute}``."""
    from kubernetes import client

    cls = getattr(client, class_name)
    attrs = {json_key: attr for attr, json_key in cls.attribute_map.items()}
    return {key: cls.openapi_types[attr] for key, attr in attrs.items()}, attrs


def check_pod_template(template: Any, path: str) -> list[SpecProblem]:
    """Problems of one raw pod template: unknown fields (with a "did you mean") and wrong value types.

    :param template: the template as written in the manifest (a dict).
    :param path: its manifest path, e.g. ``spec.jobManager.podTemplate``.
    """
    problems: list[SpecProblem] = []
    _check(template, "V1Pod", path, problems, quantity=False)
    return problems


def check_deployment_pod_templates(manifest: dict[str, Any]) -> list[SpecProblem]:
    """Problems of every pod template of a FlinkDeployment manifest (raw dict)."""
    spec = manifest.get("spec")
    if manifest.get("kind") != "FlinkDeployment" or not isinstance(spec, dict):
        return []
    problems: list[SpecProblem] = []
    for keys in POD_TEMPLATE_PATHS:
        node: Any = spec
        for key in keys:
            node = node.get(key) if isinstance(node, dict) else None
        if node is not None:
            problems += check_pod_template(node, "spec." + ".".join(keys))
    return problems


def _check(value: Any, type_name: str, path: str, problems: list[SpecProblem], quantity: bool) -> None:
    if value is None:  # an empty YAML key: the API server treats null as absent
        return
    if type_name == "object":  # IntOrString and free-form fields
        return
    if type_name in _SCALARS:
        _check_scalar(value, type_name, path, problems, quantity)
        return
    if type_name == "datetime" or type_name == "date":
        return
    match = _LIST.match(type_name)
    if match:
        if not isinstance(value, list):
            problems.append(SpecProblem(path, f"must be a list, not {_describe(value)}.",
                                        "Write it as a YAML list (one '- ' item per entry)."))
            return
        for i, item in enumerate(value):
            _check(item, match.group(1), f"{path}[{i}]", problems, quantity)
        return
    match = _DICT.match(type_name)
    if match:
        if not isinstance(value, dict):
            problems.append(SpecProblem(path, f"must be a mapping, not {_describe(value)}.",
                                        "Write it as YAML 'key: value' pairs."))
            return
        inner = match.group(1) or match.group(2)
        for key, item in value.items():
            where = f"{path}.{key}" if _PLAIN_KEY.match(str(key)) else f'{path}["{key}"]'
            _check(item, inner, where, problems, quantity)
        return
    if not isinstance(value, dict):
        problems.append(SpecProblem(path, f"must be a mapping ({type_name.removeprefix('V1')}), not {_describe(value)}.",
                                    "Write it as YAML 'key: value' pairs."))
        return
    types, attrs = _fields(type_name)
    for key, item in value.items():
        where = f"{path}.{key}"
        if key not in types:
            close = difflib.get_close_matches(str(key), list(types), n=1, cutoff=0.6)
            owner = type_name.removeprefix("V1")
            fix = (f"Did you mean {close[0]!r}?" if close
                   else f"Remove it; {owner} has: {', '.join(sorted(types))}.")
            problems.append(SpecProblem(where, f"is not a field of a core/v1 {owner}.", fix))
            continue
        _check(item, types[key], where, problems, quantity=(type_name, attrs[key]) in _QUANTITIES)


def _check_scalar(value: Any, type_name: str, path: str, problems: list[SpecProblem], quantity: bool) -> None:
    if type_name == "str":
        ok = isinstance(value, str) or (quantity and isinstance(value, (int, float)) and not isinstance(value, bool))
        fix = f"Quote it: '{_yaml_scalar(value)}'." if isinstance(value, (bool, int, float)) else "Give a string."
    elif type_name == "bool":
        ok = isinstance(value, bool)
        fix = "Write true or false, unquoted."
    elif type_name == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
        fix = "Write a whole number, unquoted."
    else:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        fix = "Write a number, unquoted."
    if not ok:
        problems.append(SpecProblem(path, f"must be {_SCALARS[type_name]}, not {_describe(value)}.", fix))


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _yaml_scalar(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)
