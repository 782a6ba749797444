"""OpenLineage: the run events of Flink tasks name the Flink job and its inputs/outputs.

A DAG with one task per job kind runs with ``dag.test()`` in a fresh Airflow home, against the
simulated cluster, with the OpenLineage provider configured to send events over HTTP to an endpoint
in this test; the events it receives are asserted. Also: the Flink SQL reader on realistic SQL, the
injected ``openlineage.*`` Flink configuration against the CRD and the validator, refused secrets,
and the operators without the provider.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from airflow_flink_operator.crd_schema import crd_dir_from_env
from airflow_flink_operator.lineage.cdc import cdc_pipeline
from airflow_flink_operator.lineage.datasets import jdbc, path
from airflow_flink_operator.lineage.seatunnel import seatunnel_config
from airflow_flink_operator.lineage.sql import parse_flink_sql

pytest.importorskip("airflow.providers.openlineage", reason="the openlineage extra is not installed")
pytest.importorskip("sqlglot", reason="the openlineage extra is not installed")

ROOT = Path(__file__).resolve().parents[1]
DAG_ID = "flink_lineage"
#: The tasks that succeed ("broken" fails on purpose).
TASKS = ("jar", "sql", "python", "seatunnel", "cdc", "session_cluster", "session_job", "inject")

FLINK_SQL = """\
SET 'execution.runtime-mode' = 'streaming';
SET 'table.exec.state.ttl'='1 h';
-- orders arrive in Kafka; the ; in this comment must not split anything
CREATE TABLE `orders` (
  order_id BIGINT, amount DECIMAL(10, 2), ts TIMESTAMP(3),
  `offset` BIGINT METADATA VIRTUAL,
  event_time TIMESTAMP_LTZ(3) METADATA FROM 'timestamp',
  proc AS PROCTIME(),
  PRIMARY KEY (order_id) NOT ENFORCED,
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'kafka', 'topic' = 'orders', 'properties.bootstrap.servers' = 'kafka:9092',
        'format' = 'json', 'scan.startup.mode' = 'group-offsets', 'properties.group.id' = 'revenue');
