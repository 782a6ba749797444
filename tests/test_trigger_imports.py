"""#23 item 7: a triggerer running our waits never loads the synchronous Kubernetes client (some 40 MB per
triggerer that no wait uses; cncf.kubernetes' hooks module would bring it along with its async hook), nor
``kubernetes_asyncio`` (some 35 MB: all its generated models) for the kubeconfigs lightkube serves (token,
exec plugin, in-cluster service account). An ``auth-provider`` kubeconfig, which lightkube does not serve,
still waits: through ``kubernetes_asyncio``, as before."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml
from specs import app
from test_connections import TlsFrontend, self_signed_cert
from test_token_refresh import PLUGIN

from airflow_flink_operator.manifests import render

SCRIPT = textwrap.dedent("""
    import asyncio, json, logging, os, sys
    from airflow.triggers.base import BaseTrigger  # what a triggerer has loaded

    logging.getLogger("airflow_flink_operator").addHandler(logging.StreamHandler(sys.stderr))
    logging.getLogger("airflow_flink_operator").setLevel(logging.INFO)

    if os.environ.get("TEST_SERVICE_ACCOUNT"):  # where a pod has its token and CA
        from airflow_flink_operator.hooks import kube_http
        kube_http.SERVICE_TOKEN_FILENAME, kube_http.SERVICE_CERT_FILENAME = json.loads(
            os.environ["TEST_SERVICE_ACCOUNT"])

    async def main():
        from airflow_flink_operator.triggers import FlinkWaitTrigger  # as the triggerer imports it
        trigger = FlinkWaitTrigger(kind="FlinkDeployment", name="orders", namespace="default", target="running")
        async for event in trigger.run():
            return event.payload["status"]

    status = asyncio.run(main())
    loaded = sorted(m for m in sys.modules if m == "kubernetes" or m.startswith((
        "kubernetes.", "airflow.providers.cncf.kubernetes.hooks", "airflow.providers.cncf.kubernetes.kube_client")))
    print(json.dumps({"status": status, "loaded": loaded, "async": "kubernetes_asyncio" in sys.modules}))
