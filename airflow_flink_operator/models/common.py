"""Parts shared by the custom resources: metadata, JobManager/TaskManager, ingress."""

from typing import Annotated, Any, Literal, Union

from pydantic import BeforeValidator, Field, model_validator

from airflow_flink_operator.models.base import FlinkModel, KubernetesName, MemorySize, Namespace, Quantity
from airflow_flink_operator.models.pod import coerce_pod_template

#: A pod template: a :class:`~airflow_flink_operator.models.pod.PodTemplate` or a raw core/v1 dict.
PodTemplateField = Annotated[dict[str, Any] | None, BeforeValidator(coerce_pod_template)]

#: ``metadata`` fields the API server, the operator or the garbage collector set on a live object
#: (Kubernetes ObjectMeta, "populated by the system"). A ``kubectl get -o yaml`` copy carries them:
#: they are accepted and dropped, never sent.
SERVER_SET_METADATA = frozenset({
    "uid", "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp",
    "deletionGracePeriodSeconds", "managedFields", "finalizers", "ownerReferences", "selfLink",
})
#: Written by ``kubectl apply``: a stale JSON copy of the previously applied object. Re-sending it
#: would mislead kubectl's next three-way merge, so it is dropped; other annotations are kept.
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


class ObjectMeta(FlinkModel):
    """The part of Kubernetes object metadata a user sets.

    Server-set fields (:data:`SERVER_SET_METADATA`) and the ``last-applied-configuration``
    annotation of a live object's YAML are dropped (logged at debug level); other unknown
    fields are rejected.

    :param name: the object's name.
    :param namespace: its namespace (default: the connection's or operator's namespace).
    :param labels: labels.
    :param annotations: annotations.
    """

    name: KubernetesName = Field(description="Object name (lowercase DNS name).")
    namespace: Namespace | None = Field(default=None, description="Namespace.")
    labels: dict[str, str] | None = Field(default=None, description="Labels.")
    annotations: dict[str, str] | None = Field(default=None, description="Annotations.")

    @model_validator(mode="before")
    @classmethod
    def _drop_server_set(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        dropped = [key for key in data if key in SERVER_SET_METADATA]
        annotations = data.get("annotations")
        if isinstance(annotations, dict) and LAST_APPLIED in annotations:
            dropped.append(f"annotations[{LAST_APPLIED}]")
            annotations = {k: v for k, v in annotations.items() if k != LAST_APPLIED} or None
            data = {**data, "annotations": annotations}
        if dropped:
            import logging

            logging.getLogger(__name__).debug(
                "metadata of %r: dropped server-set fields %s (copied from a live object; never sent)",
                data.get("name"), ", ".join(dropped))
            data = {k: v for k, v in data.items() if k not in SERVER_SET_METADATA}
        return data


class Resource(FlinkModel):
    """CPU and memory of a JobManager or TaskManager pod (the ``resource`` form, every operator version).

    :param cpu: cores, e.g. ``1`` or ``0.5``.
    :param memory: total process memory: ``"2048m"``, ``"2g"`` or ``"2Gi"``.
    :param ephemeral_storage: a Kubernetes quantity such as ``"10Gi"``.
    """

    cpu: float | None = Field(default=None, gt=0, description="CPU cores.")
    memory: MemorySize | None = Field(default=None, description="Total process memory.")
    ephemeral_storage: Quantity | None = Field(default=None, description="Ephemeral storage.")


QuantityValue = Annotated[Union[Quantity, int, float], Field(union_mode="left_to_right")]


class ResourceRequirements(FlinkModel):
    """Kubernetes ``requests``/``limits`` (the ``resources`` form, operator 1.16 / main only).

    :param requests: e.g. ``{"cpu": "1", "memory": "2Gi"}``.
    :param limits: e.g. ``{"cpu": "2", "memory": "2Gi"}``.
    """

    requests: dict[str, QuantityValue] | None = Field(default=None, description="Requested resources.")
    limits: dict[str, QuantityValue] | None = Field(default=None, description="Resource limits.")
    claims: list[dict[str, Any]] | None = Field(default=None, description="Dynamic resource claims.")


class JobManagerSpec(FlinkModel):
    """The JobManager.

    :param resource: CPU/memory (every operator version).
    :param resources: requests/limits (operator 1.16 / main only; pick one form).
    :param replicas: JobManagers; more than 1 needs high availability.
    :param pod_template: JobManager pod template, merged over the global one.
    """

    resource: Resource | None = Field(default=None, description="CPU and memory.")
    resources: ResourceRequirements | None = Field(default=None, description="Requests/limits (operator main).")
    replicas: int | None = Field(default=None, description="JobManager replicas (>1 needs HA).")
    pod_template: PodTemplateField = Field(default=None, description="JobManager pod template.")


class TaskManagerSpec(FlinkModel):
    """The TaskManagers.

    :param resource: CPU/memory per TaskManager (every operator version).
    :param resources: requests/limits (operator 1.16 / main only; pick one form).
    :param replicas: fixed TaskManager count; overrides the count derived from parallelism.
    :param pod_template: TaskManager pod template, merged over the global one.
    """

    resource: Resource | None = Field(default=None, description="CPU and memory.")
    resources: ResourceRequirements | None = Field(default=None, description="Requests/limits (operator main).")
    replicas: int | None = Field(default=None, description="TaskManager replicas.")
    pod_template: PodTemplateField = Field(default=None, description="TaskManager pod template.")


class IngressSpec(FlinkModel):
    """An Ingress for the Flink web UI.

    :param template: host and/or path with ``{{name}}`` and ``{{namespace}}`` placeholders,
        e.g. ``"{{name}}.{{namespace}}.flink.example.com"`` or ``"/{{namespace}}/{{name}}(/|$)(.*)"``.
    :param class_name: ingress class, e.g. ``nginx``.
    :param annotations: Ingress annotations.
    :param labels: Ingress labels.
    :param tls: networking/v1 ``IngressTLS`` dicts.
    """

    template: str | None = Field(default=None, description="Host/path template.")
    class_name: str | None = Field(default=None, description="Ingress class.")
    annotations: dict[str, str] | None = Field(default=None, description="Annotations.")
    labels: dict[str, str] | None = Field(default=None, description="Labels.")
    tls: list[dict[str, Any]] | None = Field(default=None, description="TLS settings.")


UpgradeMode = Literal["stateless", "savepoint", "last-state"]
JobState = Literal["running", "suspended"]
FlinkVersion = Literal[
    "v1_13", "v1_14", "v1_15", "v1_16", "v1_17", "v1_18", "v1_19", "v1_20",
    "v2_0", "v2_1", "v2_2", "v2_3", "v2_4",
]
