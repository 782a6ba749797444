"""Savepoints as an Airflow asset: an hourly savepoint of a streaming job, announced to other DAGs.

The savepoint task declares the job's savepoint asset, ``flink-savepoint://<namespace>/payments-ledger``,
as an outlet. Every savepoint it completes becomes an asset event whose ``extra`` holds the path, the
FlinkStateSnapshot, the job and the trigger type, so a DAG scheduled on that asset
(``flink_replay_from_savepoint``) runs on each new savepoint and knows where it is.
"""

import os
from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_flink_operator.artifacts import JarJob
from airflow_flink_operator.assets import savepoint_asset
from airflow_flink_operator.models import (
    Checkpointing,
    FlinkDeployment,
    FlinkDeploymentSpec,
    JobManagerSpec,
    Resource,
    Savepoints,
    TaskManagerSpec,
)
from airflow_flink_operator.operators import FlinkDeploymentOperator, FlinkSavepointOperator

#: The namespace the job runs in: an asset names one job, so it is written down, not left to the connection.
NAMESPACE = os.environ.get("FLINK_NAMESPACE", "default")
JOB = "payments-ledger"
#: "A new savepoint of payments-ledger": what flink_replay_from_savepoint is scheduled on.
LEDGER_SAVEPOINTS = savepoint_asset(JOB, namespace=NAMESPACE)

LEDGER = FlinkDeployment(
    name=JOB,
    namespace=NAMESPACE,
    spec=FlinkDeploymentSpec(
        image="registry.example.com/payments/ledger:4.2.0",
        flink_version="v1_20",
        service_account="flink",
        job_manager=JobManagerSpec(resource=Resource(cpu=1, memory="2048m")),
        task_manager=TaskManagerSpec(resource=Resource(cpu=2, memory="4096m")),
        checkpointing=Checkpointing(interval="30 s", dir=f"s3://flink-state/{JOB}/checkpoints"),
        savepoints=Savepoints(dir=f"s3://flink-state/{JOB}/savepoints"),
        job=JarJob(jar_uri="local:///opt/flink/usrlib/ledger.jar", entry_class="com.example.payments.Ledger",
                   parallelism=4, upgrade_mode="savepoint"),
    ),
)

with DAG(
    dag_id="flink_savepoint_producer",
    start_date=datetime(2026, 1, 1),
    doc_md=__doc__,
    schedule="@hourly",
    catchup=False,
    max_active_runs=1,
    tags=["flink", "savepoints", "assets"],
    # retries: a worker that cannot reach the API server in time, or Airflow 3.3.2 failing a
    # deferred task whose trigger fired too soon (apache/airflow#67287), fails a try, not the run.
    default_args={"deferrable": True, "timeout": 1800, "retries": 2, "retry_delay": timedelta(seconds=30)},
) as dag:
    # Idempotent: applying the same spec changes nothing while the job runs.
    ensure_running = FlinkDeploymentOperator(task_id="ensure_running", deployment=LEDGER)
    savepoint = FlinkSavepointOperator(task_id="savepoint", name=JOB, namespace=NAMESPACE,
                                       outlets=[LEDGER_SAVEPOINTS])
    ensure_running >> savepoint
