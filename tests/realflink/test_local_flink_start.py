"""Starting the local Flink: the ports it is given are chosen free, closed, then bound by Flink, so another
process can take one in between (seen in a demo beside a busy test run: ``BindException: Could not start rest
endpoint on any port in port range``). The start is tried again with fresh ports."""

from __future__ import annotations

import os
import socket

import pytest

from airflow_flink_operator.testing import flink_local

pytestmark = pytest.mark.realflink


def test_a_port_taken_before_flink_binds_it_gets_a_fresh_one(monkeypatch, tmp_path, caplog):
    reason = flink_local.unavailable_reason()
    if reason:
        if os.environ.get("AIRFLOW_FLINK_REQUIRE_REAL_FLINK"):
            pytest.fail(f"real Flink is required here (AIRFLOW_FLINK_REQUIRE_REAL_FLINK) but unavailable: {reason}")
        pytest.skip(f"real Flink unavailable: {reason}")
    squatter = socket.create_server(("127.0.0.1", 0))  # another process's listener, on the first port handed out
    taken = squatter.getsockname()[1]
    real_free_port = flink_local.free_port
    handed_out: list[int] = []

    def free_port() -> int:
        handed_out.append(taken if not handed_out else real_free_port())
        return handed_out[-1]

    monkeypatch.setattr(flink_local, "free_port", free_port)
    cluster = flink_local.LocalFlinkCluster(tmp_path / "flink", slots=1)
    try:
        with caplog.at_level("INFO", logger=flink_local.__name__):
            cluster.start()
        assert cluster.rest_port != taken
        assert cluster.rest().get("/overview")["taskmanagers"] == 1
        assert "starting again with fresh ports (attempt 2 of 3)" in caplog.text
    finally:
        cluster.stop()
        squatter.close()
