"""The same deployment as flink_jar_job, written as a YAML manifest (templated by Airflow)."""

from datetime import datetime

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
    default_args={"deferrable": True, "timeout": 1800},
) as dag:
    deploy = FlinkDeploymentOperator(task_id="deploy", deployment="manifests/orders_enrichment.yaml")
    savepoint = FlinkSavepointOperator(task_id="savepoint", name="orders-enrichment-yaml")
    deploy >> savepoint
