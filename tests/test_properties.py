"""Property: any spec the models and the renderer accept renders manifests the CRD schema accepts."""

from __future__ import annotations

import string

import pytest
from conftest import CRD_VERSIONS, crd_schemas_for
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from airflow_flink_operator.artifacts import FlinkCdcPipeline, JarJob, PythonJob, SeaTunnelJob, SqlJob
from airflow_flink_operator.errors import FlinkSpecError
from airflow_flink_operator.manifests import render
from airflow_flink_operator.models import (
    ArtifactDownload,
    Checkpointing,
    ConfigMapFile,
    ExponentialDelayRestart,
    FailureRateRestart,
    FixedDelayRestart,
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
    LogShipper,
    NoRestart,
    PeriodicSavepoints,
    PodTemplate,
    Resource,
    ResourceRequirements,
    SavepointHistory,
    Savepoints,
    SavepointSpec,
    SecretEnv,
    SecretEnvFrom,
    TaskManagerSpec,
)

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

label = st.from_regex(r"[a-z]([-a-z0-9]{0,20}[a-z0-9])?", fullmatch=True)
uri = st.sampled_from(["s3://bucket/x", "hdfs:///flink/x", "file:///flink-data/x", "gs://b/x"])
duration = st.sampled_from(["30 s", "1 min", "10min", "6h", "1 d", "500 ms"])
memory = st.sampled_from(["1024m", "2g", "2048 mb", "1Gi", "4096m", "1.5g"])
text = st.text(string.ascii_letters + string.digits + " =;._-\n", min_size=1, max_size=40)
flink_version = st.sampled_from(["v1_15", "v1_16", "v1_17", "v1_18", "v1_19", "v1_20", "v2_0", "v2_1", "v2_2", "v2_3"])

pod_templates = st.builds(
    PodTemplate,
    labels=st.none() | st.dictionaries(label, label, max_size=2),
    env=st.lists(st.builds(lambda n, v: {"name": n.upper().replace("-", "_"), "value": v}, label, label), max_size=2),
    secret_env=st.lists(st.builds(SecretEnv, name=st.just("DB_PASSWORD"), secret=label, key=label), max_size=1),
    secret_env_from=st.lists(st.builds(SecretEnvFrom, secret=label), max_size=1),
    files=st.lists(st.builds(ConfigMapFile, config_map=label, key=label,
                             mount_path=label.map(lambda n: f"/opt/flink/conf-extra/{n}")), max_size=2, unique_by=lambda f: f.mount_path),
    downloads=st.lists(st.builds(ArtifactDownload, url=st.just("https://repo.example.com/lib/job.jar")), max_size=1),
    log_shipper=st.none() | st.builds(LogShipper, image=st.just("fluent/fluent-bit:3.1")),
    spec=st.none() | st.just({"nodeSelector": {"pool": "flink"}, "tolerations": [{"key": "flink", "operator": "Exists"}]}),
)

restart = st.none() | st.one_of(
    st.builds(FixedDelayRestart, attempts=st.integers(0, 10), delay=duration),
    st.builds(FailureRateRestart, max_failures_per_interval=st.integers(1, 5), interval=duration, delay=duration),
    st.builds(ExponentialDelayRestart, initial_backoff=duration, max_backoff=duration,
              backoff_multiplier=st.none() | st.floats(1.1, 4.0), jitter_factor=st.none() | st.floats(0, 1)),
    st.just(NoRestart()),
)

raw_config = st.dictionaries(
    st.sampled_from(["taskmanager.numberOfTaskSlots", "parallelism.default", "pipeline.name",
                     "state.backend.type", "metrics.reporters", "kubernetes.operator.job.restart.failed"]),
    st.one_of(st.integers(1, 8), st.booleans(), label, st.lists(label, min_size=1, max_size=3)),
    max_size=3,
)

jobs = st.one_of(
    st.builds(JarJob, jar_uri=st.just("local:///opt/flink/usrlib/job.jar"), parallelism=st.integers(1, 8),
              args=st.none() | st.lists(label, max_size=3)),
    st.builds(SqlJob, sql=st.just("INSERT INTO sink SELECT * FROM src;"), parallelism=st.integers(1, 8)),
    st.builds(PythonJob, script=st.just("print('job')\n"), jar_uri=st.just("local:///opt/flink/opt/flink-python.jar"),
              parallelism=st.integers(1, 8)),
    st.builds(SeaTunnelJob, config=st.just("source { A {} }\nsink { B {} }\n"), parallelism=st.integers(1, 8)),
    st.builds(FlinkCdcPipeline, pipeline=st.just("source: {type: mysql}\nsink: {type: doris}\n"),
              cdc_version=st.just("3.2.0"), parallelism=st.integers(1, 8)),
)


