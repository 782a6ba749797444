"""The DAGs run by the real Airflow components, each its own process, against the simulated cluster.

``dag.test()`` (the rest of the suite) runs a deferred task's trigger inline, in the test process.
Here ``airflow api-server``, ``scheduler`` (LocalExecutor), ``dag-processor`` and ``triggerer`` run
as separate processes from one throwaway home (sqlite), started once for the module; the tasks
defer to the real triggerer, which loads the trigger from its serialised kwargs in the database.
The tests see what a user sees: task states through the REST API, the task logs it serves, the
metadata database and the triggerer's log.

The simulated Flink operator is paused (it reconciles nothing) until the REST API shows the
task DEFERRED, so that state is observed on every run, then let go; nothing waits for a moment.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
from pathlib import Path

import pytest

from airflow_flink_operator.testing import SimulatedCluster

from airflow_components import BLOCKED_LOOP_WARNING, AirflowComponents, wait_for

DAGS = Path(__file__).resolve().parent / "components_dags"
DAG_IDS = ("components_deploy_savepoint", "components_lifecycle", "components_failing_job",
           "components_triggerer_restart", "components_triggerer_stall", "components_config_file")
TRIGGER_CLASS = "airflow_flink_operator.triggers.flink.FlinkWaitTrigger"
#: Generous bounds for a loaded 2-core machine; every wait returns as soon as its event happens.
START_TIMEOUT = 120.0
RUN_TIMEOUT = 150.0
#: ``airflow_local_settings.py`` of the deployment. The DAG processor preloads the models, as the README
#: recommends. The scheduler also imports what every task imports (the Task SDK's runner, our operators,
#: hooks and the Kubernetes clients), so the LocalExecutor's task processes, forked from it, start warm:
#: seconds less per task on a loaded machine. The triggerer preloads what a Flink trigger needs before
#: its event loop starts, as the README recommends (``airflow_flink_operator.triggers.preload``).
SETTINGS = """\
import sys

from airflow_flink_operator.parsing import preload

preload()
if sys.argv[1:2] == ["scheduler"]:
    import airflow.sdk.execution_time.task_runner
    import airflow_flink_operator.hooks.flink_kubernetes
    import airflow_flink_operator.operators.deployment
    import airflow_flink_operator.operators.lifecycle
    import airflow_flink_operator.operators.savepoint
    import kubernetes.client
if sys.argv[1:2] == ["triggerer"]:
    from airflow_flink_operator.triggers import preload as preload_triggers

    preload_triggers()
    # Test instrumentation, not a recommendation: the CPU seconds each event-loop callback spends on the loop's
    # thread (Airflow's own "blocked" warning measures wall-clock time, which any busy machine stretches).
    import asyncio.events
    import os
    import time

    _run = asyncio.events.Handle._run
    _active = set()

    def _run_timed(self):
        if os.getpid() not in _active:
            _active.add(os.getpid())
            print(f"%(marker)s monitor active in pid {os.getpid()}", file=sys.stderr, flush=True)
        started = time.thread_time()
        try:
            return _run(self)
        finally:
            spent = time.thread_time() - started
            if spent >= %(limit)r:
                print(f"%(marker)s {spent:.3f} s of CPU: {self!r:.400}", file=sys.stderr, flush=True)

    asyncio.events.Handle._run = _run_timed
