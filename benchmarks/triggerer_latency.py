"""Triggerer latency: from the Flink operator's status write to the deferred task's success, p50/p99.

Through the real components: ``airflow api-server``, ``scheduler`` (LocalExecutor), ``dag-processor``
and ``triggerer``, each its own process (the harness of ``tests/e2e/test_airflow_components.py``).
A deferrable ``FlinkJobSensor`` waits for its FlinkDeployment to run; once its trigger in the
triggerer has seen the resource, this process plays the operator and writes the RUNNING status
(plain HTTP to the API emulator, in its own process). Measured: the write → the trigger's event
(the triggerer's per-trigger log) → the task's success (its ``end_date`` from the REST API): the
watch, the triggerer handing the event to the scheduler, and a worker resuming the task.
Beside it, in the same deployment and interleaved with it, Airflow's own floor: the same path for a
trigger that fires the moment it is told to (a socket read, no Kubernetes at all), so the signal → task
success time is only the triggerer handing the event on, the scheduler and a worker resuming the task.
Printed: ours ÷ floor (target ≤ 1.1), and the same transition under ``dag.test()``, which runs the trigger
inline in one process (there the write follows the trigger's WATCH request, as the emulator counts them).
Set-up runs all sensors at once; the transitions are then measured one at a time, each starting at a random
moment (an idle scheduler loops about once a second, and a transition's latency depends on where in that loop its
event lands), ours and the floor taking turns going first. Also printed, free of that loop: what ours can add to the
floor, the write → event time plus the difference in the resumed task runner's own time (from the task logs).

Run: ``python benchmarks/triggerer_latency.py [transitions]`` (default 20)
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import re
import socket
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
FLOOR_DAG_ID = "triggerer_latency_floor"
#: Random start moments of the transitions (seeded: the same schedule on every run).
PHASE = random.Random(20261207)
#: In the deployment's plugins folder (on every component's ``sys.path``), so the triggerer can import the trigger.
FLOOR_MODULE = '''"""A trigger that fires as soon as it is signalled, and a task deferring to it: Airflow's own floor."""
import asyncio

from airflow.sdk import BaseOperator
from airflow.triggers.base import BaseTrigger, TriggerEvent


class SignalTrigger(BaseTrigger):
    """Connects to the benchmark, names itself, fires on the first line the benchmark sends back."""

    def __init__(self, port, name):
        super().__init__()
        self.port, self.name = int(port), name

    def serialize(self):
        return ("latency_floor.SignalTrigger", {"port": self.port, "name": self.name})

    async def run(self):
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        writer.write(self.name.encode() + b"\\n")
        await writer.drain()
        await reader.readline()
        writer.close()
        yield TriggerEvent({"status": "success"})


class WaitForSignal(BaseOperator):
    template_fields = ("name", "port")

    def __init__(self, *, name, port, **kwargs):
        super().__init__(**kwargs)
        self.name, self.port = name, port

    def execute(self, context):
        self.defer(trigger=SignalTrigger(self.port, self.name), method_name="resume")

    def resume(self, context, event=None):
        return None
'''
FLOOR_DAG_FILE = f'''"""One task deferring to a trigger that fires when the benchmark signals it."""
from datetime import datetime

from airflow.sdk import DAG
from latency_floor import WaitForSignal

with DAG("{FLOOR_DAG_ID}", start_date=datetime(2026, 1, 1), schedule=None, max_active_runs=100,
         params={{"name": "floor-000", "port": 0}}, default_args={{"retries": 0}}) as dag:
    WaitForSignal(task_id="wait", name="{{{{ params.name }}}}", port="{{{{ params.port }}}}")
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


class SignalServer:
    """Where the floor's triggers connect and wait; :meth:`signal` fires one."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.waiting: dict[str, socket.socket] = {}
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            conn, _ = self.sock.accept()
            name = conn.makefile("rb").readline().decode().strip()
            self.waiting[name] = conn

    def signal(self, name: str) -> float:
        """Fire ``name``'s trigger; return the wall-clock time just before."""
        conn = self.waiting.pop(name)
        started = time.time()
        conn.sendall(b"go\n")
        conn.close()
        return started


