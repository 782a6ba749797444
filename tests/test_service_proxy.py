"""The API emulator's service proxy, checked against what a kube-apiserver answers.

The oracle is Kubernetes' source: ``pkg/registry/core/service/storage`` ``REST.ResourceLocation`` (the id forms
``<svc>``, ``<svc>:<port>``, ``<scheme>:<svc>:<port>`` via apimachinery ``util/net.SplitSchemeNamePort``, and its
errors), ``ProxyREST.Connect`` (the path appended), apimachinery ``util/proxy.Transport.RoundTrip`` (``503 error
trying to reach service``) and the RBAC request attributes of a proxy request (``get`` on ``services/proxy``).
Simulated JobManagers answer in the shapes of Flink's ``rest.messages`` classes, named below.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from specs import NS, app
from task_harness import TaskInstanceStub, context_for, run_task

from airflow_flink_operator.manifests import render
from airflow_flink_operator.operators import FlinkDeploymentOperator
from airflow_flink_operator.testing import SimulatedCluster
from airflow_flink_operator.testing.apiserver import KubeApiEmulator

ROLE = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": "r", "namespace": "flink-jobs"},
        "rules": [{"apiGroups": [""], "resources": ["services/proxy"], "verbs": ["get"]}]}


@pytest.fixture(scope="module")
def api():
    with KubeApiEmulator(roles={"restricted": ROLE}) as server:
        yield server


def call(api, path: str, method: str = "GET", body: bytes | None = None, token: str = "admin",
         headers: dict | None = None):
    request = urllib.request.Request(api.url + path, data=body, method=method,
                                     headers={"Authorization": f"Bearer {token}", **(headers or {})})
    try:
        with urllib.request.urlopen(request) as answer:
            return answer.status, answer.headers.get("Content-Type", ""), answer.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("Content-Type", ""), err.read()


def status_of(answer) -> dict:
    code, _, body = answer
    status = json.loads(body)
    assert status["kind"] == "Status" and status["code"] == code
    return status


def echo(method, path, query, body):
    return 200, {"method": method, "path": path, "query": query, "body": body.decode()}


def test_every_id_form_a_kube_apiserver_accepts(api):
    api.register_service("flink-jobs", "orders-rest", echo)
    base = "/api/v1/namespaces/flink-jobs/services"
    for service_id in ("orders-rest:rest", "orders-rest:8081", "http:orders-rest:rest", "https:orders-rest:8081"):
        code, kind, body = call(api, f"{base}/{service_id}/proxy/jobs/abc/checkpoints?x=1")
        assert code == 200 and kind.startswith("application/json"), service_id
        assert json.loads(body) == {"method": "GET", "path": "/jobs/abc/checkpoints", "query": {"x": "1"}, "body": ""}
    assert json.loads(call(api, f"{base}/orders-rest:rest/proxy")[2])["path"] == "/"
    assert json.loads(call(api, f"{base}/orders-rest:rest/proxy/overview/")[2])["path"] == "/overview/"
    posted = call(api, f"{base}/orders-rest:rest/proxy/jars/upload", "POST", b"payload")
    assert json.loads(posted[2])["method"] == "POST" and json.loads(posted[2])["body"] == "payload"


def test_errors_as_resource_location_answers_them(api):
    api.register_service("flink-jobs", "orders-rest", echo)
    base = "/api/v1/namespaces/flink-jobs/services"
    cases = {
        "ftp:orders-rest:rest": (400, "BadRequest", 'invalid service request "ftp:orders-rest:rest"'),
        "a:b:c:d": (400, "BadRequest", 'invalid service request "a:b:c:d"'),
        "missing-rest:rest": (404, "NotFound", 'endpoints "missing-rest" not found'),
        "missing-rest:8081": (404, "NotFound", 'services "missing-rest" not found'),
        "orders-rest:9999": (503, "ServiceUnavailable", 'no service port 9999 found for service "orders-rest"'),
        "orders-rest:web": (503, "ServiceUnavailable", 'no endpoints available for service "orders-rest:web"'),
        "orders-rest": (503, "ServiceUnavailable", 'no endpoints available for service "orders-rest"'),
    }
    for service_id, (code, reason, message) in cases.items():
        status = status_of(call(api, f"{base}/{service_id}/proxy/overview"))
        assert (status["code"], status["reason"], status["message"]) == (code, reason, message), service_id
    api.register_service("flink-jobs", "starting-rest", echo, ready=False)
    status = status_of(call(api, f"{base}/starting-rest:rest/proxy/overview"))
    assert (status["code"], status["message"]) == (503, 'no endpoints available for service "starting-rest"')
    api.unregister_service("flink-jobs", "starting-rest")
    assert status_of(call(api, f"{base}/starting-rest:rest/proxy/overview"))["code"] == 404


def test_a_base_url_backend_is_forwarded_and_relayed_unchanged(api):
    with KubeApiEmulator() as backend:  # any HTTP server: another emulator's answers are known exactly
        api.register_service("flink-jobs", "other-rest", backend.url)
        base = "/api/v1/namespaces/flink-jobs/services/other-rest:rest/proxy"
        code, kind, body = call(api, f"{base}/version")
        assert code == 200 and json.loads(body) == json.loads(call(backend, "/version")[2])
        missing = call(api, f"{base}/api/v1/namespaces/x/configmaps/nope")
        assert missing == call(backend, "/api/v1/namespaces/x/configmaps/nope")  # status, type and body relayed
    # the backend is gone now: unreachable
    status = status_of(call(api, f"{base}/version"))
    assert status["code"] == 503 and status["message"].startswith("error trying to reach service: ")
    with pytest.raises(ValueError, match="http"):
        api.register_service("flink-jobs", "bad-rest", "127.0.0.1:8081")


def test_rbac_get_on_services_proxy(api):
    api.register_service("flink-jobs", "orders-rest", echo)
    api.register_service("other-ns", "orders-rest", echo)
    allowed = call(api, "/api/v1/namespaces/flink-jobs/services/orders-rest:rest/proxy/overview", token="restricted")
    assert allowed[0] == 200
    denied = status_of(call(api, "/api/v1/namespaces/flink-jobs/services/orders-rest:rest/proxy/jars", "POST",
                            b"{}", token="restricted"))
    assert denied["code"] == 403 and 'cannot create resource "services/proxy"' in denied["message"]
    elsewhere = status_of(call(api, "/api/v1/namespaces/other-ns/services/orders-rest:rest/proxy/x",
                               token="restricted"))
    assert elsewhere["code"] == 403 and 'cannot get resource "services/proxy"' in elsewhere["message"]


def test_the_official_client_reaches_it(api):
    """``CoreV1Api.connect_get_namespaced_service_proxy_with_path`` percent-encodes ``/`` and ``:`` in its path
    parameters; the API server decodes them (Go's ``url.URL.Path``)."""
    from kubernetes import client, config

    api.register_service("flink-jobs", "orders-rest", echo)
    core = client.CoreV1Api(config.new_client_from_config_dict(api.kubeconfig()))
    answer = core.connect_get_namespaced_service_proxy_with_path("orders-rest:rest", "flink-jobs",
                                                                 "jobs/abc/checkpoints", _preload_content=False)
    assert json.loads(answer.data)["path"] == "/jobs/abc/checkpoints"


# --- the simulated JobManagers' REST API ------------------------------------------------------

#: Field names of Flink's ``CheckpointingStatistics`` (``FIELD_NAME_*`` of it and of its ``Counts`` and
#: ``LatestCheckpoints``) and of ``CheckpointStatistics`` / ``CompletedCheckpointStatistics`` /
#: ``FailedCheckpointStatistics`` (Flink 1.20 ``flink-runtime`` ``rest.messages.checkpoints``; the subtype in
#: ``className``, ``@JsonTypeInfo(property = "className")``).
CHECKPOINTING_STATISTICS = {"counts", "summary", "latest", "history"}
COUNTS = {"restored", "total", "in_progress", "completed", "failed"}
LATEST = {"completed", "savepoint", "failed", "restored"}
CHECKPOINT = {"className", "id", "status", "is_savepoint", "savepointFormat", "trigger_timestamp",
              "latest_ack_timestamp", "checkpointed_size", "state_size", "end_to_end_duration", "alignment_buffered",
              "processed_data", "persisted_data", "num_subtasks", "num_acknowledged_subtasks", "checkpoint_type",
              "tasks"}
COMPLETED = CHECKPOINT | {"external_path", "discarded"}
FAILED = CHECKPOINT | {"failure_timestamp", "failure_message"}


@pytest.fixture
def flink(monkeypatch):
    with SimulatedCluster(bookmark_interval=0.2) as cluster:
        for key, value in cluster.airflow_connection_env().items():
            monkeypatch.setenv(key, value)
        yield cluster


def rest(cluster, name: str, path: str):
    code, _, body = call(cluster.api, f"/api/v1/namespaces/{NS}/services/{name}-rest:rest/proxy{path}")
    return code, json.loads(body)


def test_a_jobmanager_is_reachable_only_while_it_exists(flink):
    assert rest(flink, "orders", "/overview")[1]["message"] == 'endpoints "orders-rest" not found'
    flink.behave("orders", jobmanager_error=True)  # the JobManager pod exists but never becomes ready
    flink.hook().apply(render(app()), NS)
    flink.wait_for(lambda: flink.status("FlinkDeployment", "orders").get("jobManagerDeploymentStatus") == "ERROR")
    code, body = rest(flink, "orders", "/overview")
    assert (code, body["message"]) == (503, 'no endpoints available for service "orders-rest"')


def test_checkpoint_statistics_have_flinks_shape(flink):
    result = run_task(FlinkDeploymentOperator(task_id="deploy", deployment=app(), wait_for="checkpointed",
                                              poll_interval=0.05, timeout=60),
                      context_for(TaskInstanceStub(task_id="deploy")))
    code, stats = rest(flink, "orders", f"/jobs/{result['job_id']}/checkpoints")
    assert code == 200 and set(stats) == CHECKPOINTING_STATISTICS
    assert set(stats["counts"]) == COUNTS and set(stats["latest"]) == LATEST
    assert set(stats["latest"]["completed"]) == COMPLETED and stats["latest"]["completed"]["className"] == "completed"
    assert [c["id"] for c in stats["history"]] == sorted((c["id"] for c in stats["history"]), reverse=True)
    flink.behave("orders", checkpoints="fail")
    flink.wait_for(lambda: rest(flink, "orders", f"/jobs/{result['job_id']}/checkpoints")[1]["latest"]["failed"])
    failed = rest(flink, "orders", f"/jobs/{result['job_id']}/checkpoints")[1]["latest"]["failed"]
    assert set(failed) == FAILED and failed["className"] == "failed" and failed["status"] == "FAILED"
    job = rest(flink, "orders", f"/jobs/{result['job_id']}")[1]
    assert job["jid"] == result["job_id"] and job["state"] == "RUNNING"
    assert job["start-time"] == int(flink.status("FlinkDeployment", "orders")["jobStatus"]["startTime"])
    assert rest(flink, "orders", "/jobs/0000/checkpoints")[0] == 404
    assert rest(flink, "orders", "/nope") == (404, {"errors": ["Not found: /nope"]})


def test_a_long_running_job_has_flinks_bounded_history_and_full_counts():
    """A job that ran 10 s before anyone asked: Flink's ``CheckpointStatsHistory`` keeps the newest
    ``web.checkpoints.history`` (10) checkpoints, the counts all of them, ``latest.completed`` the newest."""
    import time
    from types import SimpleNamespace

    from airflow_flink_operator.testing.operator.flink_rest import SimulatedFlinkRest

    since = time.time_ns() // 1_000_000 - 10_000
    dep = {"kind": "FlinkDeployment", "metadata": {"name": "orders", "namespace": NS},
           "spec": {"flinkConfiguration": {"execution.checkpointing.interval": "1 s"}, "job": {}},
           "status": {"jobStatus": {"jobId": "j1", "state": "RUNNING", "startTime": str(since),
                                    "updateTime": str(since)}}}
    operator = SimpleNamespace(emulator=SimpleNamespace(store=SimpleNamespace(
        objects={("flinkdeployments", NS, "orders"): dep})), _traits={})
    code, stats = SimulatedFlinkRest(operator, interval=0.05).handle(NS, "orders", "GET", "/jobs/j1/checkpoints", {},
                                                                     b"")
    assert code == 200 and len(stats["history"]) == 10
    assert stats["counts"]["completed"] == stats["counts"]["total"] >= 190
    assert stats["latest"]["completed"]["id"] == stats["counts"]["total"] == stats["history"][0]["id"]
    assert all(c["trigger_timestamp"] > since for c in stats["history"])
