"""The custom OpenLineage facets as the spec asks (``spec/OpenLineage.md``, "Custom Facet Naming"), the
symlinks of Flink SQL tables as openlineage-flink sends them, and the provider's composite transport.

Oracles: the spec's key pattern ``{prefix}_{name}`` (camelCase); the shipped JSON schema files the
``_schemaURL`` points at; openlineage-flink's ``integration/flink/flink2/src/test/resources/events/
expected_sql_kafka.json`` (a Kafka table ``kafka_input`` read from ``kafka-cluster-prod:9092``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib import resources

import pytest

pytest.importorskip("airflow.providers.openlineage", reason="the openlineage extra is not installed")

from openlineage.client.serde import Serde  # noqa: E402

from airflow_flink_operator.lineage import facets  # noqa: E402
from airflow_flink_operator.lineage.datasets import DatasetRef  # noqa: E402
from airflow_flink_operator.lineage.extract import FlinkJobDescription  # noqa: E402

#: The spec's custom facet key: ``{prefix}_{name}``, both camelCase.
CUSTOM_KEY = re.compile(r"^[a-z][A-Za-z0-9]*_[a-z][A-Za-z0-9]*$")


def description(**changes) -> FlinkJobDescription:
    values = dict(namespace="flink-jobs", name="orders", resource_kind="FlinkDeployment", job_kind="sql",
                  processing_type="STREAMING", deployment_mode="application", flink_version="v1_20",
                  image="flink:1.20", upgrade_mode="savepoint", parallelism=2)
    return FlinkJobDescription(**{**values, **changes})


def shipped_schema(url: str) -> dict:
    """The JSON schema a ``_schemaURL`` names, read from the installed package."""
    assert url.startswith(facets.SCHEMA_BASE + "/"), url
    relative = url[len(facets.SCHEMA_BASE) + 1:]
    return json.loads(resources.files("airflow_flink_operator.lineage").joinpath("schemas", relative).read_text())


def own_properties(schema: dict) -> dict:
    """The facet's own object schema (the ``allOf`` branch beside the ``$ref`` to the OpenLineage base facet)."""
    (branch,) = [b for b in schema["allOf"] if "$ref" not in b]
    return branch


def test_the_task_sends_one_custom_job_facet_under_a_prefixed_key_and_no_job_type_of_its_own():
    """``flink`` was no prefixed key, and ``flinkJobType`` copied openlineage-flink's ``jobType`` under another
    key; the task's own ``jobType`` is the provider's (AIRFLOW/TASK)."""
    job_facets = facets.job_facets(description())
    assert list(job_facets) == ["airflowFlinkOperator_flink"]
    assert all(CUSTOM_KEY.match(key) for key in job_facets)
    run_facets = facets.run_facets({"job_id": "a1", "job_state": "RUNNING", "generation": 2, "spec_change": "updated"})
    assert list(run_facets) == ["airflowFlinkOperator_flink"]


@pytest.mark.parametrize("facet", [
    facets.flink_job_facet(description(session_cluster=None)),
    facets.run_facets({"job_id": "a1", "job_state": "RUNNING", "lifecycle_state": "STABLE", "generation": 2,
                       "spec_change": "created", "initial_savepoint_path": "s3://b/sp-1"})[facets.FLINK_FACET_KEY],
], ids=["job", "run"])
def test_each_custom_facet_points_at_its_shipped_versioned_schema_and_names_this_package(facet):
    from importlib.metadata import version

    import jsonschema

    data = Serde.to_dict(facet)
    assert data["_producer"] == f"pkg:pypi/airflow-flink-operator@{version('airflow-flink-operator')}"
    url = data["_schemaURL"]
    assert re.search(r"/\d+-\d+-\d+/", url), "the schema URL names the facet schema's version"
    schema = shipped_schema(url)
    assert schema["$id"] == url and schema["title"] == type(facet).__name__
    # {prefix}{name}{entity}Facet, the spec's class naming
    assert re.fullmatch(r"AirflowFlinkOperator[A-Z][A-Za-z]*(Job|Run|Dataset)Facet", type(facet).__name__)
    branch = own_properties(schema)
    fields = {a.name for a in type(facet).__attrs_attrs__ if not a.name.startswith("_")}
    assert set(branch["properties"]) == fields  # a facet field without a schema change needs a new version
    jsonschema.Draft202012Validator(branch).validate({k: v for k, v in data.items() if not k.startswith("_")})


