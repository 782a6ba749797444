"""Typed, validated models of the Flink Kubernetes Operator's custom resources.

snake_case in Python, camelCase in manifests; unknown fields are rejected.
"""

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

__all__ = [
    "ArtifactDownload", "Checkpointing", "ConfigMapFile", "ExponentialDelayRestart", "FailureRateRestart",
    "FixedDelayRestart", "FlinkDeployment", "FlinkDeploymentSpec", "FlinkSessionJob", "FlinkSessionJobSpec",
    "FlinkStateSnapshot", "FlinkStateSnapshotSpec", "HighAvailability", "IngressSpec", "JobManagerSpec",
    "JobReference", "JobSpec", "LogShipper", "NoRestart", "ObjectMeta", "PeriodicSavepoints", "PodTemplate",
    "Resource", "ResourceRequirements", "SavepointHistory", "SavepointSpec", "Savepoints", "SecretEnv",
    "SecretEnvFrom", "TaskManagerSpec",
]
