"""A PyFlink job: the entry script and a helper module are delivered from the DAG."""

from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_flink_operator.artifacts import PythonJob
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
from airflow_flink_operator.operators import FlinkDeploymentOperator

ENTRY = """\
from pyflink.table import EnvironmentSettings, TableEnvironment

from scoring import register_udfs

t_env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
register_udfs(t_env)
t_env.execute_sql(
    "CREATE TABLE clicks (user_id STRING, url STRING) WITH ('connector' = 'datagen', 'rows-per-second' = '10')"
)
t_env.execute_sql("CREATE TABLE scored (user_id STRING, score DOUBLE) WITH ('connector' = 'print')")
t_env.execute_sql("INSERT INTO scored SELECT user_id, score(url) FROM clicks").wait()
"""

SCORING = """\
from pyflink.table import DataTypes
from pyflink.table.udf import udf


@udf(result_type=DataTypes.DOUBLE())
def score(url):
    return float(len(url) % 7)


def register_udfs(t_env):
    t_env.create_temporary_function("score", score)
"""

CLICK_SCORING = FlinkDeployment(
    name="click-scoring",
    spec=FlinkDeploymentSpec(
        image="registry.example.com/data/pyflink:1.20",
        flink_version="v1_20",
        service_account="flink",
        job_manager=JobManagerSpec(resource=Resource(cpu=1, memory="2048m")),
        task_manager=TaskManagerSpec(resource=Resource(cpu=1, memory="2048m")),
        checkpointing=Checkpointing(interval="1 min", dir="s3://flink-state/click-scoring/checkpoints"),
        savepoints=Savepoints(dir="s3://flink-state/click-scoring/savepoints"),
        high_availability=HighAvailability(storage_dir="s3://flink-state/click-scoring/ha"),
        job=PythonJob(script=ENTRY, python_files={"scoring.py": SCORING},
                      jar_uri="local:///opt/flink/opt/flink-python-1.20.0.jar", parallelism=1,
                      upgrade_mode="last-state"),
    ),
)

with DAG(
    dag_id="flink_python_job",
    start_date=datetime(2026, 1, 1),
    doc_md=__doc__,
    schedule=None,
    catchup=False,
    tags=["flink", "python"],
    # retries: a worker that cannot reach the API server in time, or Airflow 3.3.2 failing a
    # deferred task whose trigger fired too soon (apache/airflow#67287), fails a try, not the run.
    default_args={"deferrable": True, "timeout": 1800, "retries": 2, "retry_delay": timedelta(seconds=30)},
) as dag:
    FlinkDeploymentOperator(task_id="deploy", deployment=CLICK_SCORING)
