"""Secrets never leak; names and labels from DAG/task ids are valid Kubernetes names."""

from __future__ import annotations

import logging
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from specs import app
from task_harness import TaskInstanceStub, context_for, run_task

from airflow_flink_operator.models import PodTemplate, SecretEnv, SecretEnvFrom
from airflow_flink_operator.naming import dns_name, label_value, run_scoped_name, ti_labels
from airflow_flink_operator.operators import (
    FlinkDeploymentOperator,
    FlinkSavepointOperator,
    FlinkTaskError,
    FlinkTeardownOperator,
)

CANARY = "canary-S3cr3t-7f1c9a2e"
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


def test_a_secret_value_never_reaches_logs_xcom_templates_or_errors(cluster, caplog, capsys):
    # The cluster holds a Secret with the canary; the job reads it through Secret-backed env vars.
    cluster.hook().core_v1_client.create_namespaced_secret(
        "default", {"metadata": {"name": "orders-db"}, "stringData": {"password": CANARY}})
    spec = app(pod_template=PodTemplate(secret_env=[SecretEnv(name="DB_PASSWORD", secret="orders-db", key="password")],
                                        secret_env_from=[SecretEnvFrom(secret="orders-db")]))
    caplog.set_level(logging.DEBUG)
    ti = TaskInstanceStub(task_id="deploy")
    op = FlinkDeploymentOperator(task_id="deploy", deployment=spec, poll_interval=0.05, timeout=20)
    outputs = [run_task(op, context_for(ti))]
    outputs.append(run_task(FlinkSavepointOperator(task_id="sp", name="orders", deferrable=True, poll_interval=0.05,
                                                   timeout=20)))
    op.render_template_fields(context_for(ti))  # what Airflow shows as rendered template fields
    rendered = repr({field: getattr(op, field) for field in op.template_fields})
    cluster.behave("orders", savepoint="fail")
    with pytest.raises(FlinkTaskError) as err:  # a failure path: diagnostics with events and log tail
        run_task(FlinkTeardownOperator(task_id="teardown", name="orders", poll_interval=0.05, timeout=20))
    stored = repr(cluster.get("FlinkDeployment", "orders"))
    everything = "\n".join([caplog.text, capsys.readouterr().out, repr(outputs), repr(ti.xcoms), rendered,
                            str(err.value), stored])
    assert "DB_PASSWORD" in stored and "orders-db" in stored  # the reference travels...
    assert CANARY not in everything  # ...the value never does


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=300))
def test_label_values_from_any_id_are_valid(value):
    result = label_value(value)
    assert len(result) <= 63 and LABEL_VALUE.match(result), result


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=300))
def test_dns_names_from_any_text_are_valid(value):
    result = dns_name(value)
    assert len(result) <= 63 and DNS_LABEL.match(result), result


@settings(max_examples=100, deadline=None)
@given(dag_id=st.from_regex(r"[A-Za-z0-9_.-]{1,250}", fullmatch=True),
       task_id=st.from_regex(r"[A-Za-z0-9_.-]{1,250}", fullmatch=True),
       run_id=st.text(min_size=1, max_size=250))
def test_task_instance_labels_and_names_are_valid_and_distinct(dag_id, task_id, run_id):
    context = context_for(TaskInstanceStub(dag_id=dag_id, task_id=task_id, run_id=run_id))
    for value in ti_labels(context).values():
        assert len(value) <= 63 and LABEL_VALUE.match(value)
    name = run_scoped_name("orders", context, "savepoint")
    assert len(name) <= 63 and DNS_LABEL.match(name)
    other = run_scoped_name("orders", context_for(TaskInstanceStub(dag_id=dag_id, task_id=task_id,
                                                                   run_id=run_id + "x")), "savepoint")
    assert other != name  # another run never reattaches to this run's savepoint


def test_long_run_ids_keep_a_distinguishing_hash():
    a = label_value("scheduled__2026-11-26T10:00:00+00:00" + "x" * 80 + "a")
    b = label_value("scheduled__2026-11-26T10:00:00+00:00" + "x" * 80 + "b")
    assert a != b and len(a) <= 63


def test_labels_from_a_real_run_id_are_accepted_by_the_api(cluster):
    ti = TaskInstanceStub(dag_id="team.orders_v2", task_id="deploy-stream.main", run_id="manual__2026-11-26T10:00:00.123456+00:00")
    run_task(FlinkDeploymentOperator(task_id="deploy", deployment=app(), poll_interval=0.05, timeout=20), context_for(ti))
    labels = cluster.get("FlinkDeployment", "orders")["metadata"]["labels"]
    assert labels["airflow-flink-operator/run-id"] == "manual__2026-11-26T10-00-00.123456-00-00"


def _canary_kubeconfig(cluster, token: str) -> dict:
    config = cluster.kubeconfig()
    config["users"][0]["user"]["token"] = token
    return config


