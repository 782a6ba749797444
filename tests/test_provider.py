"""The package registers itself with Airflow and keeps DAG-file imports light."""

from __future__ import annotations

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
