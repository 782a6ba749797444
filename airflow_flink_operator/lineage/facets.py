"""OpenLineage facets and datasets for a Flink job. Imported only when the provider is installed.

The Airflow task's own ``jobType`` facet is set by the OpenLineage listener (``integration=AIRFLOW``,
``jobType=TASK``; ``OpenLineageAdapter._build_job`` overwrites any ``jobType`` an operator returns),
so the Flink job's type is reported with the standard ``JobTypeJobFacet`` schema under the key
``flinkJobType`` (``integration=FLINK``, ``jobType=JOB``, ``processingType`` ``STREAMING`` or
``BATCH``), beside the custom :class:`FlinkJobFacet` naming the Flink job.
"""

from __future__ import annotations

from typing import Any

from attrs import define, field
from openlineage.client.event_v2 import Dataset
from openlineage.client.facet_v2 import JobFacet, RunFacet, job_type_job, schema_dataset

from airflow_flink_operator.lineage.datasets import DatasetRef, strip_url_secrets
from airflow_flink_operator.lineage.extract import FlinkJobDescription

#: The custom facets' schema URI (a URN: the package has no published schema host; fields in docs/openlineage.md).
SCHEMA_URL = "urn:airflow-flink-operator:openlineage-facets"  # documented in docs/openlineage.md


@define
class FlinkJobFacet(JobFacet):
    """The Flink job an Airflow task deploys (custom facet, key ``flink``).

    :param namespace: the Kubernetes namespace of the resource.
    :param name: the FlinkDeployment / FlinkSessionJob name.
    :param resourceKind: ``FlinkDeployment`` or ``FlinkSessionJob``.
    :param jobKind: ``jar``, ``sql``, ``python``, ``seatunnel`` or ``cdc``.
    :param flinkVersion: ``spec.flinkVersion`` (e.g. ``v1_20``); for a session job, its cluster's when known.
    :param deploymentMode: ``application`` or ``session``.
    :param processingType: ``STREAMING`` or ``BATCH``.
    :param image: the Flink image (application mode).
    :param jarURI: the job jar.
    :param entryClass: the main class.
    :param upgradeMode: ``stateless``, ``savepoint`` or ``last-state``.
    :param parallelism: the job parallelism.
    :param sessionCluster: the session cluster (``spec.deploymentName``) of a session job.
    :param openlineageJobNamespace: the job namespace the Flink job's own lineage is emitted under,
        when this task configured it (``openlineage.job.namespace``).
    :param openlineageJobName: the job name the Flink job's own lineage is emitted under.
    """

    namespace: str
    name: str
    resourceKind: str  # noqa: N815
    jobKind: str  # noqa: N815
    flinkVersion: str | None = field(default=None)  # noqa: N815
    deploymentMode: str | None = field(default=None)  # noqa: N815
    processingType: str | None = field(default=None)  # noqa: N815
    image: str | None = field(default=None)
    jarURI: str | None = field(default=None)  # noqa: N815
    entryClass: str | None = field(default=None)  # noqa: N815
    upgradeMode: str | None = field(default=None)  # noqa: N815
    parallelism: int | None = field(default=None)
    sessionCluster: str | None = field(default=None)  # noqa: N815
    openlineageJobNamespace: str | None = field(default=None)  # noqa: N815
    openlineageJobName: str | None = field(default=None)  # noqa: N815

    @staticmethod
    def _get_schema() -> str:
        return f"{SCHEMA_URL}:FlinkJobFacet:1"


@define
class FlinkRunFacet(RunFacet):
    """What the Flink job looked like when the task finished (custom run facet, key ``flink``).

    :param jobId: the Flink job id.
    :param jobState: the Flink job state (``RUNNING``, ``FINISHED``...).
    :param lifecycleState: the operator's lifecycle state (``STABLE``, ``DEPLOYED``...).
    :param generation: the resource generation the task deployed.
    :param initialSavepointPath: the savepoint the job started from, if any.
    """

    jobId: str | None = field(default=None)  # noqa: N815
    jobState: str | None = field(default=None)  # noqa: N815
    lifecycleState: str | None = field(default=None)  # noqa: N815
    generation: int | None = field(default=None)
    initialSavepointPath: str | None = field(default=None)  # noqa: N815

    @staticmethod
    def _get_schema() -> str:
        return f"{SCHEMA_URL}:FlinkRunFacet:1"


def job_facets(job: FlinkJobDescription) -> dict[str, JobFacet]:
    """``flink`` (custom) and ``flinkJobType`` (standard ``JobTypeJobFacet``) job facets."""
    ol_ns, ol_name = job.openlineage_job or (None, None)
    return {
        "flink": FlinkJobFacet(
            namespace=job.namespace, name=job.name, resourceKind=job.resource_kind, jobKind=job.job_kind,
            flinkVersion=job.flink_version, deploymentMode=job.deployment_mode,
            processingType=job.processing_type, image=job.image, jarURI=job.jar_uri, entryClass=job.entry_class,
            upgradeMode=job.upgrade_mode, parallelism=job.parallelism, sessionCluster=job.session_cluster,
            openlineageJobNamespace=ol_ns, openlineageJobName=ol_name,
        ),
        "flinkJobType": job_type_job.JobTypeJobFacet(
            processingType=job.processing_type, integration="FLINK", jobType="JOB"),
    }


def run_facets(result: dict[str, Any] | None) -> dict[str, RunFacet]:
    """The ``flink`` run facet from the task's result (its XCom return value), when there is one."""
    if not result or not isinstance(result, dict):
        return {}
    return {"flink": FlinkRunFacet(
        jobId=result.get("job_id"), jobState=result.get("job_state"), lifecycleState=result.get("lifecycle_state"),
        generation=result.get("generation"),
        initialSavepointPath=strip_url_secrets(result.get("initial_savepoint_path")),
    )}


def to_dataset(ref: DatasetRef) -> Dataset:
    """An OpenLineage dataset, with a schema facet when the job declares the columns."""
    facets: dict[str, Any] = {}
    if ref.columns:
        facets["schema"] = schema_dataset.SchemaDatasetFacet(
            fields=[schema_dataset.SchemaDatasetFacetFields(name=name, type=type_) for name, type_ in ref.columns])
    return Dataset(namespace=ref.namespace, name=ref.name, facets=facets)


def declared_datasets(items: list[Any]) -> list[Dataset]:
    """``inlets``/``outlets`` (Airflow assets, OpenLineage datasets...) as the provider converts them."""
    from airflow.providers.openlineage.extractors.manager import ExtractorManager

    found = []
    for item in items or []:
        dataset = ExtractorManager.convert_to_ol_dataset(item)
        if dataset is not None:
            found.append(dataset)
    return found


def merge(first: list[Dataset], second: list[Dataset]) -> list[Dataset]:
    """Both lists, each dataset once (by namespace and name)."""
    seen: set[tuple[str, str]] = set()
    result = []
    for dataset in [*first, *second]:
        key = (dataset.namespace, dataset.name)
        if key not in seen:
            seen.add(key)
            result.append(dataset)
    return result
