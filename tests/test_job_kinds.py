"""All five job kinds as application deployments and as session jobs: rendered and CRD-valid, or refused."""

from __future__ import annotations

import pytest
import yaml
from conftest import assert_schema_valid

from airflow_flink_operator.artifacts import FlinkCdcPipeline, JarJob, PythonJob, SeaTunnelJob, SqlJob
from airflow_flink_operator.constants import LABEL_OWNER_KIND, LABEL_OWNER_NAME, MAIN_CONTAINER
from airflow_flink_operator.errors import FlinkSpecError
from airflow_flink_operator.manifests import render, to_yaml
from airflow_flink_operator.models import (
    Checkpointing,
    FlinkDeployment,
    FlinkDeploymentSpec,
    FlinkSessionJob,
    FlinkSessionJobSpec,
    JobManagerSpec,
    Resource,
    Savepoints,
    TaskManagerSpec,
)

SQL = "CREATE TABLE src (id INT) WITH ('connector' = 'datagen');\nINSERT INTO blackhole SELECT * FROM src;\n"
PIPELINE = """source:
  type: mysql
  hostname: mysql
  port: 3306
  tables: app.\\.*
sink:
  type: doris
  fenodes: doris:8030
pipeline:
  name: mysql-to-doris
  parallelism: 2
"""
SEATUNNEL = """env { parallelism = 1
  job.mode = "STREAMING" }
source { FakeSource { result_table_name = "fake" } }
sink { Console {} }
"""
REMOTE = "https://artifacts.example.com/flink"

APPLICATION_JOBS = {
    "jar": lambda: JarJob(jar_uri="local:///opt/flink/usrlib/orders.jar", entry_class="com.example.Orders",
                          args=["--topic", "orders"], parallelism=2, upgrade_mode="savepoint"),
    "sql": lambda: SqlJob(sql=SQL, parallelism=2, upgrade_mode="savepoint"),
    "python": lambda: PythonJob(script="from pyflink.table import TableEnvironment\nprint('hi')\n",
                                python_files={"udfs.py": "def f(x):\n    return x\n"},
                                jar_uri="local:///opt/flink/opt/flink-python-1.20.0.jar", parallelism=1,
                                upgrade_mode="savepoint"),
    "seatunnel": lambda: SeaTunnelJob(config=SEATUNNEL, job_name="fake-to-console", parallelism=1,
                                      upgrade_mode="savepoint"),
    "cdc": lambda: FlinkCdcPipeline(pipeline=PIPELINE, cdc_version="3.2.0", parallelism=2, upgrade_mode="savepoint"),
}

SESSION_JOBS = {
    "jar": lambda: JarJob(jar_uri=f"{REMOTE}/orders.jar", parallelism=2),
    "sql": lambda: SqlJob(script_path="/opt/flink/sql/orders.sql", jar_uri=f"{REMOTE}/sql-runner.jar", parallelism=2),
    "python": lambda: PythonJob(script_path="/opt/flink/usrlib/job.py", jar_uri=f"{REMOTE}/flink-python-1.20.0.jar",
                                parallelism=1),
    "seatunnel": lambda: SeaTunnelJob(config_path="/opt/seatunnel/config/job.conf",
                                      jar_uri=f"{REMOTE}/seatunnel-flink-15-starter.jar", parallelism=1),
}


def deployment(job) -> FlinkDeployment:
    return FlinkDeployment(name="orders", namespace="flink", spec=FlinkDeploymentSpec(
        image="example/flink-jobs:1.20", flink_version="v1_20", service_account="flink",
        job_manager=JobManagerSpec(resource=Resource(memory="2g", cpu=1)),
        task_manager=TaskManagerSpec(resource=Resource(memory="4g", cpu=2)),
        checkpointing=Checkpointing(interval="30 s", dir="s3://bucket/checkpoints"),
        savepoints=Savepoints(dir="s3://bucket/savepoints"),
        job=job,
    ))


def session_job(job) -> FlinkSessionJob:
    return FlinkSessionJob(name="orders-job", namespace="flink",
                           spec=FlinkSessionJobSpec(deployment_name="shared-session", job=job))


@pytest.mark.parametrize("kind", sorted(APPLICATION_JOBS))
def test_job_kind_as_application_deployment(kind, crd):
    schemas, operator_version = crd
    manifests = render(deployment(APPLICATION_JOBS[kind]()), operator_version=operator_version)
    assert_schema_valid(schemas, manifests)
    cr = manifests[-1]
    assert cr["kind"] == "FlinkDeployment"
    if kind == "jar":
        assert len(manifests) == 1
        return
    # Files travel in a ConfigMap tied to the CR, mounted into flink-main-container where args point.
    config_map, cr = manifests
    assert config_map["kind"] == "ConfigMap"
    assert config_map["metadata"]["labels"][LABEL_OWNER_KIND] == "FlinkDeployment"
    assert config_map["metadata"]["labels"][LABEL_OWNER_NAME] == "orders"
    assert config_map["metadata"]["namespace"] == "flink"
    main = cr["spec"]["podTemplate"]["spec"]["containers"][0]
    assert main["name"] == MAIN_CONTAINER
    (mount,) = main["volumeMounts"]
    (volume,) = cr["spec"]["podTemplate"]["spec"]["volumes"]
    assert volume == {"name": mount["name"], "configMap": {"name": config_map["metadata"]["name"]}}
    delivered = [f"{mount['mountPath']}/{key}" for key in config_map["data"]]
    assert any(path in cr["spec"]["job"]["args"] for path in delivered), (delivered, cr["spec"]["job"]["args"])


