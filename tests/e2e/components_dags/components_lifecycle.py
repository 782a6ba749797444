"""Deploy, upgrade with a savepoint, suspend, resume and tear down; every wait deferred to the triggerer."""

from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_flink_operator.artifacts import JarJob
from airflow_flink_operator.models import (
    Checkpointing, FlinkDeployment, FlinkDeploymentSpec, JobManagerSpec, Resource, Savepoints, TaskManagerSpec,
)
from airflow_flink_operator.operators import (
    FlinkDeploymentOperator, FlinkResumeOperator, FlinkSuspendOperator, FlinkTeardownOperator, FlinkUpgradeOperator,
)

NAME = "components-clicks"

CLICKS = FlinkDeployment(
    name=NAME,
    spec=FlinkDeploymentSpec(
        image="registry.example.com/web/clicks:1.0.0", flink_version="v1_20", service_account="flink",
        job_manager=JobManagerSpec(resource=Resource(cpu=1, memory="1024m")),
        task_manager=TaskManagerSpec(resource=Resource(cpu=1, memory="1024m")),
        checkpointing=Checkpointing(interval="30 s", dir=f"s3://flink-state/{NAME}/checkpoints"),
        savepoints=Savepoints(dir=f"s3://flink-state/{NAME}/savepoints"),
        job=JarJob(jar_uri="local:///opt/flink/usrlib/clicks.jar", parallelism=1, upgrade_mode="savepoint"),
    ),
)

#: One retry, as the README advises on Airflow 3.3.2: a deferred task whose trigger fires before the
#: scheduler has processed its deferral is marked failed (apache/airflow#67287). A retried task reattaches
#: (a retried teardown returns the final savepoint of the try that deleted the job).
RETRY_AIRFLOW_RACE = {"retries": 1, "retry_delay": timedelta(seconds=1)}

with DAG(dag_id="components_lifecycle", start_date=datetime(2026, 1, 1), schedule=None, catchup=False,
         doc_md=__doc__, default_args={"deferrable": True, "timeout": 300, **RETRY_AIRFLOW_RACE}):
    deploy = FlinkDeploymentOperator(task_id="deploy", deployment=CLICKS, wait_for="stable", deferrable=True)
    upgrade = FlinkUpgradeOperator(task_id="upgrade", name=NAME, deferrable=True, upgrade_mode="savepoint",
                                   spec_patch={"image": "registry.example.com/web/clicks:1.1.0",
                                               "job": {"parallelism": 2}})
    suspend = FlinkSuspendOperator(task_id="suspend", name=NAME, deferrable=True)
    resume = FlinkResumeOperator(task_id="resume", name=NAME, deferrable=True)
    teardown = FlinkTeardownOperator(task_id="teardown", name=NAME, savepoint="snapshot", deferrable=True)
    deploy >> upgrade >> suspend >> resume >> teardown
