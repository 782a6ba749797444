"""Coordinates of the Flink Kubernetes Operator's API and names this package gives to objects."""

from __future__ import annotations

GROUP = "flink.apache.org"
VERSION = "v1beta1"
API_VERSION = f"{GROUP}/{VERSION}"

KIND_DEPLOYMENT = "FlinkDeployment"
KIND_SESSION_JOB = "FlinkSessionJob"
KIND_STATE_SNAPSHOT = "FlinkStateSnapshot"
#: Blue/green deployments (CRD flinkbluegreendeployments.flink.apache.org, in the operator 1.15.0 helm chart).
KIND_BLUE_GREEN = "FlinkBlueGreenDeployment"

PLURALS = {
    KIND_DEPLOYMENT: "flinkdeployments",
    KIND_SESSION_JOB: "flinksessionjobs",
    KIND_STATE_SNAPSHOT: "flinkstatesnapshots",
    KIND_BLUE_GREEN: "flinkbluegreendeployments",
}

#: The container name the operator merges pod templates into; it must never change.
MAIN_CONTAINER = "flink-main-container"

#: Label and annotation prefix for what this package adds to objects it creates.
LABEL_PREFIX = "airflow-flink-operator"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGED_BY = "airflow-flink-operator"
#: On ConfigMaps we create: the kind and name of the custom resource that owns them.
LABEL_OWNER_KIND = f"{LABEL_PREFIX}/owner-kind"
LABEL_OWNER_NAME = f"{LABEL_PREFIX}/owner-name"
#: On ConfigMaps we create: which job kind delivered the files (sql, python, ...).
LABEL_COMPONENT = f"{LABEL_PREFIX}/component"

#: The latest released operator version; the default rendering target.
DEFAULT_OPERATOR_VERSION = "1.15"