""" % {"limit": 0.2, "marker": "LOOP CALLBACK CPU"}


@pytest.fixture(scope="module")
def cluster():
    cluster = SimulatedCluster().start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def airflow(cluster, tmp_path_factory):
    """The four components, started once; killed (process groups and descendants) however the tests end."""
    home = tmp_path_factory.mktemp("airflow-components")
    (home / "config").mkdir()
    # As the README recommends for a DAG processor: build the models once, not on every parse.
    (home / "config" / "airflow_local_settings.py").write_text(SETTINGS)
    # The DAGs folder, with a kubeconfig next to the DAG that names it by a relative config_file.
    dags = home / "dags"
    shutil.copytree(DAGS, dags, ignore=shutil.ignore_patterns("__pycache__"))
    (dags / "kubeconfig.yaml").write_text(json.dumps(cluster.kubeconfig()))
    components = AirflowComponents(home, dags, cluster.airflow_connection_env())
    # Every component works in a directory of its own choosing, not the DAGs folder (#23 item 2).
    elsewhere, here = tmp_path_factory.mktemp("components-cwd"), os.getcwd()
    try:
        components.migrate()
        os.chdir(elsewhere)
        try:
            components.start_all()
        finally:
            os.chdir(here)
        wait_for(components.jobs_alive, START_TIMEOUT, "scheduler, triggerer and DAG processor healthy",
                 diagnose=components.tail)
        for dag_id in DAG_IDS:
            wait_for(lambda: components.dag_parsed(dag_id), START_TIMEOUT, f"DAG {dag_id} parsed",
                     diagnose=components.tail)
        yield components
    finally:
        components.stop_all()


@pytest.fixture(autouse=True)
def operator_reconciling_after_each_test(cluster):
    """A test that fails while the simulated operator is paused must not leave it paused for the next one."""
    yield
    cluster.operator.paused = False


class Run:
    """One DAG run, watched through the REST API: every state each task was seen in, in order."""

    def __init__(self, airflow: AirflowComponents, dag_id: str) -> None:
        self.airflow, self.dag_id = airflow, dag_id
        self.run_id = airflow.trigger_dag(dag_id)
        self.seen: dict[str, list[str]] = {}

    def poll(self) -> dict[str, str | None]:
        states = self.airflow.task_states(self.dag_id, self.run_id)
        for task_id, state in states.items():
            history = self.seen.setdefault(task_id, [])
            if state and (not history or history[-1] != state):
                history.append(state)
        return states

    def wait_task(self, task_id: str, states: tuple[str, ...], timeout: float = RUN_TIMEOUT) -> str:
        return wait_for(lambda: (s := self.poll().get(task_id)) in states and s, timeout,
                        f"{self.dag_id}.{task_id} in {states} (seen: {self.seen})", diagnose=self.airflow.tail)

    def wait_finished(self, timeout: float = RUN_TIMEOUT) -> str:
        def finished() -> str | None:
            self.poll()
            state = self.airflow.run_state(self.dag_id, self.run_id)
            return state if state in ("success", "failed") else None

        return wait_for(finished, timeout, f"{self.dag_id} run finished (seen: {self.seen})",
                        diagnose=self.airflow.tail)

    def log(self, task_id: str) -> str:
        """The task's log over all its tries, with the triggerer's part of each.

        Read from the log folder: a task retried after Airflow 3.3.2's deferral race (see the README)
        has its first try's log on disk, but the REST API may answer 404 for it once a later try ran.
        """
        folder = self.airflow.home / "logs" / f"dag_id={self.dag_id}" / f"run_id={self.run_id}" / f"task_id={task_id}"
        return "\n".join(path.read_text() for path in sorted(folder.glob("attempt=*.log*")))


def trigger_rows_for(airflow: AirflowComponents, resource: str) -> list[dict]:
    """The stored rows of our triggers waiting for ``resource``."""
    return [r for r in airflow.trigger_rows()
            if r["classpath"] == TRIGGER_CLASS and json.dumps(resource) in r["kwargs"]]


def deferred_with_operator_paused(airflow: AirflowComponents, cluster: SimulatedCluster, dag_id: str,
                                  resource: str, task_id: str = "deploy") -> tuple[Run, list[dict]]:
    """Start a run with the simulated operator paused; return once ``task_id`` is DEFERRED, with the
    rows of the trigger it deferred to. The operator stays paused: the caller lets it go."""
    cluster.operator.paused = True
    run = Run(airflow, dag_id)
    run.wait_task(task_id, ("deferred",))
    rows = wait_for(lambda: trigger_rows_for(airflow, resource), 30, f"the trigger row waiting for {resource}")
    # Airflow 3.3.2 fails a deferred task whose trigger fires before the scheduler has processed the
    # executor's "success" for the deferring try (apache/airflow#67287, fixed after 3.3.2 by #68741;
    # #72716 for the RUNNING variant). Let the job come up only once the scheduler has seen the deferral.
    finished = re.compile(rf"TaskInstance Finished: dag_id={dag_id}, task_id={task_id}, "
                          rf"run_id={re.escape(run.run_id)}, .*state=deferred")
    wait_for(lambda: finished.search(airflow.logs("scheduler")), 60, f"the scheduler processed {task_id}'s deferral",
             diagnose=airflow.tail)
    return run, rows


def assert_no_credentials(rows: list[dict], cluster: SimulatedCluster) -> None:
    """The stored trigger kwargs name the connection, never what it holds."""
    kubeconfig = cluster.kubeconfig()
    token = kubeconfig["users"][0]["user"]["token"]
    server = kubeconfig["clusters"][0]["cluster"]["server"]
    assert rows
    for row in rows:
        kwargs = json.loads(row["kwargs"])  # decrypted with the deployment's Fernet key
        assert "kubernetes_default" in row["kwargs"], kwargs  # the connection travels by id ...
        for secret in (token, server, json.dumps(kubeconfig), "kube_config", "Bearer"):
            assert secret not in row["kwargs"] and secret not in row["stored"], (secret, kwargs)  # ... not by value


def assert_deferred_then(run: Run, task_id: str, final: str) -> None:
    """The REST API showed the task DEFERRED, and later in ``final`` (the states between are too brief
    to be sure a poll sees them)."""
    seen = run.seen[task_id]
    assert "deferred" in seen and seen[-1] == final and seen.index("deferred") < len(seen) - 1, seen


def assert_every_task_waited_in_the_triggerer(run: Run, task_ids: list[str]) -> None:
    for task_id in task_ids:
        log = run.log(task_id)
        assert "Pausing task as DEFERRED" in log, f"{task_id} did not defer:\n{log[-3000:]}"
        assert "Trigger fired event" in log or "trigger completed" in log, f"{task_id}: no trigger ran:\n{log[-3000:]}"


def test_deferrable_deploy_then_savepoint(airflow, cluster):
    run, rows = deferred_with_operator_paused(airflow, cluster, "components_deploy_savepoint", "components-orders")
    assert_no_credentials(rows, cluster)
    cluster.operator.paused = False

    assert run.wait_finished() == "success", run.seen
    assert_deferred_then(run, "deploy", "success")
    assert run.poll() == {"deploy": "success", "savepoint": "success"}
    assert_every_task_waited_in_the_triggerer(run, ["deploy", "savepoint"])
    assert cluster.status("FlinkDeployment", "components-orders")["jobStatus"]["state"] == "RUNNING"
    snapshots = [s for s in cluster.list("FlinkStateSnapshot")
                 if s["spec"]["jobReference"]["name"] == "components-orders"]
    assert [s["status"]["state"] for s in snapshots] == ["COMPLETED"]


def test_deferrable_upgrade_suspend_resume_teardown(airflow, cluster):
    run, rows = deferred_with_operator_paused(airflow, cluster, "components_lifecycle", "components-clicks")
    assert_no_credentials(rows, cluster)
    cluster.operator.paused = False

    assert run.wait_finished() == "success", run.seen
    tasks = ["deploy", "upgrade", "suspend", "resume", "teardown"]
    assert run.poll() == dict.fromkeys(tasks, "success")
    assert_deferred_then(run, "deploy", "success")
    assert_every_task_waited_in_the_triggerer(run, tasks)
    assert cluster.get("FlinkDeployment", "components-clicks") is None  # torn down
    finals = [s for s in cluster.list("FlinkStateSnapshot") if s["metadata"]["name"].startswith("components-clicks-final")]
    assert len(finals) == 1 and finals[0]["status"]["state"] == "COMPLETED"


def test_a_failed_job_fails_the_deferred_task_with_the_operator_error(airflow, cluster):
    cluster.operator.behave("components-failing", fail_after=0)
    run, _ = deferred_with_operator_paused(airflow, cluster, "components_failing_job", "components-failing")
    cluster.operator.paused = False

    assert run.wait_finished() == "failed", run.seen
    assert run.poll() == {"deploy": "failed", "savepoint": "upstream_failed"}
    assert_deferred_then(run, "deploy", "failed")
    log = run.log("deploy")
    assert "Pausing task as DEFERRED" in log
    assert "Recovery is suppressed by FixedDelayRestartBackoffTimeStrategy" in log  # the operator's status.error


def test_a_deferred_task_survives_a_triggerer_restart(airflow, cluster):
    first = airflow.running("triggerer")
    run, rows = deferred_with_operator_paused(airflow, cluster, "components_triggerer_restart", "components-restart")
    assert_no_credentials(rows, cluster)
    (job_id,) = airflow.triggerer_job_ids()[-1:]
    # The triggerer has taken the trigger (and runs it) before it dies.
    wait_for(lambda: [r for r in trigger_rows_for(airflow, "components-restart") if r["triggerer_id"] == job_id],
             30, "the trigger assigned to the running triggerer", diagnose=airflow.tail)

    airflow.kill(first)  # SIGKILL to its process group and every descendant: no clean shutdown
    try:
        assert first.process.poll() is not None
        cluster.operator.paused = False  # the job comes up while no triggerer runs: its event is missed
        cluster.wait_for(lambda: cluster.status("FlinkDeployment", "components-restart").get("lifecycleState")
                         == "STABLE", timeout=60, what="the job running")
        assert run.poll()["deploy"] == "deferred"
    finally:
        second = airflow.start_triggerer()
    assert run.wait_finished() == "success", run.seen
    assert_deferred_then(run, "deploy", "success")
    new_job_ids = [i for i in airflow.triggerer_job_ids() if i > job_id]
    assert new_job_ids, "a second triggerer job registered"
    assert "Trigger fired event" in run.log("deploy")
    assert second.process.poll() is None


#: Triggerers a test froze on purpose (SIGSTOP): their event loop was blocked, by the test.
STALLED: list = []
STALL_DAG, EARLY, LATE = "components_triggerer_stall", "components-stall-early", "components-stall-late"


def start_another_triggerer(airflow: AirflowComponents) -> tuple[object, int]:
    """Start one more triggerer; return it and its ``job`` id, once it has registered."""
    before = max(airflow.triggerer_job_ids(), default=0)
    component = airflow.start_triggerer()
    job_id = wait_for(lambda: max((i for i in airflow.triggerer_job_ids() if i > before), default=None),
                      START_TIMEOUT, "the new triggerer registered", diagnose=airflow.tail)
    return component, job_id


def held_by(airflow: AirflowComponents, job_id: int, resources: tuple[str, ...]) -> bool:
    """Every trigger waiting for ``resources`` is assigned to triggerer job ``job_id``."""
    rows = [row for resource in resources for row in trigger_rows_for(airflow, resource)]
    return len(rows) == len(resources) and all(row["triggerer_id"] == job_id for row in rows)


def signal_tree(component, sig: int) -> list[int]:
    """Send ``sig`` to a component's process and every descendant (a triggerer's runner subprocess too)."""
    pids = component.tree()
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass
    return pids


def fresh_stall_jobs(cluster: SimulatedCluster) -> None:
    """No job of an earlier run: each run creates both (generation 1) and defers."""
    hook = cluster.hook()
    for name in (EARLY, LATE):
        hook.delete("FlinkDeployment", name, wait=True, timeout=60, poll_interval=0.1)


def deferred_on(airflow: AirflowComponents, cluster: SimulatedCluster) -> tuple[Run, int]:
    """A run of the stall DAG whose two deploys are deferred, their deferrals processed, and their triggers
    held by the one running triggerer; the simulated operator stays paused. Returns the run and the
    triggerer's job id."""
    cluster.operator.paused = True
    run = Run(airflow, STALL_DAG)
    for task_id in ("deploy_early", "deploy_late"):
        run.wait_task(task_id, ("deferred",))
        wait_for(lambda t=task_id: airflow.deferral_processed(STALL_DAG, run.run_id, t), 60,
                 f"the scheduler processed {task_id}'s deferral", diagnose=airflow.tail)
    def holder() -> int | None:
        rows = [row for resource in (EARLY, LATE) for row in trigger_rows_for(airflow, resource)]
        ids = {row["triggerer_id"] for row in rows}
        return ids.pop() if len(rows) == 2 and len(ids) == 1 and None not in ids else None

    job_id = wait_for(holder, 60, "both triggers held by the running triggerer", diagnose=airflow.tail)
    return run, job_id


