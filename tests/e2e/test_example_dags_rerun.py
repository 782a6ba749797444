"""Example DAGs that deploy, each run twice on one simulated cluster through the demo machinery
(``dag.test()``): the second run redeploys nothing — every FlinkDeployment's and FlinkSessionJob's
``metadata.generation`` is what the first run left — unless the spec really differs.

The example specs carry float-looking integers (``cpu: 1.0`` from the typed models), which the API
server stores as ``1`` and compares type-strictly (see tests/test_rerun_generation.py); a re-run that
re-sent them would be a new generation, and so an upgrade of the running job, each time.

Kept lean (each run is a few seconds): one DAG per way of deploying — a typed application
(``flink_jar_job``), a job with generated ConfigMaps (``flink_sql_job``), a session cluster with
session jobs (``flink_session_jobs``), and a templated YAML manifest (``flink_yaml_manifest``). Left out: ``flink_batch_then_streaming`` and ``flink_upgrade_and_teardown`` change the
spec within a run on purpose and end with their resources deleted; the other job kinds deploy as the
SQL job does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_flink_operator.demo import DEFAULT_ORDER

#: Example DAGs whose resources end deployed with the same spec on every run.
RERUNNABLE = ("flink_jar_job", "flink_sql_job", "flink_session_jobs", "flink_yaml_manifest")

#: Runs each DAG twice, printing one JSON line: per DAG, the run states and the generations after each run.
DRIVER = r"""
import json, os, sys, time
from pathlib import Path

from airflow_flink_operator import demo
from airflow_flink_operator.testing import SimulatedCluster

home, dag_ids = Path(sys.argv[1]), sys.argv[2:]
demo._prepare_airflow(home, False)
cluster = SimulatedCluster().start()
os.environ.update(cluster.airflow_connection_env())


def resources():
    return {f"{kind}/{o['metadata']['name']}": {"generation": o["metadata"]["generation"], "spec": o["spec"]}
            for kind in ("FlinkDeployment", "FlinkSessionJob") for o in cluster.list(kind)}


results = {}
try:
    for dag_id in dag_ids:
        dag, simulation = demo._load_dag(dag_id)
        for name, traits in simulation.items():
            cluster.behave(name, **traits)
        runs = []
        for _ in range(2):
            started = time.monotonic()
            run = dag.test()
            runs.append({"state": str(getattr(run.state, "value", run.state)), "resources": resources(),
                         "seconds": round(time.monotonic() - started, 1)})
        results[dag_id] = runs
finally:
    cluster.stop()
print("RESULT " + json.dumps(results), flush=True)
"""


@pytest.fixture(scope="module")
def reruns(tmp_path_factory) -> dict[str, list[dict]]:
    home = tmp_path_factory.mktemp("rerun") / "airflow"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    result = subprocess.run([sys.executable, "-c", DRIVER, str(home), *RERUNNABLE],
                            capture_output=True, text=True, env=env, timeout=900, check=False)
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert result.returncode == 0 and lines, f"{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    runs = json.loads(lines[-1].removeprefix("RESULT "))
    print("seconds per run:", {dag_id: [r["seconds"] for r in pair] for dag_id, pair in runs.items()})
    return runs


def test_the_chosen_examples_are_example_dags():
    assert set(RERUNNABLE) <= set(DEFAULT_ORDER)


@pytest.mark.parametrize("dag_id", RERUNNABLE)
def test_second_run_keeps_every_generation(reruns, dag_id):
    first, second = reruns[dag_id]
    assert first["state"] == second["state"] == "success"
    assert first["resources"], "the DAG deployed nothing"
    changed = {key: (res["generation"], second["resources"].get(key, {}).get("generation"))
               for key, res in first["resources"].items()
               if second["resources"].get(key, {}).get("generation") != res["generation"]}
    assert not changed, f"re-running {dag_id} changed generations (first, second): {changed}"
