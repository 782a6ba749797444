"""The trigger side's Kubernetes REST calls without ``kubernetes_asyncio``: plain HTTP with ``httpx2``,
configured by lightkube's kubeconfig layer (``lightkube.config``: ``KubeConfig``, ``user_auth``, ``ExecAuth``).

``kubernetes_asyncio`` imports all its ~770 generated models and ~66 API classes on any use, some 35 MB per
triggerer; a wait needs five REST calls (GET, LIST, WATCH, merge-PATCH, DELETE) and the service proxy's GET.
lightkube reads the kubeconfig and builds the credentials and TLS context (token, ``tokenFile`` re-read on
``401``, exec plugin re-run on ``401``, basic auth, client certificates, CA file/data), at about 2 MB;
where its reading differs from ``kubernetes_asyncio``'s (which CA or credential wins, relative ``tokenFile``,
the trust store with no CA named) this module reads it as ``kubernetes_asyncio`` does.

What lightkube does not serve (:func:`unsupported`) stays with ``kubernetes_asyncio``
(:mod:`.kube_asyncio`): an ``auth-provider`` user, an exec plugin of another ``apiVersion``, a cluster with
``tls-server-name`` or ``proxy-url``, several default kubeconfig files to merge, a kubeconfig lightkube
cannot parse.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx2
import msgspec
import yaml
from lightkube.config.client_adapter import ExecAuth, async_check_output, user_auth, user_cert
from lightkube.config.kubeconfig import KubeConfig, SingleConfig
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
    """A connection lightkube serves: the server, its TLS context, the user (``None``: no credentials;
    never in a ``repr``: it holds tokens, passwords, keys)."""

    server: str
    ssl_context: ssl.SSLContext
    user: User | None = field(repr=False)


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
    :raises ConfigError: for an in-cluster connection outside a pod (as ``kubernetes_asyncio`` raises), a CA
        or client certificate that cannot be loaded (a missing file: not worth retrying, unlike a lost connection).
    """
    if in_cluster:
        host, port = os.environ.get("KUBERNETES_SERVICE_HOST"), os.environ.get("KUBERNETES_SERVICE_PORT")
        if not host or not port:
            raise ConfigError("Service host/port is not set.")
        if not os.path.isfile(SERVICE_TOKEN_FILENAME):
            raise ConfigError("Service token file does not exist.")
        if not os.path.isfile(SERVICE_CERT_FILENAME):  # as kubernetes_asyncio's InClusterConfigLoader checks
            raise ConfigError("Service certification file does not exist.")
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
    cluster, user = _as_kubernetes_asyncio_reads(single)
    return LightConfig(cluster.server, _tls_context(cluster, user, single.abs_file), user)


def _as_kubernetes_asyncio_reads(single: SingleConfig) -> tuple[Cluster, User | None]:
    """The cluster and user with the settings ``kubernetes_asyncio`` (and client-go) would use, where
    lightkube's precedence differs: ``certificate-authority-data`` over ``certificate-authority``; an exec
    plugin, then ``token`` over ``tokenFile``, then basic auth (``KubeConfigLoader._load_authentication``);
    a relative ``tokenFile`` under the kubeconfig's folder (lightkube reads it from the working directory)."""
    cluster, user = single.cluster, single.user
    if cluster.certificate_auth_data and cluster.certificate_auth:
        cluster = msgspec.structs.replace(cluster, certificate_auth=None)
    if user is None:
        return cluster, None
    if user.exec:
        user = msgspec.structs.replace(user, token=None, token_file=None, username=None, password=None)
    elif user.token:
        user = msgspec.structs.replace(user, token_file=None, username=None, password=None)
    elif user.token_file:
        token_file = user.token_file
        if single.fname is not None or Path(token_file).is_absolute():
            token_file = str(single.abs_file(token_file))
        user = msgspec.structs.replace(user, token_file=token_file, username=None, password=None)
    return cluster, user