CREATE TEMPORARY TABLE IF NOT EXISTS rates (currency STRING, rate DECIMAL(10, 4), PRIMARY KEY (currency) NOT ENFORCED)
WITH ('connector' = 'jdbc', 'url' = 'jdbc:mysql://rates-db:3306/fx', 'table-name' = 'rates');
CREATE TABLE revenue_per_minute (window_start TIMESTAMP(3), revenue DECIMAL(18, 2))
WITH ('connector' = 'jdbc', 'url' = 'jdbc:postgresql://warehouse:5432/analytics', 'table-name' = 'reporting.revenue');
CREATE TABLE archive (order_id BIGINT, amount DECIMAL(10, 2))
WITH ('connector' = 'filesystem', 'path' = 's3a://lake/archive/orders/', 'format' = 'parquet');
EXECUTE STATEMENT SET BEGIN
INSERT INTO revenue_per_minute
SELECT window_start, SUM(amount)
FROM TABLE(TUMBLE(TABLE orders, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
GROUP BY window_start, window_end;
INSERT INTO archive SELECT o.order_id, o.amount * r.rate FROM orders AS o
JOIN rates FOR SYSTEM_TIME AS OF o.proc AS r ON o.order_id = r.currency;
END;
"""

SEATUNNEL = """\
env {
  parallelism = 2
  job.mode = "BATCH"
}
source {
  Kafka {
    bootstrap.servers = "kafka:9092"
    topic = "page_views"
    format = json
  }
}
sink {
  Elasticsearch {
    hosts = ["https://search:9200"]
    index = "page_views"
    password = ${ES_PASSWORD}
  }
}
"""

PIPELINE = """\
source:
  type: mysql
  hostname: mysql.shop.svc
  port: 3306
  tables: shop.orders,shop.customers
sink:
  type: doris
  fenodes: doris-fe.analytics.svc:8030
route:
  - source-table: shop.orders
    sink-table: ods.orders
pipeline:
  name: shop-to-doris
"""

DAG_FILE = f'''
import json, os
from datetime import datetime

from airflow.sdk import DAG, Asset, task

from airflow_flink_operator.artifacts import FlinkCdcPipeline, JarJob, PythonJob, SeaTunnelJob, SqlJob
from airflow_flink_operator.models import (
    Checkpointing, FlinkDeployment, FlinkDeploymentSpec, FlinkSessionJob, FlinkSessionJobSpec, JobManagerSpec,
    Resource, TaskManagerSpec)
from airflow_flink_operator.operators import FlinkDeploymentOperator, FlinkSessionJobOperator

def deployment(name, job, version="v1_20"):
    return FlinkDeployment(name=name, spec=FlinkDeploymentSpec(
        image="flink:1.20", flink_version=version, service_account="flink",
        job_manager=JobManagerSpec(resource=Resource(cpu=1, memory="2048m")),
        task_manager=TaskManagerSpec(resource=Resource(cpu=1, memory="2048m")),
        checkpointing=Checkpointing(interval="30 s", dir="s3://flink-state/" + name + "/checkpoints"),
        job=job))

with DAG({DAG_ID!r}, start_date=datetime(2026, 1, 1), schedule=None,
         default_args={{"deferrable": False, "poll_interval": 0.2, "timeout": 120}}) as dag:
    FlinkDeploymentOperator(task_id="jar", deployment=deployment("orders-enrichment", JarJob(
        jar_uri="local:///opt/flink/usrlib/enrich.jar", parallelism=1)),
        inlets=[Asset("file:///data/raw/orders")], outlets=[Asset("file:///data/enriched/orders")])
    FlinkDeploymentOperator(task_id="sql", deployment=deployment("revenue", SqlJob(sql={FLINK_SQL!r}, parallelism=1)))
    FlinkDeploymentOperator(task_id="python", deployment=deployment("click-scoring", PythonJob(
        script="print('scoring')", jar_uri="local:///opt/flink/opt/flink-python-1.20.0.jar", parallelism=1)),
        outlets=[Asset("file:///data/scores")])
    FlinkDeploymentOperator(task_id="seatunnel", wait_for="finished", deployment=deployment(
        "page-views", SeaTunnelJob(config={SEATUNNEL!r}, parallelism=1), version="v1_18"))
    FlinkDeploymentOperator(task_id="cdc", deployment=deployment("shop-to-doris", FlinkCdcPipeline(
        pipeline={PIPELINE!r}, cdc_version="3.2.0", parallelism=1), version="v1_18"))

    FlinkDeploymentOperator(task_id="broken", deployment=deployment("broken-sql", SqlJob(
        sql="CREATE TABLE src (a INT) WITH ('connector' = 'filesystem', 'path' = '/data/src', 'format' = 'csv');"
            "CREATE TABLE sink (a INT) WITH ('connector' = 'filesystem', 'path' = '/data/sink', 'format' = 'csv');"
            "INSERT INTO sink SELECT * FROM src;", parallelism=1)), retries=0)
    session = FlinkDeploymentOperator(task_id="session_cluster", deployment=FlinkDeployment(
        name="analytics-session", spec=FlinkDeploymentSpec(
            image="flink:1.20", flink_version="v1_20", service_account="flink",
            job_manager=JobManagerSpec(resource=Resource(cpu=1, memory="2048m")),
            task_manager=TaskManagerSpec(resource=Resource(cpu=1, memory="2048m")))))
    session >> FlinkSessionJobOperator(task_id="session_job", session_job=FlinkSessionJob(
        name="top-pages", spec=FlinkSessionJobSpec(deployment_name="analytics-session", job=JarJob(
            jar_uri="https://repo.example.com/top-pages.jar", parallelism=1))),
        outlets=[Asset("file:///data/top-pages")])

    @task(task_id="inject")
    def inject(**context):
        from airflow_flink_operator.lineage.flink_config import inject_openlineage_config
        from airflow_flink_operator.manifests import render
        out = {{}}
        for version in ("v1_20", "v2_0"):
            model = deployment("revenue", SqlJob(sql={FLINK_SQL!r}, parallelism=1), version=version)
            model = inject_openlineage_config(model, context, {{"parent": True}}, "default")
            out[version] = render(model, operator_version="main")
        with open(os.environ["LINEAGE_RENDERED"], "w") as f:
            json.dump(out, f)
    inject()
'''

RUNNER = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("lineage_dag", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
run = module.dag.test()
print("STATES " + json.dumps({ti.task_id: str(getattr(ti.state, "value", ti.state)) for ti in run.get_task_instances()}))
"""


class _Receiver(ThreadingHTTPServer):
    """An OpenLineage HTTP endpoint: keeps every event it is sent."""

    def __init__(self) -> None:
        self.events: list[dict] = []
        self.lock = threading.Lock()

        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.events.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


def _airflow_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "OPENLINEAGE"))}
    env.update(AIRFLOW_HOME=str(home), AIRFLOW__CORE__LOAD_EXAMPLES="False", AIRFLOW__CORE__DAGS_FOLDER=str(home),
               AIRFLOW__LOGGING__LOGGING_LEVEL="WARNING", PYTHONPATH=str(ROOT))
    return env


@pytest.fixture(scope="module")
def lineage_run(tmp_path_factory):
    """The DAG run, and the OpenLineage events the endpoint received for it."""
    from airflow_flink_operator.testing import SimulatedCluster

    home = tmp_path_factory.mktemp("airflow")
    (home / "lineage_dag.py").write_text(DAG_FILE)
    (home / "runner.py").write_text(RUNNER)
    receiver = _Receiver()
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    cluster = SimulatedCluster(crd_dir=crd_dir_from_env()).start()
    cluster.behave("page-views", bounded=0.5)  # the SeaTunnel BATCH job finishes
    cluster.behave("broken-sql", fail_after=0)  # this job fails at start: its task fails
    try:
        env = _airflow_env(home)
        migrate = subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], env=env, capture_output=True,
                                 text=True, timeout=600, check=False)
        assert migrate.returncode == 0, migrate.stderr[-3000:]
        env.update(cluster.airflow_connection_env(), LINEAGE_RENDERED=str(home / "rendered.json"),
                   AIRFLOW__OPENLINEAGE__NAMESPACE="flink-tests", AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD="True",
                   AIRFLOW__OPENLINEAGE__TRANSPORT=json.dumps({"type": "http", "url": receiver.url,
                                                               "endpoint": "api/v1/lineage"}))
        result = subprocess.run([sys.executable, str(home / "runner.py"), str(home / "lineage_dag.py")], env=env,
                                capture_output=True, text=True, timeout=600, check=False)
        line = next((x for x in result.stdout.splitlines() if x.startswith("STATES ")), None)
        assert line, result.stdout[-3000:] + result.stderr[-5000:]
        states = json.loads(line[len("STATES "):])
        assert states == {**dict.fromkeys(TASKS, "success"), "broken": "failed"}, result.stderr[-5000:]
        deadline = time.monotonic() + 60  # events may still be in flight when dag.test() returns
        while time.monotonic() < deadline and not (all(_event(receiver.events, t, "COMPLETE") for t in TASKS)
                                                   and _event(receiver.events, "broken", "FAIL")):
            time.sleep(0.1)
        yield receiver.events, json.loads((home / "rendered.json").read_text())
    finally:
        cluster.stop()
        receiver.shutdown()


