"""Bad input is rejected before anything is sent, with a message naming the field (and the fix)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from airflow_flink_operator.artifacts import FlinkCdcPipeline, JarJob, PythonJob, SeaTunnelJob, SqlJob
from airflow_flink_operator.errors import FlinkSpecError
from airflow_flink_operator.manifests import load_manifests, render
from airflow_flink_operator.models import (
    Checkpointing,
    FlinkDeployment,
    FlinkDeploymentSpec,
    FlinkSessionJob,
    FlinkSessionJobSpec,
    FlinkStateSnapshot,
    FlinkStateSnapshotSpec,
    HighAvailability,
    IngressSpec,
    JobManagerSpec,
    JobReference,
    JobSpec,
    PeriodicSavepoints,
    PodTemplate,
    Resource,
    ResourceRequirements,
    SavepointSpec,
    TaskManagerSpec,
)

JAR = "local:///opt/flink/usrlib/job.jar"


def spec(**overrides) -> FlinkDeploymentSpec:
    fields = {
        "image": "flink:1.20",
        "flink_version": "v1_20",
        "service_account": "flink",
        "job_manager": JobManagerSpec(resource=Resource(memory="2g", cpu=1)),
        "task_manager": TaskManagerSpec(resource=Resource(memory="2g", cpu=1)),
        "job": JobSpec(jar_uri=JAR, parallelism=2),
    }
    fields.update(overrides)
    return FlinkDeploymentSpec(**fields)


def dep(name: str = "orders", **overrides) -> FlinkDeployment:
    return FlinkDeployment(name=name, spec=spec(**overrides))


def sql_dep(**job) -> FlinkDeployment:
    return dep(job=SqlJob(parallelism=1, **job))


YAML_TYPO = """
apiVersion: flink.apache.org/v1beta1
kind: FlinkDeployment
metadata: {name: orders}
spec:
  image: flink:1.20
  flinkVersion: v1_20
  serviceAccount: flink
  jobManger: {resource: {memory: 2g}}
