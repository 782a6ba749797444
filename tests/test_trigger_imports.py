"""#23 item 7: a triggerer running our waits never loads the synchronous Kubernetes client (some 40 MB per
triggerer that no wait uses; cncf.kubernetes' hooks module would bring it along with its async hook)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from specs import app

from airflow_flink_operator.manifests import render

SCRIPT = textwrap.dedent("""
    import asyncio, json, sys
    from airflow.triggers.base import BaseTrigger  # what a triggerer has loaded

    async def main():
        from airflow_flink_operator.triggers import FlinkWaitTrigger  # as the triggerer imports it
        trigger = FlinkWaitTrigger(kind="FlinkDeployment", name="orders", namespace="default", target="running")
        async for event in trigger.run():
            return event.payload["status"]

    status = asyncio.run(main())
    loaded = sorted(m for m in sys.modules if m == "kubernetes" or m.startswith((
        "kubernetes.", "airflow.providers.cncf.kubernetes.hooks", "airflow.providers.cncf.kubernetes.kube_client")))
    print(json.dumps({"status": status, "loaded": loaded, "async": "kubernetes_asyncio.client" in sys.modules}))
""")


def test_a_wait_runs_without_the_synchronous_kubernetes_client(cluster):
    cluster.hook().apply(render(app()), "default")
    cluster.wait_for_lifecycle("orders", "STABLE")
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    outcome = json.loads(proc.stdout.strip().splitlines()[-1])
    assert outcome["status"] == "success" and outcome["async"]
    assert outcome["loaded"] == []  # no `kubernetes` (sync) module, no cncf.kubernetes hook module