def test_the_package_data_ships_every_schema_a_facet_points_at():
    import sys
    from pathlib import Path

    tomllib = pytest.importorskip("tomllib" if sys.version_info >= (3, 11) else "tomli")

    root = Path(__file__).resolve().parents[1]
    data = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "schemas/*/*.json" in data["airflow_flink_operator.lineage"]
    for cls in (facets.AirflowFlinkOperatorFlinkJobFacet, facets.AirflowFlinkOperatorFlinkRunFacet):
        url = cls._get_schema()
        assert (root / "airflow_flink_operator" / "lineage" / "schemas" /
                url[len(facets.SCHEMA_BASE) + 1:]).is_file(), url


def test_the_flink_job_type_is_the_standard_facet_openlineage_flink_sends():
    """``OpenLineageJobExtractor``: ``integration`` FLINK, ``jobType`` JOB, the processing type."""
    job_type = Serde.to_dict(facets.flink_job_type(description(processing_type="BATCH")))
    assert (job_type["integration"], job_type["jobType"], job_type["processingType"]) == ("FLINK", "JOB", "BATCH")
    assert job_type["_schemaURL"].startswith("https://openlineage.io/spec/facets/")


def test_a_flink_sql_table_gets_the_symlink_openlineage_flink_gives_it():
    """expected_sql_kafka.json: input ``kafka://kafka-cluster-prod:9092`` / ``io.openlineage.flink.kafka.input``
    with ``symlinks.identifiers == [{namespace: kafka://kafka-cluster-prod:9092,
    name: default_catalog.default_database.kafka_input, type: TABLE}]``."""
    from airflow_flink_operator.lineage.sql import parse_flink_sql

    parsed = parse_flink_sql("""
        CREATE TABLE kafka_input (price DECIMAL(38, 18), currency STRING) WITH ('connector' = 'kafka',
          'topic' = 'io.openlineage.flink.kafka.input', 'properties.bootstrap.servers' = 'kafka-cluster-prod:9092',
          'format' = 'json');
        CREATE TABLE kafka_output (counter BIGINT) WITH ('connector' = 'kafka',
          'topic' = 'io.openlineage.flink.kafka.output', 'properties.bootstrap.servers' = 'kafka-cluster-prod:9092',
          'format' = 'json');
        INSERT INTO kafka_output SELECT COUNT(*) FROM kafka_input;
    """)
    inputs, outputs = facets.job_datasets(description(inputs=parsed.inputs, outputs=parsed.outputs))
    for datasets, table, topic in ((inputs, "kafka_input", "io.openlineage.flink.kafka.input"),
                                   (outputs, "kafka_output", "io.openlineage.flink.kafka.output")):
        (dataset,) = [Serde.to_dict(d) for d in datasets]
        assert (dataset["namespace"], dataset["name"]) == ("kafka://kafka-cluster-prod:9092", topic)
        identifiers = [{k: v for k, v in i.items()} for i in dataset["facets"]["symlinks"]["identifiers"]]
        assert identifiers == [{"namespace": "kafka://kafka-cluster-prod:9092",
                                "name": f"default_catalog.default_database.{table}", "type": "TABLE"}]


def test_only_flink_sql_tables_get_a_flink_table_symlink():
    cdc = DatasetRef("mysql://db:3306", "shop.orders", "mysql-cdc", "shop.orders")
    assert "symlinks" not in facets.job_datasets(description(job_kind="cdc", inputs=[cdc]))[0][0].facets
    assert facets.flink_table_identifier("sales.orders") == "default_catalog.sales.orders"
    assert facets.flink_table_identifier("hive_cat.sales.orders") == "hive_cat.sales.orders"


