"""The trigger side's fallback: ``kubernetes_asyncio``, for the connections lightkube cannot serve
(:func:`~.kube_http.unsupported`) and for :meth:`AsyncFlinkKubernetesHook.get_conn` (documented to yield its
``ApiClient``). Importing this module does not import ``kubernetes_asyncio``: its functions do.

:class:`LegacyApi` offers the calls of :class:`~.kube_http.HttpApi`, with the same errors
(:class:`~.kube_http.ApiStatus` for API answers).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from typing import Any

from airflow_flink_operator.constants import GROUP, VERSION
from airflow_flink_operator.hooks.common import MERGE_PATCH
from airflow_flink_operator.hooks.kube_http import ApiStatus


def import_client() -> None:
    """Import the parts of ``kubernetes_asyncio`` a wait uses (seconds of CPU: call it in a worker thread)."""
    import kubernetes_asyncio.client
    import kubernetes_asyncio.config
    import kubernetes_asyncio.watch  # noqa: F401


def _status(exc: Any) -> ApiStatus:
    error = ApiStatus(exc.status, exc.reason, exc.body)
    error.__cause__ = exc
    return error


class LegacyApi:
    """The calls a wait makes, on one ``kubernetes_asyncio`` API client of ``hook.get_conn()``."""

    def __init__(self, stack: contextlib.AsyncExitStack, api: Any) -> None:
        from kubernetes_asyncio import client

        self._stack, self.api = stack, api
        self.custom, self.core = client.CustomObjectsApi(api), client.CoreV1Api(api)

    @classmethod
    async def open(cls, hook: Any) -> LegacyApi:
        stack = contextlib.AsyncExitStack()
        try:
            api = await stack.enter_async_context(hook.get_conn())
        except BaseException:
            await stack.aclose()
            raise
        return cls(stack, api)

    async def _call(self, method: Any, *args: Any, **kwargs: Any) -> Any:
        from kubernetes_asyncio.client.exceptions import ApiException

        try:
            return await method(*args, **kwargs)
        except ApiException as exc:
            raise _status(exc) from exc

    async def get(self, plural: str, namespace: str, name: str) -> dict[str, Any]:
        return await self._call(self.custom.get_namespaced_custom_object, GROUP, VERSION, namespace, plural, name)

    async def list(self, plural: str, namespace: str, field_selector: str | None) -> dict[str, Any]:
        selector = {"field_selector": field_selector} if field_selector else {}
        return await self._call(self.custom.list_namespaced_custom_object, GROUP, VERSION, namespace, plural,
                                **selector)

    async def watch_events(self, plural: str, namespace: str, resource_version: str, field_selector: str | None,
                           timeout: int) -> AsyncIterator[dict[str, Any]]:
        from kubernetes_asyncio.client.exceptions import ApiException

        selector = {"field_selector": field_selector} if field_selector else {}
        try:
            stream = (await _watch()).stream(
                self.custom.list_namespaced_custom_object, GROUP, VERSION, namespace, plural,
                resource_version=resource_version, allow_watch_bookmarks=True, timeout_seconds=timeout,
                _request_timeout=timeout + 10, **selector)
            async with stream as events:
                async for event in events:
                    yield event
        except ApiException as exc:
            raise _status(exc) from exc

    async def merge_patch(self, plural: str, namespace: str, name: str, body: dict[str, Any]) -> Any:
        return await self._call(self.custom.patch_namespaced_custom_object, GROUP, VERSION, namespace, plural, name,
                                body, _content_type=MERGE_PATCH)

    async def delete(self, plural: str, namespace: str, name: str) -> Any:
        from kubernetes_asyncio import client

        return await self._call(self.custom.delete_namespaced_custom_object, GROUP, VERSION, namespace, plural,
                                name, body=client.V1DeleteOptions(propagation_policy="Background"))

    async def proxy_get(self, service: str, namespace: str, path: str) -> tuple[int, bytes]:
        from kubernetes_asyncio.client.exceptions import ApiException

        try:
            response = await self.core.connect_get_namespaced_service_proxy_with_path(
                service, namespace, path, _preload_content=False)
            return response.status, await response.read()
        except ApiException as exc:
            body = exc.body
            return exc.status, body.encode() if isinstance(body, str) else (body or b"")

    async def aclose(self) -> None:
        with contextlib.suppress(Exception):
            await self._stack.aclose()


def transient(exc: BaseException) -> bool:
    """A lost or refused connection, a timeout (aiohttp's errors too, without importing aiohttp here)."""
    return isinstance(exc, (OSError, asyncio.TimeoutError)) or type(exc).__module__.split(".")[0] == "aiohttp"


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


def _api_client(configuration: Any, ssl_context: ssl.SSLContext, client_class: type | None = None,
                default_timeout: float | None = None) -> Any:
    """An API client with a TLS context built beforehand, whose calls default to ``default_timeout``.

    What kubernetes_asyncio's ``ApiClient.__init__`` and ``RESTClientObject.__init__`` do, but with
    ``ssl_context`` instead of one built on the event loop; the aiohttp session must be made on the
    loop it serves.

    :param client_class: the ``ApiClient`` class to make (default: one applying ``default_timeout``).
    """
    import aiohttp
    from kubernetes_asyncio.client import rest

    rest_client = rest.RESTClientObject.__new__(rest.RESTClientObject)
    rest_client.server_hostname = configuration.tls_server_name
    rest_client.proxy = configuration.proxy
    rest_client.proxy_headers = configuration.proxy_headers
    rest_client.pool_manager = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=configuration.connection_pool_maxsize, ssl=ssl_context),
        trust_env=True, read_bufsize=2**21)  # watch events of large objects exceed aiohttp's default

    client_class = client_class or _timeout_client_class()
    api = client_class.__new__(client_class)
    api.configuration = configuration
    api.pool_threads = 1
    api.rest_client = rest_client
    api.default_headers = {}
    api.cookie = None
    api.user_agent = "OpenAPI-Generator/33.3.0+snapshot/python"  # kubernetes_asyncio's (tests compare)
    api.client_side_validation = configuration.client_side_validation
    api.default_timeout = default_timeout
    return api


_TIMEOUT_CLIENT: type | None = None


def _timeout_client_class() -> type:
    """kubernetes_asyncio's ``ApiClient`` giving every call without a ``_request_timeout`` the client's
    ``default_timeout``: its generated methods pass ``_request_timeout=None``, i.e. no timeout at all, and
    a half-open connection would then hang a trigger for ever (as cncf's ``_TimeoutAsyncK8sApiClient`` says)."""
    global _TIMEOUT_CLIENT
    if _TIMEOUT_CLIENT is None:
        from kubernetes_asyncio.client import ApiClient

        class TimeoutApiClient(ApiClient):
            default_timeout: float | None = None

            async def call_api(self, *args: Any, **kwargs: Any) -> Any:
                if kwargs.get("_request_timeout") is None and self.default_timeout is not None:
                    kwargs["_request_timeout"] = self.default_timeout
                return await super().call_api(*args, **kwargs)

        _TIMEOUT_CLIENT = TimeoutApiClient
    return _TIMEOUT_CLIENT
