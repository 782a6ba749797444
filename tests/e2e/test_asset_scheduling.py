"""The asset pair of example DAGs through Airflow's real asset scheduling.

``flink_savepoint_producer`` runs on a real scheduler (LocalExecutor), its deferred tasks in a real
triggerer; its savepoint task's outlet event reaches the metadata database through the execution API;
the scheduler then creates ``flink_replay_from_savepoint``'s asset-triggered run by itself, and that
run deploys the replay job from the path the event carries. ``dag.test()`` would show none of this:
it never creates an asset-triggered run.

The example files are run as shipped, copied into this deployment's DAGs folder with one change:
the producer's ``@hourly`` schedule is switched off, so that only the run this test starts produces a
savepoint (a scheduled run at the top of the hour would trigger a second replay).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_flink_operator.assets import EVENT_JOB_FINISHED, EVENT_SAVEPOINT_COMPLETED, savepoint_asset_uri
from airflow_flink_operator.demo import EXAMPLES
from airflow_flink_operator.testing import SimulatedCluster

from airflow_components import AirflowComponents, follow_run, wait_for

PRODUCER, CONSUMER = "flink_savepoint_producer", "flink_replay_from_savepoint"
JOB, REPLAY = "payments-ledger", "payments-ledger-replay"
#: Generous bounds for a loaded 2-core machine; every wait ends at its event.
START_TIMEOUT = 120.0
RUN_TIMEOUT = 300.0
SETTINGS = """\
import sys

from airflow_flink_operator.parsing import preload

preload()
if sys.argv[1:2] == ["triggerer"]:
    from airflow_flink_operator.triggers import preload as preload_triggers

    preload_triggers()
