"""OpenLineage facets and datasets for a Flink job. Imported only when the provider is installed.

Custom facets follow the spec's "Custom Facet Naming" (``spec/OpenLineage.md``): classes
``{prefix}{name}{entity}Facet`` and keys ``{prefix}_{name}``, with the prefix ``airflowFlinkOperator`` named
after this package, a ``_producer`` naming it (:data:`PRODUCER`) and a ``_schemaURL`` pointing at the JSON
schema of that facet version, shipped in the package (``lineage/schemas/<version>/<Facet>.json``):

=========================================  ==========================  ===================================
class                                      key                         where
=========================================  ==========================  ===================================
:class:`AirflowFlinkOperatorFlinkJobFacet`  ``airflowFlinkOperator_flink``  job facet of the Airflow task and
                                                                       of the Flink job's events
:class:`AirflowFlinkOperatorFlinkRunFacet`  ``airflowFlinkOperator_flink``  run facet (what the task saw)
=========================================  ==========================  ===================================

**jobType.** The standard ``JobTypeJobFacet`` says what kind of job an event's job is. The Airflow task's
events are about the task: the OpenLineage provider sets their ``jobType`` to ``AIRFLOW``/``TASK`` itself
(``OpenLineageAdapter._build_job`` and ``utils.get_airflow_job_facet`` write it after any operator facet), and
that is right. The Flink job is a different job, whose ``jobType`` is ``FLINK``/``JOB``/``STREAMING|BATCH``
(``FLINK_INTEGRATION``/``FLINK_JOB_TYPE`` of openlineage-flink's ``OpenLineageJobExtractor``): it goes under
the standard key ``jobType`` on the Flink job's own events, sent by openlineage-flink when the task
configures it (``openlineage_flink_config``), else by this package as a child job of the task
(:mod:`~airflow_flink_operator.lineage.flink_run`), the provider's own convention for an external job a
task runs (``utils/sql_hook_lineage.py``: a child job with its ``jobType`` and a ``parent`` run facet). It is
never sent on the task's events under another key (that would copy openlineage-flink's facet).
"""

from __future__ import annotations

from typing import Any

from attrs import define, field
from openlineage.client.event_v2 import Dataset
from openlineage.client.facet_v2 import JobFacet, RunFacet, job_type_job, schema_dataset, symlinks_dataset

from airflow_flink_operator import __version__
from airflow_flink_operator.lineage.datasets import DatasetRef, strip_url_secrets
from airflow_flink_operator.lineage.extract import FlinkJobDescription

#: The custom facets' key prefix (``{prefix}_{name}``), named after this package.
FACET_PREFIX = "airflowFlinkOperator"
#: The key of both custom facets (job and run).
FLINK_FACET_KEY = f"{FACET_PREFIX}_flink"
#: ``_producer`` of this package's facets: the package and its version, as a package URL (purl).
PRODUCER = f"pkg:pypi/airflow-flink-operator@{__version__}"
#: The facet schemas' version: a changed facet gets a new folder, a published one is never edited.
SCHEMA_VERSION = "1-0-0"
#: Where the schemas are: a package URL whose subpath is the shipped file. It names no package version,
#: so one facet version has one URL whatever the release (the spec asks for one canonical, immutable URL).
SCHEMA_BASE = "pkg:pypi/airflow-flink-operator#airflow_flink_operator/lineage/schemas"
#: openlineage-flink's job type constants (``OpenLineageJobExtractor.FLINK_INTEGRATION`` / ``FLINK_JOB_TYPE``).
FLINK_INTEGRATION, FLINK_JOB_TYPE = "FLINK", "JOB"


def schema_url(facet_class: str, version: str = SCHEMA_VERSION) -> str:
    """The ``_schemaURL`` of a custom facet: its shipped JSON schema file."""
    return f"{SCHEMA_BASE}/{version}/{facet_class}.json"


