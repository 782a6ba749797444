"""DAG-parse cost: the extra import + definition time of a DAG file using this package.

Three DAG files, each run in a fresh interpreter many times (median): one that imports only
``airflow.sdk`` and defines a DAG; the same with our operators and a typed FlinkDeployment spec
(SQL job, checkpointing, HA, pod template); the same with ``apache-airflow-providers-apache-flink``'s
operator (install it with ``pip install .[bench]``). Target: ours <= 50 ms over ``airflow.sdk``.

Bytecode is cached (in a temporary ``PYTHONPYCACHEPREFIX``, warmed by one run) as it is for any
``pip install``-ed package, even where ``PYTHONDONTWRITEBYTECODE`` is set: compiling sources on every
parse is not what a DAG processor pays. Three baselines:

- ``sdk``: a bare ``airflow.sdk``;
- ``processor``: what the DAG processor's parsing process has already loaded (the Task SDK comms,
  which bring pydantic);
- ``pre-import``: as ``processor``, plus what ``[dag_processor] parsing_pre_import_modules`` (on by
  default) imports in the manager before forking the parser: every ``airflow.*`` module the DAG file
  names. The incumbent lives under ``airflow.providers`` and so is imported once per manager, not per
  parse; this package is not under ``airflow.`` and is imported on every parse...
- ``preloaded``: ...unless ``airflow_local_settings.py`` calls
  :func:`airflow_flink_operator.parsing.preload`, which imports it and builds its validators once in
  the parent (as ``pre-import``, plus that call).

Run: ``python benchmarks/dag_parse_cost.py [runs]``
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

BASELINE = """
with DAG("baseline", schedule=None):
    pass
"""

OURS = """
from airflow_flink_operator.artifacts import SqlJob
from airflow_flink_operator.models import (
    Checkpointing, FlinkDeployment, FlinkDeploymentSpec, HighAvailability, JobManagerSpec, PodTemplate,
    Resource, Savepoints, SecretEnv, TaskManagerSpec,
)
from airflow_flink_operator.operators import FlinkDeploymentOperator, FlinkSavepointOperator

spec = FlinkDeployment(name="orders", spec=FlinkDeploymentSpec(
    image="flink:1.20", flink_version="v1_20", service_account="flink",
    job_manager=JobManagerSpec(resource=Resource(cpu=1, memory="2048m")),
    task_manager=TaskManagerSpec(resource=Resource(cpu=2, memory="4096m")),
    checkpointing=Checkpointing(interval="30 s", dir="s3://b/cp"), savepoints=Savepoints(dir="s3://b/sp"),
    high_availability=HighAvailability(storage_dir="s3://b/ha"),
    pod_template=PodTemplate(secret_env=[SecretEnv(name="PW", secret="db", key="pw")]),
    job=SqlJob(sql="INSERT INTO b SELECT * FROM a;", parallelism=2, upgrade_mode="savepoint"),
))
with DAG("ours", schedule=None):
    FlinkDeploymentOperator(task_id="deploy", deployment=spec) >> FlinkSavepointOperator(task_id="sp", name="orders")
"""

INCUMBENT = """
from airflow.providers.apache.flink.operators.flink_kubernetes import FlinkKubernetesOperator

manifest = {"apiVersion": "flink.apache.org/v1beta1", "kind": "FlinkDeployment", "metadata": {"name": "orders"},
            "spec": {"image": "flink:1.20", "flinkVersion": "v1_20", "serviceAccount": "flink",
                     "jobManager": {"resource": {"memory": "2048m", "cpu": 1}},
                     "taskManager": {"resource": {"memory": "4096m", "cpu": 2}},
                     "job": {"jarURI": "local:///j.jar", "parallelism": 2}}}
with DAG("incumbent", schedule=None):
    FlinkKubernetesOperator(task_id="deploy", application_file=manifest)
"""

RUNNER = """
import json, sys, time
t0 = time.perf_counter()
from airflow.sdk import DAG
if sys.argv[2] in ("processor", "pre-import", "preloaded"):
    import airflow.sdk.execution_time.comms  # loaded by the DAG processor's parsing process (brings pydantic)
if sys.argv[2] in ("pre-import", "preloaded"):
    import importlib
    from airflow.utils.file import iter_airflow_imports  # what the manager imports before it forks
    for module in iter_airflow_imports(sys.argv[1]):
        importlib.import_module(module)
if sys.argv[2] == "preloaded":
    from airflow_flink_operator.parsing import preload  # as airflow_local_settings.py would
    preload()
t1 = time.perf_counter()
exec(compile(open(sys.argv[1]).read(), sys.argv[1], "exec"), {"DAG": DAG, "__name__": "dagfile"})
t2 = time.perf_counter()
print(json.dumps([t1 - t0, t2 - t1]))
"""


MODES = (
    ("sdk", "baseline: airflow.sdk only"),
    ("processor", "baseline: airflow.sdk + Task SDK comms, as in the DAG processor (pydantic loaded)"),
    ("pre-import", "as 'processor', plus the airflow.* modules the manager pre-imports (parsing_pre_import_modules)"),
    ("preloaded", "as 'pre-import', with airflow_flink_operator.parsing.preload() in airflow_local_settings.py"),
)


def measure(path: Path, runs: int, env: dict[str, str], mode: str) -> tuple[float, float] | None:
    sdk, body = [], []
    command = [sys.executable, "-c", RUNNER, str(path), mode]
    subprocess.run(command, capture_output=True, env=env, check=False)  # writes the bytecode cache
    for _ in range(runs):
        result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        if result.returncode != 0:
            print(f"  {path.stem}: failed: {result.stderr.strip().splitlines()[-1:]}")
            return None
        first, second = json.loads(result.stdout.strip().splitlines()[-1])
        sdk.append(first * 1000)
        body.append(second * 1000)
    return statistics.median(sdk), statistics.median(body)


def main(runs: int = 15) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "AIRFLOW_HOME": tmp, "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
               "PYTHONPYCACHEPREFIX": str(Path(tmp) / "bytecode")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        files = {}
        for name, body in (("baseline", BASELINE), ("ours", OURS), ("incumbent", INCUMBENT)):
            files[name] = Path(tmp) / f"{name}.py"
            files[name].write_text(textwrap.dedent(body))
        results = {mode: {name: measure(path, runs, env, mode) for name, path in files.items()} for mode, _ in MODES}
    print(f"median of {runs} fresh interpreters, bytecode cached; 'file' = the DAG file's own imports and definitions")
    for mode, title in MODES:
        print(f"-- {title}")
        base = results[mode]["baseline"]
        for name, value in results[mode].items():
            if value is None:
                print(f"   {name:10s} not measured (pip install .[bench] for the incumbent)")
                continue
            print(f"   {name:10s} file {value[1]:7.1f} ms   extra {value[1] - base[1]:7.1f} ms")
        ours = results[mode]["ours"][1] - base[1]
        print(f"   target <= 50 ms extra: {'met' if ours <= 50 else 'NOT met'} ({ours / 50:.2f} of target)")
        if results[mode]["incumbent"] is not None:
            theirs = results[mode]["incumbent"][1] - base[1]
            if mode in ("pre-import", "preloaded"):
                print(f"   the incumbent's import is paid once per DAG processor, not per parse ({theirs:.1f} ms left)")
            else:
                print(f"   ratio ours/incumbent (extra time): {ours / theirs:.3f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 15)
