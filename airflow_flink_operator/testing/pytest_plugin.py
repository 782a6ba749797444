"""pytest fixtures for DAG tests against the simulated cluster.

Opt in from a ``conftest.py`` (installing the provider adds nothing to anyone's pytest runs)::

    pytest_plugins = ["airflow_flink_operator.testing.pytest_plugin"]

``flink_cluster``: a started :class:`~airflow_flink_operator.testing.cluster.SimulatedCluster`, with
the ``kubernetes_default`` Airflow connection pointing at it for the duration of the test.

Mark a test ``@pytest.mark.flink("local")`` to have its jobs run on a real local Flink
(``SimulatedCluster(flink="local")``): one such cluster is started for the whole session (Flink takes 15-30 s to
start) and shared by the marked tests; they are skipped, saying what to install, without Java 11+ or the
``apache-flink`` distribution.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", 'flink(mode): "local" runs the flink_cluster fixture\'s jobs on a real local Flink')


@pytest.fixture(scope="session")
def flink_local_cluster() -> Iterator[Any]:
    """A simulated cluster whose jobs run on a real local Flink, shared by the session (see the module's doc)."""
    from airflow_flink_operator.testing.cluster import SimulatedCluster
    from airflow_flink_operator.testing.flink_local import unavailable_reason

    reason = unavailable_reason()
    if reason:
        pytest.skip(f"real Flink unavailable: {reason}")
    cluster = SimulatedCluster(flink="local").start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def flink_cluster(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A simulated Kubernetes cluster running a simulated Flink operator (jobs on real Flink with ``flink("local")``)."""
    from airflow_flink_operator.testing.cluster import SimulatedCluster

    marker = request.node.get_closest_marker("flink")
    if marker is not None and marker.args and marker.args[0] == "local":
        cluster = request.getfixturevalue("flink_local_cluster")
        for key, value in cluster.airflow_connection_env().items():
            monkeypatch.setenv(key, value)
        yield cluster
        return
    cluster = SimulatedCluster().start()
    for key, value in cluster.airflow_connection_env().items():
        monkeypatch.setenv(key, value)
    try:
        yield cluster
    finally:
        cluster.stop()
