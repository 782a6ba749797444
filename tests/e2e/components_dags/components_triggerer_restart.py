"""One deferred deploy, kept waiting while the test replaces the triggerer process under it."""

from datetime import datetime, timedelta

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

#: One retry, as the README advises on Airflow 3.3.2: a deferred task whose trigger fires before the
#: scheduler has processed its deferral is marked failed (apache/airflow#67287). A retried task reattaches
#: (a retried teardown returns the final savepoint of the try that deleted the job).
RETRY_AIRFLOW_RACE = {"retries": 1, "retry_delay": timedelta(seconds=1)}

with DAG(dag_id="components_triggerer_restart", start_date=datetime(2026, 1, 1), schedule=None, catchup=False,
         doc_md=__doc__, default_args={"deferrable": True, "timeout": 300, **RETRY_AIRFLOW_RACE}):
    FlinkDeploymentOperator(task_id="deploy", deployment=RESTART, deferrable=True)
