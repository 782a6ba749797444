"""Assets: the savepoint asset Airflow accepts as it is, and the asset events the operators emit.

The operator tests run DAGs through ``dag.test()`` in a fresh Airflow home against the simulated
cluster, deferrals included: each task's outlet events go through the Task SDK and Airflow's
execution API into the metadata database, where these tests read them, as the scheduler does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from airflow_flink_operator.assets import (
    EVENT_DEPLOYMENT_UPGRADED,
    EVENT_JOB_FINISHED,
    EVENT_SAVEPOINT_COMPLETED,
    convert_savepoint_asset_to_openlineage,
    normalize_savepoint_uri,
    parse_savepoint_uri,
    record_savepoint,
    record_upgrade,
    redact_uri,
    resource_kind_of,
    savepoint_asset,
    savepoint_asset_uri,
    savepoint_path_from,
)

SAVEPOINT_KEYS = {"event", "job", "namespace", "resource_kind", "savepoint_path", "trigger_type", "snapshot"}
FINISHED_KEYS = {"event", "job", "namespace", "resource_kind", "job_id", "job_state", "start_time", "end_time",
                 "generation"}
UPGRADED_KEYS = {"event", "job", "namespace", "resource_kind", "generation", "restored_from", "safety_savepoint_path",
                 "job_id"}


# --- the asset ------------------------------------------------------------------------------


def test_savepoint_asset_names_the_job_and_airflow_keeps_its_uri_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        asset = savepoint_asset("orders-revenue", namespace="flink-jobs")
    assert asset.uri == "flink-savepoint://flink-jobs/orders-revenue"
    assert asset.group == "flink-savepoint"
    assert savepoint_asset("orders-revenue", namespace="flink-jobs") == asset  # producer and consumer agree


def test_the_savepoint_asset_is_named_as_a_hand_written_asset_of_its_uri():
    """Airflow requires names and URIs unique among active assets: ``Asset(uri)`` is named by its URI, so the
    helper must be too, or one of the two spellings stays inactive (tests/e2e/test_asset_names.py)."""
    from airflow.sdk import Asset

    for asset, hand in ((savepoint_asset("orders", "flink-jobs"), Asset("flink-savepoint://flink-jobs/orders")),
                        (savepoint_asset("orders", "flink-jobs", cluster="eu-west"),
                         Asset("flink-savepoint://eu-west/flink-jobs/orders"))):
        assert (asset.name, asset.uri) == (hand.name, hand.uri) == (hand.uri, hand.uri)


def test_a_cluster_makes_the_same_job_on_two_clusters_two_assets():
    eu, us = savepoint_asset("payments-ledger", cluster="eu-west"), savepoint_asset("payments-ledger", cluster="us_k8s")
    assert (eu.uri, us.uri) == ("flink-savepoint://eu-west/default/payments-ledger",
                                "flink-savepoint://us_k8s/default/payments-ledger")
    assert savepoint_asset("payments-ledger").uri == "flink-savepoint://default/payments-ledger"  # no cluster named
    assert parse_savepoint_uri(eu.uri) == ("eu-west", "default", "payments-ledger")
    assert parse_savepoint_uri("flink-savepoint://default/payments-ledger") == (None, "default", "payments-ledger")
    for bad in ("EU", "eu west", "eu:1", "a@b", "-eu"):
        with pytest.raises(ValueError, match="not a cluster label"):
            savepoint_asset_uri("payments-ledger", cluster=bad)


def test_a_consumer_of_the_one_cluster_form_reads_events_as_before():
    """URIs and extras written before ``cluster=`` and ``resource_kind`` existed are still read."""
    from airflow.sdk import Asset

    old = Asset(uri="flink-savepoint://default/orders", name="flink-savepoint/default/orders",
                group="flink-savepoint")
    t0 = datetime(2026, 11, 27, 3, 0, tzinfo=timezone.utc)
    old_extra = {"event": EVENT_SAVEPOINT_COMPLETED, "job": "orders", "namespace": "default",
                 "job_kind": "FlinkDeployment", "savepoint_path": "s3://b/orders/sp-1"}
    assert savepoint_path_from(triggering((old, old_extra, t0)), old) == "s3://b/orders/sp-1"
    assert resource_kind_of(old_extra) == "FlinkDeployment"
    assert resource_kind_of({"resource_kind": "FlinkSessionJob"}) == "FlinkSessionJob"


def test_resource_kind_is_the_kubernetes_kind_and_job_kind_is_no_longer_written():
    """``job_kind`` meant FlinkDeployment here and jar/sql in the OpenLineage facet: one word, one meaning."""
    context = outlet_context()
    extra = record_savepoint(context, [savepoint_asset("top-pages")], savepoint_path="s3://b/sp", job="top-pages",
                             namespace="default", resource_kind="FlinkSessionJob")
    assert extra["resource_kind"] == "FlinkSessionJob" and "job_kind" not in extra
    # A caller still passing the old keyword gets the new key.
    extra = record_upgrade(outlet_context(), [savepoint_asset("top-pages")], job="top-pages", namespace="default",
                           generation=2, job_kind="FlinkSessionJob")
    assert extra["resource_kind"] == "FlinkSessionJob" and "job_kind" not in extra


def test_the_openlineage_converter_names_the_cluster_as_the_namespace():
    ds = convert_savepoint_asset_to_openlineage(savepoint_asset("orders", "flink-jobs", cluster="eu-west"), None)
    assert (ds.namespace, ds.name) == ("flink-savepoint://eu-west", "flink-jobs/orders")
    ds = convert_savepoint_asset_to_openlineage(savepoint_asset("orders", "flink-jobs"), None)
    assert (ds.namespace, ds.name) == ("flink-savepoint", "flink-jobs/orders")


@pytest.mark.parametrize("name, namespace", [("Orders", "default"), ("orders", "flink_jobs"), ("", "default"),
                                             ("orders/x", "default")])
def test_savepoint_asset_refuses_what_names_no_kubernetes_resource(name, namespace):
    with pytest.raises(ValueError, match="not a Kubernetes"):
        savepoint_asset(name, namespace=namespace)


def test_the_uri_handler_checks_hand_written_savepoint_uris():
    from urllib.parse import urlsplit

    assert normalize_savepoint_uri(urlsplit("flink-savepoint://default/orders")).path == "/orders"
    assert normalize_savepoint_uri(urlsplit("flink-savepoint://eu-west/default/orders")).path == "/default/orders"
    for bad in ("flink-savepoint://default/a/b/c", "flink-savepoint://default/orders?x=1", "flink-savepoint://Default/o",
                "flink-savepoint://eu/Default/o", "flink-savepoint://u:p@eu/default/o"):
        with pytest.raises(ValueError):
            normalize_savepoint_uri(urlsplit(bad))


def test_airflow_checks_hand_written_savepoint_uris_with_the_providers_handler():
    code = ("from airflow.sdk import Asset\n"
            "Asset(uri='flink-savepoint://default/orders', name='ok')\n"
            "try:\n    Asset(uri='flink-savepoint://default/a/b/c', name='bad')\nexcept ValueError as e:\n    print(e)\n")
    import airflow_flink_operator

    schemes = [s for u in airflow_flink_operator.get_provider_info().get("asset-uris", []) for s in u["schemes"]]
    if "flink-savepoint" not in schemes:
        pytest.skip("get_provider_info() does not register the flink-savepoint URI handler (asset-uris)")
    out = subprocess.run([sys.executable, "-W", "error::UserWarning", "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert "a flink-savepoint URI is flink-savepoint://[<cluster>/]<namespace>/<name>" in out


#: Savepoint paths whose credentials hold ``/``, ``:``, ``@`` and percent-escapes, and the secret parts.
SECRET_PATHS = [
    ("s3://AKIAEXAMPLE:wJalr/K7MDENG:bPx@flink-state/sp/savepoint-1", ("AKIAEXAMPLE", "wJalr", "K7MDENG", "bPx")),
    ("s3a://etl:p@ss@flink-state/sp/savepoint-1", ("etl", "p@ss")),
    ("s3://etl:p%40ss%2Fw%3Ard@flink-state/sp/savepoint-1", ("etl:", "p%40ss", "w%3Ard", "p@ss/w:rd")),
    ("gs://svc:to/k:en%2F@flink-state/sp/savepoint-1", ("svc", "to/k", "en%2F")),
]


@pytest.mark.parametrize("path, secrets", SECRET_PATHS)
def test_credentials_with_slashes_colons_and_escapes_never_reach_an_asset_extra(path, secrets):
    context = outlet_context()
    extras = [
        record_savepoint(context, [savepoint_asset("orders")], savepoint_path=path, job="orders", namespace="default"),
        record_upgrade(outlet_context(), [savepoint_asset("orders")], job="orders", namespace="default", generation=2,
                       restored_from=path, safety_savepoint_path=path),
    ]
    text = json.dumps(extras)
    assert "flink-state/sp/savepoint-1" in text
    for secret in secrets:
        assert secret not in text, secret


def test_credentials_in_a_savepoint_uri_never_reach_an_event():
    assert redact_uri("s3://key:secret@bucket/savepoints/sp-1") == "s3://bucket/savepoints/sp-1"
    assert redact_uri("s3://bucket/savepoints/sp-1") == "s3://bucket/savepoints/sp-1"
    assert redact_uri("file:///tmp/sp@1") == "file:///tmp/sp@1"


# --- recording onto outlet events (the Task SDK's own accessors) ----------------------------


def outlet_context():
    from airflow.sdk.execution_time.context import OutletEventAccessors

    return {"outlet_events": OutletEventAccessors()}


def test_extra_goes_only_onto_declared_assets_and_keys_the_task_set_win():
    from airflow.sdk import Asset, AssetAlias

    context = outlet_context()
    own, table = savepoint_asset("orders"), Asset(uri="s3://warehouse/orders", name="orders-table")
    context["outlet_events"][table].extra = {"rows": 10, "job": "set-by-the-task"}
    extra = record_savepoint(context, [own, table, AssetAlias("any-orders")], savepoint_path="s3://b/sp-1",
                             job="orders", namespace="default", snapshot="orders-savepoint-1")
    assert set(extra) == SAVEPOINT_KEYS and extra["savepoint_path"] == "s3://b/sp-1"
    events = context["outlet_events"]
    assert events[own].extra == extra
    assert events[table].extra == {**extra, "rows": 10, "job": "set-by-the-task"}
    assert events[AssetAlias("any-orders")].asset_alias_events == []  # an alias gets no invented asset
    assert len(events) == 3


def test_without_outlets_nothing_is_recorded():
    context = outlet_context()
    assert record_savepoint(context, [], savepoint_path="s3://b/sp", job="orders", namespace="default") is None
    assert record_savepoint({}, [savepoint_asset("orders")], savepoint_path="s3://b/sp", job="orders",
                            namespace="default") is None
    assert len(context["outlet_events"]) == 0


def test_a_savepoint_asset_of_another_job_is_named_in_a_warning(caplog):
    context = outlet_context()
    with caplog.at_level("WARNING", logger="airflow_flink_operator.assets"):
        record_savepoint(context, [savepoint_asset("clicks")], savepoint_path="s3://b/sp", job="orders",
                         namespace="default")
    assert "flink-savepoint://default/clicks is the savepoint asset of another job" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="airflow_flink_operator.assets"):  # its own job, on a named cluster
        record_savepoint(context, [savepoint_asset("orders", cluster="eu-west")], savepoint_path="s3://b/sp",
                         job="orders", namespace="default")
    assert "another job" not in caplog.text


# --- reading the triggering event -----------------------------------------------------------


def triggering(*events):
    from airflow.sdk.execution_time.comms import AssetEventDagRunReferenceResult
    from airflow.sdk.execution_time.context import TriggeringAssetEventsAccessor

    refs = [AssetEventDagRunReferenceResult.model_validate(
        {"asset": {"name": asset.name, "uri": asset.uri, "extra": {}}, "extra": extra, "source_task_id": "savepoint",
         "source_dag_id": "producer", "source_run_id": "r", "source_map_index": -1, "source_aliases": [],
         "timestamp": at}) for asset, extra, at in events]
    return TriggeringAssetEventsAccessor.build(refs)


def test_the_consumer_reads_the_newest_savepoint_of_its_asset():
    orders, clicks = savepoint_asset("orders"), savepoint_asset("clicks")
    t0 = datetime(2026, 11, 27, 3, 0, tzinfo=timezone.utc)
    events = triggering(
        (orders, {"event": EVENT_SAVEPOINT_COMPLETED, "savepoint_path": "s3://b/orders/sp-2"}, t0 + timedelta(minutes=5)),
        (orders, {"event": EVENT_SAVEPOINT_COMPLETED, "savepoint_path": "s3://b/orders/sp-1"}, t0),
        (clicks, {"event": EVENT_SAVEPOINT_COMPLETED, "savepoint_path": "s3://b/clicks/sp-9"}, t0 + timedelta(hours=1)),
        (orders, {}, t0 + timedelta(hours=2)),  # an event without a savepoint (e.g. a manual asset event)
    )
    assert savepoint_path_from(events, orders) == "s3://b/orders/sp-2"
    assert savepoint_path_from(events) == "s3://b/clicks/sp-9"
    upgraded = triggering((orders, {"event": EVENT_DEPLOYMENT_UPGRADED, "restored_from": "s3://b/orders/up-1"}, t0))
    assert savepoint_path_from(upgraded, orders) == "s3://b/orders/up-1"


def test_a_run_not_triggered_by_a_savepoint_says_so():
    with pytest.raises(ValueError, match="not triggered by a savepoint of flink-savepoint://default/orders"):
        savepoint_path_from(triggering(), savepoint_asset("orders"))
    with pytest.raises(ValueError, match="not triggered by a savepoint"):
        savepoint_path_from(None)


# --- the operators, through dag.test() ------------------------------------------------------

DAGS = '''
from datetime import datetime

from airflow.sdk import DAG, Asset, AssetAlias

from airflow_flink_operator.artifacts import JarJob
from airflow_flink_operator.assets import savepoint_asset
from airflow_flink_operator.models import (
    Checkpointing, FlinkDeployment, FlinkDeploymentSpec, JobManagerSpec, Resource, Savepoints, TaskManagerSpec,
)
from airflow_flink_operator.operators import (
    FlinkDeploymentOperator, FlinkSavepointOperator, FlinkSuspendOperator, FlinkTeardownOperator, FlinkUpgradeOperator,
)


def job(name, upgrade_mode="savepoint"):
    return FlinkDeployment(name=name, spec=FlinkDeploymentSpec(
        image="flink:1.20", flink_version="v1_20", service_account="flink",
        job_manager=JobManagerSpec(resource=Resource(cpu=1, memory="1024m")),
        task_manager=TaskManagerSpec(resource=Resource(cpu=1, memory="1024m")),
        checkpointing=Checkpointing(interval="30 s", dir=f"s3://flink-state/{name}/checkpoints"),
        savepoints=Savepoints(dir=f"s3://flink-state/{name}/savepoints"),
        job=JarJob(jar_uri="local:///opt/flink/usrlib/job.jar", parallelism=1, upgrade_mode=upgrade_mode)))


TABLE = Asset(uri="s3://warehouse/orders-daily", name="orders-daily")
ARGS = {"deferrable": True, "timeout": 120, "poll_interval": 0.2}

with DAG("assets_savepoint", start_date=datetime(2026, 1, 1), schedule=None, default_args=ARGS) as savepoint_dag:
    (FlinkDeploymentOperator(task_id="deploy", deployment=job("orders"))
     >> FlinkSavepointOperator(task_id="savepoint", name="orders",
                               outlets=[savepoint_asset("orders"), AssetAlias("orders-any")])
     >> FlinkSavepointOperator(task_id="savepoint_blocking", name="orders", deferrable=False,
                               outlets=[savepoint_asset("orders")])
     >> FlinkSavepointOperator(task_id="savepoint_no_outlets", name="orders")
     >> FlinkSuspendOperator(task_id="suspend", name="orders", outlets=[savepoint_asset("orders")]))

with DAG("assets_finished", start_date=datetime(2026, 1, 1), schedule=None, default_args=ARGS) as finished_dag:
    FlinkDeploymentOperator(task_id="backfill", deployment=job("orders-backfill", "stateless"), wait_for="finished",
                            outlets=[TABLE])

with DAG("assets_upgrade", start_date=datetime(2026, 1, 1), schedule=None, default_args=ARGS) as upgrade_dag:
    (FlinkDeploymentOperator(task_id="deploy", deployment=job("clicks"), outlets=[TABLE])
     >> FlinkUpgradeOperator(task_id="upgrade", name="clicks", spec_patch={"image": "flink:1.20.1"},
                             upgrade_mode="savepoint", savepoint_first=True, outlets=[savepoint_asset("clicks")])
     >> FlinkTeardownOperator(task_id="teardown", name="clicks", outlets=[savepoint_asset("clicks")]))
'''

DRIVER = r'''
import json, sys
from pathlib import Path

from airflow_flink_operator.testing import SimulatedCluster

cluster = SimulatedCluster().start()
import os
os.environ.update(cluster.airflow_connection_env())
cluster.behave("orders-backfill", bounded=0.3)

import importlib.util
spec = importlib.util.spec_from_file_location("asset_dags", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
from airflow.models.asset import AssetEvent
from airflow.utils.session import create_session
from sqlalchemy import select

dags = {d.dag_id: d for d in vars(module).values() if type(d).__name__ == "DAG"}
result = {}
try:
    for dag_id in sys.argv[2:]:
        run = dags[dag_id].test()
        with create_session() as session:
            events = [{"uri": e.asset.uri, "task": e.source_task_id, "extra": e.extra}
                      for e in session.scalars(select(AssetEvent).where(AssetEvent.source_dag_id == dag_id)
                                               .order_by(AssetEvent.id))]
        result[dag_id] = {"state": str(getattr(run.state, "value", run.state)),
                          "tasks": {ti.task_id: str(getattr(ti.state, "value", ti.state)) for ti in run.get_task_instances()},
                          "events": events,
                          "snapshots": {s["metadata"]["name"]: (s.get("status") or {}).get("path")
                                        for s in cluster.list("FlinkStateSnapshot")},
                          "deployments": {d["metadata"]["name"]: d for d in cluster.list("FlinkDeployment")}}
finally:
    cluster.stop()
print("RESULT " + json.dumps(result, default=str), flush=True)
'''


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    """The three DAGs run once each, with dag.test(), in a fresh Airflow home."""
    tmp = tmp_path_factory.mktemp("assets")
    dags = tmp / "dags"
    dags.mkdir()
    (dags / "asset_dags.py").write_text(textwrap.dedent(DAGS))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(AIRFLOW_HOME=str(tmp / "home"), AIRFLOW__CORE__DAGS_FOLDER=str(dags),
               AIRFLOW__CORE__LOAD_EXAMPLES="False", AIRFLOW__LOGGING__LOGGING_LEVEL="INFO")
    migrate = subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], env=env, capture_output=True,
                             text=True, timeout=300, check=False)
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    result = subprocess.run([sys.executable, "-c", DRIVER, str(dags / "asset_dags.py"), "assets_savepoint",
                             "assets_finished", "assets_upgrade"], env=env, capture_output=True, text=True,
                            timeout=600, check=False)
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert result.returncode == 0 and lines, f"{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    found = json.loads(lines[-1].removeprefix("RESULT "))
    for dag_id, run in found.items():
        assert run["state"] == "success", (dag_id, run["tasks"], result.stdout[-3000:], result.stderr[-3000:])
    found["log"] = result.stdout + result.stderr
    return found


def deferred_in_dag_test(log: str, task_id: str) -> bool:
    """dag.test() ran a trigger for the task (it deferred, and finished in its continuation)."""
    start = log.index(f"[DAG TEST] starting task_id={task_id} ")
    return "[DAG TEST] running trigger in line" in log[start:log.index(f"[DAG TEST] end task task_id={task_id} ", start)]


def events_of(run: dict, task_id: str) -> dict[str, dict]:
    return {e["uri"]: e["extra"] for e in run["events"] if e["task"] == task_id}


def test_a_completed_savepoint_is_announced_with_its_path_deferred_or_not(runs):
    run = runs["assets_savepoint"]
    snapshots = run["snapshots"]
    assert deferred_in_dag_test(runs["log"], "savepoint") and not deferred_in_dag_test(runs["log"], "savepoint_blocking")
    for task_id in ("savepoint", "savepoint_blocking"):  # continued after a deferral / waited in the worker
        (extra,) = events_of(run, task_id).values()
        assert set(extra) == SAVEPOINT_KEYS, extra
        assert extra["event"] == EVENT_SAVEPOINT_COMPLETED and extra["trigger_type"] == "MANUAL"
        assert (extra["job"], extra["namespace"], extra["resource_kind"]) == ("orders", "default", "FlinkDeployment")
        assert snapshots[extra["snapshot"]] == extra["savepoint_path"]  # the snapshot's own status.path
    assert list(events_of(run, "savepoint")) == ["flink-savepoint://default/orders"]  # the alias got nothing
    first, second = (next(iter(events_of(run, t).values())) for t in ("savepoint", "savepoint_blocking"))
    assert first["savepoint_path"] != second["savepoint_path"]
    assert events_of(run, "savepoint_no_outlets") == {}


def test_the_savepoint_a_suspend_stopped_the_job_with_is_announced(runs):
    run = runs["assets_savepoint"]
    (extra,) = events_of(run, "suspend").values()
    assert set(extra) == SAVEPOINT_KEYS, extra
    assert extra["trigger_type"] == "UPGRADE" and extra["snapshot"] is None  # the operator's stop-with-savepoint
    (path,) = [p for name, p in run["snapshots"].items() if name.startswith("orders-savepoint-upgrade-")]
    assert extra["savepoint_path"] == path


def test_a_bounded_job_that_finished_is_announced_with_its_job_id_and_end_time(runs):
    run = runs["assets_finished"]
    (extra,) = events_of(run, "backfill").values()
    assert set(extra) == FINISHED_KEYS, extra
    status = run["deployments"]["orders-backfill"]["status"]["jobStatus"]
    assert extra["event"] == EVENT_JOB_FINISHED and extra["job_state"] == "FINISHED"
    assert extra["job_id"] == status["jobId"]
    end = datetime.fromisoformat(extra["end_time"].replace("Z", "+00:00"))
    assert int(end.timestamp() * 1000) == int(status["updateTime"])  # epoch ms, as the operator writes it
    assert extra["start_time"] <= extra["end_time"]


def test_an_upgrade_is_announced_with_its_generation_and_the_savepoint_it_restored_from(runs):
    run = runs["assets_upgrade"]
    assert events_of(run, "deploy") == {"s3://warehouse/orders-daily": {}}  # running: nothing more to say
    (extra,) = events_of(run, "upgrade").values()
    assert set(extra) == UPGRADED_KEYS, extra
    assert extra["event"] == EVENT_DEPLOYMENT_UPGRADED and extra["generation"] == 2
    upgrade = [path for name, path in run["snapshots"].items() if name.startswith("clicks-savepoint-upgrade-")]
    assert [extra["restored_from"]] == upgrade  # the savepoint the operator stopped the old job with
    pre = [path for name, path in run["snapshots"].items() if name.startswith("clicks-pre-upgrade-")]
    assert [extra["safety_savepoint_path"]] == pre
    (final,) = events_of(run, "teardown").values()
    assert set(final) == SAVEPOINT_KEYS | {"final"}, final
    assert final["event"] == EVENT_SAVEPOINT_COMPLETED and final["final"] is True
    assert final["savepoint_path"] == next(p for n, p in run["snapshots"].items() if n.startswith("clicks-final-"))


def test_a_dag_file_declaring_the_asset_imports_nothing_more_of_the_package():
    code = ("import json, sys; from airflow_flink_operator.assets import savepoint_asset; savepoint_asset('orders'); "
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith(('airflow_flink_operator.', 'kubernetes')))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == ["airflow_flink_operator.assets"]