@pytest.mark.parametrize("style", ["kube_config extra", "config_file"])
def test_credentials_never_leak_from_the_connection_or_kubeconfig(cluster, monkeypatch, tmp_path, caplog, capsys, style):
    """Canaries where a leak can really happen: the token of the connection's ``kube_config`` extra
    and of a kubeconfig given as ``config_file``. They reach the API server (so they are really in
    use) but never logs, XCom, rendered fields, trigger kwargs or error messages."""
    import json

    import yaml

    token = f"canary-token-{style.replace(' ', '-')}-91d3"
    config = _canary_kubeconfig(cluster, token)
    kwargs = {"poll_interval": 0.05, "timeout": 20}
    if style == "config_file":
        path = tmp_path / "kubeconfig.yaml"
        path.write_text(yaml.safe_dump(config))
        monkeypatch.delenv("AIRFLOW_CONN_KUBERNETES_DEFAULT", raising=False)
        kwargs.update(kubernetes_conn_id=None, config_file=str(path))
    else:
        monkeypatch.setenv("AIRFLOW_CONN_KUBERNETES_DEFAULT", json.dumps(
            {"conn_type": "kubernetes", "extra": {"kube_config": json.dumps(config), "namespace": "default"}}))
    seen_tokens: list[str] = []
    cluster.api.roles = {}  # every token is an admin; record that ours was the one used
    original = cluster.api._authorize

    def record(request, *args, **kw):
        seen_tokens.append(request.headers.get("Authorization", ""))
        return original(request, *args, **kw)

    monkeypatch.setattr(cluster.api, "_authorize", record)
    caplog.set_level(logging.DEBUG)
    ti = TaskInstanceStub(task_id="deploy")
    deferrals: list = []
    op = FlinkDeploymentOperator(task_id="deploy", deployment=app(), deferrable=True, **kwargs)
    outputs = [run_task(op, context_for(ti), deferrals=deferrals)]
    outputs.append(run_task(FlinkSavepointOperator(task_id="sp", name="orders", deferrable=True, **kwargs),
                            deferrals=deferrals))
    op.render_template_fields(context_for(ti))
    rendered = repr({field: getattr(op, field) for field in (*op.template_fields, *op.path_template_fields)})
    cluster.behave("orders", savepoint="fail")
    with pytest.raises(FlinkTaskError) as err:
        run_task(FlinkTeardownOperator(task_id="teardown", name="orders", deferrable=True, **kwargs),
                 deferrals=deferrals)
    triggers = repr([d.trigger.serialize() for d in deferrals])
    assert deferrals, "the waits must have gone through the trigger"
    assert any(token in header for header in seen_tokens), "the canary token must be the credential in use"
    everything = "\n".join([caplog.text, capsys.readouterr().out, repr(outputs), repr(ti.xcoms), rendered, triggers,
                            str(err.value)])
    assert token not in everything


def test_a_savepoint_path_with_credentials_reaches_no_log_line(cluster, caplog, capsys):
    """A savepoint directory with user info (a key whose secret holds "/", ":" and "@") is what the job was
    given; the task's log lines name its savepoints without it (the path in XCom is the job's own)."""
    from airflow_flink_operator.models import Savepoints

    secret = "wJa/lr:XU@tn"
    spec = app(savepoints=Savepoints(dir=f"s3a://AKIAEXAMPLE:{secret}@state/sp"))
    caplog.set_level(logging.INFO)  # (the Kubernetes client's DEBUG lines dump whole API answers)
    run_task(FlinkDeploymentOperator(task_id="deploy", deployment=spec, poll_interval=0.05, timeout=20))
    result = run_task(FlinkTeardownOperator(task_id="teardown", name="orders", poll_interval=0.05, timeout=20))
    assert result["savepoint_path"] and secret in result["savepoint_path"]  # the job's own path, for a restore
    logs = caplog.text + capsys.readouterr().out
    assert "Final savepoint" in logs
    assert secret not in logs and "AKIAEXAMPLE" not in logs


def test_a_refused_token_reaches_no_log_line_or_error_on_the_triggers_client(cluster, caplog):
    """The triggers' httpx2 client (lightkube's bearer auth): a token with ``/``, ``@`` and ``:`` the API refuses
    (401, a credential reload, 401 again) is in no log line, httpx2's and httpcore2's DEBUG lines included, nor
    in the error."""
    import asyncio

    from airflow_flink_operator.hooks import FlinkApiError

    token = "s3cr/et@tok:en-5b1e"
    cluster.api.expired_tokens.add(token)
    for name in ("", "httpx2", "httpcore2"):
        caplog.set_level(logging.DEBUG, logger=name or None)
    hook = cluster.async_hook(config_dict=_canary_kubeconfig(cluster, token))
    with pytest.raises(FlinkApiError) as err:
        asyncio.run(hook.get_object("FlinkDeployment", "orders", "default"))
    assert err.value.status == 401 and hook.credential_reloads == 1
    assert "kubernetes_asyncio" not in repr(type(hook._api_client))
    assert "HTTP Request: GET" in caplog.text  # httpx2's DEBUG/INFO lines were captured
    assert token not in caplog.text and token not in str(err.value) and token not in repr(err.value.__cause__)
