"""Every example DAG runs end to end with dag.test() against the simulated cluster (deferrable tasks
included), through the ``airflow-flink demo`` main job; and a failing job fails the run as a user sees it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import yaml

from airflow_flink_operator.demo import DEFAULT_ORDER, EXAMPLES

ROOT = Path(__file__).resolve().parents[2]
ROLE = ROOT / "docs" / "rbac-role.yaml"


def run_demo(tmp: Path, *args: str) -> tuple[subprocess.CompletedProcess, dict]:
    report = tmp / "report.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    # The simulated jobs these tests steer (tests/realflink runs jobs on real Flink).
    result = subprocess.run([sys.executable, "-m", "airflow_flink_operator.cli", "demo", "--airflow-home",
                             str(tmp / "airflow"), "--report", str(report), "--flink", "simulated", *args],
                            capture_output=True, text=True, env=env, timeout=600, check=False)
    data = json.loads(report.read_text()) if report.exists() else {}
    return result, data


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """All example DAGs, with Airflow limited to the documented RBAC Role."""
    result, report = run_demo(tmp_path_factory.mktemp("demo"), "--rbac-role", str(ROLE))
    assert report, f"no report written:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    denied = report.pop("_denied_requests")
    return result, report, denied


def resources(report, dag_id, kind=None):
    return [r for r in report[dag_id]["resources"] if kind is None or r["kind"] == kind]


def resource(report, dag_id, name):
    found = [r for r in report[dag_id]["resources"] if r.get("name") == name]
    return found[0] if found else None


def test_every_example_dag_file_is_run():
    files = sorted(p.stem for p in EXAMPLES.glob("flink_*.py"))
    assert files == sorted(DEFAULT_ORDER)


def test_all_example_runs_succeed(demo_run):
    result, report, _ = demo_run
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert sorted(report) == sorted(DEFAULT_ORDER)
    for dag_id, run in report.items():
        assert run["state"] == "success", (dag_id, run["tasks"])
        assert set(run["tasks"].values()) == {"success"}, (dag_id, run["tasks"])
    assert f"{len(DEFAULT_ORDER)}/{len(DEFAULT_ORDER)} example DAG runs succeeded" in result.stdout


@pytest.mark.parametrize("dag_id, name", [
    ("flink_jar_job", "orders-enrichment"), ("flink_sql_job", "revenue-per-minute"),
    ("flink_python_job", "click-scoring"), ("flink_seatunnel_job", "page-views-to-search"),
    ("flink_cdc_pipeline", "shop-to-doris"),
])
def test_each_job_kind_ends_running(demo_run, dag_id, name):
    _, report, _ = demo_run
    found = resource(report, dag_id, name)
    assert found["job_state"] == "RUNNING" and found["lifecycle_state"] in ("DEPLOYED", "STABLE")
    assert found["labels"]["airflow-flink-operator/dag-id"] == dag_id


def test_jar_job_took_its_first_savepoint(demo_run):
    _, report, _ = demo_run
    snapshots = [r for r in resources(report, "flink_jar_job", "FlinkStateSnapshot")
                 if r["name"].startswith("orders-enrichment-")]
    assert [s["state"] for s in snapshots] == ["COMPLETED"]
    assert snapshots[0]["savepoint_path"].startswith("s3://flink-state/orders-enrichment/savepoints/")


def test_session_jobs_run_on_the_session_cluster(demo_run):
    _, report, _ = demo_run
    jobs = resources(report, "flink_session_jobs", "FlinkSessionJob")
    assert sorted(j["name"] for j in jobs) == ["sessionization-sql", "top-pages-python", "top-speed-windowing"]
    assert {j["job_state"] for j in jobs} == {"RUNNING"}
    cluster = resource(report, "flink_session_jobs", "analytics-session")
    assert cluster["jobmanager_status"] == "READY" and cluster["job_state"] is None


def test_scheduled_savepoint_run_left_a_completed_savepoint(demo_run):
    _, report, _ = demo_run
    snapshots = [r for r in resources(report, "flink_scheduled_savepoints", "FlinkStateSnapshot")
                 if r["name"].startswith("fraud-scoring-")]
    assert snapshots and {s["state"] for s in snapshots} == {"COMPLETED"}


def test_batch_finished_and_streaming_was_upgraded_from_a_fresh_savepoint(demo_run):
    _, report, _ = demo_run
    assert resource(report, "flink_batch_then_streaming", "sessions-backfill") is None  # finished, then removed
    streaming = resource(report, "flink_batch_then_streaming", "sessions-streaming")
    assert streaming["spec"]["image"] == "registry.example.com/data/sessions:2.0.0"
    assert streaming["lifecycle_state"] == "STABLE" and streaming["generation"] == 2
    snapshots = resources(report, "flink_batch_then_streaming", "FlinkStateSnapshot")
    names = [r["name"] for r in snapshots]
    assert any(n.startswith("sessions-streaming-pre-upgrade-") for n in names)
    # The operator stopped the old version with a savepoint (its UPGRADE snapshot) to restore the new one.
    upgrade = [r for r in snapshots if r["name"].startswith("sessions-streaming-savepoint-upgrade-")]
    assert len(upgrade) == 1 and upgrade[0]["savepoint_path"]


def test_upgrade_suspend_resume_teardown_ends_deleted_with_a_final_savepoint(demo_run):
    _, report, _ = demo_run
    assert resource(report, "flink_upgrade_and_teardown", "clickstream-aggregates") is None
    finals = [r for r in resources(report, "flink_upgrade_and_teardown", "FlinkStateSnapshot")
              if r["name"].startswith("clickstream-aggregates-final-")]
    assert len(finals) == 1 and finals[0]["state"] == "COMPLETED" and finals[0]["savepoint_path"]


def test_yaml_manifest_was_templated_and_deployed(demo_run):
    _, report, _ = demo_run
    found = resource(report, "flink_yaml_manifest", "orders-enrichment-yaml")
    assert found["job_state"] == "RUNNING"
    assert found["spec"]["job"]["parallelism"] == 4  # from params
    assert found["spec"]["job"]["args"][-1] == "flink_yaml_manifest"  # rendered by Jinja, the same every run


def test_the_replay_ran_on_the_scheduler_from_the_savepoint_the_producer_announced(demo_run):
    result, report, _ = demo_run
    (event,) = report["flink_savepoint_producer"]["asset_events"]
    assert event["uri"].startswith("flink-savepoint://") and event["uri"].endswith("/payments-ledger")
    path = event["extra"]["savepoint_path"]
    consumer = report["flink_replay_from_savepoint"]
    assert consumer["run_type"] == "asset_triggered"  # created by Airflow's scheduler, not dag.test()
    assert [e["extra"] for e in consumer["triggered_by"]] == [event["extra"]]
    replay = resource(report, "flink_replay_from_savepoint", "payments-ledger-replay")
    assert replay["spec"]["job"]["initialSavepointPath"] == path and replay["job_state"] == "FINISHED"
    assert f"FlinkDeployment payments-ledger-replay started from savepoint {path}" in result.stdout


def test_the_demo_narrates_state_transitions(demo_run):
    result, _, _ = demo_run
    assert "FlinkDeployment clickstream-aggregates: lifecycle=UPGRADING" in result.stdout
    assert "FlinkDeployment clickstream-aggregates: lifecycle=SUSPENDED" in result.stdout
    assert "FlinkDeployment clickstream-aggregates: deleted" in result.stdout


def test_a_job_failing_while_waited_for_fails_the_run_with_the_operator_error(tmp_path):
    # Without retries: the DAG's own (2, 30 s apart) would only fail the same way twice more.
    result, report = run_demo(tmp_path, "--dag", "flink_jar_job", "--behave", "orders-enrichment:fail_after=0",
                              "--retries", "0")
    assert result.returncode == 1
    run = report["flink_jar_job"]
    assert run["state"] == "failed"
    assert run["tasks"] == {"deploy": "failed", "first_savepoint": "upstream_failed"}
    assert run["tries"]["deploy"] == 1  # --retries 0: the DAG's own two retries were not made
    output = result.stdout + result.stderr
    assert "the Flink job FAILED" in output or "lifecycle state is FAILED" in output
    assert "Recovery is suppressed by FixedDelayRestartBackoffTimeStrategy" in output  # the operator's status.error
    assert "switched from CREATED to FAILED" in output  # the JobManager log tail


def test_the_documented_rbac_role_is_enough_for_every_example(demo_run):
    result, report, denied = demo_run
    assert denied == []
    assert all(run["state"] == "success" for run in report.values())


def test_nothing_broader_is_needed_and_less_is_not_enough(tmp_path):
    role = yaml.safe_load(ROLE.read_text())
    for rule in role["rules"]:
        if "configmaps" in rule["resources"]:
            rule["verbs"] = [v for v in rule["verbs"] if v != "create"]  # the SQL job ships its script in one
    reduced = tmp_path / "role.yaml"
    reduced.write_text(yaml.safe_dump(role))
    result, report = run_demo(tmp_path, "--dag", "flink_sql_job", "--rbac-role", str(reduced), "--retries", "0")
    assert result.returncode == 1
    assert report["flink_sql_job"]["tasks"] == {"deploy": "failed"}
    assert any(d.startswith("create configmaps") for d in report["_denied_requests"])
    assert "403" in result.stdout + result.stderr


def test_the_readme_shows_the_tested_role():
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Pointing at a real cluster", 1)[1].split("```yaml", 1)[1].split("```", 1)[0]
    assert yaml.safe_load(block)["rules"] == yaml.safe_load(ROLE.read_text())["rules"]


def test_every_example_task_retries_and_a_replay_nobody_triggered_fails_at_once(monkeypatch):
    """Issue 23 item 3: a try Airflow itself loses (a worker's start call timing out on a busy api-server,
    apache/airflow#67287) is retried; a replay run no savepoint triggered fails without retrying."""
    from airflow.providers.common.compat.sdk import AirflowFailException

    from airflow_flink_operator.demo import _load_dag

    monkeypatch.setenv("FLINK_NAMESPACE", "default")
    for dag_id in DEFAULT_ORDER:
        dag, _ = _load_dag(dag_id)
        # The nightly blue/green roll-out is not retried: the same build again after an abort is a decision
        # (restart=True), never an accident.
        not_retried = {"roll_out_nightly_build"} if dag_id == "flink_bluegreen_upgrade" else set()
        assert {task.task_id: task.retries for task in dag.tasks if task.retries < 1} == dict.fromkeys(
            not_retried, 0), dag_id
    dag, _ = _load_dag("flink_replay_from_savepoint")
    with pytest.raises(AirflowFailException, match="not triggered by a savepoint"):
        dag.task_dict["savepoint_to_replay"].python_callable(triggering_asset_events={})
