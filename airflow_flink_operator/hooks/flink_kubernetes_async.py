"""The async side, for triggers: read and watch Flink resources without holding a worker.

Triggers follow an object through :class:`~airflow_flink_operator.triggers.watch_hub.WatchHub`, one
:meth:`AsyncFlinkKubernetesHook.watch_kind` per kind and namespace shared by every wait in a process.

A wait's calls are plain REST over ``httpx2``, configured by lightkube's kubeconfig layer (:mod:`.kube_http`,
some 2 MB); only a connection lightkube cannot serve (an ``auth-provider`` user...) loads ``kubernetes_asyncio``
(:mod:`.kube_asyncio`, some 35 MB). cncf.kubernetes' ``AsyncKubernetesHook`` shares a module with the sync
``KubernetesHook``, and importing it loads the synchronous ``kubernetes`` client too (some 40 MB per
triggerer that no wait uses). So this hook reads the connection itself, the way that hook does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from airflow.providers.common.compat.sdk import BaseHook

from airflow_flink_operator.constants import GROUP, VERSION
from airflow_flink_operator.hooks.common import RETRYABLE_STATUS, FlinkApiError, _api_reason, _plural
from airflow_flink_operator.hooks.kubeconfig import (
    default_kubeconfig,
    KubeConnectionError,
    first_set,
    get_connection,
    parse_kubeconfig,
    read_kubeconfig,
    uses_exec_auth,
)

log = logging.getLogger(__name__)

DEFAULT_CONN_ID = "kubernetes_default"
_RAISE: Any = object()  # no default: raise on 404 too


class AsyncFlinkKubernetesHook(BaseHook):
    """The async side, for triggers: read and watch Flink resources without holding a worker.

    Reads the connection as cncf.kubernetes' ``AsyncKubernetesHook._load_config`` does (provider 10.x):
    one of ``in_cluster``, ``kube_config`` (inline), ``kube_config_path`` or ``config_dict``, else the
    default kubeconfig; ``cluster_context``; ``namespace``; an exec-plugin kubeconfig is re-read for every
    client (its tokens are short-lived). ``config_file`` and ``cluster_context`` given here win over the
    connection's ``kube_config_path`` and ``cluster_context``, as in the sync hook. A ``401
    Unauthorized`` reloads the credentials once (re-running an exec plugin, re-reading a rotated token)
    and retries.

    :param conn_id: the Airflow connection (``None``: none; the settings below, else the default kubeconfig).
    :param in_cluster: use the pod's service account.
    :param config_file: a kubeconfig path.
    :param cluster_context: the kubeconfig context.
    :param config_dict: a kubeconfig as a dict.
    :param connection_extras: the connection's extras, when known already (no lookup).
    :param client_configuration: a ``kubernetes_asyncio`` ``Configuration`` to load into (the hook's calls
        then use ``kubernetes_asyncio``, which honours it).
    :param namespace: default namespace.
    :param request_timeout: seconds for one API request (also the default of calls made on :meth:`get_conn`).
    :param kubernetes_conn_id: accepted for callers of earlier versions; ``conn_id`` wins.
    """

    default_conn_name = DEFAULT_CONN_ID

    def __init__(self, *, conn_id: str | None = DEFAULT_CONN_ID, in_cluster: bool | None = None,
                 config_file: str | None = None, cluster_context: str | None = None,
                 config_dict: dict[str, Any] | None = None, connection_extras: dict[str, Any] | None = None,
                 client_configuration: Any = None, namespace: str | None = None, request_timeout: float = 30.0,
                 kubernetes_conn_id: str | None = None) -> None:
        super().__init__()
        self.conn_id = conn_id
        self.in_cluster, self.config_file, self.cluster_context = in_cluster, config_file, cluster_context
        self.config_dict = config_dict
        self.default_namespace = namespace
        self.request_timeout = request_timeout
        self.client_configuration = client_configuration
        self._extras = connection_extras
        self._given_client_configuration = client_configuration
        self._given_extras = connection_extras
        self._config_loaded = False
        self._is_exec_auth: bool | None = None
        self._api_client: Any = None  # kube_http.HttpApi or kube_asyncio.LegacyApi
        self._stale: list[Any] = []  # clients left by reload_credentials, closed on the next call
        self._api_loop: asyncio.AbstractEventLoop | None = None  # the event loop of _api_client
        self._api_lock: asyncio.Lock | None = None  # one client at a time is made (bound to _api_loop)
        self._needs_kubernetes_asyncio: str | None = None  # why lightkube turned out not to serve the connection
        #: how often the credentials were reloaded after a 401 (for logs and tests).
        self.credential_reloads = 0

    async def get_conn_extras(self) -> dict[str, Any]:
        """The connection's extras (``{}`` without a connection, or for a missing ``kubernetes_default``)."""
        if self._extras is None:
            if not self.conn_id:
                self._extras = {}
            else:
                from airflow.providers.common.compat.sdk import AirflowNotFoundException

                try:
                    self._extras = (await get_connection(self.conn_id, self)).extra_dejson
                except AirflowNotFoundException:
                    if self.conn_id != DEFAULT_CONN_ID:
                        raise
                    self._extras = {}
        return self._extras

    async def _get_field(self, field_name: str) -> Any:
        """A connection extra (plain or ``extra__kubernetes__``-prefixed), with this hook's own
        ``config_file`` in place of ``kube_config_path``. Empty values count as unset."""
        if field_name == "kube_config_path" and self.config_file:
            return self.config_file
        extras = await self.get_conn_extras()
        value = extras[field_name] if field_name in extras else extras.get(f"extra__kubernetes__{field_name}")
        return value if value not in ("", None) else None

    async def _settings(self) -> dict[str, Any]:
        """How to reach the cluster: ``in_cluster``, an inline kubeconfig (``data``), a kubeconfig ``path``
        (``None``: the default one), ``context``; raises if the connection sets more than one of them."""
        in_cluster = first_set(self.in_cluster, await self._get_field("in_cluster"))
        context = first_set(self.cluster_context, await self._get_field("cluster_context"))
        path = await self._get_field("kube_config_path")
        inline = await self._get_field("kube_config")
        if sum(1 for option in (in_cluster, inline, path, self.config_dict) if option) > 1:
            raise KubeConnectionError(
                "Invalid connection configuration. Options kube_config_path, kube_config, in_cluster, and "
                "config_dict are mutually exclusive. You can only use one option at a time.")
        data = None
        if not in_cluster and (self.config_dict or inline):
            data = self.config_dict or (inline if isinstance(inline, dict) else parse_kubeconfig(inline))
        return {"in_cluster": bool(in_cluster), "data": data, "path": path, "context": context}

    async def _load_config(self) -> None:
        """Load the configuration into :attr:`client_configuration` for ``kubernetes_asyncio`` (once, unless
        it uses an exec plugin)."""
        from kubernetes_asyncio import client, config

        if self.client_configuration is None:
            self.client_configuration = client.Configuration()
        if self._config_loaded:
            return
        settings = await self._settings()
        context, data, path = settings["context"], settings["data"], settings["path"]
        if settings["in_cluster"]:
            config.load_incluster_config(client_configuration=self.client_configuration)
            self._config_loaded = True
            return
        if data is not None:
            await config.load_kube_config_from_dict(data, context=context,
                                                    client_configuration=self.client_configuration)
        else:
            path = path or default_kubeconfig()
            await config.load_kube_config(config_file=path, context=context,
                                          client_configuration=self.client_configuration)
            if path is None:
                return  # several (or no) default files merged: which user is active is the library's to say
            data = await asyncio.to_thread(read_kubeconfig, path)
        if self._is_exec_auth is None:
            self._is_exec_auth = uses_exec_auth(data, context)
        self._config_loaded = not self._is_exec_auth

    def reload_credentials(self) -> None:
        """Forget the loaded configuration: the next call reads the connection and kubeconfig again
        (re-running an exec plugin, re-reading a service-account token) on a new client."""
        self._config_loaded = False
        self._is_exec_auth = None
        self.client_configuration = self._given_client_configuration
        self._extras = self._given_extras
        if self._api_client is not None:
            self._stale.append(self._api_client)
            self._api_client = None
        self.credential_reloads += 1

    def _count_reload(self) -> None:
        self.credential_reloads += 1

    async def _api(self) -> Any:
        """The client of this hook's calls (made on first use, again after :meth:`reload_credentials`):
        ``httpx2`` configured by lightkube (:mod:`.kube_http`), else ``kubernetes_asyncio`` (:mod:`.kube_asyncio`).

        The kubeconfig is read and the TLS context built in a worker thread: ``ssl.create_default_context``
        and loading a CA bundle take 20 ms of CPU (80 ms and more on a loaded machine).
        """
        loop = asyncio.get_running_loop()
        if self._api_loop is not loop:  # a client of an earlier event loop (asyncio.run again) cannot serve
            self._api_client, self._stale, self._api_loop, self._api_lock = None, [], loop, asyncio.Lock()
        assert self._api_lock is not None
        async with self._api_lock:  # concurrent first calls: one client, not one each (only one would be closed)
            return await self._make_api()

    async def _make_api(self) -> Any:
        while self._stale:
            await self._stale.pop().aclose()
        if self._api_client is None:
            from airflow_flink_operator.hooks import kube_http

            settings = await self._settings()
            light = ("a kubernetes_asyncio client_configuration was given" if self._given_client_configuration
                     is not None else self._needs_kubernetes_asyncio
                     or await asyncio.to_thread(kube_http.load_light_config, **settings))
            if isinstance(light, str):
                _log_fallback(self.conn_id, light)
                from airflow_flink_operator.hooks.kube_asyncio import LegacyApi, import_client

                await asyncio.to_thread(import_client)
                self._api_client = await LegacyApi.open(self)
            else:
                self._api_client = kube_http.HttpApi(
                    kube_http.http_client(light, self.request_timeout, self._count_reload))
        return self._api_client

    async def aclose(self) -> None:
        """Close this hook's client (the next call makes a new one)."""
        api, self._api_client = self._api_client, None
        if self._api_loop is not asyncio.get_running_loop():
            self._stale = []  # an earlier event loop's: nothing to close on this one
        elif api is not None:
            self._stale.append(api)
        while self._stale:
            await self._stale.pop().aclose()

    def _fall_back(self, exc: BaseException) -> bool:
        """Switch to ``kubernetes_asyncio`` if ``exc`` says lightkube cannot use the credentials (``True``)."""
        if type(exc).__name__ != "NeedsKubernetesAsyncio" or self._needs_kubernetes_asyncio:
            return False
        self._needs_kubernetes_asyncio = str(exc)
        if self._api_client is not None:
            self._stale.append(self._api_client)
            self._api_client = None
        return True

    def transient(self, exc: BaseException) -> bool:
        """Whether ``exc`` is a lost or refused connection or a timeout of this hook's client."""
        from airflow_flink_operator.hooks import kube_asyncio, kube_http

        return kube_http.transient(exc) or kube_asyncio.transient(exc)

    @contextlib.asynccontextmanager
    async def get_conn(self) -> AsyncIterator[Any]:
        """A ``kubernetes_asyncio`` API client for the loaded configuration, closed on exit (calls on it
        without a ``_request_timeout`` get :attr:`request_timeout`). The hook's own calls do not use it
        (it loads ``kubernetes_asyncio``, some 35 MB) unless lightkube cannot serve the connection.

        The client's TLS context is built in a worker thread: ``ssl.create_default_context`` reads the
        system's CA bundle, some 20 ms of CPU (80 ms and more on a loaded machine) that would otherwise
        be spent on the event loop for every client.
        """
        from airflow_flink_operator.hooks.kube_asyncio import _api_client, _ssl_context

        kube_client = None
        try:
            await self._load_config()
            configuration = self.client_configuration
            ssl_context = await asyncio.to_thread(_ssl_context, configuration)
            kube_client = _api_client(configuration, ssl_context, default_timeout=self.request_timeout)
            yield kube_client
        finally:
            if kube_client is not None:
                await kube_client.close()

    async def resolve_namespace(self, namespace: str | None = None) -> str:
        """The namespace to use: explicit, the hook's, the connection's ``namespace`` extra, ``default``."""
        return namespace or self.default_namespace or await self._get_field("namespace") or "default"

    async def _retry_401(self, action: str, call: Callable[[Any], Awaitable[Any]], missing: Any = _RAISE) -> Any:
        """``call(api)``, once more after a credential reload on ``401``; ``404`` gives ``missing`` if set."""
        from airflow_flink_operator.hooks.kube_http import ApiStatus

        reloaded = False
        while True:
            api = await self._api()
            try:
                return await call(api)
            except ApiStatus as exc:
                if exc.status == 404 and missing is not _RAISE:
                    return missing
                if exc.status == 401 and not reloaded:
                    log.info("%s: 401 Unauthorized; reloading credentials", action)
                    self.reload_credentials()
                    reloaded = True
                    continue
                raise FlinkApiError(action, exc.status, _api_reason(exc)) from exc
            except Exception as exc:
                if not self._fall_back(exc):
                    raise

    async def get_object(self, kind: str, name: str, namespace: str) -> dict[str, Any] | None:
        """The resource, or ``None`` if it does not exist (one credential reload on ``401``)."""
        plural = _plural(kind)
        return await self._retry_401(f"get {kind} {namespace}/{name}",
                                     lambda api: api.get(plural, namespace, name), missing=None)

    async def merge_patch_object(self, kind: str, name: str, namespace: str, body: dict[str, Any]) -> Any:
        """A JSON merge patch of the resource (one credential reload on ``401``)."""
        plural = _plural(kind)
        return await self._retry_401(f"patch {kind} {namespace}/{name}",
                                     lambda api: api.merge_patch(plural, namespace, name, body))

    async def delete_object(self, kind: str, name: str, namespace: str) -> Any:
        """Delete the resource, its dependents in the background (one credential reload on ``401``)."""
        plural = _plural(kind)
        return await self._retry_401(f"delete {kind} {namespace}/{name}",
                                     lambda api: api.delete(plural, namespace, name))

    async def service_proxy_get(self, service: str, namespace: str, path: str) -> tuple[int, bytes]:
        """One GET through the API server's service proxy: ``(status, body)`` whatever the status."""
        try:
            return await (await self._api()).proxy_get(service, namespace, path)
        except Exception as exc:
            if not self._fall_back(exc):
                raise
        return await (await self._api()).proxy_get(service, namespace, path)

    async def flink_rest_get(self, request: Any) -> Any:
        """One GET on a Flink cluster's REST API through the service proxy
        (:func:`~airflow_flink_operator.hooks.flink_rest.flink_rest_get_async`)."""
        from airflow_flink_operator.hooks.flink_rest import flink_rest_get_async

        return await flink_rest_get_async(self, request)

    async def watch_kind(
        self,
        kind: str,
        namespace: str,
        *,
        field_selector: str | None = None,
        watch_timeout: int = 300,
        max_backoff: float = 5.0,
        max_failures: int | None = None,
    ) -> AsyncIterator[tuple[str, Any]]:
        """LIST then WATCH every resource of a kind in a namespace, for ever.

        Yields ``("LIST", [objects])`` after every (re)list — first, and again after a ``410 Gone`` —
        then ``("ADDED" | "MODIFIED" | "DELETED", object)`` for each change. Resumes from the last
        ``resourceVersion`` (bookmarks included) after dropped connections and watch timeouts.

        A ``401 Unauthorized`` (an expired exec-plugin or rotated service-account token) reloads the
        credentials and reconnects from the same ``resourceVersion``; a second ``401`` in a row (the
        fresh credentials are refused too) raises :class:`FlinkApiError`. The hook's client is closed
        when the watch ends.
        """
        from airflow_flink_operator.hooks.kube_http import ApiStatus

        plural = _plural(kind)
        resource_version: str | None = None
        failures = 0
        reloaded = False  # credentials reloaded after a 401, and no answer since
        try:
            while True:
                api = await self._api()
                try:
                    if resource_version is None:
                        listing = await api.list(plural, namespace, field_selector)
                        resource_version = listing["metadata"]["resourceVersion"]
                        failures, reloaded = 0, False
                        yield "LIST", list(listing.get("items") or [])
                    events = api.watch_events(plural, namespace, resource_version, field_selector, watch_timeout)
                    async with contextlib.aclosing(events):
                        async for event in events:
                            obj = event["object"]
                            resource_version = obj["metadata"]["resourceVersion"]
                            failures, reloaded = 0, False
                            if event["type"] != "BOOKMARK":
                                yield event["type"], obj
                except ApiStatus as exc:
                    if exc.status == 410:
                        log.info("Watch of %s in %s expired (410); re-listing", kind, namespace)
                        resource_version = None
                        continue
                    if exc.status == 401 and not reloaded:
                        log.info("Watch of %s in %s: 401 Unauthorized; reloading credentials", kind, namespace)
                        self.reload_credentials()
                        reloaded = True
                        continue  # reconnect with the fresh credentials
                    if exc.status not in RETRYABLE_STATUS:
                        raise FlinkApiError(f"watch {kind} in {namespace}", exc.status, _api_reason(exc)) from exc
                    failures += 1
                except Exception as exc:
                    if self._fall_back(exc):
                        continue
                    if not self.transient(exc):
                        raise
                    log.info("Watch of %s in %s interrupted (%s); resuming", kind, namespace, exc)
                    failures += 1
                if failures:
                    if max_failures is not None and failures > max_failures:
                        raise FlinkApiError(f"watch {kind} in {namespace}", None,
                                            f"gave up after {failures} consecutive failures")
                    await asyncio.sleep(min(max_backoff, 0.1 * 2 ** (failures - 1)) * (0.5 + random.random() / 2))
        finally:
            await self.aclose()


_FALLBACKS_LOGGED: set[tuple[str | None, str]] = set()


def _log_fallback(conn_id: str | None, reason: str) -> None:
    """Say once per process and connection why its calls load ``kubernetes_asyncio`` (names settings only)."""
    if (conn_id, reason) not in _FALLBACKS_LOGGED:
        _FALLBACKS_LOGGED.add((conn_id, reason))
        log.info("Kubernetes connection %s: using kubernetes_asyncio (some 35 MB more per triggerer), as "
                 "lightkube cannot serve it: %s", conn_id or "(none)", reason)
