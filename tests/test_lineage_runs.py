"""Whose datasets: the Flink job's, sent on its own run (a child of the task's) when a task starts a new
Flink job; nothing when a task only finds the job running; nothing from this package when the Flink job
reports its own lineage. Through the real OpenLineage listener (``dag.test()`` in a fresh Airflow home,
against the simulated cluster), with the provider's transport a composite (HTTP to this test + console).

Oracles: the OpenLineage provider's child-job convention (``utils/sql_hook_lineage.py``
``_create_ol_event_pair``: a ``parent`` run facet naming the task run, the child's own ``jobType``);
openlineage-flink's ``jobType`` (``OpenLineageJobExtractor``: FLINK/JOB) and Kafka naming
(``KafkaTableLineageDatasetIdentifierVisitor``: ``kafka://<first bootstrap server>`` + topic).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import pytest

pytest.importorskip("airflow.providers.openlineage", reason="the openlineage extra is not installed")
pytest.importorskip("sqlglot", reason="the openlineage extra is not installed")

from test_openlineage import RUNNER, _airflow_env, _Receiver  # noqa: E402

DAG_ID = "flink_lineage_runs"
KAFKA_SQL = """
CREATE TABLE clicks (user_id BIGINT, url STRING) WITH ('connector' = 'kafka', 'topic' = 'clicks',
  'properties.bootstrap.servers' = 'kafka:9092', 'format' = 'json');
CREATE TABLE clicks_copy (user_id BIGINT, url STRING) WITH ('connector' = 'kafka', 'topic' = 'clicks-copy',
  'properties.bootstrap.servers' = 'kafka:9092', 'format' = 'json');
