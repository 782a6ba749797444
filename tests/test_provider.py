"""The package registers itself with Airflow and keeps DAG-file imports light."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import entry_points

import pytest


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


# --- what Airflow's provider manager makes of get_provider_info() ----------------------------

def airflow_cli(tmp_path, *args: str) -> list | dict:
    """``airflow <args> --output json`` in a throwaway home; the decoded answer."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(AIRFLOW_HOME=str(tmp_path), AIRFLOW__CORE__LOAD_EXAMPLES="False")
    result = subprocess.run([sys.executable, "-m", "airflow", *args, "--output", "json"], capture_output=True,
                            text=True, env=env, timeout=300, check=False)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    start = min(i for i in (result.stdout.find("["), result.stdout.find("{")) if i >= 0)
    return json.loads(result.stdout[start:])


def test_airflow_providers_triggers_lists_the_flink_trigger(tmp_path):
    listed = airflow_cli(tmp_path, "providers", "triggers")
    ours = [t for t in listed if t["package_name"] == "airflow-flink-operator"]
    assert ours == [{"package_name": "airflow-flink-operator", "class": "airflow_flink_operator.triggers.flink",
                     "integration_name": "Flink Kubernetes Operator"}]


def test_airflow_providers_get_shows_integration_hooks_triggers_operators_and_sensor(tmp_path):
    (info,) = airflow_cli(tmp_path, "providers", "get", "airflow-flink-operator", "--full")
    assert info["package-name"] == "airflow-flink-operator"
    assert [i["integration-name"] for i in info["integrations"]] == ["Flink Kubernetes Operator"]
    modules = {section: [m for entry in info[section] for m in entry["python-modules"]]
               for section in ("hooks", "triggers", "operators", "sensors")}
    assert modules["hooks"] == ["airflow_flink_operator.hooks.flink_kubernetes",
                                "airflow_flink_operator.hooks.flink_kubernetes_async"]
    assert modules["triggers"] == ["airflow_flink_operator.triggers.flink"]
    assert "airflow_flink_operator.operators.savepoint" in modules["operators"]
    assert modules["sensors"] == ["airflow_flink_operator.sensors.flink"]
    for section in ("hooks", "triggers", "operators", "sensors"):
        assert {entry["integration-name"] for entry in info[section]} == {"Flink Kubernetes Operator"}


def test_the_kubernetes_connection_type_stays_cncf_kubernetes(tmp_path):
    """Our hooks use the ``kubernetes`` connection type; the provider manager keeps one hook per type
    (the first registered, in package-name order), so we must not claim it."""
    hooks = {h["connection_type"]: h for h in airflow_cli(tmp_path, "providers", "hooks")}
    assert hooks["kubernetes"]["class"] == "airflow.providers.cncf.kubernetes.hooks.kubernetes.KubernetesHook"
    assert hooks["kubernetes"]["package_name"] == "apache-airflow-providers-cncf-kubernetes"
    assert not [h for h in hooks.values() if h["package_name"] == "airflow-flink-operator"]


def test_every_module_named_in_provider_info_holds_our_classes():
    code = (
        "import importlib, inspect, json\n"
        "from airflow_flink_operator import get_provider_info\n"
        "info = get_provider_info()\n"
        "found = {}\n"
        "for section in ('hooks', 'triggers', 'operators', 'sensors'):\n"
        "    for entry in info[section]:\n"
        "        for name in entry['python-modules']:\n"
        "            module = importlib.import_module(name)\n"
        "            found[name] = sorted(n for n, c in vars(module).items()\n"
        "                                 if inspect.isclass(c) and c.__module__ == name)\n"
        "for path in info['extra-links']:\n"
        "    module, _, cls = path.rpartition('.')\n"
        "    found[path] = [cls] if hasattr(importlib.import_module(module), cls) else []\n"
        "print(json.dumps(found))\n"
    )
    found = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                      check=True).stdout.strip().splitlines()[-1])
    assert "FlinkKubernetesHook" in found["airflow_flink_operator.hooks.flink_kubernetes"]
    assert "AsyncFlinkKubernetesHook" in found["airflow_flink_operator.hooks.flink_kubernetes_async"]
    assert "FlinkWaitTrigger" in found["airflow_flink_operator.triggers.flink"]
    assert "FlinkDeploymentOperator" in found["airflow_flink_operator.operators.deployment"]
    assert "FlinkJobSensor" in found["airflow_flink_operator.sensors.flink"]
    assert all(found.values()), found