def resumed_run_time(log: Path) -> float:
    """Seconds the resumed task's runner took: from its last ``Pre Execute`` group to its last line (parsing the
    DAG file, rendering, the method the trigger resumes, pushing its XCom)."""
    events = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    start = max(i for i, event in enumerate(events) if "Pre Execute" in event.get("event", ""))
    return epoch(events[-1]["timestamp"]) - epoch(events[start]["timestamp"])


def with_components(url: str, names: list[str], workdir: Path) -> tuple[list[float], ...]:
    """(write → task success, write → trigger event, floor signal → task success, our resumed runner's time, the
    floor's) per transition, in seconds, through the real components; ours and the floor interleaved."""
    dags = workdir / "dags"
    dags.mkdir()
    (dags / f"{DAG_ID}.py").write_text(DAG_FILE)
    (dags / f"{FLOOR_DAG_ID}.py").write_text(FLOOR_DAG_FILE)
    (workdir / "home" / "plugins").mkdir(parents=True)
    (workdir / "home" / "plugins" / "latency_floor.py").write_text(FLOOR_MODULE)
    connection = json.dumps({"conn_type": "kubernetes", "extra": {"kube_config": json.dumps(kubeconfig(url))}})
    airflow = AirflowComponents(workdir / "home", dags, {"AIRFLOW_CONN_KUBERNETES_DEFAULT": connection,
                                                        "AIRFLOW__CORE__PARALLELISM": "8",
                                                        })
    server = SignalServer()
    success, fired, floor = [], [], []
    try:
        airflow.migrate()
        airflow.start_all()
        wait_for(airflow.jobs_alive, 180, "components healthy", diagnose=airflow.tail)
        for dag_id in (DAG_ID, FLOOR_DAG_ID):
            wait_for(lambda: airflow.dag_parsed(dag_id), 180, f"DAG {dag_id} parsed", diagnose=airflow.tail)
        runs = {name: airflow.api("POST", f"/dags/{DAG_ID}/dagRuns", {"logical_date": None, "conf": {"name": name}})
                ["dag_run_id"] for name in names}
        floor_runs = {name: airflow.api("POST", f"/dags/{FLOOR_DAG_ID}/dagRuns",
                                        {"logical_date": None, "conf": {"name": name, "port": server.port}})
                      ["dag_run_id"] for name in names}

        def trigger_log(name: str) -> str:
            found = (airflow.home / "logs").glob(f"dag_id={DAG_ID}/run_id={runs[name]}/task_id=wait/*.trigger.*.log")
            return "".join(path.read_text(errors="replace") for path in found)

        def watching(name: str) -> bool:
            return any(TRIGGER_LOGGER in line and SEEN.format(name=name) in line
                       for line in trigger_log(name).splitlines())

        def all_deferred() -> bool:  # and the scheduler has processed it: no trigger fires earlier (#67287)
            return (all(watching(n) and airflow.deferral_processed(DAG_ID, runs[n], "wait") for n in names)
                    and all(n in server.waiting and airflow.deferral_processed(FLOOR_DAG_ID, floor_runs[n], "wait")
                            for n in names))

        wait_for(all_deferred, 120 + 30 * len(names), "every task deferred and its trigger waiting", interval=0.5,
                 diagnose=airflow.tail)

        def finished(dag_id: str, run_id: str) -> dict:
            path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/wait"
            ti = wait_for(lambda: (t := airflow.api("GET", path))["state"] in ("success", "failed") and t, 120,
                          f"{dag_id} {run_id} finished", interval=0.1, diagnose=airflow.tail)
            assert ti["state"] == "success", ti
            return ti

        def ours(name: str) -> None:
            written = mark_running(url, name)
            success.append(epoch(finished(DAG_ID, runs[name])["end_date"]) - written)
            line = next(line for line in trigger_log(name).splitlines() if "Trigger fired event" in line)
            fired.append(epoch(TIMESTAMP.search(line).group(1)) - written)

        def theirs(name: str) -> None:
            signalled = server.signal(name)
            floor.append(epoch(finished(FLOOR_DAG_ID, floor_runs[name])["end_date"]) - signalled)

        # The scheduler loops about once a second when idle: a transition's latency depends on where in that loop
        # its event lands. Each transition starts at a random moment, and ours and the floor take turns going
        # first, so neither side is systematically in step with the scheduler.
        for index, name in enumerate(names):
            for measure in ((ours, theirs) if index % 2 == 0 else (theirs, ours)):
                time.sleep(PHASE.uniform(0.0, 1.0))
                measure(name)
        task_log = "task_id=wait/attempt=1.log"
        runner = [resumed_run_time(airflow.home / "logs" / f"dag_id={DAG_ID}" / f"run_id={runs[n]}" / task_log)
                  for n in names]
        floor_runner = [resumed_run_time(airflow.home / "logs" / f"dag_id={FLOOR_DAG_ID}" / f"run_id={floor_runs[n]}"
                                         / task_log) for n in names]
    finally:
        airflow.stop_all()
    return success, fired, floor, runner, floor_runner


