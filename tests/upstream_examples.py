"""The operator's upstream examples (see the reference, section f), rebuilt with the typed API.

Each builder takes the target operator version, since 1.15.0 and main differ only in the
resource form and in the Flink versions used by the examples.
"""

from __future__ import annotations

from airflow_flink_operator.artifacts import JarJob, PythonJob, SqlJob
from airflow_flink_operator.models import (
    ArtifactDownload,
    Checkpointing,
    FlinkDeployment,
    FlinkDeploymentSpec,
    FlinkSessionJob,
    FlinkSessionJobSpec,
    HighAvailability,
    IngressSpec,
    JobManagerSpec,
    JobSpec,
    LogShipper,
    PodTemplate,
    Resource,
    Savepoints,
    TaskManagerSpec,
)

MAVEN = "https://repo1.maven.org/maven2/org/apache/flink"


def _cluster(flink: str = "v2_2", image: str = "flink:2.2", **spec) -> FlinkDeploymentSpec:
    defaults = {
        "image": image,
        "flink_version": flink,
        "flink_configuration": {"taskmanager.numberOfTaskSlots": "2"},
        "service_account": "flink",
        "job_manager": JobManagerSpec(resource=Resource(memory="2048m", cpu=1)),
        "task_manager": TaskManagerSpec(resource=Resource(memory="2048m", cpu=1)),
    }
    return FlinkDeploymentSpec(**{**defaults, **spec})


STATE_MACHINE = JarJob(jar_uri="local:///opt/flink/examples/streaming/StateMachineExample.jar",
                       parallelism=2, upgrade_mode="stateless")


def basic() -> list:
    return [FlinkDeployment(name="basic-example", spec=_cluster(job=STATE_MACHINE))]


def session_deployment_and_jobs() -> list:
    session = FlinkDeployment(name="basic-session-deployment-example", spec=_cluster())
    top_speed = FlinkSessionJob(name="basic-session-job-example", spec=FlinkSessionJobSpec(
        deployment_name=session.name,
        job=JarJob(jar_uri=f"{MAVEN}/flink-examples-streaming/2.2.0/flink-examples-streaming-2.2.0-TopSpeedWindowing.jar",
                   parallelism=4, upgrade_mode="stateless")))
    state_machine = FlinkSessionJob(name="basic-session-job-example2", spec=FlinkSessionJobSpec(
        deployment_name=session.name,
        job=JarJob(jar_uri=f"{MAVEN}/flink-examples-streaming/2.2.0/flink-examples-streaming-2.2.0.jar",
                   entry_class="org.apache.flink.streaming.examples.statemachine.StateMachineExample",
                   parallelism=2, upgrade_mode="stateless")))
    return [session, top_speed, state_machine]


def session_job_only() -> list:
    return [FlinkSessionJob(name="basic-session-job-only-example", spec=FlinkSessionJobSpec(
        deployment_name="basic-session-deployment-only-example",
        job=JarJob(jar_uri=f"{MAVEN}/flink-examples-streaming/2.2.0/flink-examples-streaming-2.2.0-TopSpeedWindowing.jar",
                   parallelism=4, upgrade_mode="stateless")))]


def pod_template() -> list:
    download = ArtifactDownload(
        url=f"{MAVEN}/flink-examples-streaming/2.2.0/flink-examples-streaming-2.2.0.jar",
        file_name="flink-examples-streaming.jar",
    )
    return [FlinkDeployment(name="pod-template-example", spec=_cluster(
        pod_template=PodTemplate(log_shipper=LogShipper(name="fluentbit", image="fluent/fluent-bit:1.9.6-debug",
                                                        command=["sh", "-c", "/fluent-bit/bin/fluent-bit -i tail -p "
                                                                 "path=/flink-logs/*.log -p multiline.parser=java -o stdout"])),
        job_manager=JobManagerSpec(resource=Resource(memory="2048m", cpu=1), pod_template=PodTemplate(downloads=[download])),
        job=JarJob(jar_uri=download.local_uri(), entry_class="org.apache.flink.streaming.examples.statemachine.StateMachineExample",
                   parallelism=2),
    ))]


def basic_ingress() -> list:
    return [FlinkDeployment(name="basic-ingress", spec=_cluster(
        ingress=IngressSpec(template="{{name}}.{{namespace}}.flink.k8s.io"), job=STATE_MACHINE))]


def advanced_ingress() -> list:
    return [FlinkDeployment(name="advanced-ingress", spec=_cluster(
        ingress=IngressSpec(template="/{{namespace}}/{{name}}(/|$)(.*)", class_name="nginx",
                            annotations={"nginx.ingress.kubernetes.io/rewrite-target": "/$2"}),
        job=STATE_MACHINE))]


LOG4J = """rootLogger.level = DEBUG
rootLogger.appenderRef.file.ref = LogFile
rootLogger.appenderRef.console.ref = LogConsole
appender.file.name = LogFile
appender.file.type = File
appender.file.fileName = ${sys:log.file}
appender.console.name = LogConsole
appender.console.type = CONSOLE
"""


def custom_logging() -> list:
    return [FlinkDeployment(name="custom-logging", spec=_cluster(
        log_configuration={"log4j-console.properties": LOG4J}, job=STATE_MACHINE))]


def python_example() -> list:
    return [FlinkDeployment(name="python-example", spec=_cluster(
        image="flink-python-example:latest",
        job=PythonJob(jar_uri="local:///opt/flink/opt/flink-python-2.2.0.jar",
                      script_path="/opt/flink/usrlib/python_demo.py", parallelism=1, upgrade_mode="stateless")))]


def sql_runner() -> list:
    return [FlinkDeployment(name="sql-example", spec=_cluster(
        flink="v1_20", image="flink-sql-runner-example:latest",
        job=SqlJob(script_path="/opt/flink/usrlib/sql-scripts/simple.sql", parallelism=1, upgrade_mode="stateless")))]


def checkpoint_ha() -> list:
    return [FlinkDeployment(name="basic-checkpoint-ha-example", spec=_cluster(
        checkpointing=Checkpointing(interval="60 s", dir="file:///flink-data/checkpoints"),
        savepoints=Savepoints(dir="file:///flink-data/savepoints"),
        high_availability=HighAvailability(storage_dir="file:///flink-data/ha"),
        pod_template=PodTemplate(
            volume_mounts=[{"mountPath": "/flink-data", "name": "flink-volume"}],
            volumes=[{"name": "flink-volume", "hostPath": {"path": "/tmp/flink", "type": "Directory"}}],
        ),
        job=JobSpec(jar_uri="local:///opt/flink/examples/streaming/StateMachineExample.jar", parallelism=2,
                    upgrade_mode="savepoint", state="running", savepoint_trigger_nonce=0),
    ))]


EXAMPLES = {
    "basic": basic,
    "basic-session-deployment-and-job": session_deployment_and_jobs,
    "basic-session-job-only": session_job_only,
    "pod-template": pod_template,
    "basic-ingress": basic_ingress,
    "advanced-ingress": advanced_ingress,
    "custom-logging": custom_logging,
    "python-example": python_example,
    "sql-example": sql_runner,
    "basic-checkpoint-ha": checkpoint_ha,
}
