"""A Flink SQL pipeline: the SQL lives in the DAG, travels in a ConfigMap, runs on the SQL runner.

Also shows custom logging and a log-shipping sidecar.
"""

from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_flink_operator.artifacts import SqlJob
from airflow_flink_operator.models import (
    Checkpointing,
    FlinkDeployment,
    FlinkDeploymentSpec,
    HighAvailability,
    JobManagerSpec,
    LogShipper,
    PodTemplate,
    Resource,
    Savepoints,
    TaskManagerSpec,
)
from airflow_flink_operator.operators import FlinkDeploymentOperator

REVENUE_SQL = """\
CREATE TABLE orders (
  order_id BIGINT, amount DECIMAL(10, 2), ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'kafka', 'topic' = 'orders', 'properties.bootstrap.servers' = 'kafka:9092',
        'format' = 'json', 'scan.startup.mode' = 'group-offsets', 'properties.group.id' = 'revenue');

CREATE TABLE revenue_per_minute (window_start TIMESTAMP(3), revenue DECIMAL(18, 2))
WITH ('connector' = 'jdbc', 'url' = 'jdbc:postgresql://warehouse:5432/analytics', 'table-name' = 'revenue');

INSERT INTO revenue_per_minute
SELECT window_start, SUM(amount)
FROM TABLE(TUMBLE(TABLE orders, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
GROUP BY window_start, window_end;
"""

LOG4J = """\
rootLogger.level = INFO
rootLogger.appenderRef.console.ref = ConsoleAppender
rootLogger.appenderRef.file.ref = FileAppender
appender.console.name = ConsoleAppender
appender.console.type = CONSOLE
appender.console.layout.type = JsonTemplateLayout
appender.file.name = FileAppender
appender.file.type = File
appender.file.fileName = ${sys:log.file}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = %d{ISO8601} %-5p %c - %m%n
"""

REVENUE = FlinkDeployment(
    name="revenue-per-minute",
    spec=FlinkDeploymentSpec(
        image="registry.example.com/data/flink-sql-runner:1.20",
        flink_version="v1_20",
        service_account="flink",
        job_manager=JobManagerSpec(resource=Resource(cpu=1, memory="2048m")),
        task_manager=TaskManagerSpec(resource=Resource(cpu=1, memory="3072m")),
        checkpointing=Checkpointing(interval="1 min", dir="s3://flink-state/revenue/checkpoints"),
        savepoints=Savepoints(dir="s3://flink-state/revenue/savepoints"),
        high_availability=HighAvailability(storage_dir="s3://flink-state/revenue/ha"),
        log_configuration={"log4j-console.properties": LOG4J},
        pod_template=PodTemplate(log_shipper=LogShipper(image="fluent/fluent-bit:3.1")),
        job=SqlJob(sql=REVENUE_SQL, parallelism=2, upgrade_mode="savepoint"),
    ),
)

with DAG(
    dag_id="flink_sql_job",
    start_date=datetime(2026, 1, 1),
    doc_md=__doc__,
    schedule=None,
    catchup=False,
    tags=["flink", "sql"],
    # retries: a worker that cannot reach the API server in time, or Airflow 3.3.2 failing a
    # deferred task whose trigger fired too soon (apache/airflow#67287), fails a try, not the run.
    default_args={"deferrable": True, "timeout": 1800, "retries": 2, "retry_delay": timedelta(seconds=30)},
) as dag:
    FlinkDeploymentOperator(task_id="deploy", deployment=REVENUE)
