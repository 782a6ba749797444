"""The package registers itself with Airflow and keeps DAG-file imports light."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import entry_points


def test_provider_entry_point_describes_this_distribution():
    (ep,) = [ep for ep in entry_points(group="apache_airflow_provider") if ep.value.startswith("airflow_flink_operator")]
    info = ep.load()()
    assert info["package-name"] == "airflow-flink-operator"
    assert info["versions"]


def test_models_import_without_kubernetes_clients_or_schema_validators():
    code = (
        "import sys; import airflow_flink_operator.models, airflow_flink_operator.artifacts, "
        "airflow_flink_operator.manifests; "
        "heavy = [m for m in ('kubernetes', 'kubernetes_asyncio', 'openapi_schema_validator', 'jsonschema') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_dag_using_one_deployment_builds_only_the_models_it_needs():
    code = (
        "import json, sys; from airflow_flink_operator.models import FlinkDeployment; "
        "from airflow_flink_operator.artifacts import SqlJob; "
        "print(json.dumps([m.rsplit('.', 1)[1] for m in sys.modules if m.startswith('airflow_flink_operator.')]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = set(json.loads(out))
    assert {"deployment", "sql"} <= loaded
    assert not loaded & {"session_job", "snapshot", "status", "jar", "python", "seatunnel", "flink_cdc",
                         "hooks", "flink_kubernetes", "operators", "triggers"}


def test_every_model_takes_snake_case_in_python_and_camel_case_in_manifests():
    import inspect

    import airflow_flink_operator.artifacts as artifacts
    import airflow_flink_operator.models as models

    classes = [getattr(models, name) for name in models.__all__] + [getattr(artifacts, n) for n in artifacts.__all__]
    for cls in classes:
        cls.model_rebuild()
        params = [p for p in inspect.signature(cls).parameters if p != "data"]
        assert params, cls
        assert [p for p in params if p != p.lower()] == [], f"{cls.__name__} shows camelCase in its signature"
    from airflow_flink_operator.artifacts import JarJob

    by_name = JarJob(jar_uri="local:///j.jar", upgrade_mode="savepoint")
    by_manifest = JarJob.model_validate({"jarURI": "local:///j.jar", "upgradeMode": "savepoint"})
    assert by_name == by_manifest
    assert by_name.to_dict() == {"jarURI": "local:///j.jar", "upgradeMode": "savepoint"}


def test_preload_from_airflow_local_settings_builds_every_model_before_any_dag_file(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "airflow_local_settings.py").write_text(
        "from airflow_flink_operator.parsing import preload\n\npreload()\n")
    code = (
        "import sys, airflow\n"  # Airflow imports airflow_local_settings while it initialises
        "from airflow_flink_operator.models.base import FlinkModel\n"
        "classes, stack = [], [FlinkModel]\n"
        "while stack:\n"
        "    cls = stack.pop(); stack.extend(cls.__subclasses__()); classes.append(cls)\n"
        "import json; print(json.dumps({'classes': len(classes),\n"
        "    'incomplete': [c.__name__ for c in classes if not c.__pydantic_complete__],\n"
        "    'heavy': [m for m in ('kubernetes', 'kubernetes_asyncio', 'airflow_flink_operator.hooks')\n"
        "              if m in sys.modules]}))\n"
    )
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout
    result = json.loads(out.strip().splitlines()[-1])
    assert result["classes"] > 30
    assert result["incomplete"] == []  # no parse builds a validator
    assert result["heavy"] == []  # and no Airflow process pays for Kubernetes clients
