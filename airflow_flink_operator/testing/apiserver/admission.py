"""Admission for :class:`~.server.KubeApiEmulator`: RBAC for restricted tokens, and the CRD schemas
(unknown fields pruned or refused, ``422 Invalid`` naming the field), as the API server checks them."""

from __future__ import annotations

import functools
import json
from typing import Any

from aiohttp import web

from airflow_flink_operator.testing.apiserver.errors import ApiError
from airflow_flink_operator.testing.apiserver.go_json import stored_form
from airflow_flink_operator.testing.apiserver.resources import ResourceType


@functools.lru_cache(maxsize=4)
def crd_schemas(crd_dir: str) -> Any:
    from airflow_flink_operator.crd_schema import CrdSchemas

    return CrdSchemas(crd_dir)


class AdmissionMixin:
    """Part of :class:`~.server.KubeApiEmulator`: who may do what, and what a CRD lets in."""

    def _authorize(self, request: web.Request, rt: ResourceType, namespace: str | None, name: str | None,
                   sub: str | None, is_watch: bool) -> None:
        """RBAC for restricted tokens: the verb on (group, resource[/subresource]) in the Role's namespace."""
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if token and token in self.expired_tokens:
            raise ApiError(401, "Unauthorized", "Unauthorized")
        role = self.roles.get(token)
        if role is None:
            return
        verb = {"GET": "watch" if is_watch else ("get" if name else "list"), "HEAD": "get", "POST": "create",
                "PUT": "update", "PATCH": "patch",
                "DELETE": "delete" if name else "deletecollection"}.get(request.method, "unknown")
        resource = f"{rt.plural}/{sub}" if sub else rt.plural
        role_ns = (role.get("metadata") or {}).get("namespace")
        allowed = namespace is not None and namespace == role_ns and any(
            (rt.group in rule.get("apiGroups", []) or "*" in rule.get("apiGroups", []))
            and (resource in rule.get("resources", []) or "*" in rule.get("resources", []))
            and (verb in rule.get("verbs", []) or "*" in rule.get("verbs", []))
            for rule in role.get("rules", []))
        if not allowed:
            where = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
            self.denied.append(f"{verb} {resource} {where}")
            raise ApiError(403, "Forbidden", f'{resource}{"." + rt.group if rt.group else ""} is forbidden: '
                           f'User "restricted" cannot {verb} resource "{resource}" in API group "{rt.group}" {where}')

    def _prune(self, rt: ResourceType, obj: dict[str, Any], request: web.Request) -> dict[str, Any]:
        """Drop fields the CRD schema does not declare, as the API server's decoder does."""
        if self._schemas is None or not rt.group:
            return obj
        pruned, dropped = self._schemas.prune(obj)
        if dropped and request.query.get("fieldValidation") == "Strict":
            raise ApiError(400, "BadRequest", "strict decoding error: " + ", ".join(
                f'unknown field "{path}"' for path in dropped))
        return pruned

    def _check_schema(self, rt: ResourceType, obj: dict[str, Any]) -> None:
        """``422 Invalid`` naming each field that breaks the CRD schema."""
        if self._schemas is None or not rt.group:
            return
        # kube-openapi takes an integral float64 (``2.0``) for ``type: integer`` (go-openapi
        # swag.IsFloat64AJSONInteger); the stored form turns it into the int the Python validator wants.
        problems = self._schemas.errors(stored_form(obj), strict=False)
        if problems:
            name = obj["metadata"].get("name", "")
            causes = [{"reason": "FieldValueInvalid", "message": p.message, "field": p.field} for p in problems]
            raise ApiError(422, "Invalid", f'{rt.kind}.{rt.group} "{name}" is invalid: '
                           + "; ".join(f"{p.field}: {p.message}" for p in problems),
                           {"name": name, "group": rt.group, "kind": rt.kind, "causes": causes})

    @staticmethod
    def _check_new_finalizers(rt: ResourceType, current: dict[str, Any], new: dict[str, Any]) -> None:
        """ValidateObjectMetaUpdate: no finalizer may be added to an object that is being deleted."""
        if not current["metadata"].get("deletionTimestamp"):
            return
        before = set(current["metadata"].get("finalizers") or [])
        added = [f for f in new["metadata"].get("finalizers") or [] if f not in before]
        if added:
            name = current["metadata"]["name"]
            raise ApiError(422, "Invalid", f'{rt.kind} "{name}" is invalid: metadata.finalizers: Forbidden: '
                           "no new finalizers can be added if the object is being deleted, found new finalizers "
                           + "[]string{" + ", ".join(json.dumps(f) for f in added) + "}",
                           {"name": name, "group": rt.group, "kind": rt.kind})
