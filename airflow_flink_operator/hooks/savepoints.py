"""Savepoints through the API: is FlinkStateSnapshot served, create one, list a job's, the legacy nonce,
and the namespace's note of whether a snapshot controller runs.

Whether a savepoint completed, and which one is whose, is the status model's question
(:mod:`airflow_flink_operator.models.savepoints`); this module only reads and writes objects.
"""

from __future__ import annotations

import copy
import logging
import time
from typing import Any

from airflow_flink_operator.constants import (
    GROUP,
    KIND_DEPLOYMENT,
    KIND_STATE_SNAPSHOT,
    LABEL_MANAGED_BY,
    MANAGED_BY,
    PLURALS,
    VERSION,
)
from airflow_flink_operator.hooks.apply import refuse_unrendered
from airflow_flink_operator.hooks.common import (
    LABEL_SNAPSHOT_JOB_KIND,
    LABEL_SNAPSHOT_JOB_NAME,
    MERGE_PATCH,
    FlinkApiError,
    _api_reason,
)

log = logging.getLogger(__name__)

#: The ConfigMap in which savepoint tasks note whether the namespace's Flink operator reconciles FlinkStateSnapshots.
SNAPSHOT_CONTROLLER_NOTE = "airflow-flink-snapshot-controller"


class SavepointsMixin:
    """Savepoint calls of :class:`~airflow_flink_operator.hooks.FlinkKubernetesHook` (uses its ``_call``,
    ``get``, ``list``, ``patch_spec`` and clients)."""

    _snapshots_served: bool | None
    request_timeout: float

    def snapshot_resources_served(self) -> bool:
        """Whether the cluster serves FlinkStateSnapshot (operator 1.10+ CRD), asked once per hook."""
        if self._snapshots_served is None:
            from kubernetes.client.exceptions import ApiException

            try:
                resources = self._custom.get_api_resources(GROUP, VERSION, _request_timeout=self.request_timeout)
                self._snapshots_served = any(r.name == PLURALS[KIND_STATE_SNAPSHOT] for r in resources.resources)
            except ApiException as exc:
                if exc.status != 404:
                    raise FlinkApiError(f"discover {GROUP}/{VERSION}", exc.status, _api_reason(exc)) from exc
                self._snapshots_served = False
        return self._snapshots_served

    def create_snapshot(self, manifest: dict[str, Any], namespace: str | None = None) -> dict[str, Any]:
        """Create a FlinkStateSnapshot from its rendered manifest; labelled with its job like the operator does.

        If one with the same name exists it is returned unchanged (a retried task does not
        trigger a second savepoint).

        :param manifest: the rendered FlinkStateSnapshot (:func:`airflow_flink_operator.manifests.render`).
        :param namespace: the namespace (else the manifest's, the hook's, the connection's).
        :raises TypeError: given a model, or a dict that is not a FlinkStateSnapshot manifest.
        """
        if not isinstance(manifest, dict) or manifest.get("kind") != KIND_STATE_SNAPSHOT:
            refuse_unrendered(manifest, "FlinkKubernetesHook.create_snapshot()", "a FlinkStateSnapshot manifest dict")
        manifest = copy.deepcopy(manifest)
        ns = self.resolve_namespace(namespace, manifest)
        ref = manifest["spec"].get("jobReference") or {}
        labels = manifest["metadata"].setdefault("labels", {})
        if ref:
            labels.setdefault(LABEL_SNAPSHOT_JOB_KIND, ref.get("kind", KIND_DEPLOYMENT))
            labels.setdefault(LABEL_SNAPSHOT_JOB_NAME, ref["name"])
        manifest["metadata"]["namespace"] = ns
        name = manifest["metadata"]["name"]
        existing = self.get(KIND_STATE_SNAPSHOT, name, ns)
        if existing is not None:
            log.info("FlinkStateSnapshot %s/%s already exists; not triggering another", ns, name)
            return existing
        try:
            return self._call(f"create FlinkStateSnapshot {ns}/{name}", self._custom.create_namespaced_custom_object,
                              GROUP, VERSION, ns, PLURALS[KIND_STATE_SNAPSHOT], manifest)
        except FlinkApiError as err:
            if err.status == 409:
                return self.get(KIND_STATE_SNAPSHOT, name, ns) or {}
            raise

    def list_snapshots(self, job_name: str, namespace: str | None = None, job_kind: str = KIND_DEPLOYMENT,
                       label_selector: str | None = None) -> list[dict[str, Any]]:
        """FlinkStateSnapshots of one job, by their ``spec.jobReference``.

        Not by the operator's ``job-reference.*`` labels alone: the operator adds those only when
        its snapshot controller first reconciles a snapshot, so a savepoint it has just recorded
        (an upgrade's) would be missed.
        """
        snapshots = self.list(KIND_STATE_SNAPSHOT, namespace, label_selector)
        return [s for s in snapshots
                if ((s.get("spec") or {}).get("jobReference") or {}).get("name") == job_name
                and ((s.get("spec") or {}).get("jobReference") or {}).get("kind", KIND_DEPLOYMENT) == job_kind]

    def trigger_savepoint_nonce(self, kind: str, name: str, namespace: str | None = None,
                                nonce: int | None = None) -> int:
        """Trigger a savepoint the legacy way: set ``spec.job.savepointTriggerNonce`` to a new value.

        :return: the nonce; pass it to the status model to find the result.
        """
        current = self.get(kind, name, namespace)
        if current is None:
            raise FlinkApiError(f"trigger savepoint of {kind} {name}", 404, "the resource does not exist")
        old = ((current.get("spec") or {}).get("job") or {}).get("savepointTriggerNonce")
        if nonce is None:
            nonce = max(int(time.time() * 1000), (old or 0) + 1)
        if nonce == old:
            return nonce
        self.patch_spec(kind, name, {"job": {"savepointTriggerNonce": nonce}}, namespace)
        return nonce

    def snapshot_controller_note(self, namespace: str | None = None) -> dict[str, str] | None:
        """The data of the namespace's snapshot-controller note (a ConfigMap), or ``None``.

        The note only saves time, so a note that cannot be read (no ``get`` on ConfigMaps, an API
        error) is logged and treated as absent rather than failing the savepoint.
        """
        ns = self.resolve_namespace(namespace)
        try:
            found = self._call(f"get ConfigMap {ns}/{SNAPSHOT_CONTROLLER_NOTE}", self._core.read_namespaced_config_map,
                               SNAPSHOT_CONTROLLER_NOTE, ns, not_found_ok=True)
        except FlinkApiError as err:
            log.warning("Cannot read the snapshot-controller note %s/%s (%s); FlinkStateSnapshot is tried",
                        ns, SNAPSHOT_CONTROLLER_NOTE, err)
            return None
        return dict(found.data or {}) if found is not None else None

    def note_snapshot_controller(self, data: dict[str, str], namespace: str | None = None) -> None:
        """Write the namespace's snapshot-controller note (create the ConfigMap, or merge-patch its data).

        A note that cannot be written (no ``create``/``patch`` on ConfigMaps) is logged, not raised:
        the savepoint itself is done.
        """
        ns = self.resolve_namespace(namespace)
        action = f"write ConfigMap {ns}/{SNAPSHOT_CONTROLLER_NOTE}"
        body = {"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": SNAPSHOT_CONTROLLER_NOTE, "namespace": ns, "labels": {LABEL_MANAGED_BY: MANAGED_BY}},
                "data": data}
        try:
            try:
                self._call(action, self._core.create_namespaced_config_map, ns, body)
            except FlinkApiError as err:
                if err.status != 409:
                    raise
                self._call(action, self._core.patch_namespaced_config_map, SNAPSHOT_CONTROLLER_NOTE, ns,
                           {"data": data}, _content_type=MERGE_PATCH)
        except FlinkApiError as err:
            log.warning("Cannot write the snapshot-controller note %s/%s (%s); the next savepoint finds out again",
                        ns, SNAPSHOT_CONTROLLER_NOTE, err)
            return
        log.info("Noted in ConfigMap %s/%s: snapshot controller %s", ns, SNAPSHOT_CONTROLLER_NOTE,
                 data.get("snapshotController"))
