"""Request routing for :class:`~.server.KubeApiEmulator`: faults first, then ``/version``, discovery,
the resource URL (group, version, namespace, plural, name, subresource) and its verb; reads and pod logs."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from airflow_flink_operator.constants import VERSION
from airflow_flink_operator.testing.apiserver.errors import ApiError, not_found
from airflow_flink_operator.testing.apiserver.go_json import decode_json
from airflow_flink_operator.testing.apiserver.proxy import SERVICES
from airflow_flink_operator.testing.apiserver.resources import (
    BLUE_GREEN_PLURAL,
    SERVER_VERSION,
    SNAPSHOT_PLURAL,
    ResourceType,
)
from airflow_flink_operator.testing.apiserver.selectors import field_selector_matcher, label_selector_matcher


class RoutingMixin:
    """Part of :class:`~.server.KubeApiEmulator`: from an HTTP request to the verb that answers it."""

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        is_watch = request.query.get("watch", "").lower() in ("true", "1")
        fault = self.faults._take(request.method, request.path, is_watch)
        self.request_count += 1
        verb = "WATCH" if is_watch else request.method
        self.requests_by_verb[verb] = self.requests_by_verb.get(verb, 0) + 1
        if self.faults.latency:
            await asyncio.sleep(self.faults.latency)
        if fault == -1:
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=500)
        try:
            if fault is not None:
                if fault == 410 and is_watch:
                    return await self._gone_stream(request)
                raise ApiError(fault, {409: "Conflict", 410: "Expired", 429: "TooManyRequests",
                                       500: "InternalError", 503: "ServiceUnavailable"}.get(fault, "Unknown"),
                               f"injected fault {fault}")
            return await self._dispatch(request, is_watch)
        except ApiError as err:
            return web.json_response(err.status(), status=err.code)

    def stats(self) -> dict[str, Any]:
        """Request counts by verb, open watch streams and DELETE requests with their propagation policy
        (also served at ``/_emulator/stats``)."""
        by_policy: dict[str, int] = {}
        for deletion in self.deletions:
            policy = deletion["propagationPolicy"] or "unset"
            by_policy[policy] = by_policy.get(policy, 0) + 1
        return {"requests": self.request_count, "by_verb": dict(self.requests_by_verb),
                "open_watches": len(self._streams), "objects": len(self.store.objects),
                "deletions": [dict(d) for d in self.deletions], "deletions_by_propagation": by_policy}

    async def _dispatch(self, request: web.Request, is_watch: bool) -> web.StreamResponse:
        parts = [p for p in request.path.split("/") if p]
        if parts == ["_emulator", "stats"]:
            return web.json_response(self.stats())
        if parts == ["version"]:
            return web.json_response(SERVER_VERSION)
        if not parts:
            return web.json_response({"paths": ["/api", "/api/v1", "/apis", "/version"]})
        discovery = self._discovery(parts)
        if discovery is not None:
            return web.json_response(discovery)
        if parts[0] == "api" and len(parts) >= 3 and parts[1] == "v1":
            group, version, rest = "", "v1", parts[2:]
        elif parts[0] == "apis" and len(parts) >= 4:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise ApiError(404, "NotFound", f"the server could not find the requested resource ({request.path})")
        namespace = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            namespace, rest = rest[1], rest[2:]
        if group == "" and namespace and len(rest) >= 3 and rest[0] == "services" and rest[2] == "proxy":
            self._authorize(request, SERVICES, namespace, rest[1], "proxy", False)
            prefix = f"/api/v1/namespaces/{namespace}/services/{rest[1]}/proxy"
            return await self._proxy(request, namespace, rest[1], request.path[len(prefix):] or "/")
        plural, name, sub = rest[0], (rest[1] if len(rest) > 1 else None), (rest[2] if len(rest) > 2 else None)
        rt = self._types.get(plural)
        if rt is None or rt.group != group or rt.version != version or not self._served(rt):
            raise ApiError(404, "NotFound", f"the server could not find the requested resource ({request.path})")
        self._authorize(request, rt, namespace, name, sub, is_watch)
        method = request.method
        if name is None:
            if method == "GET":
                return await (self._watch(request, rt, namespace) if is_watch else self._list(request, rt, namespace))
            if method == "POST" and namespace:
                return await self._create(request, rt, namespace)
            if method == "DELETE" and namespace:
                return await self._delete_collection(request, rt, namespace)
            raise ApiError(405, "MethodNotAllowed", f"{method} is not supported on a collection")
        if namespace is None:
            raise ApiError(404, "NotFound", "namespaced resource requested without a namespace")
        if sub == "log" and rt.log_subresource and method == "GET":
            return self._log(request, namespace, name)
        if sub not in (None, "status") or (sub == "status" and not rt.status_subresource):
            raise ApiError(404, "NotFound", f"subresource {sub!r} not found")
        if method == "GET":
            return web.json_response(self._get(rt, namespace, name))
        if method == "PUT":
            return await self._replace(request, rt, namespace, name, status=sub == "status")
        if method == "PATCH":
            return await self._patch(request, rt, namespace, name, status=sub == "status")
        if method == "DELETE" and sub is None:
            return await self._delete(request, rt, namespace, name)
        raise ApiError(405, "MethodNotAllowed", f"{method} not allowed here")

    def _served(self, rt: ResourceType) -> bool:
        if rt.plural == SNAPSHOT_PLURAL:
            return self.serve_snapshots
        if rt.plural == BLUE_GREEN_PLURAL and self._schemas is not None:
            # with a CRD folder, served only when that operator version has the CRD
            return (rt.api_version, rt.kind) in self._schemas.kinds
        return True

    def _discovery(self, parts: list[str]) -> dict[str, Any] | None:
        served = [rt for rt in self._types.values() if self._served(rt)]
        if parts == ["api"]:
            return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}
        if parts == ["apis"]:
            groups = sorted({rt.group for rt in served if rt.group})
            return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                {"name": g, "versions": [{"groupVersion": f"{g}/{VERSION}", "version": VERSION}],
                 "preferredVersion": {"groupVersion": f"{g}/{VERSION}", "version": VERSION}} for g in groups]}
        if len(parts) == 2 and parts[0] == "apis":
            if not any(rt.group == parts[1] for rt in served):
                raise ApiError(404, "NotFound", f"group {parts[1]} not found")
            return {"kind": "APIGroup", "apiVersion": "v1", "name": parts[1],
                    "versions": [{"groupVersion": f"{parts[1]}/{VERSION}", "version": VERSION}],
                    "preferredVersion": {"groupVersion": f"{parts[1]}/{VERSION}", "version": VERSION}}
        group_version = None
        if parts == ["api", "v1"]:
            group_version = ("", "v1")
        elif len(parts) == 3 and parts[0] == "apis":
            group_version = (parts[1], parts[2])
        if group_version is None:
            return None
        resources = []
        for rt in served:
            if (rt.group, rt.version) != group_version:
                continue
            verbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
            resources.append({"name": rt.plural, "singularName": rt.kind.lower(), "namespaced": True, "kind": rt.kind,
                              "verbs": verbs, "shortNames": list(rt.short_names)})
            if rt.status_subresource:
                resources.append({"name": f"{rt.plural}/status", "singularName": "", "namespaced": True,
                                  "kind": rt.kind, "verbs": ["get", "patch", "update"]})
            if rt.log_subresource:
                resources.append({"name": f"{rt.plural}/log", "singularName": "", "namespaced": True,
                                  "kind": "Pod", "verbs": ["get"]})
        if not resources:
            raise ApiError(404, "NotFound", f"{'/'.join(parts)} not found")
        return {"kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": "/".join(p for p in group_version if p), "resources": resources}

    async def _body(self, request: web.Request) -> Any:
        try:
            return await request.json(loads=decode_json)
        except ValueError as exc:
            raise ApiError(400, "BadRequest", f"invalid JSON body: {exc}") from None

    def _get(self, rt: ResourceType, namespace: str, name: str) -> dict[str, Any]:
        obj = self.store.objects.get((rt.plural, namespace, name))
        if obj is None:
            raise not_found(rt, name)
        return obj

    async def _list(self, request: web.Request, rt: ResourceType, namespace: str | None) -> web.Response:
        labels = label_selector_matcher(request.query.get("labelSelector"))
        fields = field_selector_matcher(request.query.get("fieldSelector"))
        items = [o for (p, ns, _), o in sorted(self.store.objects.items())
                 if p == rt.plural and (namespace is None or ns == namespace)
                 and labels((o["metadata"].get("labels") or {})) and fields(o)]
        return web.json_response({"kind": f"{rt.kind}List", "apiVersion": rt.api_version,
                                  "metadata": {"resourceVersion": str(self.store.rv)}, "items": items})

    def _log(self, request: web.Request, namespace: str, name: str) -> web.Response:
        self._get(self._types["pods"], namespace, name)
        lines = self.pod_logs.get((namespace, name), [])
        tail = request.query.get("tailLines")
        if tail:
            lines = lines[-int(tail):]
        return web.Response(text="".join(line + "\n" for line in lines), content_type="text/plain")
