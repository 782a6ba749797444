"""The Kubernetes side: apply, read, patch, delete Flink resources; savepoints; diagnostics; watches.

The hooks take rendered manifests (plain dicts) and talk to the API; rendering is the operators' job.
``flink_kubernetes`` holds the sync hook's class and its CRUD with retries; ``apply``, ``savepoints``,
``waiting`` and ``diagnostics`` its other duties, by name; ``flink_kubernetes_async`` the async hook's
reads and watches; ``connection`` how to reach the API.

Imports are lazy: naming one hook (or the connection description) loads only its module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_flink_operator._lazy import lazy_exports

_EXPORTS = {
    "FlinkApiError": "common",
    "FlinkKubernetesHook": "flink_kubernetes",
    "AsyncFlinkKubernetesHook": "flink_kubernetes_async",
    "KubernetesConnection": "connection",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from airflow_flink_operator.hooks.common import FlinkApiError
    from airflow_flink_operator.hooks.connection import KubernetesConnection
    from airflow_flink_operator.hooks.flink_kubernetes import FlinkKubernetesHook
    from airflow_flink_operator.hooks.flink_kubernetes_async import AsyncFlinkKubernetesHook

__getattr__ = lazy_exports(__name__, _EXPORTS)