def with_dag_test(url: str, names: list[str], workdir: Path) -> list[float]:
    """Write → task success per transition under ``dag.test()`` (the trigger runs inline, in this process)."""
    os.environ["AIRFLOW_CONN_KUBERNETES_DEFAULT"] = json.dumps(
        {"conn_type": "kubernetes", "extra": {"kube_config": json.dumps(kubeconfig(url))}})
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True)
    path = workdir / "dag-test-dags" / f"{DAG_ID}.py"  # only ours: the floor's trigger lives in the deployment's plugins
    path.parent.mkdir()
    path.write_text(DAG_FILE)
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
    # This process's own Airflow (for dag.test()) is configured before anything imports it: starting the
    # components compiles bytecode, which finds (so imports) the ``airflow`` package. The components get
    # an environment of their own.
    os.environ.update(AIRFLOW_HOME=str(workdir / "dag-test-home"), AIRFLOW__CORE__LOAD_EXAMPLES="False",
                      AIRFLOW__CORE__DAGS_FOLDER=str(workdir / "dag-test-dags"), AIRFLOW__LOGGING__LOGGING_LEVEL="WARNING")
    with emulator_process() as url:
        names = [f"latency-{i:03d}" for i in range(transitions)]
        for name in names:
            http_json(url, PATH, "POST", deployment(name))
        started = time.monotonic()
        success, fired, floor, runner, floor_runner = with_components(url, names, workdir)
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
    print(row("floor (a trigger fired at once) -> task success", floor))
    print(f"ours / floor (target <= 1.1): p50 {percentile(success, 50) / percentile(floor, 50):.2f}x   "
          f"p99 {percentile(success, 99) / percentile(floor, 99):.2f}x   "
          f"mean {sum(success) / len(success) / (sum(floor) / len(floor)):.2f}x")
    # Where ours can differ from the floor, without the scheduler's loop phase: the trigger's part, and the runner.
    print(row("resumed task runner, ours", runner))
    print(row("resumed task runner, floor", floor_runner))
    added = percentile(fired, 50) + percentile(runner, 50) - percentile(floor_runner, 50)
    print(f"what ours adds (p50 write -> event + p50 runner difference): {added * 1000:.0f} ms = "
          f"{added / percentile(floor, 50) * 100:.0f}% of the floor's p50")
    print(row("dag.test() (inline trigger): -> task success", inline))
    print(f"ratio real/dag.test(): p50 {percentile(success, 50) / percentile(inline, 50):.1f}x   "
          f"p99 {percentile(success, 99) / percentile(inline, 99):.1f}x")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
