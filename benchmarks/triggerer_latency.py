"""Triggerer latency: from the Flink operator's status write to the deferred task's success, p50/p99.

Through the real components: ``airflow api-server``, ``scheduler`` (LocalExecutor), ``dag-processor``
and ``triggerer``, each its own process (the harness of ``tests/e2e/test_airflow_components.py``).
A deferrable ``FlinkJobSensor`` waits for its FlinkDeployment to run; once its trigger in the
triggerer has seen the resource, this process plays the operator and writes the RUNNING status
(plain HTTP to the API emulator, in its own process). Measured: the write → the trigger's event
(the triggerer's per-trigger log) → the task's success (its ``end_date`` from the REST API): the
watch, the triggerer handing the event to the scheduler, and a worker resuming the task.
Printed beside the same transition under ``dag.test()``, which runs the trigger inline in one process
(there the write follows the trigger's WATCH request, as the emulator counts them).
Set-up runs all sensors at once; the transitions are then measured one at a time.

Run: ``python benchmarks/triggerer_latency.py [transitions]`` (default 20)
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

from _common import deployment, emulator_process, http_json, kubeconfig, percentile, stats
from triggerer_scale import PATH, RUNNING

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "e2e"))
from airflow_components import AirflowComponents, wait_for  # noqa: E402

DAG_ID = "triggerer_latency"
DAG_FILE = f'''"""One deferrable sensor waiting for the FlinkDeployment named in the run's conf to run."""
from datetime import datetime

from airflow.sdk import DAG

from airflow_flink_operator.sensors import FlinkJobSensor

with DAG("{DAG_ID}", start_date=datetime(2026, 1, 1), schedule=None, max_active_runs=100,
         params={{"name": "latency-000"}}, default_args={{"retries": 0}}) as dag:
    FlinkJobSensor(task_id="wait", name="{{{{ params.name }}}}", target="running", deferrable=True)