""")


def _wait(env: dict[str, str]) -> dict:
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **env})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1]) | {"stderr": proc.stderr}


def _connection(extra: dict) -> dict[str, str]:
    return {"AIRFLOW_CONN_KUBERNETES_DEFAULT": json.dumps({"conn_type": "kubernetes", "extra": extra})}


@pytest.fixture
def stable(cluster):
    cluster.hook().apply(render(app()), "default")
    cluster.wait_for_lifecycle("orders", "STABLE")
    return cluster


def test_a_wait_runs_without_the_synchronous_kubernetes_client(stable):
    outcome = _wait({})  # the cluster's connection: an inline kubeconfig with a token
    assert outcome["status"] == "success"
    assert outcome["loaded"] == []  # no `kubernetes` (sync) module, no cncf.kubernetes hook module
    assert not outcome["async"]  # nor kubernetes_asyncio


def test_an_exec_plugin_kubeconfig_waits_without_kubernetes_asyncio(stable, tmp_path):
    plugin = tmp_path / "plugin.py"
    plugin.write_text(PLUGIN)
    config = stable.kubeconfig()
    config["users"] = [{"name": "tester", "user": {"exec": {
        "apiVersion": "client.authentication.k8s.io/v1beta1", "command": sys.executable,
        "args": ["-I", "-S", str(plugin), str(tmp_path / "counter")], "interactiveMode": "Never"}}}]
    path = tmp_path / "kubeconfig.yaml"
    path.write_text(yaml.safe_dump(config))
    outcome = _wait(_connection({"kube_config_path": str(path)}))
    assert outcome["status"] == "success" and outcome["loaded"] == [] and not outcome["async"]
    assert int((tmp_path / "counter").read_text()) >= 1  # the plugin's token was used


def test_an_in_cluster_connection_waits_without_kubernetes_asyncio(stable, tmp_path):
    cert, key = self_signed_cert(tmp_path)
    token = tmp_path / "token"
    token.write_text("service-account-token")
    frontend = TlsFrontend(stable.api.port, cert, key)
    try:
        before = stable.api.request_count
        outcome = _wait({**_connection({"in_cluster": True}), "TEST_SERVICE_ACCOUNT": json.dumps([str(token), cert]),
                         "KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": str(frontend.port)})
        assert stable.api.request_count > before
    finally:
        frontend.stop()
    assert outcome["status"] == "success" and outcome["loaded"] == [] and not outcome["async"]


def _unsigned_jwt(claims: dict) -> str:
    part = lambda data: base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")  # noqa: E731
    return f"{part({'alg': 'none'})}.{part(claims)}.c2ln"


def test_an_auth_provider_kubeconfig_still_waits_through_kubernetes_asyncio(stable, tmp_path):
    """lightkube raises ``auth-provider not supported``: the hook falls back and says why, once, at INFO."""
    id_token = _unsigned_jwt({"iss": "https://issuer.example", "exp": int(time.time()) + 3600})
    config = stable.kubeconfig()
    config["users"] = [{"name": "tester", "user": {"auth-provider": {"name": "oidc", "config": {
        "client-id": "airflow", "id-token": id_token, "idp-issuer-url": "https://issuer.example"}}}}]
    outcome = _wait(_connection({"kube_config": json.dumps(config)}))
    assert outcome["status"] == "success" and outcome["loaded"] == []
    assert outcome["async"]  # the fallback
    said = [line for line in outcome["stderr"].splitlines() if "lightkube cannot serve it" in line]
    assert len(said) == 1 and "auth-provider 'oidc'" in said[0], outcome["stderr"][-3000:]
    assert id_token not in outcome["stderr"]


CERT_PLUGIN = textwrap.dedent('''
    """A kubectl exec credential plugin answering with a client certificate, no token."""
    import json, pathlib, sys

    cert, key = (pathlib.Path(p).read_text() for p in sys.argv[1:3])
    print(json.dumps({"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential",
                      "status": {"clientCertificateData": cert, "clientKeyData": key}}))
''')


def test_an_exec_plugin_answering_with_a_client_certificate_waits_through_kubernetes_asyncio(stable, tmp_path):
    """lightkube's exec auth reads only ``status.token``: the hook falls back when the plugin answers without."""
    cert, key = self_signed_cert(tmp_path)
    plugin = tmp_path / "cert_plugin.py"
    plugin.write_text(CERT_PLUGIN)
    config = stable.kubeconfig()
    config["users"] = [{"name": "tester", "user": {"exec": {
        "apiVersion": "client.authentication.k8s.io/v1beta1", "command": sys.executable,
        "args": ["-I", "-S", str(plugin), cert, key], "interactiveMode": "Never"}}}]
    outcome = _wait(_connection({"kube_config": json.dumps(config)}))
    assert outcome["status"] == "success" and outcome["loaded"] == [] and outcome["async"]
    said = [line for line in outcome["stderr"].splitlines() if "lightkube cannot serve it" in line]
    assert len(said) == 1 and "without status.token" in said[0], outcome["stderr"][-3000:]
    assert "PRIVATE KEY" not in outcome["stderr"]


def test_a_cluster_with_tls_server_name_waits_through_kubernetes_asyncio(stable):
    """lightkube has no ``tls-server-name``: that kubeconfig falls back (and says why) rather than ignore it."""
    config = stable.kubeconfig()
    config["clusters"][0]["cluster"]["tls-server-name"] = "kubernetes.default.svc"
    outcome = _wait(_connection({"kube_config": json.dumps(config)}))
    assert outcome["status"] == "success" and outcome["async"], outcome["stderr"][-3000:]
    said = [line for line in outcome["stderr"].splitlines() if "lightkube cannot serve it" in line]
    assert len(said) == 1 and "tls-server-name" in said[0], outcome["stderr"][-3000:]


def test_several_default_kubeconfig_files_are_merged_through_kubernetes_asyncio(stable, tmp_path, monkeypatch):
    """``KUBECONFIG=a:b`` (kubectl merges them; lightkube reads one file): the context in one file, its cluster and
    user in the other, and no connection: the wait finds the cluster through the merge."""
    config = stable.kubeconfig()
    first, second = tmp_path / "contexts.yaml", tmp_path / "clusters.yaml"
    first.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Config", "contexts": config["contexts"],
                                     "current-context": config["current-context"]}))
    second.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Config", "clusters": config["clusters"],
                                      "users": config["users"]}))
    for key in [k for k in os.environ if k.startswith("AIRFLOW_CONN_")]:
        monkeypatch.delenv(key)  # no kubernetes_default: the hook reads the default kubeconfig
    outcome = _wait({"KUBECONFIG": f"{first}{os.pathsep}{second}"})
    assert outcome["status"] == "success" and outcome["async"], outcome["stderr"][-3000:]
