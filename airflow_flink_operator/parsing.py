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
from collections.abc import Iterator

#: The packages whose exports DAG files use; every submodule they export is loaded.
PARSE_TIME_PACKAGES = ("models", "artifacts", "operators")


def parse_time_modules() -> list[str]:
    """The modules DAG files import from this package: every lazily exported submodule, and the sensor."""
    modules = []
    for package in PARSE_TIME_PACKAGES:
        exports = importlib.import_module(f"airflow_flink_operator.{package}")._EXPORTS
        modules += [f"airflow_flink_operator.{package}.{sub}" for sub in dict.fromkeys(exports.values())]
    return [*modules, "airflow_flink_operator.sensors.flink"]


def _model_classes(cls: type) -> Iterator[type]:
    """``cls`` and its subclasses in creation order, each class before its own subclasses."""
    yield cls
    for sub in cls.__subclasses__():
        yield from _model_classes(sub)


def preload() -> int:
    """Import the parse-time modules and build every model's validator now rather than at first use.

    Classes are built depth-first from ``FlinkModel`` in creation order. Annotations are evaluated
    eagerly, so a model's parts are created, and so usually built, before the model that nests them,
    whose validator then reuses theirs.

    :return: how many model classes were built.
    """
    from airflow_flink_operator.models.base import FlinkModel

    for name in parse_time_modules():
        importlib.import_module(name)
    built = 0
    for cls in _model_classes(FlinkModel):
        if cls.__module__.startswith("airflow_flink_operator.") and not cls.__pydantic_complete__:
            cls.model_rebuild()
            built += 1
    return built