def _event(events: list[dict], task_id: str, event_type: str) -> dict | None:
    found = [e for e in list(events) if e.get("eventType") == event_type
             and e.get("job", {}).get("name") == f"{DAG_ID}.{task_id}"]
    return found[-1] if found else None


def _datasets(event: dict, side: str) -> set[tuple[str, str]]:
    return {(d["namespace"], d["name"]) for d in event.get(side, [])}


#: The Kubernetes resource each task applies: its Flink job's own run is the job ``default.<resource>``
#: (lineage/flink_run.py), a child of the task's run.
RESOURCES = {"jar": "orders-enrichment", "sql": "revenue", "python": "click-scoring", "seatunnel": "page-views",
             "cdc": "shop-to-doris", "broken": "broken-sql", "session_job": "top-pages",
             "session_cluster": "analytics-session"}
FACET = "airflowFlinkOperator_flink"


def _flink_run(events: list[dict], task_id: str, event_type: str = "START") -> dict | None:
    """The Flink job's own run event the task sent (the task created the job), if any."""
    found = [e for e in list(events) if e.get("eventType") == event_type
             and e["job"]["name"] == f"default.{RESOURCES[task_id]}"
             and e["run"]["facets"].get("parent", {}).get("job", {}).get("name") == f"{DAG_ID}.{task_id}"]
    return found[-1] if found else None


@pytest.mark.parametrize("task_id, kind, version, processing", [
    ("jar", "jar", "v1_20", "STREAMING"), ("sql", "sql", "v1_20", "STREAMING"),
    ("python", "python", "v1_20", "STREAMING"), ("seatunnel", "seatunnel", "v1_18", "BATCH"),
    ("cdc", "cdc", "v1_18", "STREAMING"),
])
def test_start_and_complete_events_name_the_flink_job(lineage_run, task_id, kind, version, processing):
    events, _ = lineage_run
    for event_type in ("START", "COMPLETE"):
        event = _event(events, task_id, event_type)
        assert event is not None, f"no {event_type} event for {task_id}: {[e['job']['name'] for e in events]}"
        flink = event["job"]["facets"][FACET]
        assert flink["namespace"] == "default" and flink["resourceKind"] == "FlinkDeployment"
        assert (flink["jobKind"], flink["flinkVersion"], flink["processingType"]) == (kind, version, processing)
        assert flink["deploymentMode"] == "application"
        assert event["job"]["facets"]["jobType"]["integration"] == "AIRFLOW"  # the task's own type stays
    # The Flink job's type is on the Flink job's own run (the task created it).
    job_type = _flink_run(events, task_id)["job"]["facets"]["jobType"]
    assert (job_type["integration"], job_type["processingType"], job_type["jobType"]) == ("FLINK", processing, "JOB")
    complete = _event(events, task_id, "COMPLETE")
    assert complete["run"]["facets"][FACET]["jobState"] in ("RUNNING", "FINISHED")
    assert complete["run"]["facets"][FACET]["generation"] == 1


def test_a_session_job_names_its_session_cluster_and_its_flink_version(lineage_run):
    events, _ = lineage_run
    flink = _event(events, "session_job", "COMPLETE")["job"]["facets"][FACET]
    assert (flink["resourceKind"], flink["deploymentMode"], flink["sessionCluster"]) == \
        ("FlinkSessionJob", "session", "analytics-session")
    assert (flink["jobKind"], flink["flinkVersion"], flink["jarURI"]) == \
        ("jar", "v1_20", "https://repo.example.com/top-pages.jar")
    assert _datasets(_event(events, "session_job", "COMPLETE"), "outputs") == {("file", "/data/top-pages")}
    # The session job is a Flink job with its own run; the session cluster runs none of its own.
    assert _flink_run(events, "session_job")["job"]["facets"]["jobType"]["integration"] == "FLINK"
    assert _flink_run(events, "session_cluster") is None


def test_a_failed_task_sends_a_fail_event_naming_the_job_and_no_datasets(lineage_run):
    """A job that failed to start read and wrote nothing: no datasets, and no run of the Flink job."""
    events, _ = lineage_run
    fail = _event(events, "broken", "FAIL")
    assert fail is not None and _event(events, "broken", "COMPLETE") is None
    assert fail["job"]["facets"][FACET]["name"] == "broken-sql"
    assert _datasets(fail, "inputs") == set() and _datasets(fail, "outputs") == set()
    assert _flink_run(events, "broken") is None


EXPECTED_DATASETS = {
    # Assets are converted by the provider's converters: file:// by common.io (s3:// needs the amazon provider).
    "jar": ({("file", "/data/raw/orders")}, {("file", "/data/enriched/orders")}),
    "python": (set(), {("file", "/data/scores")}),
    "sql": ({("kafka://kafka:9092", "orders"), ("mysql://rates-db:3306", "fx.rates")},
            {("postgres://warehouse:5432", "analytics.reporting.revenue"), ("s3://lake", "archive/orders")}),
    "seatunnel": ({("kafka://kafka:9092", "page_views")}, {("elasticsearch://search:9200", "page_views")}),
    "cdc": ({("mysql://mysql.shop.svc:3306", "shop.orders"), ("mysql://mysql.shop.svc:3306", "shop.customers")},
            {("doris://doris-fe.analytics.svc:8030", "ods.orders"),
             ("doris://doris-fe.analytics.svc:8030", "shop.customers")}),
}


