"""``airflow-flink demo``: run the example DAGs end to end and show what happens.

By default against the built-in simulated cluster (no Kubernetes needed); with ``--real`` against
the cluster the ``kubernetes_default`` connection (or the default kubeconfig) points at. Airflow
runs from a throwaway home with the example DAGs folder, each DAG through ``dag.test()``.
Everything Airflow-related is imported only after the environment is set up.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

def _examples_folder() -> Path:
    """The example DAGs: the repository's top-level ``example_dags/``, which the wheel ships as
    ``airflow_flink_operator.example_dags`` (one copy, found the same way in a checkout and an install)."""
    spec = importlib.util.find_spec("airflow_flink_operator.example_dags")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("the example DAGs are not installed (airflow_flink_operator.example_dags is missing)")
    return Path(next(iter(spec.submodule_search_locations))).resolve()


EXAMPLES = _examples_folder()
#: The order the demo runs them in (all are independent).
DEFAULT_ORDER = (
    "flink_jar_job", "flink_sql_job", "flink_python_job", "flink_seatunnel_job", "flink_cdc_pipeline",
    "flink_session_jobs", "flink_scheduled_savepoints", "flink_batch_then_streaming", "flink_upgrade_and_teardown",
    "flink_yaml_manifest", "flink_bluegreen_upgrade",
)


def _prepare_airflow(home: Path, verbose: bool) -> None:
    os.environ["AIRFLOW_HOME"] = str(home)
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(EXAMPLES)
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "INFO" if verbose else "WARNING")
    home.mkdir(parents=True, exist_ok=True)
    airflow = Path(sys.executable).parent / "airflow"
    command = [str(airflow)] if airflow.exists() else [sys.executable, "-m", "airflow"]
    result = subprocess.run([*command, "db", "migrate"], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"airflow db migrate failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")


def _load_dag(dag_id: str) -> tuple[Any, dict[str, dict[str, Any]]]:
    path = EXAMPLES / f"{dag_id}.py"
    if not path.exists():
        raise SystemExit(f"no example DAG {dag_id!r}; choose from: {', '.join(DEFAULT_ORDER)}")
    spec = importlib.util.spec_from_file_location(f"airflow_flink_demo_{dag_id}", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module.dag, getattr(module, "SIMULATION", {})


class _Narrator(threading.Thread):
    """Prints each Flink resource's state whenever it changes."""

    def __init__(self, hook: Any, namespace: str, interval: float) -> None:
        super().__init__(daemon=True, name="demo-narrator")
        self.hook, self.namespace, self.interval = hook, namespace, interval
        self.seen: dict[tuple[str, str], str] = {}
        self.stop_event = threading.Event()

    def snapshot(self) -> dict[tuple[str, str], str]:
        from airflow_flink_operator.models.status import FlinkResourceStatus

        states = {}
        for kind in ("FlinkDeployment", "FlinkSessionJob", "FlinkStateSnapshot"):
            try:
                objects = self.hook.list(kind, self.namespace)
            except Exception:
                continue
            for obj in objects:
                name = obj["metadata"]["name"]
                if kind == "FlinkStateSnapshot":
                    status = obj.get("status") or {}
                    line = f"snapshot {status.get('state') or 'NEW'}" + (f" at {status['path']}" if status.get("path") else "")
                else:
                    line = FlinkResourceStatus.from_object(obj).describe()
                states[(kind, name)] = line
        return states

    def run(self) -> None:
        while not self.stop_event.is_set():
            self.report()
            self.stop_event.wait(self.interval)

    def report(self) -> None:
        current = self.snapshot()
        for key, line in current.items():
            if self.seen.get(key) != line:
                print(f"    {key[0]} {key[1]}: {line}", flush=True)
        for key in set(self.seen) - set(current):
            print(f"    {key[0]} {key[1]}: deleted", flush=True)
        self.seen = current


