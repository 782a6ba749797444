"""Flink's REST API through the Kubernetes API server's service proxy, sync and async.

``GET /api/v1/namespaces/<ns>/services/<cluster>-rest:rest/proxy/<path>`` reaches the JobManager's REST endpoint
behind the Service the Flink operator creates for every cluster, with the task's own Kubernetes credentials:
no ingress, no port-forward, no extra connection. RBAC: ``get`` on ``services/proxy`` in the namespace.

The answer comes back as a :class:`~airflow_flink_operator.models.checkpoints.RestAnswer` whatever its status
(the API server's 404/503 while the Service has no endpoints, Flink's own errors), for the status model to judge;
only a lost connection is ``status=None``.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_flink_operator.models.checkpoints import FlinkRestRequest, RestAnswer

log = logging.getLogger(__name__)


def _parse(raw: bytes | str | None) -> Any:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else (raw or "")
    try:
        return json.loads(text)
    except ValueError:
        return text


def _proxy_name(request: FlinkRestRequest) -> str:
    return f"{request.service}:{request.port}"


class FlinkRestMixin:
    """Part of :class:`~airflow_flink_operator.hooks.FlinkKubernetesHook` (uses its ``_core`` client)."""

    def flink_rest_get(self, request: FlinkRestRequest) -> RestAnswer:
        """One GET on a Flink cluster's REST API through the service proxy (no retries: waits look again)."""
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError as Urllib3Error

        from airflow_flink_operator.models.checkpoints import RestAnswer

        get = self._core.connect_get_namespaced_service_proxy_with_path  # type: ignore[attr-defined]
        for attempt in range(2):
            try:
                timeout = self.request_timeout  # type: ignore[attr-defined]
                response = get(_proxy_name(request), request.namespace, request.path.lstrip("/"),
                               _preload_content=False, _request_timeout=timeout)
                return RestAnswer(response.status, _parse(response.data))
            except ApiException as exc:
                if exc.status == 401 and attempt == 0:  # an expired exec-plugin token: load the credentials again
                    log.info("GET %s: 401 Unauthorized; reloading the credentials", request.proxy_path)
                    get = self._reconnected(get)  # type: ignore[attr-defined]
                    continue
                return RestAnswer(exc.status, _parse(exc.body))
            except (Urllib3Error, OSError) as exc:
                log.warning("GET %s: no answer (%s)", request.proxy_path, exc)
                return RestAnswer(None, f"no answer from the API server: {exc}")
        raise AssertionError("unreachable")


async def flink_rest_get_async(hook: Any, request: FlinkRestRequest) -> RestAnswer:
    """:meth:`FlinkRestMixin.flink_rest_get` for an
    :class:`~airflow_flink_operator.hooks.AsyncFlinkKubernetesHook` (the trigger's side), on the hook's client."""
    from airflow_flink_operator.models.checkpoints import RestAnswer

    for attempt in range(2):
        try:
            status, raw = await hook.service_proxy_get(_proxy_name(request), request.namespace,
                                                       request.path.lstrip("/"))
        except Exception as exc:
            if not hook.transient(exc):
                raise
            log.warning("GET %s: no answer (%s)", request.proxy_path, exc)
            return RestAnswer(None, f"no answer from the API server: {exc}")
        if status == 401 and attempt == 0:  # an expired exec-plugin token: load the credentials again
            log.info("GET %s: 401 Unauthorized; reloading the credentials", request.proxy_path)
            hook.reload_credentials()
            continue
        return RestAnswer(status, _parse(raw))
    raise AssertionError("unreachable")