#: The datasets the task declares (inlets/outlets): on the task's own events; the rest are the Flink job's.
DECLARED = {"jar": EXPECTED_DATASETS["jar"], "python": EXPECTED_DATASETS["python"]}


@pytest.mark.parametrize("task_id", sorted(EXPECTED_DATASETS))
def test_events_carry_inputs_and_outputs(lineage_run, task_id):
    """The task's events carry what it declares; its Flink job's own run carries what the job's spec shows."""
    events, _ = lineage_run
    inputs, outputs = EXPECTED_DATASETS[task_id]
    declared_inputs, declared_outputs = DECLARED.get(task_id, (set(), set()))
    for event_type in ("START", "COMPLETE"):
        event = _event(events, task_id, event_type)
        assert _datasets(event, "inputs") == declared_inputs, event_type
        assert _datasets(event, "outputs") == declared_outputs, event_type
    flink_run = _flink_run(events, task_id)
    assert _datasets(flink_run, "inputs") == inputs - declared_inputs
    assert _datasets(flink_run, "outputs") == outputs - declared_outputs


def test_sql_datasets_carry_the_declared_columns(lineage_run):
    events, _ = lineage_run
    inputs = {d["name"]: d for d in _flink_run(events, "sql")["inputs"]}
    fields = [(f["name"], f["type"]) for f in inputs["orders"]["facets"]["schema"]["fields"]]
    assert fields == [("order_id", "BIGINT"), ("amount", "DECIMAL(10, 2)"), ("ts", "TIMESTAMP(3)"),
                      ("offset", "BIGINT"), ("event_time", "TIMESTAMP_LTZ(3)")]


def test_injected_configuration_names_the_job_and_the_task_run(lineage_run, crd):
    """Rendered (so validated) with the Flink 1.x and 2.x keys, valid against the CRD, and the parent run
    id is the one the Airflow task's own events carry."""
    from conftest import assert_schema_valid

    events, rendered = lineage_run
    schemas, _ = crd
    start = _event(events, "inject", "START")
    for version, manifests in rendered.items():
        assert_schema_valid(schemas, manifests)
        conf = next(m for m in manifests if m["kind"] == "FlinkDeployment")["spec"]["flinkConfiguration"]
        assert conf["openlineage.job.namespace"] == "flink-tests" and conf["openlineage.job.name"] == "default.revenue"
        assert conf["openlineage.transport.type"] == "http"
        assert conf["openlineage.transport.url"].startswith("http://127.0.0.1:")
        assert conf["openlineage.transport.endpoint"] == "api/v1/lineage"
        tags = dict(tag.rsplit(":AIRFLOW", 1)[0].split(":", 1) for tag in conf["openlineage.run.tags"].split(";"))
        assert tags["airflow.parentRunId"] == start["run"]["runId"]
        assert tags["airflow.parentJobName"] == f"{DAG_ID}.inject"
        assert tags["airflow.parentJobNamespace"] == "flink-tests"
        if version == "v2_0":
            assert conf["execution.job-status-changed-listeners"] == \
                "io.openlineage.flink.listener.OpenLineageJobStatusChangedListenerFactory"
        else:
            assert conf["execution.job-listener.openlineage.job-name"] == "default.revenue"
            assert "execution.job-status-changed-listeners" not in conf


@pytest.mark.parametrize("transport, key", [
    ({"type": "http", "url": "https://lineage", "auth": {"type": "api_key", "apiKey": "s3cr3t"}},
     "openlineage.transport.auth."),
    ({"type": "http", "url": "https://lineage", "headers": {"Authorization": "Bearer s3cr3t"}},
     "openlineage.transport.headers.Authorization"),
    ({"type": "composite", "transports": {"a": {"type": "http", "url": "https://lineage",
                                                "headers": {"Authorization": "Bearer s3cr3t"}}}},
     "openlineage.transport.transports.a.headers.Authorization"),
    ({"type": "composite", "transports": {"a": {"type": "http", "url": "https://lineage",
                                                "Auth": {"type": "api_key", "apiKey": "s3cr3t"}}}},
     "openlineage.transport.transports.a.Auth."),
    ({"type": "http", "url": "https://user:s3cr3t@lineage"}, "openlineage.transport.url"),
    # a password holding "/", ":" or "@" is user info too (urlsplit's netloc ends at its "/")
    ({"type": "http", "url": "https://user:s3/cr3t@lineage:5000"}, "openlineage.transport.url"),
    ({"type": "http", "url": "https://user:s3:cr/3t@li@lineage/api/v1"}, "openlineage.transport.url"),
    ({"type": "composite", "transports": {"c": {"type": "http", "url": "https://u:s3%2Fcr3t@lineage"}}},
     "openlineage.transport.transports.c.url"),
    ({"type": "http", "url": "https://lineage/api?api_key=s3cr3t"}, "openlineage.transport.url"),
    ({"type": "composite", "transports": {"b": {"type": "http", "url": "https://lineage",
                                                "endpoint": "api/v1/lineage?token=s3cr3t"}}},
     "openlineage.transport.transports.b.endpoint"),
    ({"type": "http", "url": "https://lineage", "urlParams": {"code": "s3cr3t"}, "headers": {"X-Api-Key": "s3cr3t"}},
     "openlineage.transport.headers.X-Api-Key"),
    ({"type": "kafka", "topicName": "ol", "properties": {"bootstrap.servers": "kafka:9092",
                                                         "sasl.jaas.config": "s3cr3t"}},
     "openlineage.transport.properties.sasl.jaas.config"),
])
def test_a_transport_with_credentials_is_refused_naming_the_key_not_the_value(transport, key):
    from airflow_flink_operator.lineage.flink_config import OpenLineageConfigError, transport_keys

    with pytest.raises(OpenLineageConfigError) as refused:
        transport_keys(transport)
    message = str(refused.value)
    assert key in message and "s3cr3t" not in message
    assert "stored in plain text" in message and "OPENLINEAGE_CONFIG" in message and "transport=False" in message


