"""Load, once per Airflow process, what DAG files using this package need at parse time.

Airflow's DAG processor forks a fresh process for every parse of every DAG file. It imports the
``airflow.*`` modules a DAG file names before it forks (``[dag_processor]
parsing_pre_import_modules``), but not this package, so each parse imports the models and builds
their validators again (about 30 ms; see ``benchmarks/dag_parse_cost.py``). Calling
:func:`preload` from ``airflow_local_settings.py``, which every Airflow process imports at start,
moves that work into the parent once; each parse then pays only for validating its own spec::

    # $AIRFLOW_HOME/config/airflow_local_settings.py (or anywhere on PYTHONPATH)
    from airflow_flink_operator.parsing import preload

    preload()

Nothing here touches the network or loads a Kubernetes client.
"""

from __future__ import annotations

import importlib

#: Modules whose models and operators DAG files use, in dependency order (a model's parts first).
PARSE_TIME_MODULES = (
    "airflow_flink_operator.models.base",
    "airflow_flink_operator.models.pod",
    "airflow_flink_operator.models.common",
    "airflow_flink_operator.models.flink_config",
    "airflow_flink_operator.models.job",
    "airflow_flink_operator.models.deployment",
    "airflow_flink_operator.models.session_job",
    "airflow_flink_operator.models.snapshot",
    "airflow_flink_operator.artifacts.base",
    "airflow_flink_operator.artifacts.jar",
    "airflow_flink_operator.artifacts.sql",
    "airflow_flink_operator.artifacts.python",
    "airflow_flink_operator.artifacts.seatunnel",
    "airflow_flink_operator.artifacts.flink_cdc",
    "airflow_flink_operator.operators.deployment",
    "airflow_flink_operator.operators.savepoint",
    "airflow_flink_operator.operators.lifecycle",
    "airflow_flink_operator.sensors.flink",
)


def preload() -> int:
    """Import the parse-time modules and build every model's validator now rather than at first use.

    Classes are built in definition order, parts before the models that contain them, so each
    validator is generated once and reused by the models that nest it.

    :return: how many model classes were built.
    """
    from airflow_flink_operator.models.base import FlinkModel

    built = 0
    for name in PARSE_TIME_MODULES:
        module = importlib.import_module(name)
        for value in list(vars(module).values()):
            if (isinstance(value, type) and issubclass(value, FlinkModel) and value.__module__ == name
                    and not value.__pydantic_complete__):
                value.model_rebuild()
                built += 1
    return built
