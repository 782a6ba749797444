"""Shared fixtures: the upstream CRD schemas (from FLINK_CRD_DIR) and a guard against network use."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from airflow_flink_operator.crd_schema import CrdSchemas, crd_dir_from_env

#: CRD folders under FLINK_CRD_DIR and the operator version each one is.
CRD_VERSIONS = {".": "main", "release-1.15.0": "1.15"}


def _crd_root() -> Path:
    root = crd_dir_from_env()
    if root is None:
        pytest.skip("FLINK_CRD_DIR is not set: point it at the upstream CRDs (CI uses ../shared/crds)")
    return Path(root)


#: The flink_cluster fixture is opt-in (no pytest11 entry point): this is the one line users add too.
pytest_plugins = ["airflow_flink_operator.testing.pytest_plugin"]

_cache: dict[str, CrdSchemas] = {}


def crd_schemas_for(folder: str) -> CrdSchemas:
    """Load (once per session) the CRD schemas in FLINK_CRD_DIR/folder."""
    path = _crd_root() / folder
    if not path.is_dir():
        pytest.skip(f"{path} does not exist (expected the operator's CRDs for {CRD_VERSIONS[folder]})")
    key = str(path)
    if key not in _cache:
        _cache[key] = CrdSchemas(path)
    return _cache[key]


@pytest.fixture(params=sorted(CRD_VERSIONS), ids=lambda f: CRD_VERSIONS[f])
def crd(request: pytest.FixtureRequest) -> tuple[CrdSchemas, str]:
    """(schemas, operator_version) for each CRD version under FLINK_CRD_DIR."""
    return crd_schemas_for(request.param), CRD_VERSIONS[request.param]


def assert_schema_valid(schemas: CrdSchemas, manifests: list[dict]) -> None:
    """Every Flink manifest is covered by a schema and valid against it."""
    flink = [m for m in manifests if m["apiVersion"].startswith("flink.apache.org/")]
    assert flink, "no Flink custom resource rendered"
    for manifest in flink:
        assert schemas.covers(manifest), f"no CRD for {manifest['kind']}"
        problems = schemas.errors(manifest)
        assert not problems, "\n".join(str(p) for p in problems)


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if anything opens a network connection (validation must happen before any)."""

    def refuse(*args, **kwargs):
        raise AssertionError("a network connection was attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


# --- Kubernetes backends ---------------------------------------------------------------------

import os  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import Any  # noqa: E402

from airflow_flink_operator.testing import SimTimings, SimulatedCluster, SimulatedFlinkOperator  # noqa: E402
from airflow_flink_operator.testing.envtest import ASSETS_ENV, RealApiServer, assets_dir  # noqa: E402


@dataclass
class Backend:
    """An API server with the simulated operator in it, as the tests see it."""

    name: str
    kubeconfig: dict[str, Any]
    operator: SimulatedFlinkOperator
    cluster: SimulatedCluster | None  # the emulator bundle; None on a real API server

    def hook(self, **kwargs: Any):
        from airflow_flink_operator.hooks import FlinkKubernetesHook

        return FlinkKubernetesHook(kubernetes_conn_id=None, config_dict=self.kubeconfig, **kwargs)

    def async_hook(self, **kwargs: Any):
        from airflow_flink_operator.hooks import AsyncFlinkKubernetesHook

        return AsyncFlinkKubernetesHook(conn_id=None, kubernetes_conn_id=None, config_dict=self.kubeconfig, **kwargs)

    def wait_for(self, predicate, timeout: float = 10.0, what: str = "condition"):
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} not reached in {timeout}s; operator errors: {self.operator.errors[-3:]}")
            time.sleep(0.02)

    @property
    def emulator(self):
        if self.cluster is None:
            pytest.skip("needs the emulator's fault knobs or log endpoint (a bare kube-apiserver has neither)")
        return self.cluster.api


def _real_backend(crd_dir: str | None):
    assets = assets_dir()
    if assets is None:
        pytest.skip(f"{ASSETS_ENV} does not name a folder with etcd and kube-apiserver binaries "
                    "(the real API server tier runs only where they are installed)")
    if not crd_dir:
        pytest.skip("FLINK_CRD_DIR is not set: the real API server needs the CRDs to install")
    return RealApiServer(assets, crd_dir).start()


@pytest.fixture(params=["emulator", "kube-apiserver"])
def k8s(request: pytest.FixtureRequest):
    """The simulated operator against the emulator, and against a real kube-apiserver when available."""
    crd_dir = crd_dir_from_env()
    timings = SimTimings()
    if request.param == "emulator":
        cluster = SimulatedCluster(crd_dir=crd_dir, timings=timings, bookmark_interval=0.2).start()
        try:
            yield Backend("emulator", cluster.kubeconfig(), cluster.operator, cluster)
        finally:
            cluster.stop()
        return
    server = _real_backend(crd_dir)
    operator = SimulatedFlinkOperator(server.kubeconfig(), timings=timings).start()
    try:
        yield Backend("kube-apiserver", server.kubeconfig(), operator, None)
    finally:
        operator.stop()
        server.stop()


@pytest.fixture
def emulated(request: pytest.FixtureRequest):
    """The emulator bundle alone (fault knobs, switches); FlinkStateSnapshot served."""
    cluster = SimulatedCluster(crd_dir=crd_dir_from_env(), bookmark_interval=0.2).start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def cluster(emulated, monkeypatch):
    """The emulated cluster as the ``kubernetes_default`` connection (as tasks and triggers see it)."""
    for key, value in emulated.airflow_connection_env().items():
        monkeypatch.setenv(key, value)
    return emulated


@pytest.fixture
def legacy_cluster():
    """An emulated cluster whose operator has no FlinkStateSnapshot CRD (operator < 1.10)."""
    cluster = SimulatedCluster(crd_dir=crd_dir_from_env(), serve_snapshots=False, operator_version="1.9",
                               bookmark_interval=0.2).start()
    try:
        yield cluster
    finally:
        cluster.stop()
