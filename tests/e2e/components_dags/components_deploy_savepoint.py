"""Deploy a streaming job and take a savepoint, both waiting in the triggerer (deferrable)."""

from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_flink_operator.artifacts import JarJob
from airflow_flink_operator.models import (
    Checkpointing, FlinkDeployment, FlinkDeploymentSpec, JobManagerSpec, Resource, Savepoints, TaskManagerSpec,
)
from airflow_flink_operator.operators import FlinkDeploymentOperator, FlinkSavepointOperator

NAME = "components-orders"

ORDERS = FlinkDeployment(
    name=NAME,
    spec=FlinkDeploymentSpec(
        image="flink:1.20", flink_version="v1_20", service_account="flink",
        job_manager=JobManagerSpec(resource=Resource(cpu=1, memory="1024m")),
        task_manager=TaskManagerSpec(resource=Resource(cpu=1, memory="1024m")),
        checkpointing=Checkpointing(interval="30 s", dir=f"s3://flink-state/{NAME}/checkpoints"),
        savepoints=Savepoints(dir=f"s3://flink-state/{NAME}/savepoints"),
        job=JarJob(jar_uri="local:///opt/flink/usrlib/orders.jar", parallelism=1, upgrade_mode="savepoint"),
    ),
)

#: One retry, as the README advises on Airflow 3.3.2: a deferred task whose trigger fires before the
#: scheduler has processed its deferral is marked failed (apache/airflow#67287). A retried task reattaches
#: (a retried teardown returns the final savepoint of the try that deleted the job).
RETRY_AIRFLOW_RACE = {"retries": 1, "retry_delay": timedelta(seconds=1)}

with DAG(dag_id="components_deploy_savepoint", start_date=datetime(2026, 1, 1), schedule=None, catchup=False,
         doc_md=__doc__, default_args={"deferrable": True, "timeout": 300, **RETRY_AIRFLOW_RACE}):
    deploy = FlinkDeploymentOperator(task_id="deploy", deployment=ORDERS, deferrable=True)
    savepoint = FlinkSavepointOperator(task_id="savepoint", name=NAME, deferrable=True)
    deploy >> savepoint
