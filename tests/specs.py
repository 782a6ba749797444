"""Small specs the Kubernetes-side tests deploy."""

from __future__ import annotations

from airflow_flink_operator.artifacts import JarJob, SqlJob
from airflow_flink_operator.models import (
    Checkpointing,
    FlinkDeployment,
    FlinkDeploymentSpec,
    FlinkSessionJob,
    FlinkSessionJobSpec,
    HighAvailability,
    JobManagerSpec,
    Resource,
    Savepoints,
    TaskManagerSpec,
)

NS = "default"


def app(name: str = "orders", *, parallelism: int = 2, upgrade_mode: str = "savepoint", job=None,
        rollback: bool = False, **spec) -> FlinkDeployment:
    conf = {"kubernetes.operator.deployment.rollback.enabled": "true"} if rollback else {}
    fields = dict(
        image="flink:1.20", flink_version="v1_20", service_account="flink",
        job_manager=JobManagerSpec(resource=Resource(memory="2g", cpu=1)),
        task_manager=TaskManagerSpec(resource=Resource(memory="2g", cpu=1)),
        checkpointing=Checkpointing(interval="30 s", dir="s3://state/cp"),
        savepoints=Savepoints(dir="s3://state/sp"),
        high_availability=HighAvailability(storage_dir="s3://state/ha"),
        flink_configuration=conf or None,
        job=job or JarJob(jar_uri="local:///opt/flink/usrlib/orders.jar", parallelism=parallelism,
                          upgrade_mode=upgrade_mode),
    )
    fields.update(spec)
    return FlinkDeployment(name=name, namespace=NS, spec=FlinkDeploymentSpec(**fields))


def sql_app(name: str = "revenue", sql: str = "INSERT INTO sink SELECT * FROM src;") -> FlinkDeployment:
    return app(name, job=SqlJob(sql=sql, parallelism=1, upgrade_mode="savepoint"))


def session_cluster(name: str = "shared") -> FlinkDeployment:
    return FlinkDeployment(name=name, namespace=NS, spec=FlinkDeploymentSpec(
        image="flink:1.20", flink_version="v1_20", service_account="flink",
        job_manager=JobManagerSpec(resource=Resource(memory="2g", cpu=1)),
        task_manager=TaskManagerSpec(resource=Resource(memory="2g", cpu=1), replicas=1),
        savepoints=Savepoints(dir="s3://state/sp")))


def session_job(name: str = "topspeed", cluster: str = "shared") -> FlinkSessionJob:
    return FlinkSessionJob(name=name, namespace=NS, spec=FlinkSessionJobSpec(
        deployment_name=cluster, job=JarJob(jar_uri="https://repo.example.com/topspeed.jar", parallelism=1)))
