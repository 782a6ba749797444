"""OpenLineage for Flink jobs: what each task's run events say about the Flink job, and the Flink job's
own lineage linked to the task.

This module is imported by every operator, so it imports nothing from OpenLineage or the provider:
:class:`OpenLineageMixin`'s methods import them when the OpenLineage listener calls them, which
happens only when ``apache-airflow-providers-openlineage`` is installed and enabled.

* :mod:`~airflow_flink_operator.lineage.extract`: the job's identity, kind and datasets from its spec;
* :mod:`~airflow_flink_operator.lineage.sql`, :mod:`~airflow_flink_operator.lineage.datasets`: Flink
  SQL, SeaTunnel and Flink CDC sources and sinks, named by the OpenLineage naming conventions;
* :mod:`~airflow_flink_operator.lineage.facets`: the OpenLineage facets (provider installed only);
* :mod:`~airflow_flink_operator.lineage.flink_run`: the Flink job's own run, a child of the task's, with
  the job's datasets (sent only when the task started a new Flink job and the job does not report itself);
* :mod:`~airflow_flink_operator.lineage.flink_config`: the ``openlineage.*`` Flink configuration.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)

__all__ = ["OpenLineageMixin"]


class OpenLineageMixin:
    """The OpenLineage operator methods (``get_openlineage_facets_on_start/complete/failure``) for the
    Flink operators, and the opt-in ``openlineage_flink_config`` parameter.

    Each method returns an ``OperatorLineage`` for the Airflow task's event: the ``airflowFlinkOperator_flink``
    job facet (Kubernetes namespace and name, resource kind, job kind, Flink version, processing type...,
    and the OpenLineage identity the Flink job reports under), on completion the ``airflowFlinkOperator_flink``
    run facet (job id, state, generation, what the task changed), and the task's ``inlets``/``outlets``
    converted the provider's way. The datasets the Flink job's spec shows (Flink SQL, SeaTunnel, Flink CDC)
    are the Flink job's, not the task's: on completion of a task that created or changed the job, they
    are sent on the Flink job's own run, a child of the task's run
    (:mod:`~airflow_flink_operator.lineage.flink_run`), unless the Flink job reports its own lineage.

    :param openlineage_flink_config: configure the Flink job's own OpenLineage integration from this
        task (``True``, a dict or :class:`~airflow_flink_operator.lineage.flink_config.OpenLineageFlinkConfig`):
        job namespace/name, parent run, transport. Off by default.
    """

    #: Opt-in configuration of the Flink job's OpenLineage integration (see the class docstring).
    openlineage_flink_config: Any = None
    #: ``True`` on the operators that apply a whole spec and pass it through :meth:`openlineage_prepare`;
    #: elsewhere ``openlineage_flink_config`` would silently do nothing, so it is refused.
    accepts_openlineage_flink_config: bool = False
    #: The operators that take ``openlineage_flink_config`` (for the error message).
    OPENLINEAGE_FLINK_CONFIG_OPERATORS = ("FlinkDeploymentOperator", "FlinkSessionJobOperator",
                                          "FlinkUpgradeOperator (with deployment=)")

    def __init__(self, *args: Any, openlineage_flink_config: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if openlineage_flink_config is not None and openlineage_flink_config is not False:
            if not self.accepts_openlineage_flink_config:
                raise ValueError(
                    f"{type(self).__name__} does not apply a Flink spec, so openlineage_flink_config would do "
                    f"nothing there (task {getattr(self, 'task_id', '?')!r}); it is taken by "
                    f"{', '.join(self.OPENLINEAGE_FLINK_CONFIG_OPERATORS)}.")
            from airflow_flink_operator.lineage.flink_config import OpenLineageFlinkConfig

            OpenLineageFlinkConfig.of(openlineage_flink_config)  # a wrong value fails at parse time
        self.openlineage_flink_config = openlineage_flink_config

    # --- configuring the Flink job's own lineage ------------------------------------------------

    def openlineage_prepare(self, model: Any, context: Any, namespace: str, *, flink_version: str | None = None) -> Any:
        """The model to apply: with the ``openlineage.*`` Flink configuration when the task opted in.

        Called by the apply operators at render time, after the model is loaded.

        :param flink_version: the Flink version the job runs on when the model does not say (a session
            job runs on its session cluster's).

        When OpenLineage is switched off (``[openlineage] disabled``, ``OPENLINEAGE_DISABLED``), the model is
        returned unchanged, with a warning. When the provider has no transport configured, only the job
        identity (and parent, if asked) is set: see
        :func:`~airflow_flink_operator.lineage.flink_config.provider_transport`.

        :raises OpenLineageConfigError: when the provider is missing or the transport holds a secret.
        """
        if not self.openlineage_flink_config:
            return model
        from airflow_flink_operator.lineage.flink_config import (
            OpenLineageConfigError,
            inject_openlineage_config,
            provider_disabled,
        )

        try:
            import airflow.providers.openlineage.plugins.macros  # noqa: F401
        except ImportError as exc:
            raise OpenLineageConfigError(
                "openlineage_flink_config needs apache-airflow-providers-openlineage "
                "(pip install 'airflow-flink-operator[openlineage]')") from exc
        if provider_disabled():
            log.warning("OpenLineage is disabled in this Airflow ([openlineage] disabled / OPENLINEAGE_DISABLED): "
                        "openlineage_flink_config of task %s adds nothing to the Flink configuration",
                        getattr(self, "task_id", "?"))
            return model
        return inject_openlineage_config(model, context, self.openlineage_flink_config, namespace,
                                         flink_version=flink_version)

    # --- the OpenLineage operator methods ---------------------------------------------------------

    def get_openlineage_facets_on_start(self) -> Any:
        """Lineage for the task's START event."""
        return self._openlineage_lineage(None)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """Lineage for the task's COMPLETE event (adds the run facet from the task's result), and the Flink
        job's own run when this task started a new Flink job (:mod:`~airflow_flink_operator.lineage.flink_run`)."""
        return self._openlineage_lineage(task_instance, complete=True)

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> Any:
        """Lineage for the task's FAIL event."""
        return self._openlineage_lineage(task_instance)

    def _openlineage_model(self) -> Any:
        """The FlinkDeployment / FlinkSessionJob model this task applies, or ``None``."""
        source = getattr(self, "_source", None)
        kind = getattr(self, "kind", None)
        if source is None or kind not in ("FlinkDeployment", "FlinkSessionJob"):
            return None
        from airflow_flink_operator.manifests import load_resource

        try:
            return load_resource(source(), kind)
        except Exception as exc:  # lineage must not fail the task; the task reports a bad spec itself
            # The type only: a validation error quotes the spec's values (flinkConfiguration may hold secrets).
            log.debug("OpenLineage: no model for %s (%s)", getattr(self, "task_id", "?"), type(exc).__name__)
            return None

    def _openlineage_lineage(self, task_instance: Any, *, complete: bool = False) -> Any:
        from airflow.providers.openlineage.extractors import OperatorLineage

        from airflow_flink_operator.lineage import facets

        inputs = facets.declared_datasets(getattr(self, "inlets", []))
        outputs = facets.declared_datasets(getattr(self, "outlets", []))
        model = self._openlineage_model()
        if model is None:
            return OperatorLineage(inputs=inputs, outputs=outputs)
        from airflow_flink_operator.lineage.extract import describe
        from airflow_flink_operator.lineage.flink_config import injected_job, job_identity

        result = _task_result(task_instance)
        namespace = result.get("namespace") or self._openlineage_namespace(model)
        identity = job_identity(model, namespace, self.openlineage_flink_config) or injected_job(model)
        job = describe(model, namespace, wait_for=getattr(self, "wait_for", None), openlineage_job=identity,
                       flink_version=self._openlineage_session_flink_version(model, namespace))
        if complete:
            from airflow_flink_operator.lineage.flink_run import emit_flink_run

            emit_flink_run(job, result, task_instance)
        return OperatorLineage(
            inputs=inputs, outputs=outputs, job_facets=facets.job_facets(job),
            run_facets=facets.run_facets(result) if task_instance is not None else {},
        )

    def _openlineage_session_flink_version(self, model: Any, namespace: str) -> str | None:
        """A session job's Flink version: its session cluster's ``spec.flinkVersion`` (one GET; ``None`` if unknown)."""
        cluster = getattr(model.spec, "deployment_name", None) if model.kind == "FlinkSessionJob" else None
        if not cluster:
            return None
        try:
            found = self.hook.get("FlinkDeployment", cluster, namespace)  # type: ignore[attr-defined]
        except Exception:  # the cluster is unreachable where the listener runs: leave the version out
            return None
        return ((found or {}).get("spec") or {}).get("flinkVersion")

    def _openlineage_namespace(self, model: Any) -> str:
        """The namespace the task applies in, as ``execute`` resolves it (no API call)."""
        explicit = getattr(self, "namespace", None) or model.metadata.namespace
        if explicit:
            return explicit
        try:
            return self.resolved_namespace(model.to_dict())  # type: ignore[attr-defined]
        except Exception:  # no connection configured where the listener runs: the API's default
            return "default"


def _task_result(task_instance: Any) -> dict[str, Any]:
    """The task's return value (XCom), when it has one."""
    if task_instance is None:
        return {}
    try:
        value = task_instance.xcom_pull(task_ids=task_instance.task_id, key="return_value")
    except Exception:  # no XCom backend reachable (e.g. a failed task before any push)
        return {}
    return value if isinstance(value, dict) else {}