def test_a_composite_provider_transport_is_given_to_the_flink_job_and_fails_nothing(tmp_path):
    """The provider's composite transport (http + console) becomes the Java client's ``CompositeConfig``
    keys; a child the Java client cannot be given (``file``) is left out with a warning, never raised
    (it used to raise, failing the task that deploys with ``openlineage_flink_config``)."""
    code = (
        "import json\n"
        "from airflow_flink_operator.lineage.flink_config import provider_transport, transport_keys\n"
        "print('KEYS ' + json.dumps(transport_keys(provider_transport())))\n"
    )
    transport = {"type": "composite", "continue_on_failure": True, "transports": {
        "marquez": {"type": "http", "url": "http://marquez:5000", "endpoint": "api/v1/lineage"},
        "local": {"type": "console"},
        "archive": {"type": "file", "log_file_path": str(tmp_path / "events.jsonl")}}}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "OPENLINEAGE"))}
    env.update(AIRFLOW_HOME=str(tmp_path), AIRFLOW__OPENLINEAGE__TRANSPORT=json.dumps(transport),
               AIRFLOW__OPENLINEAGE__NAMESPACE="flink-tests")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    keys = json.loads(next(line for line in done.stdout.splitlines() if line.startswith("KEYS "))[5:])
    assert keys == {
        "openlineage.transport.type": "composite", "openlineage.transport.continueOnFailure": "true",
        "openlineage.transport.transports.marquez.type": "http",
        "openlineage.transport.transports.marquez.url": "http://marquez:5000",
        "openlineage.transport.transports.marquez.endpoint": "api/v1/lineage",
        "openlineage.transport.transports.marquez.timeoutInMillis": "5000",
        "openlineage.transport.transports.local.type": "console",
    }
    assert "'file' cannot be given to the Flink job automatically" in done.stdout + done.stderr


@pytest.mark.parametrize("path, secrets", [
    ("s3://AKIAEXAMPLE:wJalr/K7MDENG:bPx@flink-state/sp/savepoint-1", ("AKIAEXAMPLE", "wJalr", "K7MDENG", "bPx")),
    ("s3://etl:p%40ss%2Fw%3Ard@flink-state/sp/savepoint-1", ("etl:", "p%40ss", "w%3Ard", "p@ss/w:rd")),
    ("s3a://etl:p@ss@flink-state/sp/savepoint-1", ("etl", "p@ss")),
])
def test_no_credential_of_a_savepoint_path_reaches_a_facet(path, secrets):
    run = Serde.to_json(facets.run_facets({"initial_savepoint_path": path})[facets.FLINK_FACET_KEY])
    assert "flink-state/sp/savepoint-1" in run
    for secret in secrets:
        assert secret not in run, secret


def test_no_credential_of_a_jar_uri_reaches_the_job_facet():
    from airflow_flink_operator.artifacts import JarJob
    from airflow_flink_operator.lineage.extract import describe
    from airflow_flink_operator.models import FlinkDeployment, FlinkDeploymentSpec, JobManagerSpec, Resource
    from airflow_flink_operator.models import TaskManagerSpec

    jar = ("https://AKIAEXAMPLE:wJalr/K7MDENG:b%40Px@bucket.s3.amazonaws.com/jobs/job.jar"
           "?X-Amz-Credential=AKIA%2F20261127&X-Amz-Signature=s1gn")
    model = FlinkDeployment(name="signed", spec=FlinkDeploymentSpec(
        image="flink:1.20", flink_version="v1_20", service_account="flink",
        job_manager=JobManagerSpec(resource=Resource(cpu=1, memory="2048m")),
        task_manager=TaskManagerSpec(resource=Resource(cpu=1, memory="2048m")),
        job=JarJob(jar_uri=jar, parallelism=1)))
    text = Serde.to_json(facets.job_facets(describe(model, "default"))[facets.FLINK_FACET_KEY])
    assert "bucket.s3.amazonaws.com/jobs/job.jar" in text
    for secret in ("AKIAEXAMPLE", "wJalr", "K7MDENG", "b%40Px", "s1gn", "X-Amz"):
        assert secret not in text, secret