"""


def copy_examples(folder: Path) -> None:
    folder.mkdir()
    producer = (EXAMPLES / f"{PRODUCER}.py").read_text()
    assert producer.count('schedule="@hourly",') == 1
    (folder / f"{PRODUCER}.py").write_text(producer.replace('schedule="@hourly",', "schedule=None,"))
    (folder / f"{CONSUMER}.py").write_text((EXAMPLES / f"{CONSUMER}.py").read_text())


@pytest.fixture(scope="module")
def cluster():
    cluster = SimulatedCluster().start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def airflow(cluster, tmp_path_factory):
    home = tmp_path_factory.mktemp("airflow-assets")
    (home / "config").mkdir()
    (home / "config" / "airflow_local_settings.py").write_text(SETTINGS)
    copy_examples(home / "dags")
    components = AirflowComponents(home, home / "dags",
                                   {**cluster.airflow_connection_env(), "FLINK_NAMESPACE": cluster.namespace})
    try:
        components.migrate()
        components.start_all()
        wait_for(components.jobs_alive, START_TIMEOUT, "scheduler, triggerer and DAG processor healthy",
                 diagnose=components.tail)
        for dag_id in (PRODUCER, CONSUMER):
            wait_for(lambda: components.dag_parsed(dag_id), START_TIMEOUT, f"DAG {dag_id} parsed",
                     diagnose=components.tail)
        yield components
    finally:
        components.stop_all()


@pytest.fixture(autouse=True)
def operator_reconciling_after_each_test(cluster):
    yield
    cluster.operator.paused = False


def finished(airflow: AirflowComponents, cluster: SimulatedCluster, dag_id: str, run_id: str) -> str:
    """Follow the run to its end. The simulated Flink operator moves only while every deferred task's
    deferral has reached the scheduler (Airflow 3.3.2 fails a task whose trigger fires earlier,
    apache/airflow#67287), as in test_airflow_components."""
    try:
        return follow_run(airflow, dag_id, run_id, timeout=RUN_TIMEOUT,
                          hold=lambda held: setattr(cluster.operator, "paused", held))
    except TimeoutError as exc:
        raise TimeoutError(f"{exc}\n{airflow.tail()}") from None


def test_a_new_savepoint_triggers_the_replay_from_that_savepoint(airflow, cluster):
    cluster.behave(REPLAY, bounded=0.3)  # the replay catches up and FINISHES (the example's SIMULATION)

    producer_run = airflow.trigger_dag(PRODUCER)
    assert finished(airflow, cluster, PRODUCER, producer_run) == "success", airflow.task_states(PRODUCER, producer_run)
    path = airflow.xcom(PRODUCER, producer_run, "savepoint")["savepoint_path"]
    snapshots = {s["metadata"]["name"]: s["status"]["path"] for s in cluster.list("FlinkStateSnapshot")
                 if s["spec"]["jobReference"]["name"] == JOB}
    assert list(snapshots.values()) == [path]

    # The scheduler creates the replay's run from the producer's event, on its own.
    cluster.operator.paused = True  # until follow_run has the replay's deferral in hand
    (consumer_run,) = wait_for(lambda: airflow.dag_runs(CONSUMER, "asset_triggered"), RUN_TIMEOUT,
                               f"the scheduler created an asset-triggered run of {CONSUMER}", interval=0.5,
                               diagnose=airflow.tail)
    run_id = consumer_run["dag_run_id"]
    assert finished(airflow, cluster, CONSUMER, run_id) == "success", airflow.task_states(CONSUMER, run_id)
    assert set(airflow.task_states(CONSUMER, run_id).values()) == {"success"}
    assert airflow.dag_runs(CONSUMER, "manual") == []

    # The event Airflow recorded for the savepoint asset carries the path, and it is what triggered the
    # replay. (Asked only now: Airflow 3.3 answers 500 for an event whose run has not started yet,
    # apache/airflow#71360.)
    (event,) = airflow.asset_events(source_dag_id=PRODUCER, source_run_id=producer_run)
    assert event["uri"] == savepoint_asset_uri(JOB, cluster.namespace)
    assert event["extra"] == {"event": EVENT_SAVEPOINT_COMPLETED, "job": JOB, "namespace": cluster.namespace,
                              "resource_kind": "FlinkDeployment", "savepoint_path": path, "trigger_type": "MANUAL",
                              "snapshot": next(iter(snapshots))}
    assert [e["id"] for e in airflow.upstream_asset_events(CONSUMER, run_id)] == [event["id"]]
    assert [r["run_id"] for r in event["created_dagruns"]] == [run_id]

    # The replay job started from the savepoint the event handed over, and ran to its end.
    replay = cluster.get("FlinkDeployment", REPLAY)
    assert replay["spec"]["job"]["initialSavepointPath"] == path
    assert replay["status"]["jobStatus"]["state"] == "FINISHED"
    assert airflow.xcom(CONSUMER, run_id, "savepoint_to_replay") == path
    (done,) = airflow.asset_events(source_dag_id=CONSUMER, source_run_id=run_id)
    assert done["extra"]["event"] == EVENT_JOB_FINISHED
    assert done["extra"]["job_id"] == replay["status"]["jobStatus"]["jobId"]


def test_no_task_is_handed_to_a_worker_before_the_api_server_answers(tmp_path, monkeypatch):
    """Issue 23 item 3: the asset-triggered run exists before Airflow starts (the producer's event queued it),
    so the scheduler hands its tasks to workers at once; a worker's first call goes to the execution API,
    and one made while the api-server is still starting failed the task while it was queued."""
    components = AirflowComponents(tmp_path, tmp_path / "dags")
    started, answering = [], iter([False, False, True])
    monkeypatch.setattr(AirflowComponents, "start", lambda self, name, *args, **kwargs: started.append(name))
    monkeypatch.setattr(AirflowComponents, "api_up", lambda self: started.append("api answers?") or next(answering))
    components.start_all(dag_processor=False, bytecode=False)
    assert started[0] == "api-server" and started.index("scheduler") > max(
        i for i, step in enumerate(started) if step == "api answers?")
    assert started.count("api answers?") == 3
    assert components.environment["AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT"] == "60"