"""

BAD_INPUTS = {
    # name: (build-and-render, field named in the error, a word of the fix)
    "uppercase name": (lambda: dep(name="Orders"), "name", "lowercase"),
    "name too long for a deployment": (lambda: render(dep(name="a" * 46)), "metadata.name", "45 characters"),
    "missing flinkVersion": (lambda: render(dep(flink_version=None)), "spec.flinkVersion", "flink_version"),
    "flinkVersion newer than the operator": (
        lambda: render(dep(flink_version="v2_4"), operator_version="1.15"), "spec.flinkVersion", "supported"),
    "unknown flinkVersion": (lambda: dep(flink_version="v3_0"), "flink_version", "v1_20"),
    "missing serviceAccount": (lambda: render(dep(service_account=None)), "spec.serviceAccount", "service_account"),
    "missing JobManager memory": (
        lambda: render(dep(job_manager=JobManagerSpec(resource=Resource(cpu=1)))), "spec.jobManager.resource.memory",
        "Resource(memory="),
    "unparseable memory": (lambda: Resource(memory="2 gigs"), "memory", "2048m"),
    "missing parallelism": (lambda: render(dep(job=JobSpec(jar_uri=JAR))), "spec.job.parallelism", "parallelism"),
    "zero TaskManagers": (
        lambda: render(dep(task_manager=TaskManagerSpec(resource=Resource(memory="2g"), replicas=0))),
        "spec.taskManager.replicas", "at least 1"),
    "savepoint upgrades without a checkpoint dir": (
        lambda: render(dep(job=JobSpec(jar_uri=JAR, parallelism=1, upgrade_mode="savepoint"))),
        "spec.job.upgradeMode", "Checkpointing("),
    "savepoint nonce without a savepoint dir": (
        lambda: render(dep(job=JobSpec(jar_uri=JAR, parallelism=1, savepoint_trigger_nonce=1))),
        "spec.job.savepointTriggerNonce", "Savepoints(dir="),
    "periodic savepoints without a savepoint dir": (
        lambda: render(dep(periodic_savepoints=PeriodicSavepoints(interval="6h"))),
        "kubernetes.operator.periodic.savepoint.interval", "Savepoints(dir="),
    "forbidden config key": (
        lambda: render(dep(flink_configuration={"kubernetes.cluster-id": "x"})),
        "spec.flinkConfiguration.kubernetes.cluster-id", "Remove"),
    "unknown logging file": (
        lambda: render(dep(log_configuration={"log4j.properties": "x"})), "spec.logConfiguration.log4j.properties",
        "log4j-console.properties"),
    "ingress without template": (lambda: render(dep(ingress=IngressSpec(class_name="nginx"))),
                                 "spec.ingress.template", "{{name}}"),
    "ingress with unknown placeholder": (lambda: render(dep(ingress=IngressSpec(template="{{cluster}}.example.com"))),
                                         "spec.ingress.template", "{{namespace}}"),
    "standby JobManager without HA": (
        lambda: render(dep(job_manager=JobManagerSpec(resource=Resource(memory="2g"), replicas=2))),
        "spec.jobManager.replicas", "HighAvailability("),
    "rollback without HA": (
        lambda: render(dep(flink_configuration={"kubernetes.operator.deployment.rollback.enabled": True})),
        "kubernetes.operator.deployment.rollback.enabled", "HighAvailability("),
    "unknown field in YAML": (lambda: load_manifests(YAML_TYPO), "spec.jobManger", "Did you mean 'jobManager'"),
    "helper and raw config disagree": (
        lambda: render(dep(checkpointing=Checkpointing(interval="1 min", dir="s3://a/cp"),
                           flink_configuration={"state.checkpoints.dir": "s3://b/cp"})),
        "spec.flinkConfiguration.state.checkpoints.dir", "one place"),
    "requests/limits form on operator 1.15": (
        lambda: render(dep(job_manager=JobManagerSpec(resources=ResourceRequirements(requests={"memory": "2Gi"}))),
                       operator_version="1.15"),
        "spec.jobManager.resources", "Resource(cpu="),
    "misspelt upgrade mode": (lambda: JobSpec(jar_uri=JAR, upgrade_mode="savepiont"), "upgrade_mode", "last-state"),
    "duration without a unit word": (lambda: Checkpointing(interval="ten seconds", dir="s3://b"), "interval", "30 s"),
    "cron with five fields": (lambda: PeriodicSavepoints(cron="0 */6 * * *"), "cron", "6 or 7 fields"),
    "redeploy nonce without a savepoint path": (
        lambda: render(dep(job=JobSpec(jar_uri=JAR, parallelism=1, savepoint_redeploy_nonce=1))),
        "spec.job.savepointRedeployNonce", "initial_savepoint_path"),
    "jar URI without scheme": (lambda: render(dep(job=JarJob(jar_uri="/opt/flink/job.jar", parallelism=1))),
                               "spec.job.jarURI", "local:///"),
    "sidecars out of order between templates": (
        lambda: render(dep(pod_template={"spec": {"containers": [{"name": "flink-main-container"}, {"name": "a"}]}},
                           job_manager=JobManagerSpec(resource=Resource(memory="2g"), pod_template={
                               "spec": {"containers": [{"name": "flink-main-container"}, {"name": "b"}]}}))),
        "spec.jobManager.podTemplate.spec.containers[1]", "merge-arrays-by-name"),
    "renamed main container": (lambda: PodTemplate(main_container={"name": "flink"}).build(), "main_container.name",
                               "flink-main-container"),
    "empty SQL": (lambda: render(sql_dep(sql="  \n")), "spec.job.sql", "content"),
    "SQL with only comments": (lambda: render(sql_dep(sql="-- TODO\n")), "spec.job.sql", "statement"),
    "two SQL sources": (lambda: render(sql_dep(sql="SELECT 1;", script_path="/x.sql")), "spec.job", "exactly one"),
    "unreadable SQL file": (lambda: render(sql_dep(sql_file=Path("/nonexistent/orders.sql"))), "spec.job.sql_file",
                            "readable"),
    "Python syntax error": (
        lambda: render(dep(job=PythonJob(script="def broken(:\n", jar_uri="local:///opt/flink/opt/fp.jar",
                                         parallelism=1))), "spec.job.script", "syntax"),
    "Python job without the flink-python jar": (
        lambda: render(dep(job=PythonJob(script="print(1)\n", parallelism=1))), "spec.job.jarURI", "flink-python"),
    "CDC pipeline without a sink": (
        lambda: render(dep(job=FlinkCdcPipeline(pipeline="source: {type: mysql}\n", cdc_version="3.2.0",
                                                parallelism=1))), "spec.job.pipeline.sink", "type:"),
    "SeaTunnel starter for the wrong Flink": (
        lambda: render(dep(flink_version="v1_14", job=SeaTunnelJob(config_path="/c.conf", parallelism=1)),
                       operator_version="1.6"), "spec.job.jarURI", "flink-13-starter"),
    "session job without a cluster": (
        lambda: render(FlinkSessionJob(name="j", spec=FlinkSessionJobSpec(job=JarJob(jar_uri="https://x/j.jar")))),
        "spec.deploymentName", "deployment_name"),
    "session job on an application cluster": (
        lambda: render(FlinkSessionJob(name="j", spec=FlinkSessionJobSpec(
            deployment_name="orders", job=JarJob(jar_uri="https://x/j.jar", parallelism=1))), session_cluster=dep()),
        "spec.deploymentName", "without a job"),
    "snapshot with savepoint and checkpoint": (
        lambda: render(FlinkStateSnapshot(name="s", spec=FlinkStateSnapshotSpec(
            job_reference=JobReference(kind="FlinkDeployment", name="orders"), savepoint=SavepointSpec(),
            checkpoint={}))), "spec", "not both"),
    "snapshot without a job": (
        lambda: render(FlinkStateSnapshot(name="s", spec=FlinkStateSnapshotSpec(savepoint=SavepointSpec()))),
        "spec.jobReference", "JobReference("),
    "HA helper and raw HA type disagree": (
        lambda: render(dep(high_availability=HighAvailability(storage_dir="s3://b/ha"),
                           flink_configuration={"high-availability.type": "zookeeper"})),
        "spec.flinkConfiguration.high-availability.type", "one place"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_rejected_with_the_field_named(case, no_network):
    build, field, fix = BAD_INPUTS[case]
    with pytest.raises((FlinkSpecError, ValidationError, ValueError)) as err:
        build()
    message = str(err.value)
    assert field in message, message
    assert fix in message, message


def test_there_are_at_least_twenty_bad_inputs():
    assert len(BAD_INPUTS) >= 20


def test_all_problems_are_reported_at_once():
    with pytest.raises(FlinkSpecError) as err:
        render(dep(name="1-orders", flink_version=None, service_account=None))
    fields = {p.field for p in err.value.problems}
    assert {"metadata.name", "spec.flinkVersion", "spec.serviceAccount"} <= fields
