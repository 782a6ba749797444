"""Airflow operators for the Flink Kubernetes Operator's whole job lifecycle.

Imports are lazy so that ``from airflow_flink_operator.operators import FlinkDeploymentOperator``
in a DAG file costs only what that operator needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_flink_operator._lazy import lazy_exports

_EXPORTS = {
    "FlinkBlueGreenDeployOperator": "bluegreen",
    "FlinkBlueGreenResumeOperator": "bluegreen_lifecycle",
    "FlinkBlueGreenSuspendOperator": "bluegreen_lifecycle",
    "FlinkBlueGreenTeardownOperator": "bluegreen_teardown",
    "FlinkBlueGreenUpgradeOperator": "bluegreen",
    "FlinkDeploymentOperator": "deployment",
    "FlinkSessionJobOperator": "deployment",
    "FlinkSavepointOperator": "savepoint",
    "FlinkSavepointRetentionOperator": "savepoint",
    "FlinkUpgradeOperator": "lifecycle",
    "FlinkSuspendOperator": "lifecycle",
    "FlinkResumeOperator": "lifecycle",
    "FlinkTeardownOperator": "teardown",
    "FlinkTaskError": "base",
    "FlinkWebUILink": "base",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from airflow_flink_operator.operators.bluegreen import FlinkBlueGreenDeployOperator, FlinkBlueGreenUpgradeOperator
    from airflow_flink_operator.operators.bluegreen_lifecycle import (
        FlinkBlueGreenResumeOperator,
        FlinkBlueGreenSuspendOperator,
    )
    from airflow_flink_operator.operators.bluegreen_teardown import FlinkBlueGreenTeardownOperator
    from airflow_flink_operator.operators.base import FlinkTaskError, FlinkWebUILink
    from airflow_flink_operator.operators.deployment import FlinkDeploymentOperator, FlinkSessionJobOperator
    from airflow_flink_operator.operators.lifecycle import FlinkResumeOperator, FlinkSuspendOperator, FlinkUpgradeOperator
    from airflow_flink_operator.operators.savepoint import FlinkSavepointOperator, FlinkSavepointRetentionOperator
    from airflow_flink_operator.operators.teardown import FlinkTeardownOperator

__getattr__ = lazy_exports(__name__, _EXPORTS)
