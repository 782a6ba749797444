"""Hourly savepoints of a streaming job, keeping the newest ten and anything from the last day."""

from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_flink_operator.artifacts import JarJob
from airflow_flink_operator.models import (
    Checkpointing,
    FlinkDeployment,
    FlinkDeploymentSpec,
    HighAvailability,
    JobManagerSpec,
    Resource,
    Savepoints,
    TaskManagerSpec,
)
from airflow_flink_operator.operators import (
    FlinkDeploymentOperator,
    FlinkSavepointOperator,
    FlinkSavepointRetentionOperator,
)

FRAUD_SCORING = FlinkDeployment(
    name="fraud-scoring",
    spec=FlinkDeploymentSpec(
        image="registry.example.com/risk/fraud-scoring:7.3.0",
        flink_version="v1_20",
        service_account="flink",
        job_manager=JobManagerSpec(resource=Resource(cpu=1, memory="2048m")),
        task_manager=TaskManagerSpec(resource=Resource(cpu=2, memory="8192m")),
        checkpointing=Checkpointing(interval="20 s", dir="s3://flink-state/fraud-scoring/checkpoints"),
        savepoints=Savepoints(dir="s3://flink-state/fraud-scoring/savepoints", format_type="CANONICAL"),
        high_availability=HighAvailability(storage_dir="s3://flink-state/fraud-scoring/ha"),
        job=JarJob(jar_uri="local:///opt/flink/usrlib/fraud-scoring.jar", parallelism=8, upgrade_mode="savepoint"),
    ),
)

with DAG(
    dag_id="flink_scheduled_savepoints",
    start_date=datetime(2026, 1, 1),
    doc_md=__doc__,
    schedule="@hourly",
    catchup=False,
    max_active_runs=1,
    tags=["flink", "savepoints"],
    # retries: a worker that cannot reach the API server in time, or Airflow 3.3.2 failing a
    # deferred task whose trigger fired too soon (apache/airflow#67287), fails a try, not the run.
    default_args={"deferrable": True, "timeout": 1800, "retries": 2, "retry_delay": timedelta(seconds=30)},
) as dag:
    # Applying the desired spec is idempotent: it only changes something if the spec drifted.
    ensure_running = FlinkDeploymentOperator(task_id="ensure_running", deployment=FRAUD_SCORING)
    savepoint = FlinkSavepointOperator(task_id="savepoint", name="fraud-scoring", backoff_limit=2)
    prune = FlinkSavepointRetentionOperator(task_id="prune_old_savepoints", name="fraud-scoring", keep_last=10,
                                            max_age=timedelta(days=1))
    ensure_running >> savepoint >> prune
