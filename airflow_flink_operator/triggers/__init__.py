"""Deferrable waits for Flink resources."""

from airflow_flink_operator.triggers.flink import FlinkWaitTrigger

__all__ = ["FlinkWaitTrigger"]
