"""The Kubernetes side: apply, read, patch, delete Flink resources; savepoints; diagnostics; watches."""

from airflow_flink_operator.hooks.flink_kubernetes import (
    AsyncFlinkKubernetesHook,
    FlinkApiError,
    FlinkKubernetesHook,
)

__all__ = ["AsyncFlinkKubernetesHook", "FlinkApiError", "FlinkKubernetesHook"]