INSERT INTO clicks_copy SELECT user_id, url FROM clicks;
"""
CLICKS = ("kafka://kafka:9092", "clicks")
CLICKS_COPY = ("kafka://kafka:9092", "clicks-copy")

DAG_FILE = f'''
from datetime import datetime

from airflow.sdk import DAG

from airflow_flink_operator.artifacts import SqlJob
from airflow_flink_operator.lineage.flink_config import OpenLineageFlinkConfig
from airflow_flink_operator.models import (
    Checkpointing, FlinkDeployment, FlinkDeploymentSpec, JobManagerSpec, Resource, TaskManagerSpec)
from airflow_flink_operator.operators import FlinkDeploymentOperator

def deployment(name, version="v1_20"):
    return FlinkDeployment(name=name, spec=FlinkDeploymentSpec(
        image="flink:1.20", flink_version=version, service_account="flink",
        job_manager=JobManagerSpec(resource=Resource(cpu=1, memory="2048m")),
        task_manager=TaskManagerSpec(resource=Resource(cpu=1, memory="2048m")),
        checkpointing=Checkpointing(interval="30 s", dir="s3://flink-state/" + name + "/checkpoints"),
        job=SqlJob(sql={KAFKA_SQL!r}, parallelism=1)))

with DAG({DAG_ID!r}, start_date=datetime(2026, 1, 1), schedule=None,
         default_args={{"deferrable": False, "poll_interval": 0.2, "timeout": 120}}) as dag:
    deploy = FlinkDeploymentOperator(task_id="deploy", deployment=deployment("clicks-copy"))
    # The hourly "is it running?" task of a streaming DAG: same spec, nothing changes.
    ensure_running = FlinkDeploymentOperator(task_id="ensure_running", deployment=deployment("clicks-copy"))
    backfill = FlinkDeploymentOperator(task_id="backfill", deployment=deployment("clicks-backfill"),
                                       wait_for="finished")
    # The Flink job reports its own lineage; the transport is the provider's (a composite).
    self_reporting = FlinkDeploymentOperator(task_id="self_reporting", deployment=deployment("clicks-ol", "v2_0"),
                                             openlineage_flink_config=OpenLineageFlinkConfig())
    deploy >> ensure_running
'''


@pytest.fixture(scope="module")
def lineage_events(tmp_path_factory):
    from airflow_flink_operator.testing import SimulatedCluster

    home = tmp_path_factory.mktemp("airflow")
    (home / "lineage_runs_dag.py").write_text(DAG_FILE)
    (home / "runner.py").write_text(RUNNER)
    receiver = _Receiver()
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    cluster = SimulatedCluster().start()
    cluster.behave("clicks-backfill", bounded=0.5)  # a bounded job: it FINISHES
    try:
        env = _airflow_env(home)
        migrate = subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], env=env, capture_output=True,
                                 text=True, timeout=600, check=False)
        assert migrate.returncode == 0, migrate.stderr[-3000:]
        transport = {"type": "composite", "continue_on_failure": True, "transports": {
            "test": {"type": "http", "url": receiver.url, "endpoint": "api/v1/lineage"},
            "log": {"type": "console"}}}
        env.update(cluster.airflow_connection_env(), AIRFLOW__OPENLINEAGE__NAMESPACE="flink-tests",
                   AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD="True",
                   AIRFLOW__OPENLINEAGE__TRANSPORT=json.dumps(transport))
        result = subprocess.run([sys.executable, str(home / "runner.py"), str(home / "lineage_runs_dag.py")],
                                env=env, capture_output=True, text=True, timeout=600, check=False)
        line = next((x for x in result.stdout.splitlines() if x.startswith("STATES ")), None)
        assert line, result.stdout[-3000:] + result.stderr[-5000:]
        states = json.loads(line[len("STATES "):])
        assert states == dict.fromkeys(("deploy", "ensure_running", "backfill", "self_reporting"), "success"), \
            result.stderr[-5000:]
        tasks = [f"{DAG_ID}.{t}" for t in states]
        deadline = time.monotonic() + 60  # events may still be in flight when dag.test() returns
        while time.monotonic() < deadline and not all(
                any(e["eventType"] == "COMPLETE" and e["job"]["name"] == t for e in list(receiver.events))
                for t in tasks):
            time.sleep(0.1)
        yield list(receiver.events), {o["metadata"]["name"]: o for o in cluster.list("FlinkDeployment")}
    finally:
        cluster.stop()
        receiver.shutdown()


def events_of(events: list[dict], job_name: str, event_type: str | None = None) -> list[dict]:
    return [e for e in events if e["job"]["name"] == job_name and event_type in (None, e["eventType"])]


def datasets(event: dict, side: str) -> set[tuple[str, str]]:
    return {(d["namespace"], d["name"]) for d in event.get(side, [])}


def the_task(events: list[dict], task_id: str, event_type: str) -> dict:
    (event,) = events_of(events, f"{DAG_ID}.{task_id}", event_type)
    return event


def test_a_task_that_creates_the_job_sends_the_flink_jobs_run_as_its_child(lineage_events):
    events, _ = lineage_events
    task = the_task(events, "deploy", "COMPLETE")
    (child,) = events_of(events, "default.clicks-copy")  # the streaming job: one START, no end seen
    assert child["eventType"] == "START" and child["job"]["namespace"] == "flink-tests"
    assert datasets(child, "inputs") == {CLICKS} and datasets(child, "outputs") == {CLICKS_COPY}
    job_type = child["job"]["facets"]["jobType"]
    assert (job_type["integration"], job_type["jobType"], job_type["processingType"]) == ("FLINK", "JOB", "STREAMING")
    parent = child["run"]["facets"]["parent"]
    assert parent["run"]["runId"] == task["run"]["runId"]
    assert (parent["job"]["namespace"], parent["job"]["name"]) == ("flink-tests", f"{DAG_ID}.deploy")
    assert child["run"]["facets"]["airflowFlinkOperator_flink"]["specChange"] == "created"
    # The task's own events: its own jobType, the Flink job named, none of the job's datasets.
    for event in (the_task(events, "deploy", "START"), task):
        assert event["job"]["facets"]["jobType"]["integration"] == "AIRFLOW"
        assert "flinkJobType" not in event["job"]["facets"] and "flink" not in event["job"]["facets"]
        assert event["job"]["facets"]["airflowFlinkOperator_flink"]["name"] == "clicks-copy"
        assert datasets(event, "inputs") == set() and datasets(event, "outputs") == set()


def test_a_task_that_finds_the_job_running_claims_no_datasets(lineage_events):
    """The hourly ``ensure_running`` writes nothing: no new dataset version per run."""
    events, _ = lineage_events
    complete = the_task(events, "ensure_running", "COMPLETE")
    assert complete["run"]["facets"]["airflowFlinkOperator_flink"]["specChange"] == "unchanged"
    for event in (the_task(events, "ensure_running", "START"), complete):
        assert datasets(event, "inputs") == set() and datasets(event, "outputs") == set()
    assert not [e for e in events_of(events, "default.clicks-copy")
                if e["run"]["facets"]["parent"]["job"]["name"] == f"{DAG_ID}.ensure_running"]


def test_a_bounded_job_that_finished_in_the_task_gets_a_complete_run(lineage_events):
    events, _ = lineage_events
    child = events_of(events, "default.clicks-backfill")
    assert [e["eventType"] for e in child] == ["START", "COMPLETE"]
    assert len({e["run"]["runId"] for e in child}) == 1
    assert child[-1]["job"]["facets"]["jobType"]["processingType"] == "BATCH"
    assert datasets(child[-1], "outputs") == {CLICKS_COPY}


def test_a_flink_job_reporting_its_own_lineage_is_named_not_duplicated(lineage_events):
    """With ``openlineage_flink_config`` the Flink job sends its own runs (openlineage-flink): the task names
    that job and sends neither a child run nor its datasets; the provider's composite transport is given to
    the Flink job, and the task succeeds."""
    events, deployments = lineage_events
    facet = the_task(events, "self_reporting", "COMPLETE")["job"]["facets"]["airflowFlinkOperator_flink"]
    assert (facet["openlineageJobNamespace"], facet["openlineageJobName"]) == ("flink-tests", "default.clicks-ol")
    assert events_of(events, "default.clicks-ol") == []
    conf = deployments["clicks-ol"]["spec"]["flinkConfiguration"]
    assert conf["openlineage.transport.type"] == "composite"
    assert conf["openlineage.transport.transports.test.type"] == "http"
    assert conf["openlineage.transport.transports.log.type"] == "console"
