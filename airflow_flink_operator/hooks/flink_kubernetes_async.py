"""The async side, for triggers: read and watch Flink resources without holding a worker.

Triggers follow an object through :class:`~airflow_flink_operator.triggers.watch_hub.WatchHub`, one
:meth:`AsyncFlinkKubernetesHook.watch_kind` per kind and namespace shared by every wait in a process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
from collections.abc import AsyncIterator
from typing import Any

from airflow.providers.cncf.kubernetes.hooks.kubernetes import AsyncKubernetesHook

from airflow_flink_operator.constants import GROUP, VERSION
from airflow_flink_operator.hooks.common import RETRYABLE_STATUS, FlinkApiError, _api_reason, _plural

log = logging.getLogger(__name__)


class AsyncFlinkKubernetesHook(AsyncKubernetesHook):
    """The async side, for triggers: read and watch Flink resources without holding a worker.

    Reads the connection like the sync hook does: ``config_file`` and ``cluster_context`` given
    here win over the connection's ``kube_config_path`` and ``cluster_context`` (cncf's
    ``AsyncKubernetesHook`` ignores ``config_file``). A ``401 Unauthorized`` reloads the
    credentials once (re-running an exec plugin, re-reading a rotated token) and retries.

    :param namespace: default namespace.
    :param request_timeout: seconds for one API request.
    :param kwargs: passed to ``AsyncKubernetesHook`` (``conn_id``, ``config_file``, ``cluster_context``,
        ``in_cluster``, ``config_dict``...).
    """

    def __init__(self, *, namespace: str | None = None, request_timeout: float = 30.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.default_namespace = namespace
        self.request_timeout = request_timeout
        self._given_client_configuration = self.client_configuration
        self._given_extras = self._extras
        #: how often the credentials were reloaded after a 401 (for logs and tests).
        self.credential_reloads = 0

    async def _get_field(self, field_name: str) -> Any:
        """A connection extra, with this hook's own ``config_file`` in place of ``kube_config_path``.

        cncf's ``AsyncKubernetesHook._load_config`` reads ``kube_config_path`` from the connection
        only, so a ``config_file`` given to the hook was dropped and the default kubeconfig loaded
        instead ("Invalid kube-config file. Expected key current-context" where there is none).
        Empty values count as unset, as in the sync ``KubernetesHook._get_field``.
        """
        if field_name == "kube_config_path" and self.config_file:
            return self.config_file
        return await super()._get_field(field_name) or None

    def reload_credentials(self) -> None:
        """Forget the loaded configuration: the next connection reads the connection and kubeconfig
        again (re-running an exec plugin, re-reading a service-account token)."""
        self._config_loaded = False
        self._is_exec_auth = None
        self.client_configuration = self._given_client_configuration
        self._extras = self._given_extras
        self.credential_reloads += 1

    @contextlib.asynccontextmanager
    async def get_conn(self) -> AsyncIterator[Any]:
        """An API client for the loaded configuration, closed on exit (as cncf's ``get_conn``).

        The client's TLS context is built in a worker thread: ``ssl.create_default_context`` reads the
        system's CA bundle, some 20 ms of CPU (80 ms and more on a loaded machine) that cncf's
        ``get_conn`` spends on the event loop for every client, i.e. every watch (re)start and GET.
        """
        kube_client = None
        try:
            await self._load_config()
            configuration = self.client_configuration
            ssl_context = await asyncio.to_thread(_ssl_context, configuration)
            kube_client = _api_client(configuration, ssl_context)
            yield kube_client
        finally:
            if kube_client is not None:
                await kube_client.close()

    async def resolve_namespace(self, namespace: str | None = None) -> str:
        """The namespace to use: explicit, the hook's, the connection's ``namespace`` extra, ``default``."""
        return namespace or self.default_namespace or await self._get_field("namespace") or "default"

    async def get_object(self, kind: str, name: str, namespace: str) -> dict[str, Any] | None:
        """The resource, or ``None`` if it does not exist (one credential reload on ``401``)."""
        from kubernetes_asyncio import client
        from kubernetes_asyncio.client.exceptions import ApiException

        for attempt in range(2):
            async with self.get_conn() as api:
                try:
                    return await client.CustomObjectsApi(api).get_namespaced_custom_object(
                        GROUP, VERSION, namespace, _plural(kind), name, _request_timeout=self.request_timeout)
                except ApiException as exc:
                    if exc.status == 404:
                        return None
                    if exc.status == 401 and attempt == 0:
                        log.info("get %s %s/%s: 401 Unauthorized; reloading credentials", kind, namespace, name)
                        self.reload_credentials()
                        continue
                    raise FlinkApiError(f"get {kind} {namespace}/{name}", exc.status, _api_reason(exc)) from exc
        raise AssertionError("unreachable")

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
        fresh credentials are refused too) raises :class:`FlinkApiError`.
        """
        from kubernetes_asyncio import client
        from kubernetes_asyncio.client.exceptions import ApiException

        plural = _plural(kind)
        selector = {"field_selector": field_selector} if field_selector else {}
        resource_version: str | None = None
        failures = 0
        reloaded = False  # credentials reloaded after a 401, and no answer since
        while True:
            async with self.get_conn() as api:
                custom = client.CustomObjectsApi(api)
                while True:
                    try:
                        if resource_version is None:
                            listing = await custom.list_namespaced_custom_object(
                                GROUP, VERSION, namespace, plural, _request_timeout=self.request_timeout,
                                **selector)
                            resource_version = listing["metadata"]["resourceVersion"]
                            failures, reloaded = 0, False
                            yield "LIST", list(listing.get("items") or [])
                        stream = (await _watch()).stream(
                            custom.list_namespaced_custom_object, GROUP, VERSION, namespace, plural,
                            resource_version=resource_version, allow_watch_bookmarks=True,
                            timeout_seconds=watch_timeout, _request_timeout=watch_timeout + 10, **selector)
                        async with stream as events:
                            async for event in events:
                                obj = event["object"]
                                resource_version = obj["metadata"]["resourceVersion"]
                                failures, reloaded = 0, False
                                if event["type"] != "BOOKMARK":
                                    yield event["type"], obj
                    except ApiException as exc:
                        if exc.status == 410:
                            log.info("Watch of %s in %s expired (410); re-listing", kind, namespace)
                            resource_version = None
                            continue
                        if exc.status == 401 and not reloaded:
                            log.info("Watch of %s in %s: 401 Unauthorized; reloading credentials", kind, namespace)
                            self.reload_credentials()
                            reloaded = True
                            break  # leave this client; reconnect with the fresh credentials
                        if exc.status not in RETRYABLE_STATUS:
                            raise FlinkApiError(f"watch {kind} in {namespace}", exc.status, _api_reason(exc)) from exc
                        failures += 1
                    except (OSError, asyncio.TimeoutError) as exc:
                        log.info("Watch of %s in %s interrupted (%s); resuming", kind, namespace, exc)
                        failures += 1
                    except Exception as exc:  # aiohttp.ClientError and friends, without importing aiohttp here
                        if type(exc).__module__.split(".")[0] != "aiohttp":
                            raise
                        log.info("Watch of %s in %s interrupted (%s); resuming", kind, namespace, exc)
                        failures += 1
                    if failures:
                        if max_failures is not None and failures > max_failures:
                            raise FlinkApiError(f"watch {kind} in {namespace}", None,
                                                f"gave up after {failures} consecutive failures")
                        await asyncio.sleep(min(max_backoff, 0.1 * 2 ** (failures - 1)) * (0.5 + random.random() / 2))


def _ssl_context(configuration: Any) -> ssl.SSLContext:
    """The TLS context kubernetes_asyncio's ``RESTClientObject.__init__`` (``client/rest.py``) builds for
    ``configuration``, built here so that it can run in a worker thread (loading the CA bundle
    releases the GIL there)."""
    context = ssl.create_default_context(cafile=configuration.ssl_ca_cert)
    if configuration.cert_file:
        context.load_cert_chain(configuration.cert_file, keyfile=configuration.key_file)
    if not configuration.verify_ssl:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if configuration.disable_strict_ssl_verification:
        context.verify_flags &= ~ssl.VERIFY_X509_STRICT
    return context


async def _watch() -> Any:
    """A kubernetes_asyncio ``Watch`` (``watch/watch.py``) whose API client was built off the event loop.

    ``Watch.__init__`` builds an ``ApiClient()`` (the default configuration) for decoding events, and
    so a TLS context on the event loop for every watch request; this is what it does, with the TLS
    context built in a worker thread.
    """
    from kubernetes_asyncio import watch
    from kubernetes_asyncio.client import ApiClient, Configuration

    configuration = Configuration.get_default_copy()
    ssl_context = await asyncio.to_thread(_ssl_context, configuration)
    stream = watch.Watch.__new__(watch.Watch)
    stream._raw_return_type = None
    stream._stop = False
    stream._api_client = _api_client(configuration, ssl_context, client_class=ApiClient)
    stream.resource_version = None
    stream.resp = None
    return stream


def _api_client(configuration: Any, ssl_context: ssl.SSLContext, client_class: type | None = None) -> Any:
    """cncf's API client (its default request timeout included) with a TLS context built beforehand.

    What kubernetes_asyncio's ``ApiClient.__init__`` and ``RESTClientObject.__init__`` do, but with
    ``ssl_context`` instead of one built on the event loop; the aiohttp session must be made on the
    loop it serves.

    :param client_class: the ``ApiClient`` class to make (cncf's ``_TimeoutAsyncK8sApiClient`` by default).
    """
    import aiohttp
    from airflow.providers.cncf.kubernetes.kube_client import _TimeoutAsyncK8sApiClient
    from kubernetes_asyncio.client import rest

    rest_client = rest.RESTClientObject.__new__(rest.RESTClientObject)
    rest_client.server_hostname = configuration.tls_server_name
    rest_client.proxy = configuration.proxy
    rest_client.proxy_headers = configuration.proxy_headers
    rest_client.pool_manager = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=configuration.connection_pool_maxsize, ssl=ssl_context),
        trust_env=True, read_bufsize=2**21)  # watch events of large objects exceed aiohttp's default

    client_class = client_class or _TimeoutAsyncK8sApiClient
    api = client_class.__new__(client_class)
    api.configuration = configuration
    api.pool_threads = 1
    api.rest_client = rest_client
    api.default_headers = {}
    api.cookie = None
    api.user_agent = "OpenAPI-Generator/33.3.0+snapshot/python"  # kubernetes_asyncio's (tests compare)
    api.client_side_validation = configuration.client_side_validation
    return api