def assert_never_suspended_and_no_retry(airflow: AirflowComponents, cluster: SimulatedCluster, run: Run) -> None:
    """Both jobs run on the spec the tasks applied (a suspend would have made generation 2, a retry's
    re-apply a generation 3), and neither task needed a second try."""
    for name in (EARLY, LATE):
        obj = cluster.get("FlinkDeployment", name)
        assert obj["spec"]["job"].get("state", "running") == "running", (name, obj["spec"]["job"])
        assert obj["metadata"]["generation"] == 1, (name, obj["metadata"])
        assert obj["status"]["jobStatus"]["state"] == "RUNNING", (name, obj["status"])
    answer = airflow.api("GET", f"/dags/{STALL_DAG}/dagRuns/{run.run_id}/taskInstances")
    assert {ti["task_id"]: (ti["state"], ti["try_number"]) for ti in answer["task_instances"]} == {
        "deploy_early": ("success", 1), "deploy_late": ("success", 1)}
    for task_id in ("deploy_early", "deploy_late"):
        assert "Task killed: suspending" not in run.log(task_id)


def test_a_killed_triggerers_deferred_deploys_move_to_the_other_triggerer(airflow, cluster):
    """Two triggerers; the one holding the deferred deploys dies (SIGKILL); the other takes them over."""
    fresh_stall_jobs(cluster)
    first = airflow.running("triggerer")
    run, first_job = deferred_on(airflow, cluster)
    second, second_job = start_another_triggerer(airflow)

    airflow.kill(first)  # SIGKILL to its process group and every descendant: no clean shutdown, no on_kill
    wait_for(lambda: held_by(airflow, second_job, (EARLY, LATE)), RUN_TIMEOUT,
             "both triggers taken over by the second triggerer", diagnose=airflow.tail)
    cluster.operator.paused = False

    assert run.wait_finished() == "success", run.seen
    assert_never_suspended_and_no_retry(airflow, cluster, run)
    for task_id in ("deploy_early", "deploy_late"):
        assert_deferred_then(run, task_id, "success")
        assert f".log.trigger.{second_job}.log" in " ".join(
            str(p) for p in (airflow.home / "logs").glob(f"dag_id={STALL_DAG}/run_id={run.run_id}/task_id={task_id}/*"))
    assert first_job != second_job