def test_a_transport_without_credentials_is_kept():
    from airflow_flink_operator.lineage.flink_config import transport_keys

    assert transport_keys({"type": "http", "url": "https://lineage?team=data", "headers": {"X-Team": "data"}}) == {
        "openlineage.transport.type": "http", "openlineage.transport.url": "https://lineage?team=data",
        "openlineage.transport.headers.X-Team": "data"}
    kafka = {"type": "kafka", "topicName": "ol", "properties": {
        "bootstrap.servers": "kafka:9092", "key.serializer": "org.apache.kafka.common.serialization.StringSerializer"}}
    assert transport_keys(kafka)["openlineage.transport.properties.bootstrap.servers"] == "kafka:9092"


def test_the_operator_applies_the_injected_configuration(flink_cluster):
    """``openlineage_flink_config`` on the operator reaches the applied FlinkDeployment (the apply operators
    pass their model through ``openlineage_prepare``)."""
    from airflow_flink_operator.artifacts import JarJob
    from airflow_flink_operator.hooks import FlinkKubernetesHook
    from airflow_flink_operator.lineage.flink_config import OpenLineageFlinkConfig
    from airflow_flink_operator.models import FlinkDeployment, FlinkDeploymentSpec, JobManagerSpec, Resource
    from airflow_flink_operator.models import TaskManagerSpec
    from airflow_flink_operator.operators import FlinkDeploymentOperator
    from task_harness import run_task

    model = FlinkDeployment(name="ol-config", spec=FlinkDeploymentSpec(
        image="flink:2.0", flink_version="v2_0", service_account="flink",
        job_manager=JobManagerSpec(resource=Resource(cpu=1, memory="2048m")),
        task_manager=TaskManagerSpec(resource=Resource(cpu=1, memory="2048m")),
        job=JarJob(jar_uri="local:///opt/flink/usrlib/job.jar", parallelism=1)))
    op = FlinkDeploymentOperator(task_id="deploy", deployment=model, deferrable=False, poll_interval=0.2, timeout=60,
                                 openlineage_flink_config=OpenLineageFlinkConfig(
                                     job_name="orders.ol-config", transport={"type": "console"}, parent=False))
    run_task(op)
    applied = FlinkKubernetesHook().get("FlinkDeployment", "ol-config", "default")["spec"]["flinkConfiguration"]
    assert applied["openlineage.job.name"] == "orders.ol-config"
    assert applied["openlineage.transport.type"] == "console"
    assert applied["execution.job-status-changed-listeners"].endswith("OpenLineageJobStatusChangedListenerFactory")


def _deployment_model(name: str, version: str = "v2_0", job=None):
    from airflow_flink_operator.models import FlinkDeployment, FlinkDeploymentSpec, JobManagerSpec, Resource
    from airflow_flink_operator.models import TaskManagerSpec

    return FlinkDeployment(name=name, spec=FlinkDeploymentSpec(
        image="flink:2.0" if version.startswith("v2") else "flink:1.20", flink_version=version,
        service_account="flink", job_manager=JobManagerSpec(resource=Resource(cpu=1, memory="2048m")),
        task_manager=TaskManagerSpec(resource=Resource(cpu=1, memory="2048m")), job=job))


@pytest.fixture
def provider_env(monkeypatch):
    """No OpenLineage configuration in the environment, and the provider's cached configuration reads
    cleared before and after (``airflow.providers.openlineage.conf`` caches them per process)."""
    from airflow.providers.openlineage import conf

    def clear() -> None:
        for value in vars(conf).values():
            if callable(getattr(value, "cache_clear", None)):
                value.cache_clear()

    for key in list(os.environ):
        if key.startswith(("AIRFLOW__OPENLINEAGE__", "OPENLINEAGE")):
            monkeypatch.delenv(key)
    clear()
    yield monkeypatch
    clear()


def _applied_configuration(kind: str, name: str) -> dict:
    from airflow_flink_operator.hooks import FlinkKubernetesHook

    return FlinkKubernetesHook().get(kind, name, "default")["spec"].get("flinkConfiguration") or {}


def test_with_openlineage_disabled_the_task_deploys_without_openlineage_keys(flink_cluster, provider_env):
    """``OPENLINEAGE_DISABLED=true`` (the provider's switch): the opted-in task still deploys, unchanged."""
    from airflow_flink_operator.artifacts import JarJob
    from airflow_flink_operator.operators import FlinkDeploymentOperator
    from task_harness import run_task

    provider_env.setenv("OPENLINEAGE_DISABLED", "true")
    op = FlinkDeploymentOperator(
        task_id="deploy", deferrable=False, poll_interval=0.2, timeout=60, openlineage_flink_config=True,
        deployment=_deployment_model("ol-disabled", job=JarJob(jar_uri="local:///opt/flink/usrlib/job.jar",
                                                               parallelism=1)))
    assert run_task(op)["job_state"] == "RUNNING"
    assert not [k for k in _applied_configuration("FlinkDeployment", "ol-disabled")
                if k.startswith("openlineage.") or "openlineage" in k]


