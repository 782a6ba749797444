"""``airflow-flink validate`` as a YAML user meets it: every problem in one run, in YAML terms."""

from __future__ import annotations

import pytest
import yaml
from conftest import crd_schemas_for

from airflow_flink_operator.cli import main
from airflow_flink_operator.manifest_check import check_manifest
from airflow_flink_operator.validation import fix_for_yaml

THREE_MISTAKES = """\
apiVersion: flink.apache.org/v1beta1
kind: FlinkDeployment
metadata:
  name: orders
spec:
  image: flink:1.20
  flinkVersion: {flink_version}
  serviceAccount: flink
  podTemplate:
    spec:
      containers:
        - name: flink-main-container
          envv:
            - {{name: MODE, value: prod}}
  jobManager:
    resource: {{memory: 2048m, cpu: 1}}
  taskManager:
    replicas: two
    resource: {{memory: 2048m, cpu: 1}}
  job:
    jarURI: local:///opt/flink/usrlib/orders.jar
    upgradeMode: savepoint
    parallelism: 2
"""


def _lines_about(err: str, field: str) -> list[str]:
    return [line for line in err.splitlines() if f": {field}: " in line]


@pytest.fixture
def no_crd_env(monkeypatch):
    monkeypatch.delenv("FLINK_CRD_DIR", raising=False)


@pytest.mark.parametrize("with_crds", [False, True], ids=["models-only", "with-crds"])
def test_three_different_mistakes_are_reported_in_one_run(tmp_path, capsys, monkeypatch, with_crds):
    args = ["--crd-dir", str(crd_schemas_for("release-1.15.0").directory)] if with_crds else []
    monkeypatch.delenv("FLINK_CRD_DIR", raising=False)
    doc = tmp_path / "orders.yaml"
    doc.write_text(THREE_MISTAKES.format(flink_version="v1_20"))
    args = ["validate", str(doc), *args]
    assert main(args) == 1
    err = capsys.readouterr().err

    type_error = _lines_about(err, "spec.taskManager.replicas")
    assert len(type_error) == 1, err  # the CRD's finding about the same field is not repeated
    assert "valid integer" in type_error[0] and "Fix: Write a whole number" in type_error[0]

    typo = _lines_about(err, "spec.podTemplate.spec.containers[0].envv")
    assert len(typo) == 1, err
    assert "core/v1 Container" in typo[0] and "Did you mean 'env'?" in typo[0]

    checkpoint = [line for line in _lines_about(err, "spec.job.upgradeMode") if "checkpoint directory" in line]
    assert len(checkpoint) == 1, err
    assert 'Fix: Set spec.flinkConfiguration["execution.checkpointing.dir"]' in checkpoint[0]
    assert "spec.job.upgradeMode: stateless" in checkpoint[0]

    assert "Checkpointing(" not in err and "Savepoints(" not in err  # YAML users get YAML keys, not Python
    assert "Traceback" not in err


def test_the_checkpoint_key_suggested_follows_the_flink_version(tmp_path, capsys, no_crd_env):
    doc = tmp_path / "old.yaml"
    doc.write_text(THREE_MISTAKES.format(flink_version="v1_18"))
    assert main(["validate", str(doc), "--operator-version", "1.15"]) == 1
    err = capsys.readouterr().err
    assert 'Set spec.flinkConfiguration["state.checkpoints.dir"]' in err
    assert 'Set spec.flinkConfiguration["state.savepoints.dir"]' in err


def test_python_users_keep_the_python_fix_and_yaml_users_get_the_yaml_one():
    manifest = yaml.safe_load(THREE_MISTAKES.format(flink_version="v1_20"))
    problems = check_manifest(manifest, "1.15")
    checkpoint = next(p for p in problems if "checkpoint directory" in p.message)
    assert "Checkpointing(" in checkpoint.fix and "Checkpointing(" in str(checkpoint)
    assert fix_for_yaml(checkpoint).startswith('Set spec.flinkConfiguration["execution.checkpointing.dir"]')


def test_the_operator_checks_still_run_when_required_fields_are_missing_or_wrong(tmp_path, capsys, no_crd_env):
    doc = tmp_path / "partial.yaml"
    doc.write_text(
        "apiVersion: flink.apache.org/v1beta1\nkind: FlinkDeployment\n"
        "spec:\n  image: flink:1.20\n  flinkVersion: v1_20\n"
        "  flinkConfiguration: {kubernetes.cluster-id: x}\n"
        "  jobManager: {resource: {memory: 2 gigs}}\n  taskManager: {resource: {memory: 2g}}\n"
        "  job: {jarURI: 'local:///j.jar', parallelism: 1}\n"
    )
    assert main(["validate", str(doc)]) == 1
    err = capsys.readouterr().err
    assert _lines_about(err, "metadata")  # pydantic: required
    assert "Fix: Set spec.serviceAccount" in err  # the operator's checks, on the valid rest
    assert 'spec.flinkConfiguration["kubernetes.cluster-id"]: is set by the operator' in err
    memory = _lines_about(err, "spec.jobManager.resource.memory")
    assert len(memory) == 1 and "not a memory size" in memory[0]  # not also "memory is not defined"


