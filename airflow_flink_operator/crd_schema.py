"""Validate manifests against the upstream CRD schemas (``openAPIV3Schema``), as the API server would.

Uses a real OpenAPI 3.0 schema validator. Unknown fields are errors except under
``x-kubernetes-preserve-unknown-fields`` — the API server would prune them silently, and
``kubectl apply`` (strict field validation) rejects them, so a typo never disappears unnoticed.
The schemas are data read at run time (``--crd-dir`` / ``FLINK_CRD_DIR``), e.g. the files in the
operator's helm chart or ``kubectl get crd <name> -o yaml``.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import yaml

from airflow_flink_operator.errors import SpecProblem

CRD_DIR_ENV = "FLINK_CRD_DIR"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _strict(schema: Any) -> Any:
    """Copy of a structural schema where objects reject fields they do not declare."""
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    node = {key: _strict(value) for key, value in schema.items()}
    preserve = node.get("x-kubernetes-preserve-unknown-fields") is True
    if not preserve and "additionalProperties" not in node and (
        "properties" in node or node.get("type") == "object"
    ):
        node["additionalProperties"] = False
    return node


class CrdSchemas:
    """The CRD schemas found in one directory, by (apiVersion, kind).

    :param directory: folder of CRD YAML files (not searched recursively).
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        if not self.directory.is_dir():
            raise FileNotFoundError(f"CRD directory {self.directory} does not exist")
        self._schemas: dict[tuple[str, str], dict[str, Any]] = {}
        self._lenient: dict[tuple[str, str], dict[str, Any]] = {}
        self._validators: dict[tuple[str, tuple[str, str]], Any] = {}
        for path in sorted(self.directory.iterdir()):
            if path.suffix in (".yml", ".yaml") and path.is_file():
                for doc in yaml.load_all(path.read_text(), Loader=_LOADER):
                    for crd in _crds(doc):
                        self._add(crd)
        if not self._schemas:
            raise ValueError(f"no CustomResourceDefinition found in {self.directory}")

    def _add(self, crd: dict[str, Any]) -> None:
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            schema = copy.deepcopy(version["schema"]["openAPIV3Schema"])
            props = schema.setdefault("properties", {})
            props.setdefault("apiVersion", {"type": "string"})
            props.setdefault("kind", {"type": "string"})
            props.setdefault("metadata", {"type": "object", "x-kubernetes-preserve-unknown-fields": True})
            self._lenient[(f"{group}/{version['name']}", kind)] = schema
            self._schemas[(f"{group}/{version['name']}", kind)] = _strict(schema)

    @property
    def kinds(self) -> list[tuple[str, str]]:
        """The (apiVersion, kind) pairs known."""
        return sorted(self._schemas)

    def covers_group(self, group: str) -> bool:
        """Whether any schema of this API group (e.g. ``flink.apache.org``) is known."""
        return any(api_version.split("/", 1)[0] == group for api_version, _ in self._schemas)

    def covers(self, manifest: dict[str, Any]) -> bool:
        """Whether a schema for this manifest's apiVersion and kind is known."""
        return (manifest.get("apiVersion"), manifest.get("kind")) in self._schemas

    def errors(self, manifest: dict[str, Any], strict: bool = True) -> list[SpecProblem]:
        """Schema errors of one manifest, each naming the field; empty when valid or not covered.

        :param strict: also report fields the schema does not declare (as ``kubectl apply`` does);
            with ``False`` they are ignored, as an API server that prunes them would.
        """
        key = (manifest.get("apiVersion"), manifest.get("kind"))
        if key not in self._schemas:
            return []
        mode = "strict" if strict else "lenient"
        validator = self._validators.get((mode, key))
        if validator is None:
            from openapi_schema_validator import OAS30Validator

            validator = OAS30Validator(self._schemas[key] if strict else self._lenient[key])
            self._validators[(mode, key)] = validator
        problems = []
        for error in sorted(validator.iter_errors(manifest), key=lambda e: list(map(str, e.absolute_path))):
            field = _path(error.absolute_path)
            if error.validator == "additionalProperties" and error.validator_value is False:
                unknown = sorted(set(error.instance) - set(error.schema.get("properties", {})))
                owner = "the core/v1 pod template" if "podTemplate" in field.split(".") else key[1]
                for name in unknown:
                    problems.append(SpecProblem(
                        f"{field}.{name}" if field else name,
                        f"is not a field of {owner} in this CRD version.",
                        "Check the spelling (manifests use camelCase) and the operator version the CRD comes from.",
                    ))
                continue
            problems.append(SpecProblem(field or "(root)", error.message, "Match the CRD schema."))
        return problems


    def prune(self, manifest: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """Drop fields the schema does not declare, as the API server does; return what was dropped."""
        key = (manifest.get("apiVersion"), manifest.get("kind"))
        if key not in self._lenient:
            return manifest, []
        dropped: list[str] = []
        return _prune(manifest, self._lenient[key], "", dropped, root=True), dropped


def _prune(value: Any, schema: dict[str, Any], path: str, dropped: list[str], root: bool = False) -> Any:
    if schema.get("x-kubernetes-preserve-unknown-fields") is True:
        return value
    if isinstance(value, dict):
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        if props is None and isinstance(extra, dict):
            return {k: _prune(v, extra, f"{path}.{k}", dropped) for k, v in value.items()}
        if props is None and extra is None and schema.get("type") != "object":
            return value
        result = {}
        for k, v in value.items():
            if k in (props or {}):
                result[k] = _prune(v, props[k], f"{path}.{k}" if path else k, dropped)
            elif root and k == "metadata":
                result[k] = v
            else:
                dropped.append(f"{path}.{k}" if path else k)
        return result
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [_prune(v, schema["items"], f"{path}[{i}]", dropped) for i, v in enumerate(value)]
    return value


def _crds(doc: Any) -> list[dict[str, Any]]:
    if not isinstance(doc, dict):
        return []
    if doc.get("kind") == "CustomResourceDefinition":
        return [doc]
    if doc.get("kind") in ("List", "CustomResourceDefinitionList"):
        return [item for item in doc.get("items", []) if item.get("kind") == "CustomResourceDefinition"]
    return []


def _path(parts: Any) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def crd_dir_from_env() -> str | None:
    """The ``FLINK_CRD_DIR`` environment variable, if set and not empty."""
    value = os.environ.get(CRD_DIR_ENV, "").strip()
    return value or None
