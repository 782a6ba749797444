"""The five job kinds. Each fills ``spec.job`` and brings the files it needs.

=========================  ===============================  =====================================
Job kind                   Application (FlinkDeployment)    Session job (FlinkSessionJob)
=========================  ===============================  =====================================
:class:`JarJob`            yes (``local://`` or remote)     yes, with an ``https://`` jar
:class:`SqlJob`            yes (SQL delivered by ConfigMap)  only with ``script_path`` + remote runner
:class:`PythonJob`         yes (code delivered by ConfigMap) only with ``script_path`` + remote jar
:class:`SeaTunnelJob`      yes (config delivered)           only with ``config_path`` + remote jar
:class:`FlinkCdcPipeline`  yes (pipeline delivered)         no (runs in a MiniCluster in the JM)
=========================  ===============================  =====================================

Each kind is imported on first use, so a DAG file pays only for the kinds it uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_flink_operator._lazy import lazy_exports

_EXPORTS = {
    "FlinkCdcPipeline": "flink_cdc",
    "JarJob": "jar",
    "PythonJob": "python",
    "SeaTunnelJob": "seatunnel",
    "SqlJob": "sql",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from airflow_flink_operator.artifacts.flink_cdc import FlinkCdcPipeline
    from airflow_flink_operator.artifacts.jar import JarJob
    from airflow_flink_operator.artifacts.python import PythonJob
    from airflow_flink_operator.artifacts.seatunnel import SeaTunnelJob
    from airflow_flink_operator.artifacts.sql import SqlJob

__getattr__ = lazy_exports(__name__, _EXPORTS)
