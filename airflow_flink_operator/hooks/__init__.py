"""The Kubernetes side: apply, read, patch, delete Flink resources; savepoints; diagnostics; watches."""

from airflow_flink_operator.hooks.common import FlinkApiError
from airflow_flink_operator.hooks.flink_kubernetes import FlinkKubernetesHook
from airflow_flink_operator.hooks.flink_kubernetes_async import AsyncFlinkKubernetesHook

__all__ = ["AsyncFlinkKubernetesHook", "FlinkApiError", "FlinkKubernetesHook"]
