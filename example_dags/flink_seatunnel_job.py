"""An Apache SeaTunnel job on the Flink engine: Kafka to Elasticsearch, config kept in the DAG.

The config travels in a ConfigMap, so it holds no secret values: ``${ES_PASSWORD}`` is filled from
the Secret-backed environment variable of the same name.
"""

from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_flink_operator.artifacts import SeaTunnelJob
from airflow_flink_operator.models import (
    Checkpointing,
    FlinkDeployment,
    FlinkDeploymentSpec,
    JobManagerSpec,
    PodTemplate,
    Resource,
    SecretEnv,
    TaskManagerSpec,
)
from airflow_flink_operator.operators import FlinkDeploymentOperator

CONFIG = """\
env {
  parallelism = 2
  job.mode = "STREAMING"
  checkpoint.interval = 30000
}
source {
  Kafka {
    bootstrap.servers = "kafka:9092"
    topic = "page_views"
    format = json
    schema = { fields { user_id = string, url = string, ts = bigint } }
    result_table_name = "page_views"
  }
}
sink {
  Elasticsearch {
    hosts = ["https://search:9200"]
    index = "page_views"
    username = "ingest"
    password = ${ES_PASSWORD}
  }
}
"""

PAGE_VIEWS = FlinkDeployment(
    name="page-views-to-search",
    spec=FlinkDeploymentSpec(
        image="registry.example.com/data/seatunnel-flink:2.3.8-flink-1.18",
        flink_version="v1_18",
        service_account="flink",
        job_manager=JobManagerSpec(resource=Resource(cpu=1, memory="2048m")),
        task_manager=TaskManagerSpec(resource=Resource(cpu=1, memory="2048m")),
        checkpointing=Checkpointing(interval="30 s", dir="s3://flink-state/page-views/checkpoints"),
        pod_template=PodTemplate(secret_env=[SecretEnv(name="ES_PASSWORD", secret="search-ingest", key="password")]),
        job=SeaTunnelJob(config=CONFIG, job_name="page-views-to-search", parallelism=2, upgrade_mode="stateless"),
    ),
)

with DAG(
    dag_id="flink_seatunnel_job",
    start_date=datetime(2026, 1, 1),
    doc_md=__doc__,
    schedule=None,
    catchup=False,
    tags=["flink", "seatunnel"],
    # retries: a worker that cannot reach the API server in time, or Airflow 3.3.2 failing a
    # deferred task whose trigger fired too soon (apache/airflow#67287), fails a try, not the run.
    default_args={"deferrable": True, "timeout": 1800, "retries": 2, "retry_delay": timedelta(seconds=30)},
) as dag:
    FlinkDeploymentOperator(task_id="deploy", deployment=PAGE_VIEWS)
