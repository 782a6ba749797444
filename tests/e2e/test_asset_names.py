"""Both spellings of a savepoint asset in one real Airflow: ``savepoint_asset(...)`` and a hand-written
``Asset("flink-savepoint://...")`` are the same asset, and a ``cluster=`` makes another one.

Airflow requires an asset's name *and* URI each to be unique among active assets (the DAG processor
creates an ``AssetModel`` per ``(name, uri)``; the scheduler activates one per name and per URI and leaves
the others inactive with a DAG warning, ``SchedulerJobRunner._activate_referenced_assets``). So the two
spellings must agree on the name too, which ``savepoint_asset`` does by taking the URI as the name.

A real DAG processor parses the DAGs, a real scheduler (LocalExecutor) runs the producer and creates the
asset-triggered runs: the DAG scheduled on each spelling runs from the one event; the DAG scheduled on
the same job of another cluster does not.
"""

from __future__ import annotations

import urllib.error

import pytest

from airflow_flink_operator.assets import EVENT_SAVEPOINT_COMPLETED, savepoint_asset_uri

from airflow_components import AirflowComponents, follow_run, wait_for

PRODUCER, BY_HELPER, BY_HAND, OTHER_CLUSTER = ("names_producer", "names_by_helper", "names_by_hand",
                                               "names_other_cluster")
#: Generous bounds for a loaded 2-core machine; every wait ends at its event.
START_TIMEOUT = 180.0
RUN_TIMEOUT = 300.0
SAVEPOINT = "s3://flink-state/payments-ledger/savepoint-1"

DAGS = f'''
from datetime import datetime

from airflow.sdk import DAG, Asset, task

from airflow_flink_operator.assets import record_savepoint, savepoint_asset

LEDGER = savepoint_asset("payments-ledger", "default")
BY_HAND = Asset("flink-savepoint://default/payments-ledger")
EU_LEDGER = savepoint_asset("payments-ledger", "default", cluster="eu-west")
START = datetime(2026, 1, 1)

with DAG({PRODUCER!r}, start_date=START, schedule=None):
    @task(outlets=[LEDGER])
    def savepoint(**context):
        record_savepoint(context, [LEDGER], savepoint_path={SAVEPOINT!r}, job="payments-ledger",
                         namespace="default", snapshot="payments-ledger-savepoint-1")

    savepoint()

for dag_id, asset in (({BY_HELPER!r}, LEDGER), ({BY_HAND!r}, BY_HAND), ({OTHER_CLUSTER!r}, EU_LEDGER)):
    with DAG(dag_id, start_date=START, schedule=[asset]):
        @task
        def replay():
            return "replayed"

        replay()
'''


@pytest.fixture(scope="module")
def airflow(tmp_path_factory):
    home = tmp_path_factory.mktemp("airflow-asset-names")
    (home / "dags").mkdir()
    (home / "dags" / "asset_names.py").write_text(DAGS)
    components = AirflowComponents(home, home / "dags")
    try:
        components.migrate()
        components.start_all()
        wait_for(components.jobs_alive, START_TIMEOUT, "scheduler, triggerer and DAG processor healthy",
                 diagnose=components.tail)
        for dag_id in (PRODUCER, BY_HELPER, BY_HAND, OTHER_CLUSTER):
            wait_for(lambda: components.dag_parsed(dag_id), START_TIMEOUT, f"DAG {dag_id} parsed",
                     diagnose=components.tail)
        yield components
    finally:
        components.stop_all()


def savepoint_assets(airflow: AirflowComponents, only_active: bool) -> list[dict]:
    answer = airflow.api("GET", "/assets?uri_prefix_pattern=flink-savepoint&limit=100"
                                f"&only_active={str(only_active).lower()}")
    return answer["assets"]


def test_both_spellings_are_one_asset_and_another_cluster_is_another(airflow: AirflowComponents):
    default_uri = savepoint_asset_uri("payments-ledger", "default")
    eu_uri = savepoint_asset_uri("payments-ledger", "default", cluster="eu-west")
    assert (default_uri, eu_uri) == ("flink-savepoint://default/payments-ledger",
                                     "flink-savepoint://eu-west/default/payments-ledger")

    # Every asset the DAG processor stored, active or not: one per job and cluster, its name its URI.
    stored = savepoint_assets(airflow, only_active=False)
    assert sorted((a["name"], a["uri"]) for a in stored) == [(default_uri, default_uri), (eu_uri, eu_uri)]
    by_uri = {a["uri"]: a for a in stored}
    assert {d["dag_id"] for d in by_uri[default_uri]["scheduled_dags"]} == {BY_HELPER, BY_HAND}
    assert {d["dag_id"] for d in by_uri[eu_uri]["scheduled_dags"]} == {OTHER_CLUSTER}

    run_id = airflow.trigger_dag(PRODUCER)
    assert follow_run(airflow, PRODUCER, run_id, timeout=RUN_TIMEOUT) == "success", \
        airflow.task_states(PRODUCER, run_id)

    def producer_events():
        try:
            return airflow.asset_events(source_dag_id=PRODUCER, source_run_id=run_id)
        except urllib.error.HTTPError as err:  # apache/airflow#71360: Airflow 3.3 answers 500 while a run the
            if err.code == 500:               # event created is queued and not started yet: ask again then
                return None
            raise

    (event,) = wait_for(producer_events, RUN_TIMEOUT, "the producer's asset event, as the REST API lists it",
                        interval=0.5, diagnose=airflow.tail)
    assert event["uri"] == default_uri
    assert event["extra"]["event"] == EVENT_SAVEPOINT_COMPLETED
    assert event["extra"]["resource_kind"] == "FlinkDeployment" and "job_kind" not in event["extra"]

    # The scheduler creates a run of the DAG scheduled on each spelling, from the one event.
    for dag_id in (BY_HELPER, BY_HAND):
        (run,) = wait_for(lambda: airflow.dag_runs(dag_id, "asset_triggered"), RUN_TIMEOUT,
                          f"the scheduler created an asset-triggered run of {dag_id}", interval=0.5,
                          diagnose=airflow.tail)
        assert [e["id"] for e in airflow.upstream_asset_events(dag_id, run["dag_run_id"])] == [event["id"]]
    # The same job on another cluster got no event (so its DAG has nothing to run on).
    assert airflow.asset_events(asset_id=by_uri[eu_uri]["id"]) == []
    assert airflow.dag_runs(OTHER_CLUSTER) == []

    # Both assets are active, and the scheduler's activation pass (which ran before it queued the runs)
    # left no warning about an asset name or URI in use twice.
    assert sorted(a["uri"] for a in savepoint_assets(airflow, only_active=True)) == sorted([default_uri, eu_uri])
    warnings = airflow.api("GET", "/dagWarnings?limit=100")["dag_warnings"]
    assert [w for w in warnings if w["dag_id"] in (BY_HELPER, BY_HAND, OTHER_CLUSTER, PRODUCER)] == []

