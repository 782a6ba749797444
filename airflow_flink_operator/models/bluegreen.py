"""``FlinkBlueGreenDeployment``: a FlinkDeployment upgraded blue/green (operator 1.15+).

The operator keeps one child FlinkDeployment serving (``<name>-blue`` or ``<name>-green``); a
template change deploys the other colour, restoring from a savepoint of the active one, and deletes
the old child once the new one runs. The spec is the FlinkDeployment spec under ``template.spec``,
plus the blue/green ``configuration`` and an optional ``ingress`` that follows the active child.

Facts from the operator's source (``FlinkBlueGreenDeploymentConfigOptions``, ``BlueGreenUtils``,
``BlueGreenKubernetesService``; ``FLINK-37515``, first released in 1.14.0):

- configuration keys and defaults: ``kubernetes.operator.bluegreen.abort.grace-period`` (10 min),
  ``...reconciliation.reschedule-interval`` (15 s), ``...deployment-deletion.delay`` (0 ms); a
  duration without a unit is milliseconds;
- child name ``<name>-<colour>`` with label ``flink/blue-green-deployment-type: BLUE|GREEN`` and an
  ownerReference to the parent; the child's metadata is built by the operator, not taken from
  ``template.metadata``.

The resource kind appeared in 1.14.0, but 1.14.0 keeps ``savepointTriggerId`` after an abort (cleared from
1.15.0, commit a00bf278 "Clear stale savepointTriggerId on B/G transition abort"): its next transition starts
the new colour from the aborted attempt's savepoint, so the state goes back in time. This package supports
1.15 and newer. Pure data: the rendering layer (:mod:`airflow_flink_operator.manifests`) renders it, the
validation layer (:mod:`airflow_flink_operator.validation`) checks it, and :mod:`.bluegreen_diff` classifies
its changes as the operator does.
"""

from typing import Any, Literal

from pydantic import Field, model_serializer, model_validator

from airflow_flink_operator.constants import KIND_BLUE_GREEN
from airflow_flink_operator.models.base import Duration, FlinkModel, KubernetesName, Namespace
from airflow_flink_operator.models.common import IngressSpec, ObjectMeta
from airflow_flink_operator.models.bluegreen_diff import diff_type  # noqa: F401  (importable from here too)
from airflow_flink_operator.models.deployment import FlinkDeployment, FlinkDeploymentSpec, _Resource

#: The first operator release this package supports blue/green on: 1.14.0 introduced the resource (FLINK-37515),
#: but only 1.15.0 clears ``savepointTriggerId`` on abort (see the module docstring).
FIRST_OPERATOR_VERSION = "1.15"
#: The release that introduced the resource (what the CRD exists on).
INTRODUCED_IN = "1.14"
#: ``BlueGreenDeploymentType.LABEL_KEY``: on each child, ``BLUE`` or ``GREEN``.
COLOUR_LABEL = "flink/blue-green-deployment-type"
COLOURS = ("blue", "green")
CONFIG_PREFIX = "kubernetes.operator.bluegreen."
#: Python field → configuration key (``FlinkBlueGreenDeploymentConfigOptions``).
CONFIG_KEYS = {
    "abort_grace_period": CONFIG_PREFIX + "abort.grace-period",
    "reconciliation_reschedule_interval": CONFIG_PREFIX + "reconciliation.reschedule-interval",
    "deployment_deletion_delay": CONFIG_PREFIX + "deployment-deletion.delay",
}
#: The operator's defaults for the keys above.
CONFIG_DEFAULTS = {
    "abort_grace_period": "10 min",
    "reconciliation_reschedule_interval": "15 s",
    "deployment_deletion_delay": "0 ms",
}


def child_name(name: str, colour: str) -> str:
    """The child FlinkDeployment of colour ``blue``/``green``, as the operator names it (``<name>-<colour>``)."""
    colour = colour.lower()
    if colour not in COLOURS:
        raise ValueError(f"colour must be 'blue' or 'green', not {colour!r}")
    return f"{name}-{colour}"


