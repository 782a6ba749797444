"""The service proxy of :class:`~.server.KubeApiEmulator`:
``/api/v1/namespaces/<ns>/services/<id>/proxy/<path>`` forwarded to a registered backend, answered as a
kube-apiserver answers it.

What it follows (Kubernetes, ``pkg/registry/core/service/storage``, ``REST.ResourceLocation`` and
``ProxyREST.Connect``; apimachinery ``util/net.SplitSchemeNamePort`` and ``util/proxy.Transport.RoundTrip``):

- ``<id>`` is ``<svc>``, ``<svc>:<port>`` or ``<scheme>:<svc>:<port>`` with the scheme ``http``, ``https`` or
  empty; anything else is ``400 BadRequest`` ``invalid service request "<id>"``;
- a port *number* is looked up among the Service's ports first: an unknown Service is ``404`` ``services "<svc>"
  not found``, an unknown number ``503`` ``no service port <n> found for service "<svc>"``;
- then the Endpoints: none is ``404`` ``endpoints "<svc>" not found``; no ready address ``503`` ``no endpoints
  available for service "<svc>"``; no endpoint port of that name ``503`` ``no endpoints available for service
  "<id>"`` (the whole id, as upstream formats it);
- a backend that cannot be reached is ``503`` ``error trying to reach service: <error>``; otherwise its status,
  body and ``Content-Type`` are relayed unchanged.

The emulator has no Service or Endpoints objects: a registration (:meth:`ProxyMixin.register_service`) is both,
and :attr:`ProxyMixin.service_resolver` is asked for services nobody registered (the simulated Flink operator
serves its JobManagers' REST API that way).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout, web

from airflow_flink_operator.testing.apiserver.errors import ApiError
from airflow_flink_operator.testing.apiserver.resources import ResourceType

#: What a handler backend is called with: ``(method, path, query, body)``; it answers ``(status, body)``.
ProxyHandler = Callable[[str, str, dict[str, str], bytes], Any]
#: Flink's ``<cluster-id>-rest`` Service: one port named ``rest``, Flink's ``rest.port`` (8081).
FLINK_REST_PORTS = {"rest": 8081}
#: The RBAC resource a proxy request is authorised against.
SERVICES = ResourceType("", "v1", "services", "Service", ("svc",))
#: ``ProxyREST.ConnectMethods`` plus PATCH (proxyMethods of current releases).
PROXY_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
_HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "upgrade"}


@dataclass
class ServiceBackend:
    """A Service and its Endpoints in one: where the proxy sends a request.

    :param target: a base URL (``http://127.0.0.1:8081``; the proxied path is appended) or a handler
        ``(method, path, query, body) -> (status, body)``, plain or ``async``; a body that is not ``bytes`` or
        ``str`` is sent as JSON.
    :param ports: the Service's ports, name → number.
    :param ready: whether the Service has a ready endpoint (``False``: 503, as before the pod is ready).
    """

    target: str | ProxyHandler
    ports: dict[str, int] = field(default_factory=lambda: dict(FLINK_REST_PORTS))
    ready: bool = True


def split_scheme_name_port(service_id: str) -> tuple[str, str, str] | None:
    """``utilnet.SplitSchemeNamePort``: ``(scheme, name, port)`` of a proxy id, ``None`` when it is invalid."""
    parts = service_id.split(":")
    if len(parts) == 1:
        scheme, name, port = "", parts[0], ""
    elif len(parts) == 2:
        scheme, name, port = "", parts[0], parts[1]
    elif len(parts) == 3:
        scheme, name, port = parts
    else:
        return None
    if not name or scheme not in ("", "http", "https"):
        return None
    return scheme, name, port


class ProxyMixin:
    """Part of :class:`~.server.KubeApiEmulator`: the ``services/<id>/proxy`` subresource."""

    _service_backends: dict[tuple[str, str], ServiceBackend]
    #: asked for ``(namespace, service)`` nobody registered; answers a :class:`ServiceBackend` or ``None``.
    service_resolver: Callable[[str, str], ServiceBackend | None] | None

    def register_service(self, namespace: str, name: str, target: str | ProxyHandler, *,
                         ports: dict[str, int] | None = None, ready: bool = True) -> ServiceBackend:
        """Make ``<name>`` in ``namespace`` a Service whose proxy reaches ``target`` (replacing any earlier one).

        :param target: a base URL on 127.0.0.1, or an in-process handler (see :class:`ServiceBackend`).
        :param ports: port name → number (default Flink's ``{"rest": 8081}``).
        :param ready: ``False`` for a Service without ready endpoints yet (the proxy answers 503).
        """
        if isinstance(target, str) and not target.startswith(("http://", "https://")):
            raise ValueError(f"a proxy backend URL must start with http:// or https://, not {target!r}")
        backend = ServiceBackend(target, dict(ports if ports is not None else FLINK_REST_PORTS), ready)
        self._service_backends[(namespace, name)] = backend
        return backend

    def unregister_service(self, namespace: str, name: str) -> None:
        """Remove the Service (its proxy answers 404 again, unless the resolver knows it)."""
        self._service_backends.pop((namespace, name), None)

    def registered_service(self, namespace: str, name: str) -> ServiceBackend | None:
        """The backend registered for ``<name>`` (not the resolver's), or ``None``."""
        return self._service_backends.get((namespace, name))

    def _service_backend(self, namespace: str, name: str) -> ServiceBackend | None:
        backend = self._service_backends.get((namespace, name))
        if backend is None and self.service_resolver is not None:
            backend = self.service_resolver(namespace, name)
        return backend

    async def _proxy(self, request: web.Request, namespace: str, service_id: str, path: str) -> web.StreamResponse:
        """Answer one proxied request (RBAC already checked)."""
        if request.method not in PROXY_METHODS:
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        split = split_scheme_name_port(service_id)
        if split is None:
            raise ApiError(400, "BadRequest", f"invalid service request {json.dumps(service_id)}")
        _, name, port = split
        backend = self._service_backend(namespace, name)
        if port.isdigit():
            if backend is None:
                raise ApiError(404, "NotFound", f'services "{name}" not found',
                               {"name": name, "kind": "services"})
            by_number = [port_name for port_name, number in backend.ports.items() if number == int(port)]
            if not by_number:
                raise ApiError(503, "ServiceUnavailable", f'no service port {int(port)} found for service "{name}"')
            port = by_number[0]
        if backend is None:
            raise ApiError(404, "NotFound", f'endpoints "{name}" not found', {"name": name, "kind": "endpoints"})
        if not backend.ready:
            raise ApiError(503, "ServiceUnavailable", f'no endpoints available for service "{name}"')
        if port not in backend.ports:
            raise ApiError(503, "ServiceUnavailable", f'no endpoints available for service "{service_id}"')
        body = await request.read()
        query = dict(request.query)
        if callable(backend.target):
            return await self._call_handler(backend.target, request.method, path, query, body)
        return await self._forward(backend.target, request, path, body)

    @staticmethod
    async def _call_handler(handler: ProxyHandler, method: str, path: str, query: dict[str, str],
                            body: bytes) -> web.Response:
        answer = handler(method, path, query, body)
        if inspect.isawaitable(answer):
            answer = await answer
        status, payload = answer
        if isinstance(payload, bytes):
            return web.Response(status=status, body=payload, content_type="application/octet-stream")
        if isinstance(payload, str):
            return web.Response(status=status, text=payload, content_type="text/plain")
        return web.Response(status=status, text=json.dumps(payload), content_type="application/json")

    async def _forward(self, base: str, request: web.Request, path: str, body: bytes) -> web.Response:
        url = base.rstrip("/") + path
        headers = {k: v for k, v in request.headers.items()
                   if k.lower() not in _HOP_HEADERS and k.lower() not in ("host", "authorization")}
        try:
            async with ClientSession(timeout=ClientTimeout(total=60)) as session:
                async with session.request(request.method, url, params=request.query, data=body or None,
                                           headers=headers, allow_redirects=False) as answer:
                    payload = await answer.read()
                    relayed = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP_HEADERS}
                    return web.Response(status=answer.status, body=payload, headers=relayed)
        except (ClientError, OSError, TimeoutError) as exc:
            raise ApiError(503, "ServiceUnavailable", f"error trying to reach service: {exc}") from None
