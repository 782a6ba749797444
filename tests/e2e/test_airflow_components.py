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
import re
from pathlib import Path

import pytest

from airflow_flink_operator.testing import SimulatedCluster

from airflow_components import BLOCKED_LOOP_WARNING, AirflowComponents, wait_for

DAGS = Path(__file__).resolve().parent / "components_dags"
DAG_IDS = ("components_deploy_savepoint", "components_lifecycle", "components_failing_job",
           "components_triggerer_restart")
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
"""


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
    components = AirflowComponents(home, DAGS, cluster.airflow_connection_env())
    try:
        components.migrate()
        components.start_all()
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


def test_the_triggerer_event_loop_is_never_blocked(airflow, cluster):
    """Every triggerer process of this module ran triggers without the blocked-loop warning."""
    if not airflow.trigger_logs():  # run alone: give it work
        run = Run(airflow, "components_deploy_savepoint")
        assert run.wait_finished() == "success", run.seen
    assert any("Trigger fired event" in text for text in airflow.trigger_logs())
    log = airflow.logs("triggerer")
    blocked = [line for line in log.splitlines() if BLOCKED_LOOP_WARNING in line]
    slow = [line for line in log.splitlines() if re.search(r"Executing <.*> took [0-9.]+ seconds", line)]
    assert blocked == [], "\n".join([*blocked, "asyncio's slow callbacks:", *slow])
