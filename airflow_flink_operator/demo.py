"""``airflow-flink demo``: run the example DAGs end to end and show what happens.

By default against the built-in simulated cluster (no Kubernetes needed); with ``--real`` against
the cluster the ``kubernetes_default`` connection (or the default kubeconfig) points at. Airflow
runs from a throwaway home with the example DAGs folder, each DAG through ``dag.test()``, except the
asset-triggered ones (:data:`ASSET_TRIGGERED`): ``dag.test()`` never creates an asset-triggered run,
so for those the demo starts Airflow's own api-server, scheduler and triggerer on the same home and
lets the scheduler create the run from the asset event the producing DAG emitted, as it would in a
deployment (:mod:`airflow_flink_operator.local_airflow`).
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
    "flink_yaml_manifest", "flink_bluegreen_upgrade", "flink_savepoint_producer", "flink_replay_from_savepoint",
)
#: Example DAGs scheduled on an asset another example emits events for: ``{consumer: producer}``. The
#: producer runs first (``dag.test()``; its outlet event goes into Airflow's database as a worker's
#: would), then Airflow's scheduler creates and runs the consumer's asset-triggered run.
ASSET_TRIGGERED = {"flink_replay_from_savepoint": "flink_savepoint_producer"}
#: Seconds the scheduler has to create and finish an asset-triggered run (generous: a loaded machine).
ASSET_TRIGGERED_TIMEOUT = 300.0
#: Seconds between the demo's looks at that run through the REST API. The one api-server also answers the
#: execution API the run's workers call; on a small, busy machine each look costs it 50-250 ms.
ASSET_TRIGGERED_POLL = 1.0


def _prepare_airflow(home: Path, verbose: bool) -> None:
    os.environ["AIRFLOW_HOME"] = str(home)
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(EXAMPLES)
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "INFO" if verbose else "WARNING")
    home.mkdir(parents=True, exist_ok=True)
    _airflow_cli("db", "migrate")


def _airflow_cli(*args: str) -> None:
    airflow = Path(sys.executable).parent / "airflow"
    command = [str(airflow)] if airflow.exists() else [sys.executable, "-m", "airflow"]
    result = subprocess.run([*command, *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"airflow {' '.join(args)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")


def _with_producers(dag_ids: list[str]) -> list[str]:
    """``dag_ids``, with the producer of each asset-triggered DAG run before it (its event triggers it)."""
    ordered: list[str] = []
    for dag_id in dag_ids:
        producer = ASSET_TRIGGERED.get(dag_id)
        if producer and producer not in ordered:
            print(f"{dag_id} runs on {producer}'s asset events: running {producer} first", flush=True)
            ordered.append(producer)
        if dag_id not in ordered:
            ordered.append(dag_id)
    return ordered


def _asset_events(dag_id: str, run_id: str) -> list[dict[str, Any]]:
    """The asset events a run emitted, as Airflow's database has them."""
    from sqlalchemy import select

    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session

    with create_session() as session:
        events = session.scalars(select(AssetEvent).where(AssetEvent.source_dag_id == dag_id,
                                                          AssetEvent.source_run_id == run_id).order_by(AssetEvent.id))
        return [{"uri": event.asset.uri, "task_id": event.source_task_id, "extra": event.extra} for event in events]