def test_a_retry_keeps_the_job_and_an_unconfigured_provider_adds_no_transport(flink_cluster, provider_env):
    """With the defaults (no parent run) a retry of the task applies the same spec: no new generation, no
    upgrade. The provider has no transport configured: only the job identity is set (never ``console``)."""
    from airflow_flink_operator.artifacts import JarJob
    from airflow_flink_operator.operators import FlinkDeploymentOperator
    from task_harness import TaskInstanceStub, context_for, run_task

    def attempt(try_number: int) -> dict:
        op = FlinkDeploymentOperator(
            task_id="deploy", deferrable=False, poll_interval=0.2, timeout=60, openlineage_flink_config=True,
            deployment=_deployment_model("ol-retry", job=JarJob(jar_uri="local:///opt/flink/usrlib/job.jar",
                                                                parallelism=1)))
        return run_task(op, context_for(TaskInstanceStub(task_id="deploy", try_number=try_number)))

    first, retry = attempt(1), attempt(2)
    assert first["generation"] == retry["generation"] == 1
    conf = _applied_configuration("FlinkDeployment", "ol-retry")
    assert conf["openlineage.job.name"] == "default.ol-retry"
    assert conf["execution.job-status-changed-listeners"].endswith("OpenLineageJobStatusChangedListenerFactory")
    assert not [k for k in conf if k.startswith("openlineage.transport.")] and "openlineage.run.tags" not in conf


def test_a_session_job_on_a_flink_1_session_cluster_gets_the_flink_1_keys(flink_cluster, provider_env):
    """A session job carries no Flink version: the operator passes its session cluster's (``v1_20``)."""
    from airflow_flink_operator.artifacts import JarJob
    from airflow_flink_operator.lineage.flink_config import OpenLineageFlinkConfig
    from airflow_flink_operator.models import FlinkSessionJob, FlinkSessionJobSpec
    from airflow_flink_operator.operators import FlinkDeploymentOperator, FlinkSessionJobOperator
    from task_harness import run_task

    run_task(FlinkDeploymentOperator(task_id="session", deferrable=False, poll_interval=0.2, timeout=60,
                                     deployment=_deployment_model("ol-session", version="v1_20")))
    op = FlinkSessionJobOperator(
        task_id="job", deferrable=False, poll_interval=0.2, timeout=60,
        openlineage_flink_config=OpenLineageFlinkConfig(job_name="analytics.top-pages", transport=False),
        session_job=FlinkSessionJob(name="top-pages", spec=FlinkSessionJobSpec(
            deployment_name="ol-session", job=JarJob(jar_uri="https://repo.example.com/top-pages.jar", parallelism=1))))
    run_task(op)
    conf = _applied_configuration("FlinkSessionJob", "top-pages")
    assert conf["execution.job-listener.openlineage.job-name"] == "analytics.top-pages"
    assert "execution.job-listener.openlineage.namespace" in conf
    assert "execution.job-status-changed-listeners" not in conf


def test_openlineage_flink_config_is_refused_on_operators_that_do_not_apply_a_spec():
    """Set on an operator that never applies a spec it would do nothing: the DAG fails to parse instead."""
    from airflow_flink_operator.operators import FlinkDeploymentOperator, FlinkSavepointOperator
    from airflow_flink_operator.operators import FlinkSavepointRetentionOperator

    for operator in (FlinkSavepointOperator, FlinkSavepointRetentionOperator):
        with pytest.raises(ValueError, match="FlinkDeploymentOperator, FlinkSessionJobOperator, FlinkUpgradeOperator"):
            operator(task_id="x", name="orders", openlineage_flink_config=True)
        assert operator(task_id="y", name="orders").openlineage_flink_config is None
    model = _deployment_model("orders")
    assert FlinkDeploymentOperator(task_id="z", deployment=model, openlineage_flink_config=True)


# --- secrets never reach a log line, a dataset name or a facet -------------------------------------


SQL_WITH_SECRETS = """CREATE TABLE orders (id BIGINT, ts TIMESTAMP(3))
WITH ('connector' = 'kafka', 'topic' = 'orders', 'properties.bootstrap.servers' = 'kafka:9092', 'format' = 'json');
CREATE TABLE mssql_sink (id BIGINT) WITH ('connector' = 'jdbc',
  'url' = 'jdbc:sqlserver://h:1433;databaseName=db;user=u;password=hunter2', 'table-name' = 'orders');
CREATE TABLE broken_sink (id BIGINT) WITH ('connector' = 'filesystem', 'path' = 'hdfs://u:hunter2@[nn/x',
  'format' = 'csv');
INSERT INTO mssql_sink SELECT id FROM orders;
INSERT INTO broken_sink SELECT window_start FROM TABLE(TUMBLE(TABLE orders, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
  WHERE 'hunter2' <> '';
"""


def test_a_password_in_a_connector_url_is_never_logged_and_the_other_datasets_stay(caplog):
    from airflow_flink_operator.artifacts import SqlJob
    from airflow_flink_operator.lineage.extract import job_datasets

    caplog.set_level("DEBUG", logger="airflow_flink_operator.lineage")
    inputs, outputs, _ = job_datasets(SqlJob(sql=SQL_WITH_SECRETS, parallelism=1))
    assert {(d.namespace, d.name) for d in inputs} == {("kafka://kafka:9092", "orders")}
    assert {(d.namespace, d.name) for d in outputs} == {("sqlserver://h:1433", "db.orders")}
    assert "broken_sink" in caplog.text  # the unreadable one is named, and skipped alone
    assert "hunter2" not in caplog.text