class BlueGreenConfiguration(FlinkModel):
    """``spec.configuration``: how the operator runs transitions. Manifests carry flat string keys.

    :param abort_grace_period: how long the new child may take to run (job RUNNING, lifecycle
        STABLE) before the transition is aborted and the old colour stays active (operator default 10 min).
    :param reconciliation_reschedule_interval: how often the operator looks again while waiting (default 15 s).
    :param deployment_deletion_delay: how long both colours run side by side once the new one is
        ready, before the old child is deleted (default 0 ms).
    :param other: further keys, passed through as they are.
    """

    abort_grace_period: Duration | None = Field(default=None, description="Abort grace period.")
    reconciliation_reschedule_interval: Duration | None = Field(default=None, description="Reschedule interval.")
    deployment_deletion_delay: Duration | None = Field(default=None, description="Old-child deletion delay.")
    other: dict[str, str] | None = Field(default=None, description="Further keys, as given.")

    @model_validator(mode="before")
    @classmethod
    def _from_flat_keys(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        by_key = {key: field for field, key in CONFIG_KEYS.items()}
        typed: dict[str, Any] = {}
        other: dict[str, Any] = dict(data.pop("other", None) or {})
        for key, value in data.items():
            if key in by_key:
                typed[by_key[key]] = value
            elif key in CONFIG_KEYS or key in cls.model_fields:
                typed[key] = value
            elif key.startswith(CONFIG_PREFIX):
                import difflib

                close = difflib.get_close_matches(key, list(CONFIG_KEYS.values()), n=1, cutoff=0.6)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise ValueError(f"{key!r} is not a blue/green setting the operator reads "
                                 f"(known: {', '.join(CONFIG_KEYS.values())}).{hint}")
            else:
                other[key] = value if isinstance(value, str) else str(value)
        if other:
            typed["other"] = other
        return typed

    @model_serializer(mode="plain")
    def _to_flat_keys(self) -> dict[str, str]:
        flat = {CONFIG_KEYS[field]: getattr(self, field) for field in CONFIG_KEYS if getattr(self, field) is not None}
        flat.update(self.other or {})
        return flat

    def value(self, field: str) -> str:
        """The setting as the operator will use it (its default when unset)."""
        return getattr(self, field) or CONFIG_DEFAULTS[field]


class TemplateMetadata(FlinkModel):
    """``spec.template.metadata``: accepted as the CRD allows; the operator names and labels the children itself."""

    name: KubernetesName | None = Field(default=None, description="Ignored by the operator.")
    namespace: Namespace | None = Field(default=None, description="Ignored by the operator.")
    labels: dict[str, str] | None = Field(default=None, description="Labels.")
    annotations: dict[str, str] | None = Field(default=None, description="Annotations.")


class BlueGreenTemplate(FlinkModel):
    """``spec.template``: the FlinkDeployment each colour runs.

    :param metadata: optional metadata (see :class:`TemplateMetadata`).
    :param spec: a :class:`~airflow_flink_operator.models.FlinkDeploymentSpec` (any job kind, pod templates,
        typed Flink settings).
    """

    metadata: TemplateMetadata | None = Field(default=None, description="Template metadata.")
    spec: FlinkDeploymentSpec


class FlinkBlueGreenDeploymentSpec(FlinkModel):
    """``spec`` of a FlinkBlueGreenDeployment.

    :param template: the FlinkDeployment spec both colours run.
    :param configuration: blue/green settings (or a flat dict of ``kubernetes.operator.bluegreen.*`` keys).
    :param ingress: an Ingress that follows the active colour.
    """

    configuration: BlueGreenConfiguration | None = Field(default=None, description="Blue/green settings.")
    ingress: IngressSpec | None = Field(default=None, description="Ingress to the active colour.")
    template: BlueGreenTemplate


class FlinkBlueGreenDeployment(_Resource):
    """A FlinkBlueGreenDeployment custom resource (operator 1.15+).

    Build it typed, from a manifest, or from an existing typed FlinkDeployment with
    :meth:`from_deployment`; render it with :func:`airflow_flink_operator.manifests.render`.
    """

    kind: Literal["FlinkBlueGreenDeployment"] = KIND_BLUE_GREEN
    spec: FlinkBlueGreenDeploymentSpec

    @classmethod
    def from_deployment(cls, deployment: FlinkDeployment, *, ingress: IngressSpec | None = None,
                        **configuration: Any) -> "FlinkBlueGreenDeployment":
        """The blue/green form of ``deployment``: same name and metadata, its spec as the template.

        :param deployment: a typed FlinkDeployment (any job kind).
        :param ingress: an Ingress that follows the active colour.
        :param configuration: :class:`BlueGreenConfiguration` fields, e.g. ``abort_grace_period="5 min"``.
        """
        return cls(
            metadata=deployment.metadata.model_copy(),
            spec=FlinkBlueGreenDeploymentSpec(
                template=BlueGreenTemplate(spec=deployment.spec.model_copy()),
                configuration=BlueGreenConfiguration(**configuration) if configuration else None,
                ingress=ingress,
            ),
        )

    def child(self, colour: str) -> FlinkDeployment:
        """The child FlinkDeployment of ``colour`` as the operator creates it (name, label, template spec)."""
        return FlinkDeployment(
            metadata=ObjectMeta(name=child_name(self.name, colour), namespace=self.namespace,
                                labels={COLOUR_LABEL: colour.upper()}),
            spec=self.spec.template.spec,
        )

    @property
    def configuration(self) -> BlueGreenConfiguration:
        """The blue/green settings (defaults when none are set)."""
        return self.spec.configuration or BlueGreenConfiguration()