@st.composite
def deployments(draw):
    job = draw(st.none() | jobs)
    if job is not None:
        job = job.model_copy(update={
            "upgrade_mode": draw(st.none() | st.sampled_from(["stateless", "savepoint", "last-state"])),
            "initial_savepoint_path": draw(st.none() | uri),
            "allow_non_restored_state": draw(st.none() | st.booleans()),
            "savepoint_trigger_nonce": draw(st.none() | st.integers(0, 10**12)),
        })
    use_k8s_resources = draw(st.booleans())

    def component(cls):
        if use_k8s_resources:
            res = {"resources": ResourceRequirements(requests={"memory": draw(st.sampled_from(["1Gi", "2Gi"])), "cpu": "1"},
                                                     limits={"memory": "2Gi"})}
        else:
            res = {"resource": Resource(memory=draw(memory), cpu=draw(st.none() | st.floats(0.1, 8)),
                                        ephemeral_storage=draw(st.none() | st.sampled_from(["1Gi", "500Mi"])))}
        return cls(**res, replicas=draw(st.none() | st.integers(1, 3)),
                   pod_template=draw(st.none() | pod_templates))

    spec = FlinkDeploymentSpec(
        image=draw(st.sampled_from(["flink:1.20", "flink:2.2", "registry.example.com/team/flink-jobs:42"])),
        image_pull_policy=draw(st.none() | st.sampled_from(["Always", "IfNotPresent"])),
        flink_version=draw(flink_version),
        service_account=draw(label),
        mode=draw(st.none() | st.sampled_from(["native", "standalone"])),
        flink_configuration=draw(raw_config),
        log_configuration=draw(st.none() | st.just({"log4j-console.properties": "rootLogger.level = INFO\n"})),
        pod_template=draw(st.none() | pod_templates),
        job_manager=component(JobManagerSpec),
        task_manager=component(TaskManagerSpec),
        ingress=draw(st.none() | st.builds(IngressSpec, template=st.sampled_from(
            ["{{name}}.{{namespace}}.flink.example.com", "/{{namespace}}/{{name}}(/|$)(.*)"]),
            class_name=st.none() | st.just("nginx"),
            tls=st.none() | st.just([{"hosts": ["flink.example.com"], "secretName": "tls"}]))),
        job=job,
        restart_nonce=draw(st.none() | st.integers(0, 100)),
        checkpointing=draw(st.none() | st.builds(Checkpointing, interval=duration, dir=uri,
                                                 retained=st.none() | st.integers(1, 5),
                                                 mode=st.none() | st.sampled_from(["EXACTLY_ONCE", "AT_LEAST_ONCE"]))),
        savepoints=draw(st.none() | st.builds(Savepoints, dir=uri, format_type=st.none() | st.sampled_from(["CANONICAL", "NATIVE"]))),
        high_availability=draw(st.none() | st.builds(HighAvailability, storage_dir=uri)),
        restart_strategy=draw(restart),
        periodic_savepoints=draw(st.none() | st.sampled_from([PeriodicSavepoints(interval="6h"),
                                                              PeriodicSavepoints(cron="0 0 */6 * * ?")])),
        savepoint_history=draw(st.none() | st.builds(SavepointHistory, max_age=st.none() | duration,
                                                     max_count=st.none() | st.integers(1, 20))),
    )
    return FlinkDeployment(name=draw(label), namespace=draw(st.none() | label),
                           labels=draw(st.none() | st.dictionaries(label, label, max_size=2)), spec=spec)


@st.composite
def session_jobs(draw):
    return FlinkSessionJob(name=draw(label), spec=FlinkSessionJobSpec(
        deployment_name=draw(label),
        job=JarJob(jar_uri="https://repo.example.com/job.jar", parallelism=draw(st.integers(1, 8)),
                   entry_class=draw(st.none() | st.just("com.example.Main")),
                   upgrade_mode=draw(st.none() | st.sampled_from(["stateless", "savepoint", "last-state"]))),
        flink_configuration=draw(raw_config),
        checkpointing=draw(st.none() | st.builds(Checkpointing, interval=duration, dir=uri)),
        restart_strategy=draw(restart),
    ))


@st.composite
def snapshots(draw):
    savepoint = draw(st.booleans())
    return FlinkStateSnapshot(name=draw(label), spec=FlinkStateSnapshotSpec(
        job_reference=JobReference(kind=draw(st.sampled_from(["FlinkDeployment", "FlinkSessionJob"])), name=draw(label)),
        savepoint=SavepointSpec(path=draw(st.none() | uri), format_type=draw(st.none() | st.sampled_from(["CANONICAL", "NATIVE"])),
                                dispose_on_delete=draw(st.none() | st.booleans())) if savepoint else None,
        checkpoint=None if savepoint else {},
        backoff_limit=draw(st.none() | st.integers(-1, 5)),
    ))


def accepted_then_valid(resource, folder):
    schemas = crd_schemas_for(folder)
    try:
        manifests = render(resource, operator_version=CRD_VERSIONS[folder])
    except FlinkSpecError as exc:
        event(f"rejected: {exc.problems[0].field}")
        return False  # rejected before sending: the property says nothing about it
    event("accepted")
    for manifest in manifests:
        problems = schemas.errors(manifest)
        assert not problems, "\n".join(map(str, problems))
    return True


@pytest.mark.parametrize("folder", sorted(CRD_VERSIONS), ids=lambda f: CRD_VERSIONS[f])
@SETTINGS
@given(resource=deployments())
def test_accepted_deployments_are_crd_valid(folder, resource):
    accepted_then_valid(resource, folder)


@pytest.mark.parametrize("folder", sorted(CRD_VERSIONS), ids=lambda f: CRD_VERSIONS[f])
@SETTINGS
@given(resource=st.one_of(session_jobs(), snapshots()))
def test_accepted_session_jobs_and_snapshots_are_crd_valid(folder, resource):
    accepted_then_valid(resource, folder)


@SETTINGS
@given(resource=deployments())
def test_rendering_is_deterministic_and_the_manifest_reads_back(resource):
    try:
        first = render(resource, operator_version="main")
    except FlinkSpecError:
        return
    assert render(resource, operator_version="main") == first
    # The rendered custom resource, read back as a manifest, renders to itself (YAML users' path).
    cr = first[-1]
    assert render(FlinkDeployment.model_validate(cr), operator_version="main") == [cr]
