"""The whole life of a job: deploy, upgrade with a savepoint, suspend and resume, tear down.

Each step is safe: the upgrade waits until the new spec is STABLE (and fails on a rollback), the
suspend keeps a savepoint that the resume restores from, and the teardown takes a final savepoint
and deletes nothing if it fails.
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
from airflow_flink_operator.operators import (
    FlinkDeploymentOperator,
    FlinkResumeOperator,
    FlinkSuspendOperator,
    FlinkTeardownOperator,
    FlinkUpgradeOperator,
)

CLICKSTREAM = FlinkDeployment(
    name="clickstream-aggregates",
    spec=FlinkDeploymentSpec(
        image="registry.example.com/web/clickstream:3.1.0",
        flink_version="v1_20",
        service_account="flink",
        flink_configuration={"kubernetes.operator.deployment.rollback.enabled": "true"},
        job_manager=JobManagerSpec(resource=Resource(cpu=1, memory="2048m")),
        task_manager=TaskManagerSpec(resource=Resource(cpu=2, memory="4096m")),
        checkpointing=Checkpointing(interval="30 s", dir="s3://flink-state/clickstream/checkpoints"),
        savepoints=Savepoints(dir="s3://flink-state/clickstream/savepoints"),
        high_availability=HighAvailability(storage_dir="s3://flink-state/clickstream/ha"),
        job=JarJob(jar_uri="local:///opt/flink/usrlib/clickstream.jar", parallelism=2, upgrade_mode="savepoint"),
    ),
)

with DAG(
    dag_id="flink_upgrade_and_teardown",
    start_date=datetime(2026, 1, 1),
    doc_md=__doc__,
    schedule=None,
    catchup=False,
    tags=["flink", "upgrade", "teardown"],
    # retries: a worker that cannot reach the API server in time, or Airflow 3.3.2 failing a
    # deferred task whose trigger fired too soon (apache/airflow#67287), fails a try, not the run.
    default_args={"deferrable": True, "timeout": 1800, "retries": 2, "retry_delay": timedelta(seconds=30)},
) as dag:
    deploy = FlinkDeploymentOperator(task_id="deploy", deployment=CLICKSTREAM, wait_for="stable")
    upgrade = FlinkUpgradeOperator(
        task_id="upgrade",
        name="clickstream-aggregates",
        spec_patch={"image": "registry.example.com/web/clickstream:3.2.0", "job": {"parallelism": 4}},
        upgrade_mode="savepoint",
    )
    suspend = FlinkSuspendOperator(task_id="suspend_for_maintenance", name="clickstream-aggregates")
    resume = FlinkResumeOperator(task_id="resume", name="clickstream-aggregates")
    teardown = FlinkTeardownOperator(task_id="teardown", name="clickstream-aggregates", savepoint="snapshot")
    deploy >> upgrade >> suspend >> resume >> teardown
