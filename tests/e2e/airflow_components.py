"""The real-components harness, for the e2e tier: it lives in the package (``airflow_flink_operator.local_airflow``)
because ``airflow-flink demo`` runs the asset-triggered example DAG on a real scheduler with it."""

from airflow_flink_operator.local_airflow import (  # noqa: F401
    BLOCKED_LOOP_WARNING,
    AirflowComponents,
    Component,
    compile_bytecode,
    follow_run,
    free_port,
    wait_for,
)