def test_dataset_names_never_carry_credentials():
    from airflow_flink_operator.lineage.datasets import from_connector_options, kafka

    def ids(ref) -> tuple[str, str]:
        return ref.namespace, ref.name

    assert ids(jdbc("jdbc:oracle:thin:scott/tiger@//dbhost:1521/ORCL", "orders")) == \
        ("oracle://dbhost:1521", "ORCL.orders")
    assert ids(jdbc("jdbc:oracle:thin:@dbhost:1521:ORCL", "sales.orders")) == \
        ("oracle://dbhost:1521", "ORCL.sales.orders")
    assert ids(jdbc("jdbc:oracle:thin:scott/tiger@(DESCRIPTION=(ADDRESS=(PROTOCOL=TCP)(HOST=ora)(PORT=1522))"
                    "(CONNECT_DATA=(SERVICE_NAME=SVC)))", "orders")) == ("oracle://ora:1522", "SVC.orders")
    assert ids(jdbc("jdbc:mysql://u:tiger@my:3307/shop?password=tiger", "orders")) == ("mysql://my:3307", "shop.orders")
    assert ids(jdbc("jdbc:db2://db2:50000/SAMPLE:user=u;password=tiger;", "t")) == ("db2://db2:50000", "SAMPLE.t")
    assert ids(jdbc("jdbc:hive2://hs:10000/dw;user=u;password=tiger", "t")) == ("hive://hs:10000", "dw.t")
    assert ids(jdbc("jdbc:mysql://address=(host=my)(port=3308)(user=u)(password=tiger)/shop", "t")) == \
        ("mysql://my:3308", "shop.t")
    assert ids(path("s3://KEY:tiger@bucket/a/b")) == ("s3://bucket", "a/b")
    assert ids(path("hdfs://u:tiger@nn:8020/x")) == ("hdfs://nn:8020", "/x")
    assert ids(kafka("u:tiger@kafka:9093", "t")[0]) == ("kafka://kafka:9093", "t")
    assert ids(from_connector_options({"connector": "mongodb", "uri": "mongodb://u:tiger@mongo:27018/?authSource=a",
                                       "database": "shop", "collection": "orders"})[0]) == \
        ("mongodb://mongo:27018", "shop.orders")
    assert ids(from_connector_options({"connector": "doris", "jdbc-url": "jdbc:mysql://u:tiger@fe:9030/db",
                                       "table.identifier": "db.t"})[0]) == ("doris://fe:9030", "db.t")


def test_facets_have_no_signed_or_userinfo_urls():
    from airflow_flink_operator.artifacts import JarJob
    from airflow_flink_operator.lineage import facets
    from airflow_flink_operator.lineage.extract import describe

    presigned = ("https://u:tiger@bucket.s3.amazonaws.com/jobs/job.jar"
                 "?X-Amz-Credential=AKIA%2F20261127&X-Amz-Signature=tiger")
    job = describe(_deployment_model("signed", job=JarJob(jar_uri=presigned)), "default")
    assert facets.job_facets(job)[facets.FLINK_FACET_KEY].jarURI == "https://bucket.s3.amazonaws.com/jobs/job.jar"
    run = facets.run_facets({"initial_savepoint_path": "s3://KEY:tiger@flink-state/savepoints/savepoint-1"})
    assert run[facets.FLINK_FACET_KEY].initialSavepointPath == "s3://flink-state/savepoints/savepoint-1"


# --- the Flink SQL reader, on its own -------------------------------------------------------------


def test_flink_sql_reader_on_realistic_sql():
    parsed = parse_flink_sql(FLINK_SQL)
    assert parsed.settings == {"execution.runtime-mode": "streaming", "table.exec.state.ttl": "1 h"}
    assert sorted(parsed.tables) == ["archive", "orders", "rates", "revenue_per_minute"]
    assert {(d.namespace, d.name, d.table) for d in parsed.inputs} == {
        ("kafka://kafka:9092", "orders", "orders"), ("mysql://rates-db:3306", "fx.rates", "rates")}
    assert {(d.namespace, d.name, d.table) for d in parsed.outputs} == {
        ("postgres://warehouse:5432", "analytics.reporting.revenue", "revenue_per_minute"),
        ("s3://lake", "archive/orders", "archive")}
    # sqlglot cannot parse the window table function: it is replaced by the table it reads, then parsed.
    assert parsed.fallbacks == []


def test_flink_sql_views_ctas_catalog_tables_and_the_sql_client_statement_set():
    parsed = parse_flink_sql("""
        CREATE TABLE src (a INT) WITH ('connector' = 'filesystem', 'path' = '/data/in', 'format' = 'csv');
        CREATE VIEW positive AS SELECT a FROM src WHERE a > 0;
        CREATE TABLE dst WITH ('connector' = 'upsert-kafka', 'topic' = 'out',
                               'properties.bootstrap.servers' = 'b1:9093,b2:9093')
        AS SELECT p.a FROM positive p JOIN hive_cat.dim.accounts d ON p.a = d.a;
        BEGIN STATEMENT SET;
        INSERT INTO `dst` SELECT * FROM default_catalog.default_database.src;
        INSERT INTO sink_print SELECT * FROM datagen_source;
        END;
    """)
    # hive_cat.dim.accounts, datagen_source and sink_print are declared nowhere in the script: left out.
    assert [(d.namespace, d.name) for d in parsed.inputs] == [("file", "/data/in")]
    assert [(d.namespace, d.name) for d in parsed.outputs] == [("kafka://b1:9093", "out")]


