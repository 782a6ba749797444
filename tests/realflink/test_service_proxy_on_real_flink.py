"""Flink's REST API reached as on Kubernetes — through the API server's service proxy to ``<name>-rest`` — answers
from the real local JobManager, and ``wait_for="checkpointed"`` waits for a real checkpoint of this start."""

from __future__ import annotations

import json
import urllib.request

import pytest
from specs import NS
from realflink.test_state_on_real_flink import counter, deploy, job_id

pytestmark = pytest.mark.realflink


def test_checkpointed_waits_for_a_real_checkpoint_read_through_the_service_proxy(real_cluster, tmp_path):
    result = deploy(counter("proxied", tmp_path / "counts.txt"), wait_for="checkpointed")
    jid = job_id(real_cluster, "proxied")
    url = f"{real_cluster.api.url}/api/v1/namespaces/{NS}/services/proxied-rest:rest/proxy/jobs/{jid}/checkpoints"
    token = real_cluster.kubeconfig()["users"][0]["user"].get("token")
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    with urllib.request.urlopen(request, timeout=30) as response:
        through_proxy = json.loads(response.read())
    direct = real_cluster.flink.rest().checkpoints(jid)
    start = int(real_cluster.status("FlinkDeployment", "proxied")["jobStatus"]["startTime"])
    assert through_proxy["latest"]["completed"]["trigger_timestamp"] >= start
    assert through_proxy["latest"]["completed"]["id"] <= direct["latest"]["completed"]["id"]
    assert result["job_id"] == jid
