"""Typed, validated models of the Flink Kubernetes Operator's custom resources.

snake_case in Python, camelCase in manifests; unknown fields are rejected.

Each submodule is imported on first use (DAG-parse cost): ``from airflow_flink_operator.models import
FlinkDeployment`` does not build the session-job or snapshot models. For the same reason the modules a
FlinkDeployment needs evaluate their annotations eagerly (no ``from __future__ import annotations``):
pydantic would otherwise evaluate every string annotation again when it creates each class.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_flink_operator._lazy import lazy_exports

_EXPORTS = {
    "ArtifactDownload": "pod",
    "BlueGreenConfiguration": "bluegreen",
    "BlueGreenTemplate": "bluegreen",
    "Checkpointing": "flink_config",
    "ConfigMapFile": "pod",
    "ExponentialDelayRestart": "flink_config",
    "FailureRateRestart": "flink_config",
    "FixedDelayRestart": "flink_config",
    "FlinkBlueGreenDeployment": "bluegreen",
    "FlinkBlueGreenDeploymentSpec": "bluegreen",
    "FlinkDeployment": "deployment",
    "FlinkDeploymentSpec": "deployment",
    "FlinkSessionJob": "session_job",
    "FlinkSessionJobSpec": "session_job",
    "FlinkStateSnapshot": "snapshot",
    "FlinkStateSnapshotSpec": "snapshot",
    "HighAvailability": "flink_config",
    "IngressSpec": "common",
    "JobManagerSpec": "common",
    "JobReference": "snapshot",
    "JobSpec": "job",
    "LogShipper": "pod",
    "NoRestart": "flink_config",
    "ObjectMeta": "common",
    "PeriodicSavepoints": "flink_config",
    "PodTemplate": "pod",
    "Resource": "common",
    "ResourceRequirements": "common",
    "SavepointHistory": "flink_config",
    "SavepointSpec": "snapshot",
    "Savepoints": "flink_config",
    "SecretEnv": "pod",
    "SecretEnvFrom": "pod",
    "TaskManagerSpec": "common",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from airflow_flink_operator.models.bluegreen import (
        BlueGreenConfiguration,
        BlueGreenTemplate,
        FlinkBlueGreenDeployment,
        FlinkBlueGreenDeploymentSpec,
    )
    from airflow_flink_operator.models.common import (
        IngressSpec,
        JobManagerSpec,
        ObjectMeta,
        Resource,
        ResourceRequirements,
        TaskManagerSpec,
    )
    from airflow_flink_operator.models.deployment import FlinkDeployment, FlinkDeploymentSpec
    from airflow_flink_operator.models.flink_config import (
        Checkpointing,
        ExponentialDelayRestart,
        FailureRateRestart,
        FixedDelayRestart,
        HighAvailability,
        NoRestart,
        PeriodicSavepoints,
        SavepointHistory,
        Savepoints,
    )
    from airflow_flink_operator.models.job import JobSpec
    from airflow_flink_operator.models.pod import (
        ArtifactDownload,
        ConfigMapFile,
        LogShipper,
        PodTemplate,
        SecretEnv,
        SecretEnvFrom,
    )
    from airflow_flink_operator.models.session_job import FlinkSessionJob, FlinkSessionJobSpec
    from airflow_flink_operator.models.snapshot import (
        FlinkStateSnapshot,
        FlinkStateSnapshotSpec,
        JobReference,
        SavepointSpec,
    )

__getattr__ = lazy_exports(__name__, _EXPORTS)
