"""What the local runtime says before anything starts (no Java or Flink needed for these)."""

from __future__ import annotations

import json

import pytest

from airflow_flink_operator.testing import SimulatedCluster
from airflow_flink_operator.testing.flink_local import FlinkUnavailable, find_java
from airflow_flink_operator.testing.flink_rest import trace_summary
from airflow_flink_operator.testing.operator.realjobs import error_json

TRACE = """org.apache.flink.runtime.JobException: Recovery is suppressed by NoRestartBackoffTimeStrategy
\tat org.apache.flink.runtime.executiongraph.failover.ExecutionFailureHandler.handleFailure(ExecutionFailureHandler.java:219)
Caused by: java.lang.IllegalStateException: CounterJob was told to fail after 5 records
\tat airflowflink.jobs.CounterJob$Count.processElement(CounterJob.java:140)
"""


def test_without_java_the_error_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-jdk"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(FlinkUnavailable) as missing:
        find_java(require_javac=True)
    assert "Java 11+" in str(missing.value) and "openjdk-17-jdk-headless" in str(missing.value)
    with pytest.raises(FlinkUnavailable):
        SimulatedCluster(flink="local")


def test_an_unknown_flink_mode_is_refused():
    with pytest.raises(ValueError, match="'simulated' or 'local'"):
        SimulatedCluster(flink="remote")


def test_a_failed_jobs_root_exception_becomes_the_operators_error_json():
    error = json.loads(error_json(trace_summary(TRACE)))
    assert error["type"] == "org.apache.flink.runtime.JobException"
    assert error["message"] == "Recovery is suppressed by NoRestartBackoffTimeStrategy"
    assert error["throwableList"] == [{"type": "java.lang.IllegalStateException",
                                       "message": "CounterJob was told to fail after 5 records"}]
