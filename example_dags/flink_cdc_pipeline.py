"""A Flink CDC 3 pipeline: MySQL to Doris, pipeline YAML in the DAG, credentials from Secrets.

The pipeline YAML travels in a ConfigMap, so it holds no secret values: the ``${...}`` placeholders
are filled from the Secret-backed environment by the image's entrypoint (e.g. ``envsubst``).
"""

from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_flink_operator.artifacts import FlinkCdcPipeline
from airflow_flink_operator.models import (
    Checkpointing,
    FlinkDeployment,
    FlinkDeploymentSpec,
    HighAvailability,
    JobManagerSpec,
    PodTemplate,
    Resource,
    Savepoints,
    SecretEnvFrom,
    TaskManagerSpec,
)
from airflow_flink_operator.operators import FlinkDeploymentOperator

PIPELINE = """\
source:
  type: mysql
  hostname: mysql.shop.svc
  port: 3306
  username: cdc
  password: ${MYSQL_PASSWORD}
  tables: shop.\\.*
  server-id: 5400-5404
sink:
  type: doris
  fenodes: doris-fe.analytics.svc:8030
  username: loader
  password: ${DORIS_PASSWORD}
pipeline:
  name: shop-to-doris
  parallelism: 2
"""

SHOP_TO_DORIS = FlinkDeployment(
    name="shop-to-doris",
    spec=FlinkDeploymentSpec(
        image="registry.example.com/data/flink-cdc:3.2.0-flink-1.18",
        flink_version="v1_18",
        service_account="flink",
        job_manager=JobManagerSpec(resource=Resource(cpu=1, memory="3072m")),
        task_manager=TaskManagerSpec(resource=Resource(cpu=1, memory="2048m")),
        checkpointing=Checkpointing(interval="30 s", dir="s3://flink-state/shop-to-doris/checkpoints"),
        savepoints=Savepoints(dir="s3://flink-state/shop-to-doris/savepoints"),
        high_availability=HighAvailability(storage_dir="s3://flink-state/shop-to-doris/ha"),
        pod_template=PodTemplate(secret_env_from=[SecretEnvFrom(secret="shop-cdc-credentials")]),
        job=FlinkCdcPipeline(pipeline=PIPELINE, cdc_version="3.2.0", parallelism=1, upgrade_mode="savepoint"),
    ),
)

with DAG(
    dag_id="flink_cdc_pipeline",
    start_date=datetime(2026, 1, 1),
    doc_md=__doc__,
    schedule=None,
    catchup=False,
    tags=["flink", "cdc"],
    # retries: a worker that cannot reach the API server in time, or Airflow 3.3.2 failing a
    # deferred task whose trigger fired too soon (apache/airflow#67287), fails a try, not the run.
    default_args={"deferrable": True, "timeout": 1800, "retries": 2, "retry_delay": timedelta(seconds=30)},
) as dag:
    FlinkDeploymentOperator(task_id="deploy", deployment=SHOP_TO_DORIS)
