"""The trigger side's Kubernetes REST calls without ``kubernetes_asyncio``: plain HTTP with ``httpx2``,
configured by lightkube's kubeconfig layer (``lightkube.config``: ``KubeConfig``, ``user_auth``, ``verify_cluster``).

``kubernetes_asyncio`` imports all its ~770 generated models and ~66 API classes on any use, some 35 MB per
triggerer; a wait needs five REST calls (GET, LIST, WATCH, merge-PATCH, DELETE) and the service proxy's GET.
lightkube reads the kubeconfig and builds the credentials and TLS context (token, ``tokenFile`` re-read on
``401``, exec plugin re-run on ``401``, basic auth, client certificates, CA file/data), at about 2 MB.

What lightkube does not serve (:func:`unsupported`) stays with ``kubernetes_asyncio``
(:mod:`.kube_asyncio`): an ``auth-provider`` user, an exec plugin of another ``apiVersion``, a cluster with
``tls-server-name`` or ``proxy-url``, several default kubeconfig files to merge, a kubeconfig lightkube
cannot parse.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx2
import yaml
from lightkube.config.client_adapter import user_auth, verify_cluster
from lightkube.config.kubeconfig import KubeConfig
from lightkube.config.models import Cluster, User
from lightkube.core.exceptions import ConfigError

from airflow_flink_operator.constants import GROUP, VERSION
from airflow_flink_operator.hooks.common import MERGE_PATCH
from airflow_flink_operator.hooks.kubeconfig import default_kubeconfig

#: Where a pod has its service account (what ``kubernetes_asyncio.config.incluster_config`` reads).
SERVICE_TOKEN_FILENAME = "/var/run/secrets/kubernetes.io/serviceaccount/token"
SERVICE_CERT_FILENAME = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"
#: Exec-plugin API versions lightkube's ``ExecAuth`` runs (``client_adapter.ExecAuth._prepare``).
EXEC_API_VERSIONS = ("client.authentication.k8s.io/v1alpha1", "client.authentication.k8s.io/v1beta1")

# httpx2 logs every request at INFO ("HTTP Request: GET <url> ..."): one line per watch restart and GET of
# every wait in a triggerer's log, with the server's URL. Quiet unless the deployment set its level.
if logging.getLogger("httpx2").level == logging.NOTSET:
    logging.getLogger("httpx2").setLevel(logging.WARNING)

__all__ = ["ApiStatus", "ConfigError", "HttpApi", "LightConfig", "load_light_config", "unsupported"]


class ApiStatus(Exception):
    """An API answer of ``400`` or more: what ``kubernetes_asyncio``'s ``ApiException`` carries
    (``status``, ``reason``, ``body``), so that :func:`~.common._api_reason` reads both alike."""

    def __init__(self, status: int | None, reason: str, body: str | None = None) -> None:
        self.status, self.reason, self.body = status, reason, body
        super().__init__(f"({status}) Reason: {reason}")


@dataclass(frozen=True)
class LightConfig:
    """A connection lightkube serves: the server, its TLS context, the user (``None``: no credentials)."""

    server: str
    ssl_context: ssl.SSLContext
    user: User | None


def unsupported(kubeconfig: dict[str, Any], context: str | None) -> str | None:
    """Why lightkube cannot serve the kubeconfig's active context (``None``: it can). Names settings, never values."""
    active = context or kubeconfig.get("current-context")
    ctx = _named(kubeconfig.get("contexts"), active, "context")
    if ctx is None:
        return f"no context {active!r} in the kubeconfig"
    cluster = _named(kubeconfig.get("clusters"), ctx.get("cluster"), "cluster") or {}
    user = _named(kubeconfig.get("users"), ctx.get("user"), "user") or {}
    for key in ("tls-server-name", "proxy-url"):
        if cluster.get(key):
            return f"its cluster sets {key}"
    if user.get("auth-provider"):
        return f"its user uses the auth-provider {str((user['auth-provider'] or {}).get('name'))[:40]!r}"
    exec_version = (user.get("exec") or {}).get("apiVersion") if isinstance(user.get("exec"), dict) else None
    if user.get("exec") and exec_version not in EXEC_API_VERSIONS:
        return f"its user's exec plugin speaks {str(exec_version)[:60]!r}"
    return None


def _named(entries: Any, name: Any, key: str) -> dict[str, Any] | None:
    for entry in entries or []:
        if isinstance(entry, dict) and entry.get("name") == name and isinstance(entry.get(key), dict):
            return entry[key]
    return None


