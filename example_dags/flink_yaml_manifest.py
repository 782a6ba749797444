"""The same deployment as flink_jar_job, written as a YAML manifest (templated by Airflow)."""

from datetime import datetime, timedelta

from airflow.sdk import DAG, Param

from airflow_flink_operator.operators import FlinkDeploymentOperator, FlinkSavepointOperator

with DAG(
    dag_id="flink_yaml_manifest",
    start_date=datetime(2026, 1, 1),
    doc_md=__doc__,
    schedule=None,
    catchup=False,
    params={"parallelism": Param(4, type="integer", minimum=1)},
    tags=["flink", "yaml"],
    # retries: a worker that cannot reach the API server in time, or Airflow 3.3.2 failing a
    # deferred task whose trigger fired too soon (apache/airflow#67287), fails a try, not the run.
    default_args={"deferrable": True, "timeout": 1800, "retries": 2, "retry_delay": timedelta(seconds=30)},
) as dag:
    deploy = FlinkDeploymentOperator(task_id="deploy", deployment="manifests/orders_enrichment.yaml")
    savepoint = FlinkSavepointOperator(task_id="savepoint", name="orders-enrichment-yaml")
    deploy >> savepoint
