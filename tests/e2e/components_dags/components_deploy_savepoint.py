"""Deploy a streaming job and take a savepoint, both waiting in the triggerer (deferrable)."""

from datetime import datetime

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

with DAG(dag_id="components_deploy_savepoint", start_date=datetime(2026, 1, 1), schedule=None, catchup=False,
         doc_md=__doc__, default_args={"deferrable": True, "retries": 0, "timeout": 300}):
    deploy = FlinkDeploymentOperator(task_id="deploy", deployment=ORDERS, deferrable=True)
    savepoint = FlinkSavepointOperator(task_id="savepoint", name=NAME, deferrable=True)
    deploy >> savepoint