def _run_asset_triggered(dag_id: str, home: Path, cluster: Any) -> dict[str, Any]:
    """Let Airflow's scheduler create and run ``dag_id``'s asset-triggered run; return what happened.

    api-server, scheduler (LocalExecutor) and triggerer run on the demo's home and database, where
    ``dag.test()`` already serialised the DAGs and the producer's event queued this DAG (no DAG
    processor needed). On the simulated cluster the Flink operator moves only once Airflow has
    recorded a task's deferral (Airflow 3.3.2 fails a task whose trigger fires earlier,
    apache/airflow#67287).
    """
    import urllib.error

    from airflow.configuration import conf

    from airflow_flink_operator.local_airflow import AirflowComponents, follow_run, wait_for

    env = {k: v for k, v in os.environ.items() if k.startswith("AIRFLOW_CONN_")}
    components = AirflowComponents(home, EXAMPLES, env, fernet_key=conf.get("core", "fernet_key", fallback="") or None)

    def created() -> list[dict[str, Any]]:
        try:
            return components.dag_runs(dag_id, "asset_triggered")
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return []

    hold = None if cluster is None else (lambda held: setattr(cluster.operator, "paused", held))
    print(f"    starting Airflow's api-server, scheduler and triggerer on {home}", flush=True)
    try:
        if hold:
            hold(True)
        components.start_all(dag_processor=False, bytecode=False)
        runs = wait_for(created, ASSET_TRIGGERED_TIMEOUT, f"the scheduler creating an asset-triggered run of {dag_id}",
                        interval=ASSET_TRIGGERED_POLL, diagnose=lambda: components.tail(20))
        run_id = runs[0]["dag_run_id"]
        print(f"    the scheduler created run {run_id}", flush=True)
        state = follow_run(components, dag_id, run_id, timeout=ASSET_TRIGGERED_TIMEOUT, hold=hold,
                           interval=ASSET_TRIGGERED_POLL)
        tasks = components.task_states(dag_id, run_id)
        # Asked once the run has started: Airflow 3.3 answers 500 for an event whose run has not (apache/airflow#71360).
        events = components.upstream_asset_events(dag_id, run_id)
        print(f"    run {run_id} was triggered by {len(events)} asset event(s):", flush=True)
        for event in events:
            print(f"      {event['uri']} from {event['source_dag_id']}.{event['source_task_id']}: "
                  f"{json.dumps(event['extra'], sort_keys=True)}", flush=True)
        if state != "success":
            print(components.tail(30), flush=True)
        return {"state": state, "tasks": tasks, "run_id": run_id, "run_type": "asset_triggered",
                "triggered_by": [{"uri": e["uri"], "source_dag_id": e["source_dag_id"], "extra": e["extra"]}
                                 for e in events]}
    except TimeoutError as exc:
        print(f"{exc}\n{components.tail(30)}", flush=True)
        return {"state": "failed", "tasks": {}, "run_type": "asset_triggered", "error": str(exc)}
    finally:
        components.stop_all()
        if hold:
            hold(False)


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
             rbac_role: str | None = None, flink: str = "auto", retries: int | None = None) -> int:
    """Run example DAGs and print what happens; return 0 when every run succeeded.

    :param retries: every task's retries, instead of what the DAG says (``0``: a failure ends the run at once,
        without the DAGs' retry delays).

    :param flink: on the simulated cluster, where jobs run: ``"local"`` (a real local Flink; the jar, SQL and
        Python examples and the upgrade examples run there, the rest stays simulated, labelled), ``"simulated"``,
        or ``"auto"`` (local when Java 11+ and the Flink distribution are installed, unless ``behaviours`` set
        simulated faults).
    """
    dag_ids = _with_producers(list(dag_ids or DEFAULT_ORDER))
    home = Path(airflow_home) if airflow_home else Path(tempfile.mkdtemp(prefix="airflow-flink-demo-"))
    print(f"Airflow home: {home} (DAGs from {EXAMPLES})", flush=True)
    _prepare_airflow(home, verbose)

    cluster = None
    if not real:
        from airflow_flink_operator.testing import SimulatedCluster

        # --behave sets simulated faults and traits: with it, "auto" keeps the jobs simulated.
        flink = "simulated" if behaviours and flink == "auto" else _flink_mode(flink)
        cluster = SimulatedCluster(rbac_role=rbac_role, flink=flink).start()
        os.environ.update(cluster.airflow_connection_env())
        print(f"Simulated Kubernetes API with a simulated Flink operator at {cluster.api.url}"
              + (f", Airflow limited to the Role in {rbac_role}" if rbac_role else ""), flush=True)
        if cluster.flink is not None:
            from airflow_flink_operator.testing.realflink_demo import STAND_INS, install_stand_ins

            install_stand_ins(cluster.real_jobs)
            print(f"Real Flink {cluster.flink.version} at {cluster.flink.rest_url} (files under "
                  f"{cluster.flink.work_dir}): {', '.join(STAND_INS)} run there, with the package's own jobs "
                  "standing in for the examples' jars; the other jobs are simulated, labelled SIMULATED", flush=True)
    else:
        print("Using the cluster of the kubernetes_default connection (or the default kubeconfig)", flush=True)

    from airflow_flink_operator.hooks import FlinkKubernetesHook

    hook = FlinkKubernetesHook()
    namespace = hook.resolve_namespace()
    # The asset examples name their namespace (an asset names one job): the one the demo runs in.
    os.environ.setdefault("FLINK_NAMESPACE", namespace)
    consumers = [dag_id for dag_id in dag_ids if dag_id in ASSET_TRIGGERED]
    if consumers:
        # The scheduler queues an asset-triggered DAG only while it is unpaused (it is registered paused).
        _airflow_cli("dags", "reserialize")
        for dag_id in consumers:
            _airflow_cli("dags", "unpause", dag_id)
    results: dict[str, Any] = {}
    try:
        for dag_id in dag_ids:
            dag, simulation = _load_dag(dag_id)
            if retries is not None:
                for task in dag.tasks:
                    task.retries = retries
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
            evidence = None
            if cluster is not None and cluster.flink is not None:
                from airflow_flink_operator.testing.realflink_demo import RestoreEvidence

                evidence = RestoreEvidence(cluster).start()
            started = time.monotonic()
            if dag_id in ASSET_TRIGGERED:
                outcome = _run_asset_triggered(dag_id, home, cluster)
            else:
                run = dag.test()
                outcome = {"state": str(getattr(run.state, "value", run.state)),
                           "tasks": {ti.task_id: str(getattr(ti.state, "value", ti.state))
                                     for ti in run.get_task_instances()},
                           "tries": {ti.task_id: ti.try_number for ti in run.get_task_instances()}}
                if dag_id in ASSET_TRIGGERED.values():
                    outcome["asset_events"] = _asset_events(dag_id, run.run_id)
            if evidence is not None and outcome["state"] == "success":
                from airflow_flink_operator.testing.realflink_demo import RESTORE_CHECKS, restore_check

                if dag_id in RESTORE_CHECKS:
                    restore_check(cluster, RESTORE_CHECKS[dag_id])
            narrator.stop_event.set()
            narrator.join()
            narrator.report()
            if evidence is not None:
                evidence.stop()
            for event in outcome.get("asset_events", []):
                print(f"    asset event {event['uri']} from {event['task_id']}: "
                      f"{json.dumps(event['extra'], sort_keys=True)}", flush=True)
            state, tasks = outcome["state"], outcome["tasks"]
            print(f"--- {dag_id}: {state} in {time.monotonic() - started:.1f}s  "
                  + ", ".join(f"{task}={task_state}" for task, task_state in tasks.items()), flush=True)
            results[dag_id] = {**outcome, "resources": _resources(hook, namespace)}
            if dag_id in ASSET_TRIGGERED:
                for item in results[dag_id]["resources"]:
                    restored = ((item.get("spec") or {}).get("job") or {}).get("initialSavepointPath")
                    if restored and item["labels"].get("airflow-flink-operator/dag-id") == dag_id:
                        print(f"    {item['kind']} {item['name']} started from savepoint {restored}", flush=True)
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


def _flink_mode(flink: str) -> str:
    """``auto`` → ``local`` when real Flink can run here, else ``simulated`` (saying why)."""
    if flink != "auto":
        return flink
    from airflow_flink_operator.testing.flink_local import unavailable_reason

    reason = unavailable_reason()
    if reason:
        print(f"Jobs are simulated (no real Flink: {reason})", flush=True)
        return "simulated"
    return "local"