def test_pod_template_typos_are_found_without_crd_files(tmp_path, capsys, no_crd_env):
    doc = tmp_path / "pods.yaml"
    doc.write_text(
        "apiVersion: flink.apache.org/v1beta1\nkind: FlinkDeployment\nmetadata: {name: orders}\n"
        "spec:\n  image: flink:1.20\n  flinkVersion: v1_20\n  serviceAccount: flink\n"
        "  jobManager:\n    resource: {memory: 2g}\n"
        "    podTemplate:\n      metadata: {labels: {version: 2}}\n"
        "      spec:\n        initContainers:\n          - name: fetch\n            image: busybox\n"
        "            volumeMounts: [{name: jars, mountPath: /jars, readonly: true}]\n"
        "  taskManager:\n    resource: {memory: 2g, cpu: 1}\n"
        "    podTemplate:\n      spec:\n        containers:\n"
        "          - name: flink-main-container\n            resources: {limits: {cpu: 2, memory: 4Gi}}\n"
        "        tolerations: {key: spot}\n"
        "  job: {jarURI: 'local:///j.jar', parallelism: 1}\n"
    )
    assert main(["validate", str(doc)]) == 1
    err = capsys.readouterr().err
    mount = _lines_about(err, "spec.jobManager.podTemplate.spec.initContainers[0].volumeMounts[0].readonly")
    assert mount and "Did you mean 'readOnly'?" in mount[0]
    label = _lines_about(err, "spec.jobManager.podTemplate.metadata.labels.version")
    assert label and "must be a string" in label[0] and "Quote it" in label[0]
    assert _lines_about(err, "spec.taskManager.podTemplate.spec.tolerations")
    assert "limits" not in err  # a number is a valid quantity
    assert "is not a field of FlinkDeployment" not in err


def test_a_clean_manifest_is_valid_without_crds(tmp_path, capsys, no_crd_env):
    doc = tmp_path / "ok.yaml"
    doc.write_text(
        "apiVersion: flink.apache.org/v1beta1\nkind: FlinkDeployment\nmetadata: {name: orders}\n"
        "spec:\n  image: flink:1.20\n  flinkVersion: v1_20\n  serviceAccount: flink\n"
        "  podTemplate: {apiVersion: v1, kind: Pod, spec: {containers: [{name: flink-main-container, "
        "env: [{name: A, value: b}]}]}}\n"
        "  jobManager: {resource: {memory: 2g, cpu: 1}}\n  taskManager: {resource: {memory: 2g, cpu: 1}}\n"
        "  job: {jarURI: 'local:///j.jar', parallelism: 1}\n"
    )
    assert main(["validate", str(doc)]) == 0
    out = capsys.readouterr()
    assert "1 manifest(s) valid" in out.out and out.err == ""


def _one_line_usage_error(capsys, argv: list[str], *words: str) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    for word in words:
        assert word in err, err
    return err


def test_a_missing_crd_dir_is_an_error_message_not_a_traceback(tmp_path, capsys):
    doc = tmp_path / "orders.yaml"
    doc.write_text(THREE_MISTAKES.format(flink_version="v1_20"))
    _one_line_usage_error(capsys, ["validate", str(doc), "--crd-dir", "/nonexistent"],
                          "/nonexistent", "no such directory", "CRD YAML files")


def test_a_crd_dir_without_flink_crds_is_an_error_message(tmp_path, capsys):
    crds = tmp_path / "crds"
    crds.mkdir()
    (crds / "other.yaml").write_text(
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
        "spec:\n  group: example.com\n  names: {kind: Widget}\n"
        "  versions: [{name: v1, schema: {openAPIV3Schema: {type: object}}}]\n")
    (crds / "notes.yaml").write_text("just: a note\n")
    doc = tmp_path / "orders.yaml"
    doc.write_text(THREE_MISTAKES.format(flink_version="v1_20"))
    _one_line_usage_error(capsys, ["validate", str(doc), "--crd-dir", str(crds)], str(crds), "no Flink")


def test_the_crd_dir_from_the_environment_is_named_too(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FLINK_CRD_DIR", str(tmp_path / "missing"))
    doc = tmp_path / "orders.yaml"
    doc.write_text(THREE_MISTAKES.format(flink_version="v1_20"))
    _one_line_usage_error(capsys, ["validate", str(doc)], f"FLINK_CRD_DIR={tmp_path / 'missing'}")


@pytest.mark.parametrize("content", [None, "spec: [unclosed\n"], ids=["missing", "not-yaml"])
def test_an_unreadable_yaml_file_is_an_error_message(tmp_path, capsys, no_crd_env, content):
    doc = tmp_path / "orders.yaml"
    if content is not None:
        doc.write_text(content)
    err = _one_line_usage_error(capsys, ["validate", str(doc)], str(doc))
    if content is not None:
        assert "line 2" in err


def test_session_jobs_and_snapshots_get_the_same_one_pass(tmp_path, capsys, no_crd_env):
    doc = tmp_path / "more.yaml"
    doc.write_text(
        "apiVersion: flink.apache.org/v1beta1\nkind: FlinkSessionJob\nmetadata: {name: j}\n"
        "spec:\n  job: {jarURI: 'https://x/j.jar', parallelism: 1, args: [--day, 2024]}\n"
        "---\n"
        "apiVersion: flink.apache.org/v1beta1\nkind: FlinkStateSnapshot\nmetadata: {name: s}\n"
        "spec: {savepoint: {alreadyExists: yes please}}\n"
    )
    assert main(["validate", str(doc)]) == 1
    err = capsys.readouterr().err
    assert "FlinkSessionJob 'j': spec.job.args[1]: Input should be a valid string" in err
    assert "FlinkSessionJob 'j': spec.deploymentName: is required" in err
    assert "Fix: Set spec.deploymentName" in err
    assert "FlinkStateSnapshot 's': spec.savepoint.alreadyExists:" in err
    assert "FlinkStateSnapshot 's': spec.jobReference: is required" in err
    assert "Fix: Set spec.jobReference: {kind: FlinkDeployment" in err
