"""Two deferred deploys that suspend their job if a user kills them, kept waiting while the test stalls
(SIGSTOP), or kills (SIGKILL), the triggerer holding them and another triggerer takes them over."""

from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_flink_operator.artifacts import JarJob
from airflow_flink_operator.models import FlinkDeployment, FlinkDeploymentSpec, JobManagerSpec, Resource, TaskManagerSpec
from airflow_flink_operator.operators import FlinkDeploymentOperator

#: The first job comes up while the stalled triggerer is frozen; the second only after it resumed.
EARLY, LATE = "components-stall-early", "components-stall-late"


def job(name: str) -> FlinkDeployment:
    return FlinkDeployment(
        name=name,
        spec=FlinkDeploymentSpec(
            image="flink:1.20", flink_version="v1_20", service_account="flink",
            job_manager=JobManagerSpec(resource=Resource(cpu=1, memory="1024m")),
            task_manager=TaskManagerSpec(resource=Resource(cpu=1, memory="1024m")),
            job=JarJob(jar_uri="local:///opt/flink/usrlib/stall.jar", parallelism=1),
        ),
    )


#: One retry, as the README advises on Airflow 3.3.2 (apache/airflow#67287). The test checks that no
#: retry was needed and that no job was ever suspended (a retry would hide it by redeploying).
RETRY_AIRFLOW_RACE = {"retries": 1, "retry_delay": timedelta(seconds=1)}

with DAG(dag_id="components_triggerer_stall", start_date=datetime(2026, 1, 1), schedule=None, catchup=False,
         doc_md=__doc__, default_args={"deferrable": True, "timeout": 600, **RETRY_AIRFLOW_RACE}):
    for task_id, name in (("deploy_early", EARLY), ("deploy_late", LATE)):
        FlinkDeploymentOperator(task_id=task_id, deployment=job(name), on_kill_action="suspend")
