"""Apache Airflow provider for Apache Flink jobs run by the Flink Kubernetes Operator.

Importing this package is cheap on purpose: DAG files import it at parse time, so the
heavy parts (Kubernetes clients, schema validators) load only when a task runs.
"""

from __future__ import annotations

__version__ = "0.1.0"

#: The integration every operator, sensor, hook and trigger of this provider belongs to.
INTEGRATION = "Flink Kubernetes Operator"


def get_provider_info() -> dict:
    """Describe this package to Airflow's provider manager (``airflow providers list``, ``get``,
    ``triggers``, ``hooks``...).

    Only strings: nothing named here is imported until Airflow needs it (never at DAG parse time).
    The documentation URL is not part of this dictionary: Airflow reads it from the distribution's
    ``Project-URL: Documentation`` metadata (``[project.urls] Documentation`` in ``pyproject.toml``).

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
        "integrations": [
            {
                "integration-name": INTEGRATION,
                "external-doc-url": "https://nightlies.apache.org/flink/flink-kubernetes-operator-docs-stable/",
                "tags": ["software"],
            },
        ],
        "operators": [
            {
                "integration-name": INTEGRATION,
                "python-modules": [
                    "airflow_flink_operator.operators.deployment",
                    "airflow_flink_operator.operators.lifecycle",
                    "airflow_flink_operator.operators.savepoint",
                    "airflow_flink_operator.operators.teardown",
                    "airflow_flink_operator.operators.bluegreen",
                    "airflow_flink_operator.operators.bluegreen_teardown",
                    "airflow_flink_operator.operators.bluegreen_lifecycle",
                ],
            },
        ],
        "sensors": [{"integration-name": INTEGRATION, "python-modules": ["airflow_flink_operator.sensors.flink"]}],
        # Listed by module only. No "connection-types": the hooks use the cncf.kubernetes provider's
        # ``kubernetes`` connection type, and the provider manager keeps one hook class per connection
        # type, the first one registered in package-name order, so declaring it here would make this
        # package's hook the ``kubernetes`` type's hook in place of cncf.kubernetes' KubernetesHook.
        "hooks": [
            {
                "integration-name": INTEGRATION,
                "python-modules": [
                    "airflow_flink_operator.hooks.flink_kubernetes",
                    "airflow_flink_operator.hooks.flink_kubernetes_async",
                ],
            },
        ],
        "triggers": [{"integration-name": INTEGRATION, "python-modules": ["airflow_flink_operator.triggers.flink"]}],
        "extra-links": ["airflow_flink_operator.operators.base.FlinkWebUILink"],
        # flink-savepoint://[<cluster>/]<namespace>/<job>: the asset of a job's savepoints
        # (airflow_flink_operator.assets). The converter makes such inlets/outlets OpenLineage datasets, as
        # the providers' own schemes do (e.g. common.io's "file": "to_openlineage_converter").
        "asset-uris": [{"schemes": ["flink-savepoint"],
                        "handler": "airflow_flink_operator.assets.normalize_savepoint_uri",
                        "to_openlineage_converter": "airflow_flink_operator.assets.convert_savepoint_asset_to_openlineage"}],
    }