def _tls_context(cluster: Cluster, user: User | None, abs_file: Callable[[Any], Any]) -> ssl.SSLContext:
    """The TLS context ``kubernetes_asyncio`` builds (``_ssl_context`` of :mod:`.kube_asyncio`): the system's
    trust store unless the cluster names a CA, the user's client certificate, ``insecure-skip-tls-verify``.

    :raises ConfigError: naming the setting whose file or data cannot be loaded (never its contents).
    """
    setting = "system trust store"
    try:
        if cluster.certificate_auth_data:
            setting = "certificate-authority-data"
            context = ssl.create_default_context(cadata=_pem(cluster.certificate_auth_data))
        elif cluster.certificate_auth:
            setting = f"certificate-authority file {str(cluster.certificate_auth)[:200]!r}"
            context = ssl.create_default_context(cafile=abs_file(cluster.certificate_auth))
        else:
            context = ssl.create_default_context()
        if user is not None and (user.client_cert or user.client_cert_data):
            setting = "client-certificate/client-key (or their -data)"
            cert = user_cert(user, abs_file)
            assert cert is not None
            context.load_cert_chain(*cert)
    except (OSError, ValueError, TypeError) as exc:  # ssl.SSLError is an OSError; bad base64 a ValueError
        why = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or ""
        raise ConfigError(f"the kubeconfig's {setting} cannot be loaded ({type(exc).__name__}"
                          f"{': ' + str(why)[:120] if why else ''})") from None
    if cluster.insecure:  # with a CA too, as kubernetes_asyncio's verify_ssl=False
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _pem(data: str) -> str | bytes:
    """``certificate-authority-data`` (base64 of PEM, or of DER) as ``cadata`` of ``ssl.create_default_context``."""
    raw = base64.b64decode(data, validate=False)
    return raw.decode("ascii") if b"-----BEGIN" in raw else raw


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


class _ExecAuth(ExecAuth):
    """lightkube's exec-plugin auth with what ``kubernetes_asyncio``'s ``ExecProvider.run`` adds: the
    ``KUBERNETES_EXEC_INFO`` variable, and output that is not JSON as a ``ConfigError`` (a failed plugin)."""

    def _prepare(self) -> tuple[list[str], dict[str, str]]:
        command, env = super()._prepare()
        env["KUBERNETES_EXEC_INFO"] = json.dumps({"apiVersion": self._exec.apiVersion, "kind": "ExecCredential",
                                                  "spec": {"interactive": False}})
        return command, env

    async def async_auth_flow(self, request: httpx2.Request) -> AsyncIterator[httpx2.Request]:  # type: ignore[override]
        if self._last_bearer:
            request.headers["Authorization"] = self._last_bearer
            response = yield request
            if response.status_code != 401:
                return
        command, env = self._prepare()
        output = await async_check_output(command, env=env)
        try:
            credential = json.loads(output)
        except ValueError:
            raise ConfigError(f"exec: the output of {self._exec.command!r} is not JSON") from None
        status = credential.get("status") if isinstance(credential, dict) else None
        if not isinstance(status, dict):
            raise ConfigError(f"exec: the output of {self._exec.command!r} has no status")
        request.headers["Authorization"] = self._last_bearer = f"Bearer {status['token']}"  # KeyError: a cert
        yield request


def _auth(user: User | None) -> httpx2.Auth | None:
    return _ExecAuth(user.exec) if user is not None and user.exec else user_auth(user)


def http_client(config: LightConfig, timeout: float, on_reload: Callable[[], None]) -> httpx2.AsyncClient:
    """An ``httpx2`` client for the connection (cheap: the TLS context is built already)."""
    auth = _auth(config.user)
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
            # One JSON document a line, split at b"\n" only: aiter_lines() also splits at U+0085, U+2028 and
            # U+2029 (str.splitlines), and the API server's encoder (Go's encoding/json) leaves U+0085 unescaped.
            buffer, scanned = bytearray(), 0
            async for chunk in response.aiter_bytes():
                buffer += chunk
                start = 0
                while (end := buffer.find(b"\n", scanned)) >= 0:
                    line, start = buffer[start:end], end + 1
                    scanned = start
                    if line.strip():
                        yield _event(line)
                if start:
                    del buffer[:start]
                scanned = len(buffer)
            if buffer.strip():
                yield _event(buffer)

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


def _event(line: bytes | bytearray) -> dict[str, Any]:
    """One watch event; an ``ERROR`` event (``410 Gone``) raises :class:`ApiStatus` as ``kubernetes_asyncio``'s
    ``Watch.unmarshal_event`` does."""
    event = json.loads(line)
    if "object" not in event or "type" not in event:
        if "code" in event:
            raise ApiStatus(event["code"], f"{event.get('reason')}: {event.get('message')}")
        raise ValueError("a watch event without 'type' and 'object'")
    if event["type"] == "ERROR":
        status = event["object"] or {}
        raise ApiStatus(status.get("code"), f"{status.get('reason')}: {status.get('message')}")
    return event


def _custom(namespace: str, plural: str) -> str:
    return f"/apis/{GROUP}/{VERSION}/namespaces/{quote(namespace, safe='')}/{plural}"


def _selector(field_selector: str | None) -> dict[str, str]:
    return {"fieldSelector": field_selector} if field_selector else {}


def transient(exc: BaseException) -> bool:
    """A lost or refused connection, a timeout: worth another try."""
    return isinstance(exc, (httpx2.TransportError, OSError, TimeoutError))