def test_dataset_names_follow_the_openlineage_conventions():
    assert jdbc("jdbc:postgresql://pg:5432/shop", "orders").namespace == "postgres://pg:5432"
    assert jdbc("jdbc:postgresql://pg:5432/shop", "orders").name == "shop.orders"  # JdbcLocation.toName
    assert (jdbc("jdbc:mysql://my/shop", "orders").namespace, jdbc("jdbc:mysql://my/shop", "orders").name) == \
        ("mysql://my:3306", "shop.orders")
    assert (path("s3a://bucket/a/b").namespace, path("s3a://bucket/a/b").name) == ("s3://bucket", "a/b")
    assert (path("hdfs://nn:8020/x").namespace, path("hdfs://nn:8020/x").name) == ("hdfs://nn:8020", "/x")
    assert jdbc("jdbc:mysql://my:3306/shop", "shop.orders").name == "shop.orders"  # database not repeated
    cdc_inputs, console = seatunnel_config('source { MySQL-CDC { base-url = "jdbc:mysql://db:3306/shop"\n'
                                           'table-names = ["shop.orders", "shop.users"] } }\nsink { Console {} }')
    assert [(d.namespace, d.name) for d in cdc_inputs] == [("mysql://db:3306", "shop.orders"),
                                                           ("mysql://db:3306", "shop.users")] and console == []
    inputs, outputs = seatunnel_config(SEATUNNEL)
    assert [(d.namespace, d.name) for d in inputs + outputs] == [
        ("kafka://kafka:9092", "page_views"), ("elasticsearch://search:9200", "page_views")]
    import yaml

    inputs, outputs = cdc_pipeline(yaml.safe_load(PIPELINE))
    assert [d.name for d in inputs] == ["shop.orders", "shop.customers"]
    assert [d.name for d in outputs] == ["ods.orders", "shop.customers"]


# --- without the provider -------------------------------------------------------------------------

WITHOUT_PROVIDER = """
import sys
from importlib.abc import MetaPathFinder

# The distribution stays installed, so Airflow's provider discovery still loads its metadata module
# (get_provider_info); everything else of the provider, the OpenLineage client and sqlglot is blocked.
ALLOWED = ("airflow.providers.openlineage", "airflow.providers.openlineage.get_provider_info")


class Block(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.startswith(("openlineage", "airflow.providers.openlineage", "sqlglot")) and name not in ALLOWED:
            raise ModuleNotFoundError(f"blocked: {name}")
        return None

sys.meta_path.insert(0, Block())
for name in [m for m in sys.modules if m.startswith(("openlineage", "airflow.providers.openlineage", "sqlglot"))]:
    del sys.modules[name]
sys.path.insert(0, sys.argv[1])

from airflow_flink_operator.artifacts import SqlJob
from airflow_flink_operator.models import FlinkDeployment, FlinkDeploymentSpec, JobManagerSpec, Resource, TaskManagerSpec
from airflow_flink_operator.operators import FlinkDeploymentOperator
from task_harness import context_for, run_task, TaskInstanceStub

model = FlinkDeployment(name="no-lineage", spec=FlinkDeploymentSpec(
    image="flink:1.20", flink_version="v1_20", service_account="flink",
    job_manager=JobManagerSpec(resource=Resource(cpu=1, memory="2048m")),
    task_manager=TaskManagerSpec(resource=Resource(cpu=1, memory="2048m")),
    job=SqlJob(sql="INSERT INTO b SELECT * FROM a;", parallelism=1)))
op = FlinkDeploymentOperator(task_id="deploy", deployment=model, deferrable=False, poll_interval=0.2, timeout=60)
result = run_task(op, context_for(TaskInstanceStub(task_id="deploy")))
loaded = [m for m in sys.modules if m.startswith(("openlineage", "airflow.providers.openlineage", "sqlglot"))
          and m not in ALLOWED]
print("RESULT", result["job_state"], loaded)
try:
    FlinkDeploymentOperator(task_id="x", deployment=model, openlineage_flink_config=True).openlineage_prepare(
        model, {}, "default")
except Exception as exc:
    print("REFUSED", type(exc).__name__, exc)
"""


def test_operators_work_without_the_provider(tmp_path):
    """With OpenLineage (and sqlglot) unimportable, operators import, deploy and import nothing of them;
    opting in to the Flink configuration then says what to install."""
    from airflow_flink_operator.testing import SimulatedCluster

    script = tmp_path / "without.py"
    script.write_text(textwrap.dedent(WITHOUT_PROVIDER))
    cluster = SimulatedCluster(crd_dir=crd_dir_from_env()).start()
    try:
        env = {**_airflow_env(tmp_path), **cluster.airflow_connection_env()}
        result = subprocess.run([sys.executable, str(script), str(ROOT / "tests")], env=env, capture_output=True,
                                text=True, timeout=300, check=False)
    finally:
        cluster.stop()
    assert result.returncode == 0, result.stderr[-4000:]
    assert "RESULT RUNNING []" in result.stdout, result.stdout[-2000:]
    assert "REFUSED OpenLineageConfigError" in result.stdout and "apache-airflow-providers-openlineage" in result.stdout


def test_an_upgrade_by_patch_refuses_the_openlineage_option():
    """A spec_patch upgrade keeps the keys the deploy task set; asking it to configure them is a mistake."""
    from airflow_flink_operator.operators import FlinkUpgradeOperator

    with pytest.raises(ValueError, match="openlineage_flink_config needs deployment="):
        FlinkUpgradeOperator(task_id="up", name="orders", spec_patch={"job": {"parallelism": 2}},
                             openlineage_flink_config=True)
