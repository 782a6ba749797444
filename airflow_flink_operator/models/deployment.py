"""``FlinkDeployment``: a Flink cluster, running one job (application mode) or none (session cluster)."""

from typing import Any, Literal

from pydantic import Field, model_validator

from airflow_flink_operator.constants import API_VERSION, KIND_DEPLOYMENT
from airflow_flink_operator.models.base import FlinkModel
from airflow_flink_operator.models.common import (
    FlinkVersion,
    IngressSpec,
    JobManagerSpec,
    ObjectMeta,
    PodTemplateField,
    TaskManagerSpec,
)
from airflow_flink_operator.models.flink_config import (
    Checkpointing,
    HighAvailability,
    PeriodicSavepoints,
    RestartStrategy,
    SavepointHistory,
    Savepoints,
)
from airflow_flink_operator.models.job import JobSpec

#: The typed helpers whose keys go into ``flinkConfiguration``, in the order they are applied.
CONFIG_HELPERS = (
    "checkpointing",
    "savepoints",
    "high_availability",
    "restart_strategy",
    "periodic_savepoints",
    "savepoint_history",
)


class ConfigHelpersMixin(FlinkModel):
    """Typed Flink settings; never serialised themselves, they become ``flinkConfiguration`` keys."""

    checkpointing: Checkpointing | None = Field(default=None, exclude=True, description="Checkpoint settings.")
    savepoints: Savepoints | None = Field(default=None, exclude=True, description="Savepoint settings.")
    restart_strategy: RestartStrategy | None = Field(default=None, exclude=True, description="Restart strategy.")
    periodic_savepoints: PeriodicSavepoints | None = Field(
        default=None, exclude=True, description="Savepoints taken by the operator on a schedule."
    )
    savepoint_history: SavepointHistory | None = Field(
        default=None, exclude=True, description="Savepoint retention by the operator."
    )


class FlinkDeploymentSpec(ConfigHelpersMixin):
    """``spec`` of a FlinkDeployment.

    :param image: Flink image for JobManager and TaskManager pods.
    :param image_pull_policy: ``Always``, ``IfNotPresent`` or ``Never``.
    :param flink_version: e.g. ``v1_20`` or ``v2_2`` (required by the operator).
    :param service_account: Kubernetes service account of the Flink pods (required by the operator).
    :param mode: ``native`` (default) or ``standalone``.
    :param flink_configuration: raw Flink settings; nested dicts are flattened to dotted keys.
    :param log_configuration: ``log4j-console.properties`` and/or ``logback-console.xml`` content.
    :param pod_template: global pod template for JobManager and TaskManager.
    :param job_manager: the JobManager.
    :param task_manager: the TaskManagers.
    :param ingress: an Ingress for the web UI.
    :param job: the job; leave out for a session cluster.
    :param restart_nonce: change to restart the cluster without a spec change.
    :param checkpointing: typed checkpoint settings.
    :param savepoints: typed savepoint settings.
    :param high_availability: typed Kubernetes HA settings.
    :param restart_strategy: typed restart strategy.
    :param periodic_savepoints: savepoints taken by the operator on a schedule.
    :param savepoint_history: savepoint retention by the operator.
    """

    image: str | None = Field(default=None, description="Flink image.")
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] | None = Field(default=None, description="Pull policy.")
    flink_version: FlinkVersion | None = Field(default=None, description="Flink version of the image.")
    service_account: str | None = Field(default=None, description="Service account of the Flink pods.")
    mode: Literal["native", "standalone"] | None = Field(default=None, description="Deployment mode.")
    flink_configuration: dict[str, Any] | None = Field(default=None, description="Raw Flink settings.")
    log_configuration: dict[str, str] | None = Field(default=None, description="Logging config files.")
    pod_template: PodTemplateField = Field(default=None, description="Global pod template.")
    job_manager: JobManagerSpec | None = Field(default=None, description="JobManager.")
    task_manager: TaskManagerSpec | None = Field(default=None, description="TaskManagers.")
    ingress: IngressSpec | None = Field(default=None, description="Web UI ingress.")
    job: JobSpec | None = Field(default=None, description="The job; absent for a session cluster.")
    restart_nonce: int | None = Field(default=None, description="Restart nonce.")
    high_availability: HighAvailability | None = Field(default=None, exclude=True, description="Kubernetes HA.")


class _Resource(FlinkModel):
    """A top-level custom resource: ``apiVersion``, ``kind``, ``metadata``, ``spec``.

    ``name``/``namespace``/``labels``/``annotations`` may be given at the top level as a shortcut
    for ``metadata``. A ``status`` (e.g. from ``kubectl get -o yaml``) is accepted and ignored:
    the status belongs to the operator and is never sent.
    """

    api_version: Literal["flink.apache.org/v1beta1"] = Field(default=API_VERSION, description="API version.")
    metadata: ObjectMeta
    status: dict[str, Any] | None = Field(default=None, exclude=True, description="Ignored; operator-owned.")

    @model_validator(mode="before")
    @classmethod
    def _metadata_shortcut(cls, data: Any) -> Any:
        if isinstance(data, dict):
            shortcut = {k: data[k] for k in ("name", "namespace", "labels", "annotations") if k in data}
            if shortcut:
                if "metadata" in data:
                    raise ValueError(
                        f"{', '.join(shortcut)} given both at the top level and in metadata; use one place"
                    )
                data = {k: v for k, v in data.items() if k not in shortcut}
                data["metadata"] = shortcut
        return data

    def to_dict(self) -> dict[str, Any]:
        """The manifest, keys in the usual order: apiVersion, kind, metadata, spec."""
        data = super().to_dict()
        return {key: data[key] for key in ("apiVersion", "kind", "metadata", "spec") if key in data}

    @property
    def name(self) -> str:
        """``metadata.name``."""
        return self.metadata.name

    @property
    def namespace(self) -> str | None:
        """``metadata.namespace``."""
        return self.metadata.namespace


class FlinkDeployment(_Resource):
    """A FlinkDeployment custom resource.

    Build it typed (``FlinkDeployment(name="orders", spec=FlinkDeploymentSpec(...))``) or from a
    manifest (``FlinkDeployment.model_validate(yaml.safe_load(text))``), then turn it into manifests
    with :func:`airflow_flink_operator.manifests.render`.
    """

    kind: Literal["FlinkDeployment"] = KIND_DEPLOYMENT
    spec: FlinkDeploymentSpec

    @property
    def is_session_cluster(self) -> bool:
        """True when no job is set: a session cluster that FlinkSessionJobs run on."""
        return self.spec.job is None
