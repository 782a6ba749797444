"""The real-Flink tier: the package's operators against the simulated Kubernetes operator whose jobs run on ONE
real local Flink session cluster (``SimulatedCluster(flink="local")``), shared by the tier.

Skipped, saying why, when Java 11+ (with javac) or the ``apache-flink`` distribution is missing;
``scripts/_env.sh`` installs the distribution wherever it finds a JDK, so CI runs the tier.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_flink_operator.testing.flink_local import unavailable_reason

pytestmark = pytest.mark.realflink


@pytest.fixture(scope="session")
def real_cluster() -> Iterator[Any]:
    """One simulated Kubernetes cluster + simulated operator, jobs on a real local Flink, for the whole tier."""
    reason = unavailable_reason()
    if reason:
        if os.environ.get("AIRFLOW_FLINK_REQUIRE_REAL_FLINK"):
            pytest.fail(f"real Flink is required here (AIRFLOW_FLINK_REQUIRE_REAL_FLINK) but unavailable: {reason}")
        pytest.skip(f"real Flink unavailable: {reason}")
    from airflow_flink_operator.testing import SimulatedCluster

    cluster = SimulatedCluster(crd_dir=os.environ.get("FLINK_CRD_DIR") or None, bookmark_interval=0.2,
                               flink="local").start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(autouse=True)
def _kubernetes_default_is_the_real_cluster(request: pytest.FixtureRequest,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """``kubernetes_default`` points at the tier's cluster for each test that uses it, and for no test after
    it (a session-wide setting leaked into the rest of the suite: tests/test_connections.py)."""
    if "real_cluster" in request.fixturenames:
        for key, value in request.getfixturevalue("real_cluster").airflow_connection_env().items():
            monkeypatch.setenv(key, value)


@pytest.fixture(autouse=True)
def _remove_deployments(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each test's deployments go when it ends (their jobs are cancelled): the shared cluster's slots stay free."""
    yield
    if "real_cluster" not in request.fixturenames:
        return
    cluster = request.getfixturevalue("real_cluster")
    hook = cluster.hook()
    for kind in ("FlinkSessionJob", "FlinkDeployment"):
        for obj in cluster.list(kind):
            hook.delete(kind, obj["metadata"]["name"], obj["metadata"]["namespace"], wait=False)
    for kind in ("FlinkSessionJob", "FlinkDeployment"):
        for obj in cluster.list(kind):
            hook.wait_deleted(kind, obj["metadata"]["name"], obj["metadata"]["namespace"], timeout=120,
                              poll_interval=0.2)


def counts(path: Path, job: str | None = None) -> list[tuple[str, int]]:
    """The counter job's output lines as ``(key, count)``, in order (only Flink job ``job``'s if given)."""
    if not path.exists():
        return []
    found = []
    for line in path.read_text().splitlines():
        match = re.fullmatch(r"key=(\S+) count=(\d+) job=(\w+)", line)
        if match and (job is None or match.group(3) == job):
            found.append((match.group(1), int(match.group(2))))
    return found


def last_per_key(lines: list[tuple[str, int]]) -> dict[str, int]:
    result: dict[str, int] = {}
    for key, count in lines:
        result[key] = count
    return result


def first_per_key(lines: list[tuple[str, int]]) -> dict[str, int]:
    result: dict[str, int] = {}
    for key, count in lines:
        result.setdefault(key, count)
    return result


def wait_until(predicate: Any, what: str, timeout: float = 120.0) -> Any:
    """Poll for an event (a generous bound on a loaded 2-core machine; never a timed assert)."""
    from airflow_flink_operator.local_airflow import wait_for

    return wait_for(predicate, timeout, what, interval=0.2)