def test_a_stalled_triggerer_that_resumes_suspends_no_job(airflow, cluster):
    """#23 item 1. The triggerer holding two deferred deploys (``on_kill_action="suspend"``) freezes (SIGSTOP)
    past ``triggerer_health_check_threshold``; the other takes both triggers; one job comes up and its task
    succeeds on the other's event while the first is still frozen; then it resumes (SIGCONT). Airflow 3.3.2
    cancels both triggers there "by user action" and calls their ``on_kill``: neither job may be suspended."""
    fresh_stall_jobs(cluster)
    cluster.operator.behave(LATE, pickup_delay=1e9)  # the second job waits until the stalled triggerer is back
    stalled = airflow.running("triggerer")
    run, stalled_job = deferred_on(airflow, cluster)
    other, other_job = start_another_triggerer(airflow)

    STALLED.append(stalled)
    frozen = signal_tree(stalled, signal.SIGSTOP)
    try:
        wait_for(lambda: held_by(airflow, other_job, (EARLY, LATE)), RUN_TIMEOUT,
                 "both triggers handed to the other triggerer", diagnose=airflow.tail)
        cluster.operator.paused = False
        run.wait_task("deploy_early", ("success",))  # resumed by the other triggerer's event, and done
        assert run.poll()["deploy_late"] == "deferred"
    finally:
        for pid in frozen:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass

    # The resumed triggerer finds both triggers gone from its list and cancels them "by user action".
    def stalled_trigger_log(task_id: str) -> str:
        folder = airflow.home / "logs" / f"dag_id={STALL_DAG}" / f"run_id={run.run_id}" / f"task_id={task_id}"
        return "\n".join(p.read_text(errors="replace") for p in folder.glob(f"*.log.trigger.{stalled_job}.log"))

    def trigger_logs_seen() -> str:
        folder = airflow.home / "logs" / f"dag_id={STALL_DAG}" / f"run_id={run.run_id}"
        return "\n".join(f"--- {p}\n{p.read_text(errors='replace')[-2000:]}" for p in sorted(folder.glob("*/*")))

    # Its decision may be logged after the trigger ended (Airflow repeats the cancellation while on_kill runs;
    # the decision goes on in a task of its own): in the trigger's log file, or the triggerer's own.
    def decision(name: str) -> str | None:
        for text in (stalled_trigger_log("deploy_early") + stalled_trigger_log("deploy_late"), stalled.log.read_text()):
            for line in text.splitlines():
                if f"not applying on_kill_action=suspend to FlinkDeployment default/{name}:" in line:
                    return line
        return None

    late = wait_for(lambda: decision(LATE), RUN_TIMEOUT, f"the resumed triggerer (job {stalled_job}) decided about "
                    f"{LATE}", diagnose=lambda: trigger_logs_seen() + airflow.tail())
    assert "still deferred" in late, late  # its job is held: its trigger can only have been cancelled
    assert "Trigger cancelled by user action, invoking on_kill" in stalled_trigger_log("deploy_late")
    # The first job runs: the stalled triggerer's watch may see that before the cancellation comes, and fire an
    # event Airflow ignores (the task is no longer deferred on it); or it is cancelled, and decides as above.
    wait_for(lambda: "Trigger fired event" in stalled_trigger_log("deploy_early") or decision(EARLY), RUN_TIMEOUT,
             f"the resumed triggerer's trigger for {EARLY} ended", diagnose=lambda: trigger_logs_seen() + airflow.tail())
    early = decision(EARLY)
    assert early is None or "after it resumed from this deferral" in early, early

    cluster.operator.behave(LATE, pickup_delay=0)
    assert run.wait_finished() == "success", run.seen
    assert_never_suspended_and_no_retry(airflow, cluster, run)
    assert f".log.trigger.{other_job}.log" in " ".join(
        str(p) for p in (airflow.home / "logs").glob(f"dag_id={STALL_DAG}/run_id={run.run_id}/task_id=deploy_late/*"))
    airflow.kill(stalled)  # one triggerer again, as the module started with


