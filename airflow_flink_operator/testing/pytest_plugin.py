"""pytest fixtures for DAG tests against the simulated cluster.

Opt in from a ``conftest.py`` (installing the provider adds nothing to anyone's pytest runs)::

    pytest_plugins = ["airflow_flink_operator.testing.pytest_plugin"]

``flink_cluster``: a started :class:`~airflow_flink_operator.testing.cluster.SimulatedCluster`, with
the ``kubernetes_default`` Airflow connection pointing at it for the duration of the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture
def flink_cluster(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A simulated Kubernetes cluster running a simulated Flink operator."""
    from airflow_flink_operator.testing.cluster import SimulatedCluster

    cluster = SimulatedCluster().start()
    for key, value in cluster.airflow_connection_env().items():
        monkeypatch.setenv(key, value)
    try:
        yield cluster
    finally:
        cluster.stop()