def test_each_kind_fills_the_job_spec_as_its_runtime_expects():
    def job(kind):
        return render(deployment(APPLICATION_JOBS[kind]()))[-1]["spec"]["job"]

    assert job("jar")["entryClass"] == "com.example.Orders"
    assert job("sql")["args"] == ["/opt/flink/usrlib/sql-scripts/statements.sql"]
    assert job("python")["args"] == ["-pyclientexec", "/usr/bin/python3", "-py", "/opt/flink/usrlib/python/main.py"]
    assert job("seatunnel") == {
        "jarURI": "local:///opt/seatunnel/starter/seatunnel-flink-15-starter.jar",
        "entryClass": "org.apache.seatunnel.core.starter.flink.SeaTunnelFlink",
        "args": ["--config", "/data/seatunnel/seatunnel.conf", "--name", "fake-to-console"],
        "parallelism": 1, "upgradeMode": "savepoint",
    }
    cdc = job("cdc")
    assert cdc["entryClass"] == "org.apache.flink.cdc.cli.CliFrontend"
    assert cdc["jarURI"] == "local:///opt/flink/flink-cdc-3.2.0/lib/flink-cdc-dist-3.2.0.jar"
    assert cdc["args"] == ["--use-mini-cluster", "/opt/flink/flink-cdc-3.2.0/conf/pipeline.yaml"]


def test_cdc_sets_parent_first_classloading_and_python_extends_the_python_path():
    cdc = render(deployment(APPLICATION_JOBS["cdc"]()))[-1]
    assert cdc["spec"]["flinkConfiguration"]["classloader.resolve-order"] == "parent-first"
    py_cm, py = render(deployment(APPLICATION_JOBS["python"]()))
    assert py["spec"]["flinkConfiguration"]["python.files"] == "/opt/flink/usrlib/python"
    assert sorted(py_cm["data"]) == ["main.py", "udfs.py"]


@pytest.mark.parametrize("kind", sorted(SESSION_JOBS))
def test_job_kind_as_session_job(kind, crd):
    schemas, operator_version = crd
    manifests = render(session_job(SESSION_JOBS[kind]()), operator_version=operator_version)
    assert [m["kind"] for m in manifests] == ["FlinkSessionJob"]
    assert_schema_valid(schemas, manifests)


@pytest.mark.parametrize("kind", ["sql", "python", "seatunnel", "cdc"])
def test_session_job_refuses_inline_files_and_says_what_to_do(kind, no_network):
    with pytest.raises(FlinkSpecError) as err:
        render(session_job(APPLICATION_JOBS[kind]().model_copy(update={"jar_uri": f"{REMOTE}/x.jar"})))
    text = str(err.value)
    assert "session" in text
    assert "FlinkDeployment" in text  # the way out: application mode (or mounting on the session cluster)


def test_cdc_is_refused_as_a_session_job_even_without_inline_files():
    job = FlinkCdcPipeline(pipeline_path="/opt/flink/flink-cdc-3.2.0/conf/p.yaml", cdc_version="3.2.0",
                           jar_uri=f"{REMOTE}/flink-cdc-dist-3.2.0.jar", parallelism=1)
    with pytest.raises(FlinkSpecError, match="MiniCluster"):
        render(session_job(job))


def test_session_job_refuses_local_jars():
    with pytest.raises(FlinkSpecError) as err:
        render(session_job(JarJob(jar_uri="local:///opt/flink/usrlib/orders.jar", parallelism=1)))
    assert "spec.job.jarURI" in str(err.value)
    assert "downloads session-job jars" in str(err.value)


def test_session_job_jar_schemes_follow_the_operator_version():
    job = session_job(JarJob(jar_uri="s3://bucket/orders.jar", parallelism=1))
    with pytest.raises(FlinkSpecError, match="allowed-schemes"):
        render(job, operator_version="1.15")
    assert render(job, operator_version="1.14")  # before 1.15 any Flink file system scheme works
    assert render(job, operator_version="1.15", allowed_jar_schemes={"https", "s3"})


def test_local_sql_file_is_read_at_render_time(tmp_path):
    script = tmp_path / "orders.sql"
    script.write_text(SQL)
    cm, _ = render(deployment(SqlJob(sql_file=script, parallelism=1)))
    assert cm["data"] == {"statements.sql": SQL}


def test_changing_a_delivered_file_changes_the_deployment_spec():
    """A new ConfigMap name makes the operator redeploy; an in-place edit would go unnoticed."""
    before = render(deployment(SqlJob(sql=SQL, parallelism=1)))
    after = render(deployment(SqlJob(sql=SQL + "-- v2\nSELECT 1;\n", parallelism=1)))
    assert before[0]["metadata"]["name"] != after[0]["metadata"]["name"]
    assert before[1]["spec"] != after[1]["spec"]
    again = render(deployment(SqlJob(sql=SQL, parallelism=1)))
    assert to_yaml(before) == to_yaml(again)


def test_rendered_yaml_is_deterministic_and_round_trips():
    manifests = render(deployment(APPLICATION_JOBS["cdc"]()))
    text = to_yaml(manifests)
    assert text == to_yaml(render(deployment(APPLICATION_JOBS["cdc"]())))
    assert list(yaml.safe_load_all(text)) == manifests
    # The CR read back is a valid model and renders to the same manifest.
    cr = FlinkDeployment.model_validate(manifests[1])
    assert render(cr) == [manifests[1]]
