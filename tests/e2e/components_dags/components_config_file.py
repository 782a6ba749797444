"""Two deploys reaching the cluster through ``config_file="kubeconfig.yaml"``, a kubeconfig next to this DAG
file (no Airflow connection): one blocking, one deferrable. The Airflow components run in another directory."""

from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_flink_operator.artifacts import JarJob
from airflow_flink_operator.models import FlinkDeployment, FlinkDeploymentSpec, JobManagerSpec, Resource, TaskManagerSpec
from airflow_flink_operator.operators import FlinkDeploymentOperator


def job(name: str) -> FlinkDeployment:
    return FlinkDeployment(
        name=name,
        spec=FlinkDeploymentSpec(
            image="flink:1.20", flink_version="v1_20", service_account="flink",
            job_manager=JobManagerSpec(resource=Resource(cpu=1, memory="1024m")),
            task_manager=TaskManagerSpec(resource=Resource(cpu=1, memory="1024m")),
            job=JarJob(jar_uri="local:///opt/flink/usrlib/config-file.jar", parallelism=1),
        ),
    )


#: One retry, as the README advises on Airflow 3.3.2 (apache/airflow#67287).
RETRY_AIRFLOW_RACE = {"retries": 1, "retry_delay": timedelta(seconds=1)}

with DAG(dag_id="components_config_file", start_date=datetime(2026, 1, 1), schedule=None, catchup=False,
         doc_md=__doc__, default_args={"timeout": 300, "kubernetes_conn_id": None, "config_file": "kubeconfig.yaml",
                                       "poll_interval": 0.5, **RETRY_AIRFLOW_RACE}):
    FlinkDeploymentOperator(task_id="deploy_blocking", deployment=job("components-cfgfile-blocking"), deferrable=False)
    FlinkDeploymentOperator(task_id="deploy_deferred", deployment=job("components-cfgfile-deferred"), deferrable=True)
