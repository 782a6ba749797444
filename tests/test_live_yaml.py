"""YAML copied from a live cluster (``kubectl get -o yaml``) loads: server-set fields and status are dropped."""

from __future__ import annotations

import logging

import pytest
import yaml
from conftest import assert_schema_valid

from airflow_flink_operator.cli import main
from airflow_flink_operator.manifests import render
from airflow_flink_operator.models import FlinkDeployment

LIVE = """
apiVersion: flink.apache.org/v1beta1
kind: FlinkDeployment
metadata:
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: |
      {"apiVersion":"flink.apache.org/v1beta1","kind":"FlinkDeployment","metadata":{"name":"orders"}}
    team: payments
  creationTimestamp: "2026-11-20T09:14:03Z"
  finalizers:
  - flinkdeployments.flink.apache.org/finalizer
  generation: 3
  labels: {app: orders}
  managedFields:
  - apiVersion: flink.apache.org/v1beta1
    fieldsType: FieldsV1
    fieldsV1: {"f:spec": {"f:image": {}}}
    manager: kubectl-client-side-apply
    operation: Update
    time: "2026-11-20T09:14:03Z"
  name: orders
  namespace: default
  resourceVersion: "482913"
  uid: 6f1c2a4e-0b1d-4c53-9d0e-2f7a8b9c1d23
spec:
  flinkVersion: v1_20
  image: flink:1.20
  serviceAccount: flink
  jobManager: {resource: {cpu: 1, memory: 2048m}}
  taskManager: {resource: {cpu: 1, memory: 2048m}}
  job: {jarURI: "local:///opt/flink/examples/streaming/StateMachineExample.jar", parallelism: 2,
        upgradeMode: stateless, state: running}
status:
  clusterInfo: {flink-version: 1.20.0}
  jobManagerDeploymentStatus: READY
  jobStatus: {jobId: 3c4f0e1a9b2d4e5f8a7b6c5d4e3f2a1b, jobName: StateMachineExample, state: RUNNING,
              startTime: "1763630043000", updateTime: "1763630050000"}
  lifecycleState: STABLE
  observedGeneration: 3
  reconciliationStatus: {state: DEPLOYED, lastReconciledSpec: "{}"}
"""

SERVER_FIELDS = {"uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", "finalizers"}


def test_live_yaml_loads_and_renders_without_server_fields(caplog):
    with caplog.at_level(logging.DEBUG, logger="airflow_flink_operator.models.common"):
        dep = FlinkDeployment.model_validate(yaml.safe_load(LIVE))
    assert "managedFields" in caplog.text and "uid" in caplog.text
    manifest = render(dep)[-1]
    assert set(manifest) == {"apiVersion", "kind", "metadata", "spec"}
    assert not SERVER_FIELDS & set(manifest["metadata"])
    assert manifest["metadata"]["annotations"] == {"team": "payments"}
    assert manifest["metadata"]["labels"] == {"app": "orders"}


def test_live_yaml_manifest_is_crd_valid(crd):
    schemas, version = crd
    assert_schema_valid(schemas, render(FlinkDeployment.model_validate(yaml.safe_load(LIVE)),
                                        operator_version=version))


def test_unknown_spec_field_still_rejected_with_did_you_mean(tmp_path, capsys):
    doc = tmp_path / "typo.yaml"
    doc.write_text(LIVE.replace("serviceAccount:", "serviceAcount:"))
    assert main(["validate", str(doc)]) == 1
    assert "Did you mean 'serviceAccount'" in capsys.readouterr().err


def test_validate_cli_accepts_live_yaml(tmp_path, capsys):
    doc = tmp_path / "live.yaml"
    doc.write_text(LIVE)
    assert main(["validate", str(doc)]) == 0, capsys.readouterr().err


def test_objects_read_back_from_the_api_load_for_every_kind(emulated):
    """What the API server hands back (server fields, finalizers the operator added, status) loads."""
    from specs import NS, app, session_cluster, session_job

    from airflow_flink_operator.models import FlinkSessionJob, FlinkStateSnapshot

    hook = emulated.hook()
    hook.apply(render(app()), NS)
    hook.apply(render(session_cluster()), NS)
    hook.wait("FlinkDeployment", "shared", NS, target="ready", timeout=60, poll_interval=0.05)
    hook.apply(render(session_job(), session_cluster=None), NS)
    hook.wait("FlinkDeployment", "orders", NS, target="running", timeout=60, poll_interval=0.05)
    hook.create_snapshot({"apiVersion": "flink.apache.org/v1beta1", "kind": "FlinkStateSnapshot",
                          "metadata": {"name": "orders-sp", "namespace": NS},
                          "spec": {"jobReference": {"kind": "FlinkDeployment", "name": "orders"}, "savepoint": {}}}, NS)
    hook.wait("FlinkStateSnapshot", "orders-sp", NS, mode="snapshot", timeout=60, poll_interval=0.05)
    for kind, name, model in (("FlinkDeployment", "orders", FlinkDeployment), ("FlinkSessionJob", "topspeed", FlinkSessionJob),
                              ("FlinkStateSnapshot", "orders-sp", FlinkStateSnapshot)):
        live = hook.get(kind, name, NS)
        assert live["metadata"].get("finalizers") and live.get("status"), f"{kind} should carry server fields"
        loaded = model.model_validate(live)
        manifest = loaded.to_dict()
        assert set(manifest) <= {"apiVersion", "kind", "metadata", "spec"}
        assert not {"uid", "resourceVersion", "generation", "finalizers", "managedFields"} & set(manifest["metadata"])
