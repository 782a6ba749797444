"""A Java streaming job in application mode, with state kept safe across upgrades.

The jar is fetched by an init container, the database password comes from a Secret, checkpoints,
savepoints and HA go to object storage, and the web UI gets an ingress.
"""

from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_flink_operator.artifacts import JarJob
from airflow_flink_operator.models import (
    ArtifactDownload,
    Checkpointing,
    FailureRateRestart,
    FlinkDeployment,
    FlinkDeploymentSpec,
    HighAvailability,
    IngressSpec,
    JobManagerSpec,
    PodTemplate,
    Resource,
    Savepoints,
    SecretEnv,
    TaskManagerSpec,
)
from airflow_flink_operator.operators import FlinkDeploymentOperator, FlinkSavepointOperator

JAR = ArtifactDownload(url="https://artifacts.example.com/flink/orders-enrichment-1.4.2.jar",
                       file_name="orders-enrichment.jar")

ORDERS_ENRICHMENT = FlinkDeployment(
    name="orders-enrichment",
    labels={"team": "data-platform"},
    spec=FlinkDeploymentSpec(
        image="flink:1.20",
        flink_version="v1_20",
        service_account="flink",
        job_manager=JobManagerSpec(resource=Resource(cpu=1, memory="2048m")),
        task_manager=TaskManagerSpec(resource=Resource(cpu=2, memory="4096m")),
        flink_configuration={"taskmanager.numberOfTaskSlots": 2},
        checkpointing=Checkpointing(interval="30 s", dir="s3://flink-state/orders-enrichment/checkpoints", retained=3),
        savepoints=Savepoints(dir="s3://flink-state/orders-enrichment/savepoints"),
        high_availability=HighAvailability(storage_dir="s3://flink-state/orders-enrichment/ha"),
        restart_strategy=FailureRateRestart(max_failures_per_interval=3, interval="5 min", delay="10 s"),
        pod_template=PodTemplate(
            downloads=[JAR],
            secret_env=[SecretEnv(name="ORDERS_DB_PASSWORD", secret="orders-db", key="password")],
        ),
        ingress=IngressSpec(template="{{name}}.{{namespace}}.flink.example.com", class_name="nginx"),
        job=JarJob(jar_uri=JAR.local_uri(), entry_class="com.example.orders.EnrichmentJob",
                   args=["--topic", "orders", "--brokers", "kafka:9092"], parallelism=4, upgrade_mode="savepoint"),
    ),
)

with DAG(
    dag_id="flink_jar_job",
    start_date=datetime(2026, 1, 1),
    doc_md=__doc__,
    schedule=None,
    catchup=False,
    tags=["flink", "jar"],
    # retries: a worker that cannot reach the API server in time, or Airflow 3.3.2 failing a
    # deferred task whose trigger fired too soon (apache/airflow#67287), fails a try, not the run.
    default_args={"deferrable": True, "timeout": 1800, "retries": 2, "retry_delay": timedelta(seconds=30)},
) as dag:
    deploy = FlinkDeploymentOperator(task_id="deploy", deployment=ORDERS_ENRICHMENT, wait_for="stable")
    first_savepoint = FlinkSavepointOperator(task_id="first_savepoint", name="orders-enrichment")
    deploy >> first_savepoint