def load_light_config(*, in_cluster: bool, data: dict[str, Any] | None, path: str | None,
                      context: str | None) -> LightConfig | str:
    """The connection as lightkube reads it, or why it cannot (then ``kubernetes_asyncio`` serves it).

    Blocking (reads files, loads CA bundles: 20-80 ms of CPU): run it in a worker thread.

    :param in_cluster: the pod's service account.
    :param data: an inline kubeconfig (the connection's ``kube_config``, the hook's ``config_dict``).
    :param path: a kubeconfig file (``None`` with no ``data``: the default one).
    :param context: the kubeconfig context (``None``: its ``current-context``).
    :raises ConfigError: for an in-cluster connection outside a pod (as ``kubernetes_asyncio`` raises).
    """
    if in_cluster:
        host, port = os.environ.get("KUBERNETES_SERVICE_HOST"), os.environ.get("KUBERNETES_SERVICE_PORT")
        if not host or not port:
            raise ConfigError("Service host/port is not set.")
        if not os.path.isfile(SERVICE_TOKEN_FILENAME):
            raise ConfigError("Service token file does not exist.")
        host = f"[{host}]" if ":" in host else host
        cluster = Cluster(server=f"https://{host}:{port}", certificate_auth=SERVICE_CERT_FILENAME)
        kubeconfig = KubeConfig.from_one(cluster=cluster, user=User(token_file=SERVICE_TOKEN_FILENAME))
    else:
        if data is None:
            path = path or default_kubeconfig()
            if path is None:
                return "several (or no) default kubeconfig files to merge"
            try:
                with open(os.path.expanduser(path)) as handle:
                    data = yaml.safe_load(handle)
            except (OSError, yaml.YAMLError) as exc:
                return f"its kubeconfig file cannot be read ({type(exc).__name__})"
        if not isinstance(data, dict):
            return "its kubeconfig is not a mapping"
        reason = unsupported(data, context)
        if reason:
            return reason
        try:
            kubeconfig = KubeConfig.from_dict(data, fname=os.path.expanduser(path) if path else None)
        except Exception as exc:  # msgspec.ValidationError, KeyError...: kubernetes_asyncio says what is wrong
            return f"lightkube cannot read the kubeconfig ({type(exc).__name__})"
    single = kubeconfig.get(context_name=context)
    assert single is not None  # get() without a default raises instead
    context_ssl = verify_cluster(single.cluster, single.user or User(), single.abs_file)
    if single.cluster.insecure:  # with a CA too, as kubernetes_asyncio's verify_ssl=False
        context_ssl.check_hostname = False
        context_ssl.verify_mode = ssl.CERT_NONE
    return LightConfig(single.cluster.server, context_ssl, single.user)


class NeedsKubernetesAsyncio(Exception):
    """The credentials turned out to be something lightkube cannot use (an exec plugin that answers with a
    client certificate instead of a token): the hook switches to ``kubernetes_asyncio``."""


class _CountingAuth(httpx2.Auth):
    """lightkube's auth, calling ``on_reload`` whenever it answers a ``401`` with fresh credentials (a re-run
    exec plugin, a re-read token file): the hook counts credential reloads (``credential_reloads``)."""

    def __init__(self, inner: httpx2.Auth, on_reload: Callable[[], None]) -> None:
        self.inner, self.on_reload = inner, on_reload

    async def async_auth_flow(self, request: httpx2.Request) -> AsyncIterator[httpx2.Request]:  # type: ignore[override]
        flow = self.inner.async_auth_flow(request)
        try:
            request = await flow.__anext__()
        except KeyError as exc:  # lightkube's ExecAuth reads only status.token of the ExecCredential
            raise NeedsKubernetesAsyncio(f"its exec plugin answered without status.{exc.args[0]}") from None
        while True:
            response = yield request
            try:
                request = await flow.asend(response)
            except StopAsyncIteration:
                return
            except KeyError as exc:
                raise NeedsKubernetesAsyncio(f"its exec plugin answered without status.{exc.args[0]}") from None
            if response.status_code == 401:
                self.on_reload()


def http_client(config: LightConfig, timeout: float, on_reload: Callable[[], None]) -> httpx2.AsyncClient:
    """An ``httpx2`` client for the connection (cheap: the TLS context is built already)."""
    auth = user_auth(config.user)
    return httpx2.AsyncClient(
        base_url=config.server, verify=config.ssl_context, timeout=httpx2.Timeout(timeout), trust_env=True,
        auth=_CountingAuth(auth, on_reload) if auth is not None else None, headers={"Accept": "application/json"})


