"""Apache Airflow provider for Apache Flink jobs run by the Flink Kubernetes Operator.

Importing this package is cheap on purpose: DAG files import it at parse time, so the
heavy parts (Kubernetes clients, schema validators) load only when a task runs.
"""

from __future__ import annotations

__version__ = "0.1.0"


def get_provider_info() -> dict:
    """Describe this package to Airflow's provider manager (``airflow providers list``).

    :return: the provider-info dictionary Airflow reads through the
        ``apache_airflow_provider`` entry point.
    """
    return {
        "package-name": "airflow-flink-operator",
        "name": "Flink Kubernetes Operator",
        "description": (
            "Run Apache Flink jobs on Kubernetes through the Flink Kubernetes Operator: "
            "typed FlinkDeployment / FlinkSessionJob specs, waits that mean what they say, "
            "savepoints, safe upgrades and teardown."
        ),
        "versions": [__version__],
        "extra-links": ["airflow_flink_operator.operators.base.FlinkWebUILink"],
    }
