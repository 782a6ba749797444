"""A streaming SQL job with state kept safely across upgrades, written with the typed API.

Render it with ``airflow-flink render example_dags/orders_pipeline.py``: the output is the ConfigMap
carrying the SQL, then the FlinkDeployment that mounts it, ready for ``kubectl apply -f -``.
"""

from airflow_flink_operator.artifacts import SqlJob
from airflow_flink_operator.models import (
    Checkpointing,
    FixedDelayRestart,
    FlinkDeployment,
    FlinkDeploymentSpec,
    HighAvailability,
    IngressSpec,
    JobManagerSpec,
    PeriodicSavepoints,
    PodTemplate,
    Resource,
    Savepoints,
    SecretEnv,
    TaskManagerSpec,
)

ORDERS_SQL = """\
CREATE TABLE orders (
  order_id BIGINT,
  amount   DECIMAL(10, 2),
  ts       TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'datagen', 'rows-per-second' = '50');

CREATE TABLE revenue_per_minute (
  window_start TIMESTAMP(3),
  revenue      DECIMAL(18, 2)
) WITH ('connector' = 'print');

INSERT INTO revenue_per_minute
SELECT window_start, SUM(amount)
FROM TABLE(TUMBLE(TABLE orders, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
GROUP BY window_start, window_end;
"""

orders = FlinkDeployment(
    name="orders-revenue",
    namespace="flink-jobs",
    spec=FlinkDeploymentSpec(
        image="flink-sql-runner-example:latest",
        flink_version="v1_20",
        service_account="flink",
        job_manager=JobManagerSpec(resource=Resource(cpu=1, memory="2048m")),
        task_manager=TaskManagerSpec(resource=Resource(cpu=2, memory="4096m")),
        checkpointing=Checkpointing(interval="30 s", dir="s3://flink-state/orders/checkpoints", retained=3),
        savepoints=Savepoints(dir="s3://flink-state/orders/savepoints"),
        high_availability=HighAvailability(storage_dir="s3://flink-state/orders/ha"),
        restart_strategy=FixedDelayRestart(attempts=5, delay="20 s"),
        periodic_savepoints=PeriodicSavepoints(interval="6h"),
        flink_configuration={"taskmanager.numberOfTaskSlots": 2},
        pod_template=PodTemplate(secret_env=[SecretEnv(name="S3_SECRET_KEY", secret="flink-s3", key="secret-key")]),
        ingress=IngressSpec(template="{{name}}.{{namespace}}.flink.example.com", class_name="nginx"),
        job=SqlJob(sql=ORDERS_SQL, parallelism=2, upgrade_mode="savepoint"),
    ),
)
