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
