"""Writes for :class:`~.server.KubeApiEmulator`: create, update (PUT) and patch, on the main resource or
the status subresource, with the API server's rules for ``resourceVersion``, ``generation`` and no-op writes."""

from __future__ import annotations

import copy
import uuid
from typing import Any

from aiohttp import web

from airflow_flink_operator.manifests import merge_patch
from airflow_flink_operator.testing.apiserver.errors import ApiError
from airflow_flink_operator.testing.apiserver.go_json import semantically_equal, stored_form
from airflow_flink_operator.testing.apiserver.patch import json_patch
from airflow_flink_operator.testing.apiserver.resources import ResourceType, now_iso


def _non_metadata(obj: dict[str, Any]) -> dict[str, Any]:
    """customResourceStrategy's ``copyNonMetadata``: everything but ``metadata``."""
    return {key: value for key, value in obj.items() if key != "metadata"}


class WritesMixin:
    """Part of :class:`~.server.KubeApiEmulator`: the verbs that create and change objects."""

    async def _create(self, request: web.Request, rt: ResourceType, namespace: str) -> web.Response:
        body = await self._body(request)
        if not isinstance(body, dict):
            raise ApiError(400, "BadRequest", "body must be an object")
        metadata = dict(body.get("metadata") or {})
        name = metadata.get("name")
        if not name and metadata.get("generateName"):
            name = metadata["generateName"] + uuid.uuid4().hex[:5]
        if not name:
            raise ApiError(422, "Invalid", "metadata.name: Required value: name or generateName is required")
        if metadata.get("namespace") not in (None, namespace):
            raise ApiError(400, "BadRequest", "the namespace of the object does not match the namespace on the request")
        key = (rt.plural, namespace, name)
        if key in self.store.objects:
            raise ApiError(409, "AlreadyExists", f'{rt.plural}.{rt.group or "core"} "{name}" already exists',
                           {"name": name, "group": rt.group, "kind": rt.plural})
        obj = copy.deepcopy(body)
        obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
        for transient in ("resourceVersion", "uid", "creationTimestamp", "deletionTimestamp", "generation",
                          "managedFields", "selfLink"):
            metadata.pop(transient, None)
        metadata.update(name=name, namespace=namespace, uid=str(uuid.uuid4()), creationTimestamp=now_iso(),
                        generation=1)
        obj["metadata"] = metadata
        if rt.status_subresource and rt.group:
            obj.pop("status", None)
        obj = self._prune(rt, obj, request)
        self._check_schema(rt, obj)
        obj = stored_form(obj)
        obj["metadata"]["resourceVersion"] = self.store.next_rv()
        self.store.objects[key] = obj
        self.store.record("ADDED", rt.plural, namespace, obj, None)
        if obj["metadata"].get("ownerReferences"):
            self._schedule_gc()  # the collector also deletes dependents whose owners do not exist
        return web.json_response(obj, status=201)

    def _check_rv(self, current: dict[str, Any], body: dict[str, Any], rt: ResourceType, name: str) -> None:
        wanted = (body.get("metadata") or {}).get("resourceVersion")
        if wanted and wanted != current["metadata"]["resourceVersion"]:
            raise ApiError(409, "Conflict",
                           f'Operation cannot be fulfilled on {rt.plural}.{rt.group or "core"} "{name}": '
                           "the object has been modified; please apply your changes to the latest version and try again",
                           {"name": name, "group": rt.group, "kind": rt.plural})

    def _store_update(self, rt: ResourceType, namespace: str, current: dict[str, Any], new: dict[str, Any],
                      request: web.Request, status: bool) -> dict[str, Any]:
        """Write an update with the main resource's or the status subresource's semantics.

        As customResourceStrategy.PrepareForUpdate (k8s.io/apiextensions-apiserver
        pkg/registry/customresource/strategy.go): an update of the main resource keeps the stored
        status, and ``metadata.generation`` goes up by one when everything but ``metadata`` is not
        ``apiequality.Semantic.DeepEqual`` to the stored object — compared as decoded, so ``1.0`` sent
        against ``1`` stored is a change. The status subresource's strategy copies the stored object
        and takes only ``status`` from the request (no generation change). A write whose stored form
        is the stored object's is a no-op (the same resourceVersion), as the storage layer's
        byte comparison of the encoded objects makes it.
        """
        if status:
            merged = copy.deepcopy(current)
            merged["status"] = copy.deepcopy(new.get("status"))
            if merged["status"] is None:
                merged.pop("status")
        else:
            keep = {k: current["metadata"][k] for k in ("uid", "creationTimestamp", "namespace", "name", "generation",
                                                        "deletionTimestamp", "deletionGracePeriodSeconds")
                    if k in current["metadata"]}
            merged = {k: copy.deepcopy(v) for k, v in new.items() if k != "status" or not rt.status_subresource}
            if rt.status_subresource and "status" in current:
                merged["status"] = copy.deepcopy(current["status"])
            merged["metadata"] = {**copy.deepcopy(new.get("metadata") or {}), **keep}
            merged["apiVersion"], merged["kind"] = rt.api_version, rt.kind
            self._check_new_finalizers(rt, current, merged)
            merged = self._prune(rt, merged, request)
            if rt.group and not semantically_equal(_non_metadata(merged), _non_metadata(current)):
                merged["metadata"]["generation"] = int(current["metadata"].get("generation", 1)) + 1
            self._check_schema(rt, merged)
        merged["metadata"].pop("managedFields", None)
        merged = stored_form(merged)
        if self._same(merged, current):
            return current
        return self._commit(rt.plural, namespace, current, merged)

    def _commit(self, plural: str, namespace: str, current: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
        """Store ``new`` over ``current`` with a new resourceVersion and tell the watches.

        An object that is being deleted and has no finalizer left is removed instead.
        """
        new["metadata"]["resourceVersion"] = self.store.next_rv()
        key = (plural, namespace, current["metadata"]["name"])
        if new["metadata"].get("deletionTimestamp") and not new["metadata"].get("finalizers"):
            self._remove(key, new, current)
            return new
        self.store.objects[key] = new
        self.store.record("MODIFIED", plural, namespace, new, current)
        if new["metadata"].get("deletionTimestamp") or (
                new["metadata"].get("ownerReferences") != current["metadata"].get("ownerReferences")):
            self._schedule_gc()
        return new

    def _remove(self, key: tuple[str, str, str], gone: dict[str, Any], before: dict[str, Any]) -> None:
        plural, namespace, name = key
        self.store.objects.pop(key, None)
        self.store.record("DELETED", plural, namespace, gone, before)
        if plural == "pods":
            self.pod_logs.pop((namespace, name), None)
        self._schedule_gc()

    @staticmethod
    def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
        strip = lambda o: {**o, "metadata": {k: v for k, v in o["metadata"].items() if k != "resourceVersion"}}  # noqa: E731
        return semantically_equal(strip(a), strip(b))

    async def _replace(self, request: web.Request, rt: ResourceType, namespace: str, name: str,
                       status: bool) -> web.Response:
        body = await self._body(request)
        current = self._get(rt, namespace, name)
        self._check_rv(current, body, rt, name)
        return web.json_response(self._store_update(rt, namespace, current, body, request, status))

    async def _patch(self, request: web.Request, rt: ResourceType, namespace: str, name: str,
                     status: bool) -> web.Response:
        """Merge and JSON patches. The values a patch carries are decoded as a request body is, the
        rest of the object is the stored form — as the API server applies the patch to the stored
        object's JSON and decodes the result — so ``{"spec": {"cpu": 1.0}}`` over a stored ``1`` is a
        spec change."""
        content_type = request.content_type
        if content_type == "application/strategic-merge-patch+json" and rt.group:
            # custom resources have no patch strategy: the CRD handler accepts JSON, merge and apply
            # patches only (apiextensions-apiserver pkg/apiserver/customresource_handler.go)
            raise ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - "
                           "accepted media types include: application/json-patch+json, "
                           "application/merge-patch+json, application/apply-patch+yaml")
        body = await self._body(request)
        current = self._get(rt, namespace, name)
        if content_type in ("application/merge-patch+json", "application/strategic-merge-patch+json"):
            if not isinstance(body, dict):
                raise ApiError(400, "BadRequest", "a merge patch must be an object")
            self._check_rv(current, body, rt, name)
            new = merge_patch(current, body)
        elif content_type == "application/json-patch+json":
            if not isinstance(body, list):
                raise ApiError(400, "BadRequest", "a JSON patch must be a list of operations")
            try:
                new = json_patch(current, body)
            except (KeyError, IndexError, ValueError, TypeError) as exc:
                raise ApiError(422, "Invalid", f"the JSON patch could not be applied: {exc}") from None
        else:
            raise ApiError(415, "UnsupportedMediaType", f"the patch content type {content_type!r} is not supported")
        if not status:
            new["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        return web.json_response(self._store_update(rt, namespace, current, new, request, status))
