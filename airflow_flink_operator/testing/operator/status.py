"""Status conventions of the operator: finalizers, the ``FlinkResourceException`` JSON of ``status.error``,
the ``lastReconciledSpec`` JSON, the lifecycle state, the flattened Flink configuration."""

from __future__ import annotations

import copy
import json
from typing import Any

from airflow_flink_operator.constants import GROUP, KIND_DEPLOYMENT, KIND_SESSION_JOB, KIND_STATE_SNAPSHOT, VERSION


FINALIZERS = {
    KIND_DEPLOYMENT: "flinkdeployments.flink.apache.org/finalizer",
    KIND_SESSION_JOB: "flinksessionjobs.flink.apache.org/finalizer",
    KIND_STATE_SNAPSHOT: "flinkstatesnapshots.flink.apache.org/finalizer",
}
EXC = "org.apache.flink.kubernetes.operator.exception."
NONCE_FIELDS = ("savepointTriggerNonce", "checkpointTriggerNonce")
#: ``AbstractJobReconciler.LAST_STATE_DUMMY_SP_PATH``: what ``upgradeSavepointPath`` says after a last-state deploy.
LAST_STATE_DUMMY_SP_PATH = "KUBERNETES_OPERATOR_LAST_STATE"
#: ``JobStatus.isGloballyTerminalState`` (``ReconciliationUtils.isJobInTerminalState``).
TERMINAL_JOB_STATES = ("FAILED", "CANCELED", "FINISHED")


def exception_json(kind: str, message: str) -> str:
    """``status.error`` as the operator writes it: a ``FlinkResourceException`` as JSON; a bare ``kind`` is one of
    the operator's exception classes (``ValidationException``...), a dotted one is taken as it is."""
    return json.dumps({"type": EXC + kind if "." not in kind else kind, "message": message,
                       "additionalMetadata": {}, "throwableList": []})


def spec_json(spec: dict[str, Any], first: bool) -> str:
    """``lastReconciledSpec`` / ``lastStableSpec``: the spec and its resource metadata, as JSON text."""
    return json.dumps({"spec": spec, "resource_metadata": {"apiVersion": f"{GROUP}/{VERSION}", "firstDeployment": first}},
                      sort_keys=True)


def without_nonces(spec: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``spec`` without the savepoint / checkpoint trigger nonces: tells a nonce change from a spec change."""
    stripped = copy.deepcopy(spec)
    for key in NONCE_FIELDS:
        (stripped.get("job") or {}).pop(key, None)
    return stripped


def compute_lifecycle(kind: str, status: dict[str, Any], deleting: bool) -> str:
    """``CommonStatus.getLifecycleState`` (reference, section c)."""
    if deleting:
        return "DELETING"
    recon = status.get("reconciliationStatus") or {}
    last = recon.get("lastReconciledSpec")
    if not last:
        return "FAILED" if status.get("error") else "CREATED"
    if recon.get("state") == "UPGRADING":
        return "UPGRADING"
    if recon.get("state") == "ROLLING_BACK":
        return "ROLLING_BACK"
    last_spec = json.loads(last).get("spec") or {}
    if (last_spec.get("job") or {}).get("state") == "suspended":
        return "SUSPENDED"
    if (status.get("jobStatus") or {}).get("state") == "FAILED":
        return "FAILED"
    if kind == KIND_DEPLOYMENT and status.get("jobManagerDeploymentStatus") in ("MISSING", "ERROR"):
        error = status.get("error") or ""
        if any(m in error for m in ("Manual restore required.", "HA metadata is not available",
                                    "configmaps have been deleted.")):
            return "FAILED"
    if recon.get("state") == "ROLLED_BACK":
        return "ROLLED_BACK"
    if last == recon.get("lastStableSpec"):
        return "STABLE"
    return "DEPLOYED"


def flat_conf(spec: dict[str, Any]) -> dict[str, str]:
    """The spec's ``flinkConfiguration`` as flat ``key: value`` strings, nested or not."""
    from airflow_flink_operator.models.flink_config import flatten_config

    return flatten_config(spec.get("flinkConfiguration"))
