"""The operator's upstream examples, built with the typed API, render to manifests the CRDs accept."""

from __future__ import annotations

import pytest
from conftest import assert_schema_valid
from upstream_examples import EXAMPLES

from airflow_flink_operator.constants import MAIN_CONTAINER
from airflow_flink_operator.manifests import render


def render_all(resources, operator_version):
    manifests = []
    for resource in resources:
        manifests += render(resource, operator_version=operator_version)
    return manifests


@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_upstream_example_validates_against_crd(example, crd):
    schemas, operator_version = crd
    assert_schema_valid(schemas, render_all(EXAMPLES[example](), operator_version))


def test_basic_matches_upstream_manifest():
    (manifest,) = render(EXAMPLES["basic"]()[0])
    assert manifest["apiVersion"] == "flink.apache.org/v1beta1"
    assert manifest["kind"] == "FlinkDeployment"
    assert manifest["spec"] == {
        "image": "flink:2.2",
        "flinkVersion": "v2_2",
        "serviceAccount": "flink",
        "flinkConfiguration": {"taskmanager.numberOfTaskSlots": "2"},
        "jobManager": {"resource": {"cpu": 1.0, "memory": "2048m"}},
        "taskManager": {"resource": {"cpu": 1.0, "memory": "2048m"}},
        "job": {"jarURI": "local:///opt/flink/examples/streaming/StateMachineExample.jar",
                "parallelism": 2, "upgradeMode": "stateless"},
    }


def test_pod_template_example_keeps_main_container_first_and_fetches_the_jar():
    (manifest,) = render(EXAMPLES["pod-template"]()[0])
    containers = manifest["spec"]["podTemplate"]["spec"]["containers"]
    assert [c["name"] for c in containers] == [MAIN_CONTAINER, "fluentbit"]
    assert containers[0]["volumeMounts"] == [{"name": "flink-logs", "mountPath": "/opt/flink/log"}]
    jm_spec = manifest["spec"]["jobManager"]["podTemplate"]["spec"]
    (init,) = jm_spec["initContainers"]
    assert init["command"][:3] == ["wget", "-O", "/opt/flink/downloads/flink-examples-streaming.jar"]
    assert manifest["spec"]["job"]["jarURI"] == "local:///opt/flink/downloads/flink-examples-streaming.jar"
    assert {"name": "downloads", "emptyDir": {}} in jm_spec["volumes"]


def test_checkpoint_ha_example_emits_flat_state_and_ha_keys():
    (manifest,) = render(EXAMPLES["basic-checkpoint-ha"]()[0])
    conf = manifest["spec"]["flinkConfiguration"]
    assert conf["state.checkpoints.dir"] == "file:///flink-data/checkpoints"
    assert conf["state.savepoints.dir"] == "file:///flink-data/savepoints"
    assert conf["high-availability.type"] == "kubernetes"
    assert conf["high-availability.storageDir"] == "file:///flink-data/ha"
    assert manifest["spec"]["job"]["savepointTriggerNonce"] == 0


def test_python_and_sql_examples_match_upstream_args():
    (python,) = render(EXAMPLES["python-example"]()[0])
    assert python["spec"]["job"]["entryClass"] == "org.apache.flink.client.python.PythonDriver"
    assert python["spec"]["job"]["args"] == ["-pyclientexec", "/usr/bin/python3", "-py", "/opt/flink/usrlib/python_demo.py"]
    (sql,) = render(EXAMPLES["sql-example"]()[0])
    assert sql["spec"]["job"]["jarURI"] == "local:///opt/flink/usrlib/sql-runner.jar"
    assert sql["spec"]["job"]["args"] == ["/opt/flink/usrlib/sql-scripts/simple.sql"]
    assert "entryClass" not in sql["spec"]["job"]
