"""Triggerer scale: many concurrent FlinkWaitTriggers in one event loop, as one triggerer runs them.

The API emulator runs in its own process; this process is the triggerer (set-up goes over plain
HTTP, so no client is loaded here that the trigger would not load). Measured: RSS step by step
(Python, Airflow, the trigger's code and client libraries, one wait, all waits), open connections
to the API server, API requests per wait while subscribing, CPU while idle, and the time until
every wait sees its job RUNNING after the "operator" marks all of them running.
Targets: <= 50 MB RSS for everything a triggerer loads because of this package (libraries, the shared
watch, the waits), measured from a process that has what every triggerer has loaded already (Airflow's
trigger runner, ~130 MB, is not the waits'); connections O(1) per namespace and kind, <= 1 LIST +
1 WATCH per wait. Phases end on events (the watch open, every wait subscribed), not after sleeps.

Run: ``python benchmarks/triggerer_scale.py [waits]``
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _common import deployment, emulator_process, http_json, kubeconfig, rss_mb, stats

PATH = "/apis/flink.apache.org/v1beta1/namespaces/default/flinkdeployments"
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
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")  # not 2 info lines per wait on stdout
    rss_python = rss_mb()
    with emulator_process() as url:
        port = int(url.rsplit(":", 1)[1])
        names = [f"job-{i:04d}" for i in range(waits)]
        # Set-up (stdlib HTTP, threads) before any baseline: a triggerer does not carry this scaffolding.
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda n: http_json(url, PATH, "POST", deployment(n)), names))
        gc.collect()
        rss_setup = rss_mb()
        from airflow.triggers.base import BaseTrigger  # noqa: F401

        gc.collect()
        rss_base = rss_mb()  # the baseline of earlier versions of this benchmark
        import airflow.jobs.triggerer_job_runner  # noqa: F401  (what every triggerer process has loaded)

        gc.collect()
        rss_airflow = rss_mb()
        os.environ["AIRFLOW_CONN_KUBERNETES_DEFAULT"] = json.dumps(
            {"conn_type": "kubernetes", "extra": {"kube_config": json.dumps(kubeconfig(url))}})

        # The trigger's code; the client libraries (httpx2, lightkube's kubeconfig layer; kubernetes_asyncio
        # only for a kubeconfig lightkube cannot serve) load on its first run, once per triggerer, in a worker thread.
        import airflow_flink_operator.hooks  # noqa: F401
        from airflow_flink_operator.triggers import FlinkWaitTrigger

        gc.collect()
        rss_libraries = rss_mb()
        done: list[float] = []
        measurements: dict[str, float] = {}

        async def wait_one(name: str) -> str:
            trigger = FlinkWaitTrigger(kind="FlinkDeployment", name=name, namespace="default", target="running",
                                       timeout_at=time.time() + 600)
            async for event in trigger.run():
                done.append(time.perf_counter())
                return event.payload["status"]
            return "none"

        async def until(predicate, what: str) -> None:
            """Wait for an event of the scenario (polled: the API server's stats, the hub's subscribers)."""
            deadline = time.monotonic() + 600
            while not predicate():
                if time.monotonic() > deadline:
                    raise TimeoutError(what)
                await asyncio.sleep(0.05)

        def subscribed() -> int:
            from airflow_flink_operator.triggers.watch_hub import WatchHub

            return sum(len(queues) for hub in WatchHub._hubs.values() for queues in hub.subscribers.values())

        async def scenario() -> list[str]:
            before = stats(url)
            tasks = [asyncio.create_task(wait_one(names[0]))]
            await until(lambda: subscribed() == 1 and stats(url)["open_watches"] >= 1, "the shared watch open")
            gc.collect()
            measurements["rss_one"] = rss_mb()
            tasks += [asyncio.create_task(wait_one(n)) for n in names[1:]]
            await until(lambda: subscribed() == waits, "every wait subscribed")
            await asyncio.sleep(0)
            gc.collect()
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
                    obj = http_json(url, f"{PATH}/{name}")
                    obj["status"] = RUNNING
                    http_json(url, f"{PATH}/{name}/status", "PUT", obj)

            measurements["t_release"] = time.perf_counter()
            threading.Thread(target=mark_running, daemon=True).start()
            return await asyncio.gather(*tasks)

        results = asyncio.run(scenario())
    succeeded = results.count("success")
    release_span = max(done) - measurements["t_release"]
    rss_waits = measurements["rss"] - measurements["rss_one"]
    ours = measurements["rss"] - rss_airflow
    print(f"waits: {waits}, succeeded: {succeeded}")
    sync_client = "kubernetes" in sys.modules
    async_client = "kubernetes_asyncio" in sys.modules
    print(f"RSS (MB): Python {rss_python:.0f} -> + the benchmark's set-up {rss_setup:.0f} -> + Airflow (triggers.base) "
          f"{rss_base:.0f} -> + a triggerer's own "
          f"modules (triggerer_job_runner) {rss_airflow:.0f} -> + trigger code {rss_libraries:.0f} -> one wait running "
          f"(client libraries loaded, shared watch listed) {measurements['rss_one']:.0f} -> {waits} waits "
          f"{measurements['rss']:.0f}")
    print(f"  the {waits} waits: {rss_waits:.1f} MB ({rss_waits * 1024 / max(waits - 1, 1):.1f} KB per wait)")
    print(f"  all this package adds to a triggerer (libraries + watch + waits): {ours:.0f} MB  target <= 50 MB: "
          f"{'met' if ours <= 50 else 'NOT met'} ({ours / 50:.2f}); over triggers.base alone, as earlier versions "
          f"measured: {measurements['rss'] - rss_base:.0f} MB; the synchronous kubernetes client loaded: {sync_client}, "
          f"kubernetes_asyncio loaded: {async_client}")
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