@define
class AirflowFlinkOperatorFlinkJobFacet(JobFacet):
    """The Flink job an Airflow task deploys (custom facet, key ``airflowFlinkOperator_flink``).

    :param namespace: the Kubernetes namespace of the resource.
    :param name: the FlinkDeployment / FlinkSessionJob name.
    :param resourceKind: ``FlinkDeployment`` or ``FlinkSessionJob``.
    :param jobKind: ``jar``, ``sql``, ``python``, ``seatunnel``, ``cdc`` (``session-cluster``: no job).
    :param flinkVersion: ``spec.flinkVersion`` (e.g. ``v1_20``); for a session job, its cluster's when known.
    :param deploymentMode: ``application`` or ``session``.
    :param processingType: ``STREAMING`` or ``BATCH``.
    :param image: the Flink image (application mode).
    :param jarURI: the job jar.
    :param entryClass: the main class.
    :param upgradeMode: ``stateless``, ``savepoint`` or ``last-state``.
    :param parallelism: the job parallelism.
    :param sessionCluster: the session cluster (``spec.deploymentName``) of a session job.
    :param openlineageJobNamespace: the job namespace the Flink job's lineage is reported under.
    :param openlineageJobName: the job name the Flink job's lineage is reported under.
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

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self._producer = PRODUCER

    @staticmethod
    def _get_schema() -> str:
        return schema_url("AirflowFlinkOperatorFlinkJobFacet")


@define
class AirflowFlinkOperatorFlinkRunFacet(RunFacet):
    """What the Flink job looked like when the task finished (custom run facet, key ``airflowFlinkOperator_flink``).

    :param jobId: the Flink job id.
    :param jobState: the Flink job state (``RUNNING``, ``FINISHED``...).
    :param lifecycleState: the operator's lifecycle state (``STABLE``, ``DEPLOYED``...).
    :param generation: the resource generation the task deployed.
    :param specChange: what the task did to the resource: ``created``, ``updated`` or ``unchanged``.
    :param initialSavepointPath: the savepoint the job started from, if any (without credentials).
    """

    jobId: str | None = field(default=None)  # noqa: N815
    jobState: str | None = field(default=None)  # noqa: N815
    lifecycleState: str | None = field(default=None)  # noqa: N815
    generation: int | None = field(default=None)
    specChange: str | None = field(default=None)  # noqa: N815
    initialSavepointPath: str | None = field(default=None)  # noqa: N815

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self._producer = PRODUCER

    @staticmethod
    def _get_schema() -> str:
        return schema_url("AirflowFlinkOperatorFlinkRunFacet")


def flink_job_facet(job: FlinkJobDescription) -> AirflowFlinkOperatorFlinkJobFacet:
    """The custom job facet naming the Flink job (and, when known, the identity it reports lineage under)."""
    ol_ns, ol_name = job.openlineage_job or (None, None)
    return AirflowFlinkOperatorFlinkJobFacet(
        namespace=job.namespace, name=job.name, resourceKind=job.resource_kind, jobKind=job.job_kind,
        flinkVersion=job.flink_version, deploymentMode=job.deployment_mode,
        processingType=job.processing_type, image=job.image, jarURI=job.jar_uri, entryClass=job.entry_class,
        upgradeMode=job.upgrade_mode, parallelism=job.parallelism, sessionCluster=job.session_cluster,
        openlineageJobNamespace=ol_ns, openlineageJobName=ol_name,
    )


def job_facets(job: FlinkJobDescription) -> dict[str, JobFacet]:
    """The Airflow task's job facets: ``airflowFlinkOperator_flink`` only (its ``jobType`` is the provider's)."""
    return {FLINK_FACET_KEY: flink_job_facet(job)}


def flink_job_type(job: FlinkJobDescription) -> job_type_job.JobTypeJobFacet:
    """The standard ``jobType`` facet of the Flink job itself (as openlineage-flink sends it)."""
    return job_type_job.JobTypeJobFacet(processingType=job.processing_type, integration=FLINK_INTEGRATION,
                                        jobType=FLINK_JOB_TYPE, producer=PRODUCER)


def run_facets(result: dict[str, Any] | None) -> dict[str, RunFacet]:
    """The ``airflowFlinkOperator_flink`` run facet from the task's result (its XCom return value), if any."""
    if not result or not isinstance(result, dict):
        return {}
    return {FLINK_FACET_KEY: AirflowFlinkOperatorFlinkRunFacet(
        jobId=result.get("job_id"), jobState=result.get("job_state"), lifecycleState=result.get("lifecycle_state"),
        generation=result.get("generation"), specChange=result.get("spec_change"),
        initialSavepointPath=strip_url_secrets(result.get("initial_savepoint_path")),
    )}


def flink_table_identifier(table: str) -> str:
    """The name Flink gives a SQL table: ``catalog.database.table``, the current catalog and database
    filling in what the script leaves out (``default_catalog``/``default_database``, Flink's defaults; a
    script that switches them with ``USE`` is not followed). openlineage-flink's symlink name is this
    string (``KafkaTableLineageDatasetIdentifierVisitor``: ``dataset.name()``, e.g.
    ``default_catalog.default_database.kafka_input`` in its ``expected_sql_kafka.json``)."""
    parts = table.split(".")
    if len(parts) == 1:
        return f"default_catalog.default_database.{table}"
    if len(parts) == 2:
        return f"default_catalog.{table}"
    return table


def to_dataset(ref: DatasetRef, *, flink_table: bool = False) -> Dataset:
    """An OpenLineage dataset, with a ``schema`` facet when the job declares the columns and, for a Flink SQL
    table (``flink_table``), a ``symlinks`` facet with the table's Flink name: openlineage-flink's
    ``OpenLineageDatasetExtractor`` does this from the ``Symlink(tableName, namespace, SymlinkType.TABLE)``
    its ``KafkaTableLineageDatasetIdentifierVisitor`` builds (integration/flink/flink2)."""
    facets: dict[str, Any] = {}
    if ref.columns:
        facets["schema"] = schema_dataset.SchemaDatasetFacet(
            fields=[schema_dataset.SchemaDatasetFacetFields(name=name, type=type_) for name, type_ in ref.columns])
    if flink_table and ref.table:
        facets["symlinks"] = symlinks_dataset.SymlinksDatasetFacet(identifiers=[symlinks_dataset.Identifier(
            namespace=ref.namespace, name=flink_table_identifier(ref.table), type="TABLE")])
    return Dataset(namespace=ref.namespace, name=ref.name, facets=facets)


def job_datasets(job: FlinkJobDescription) -> tuple[list[Dataset], list[Dataset]]:
    """The inputs and outputs the Flink job's spec shows, as OpenLineage datasets."""
    flink_table = job.job_kind == "sql"
    return ([to_dataset(d, flink_table=flink_table) for d in job.inputs],
            [to_dataset(d, flink_table=flink_table) for d in job.outputs])


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
