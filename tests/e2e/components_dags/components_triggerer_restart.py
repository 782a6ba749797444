"""One deferred deploy, kept waiting while the test replaces the triggerer process under it."""

from datetime import datetime

from airflow.sdk import DAG

from airflow_flink_operator.artifacts import JarJob
from airflow_flink_operator.models import FlinkDeployment, FlinkDeploymentSpec, JobManagerSpec, Resource, TaskManagerSpec
from airflow_flink_operator.operators import FlinkDeploymentOperator

NAME = "components-restart"

RESTART = FlinkDeployment(
    name=NAME,
    spec=FlinkDeploymentSpec(
        image="flink:1.20", flink_version="v1_20", service_account="flink",
        job_manager=JobManagerSpec(resource=Resource(cpu=1, memory="1024m")),
        task_manager=TaskManagerSpec(resource=Resource(cpu=1, memory="1024m")),
        job=JarJob(jar_uri="local:///opt/flink/usrlib/restart.jar", parallelism=1),
    ),
)

with DAG(dag_id="components_triggerer_restart", start_date=datetime(2026, 1, 1), schedule=None, catchup=False,
         doc_md=__doc__, default_args={"deferrable": True, "retries": 0, "timeout": 300}):
    FlinkDeploymentOperator(task_id="deploy", deployment=RESTART, deferrable=True)
