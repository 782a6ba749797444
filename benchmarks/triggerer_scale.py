"""Triggerer scale: many concurrent FlinkWaitTriggers in one event loop, as one triggerer runs them.

The API emulator runs in its own process; this process is the triggerer. Measured: RSS, open
connections to the API server, API requests per wait while subscribing, CPU while idle, and the
time until every wait sees its job RUNNING after the "operator" marks all of them running.
Targets: <= 150 MB RSS, connections O(1) per namespace and kind, <= 1 LIST + 1 WATCH per wait.

Run: ``python benchmarks/triggerer_scale.py [waits]``
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _common import deployment, emulator_process, kubeconfig, rss_mb, stats

RUNNING = {"lifecycleState": "STABLE", "observedGeneration": 1, "jobManagerDeploymentStatus": "READY",
           "jobStatus": {"state": "RUNNING", "jobId": "x"}, "reconciliationStatus": {"state": "DEPLOYED"}}


def open_connections_to(port: int) -> int:
    """Established TCP connections of this process to ``port`` (Linux /proc)."""
    inodes = set()
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            remote_port = int(fields[2].split(":")[1], 16)
            if remote_port == port and fields[3] == "01" and fields[9] in inodes:
                count += 1
    return count


def main(waits: int = 1000) -> None:
    from kubernetes import client, config

    rss_start = rss_mb()
    with emulator_process() as url:
        port = int(url.rsplit(":", 1)[1])
        kc = kubeconfig(url)
        os.environ["AIRFLOW_CONN_KUBERNETES_DEFAULT"] = json.dumps(
            {"conn_type": "kubernetes", "extra": {"kube_config": json.dumps(kc)}})
        api = config.new_client_from_config_dict(kc)
        custom = client.CustomObjectsApi(api)
        names = [f"job-{i:04d}" for i in range(waits)]
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda n: custom.create_namespaced_custom_object(
                "flink.apache.org", "v1beta1", "default", "flinkdeployments", deployment(n)), names))

        from airflow_flink_operator.triggers import FlinkWaitTrigger

        rss_before = rss_mb()
        before = stats(url)
        done: list[float] = []
        measurements: dict[str, float] = {}

        async def wait_one(name: str) -> str:
            trigger = FlinkWaitTrigger(kind="FlinkDeployment", name=name, namespace="default", target="running",
                                       timeout_at=time.time() + 600)
            async for event in trigger.run():
                done.append(time.perf_counter())
                return event.payload["status"]
            return "none"

        async def scenario() -> list[str]:
            tasks = [asyncio.create_task(wait_one(n)) for n in names]
            await asyncio.sleep(3)  # everyone subscribed and idle
            after = stats(url)
            measurements["connections"] = open_connections_to(port)
            measurements["open_watches"] = after["open_watches"]
            measurements["lists"] = after["by_verb"].get("GET", 0) - before["by_verb"].get("GET", 0)
            measurements["watches"] = after["by_verb"].get("WATCH", 0) - before["by_verb"].get("WATCH", 0)
            measurements["rss"] = rss_mb()
            cpu0, wall0 = time.process_time(), time.perf_counter()
            await asyncio.sleep(5)
            measurements["idle_cpu"] = (time.process_time() - cpu0) / (time.perf_counter() - wall0)

            def mark_running() -> None:
                for name in names:
                    obj = custom.get_namespaced_custom_object("flink.apache.org", "v1beta1", "default",
                                                              "flinkdeployments", name)
                    obj["status"] = RUNNING
                    custom.replace_namespaced_custom_object_status("flink.apache.org", "v1beta1", "default",
                                                                   "flinkdeployments", name, obj)

            measurements["t_release"] = time.perf_counter()
            threading.Thread(target=mark_running, daemon=True).start()
            return await asyncio.gather(*tasks)

        results = asyncio.run(scenario())
    succeeded = results.count("success")
    release_span = max(done) - measurements["t_release"]
    print(f"waits: {waits}, succeeded: {succeeded}")
    print(f"RSS: {measurements['rss']:.0f} MB total ({measurements['rss'] - rss_before:.0f} MB for the waits; "
          f"{rss_start:.0f} MB at start)  target <= 150 MB: {'met' if measurements['rss'] <= 150 else 'NOT met'} "
          f"({measurements['rss'] / 150:.2f})")
    print(f"connections to the API server: {measurements['connections']} (server sees {measurements['open_watches']} "
          f"open watch); per namespace+kind: O(1)")
    print(f"requests while subscribing: {measurements['lists']:.0f} LIST/GET + {measurements['watches']:.0f} WATCH for "
          f"{waits} waits = {measurements['lists'] / waits:.4f} LIST + {measurements['watches'] / waits:.4f} WATCH "
          f"per wait (target <= 1 + 1)")
    print(f"CPU while idle: {measurements['idle_cpu'] * 100:.1f}% of one core")
    print(f"all {waits} waits released {release_span:.2f} s after the operator started marking them running "
          f"(that writer does {waits} GET+PUT pairs itself)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
