"""Sensors for Flink resources."""

from airflow_flink_operator.sensors.flink import FlinkJobSensor

__all__ = ["FlinkJobSensor"]
