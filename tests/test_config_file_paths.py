"""#23 item 2: a relative ``config_file`` is found next to the DAG file (then in ``template_searchpath``), as
Airflow finds templates, whatever the worker's working directory; the trigger gets the absolute path; a
file that is nowhere is an error naming every place looked, before anything is sent."""

from __future__ import annotations

import asyncio
import os
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from airflow.sdk import DAG
from airflow.sdk.exceptions import TaskDeferred

from airflow_flink_operator.operators import FlinkDeploymentOperator, FlinkTeardownOperator
from airflow_flink_operator.sensors import FlinkJobSensor

from specs import app
from task_harness import TaskInstanceStub, context_for, reimport, run_task


def dag_at(dag_file: Path, **kwargs) -> DAG:
    """A DAG as Airflow loads it from ``dag_file`` (its ``fileloc``)."""
    dag = DAG(dag_id="kubeconfig_next_to_me", start_date=datetime(2026, 1, 1), schedule=None, **kwargs)
    dag.fileloc = str(dag_file)
    return dag


@pytest.fixture
def layout(tmp_path, emulated, monkeypatch):
    """A DAGs folder holding the DAG file and ``kubeconfig.yaml``; the process works somewhere else."""
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "kubeconfig.yaml").write_text(yaml.safe_dump(emulated.kubeconfig()))
    elsewhere = tmp_path / "worker-cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    return dags


def test_blocking_and_deferred_paths_read_the_kubeconfig_next_to_the_dag_file(layout, emulated):
    dag = dag_at(layout / "orders.py")
    blocking = FlinkDeploymentOperator(task_id="deploy", deployment=app(), kubernetes_conn_id=None,
                                       config_file="kubeconfig.yaml", deferrable=False, poll_interval=0.05, dag=dag)
    assert run_task(blocking)["job_state"] == "RUNNING"

    deferred = FlinkTeardownOperator(task_id="teardown", name="orders", kubernetes_conn_id=None,
                                     config_file="kubeconfig.yaml", savepoint="none", deferrable=True, dag=dag)
    deferrals: list = []
    run_task(deferred, context_for(TaskInstanceStub(task_id="teardown")), deferrals=deferrals)
    assert deferrals, "the teardown waited in the trigger"
    connection = deferrals[0].trigger.serialize()[1]["connection"]
    assert connection["config_file"] == str(layout / "kubeconfig.yaml")  # absolute: any triggerer finds it
    assert emulated.get("FlinkDeployment", "orders") is None


def test_the_trigger_reads_the_resolved_file_from_any_directory(layout, emulated, tmp_path, monkeypatch):
    emulated.operator.paused = True
    op = FlinkDeploymentOperator(task_id="deploy", deployment=app(), kubernetes_conn_id=None,
                                 config_file="kubeconfig.yaml", deferrable=True, dag=dag_at(layout / "orders.py"))
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(context_for(TaskInstanceStub(task_id="deploy")))
    monkeypatch.chdir(tmp_path)  # the triggerer runs in yet another directory
    trigger = reimport(deferred.value.trigger)
    emulated.operator.paused = False

    async def first_event():
        async for event in trigger.run():
            return event.payload

    assert asyncio.run(first_event())["status"] == "success"


def test_template_searchpath_is_looked_in_after_the_dag_folder(layout, tmp_path):
    shared = tmp_path / "shared-configs"
    shared.mkdir()
    os.replace(layout / "kubeconfig.yaml", shared / "kubeconfig.yaml")
    op = FlinkDeploymentOperator(task_id="deploy", deployment=app(), kubernetes_conn_id=None,
                                 config_file="kubeconfig.yaml", deferrable=False, poll_interval=0.05,
                                 dag=dag_at(layout / "orders.py", template_searchpath=[str(shared)]))
    assert op.connection.config_file == str(shared / "kubeconfig.yaml")
    assert run_task(op)["job_state"] == "RUNNING"


def test_a_missing_kubeconfig_names_every_place_looked(layout, tmp_path, emulated):
    from airflow_flink_operator.hooks.connection import KubeconfigNotFound

    shared = tmp_path / "shared-configs"
    dag = dag_at(layout / "orders.py", template_searchpath=str(shared))
    op = FlinkDeploymentOperator(task_id="deploy", deployment=app(), kubernetes_conn_id=None,
                                 config_file="configs/missing.yaml", dag=dag)
    with pytest.raises(KubeconfigNotFound) as error:
        run_task(op)
    message = str(error.value)
    assert "config_file 'configs/missing.yaml'" in message
    assert str(layout / "configs" / "missing.yaml") in message and str(shared / "configs" / "missing.yaml") in message
    assert "template_searchpath" in message
    assert emulated.list("FlinkDeployment") == []  # nothing was sent

    sensor = FlinkJobSensor(task_id="wait", name="orders", kubernetes_conn_id=None, config_file="/nowhere/kube.yaml",
                            dag=dag)
    with pytest.raises(KubeconfigNotFound, match="no kubeconfig file at /nowhere/kube.yaml"):
        sensor.connection  # noqa: B018
