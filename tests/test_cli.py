"""The ``airflow-flink`` command: render Python or YAML to manifests, validate manifests."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import assert_schema_valid, crd_schemas_for

from airflow_flink_operator.cli import main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "example_dags" / "orders_pipeline.py"


def test_render_python_example_prints_ordered_manifests(capsys):
    assert main(["render", str(EXAMPLE)]) == 0
    docs = list(yaml.safe_load_all(capsys.readouterr().out))
    assert [d["kind"] for d in docs] == ["ConfigMap", "FlinkDeployment"]
    assert "INSERT INTO revenue_per_minute" in docs[0]["data"]["statements.sql"]
    assert docs[1]["spec"]["job"]["upgradeMode"] == "savepoint"
    assert_schema_valid(crd_schemas_for("release-1.15.0"), docs)


def test_render_then_validate_round_trip(tmp_path, capsys):
    out = tmp_path / "orders.yaml"
    assert main(["render", str(EXAMPLE), "-o", str(out)]) == 0
    crd_dir = crd_schemas_for(".").directory
    assert main(["validate", str(out), "--crd-dir", str(crd_dir)]) == 0
    assert "2 manifest(s) valid" in capsys.readouterr().out


def test_validate_reports_schema_and_model_errors_by_field(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "apiVersion: flink.apache.org/v1beta1\nkind: FlinkDeployment\nmetadata: {name: orders}\n"
        "spec: {image: flink:1.20, flinkVersion: v1_20, serviceAccount: flink,\n"
        "  jobManager: {resource: {memory: 2g}}, taskManager: {resource: {memory: 2g}},\n"
        "  job: {jarURI: 'local:///j.jar', upgradeMode: savepoint, parallelism: 1}}\n"
    )
    assert main(["validate", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "spec.job.upgradeMode" in err and "state.checkpoints.dir" in err


def test_validate_catches_what_only_the_crd_knows(tmp_path, capsys):
    """A raw pod template typo passes the models (core/v1 is free-form there) but not the CRD."""
    doc = tmp_path / "typo.yaml"
    doc.write_text(
        "apiVersion: flink.apache.org/v1beta1\nkind: FlinkDeployment\nmetadata: {name: orders}\n"
        "spec: {image: flink:1.20, flinkVersion: v1_20, serviceAccount: flink,\n"
        "  podTemplate: {spec: {containers: [{name: flink-main-container, imagePullPolicyy: Always}]}},\n"
        "  jobManager: {resource: {memory: 2g}}, taskManager: {resource: {memory: 2g}},\n"
        "  job: {jarURI: 'local:///j.jar', parallelism: 1}}\n"
    )
    crd_dir = crd_schemas_for("release-1.15.0").directory
    assert main(["validate", str(doc), "--crd-dir", str(crd_dir)]) == 1
    assert "spec.podTemplate.spec.containers[0].imagePullPolicyy" in capsys.readouterr().err


def test_console_script_is_installed():
    exe = shutil.which("airflow-flink") or str(Path(sys.executable).parent / "airflow-flink")
    if not Path(exe).exists():
        pytest.skip("airflow-flink console script not installed (package not installed with pip)")
    result = subprocess.run([exe, "render", str(EXAMPLE)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "kind: FlinkDeployment" in result.stdout