def run_demo(dag_ids: list[str] | None = None, *, real: bool = False, airflow_home: str | None = None,
             behaviours: list[str] | None = None, report: str | None = None, verbose: bool = False,
             rbac_role: str | None = None) -> int:
    """Run example DAGs and print what happens; return 0 when every run succeeded."""
    dag_ids = dag_ids or list(DEFAULT_ORDER)
    home = Path(airflow_home) if airflow_home else Path(tempfile.mkdtemp(prefix="airflow-flink-demo-"))
    print(f"Airflow home: {home} (DAGs from {EXAMPLES})", flush=True)
    _prepare_airflow(home, verbose)

    cluster = None
    if not real:
        from airflow_flink_operator.testing import SimulatedCluster

        cluster = SimulatedCluster(rbac_role=rbac_role).start()
        os.environ.update(cluster.airflow_connection_env())
        print(f"Simulated Kubernetes API with a simulated Flink operator at {cluster.api.url}"
              + (f", Airflow limited to the Role in {rbac_role}" if rbac_role else ""), flush=True)
    else:
        print("Using the cluster of the kubernetes_default connection (or the default kubeconfig)", flush=True)

    from airflow_flink_operator.hooks import FlinkKubernetesHook

    hook = FlinkKubernetesHook()
    namespace = hook.resolve_namespace()
    results: dict[str, Any] = {}
    try:
        for dag_id in dag_ids:
            dag, simulation = _load_dag(dag_id)
            if cluster is not None:
                for name, traits in simulation.items():
                    cluster.behave(name, **traits)
                for spec in behaviours or []:
                    name, _, assignments = spec.partition(":")
                    traits = {}
                    for assignment in filter(None, assignments.split(",")):
                        key, _, value = assignment.partition("=")
                        traits[key] = json.loads(value) if value not in ("ok", "fail", "hang", "never-ready") else value
                    cluster.behave(name, **traits)
            title = (dag.doc_md or "").strip().splitlines()[0] if dag.doc_md else ""
            print(f"\n=== {dag_id}: {title}", flush=True)
            narrator = _Narrator(hook, namespace, 0.05 if cluster else 2.0)
            narrator.seen = narrator.snapshot()  # report only what this DAG changes
            narrator.start()
            started = time.monotonic()
            run = dag.test()
            narrator.stop_event.set()
            narrator.join()
            narrator.report()
            tasks = {ti.task_id: str(getattr(ti.state, "value", ti.state)) for ti in run.get_task_instances()}
            state = str(getattr(run.state, "value", run.state))
            print(f"--- {dag_id}: {state} in {time.monotonic() - started:.1f}s  "
                  + ", ".join(f"{task}={task_state}" for task, task_state in tasks.items()), flush=True)
            results[dag_id] = {"state": state, "tasks": tasks, "resources": _resources(hook, namespace)}
    finally:
        if cluster is not None:
            cluster.stop()
    if report:
        denied = cluster.api.denied if cluster is not None else []
        Path(report).write_text(json.dumps({**results, "_denied_requests": denied} if rbac_role else results,
                                           indent=2, sort_keys=True))
    failed = [dag_id for dag_id, result in results.items() if result["state"] != "success"]
    print(f"\n{len(results) - len(failed)}/{len(results)} example DAG runs succeeded"
          + (f"; failed: {', '.join(failed)}" if failed else ""), flush=True)
    return 1 if failed else 0


def _resources(hook: Any, namespace: str) -> list[dict[str, Any]]:
    from airflow_flink_operator.models.status import summary

    found = []
    for kind in ("FlinkDeployment", "FlinkSessionJob", "FlinkStateSnapshot"):
        for obj in hook.list(kind, namespace):
            item = summary(obj)
            if kind != "FlinkStateSnapshot":
                item["spec"] = obj.get("spec")
            item["labels"] = obj["metadata"].get("labels") or {}
            found.append(item)
    return found