class HttpApi:
    """The REST calls a wait makes, on one ``httpx2`` client (shared by every call of a hook).

    Answers of ``400`` and more raise :class:`ApiStatus`; a lost connection raises ``httpx2.TransportError``.
    """

    def __init__(self, client: httpx2.AsyncClient) -> None:
        self.client = client

    async def call(self, method: str, path: str, *, params: dict[str, Any] | None = None, body: Any = None,
                   content_type: str = "application/json") -> Any:
        """One request; the answer's JSON."""
        content = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": content_type} if content is not None else None
        response = await self.client.request(method, path, params=params, content=content, headers=headers)
        if response.status_code >= 400:
            raise ApiStatus(response.status_code, response.reason_phrase, response.text)
        return response.json()

    async def raw_get(self, path: str) -> tuple[int, bytes]:
        """One GET whatever its status (the service proxy's answers are the status model's to judge)."""
        response = await self.client.get(path)
        return response.status_code, response.content

    async def watch(self, path: str, params: dict[str, Any], timeout: float) -> AsyncIterator[dict[str, Any]]:
        """A WATCH's events (BOOKMARKs included) until the server ends it; an ``ERROR`` event (``410 Gone``)
        raises :class:`ApiStatus` as ``kubernetes_asyncio``'s ``Watch.unmarshal_event`` does."""
        async with self.client.stream("GET", path, params={**params, "watch": "true"},
                                      timeout=httpx2.Timeout(timeout)) as response:
            if response.status_code >= 400:
                await response.aread()
                raise ApiStatus(response.status_code, response.reason_phrase, response.text)
            async for line in response.aiter_lines():
                if not line.strip():
                    continue
                event = json.loads(line)
                if "object" not in event or "type" not in event:
                    if "code" in event:
                        raise ApiStatus(event["code"], f"{event.get('reason')}: {event.get('message')}")
                    raise ValueError("a watch event without 'type' and 'object'")
                if event["type"] == "ERROR":
                    status = event["object"] or {}
                    raise ApiStatus(status.get("code"), f"{status.get('reason')}: {status.get('message')}")
                yield event

    # -- what a wait asks (the same methods as kube_asyncio.LegacyApi) --

    async def get(self, plural: str, namespace: str, name: str) -> dict[str, Any]:
        return await self.call("GET", f"{_custom(namespace, plural)}/{quote(name, safe='')}")

    async def list(self, plural: str, namespace: str, field_selector: str | None) -> dict[str, Any]:
        return await self.call("GET", _custom(namespace, plural), params=_selector(field_selector))

    def watch_events(self, plural: str, namespace: str, resource_version: str, field_selector: str | None,
                     timeout: int) -> AsyncIterator[dict[str, Any]]:
        params = {"resourceVersion": resource_version, "allowWatchBookmarks": "true", "timeoutSeconds": str(timeout),
                  **_selector(field_selector)}
        return self.watch(_custom(namespace, plural), params, timeout + 10)

    async def merge_patch(self, plural: str, namespace: str, name: str, body: dict[str, Any]) -> Any:
        return await self.call("PATCH", f"{_custom(namespace, plural)}/{quote(name, safe='')}", body=body,
                               content_type=MERGE_PATCH)

    async def delete(self, plural: str, namespace: str, name: str) -> Any:
        return await self.call("DELETE", f"{_custom(namespace, plural)}/{quote(name, safe='')}",
                               body={"propagationPolicy": "Background"})

    async def proxy_get(self, service: str, namespace: str, path: str) -> tuple[int, bytes]:
        """GET ``path`` of a Service through the API server's proxy (``path`` quoted as kubernetes_asyncio
        quotes it, ``/`` kept)."""
        return await self.raw_get(f"/api/v1/namespaces/{quote(namespace, safe='')}/services/"
                                  f"{quote(service, safe=':')}/proxy/{quote(path, safe='/')}")

    async def aclose(self) -> None:
        with contextlib.suppress(Exception):
            await self.client.aclose()


def _custom(namespace: str, plural: str) -> str:
    return f"/apis/{GROUP}/{VERSION}/namespaces/{quote(namespace, safe='')}/{plural}"


def _selector(field_selector: str | None) -> dict[str, str]:
    return {"fieldSelector": field_selector} if field_selector else {}


def transient(exc: BaseException) -> bool:
    """A lost or refused connection, a timeout: worth another try."""
    return isinstance(exc, (httpx2.TransportError, OSError, TimeoutError))