'''
TRIGGER_LOGGER = "airflow_flink_operator.triggers.flink.FlinkWaitTrigger"
SEEN = "FlinkDeployment {name}"  # in the trigger's log line for the first state it sees
TIMESTAMP = re.compile(r'"timestamp":\s*"([^"]+)"')


def epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def mark_running(url: str, name: str) -> float:
    """Play the operator: write a RUNNING status; return the wall-clock time just before the write."""
    obj = http_json(url, f"{PATH}/{name}")
    obj["status"] = RUNNING
    started = time.time()
    http_json(url, f"{PATH}/{name}/status", "PUT", obj)
    return started


def with_components(url: str, names: list[str], workdir: Path) -> tuple[list[float], list[float]]:
    """(write → task success, write → trigger event) per transition, in seconds, through the real components."""
    dags = workdir / "dags"
    dags.mkdir()
    (dags / f"{DAG_ID}.py").write_text(DAG_FILE)
    connection = json.dumps({"conn_type": "kubernetes", "extra": {"kube_config": json.dumps(kubeconfig(url))}})
    airflow = AirflowComponents(workdir / "home", dags, {"AIRFLOW_CONN_KUBERNETES_DEFAULT": connection,
                                                        "AIRFLOW__CORE__PARALLELISM": "8",
                                                        })
    success, fired = [], []
    try:
        airflow.migrate()
        airflow.start_all()
        wait_for(airflow.jobs_alive, 180, "components healthy", diagnose=airflow.tail)
        wait_for(lambda: airflow.dag_parsed(DAG_ID), 180, "DAG parsed", diagnose=airflow.tail)
        runs = {name: airflow.api("POST", f"/dags/{DAG_ID}/dagRuns", {"logical_date": None, "conf": {"name": name}})
                ["dag_run_id"] for name in names}

        def trigger_log(name: str) -> str:
            found = (airflow.home / "logs").glob(f"dag_id={DAG_ID}/run_id={runs[name]}/task_id=wait/*.trigger.*.log")
            return "".join(path.read_text(errors="replace") for path in found)

        def watching(name: str) -> bool:
            return any(TRIGGER_LOGGER in line and SEEN.format(name=name) in line
                       for line in trigger_log(name).splitlines())

        wait_for(lambda: all(watching(n) for n in names), 120 + 15 * len(names),
                 "every sensor deferred and its trigger watching", interval=0.5, diagnose=airflow.tail)
        for name in names:
            written = mark_running(url, name)
            path = f"/dags/{DAG_ID}/dagRuns/{runs[name]}/taskInstances/wait"
            ti = wait_for(lambda: (t := airflow.api("GET", path))["state"] in ("success", "failed") and t, 120,
                          f"{name} finished", interval=0.02, diagnose=airflow.tail)
            assert ti["state"] == "success", ti
            success.append(epoch(ti["end_date"]) - written)
            line = next(line for line in trigger_log(name).splitlines() if "Trigger fired event" in line)
            fired.append(epoch(TIMESTAMP.search(line).group(1)) - written)
    finally:
        airflow.stop_all()
    return success, fired


def with_dag_test(url: str, names: list[str], workdir: Path) -> list[float]:
    """Write → task success per transition under ``dag.test()`` (the trigger runs inline, in this process)."""
    home = workdir / "dag-test-home"
    os.environ.update(AIRFLOW_HOME=str(home), AIRFLOW__CORE__LOAD_EXAMPLES="False",
                      AIRFLOW__CORE__DAGS_FOLDER=str(workdir / "dags"),
                      AIRFLOW__LOGGING__LOGGING_LEVEL="WARNING",
                      AIRFLOW_CONN_KUBERNETES_DEFAULT=json.dumps(
                          {"conn_type": "kubernetes", "extra": {"kube_config": json.dumps(kubeconfig(url))}}))
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True)
    path = workdir / "dags" / f"{DAG_ID}.py"
    spec = importlib.util.spec_from_file_location("latency_dag", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]

    latencies = []
    for name in names:
        written: list[float] = []

        watches_before = stats(url)["by_verb"].get("WATCH", 0)

        def operator(name: str = name) -> None:
            # dag.test() runs each trigger in a fresh event loop, so its shared watch LISTs and then opens
            # a new WATCH: once the API server sees that WATCH, the trigger has seen the resource.
            try:
                wait_for(lambda: stats(url)["by_verb"].get("WATCH", 0) > watches_before, 120,
                         f"the inline trigger watching {name}", interval=0.005)
            finally:  # write even then, so that dag.test() ends
                written.append(mark_running(url, name))

        thread = threading.Thread(target=operator, daemon=True)
        thread.start()
        run = module.dag.test(run_conf={"name": name})
        thread.join()
        (ti,) = run.get_task_instances()
        assert str(getattr(ti.state, "value", ti.state)) == "success" and written, (name, ti.state)
        latencies.append(ti.end_date.timestamp() - written[0])
    return latencies


def main(transitions: int = 20) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="triggerer-latency-"))
    with emulator_process() as url:
        names = [f"latency-{i:03d}" for i in range(transitions)]
        for name in names:
            http_json(url, PATH, "POST", deployment(name))
        started = time.monotonic()
        success, fired = with_components(url, names, workdir)
        components_wall = time.monotonic() - started

        test_names = [f"dag-test-{i:03d}" for i in range(transitions)]
        for name in test_names:
            http_json(url, PATH, "POST", deployment(name))
        inline = with_dag_test(url, test_names, workdir)

    def row(label: str, values: list[float]) -> str:
        ms = [v * 1000 for v in values]
        return (f"{label:<44} p50 {percentile(ms, 50):8.0f} ms   p99 {percentile(ms, 99):8.0f} ms   "
                f"max {max(ms):8.0f} ms")

    print(f"transitions: {len(success)} through the real components (whole run {components_wall:.0f} s), "
          f"{len(inline)} under dag.test()")
    print(row("real triggerer: status write -> trigger event", fired))
    print(row("real triggerer: status write -> task success", success))
    print(row("dag.test() (inline trigger): -> task success", inline))
    print(f"ratio real/dag.test(): p50 {percentile(success, 50) / percentile(inline, 50):.1f}x   "
          f"p99 {percentile(success, 99) / percentile(inline, 99):.1f}x")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
