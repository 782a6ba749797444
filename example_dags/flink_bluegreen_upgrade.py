"""A streaming job upgraded blue/green every night, with no gap in processing.

The job runs as a FlinkBlueGreenDeployment (Flink Kubernetes Operator 1.15+). Each night the DAG rolls out
that night's build: the operator takes a savepoint of the colour serving now, starts the other colour
from it, switches over once the new job runs and is stable, and only then deletes the old colour. If the
new build does not become healthy within the grace period the operator aborts, the old colour keeps
serving, and the task fails with the operator's error (saying whether the old colour's child still runs the
job): nothing for the on-call person to roll back. The next night starts as usual: ``ensure_running`` only checks
that a colour serves (an aborted transition leaves the resource FAILING until the next one starts), and that
night's build is a new transition. To retry the same build instead, run the upgrade with ``restart=True``.
"""

from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_flink_operator.artifacts import JarJob
from airflow_flink_operator.models import (
    Checkpointing,
    FlinkBlueGreenDeployment,
    FlinkDeployment,
    FlinkDeploymentSpec,
    JobManagerSpec,
    Resource,
    Savepoints,
    TaskManagerSpec,
)
from airflow_flink_operator.operators import FlinkBlueGreenDeployOperator, FlinkBlueGreenUpgradeOperator

IMAGE = "registry.example.com/data/orders-enrichment"

ORDERS = FlinkBlueGreenDeployment.from_deployment(
    FlinkDeployment(
        name="orders-enrichment",
        spec=FlinkDeploymentSpec(
            image=f"{IMAGE}:2026.01.01",
            flink_version="v1_20",
            service_account="flink",
            job_manager=JobManagerSpec(resource=Resource(cpu=1, memory="2048m")),
            task_manager=TaskManagerSpec(resource=Resource(cpu=2, memory="4096m")),
            checkpointing=Checkpointing(interval="30 s", dir="s3://flink-state/orders-enrichment/checkpoints"),
            savepoints=Savepoints(dir="s3://flink-state/orders-enrichment/savepoints"),
            job=JarJob(jar_uri="local:///opt/flink/usrlib/orders-enrichment.jar", parallelism=2,
                       upgrade_mode="savepoint"),
        ),
    ),
    # The new colour has 10 minutes to run and be stable, else the switch is aborted.
    abort_grace_period="10 min",
    # Both colours run side by side this long after the switch before the old one is deleted.
    deployment_deletion_delay="2 s",
)

with DAG(
    dag_id="flink_bluegreen_upgrade",
    start_date=datetime(2026, 1, 1),
    doc_md=__doc__,
    schedule="@daily",
    catchup=False,
    max_active_runs=1,
    tags=["flink", "blue-green", "upgrade"],
    default_args={"deferrable": True, "timeout": 1800},
) as dag:
    # Creates the job the first time (blue); afterwards only checks a colour's child runs it, leaving the
    # last night's build in place (also after an aborted night).
    # retries: a try Airflow itself loses (a worker's start call timing out on a busy api-server) is retried.
    ensure_running = FlinkBlueGreenDeployOperator(task_id="ensure_running", deployment=ORDERS,
                                                  update_existing=False, retries=2,
                                                  retry_delay=timedelta(seconds=30))
    # Tonight's build: XCom gets the colour now serving, its FlinkDeployment, and the savepoint it started from.
    # Not retried: after an aborted transition the same build is not tried again by accident; a retry of the
    # same build is a decision (``restart=True``).
    roll_out = FlinkBlueGreenUpgradeOperator(
        task_id="roll_out_nightly_build",
        name="orders-enrichment",
        template_patch={"image": IMAGE + ":{{ dag_run.run_after.strftime('%Y%m%d') }}"},
    )
    ensure_running >> roll_out
