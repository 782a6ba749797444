"""Helpers shared by the benchmarks: an emulator in its own process, percentiles, RSS."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def emulator_process():
    """Run the API emulator in a separate process; yield its URL."""
    proc = subprocess.Popen([sys.executable, "-m", "airflow_flink_operator.testing.apiserver"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        url = proc.stdout.readline().strip()
        if not url.startswith("http://"):
            raise RuntimeError("the emulator did not start")
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def http_json(url: str, path: str, method: str = "GET", body: dict | None = None) -> dict:
    """Plain HTTP + JSON to the emulator, without loading a Kubernetes client into the measuring process."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url + path, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


def stats(url: str) -> dict:
    return http_json(url, "/_emulator/stats")


def kubeconfig(url: str) -> dict:
    return {"apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": "e", "cluster": {"server": url}}],
            "users": [{"name": "u", "user": {"token": "t"}}],
            "contexts": [{"name": "e", "context": {"cluster": "e", "user": "u", "namespace": "default"}}],
            "current-context": "e"}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def rss_mb() -> float:
    """Resident set size of this process in MiB (Linux /proc)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def deployment(name: str) -> dict:
    return {"apiVersion": "flink.apache.org/v1beta1", "kind": "FlinkDeployment",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"image": "flink:1.20", "flinkVersion": "v1_20", "serviceAccount": "flink",
                     "jobManager": {"resource": {"memory": "1g", "cpu": 1}},
                     "taskManager": {"resource": {"memory": "1g", "cpu": 1}},
                     "job": {"jarURI": "local:///j.jar", "parallelism": 1}}}
