"""A shared session cluster and the jobs that run on it.

Jar session jobs are downloaded by the operator (https). A SQL script and a Python program run
as session jobs when they are already on the session cluster: here they are mounted into it from
a ConfigMap the platform team maintains (``shared-flink-scripts``).
"""

from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_flink_operator.artifacts import JarJob, PythonJob, SqlJob
from airflow_flink_operator.models import (
    ConfigMapFile,
    FlinkDeployment,
    FlinkDeploymentSpec,
    FlinkSessionJob,
    FlinkSessionJobSpec,
    JobManagerSpec,
    PodTemplate,
    Resource,
    Savepoints,
    TaskManagerSpec,
)
from airflow_flink_operator.operators import FlinkDeploymentOperator, FlinkSessionJobOperator

ARTIFACTS = "https://artifacts.example.com/flink"

SESSION = FlinkDeployment(
    name="analytics-session",
    spec=FlinkDeploymentSpec(
        image="registry.example.com/data/flink-session:1.20",
        flink_version="v1_20",
        service_account="flink",
        job_manager=JobManagerSpec(resource=Resource(cpu=1, memory="2048m")),
        task_manager=TaskManagerSpec(resource=Resource(cpu=2, memory="4096m"), replicas=2),
        flink_configuration={"taskmanager.numberOfTaskSlots": 4},
        savepoints=Savepoints(dir="s3://flink-state/analytics-session/savepoints"),
        pod_template=PodTemplate(files=[
            ConfigMapFile(config_map="shared-flink-scripts", key="sessions.sql", mount_path="/opt/flink/scripts/sessions.sql"),
            ConfigMapFile(config_map="shared-flink-scripts", key="top_pages.py", mount_path="/opt/flink/scripts/top_pages.py"),
        ]),
    ),
)


def session_job(name: str, job) -> FlinkSessionJob:
    return FlinkSessionJob(name=name, spec=FlinkSessionJobSpec(deployment_name="analytics-session", job=job))


TOP_SPEED = session_job("top-speed-windowing", JarJob(
    jar_uri=f"{ARTIFACTS}/flink-examples-streaming-1.20.0-TopSpeedWindowing.jar", parallelism=2))
SESSIONS_SQL = session_job("sessionization-sql", SqlJob(
    script_path="/opt/flink/scripts/sessions.sql", jar_uri=f"{ARTIFACTS}/sql-runner-1.20.jar", parallelism=2))
TOP_PAGES = session_job("top-pages-python", PythonJob(
    script_path="/opt/flink/scripts/top_pages.py", jar_uri=f"{ARTIFACTS}/flink-python-1.20.0.jar", parallelism=1))

with DAG(
    dag_id="flink_session_jobs",
    start_date=datetime(2026, 1, 1),
    doc_md=__doc__,
    schedule=None,
    catchup=False,
    tags=["flink", "session"],
    # retries: a worker that cannot reach the API server in time, or Airflow 3.3.2 failing a
    # deferred task whose trigger fired too soon (apache/airflow#67287), fails a try, not the run.
    default_args={"deferrable": True, "timeout": 1800, "retries": 2, "retry_delay": timedelta(seconds=30)},
) as dag:
    cluster = FlinkDeploymentOperator(task_id="session_cluster", deployment=SESSION, wait_for="ready")
    for job in (TOP_SPEED, SESSIONS_SQL, TOP_PAGES):
        cluster >> FlinkSessionJobOperator(task_id=f"submit_{job.name.replace('-', '_')}", session_job=job)