def test_a_relative_config_file_is_found_next_to_the_dag_file(airflow, cluster):
    """#23 item 2: ``config_file="kubeconfig.yaml"`` (no connection) next to the DAG file; the scheduler, its
    workers and the triggerer run in another directory. The blocking and the deferred deploy both reach the
    cluster, and the trigger row names the absolute path."""
    run, _ = deferred_with_operator_paused(airflow, cluster, "components_config_file", "components-cfgfile-deferred",
                                           task_id="deploy_deferred")
    (row,) = trigger_rows_for(airflow, "components-cfgfile-deferred")
    assert json.dumps(str(airflow.dags_folder / "kubeconfig.yaml")) in row["kwargs"]  # absolute, as stored
    assert '"kubeconfig.yaml"' not in row["kwargs"]
    cluster.operator.paused = False
    assert run.wait_finished() == "success", run.seen
    assert run.poll() == {"deploy_blocking": "success", "deploy_deferred": "success"}
    for name in ("components-cfgfile-blocking", "components-cfgfile-deferred"):
        assert cluster.status("FlinkDeployment", name)["jobStatus"]["state"] == "RUNNING"


def test_the_triggerer_event_loop_is_never_blocked(airflow, cluster):
    """No event-loop callback of any triggerer of this module (but the one a test froze on purpose) spent 0.2 s
    of CPU on the loop's thread: the threshold of Airflow's blocked-loop warning, judged in CPU time."""
    if not airflow.trigger_logs():  # run alone: give it work
        run = Run(airflow, "components_deploy_savepoint")
        assert run.wait_finished() == "success", run.seen
    assert any("Trigger fired event" in text for text in airflow.trigger_logs())
    log = "".join(c.log.read_text(errors="replace") for c in airflow.components
                  if c.name == "triggerer" and c not in STALLED)
    # The monitor ran in the trigger runner (a child of the triggerer process), not only where it was installed.
    tops = {c.process.pid for c in airflow.components}
    active = {int(pid) for pid in re.findall(r"LOOP CALLBACK CPU monitor active in pid (\d+)", log)}
    assert active - tops, f"the loop monitor never ran in a trigger runner: {sorted(active)}"
    # Judged by CPU time on the loop's thread (the instrumentation in SETTINGS): Airflow's warning
    # (BLOCKED_LOOP_WARNING) is wall-clock time and only shown, for the reader of a failure.
    blocked = [line for line in log.splitlines() if "LOOP CALLBACK CPU" in line and "monitor active" not in line]
    wall = [line for line in log.splitlines() if BLOCKED_LOOP_WARNING in line
            or re.search(r"Executing <.*> took [0-9.]+ seconds", line)]
    assert blocked == [], "\n".join([*blocked, "Airflow's wall-clock warnings:", *wall])
