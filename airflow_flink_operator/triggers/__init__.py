"""Deferrable waits for Flink resources."""

from airflow_flink_operator.triggers.flink import FlinkWaitTrigger, preload

__all__ = ["FlinkWaitTrigger", "preload"]
