"""Airflow operators for the Flink Kubernetes Operator's whole job lifecycle.

Imports are lazy so that ``from airflow_flink_operator.operators import FlinkDeploymentOperator``
in a DAG file costs only what that operator needs.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "FlinkDeploymentOperator": "deployment",
    "FlinkSessionJobOperator": "deployment",
    "FlinkSavepointOperator": "savepoint",
    "FlinkSavepointRetentionOperator": "savepoint",
    "FlinkUpgradeOperator": "lifecycle",
    "FlinkSuspendOperator": "lifecycle",
    "FlinkResumeOperator": "lifecycle",
    "FlinkTeardownOperator": "lifecycle",
    "FlinkTaskError": "base",
    "FlinkWebUILink": "base",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