def test_every_module_named_in_provider_info_imports_on_its_own():
    """Airflow (and a DAG file) may import any listed module first: none may need another imported before it
    (operators.bluegreen_teardown did: an import circle with operators.bluegreen)."""
    from airflow_flink_operator import get_provider_info

    info = get_provider_info()
    modules = [name for section in ("hooks", "triggers", "operators", "sensors") for entry in info[section]
               for name in entry["python-modules"]]
    # One interpreter loads Airflow (none of this package's modules), then forks a child per module, which imports only that
    # module: the same test as a fresh interpreter per module, without paying Airflow's import each time.
    code = (
        "import json, os, sys, traceback\n"
        "import airflow.sdk\n"
        "assert not any(m.startswith('airflow_flink_operator.') for m in sys.modules)  # the root: provider info\n"
        "failed = {}\n"
        "for name in json.loads(sys.argv[1]):\n"
        "    read, write = os.pipe()\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        os.close(read)\n"
        "        try:\n"
        "            __import__(name)\n"
        "            code = 0\n"
        "        except BaseException:\n"
        "            os.write(write, traceback.format_exc().strip().splitlines()[-1].encode())\n"
        "            code = 1\n"
        "        os._exit(code)\n"
        "    os.close(write)\n"
        "    with os.fdopen(read, 'rb') as pipe:\n"
        "        message = pipe.read().decode()\n"
        "    if os.waitpid(pid, 0)[1]:\n"
        "        failed[name] = message or 'the import died'\n"
        "print(json.dumps(failed))\n"
    )
    run = subprocess.run([sys.executable, "-c", code, json.dumps(modules)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-3000:]
    assert json.loads(run.stdout.strip().splitlines()[-1]) == {}


def test_provider_info_is_only_strings_and_imports_nothing():
    code = (
        "import json, sys\n"
        "import airflow_flink_operator\n"
        "before = set(sys.modules)\n"
        "info = airflow_flink_operator.get_provider_info()\n"
        "print(json.dumps({'info': info, 'loaded': sorted(set(sys.modules) - before)}))\n"
    )
    out = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                    check=True).stdout.strip().splitlines()[-1])
    assert out["loaded"] == []

    def leaves(value):
        if isinstance(value, dict):
            for item in value.values():
                yield from leaves(item)
        elif isinstance(value, list):
            for item in value:
                yield from leaves(item)
        else:
            yield value

    assert all(isinstance(leaf, str) for leaf in leaves(out["info"]))


def test_the_openlineage_provider_converts_savepoint_assets_with_our_converter():
    """``to_openlineage_converter`` in ``asset-uris``: the provider's ``translate_airflow_asset`` (what it runs
    for every inlet/outlet ``Asset``) finds it through the providers manager, so savepoint outlets appear in
    lineage; without it the asset is dropped (``No converter found for scheme``)."""
    pytest.importorskip("airflow.providers.openlineage", reason="the openlineage extra is not installed")
    code = (
        "import json\n"
        "from airflow.sdk import Asset\n"
        "from airflow.providers.openlineage.utils.utils import translate_airflow_asset\n"
        "from airflow_flink_operator.assets import savepoint_asset\n"
        "out = []\n"
        "for asset in (savepoint_asset('orders', 'flink-jobs', cluster='eu-west'),\n"
        "              Asset('flink-savepoint://flink-jobs/orders')):\n"
        "    ds = translate_airflow_asset(asset, None)\n"
        "    out.append(None if ds is None else [ds.namespace, ds.name])\n"
        "print(json.dumps(out))\n"
    )
    out = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                    check=True).stdout.strip().splitlines()[-1])
    assert out == [["flink-savepoint://eu-west", "flink-jobs/orders"], ["flink-savepoint", "flink-jobs/orders"]]
