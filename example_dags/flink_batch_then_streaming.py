"""Backfill in batch, then upgrade the streaming job from a fresh savepoint.

A bounded job recomputes history and runs to FINISHED; then the streaming job is upgraded to the
new release: a savepoint first (kept as a safety copy), then a savepoint-mode upgrade that the
operator restores from, waited until STABLE.
"""

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
from airflow_flink_operator.operators import FlinkDeploymentOperator, FlinkTeardownOperator, FlinkUpgradeOperator

SIMULATION = {"sessions-backfill": {"bounded": 0.3}}


def deployment(name: str, image: str, job: JarJob) -> FlinkDeployment:
    return FlinkDeployment(name=name, spec=FlinkDeploymentSpec(
        image=image,
        flink_version="v1_20",
        service_account="flink",
        job_manager=JobManagerSpec(resource=Resource(cpu=1, memory="2048m")),
        task_manager=TaskManagerSpec(resource=Resource(cpu=2, memory="4096m")),
        checkpointing=Checkpointing(interval="30 s", dir=f"s3://flink-state/{name}/checkpoints"),
        savepoints=Savepoints(dir=f"s3://flink-state/{name}/savepoints"),
        high_availability=HighAvailability(storage_dir=f"s3://flink-state/{name}/ha"),
        job=job,
    ))


BACKFILL = deployment("sessions-backfill", "registry.example.com/data/sessions:2.0.0", JarJob(
    jar_uri="local:///opt/flink/usrlib/sessions.jar", entry_class="com.example.sessions.Backfill",
    args=["--from", "2025-01-01", "--to", "2025-12-31"],
    parallelism=16, upgrade_mode="stateless"))
STREAMING = deployment("sessions-streaming", "registry.example.com/data/sessions:1.9.0", JarJob(
    jar_uri="local:///opt/flink/usrlib/sessions.jar", entry_class="com.example.sessions.Streaming",
    parallelism=4, upgrade_mode="savepoint"))

with DAG(
    dag_id="flink_batch_then_streaming",
    start_date=datetime(2026, 1, 1),
    doc_md=__doc__,
    schedule=None,
    catchup=False,
    tags=["flink", "batch", "upgrade"],
    # retries: a worker that cannot reach the API server in time, or Airflow 3.3.2 failing a
    # deferred task whose trigger fired too soon (apache/airflow#67287), fails a try, not the run.
    default_args={"deferrable": True, "timeout": 3600, "retries": 2, "retry_delay": timedelta(seconds=30)},
) as dag:
    streaming = FlinkDeploymentOperator(task_id="streaming_running", deployment=STREAMING)
    backfill = FlinkDeploymentOperator(task_id="backfill", deployment=BACKFILL, wait_for="finished")
    cleanup = FlinkTeardownOperator(task_id="remove_backfill", name="sessions-backfill", savepoint="none")
    upgrade = FlinkUpgradeOperator(
        task_id="upgrade_streaming",
        name="sessions-streaming",
        spec_patch={"image": "registry.example.com/data/sessions:2.0.0"},
        upgrade_mode="savepoint",
        savepoint_first=True,
    )
    [streaming, backfill] >> upgrade
    backfill >> cleanup
