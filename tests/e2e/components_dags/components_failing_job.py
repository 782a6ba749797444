"""A job that fails as soon as it starts: the deferred deploy task must fail with the operator's error."""

from datetime import datetime

from airflow.sdk import DAG

from airflow_flink_operator.artifacts import JarJob
from airflow_flink_operator.models import FlinkDeployment, FlinkDeploymentSpec, JobManagerSpec, Resource, TaskManagerSpec
from airflow_flink_operator.operators import FlinkDeploymentOperator, FlinkSavepointOperator

NAME = "components-failing"

FAILING = FlinkDeployment(
    name=NAME,
    spec=FlinkDeploymentSpec(
        image="flink:1.20", flink_version="v1_20", service_account="flink",
        job_manager=JobManagerSpec(resource=Resource(cpu=1, memory="1024m")),
        task_manager=TaskManagerSpec(resource=Resource(cpu=1, memory="1024m")),
        job=JarJob(jar_uri="local:///opt/flink/usrlib/failing.jar", parallelism=1),
    ),
)

with DAG(dag_id="components_failing_job", start_date=datetime(2026, 1, 1), schedule=None, catchup=False,
         doc_md=__doc__, default_args={"deferrable": True, "retries": 0, "timeout": 300}):
    deploy = FlinkDeploymentOperator(task_id="deploy", deployment=FAILING, deferrable=True)
    never = FlinkSavepointOperator(task_id="savepoint", name=NAME, deferrable=True)
    deploy >> never
