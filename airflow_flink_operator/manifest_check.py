"""``airflow-flink validate``: every problem of a raw manifest in one pass.

Pydantic's errors become field-named problems with a fix a YAML user can act on; the fields it
rejects are then left out so the operator's own checks (:mod:`airflow_flink_operator.validation`)
still run on the valid rest.
"""

from __future__ import annotations

import copy
import re
import typing
from typing import Any

from airflow_flink_operator.errors import SpecProblem
from airflow_flink_operator.models.deployment import FlinkDeployment
from airflow_flink_operator.models.session_job import FlinkSessionJob
from airflow_flink_operator.validation import _problem, validate_deployment, validate_session_job, validate_snapshot
from airflow_flink_operator.versions import OperatorVersion

#: What a YAML user should do about a pydantic error, by error type.
_TYPE_FIXES = {
    "missing": "Add it.",
    "int_parsing": "Write a whole number, unquoted (e.g. 2).",
    "int_type": "Write a whole number, unquoted (e.g. 2).",
    "int_from_float": "Write a whole number, unquoted (e.g. 2).",
    "float_parsing": "Write a number, unquoted (e.g. 0.5).",
    "float_type": "Write a number, unquoted (e.g. 0.5).",
    "bool_parsing": "Write true or false, unquoted.",
    "bool_type": "Write true or false, unquoted.",
    "string_type": "Write a string (quote it if YAML reads it as a number or boolean).",
    "literal_error": "Use one of the values listed.",
    "enum": "Use one of the values listed.",
    "dict_type": "Write it as YAML 'key: value' pairs.",
    "model_type": "Write it as YAML 'key: value' pairs.",
    "model_attributes_type": "Write it as YAML 'key: value' pairs.",
    "list_type": "Write it as a YAML list (one '- ' item per entry).",
}


def yaml_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """A manifest path as YAML users write it: ``spec.job.jarURI``, ``containers[0]``, ``flinkConfiguration["a.b"]``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif text and not re.fullmatch(r"[A-Za-z_][\w-]*", str(part)):
            text += f'["{part}"]'
        else:
            text += f".{part}" if text else str(part)
    return text


def _model_at(model: Any, loc: tuple[Any, ...]) -> Any:
    """The model class a location (of manifest keys) points into, or ``None`` if it is not a model."""
    from pydantic import BaseModel

    for part in loc:
        if isinstance(part, int):
            continue
        fields = getattr(model, "model_fields", None)
        if fields is None:
            return None
        info = next((f for name, f in fields.items()
                     if part in (name, f.serialization_alias, f.alias)), None)
        if info is None:
            return None
        candidates = [info.annotation]
        model = None
        while candidates:
            annotation = candidates.pop()
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                model = annotation
                break
            candidates.extend(typing.get_args(annotation))
        if model is None:
            return None
    return model


def _pydantic_problems(model: Any, errors: list[dict[str, Any]]) -> list[SpecProblem]:
    import difflib

    problems: list[SpecProblem] = []
    for error in errors:
        loc = tuple(error["loc"])
        field = yaml_path(loc) or "(document)"
        if error["type"] == "extra_forbidden":
            owner = _model_at(model, loc[:-1])
            known = [info.serialization_alias or name for name, info in owner.model_fields.items()] if owner else []
            close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
            fix = f"Did you mean {close[0]!r}?" if close else "Remove it, or check the CRD reference for the field's name."
            problems.append(_problem(field, "is not a known field.", fix, fix))
            continue
        message = error["msg"].removeprefix("Value error, ").rstrip(".") + "."
        fix = _TYPE_FIXES.get(error["type"], "")
        if error["type"] == "missing":
            fix = f"Add {loc[-1]}." if loc else fix
        problems.append(_problem(field, message, fix, fix))
    return problems


def _pop(data: Any, loc: tuple[Any, ...]) -> bool:
    """Remove the value at ``loc`` (skipping union-member tags pydantic adds); whether anything was removed."""
    node = data
    for part in loc[:-1]:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
    last = loc[-1] if loc else None
    if isinstance(node, dict) and last in node:
        del node[last]
        return True
    if isinstance(node, list) and isinstance(last, int) and last < len(node):
        del node[last]
        return True
    return False


def _fill(data: Any, loc: tuple[Any, ...]) -> bool:
    """Put a neutral placeholder where a required field is missing, so the rest can be checked."""
    node = data
    for part in loc[:-1]:
        if not (isinstance(node, dict) and isinstance(node.get(part), dict)):
            return False
        node = node[part]
    if not loc or not isinstance(node, dict) or loc[-1] in node:
        return False
    node[loc[-1]] = "placeholder" if loc[-1] == "name" else {}
    return True


def _under(field: str, paths: list[str]) -> bool:
    return any(field == p or field.startswith((p + ".", p + "[")) for p in paths)


def check_manifest(
    manifest: dict[str, Any], operator_version: str | OperatorVersion, max_rounds: int = 5
) -> list[SpecProblem]:
    """Every problem of one Flink manifest in one pass: field types, unknown fields and the operator's checks.

    When the typed model cannot be built, the fields pydantic rejects are reported, then left out
    (a missing required one gets a placeholder) and the model is built from the valid rest, so the
    operator's checks still run; their findings about the fields already reported are dropped.

    :param manifest: the manifest as read from YAML (not changed).
    :param operator_version: the Flink Kubernetes Operator version to check for.
    :return: the problems, each naming its manifest path; :func:`fix_for_yaml` phrases their fixes.
    """
    from pydantic import ValidationError

    from airflow_flink_operator.manifests import MODELS

    model_cls = MODELS[manifest["kind"]]
    data = copy.deepcopy(manifest)
    problems: list[SpecProblem] = []
    reported: set[str] = set()
    left_out: list[str] = []
    model = None
    for _ in range(max_rounds):
        try:
            model = model_cls.model_validate(data)
            break
        except ValidationError as exc:
            errors = exc.errors()
        progress = False
        found = list(zip(errors, _pydantic_problems(model_cls, errors)))
        for error, problem in found:
            if problem.field not in reported and not _under(problem.field, left_out):
                problems.append(problem)
                reported.add(problem.field)
        for error, problem in reversed(found):  # later list items first: removing one shifts the rest
            loc = tuple(error["loc"])
            changed = _fill(data, loc) if error["type"] == "missing" else _pop(data, loc)
            if changed:
                left_out.append(problem.field)
            progress = progress or changed
        if not progress:
            break
    if model is None:
        return problems
    if isinstance(model, FlinkDeployment):
        operator_problems, _ = validate_deployment(model, operator_version)
    elif isinstance(model, FlinkSessionJob):
        operator_problems, _ = validate_session_job(model, operator_version)
    else:
        operator_problems = validate_snapshot(model)
    return problems + [p for p in operator_problems if not _under(p.field, left_out)]
