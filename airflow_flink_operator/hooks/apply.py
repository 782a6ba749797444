"""Create-or-update of rendered manifests, and the job-file ConfigMaps a resource owns.

The hook takes manifests as the operators render them (:func:`airflow_flink_operator.manifests.render`);
nothing here renders or validates a model. ConfigMaps get an ownerReference to their resource, so
Kubernetes deletes them with it, and older generations are pruned.
"""

from __future__ import annotations

import copy
import logging
import random
import time
from typing import Any

from airflow_flink_operator.constants import (
    API_VERSION,
    GROUP,
    LABEL_COMPONENT,
    LABEL_OWNER_KIND,
    LABEL_OWNER_NAME,
    VERSION,
)
from airflow_flink_operator.hooks.common import MERGE_PATCH, FlinkApiError, _plural

log = logging.getLogger(__name__)


def same_json(a: Any, b: Any) -> bool:
    """Whether two JSON documents mean the same to the API server: ``1.0`` equals ``1`` (it stores
    both as ``1``), but ``true`` never equals ``1`` (Python's ``True == 1`` would say so)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_json(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def owner_reference(obj: dict[str, Any]) -> dict[str, Any]:
    """An ownerReference to ``obj`` that makes Kubernetes delete dependents with it."""
    return {
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "name": obj["metadata"]["name"],
        "uid": obj["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }



def refuse_unrendered(resource: Any, what: str, shape: str) -> None:
    """Refuse a model (or anything else not yet rendered) with an error that says what to do."""
    raise TypeError(
        f"{what} takes rendered manifests ({shape}), not {type(resource).__name__}: render the model first with "
        "airflow_flink_operator.manifests.render() (operators do it in FlinkBaseOperator.render_manifests())")


class ApplyMixin:
    """Create-or-update for :class:`~airflow_flink_operator.hooks.FlinkKubernetesHook` (uses its
    ``_call``, ``get``, ``resolve_namespace`` and clients)."""

    keep_config_maps: int
    conflict_retries: int

    def apply(
        self,
        manifests: list[dict[str, Any]],
        namespace: str | None = None,
        *,
        labels: dict[str, str] | None = None,
        annotations: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Create the resource (and its ConfigMaps) if absent, else update it; idempotent.

        ConfigMaps get an ownerReference to the resource so they go away with it. A re-run with the
        same spec changes nothing (no new generation); a changed spec replaces the old one, with a
        fresh read and a bounded retry on ``409 Conflict``.

        :param manifests: rendered manifests (:func:`airflow_flink_operator.manifests.render`): exactly
            one Flink resource, plus the ConfigMaps it needs.
        :param namespace: the namespace (else the manifest's, the hook's, the connection's).
        :param labels: extra labels for the resource (e.g. the task instance's).
        :param annotations: extra annotations for the resource.
        :return: the resource as stored by the API.
        :raises TypeError: given a model, or anything but a list of manifest dicts.
        """
        if not isinstance(manifests, list) or not all(isinstance(m, dict) for m in manifests):
            refuse_unrendered(manifests, "FlinkKubernetesHook.apply()", "a list of dicts")
        manifests = copy.deepcopy(manifests)
        custom = [m for m in manifests if m.get("apiVersion") == API_VERSION]
        if len(custom) != 1:
            raise ValueError(f"expected exactly one Flink resource among the manifests, got {len(custom)}")
        cr = custom[0]
        ns = self.resolve_namespace(namespace, cr)
        if labels:
            cr["metadata"]["labels"] = {**(cr["metadata"].get("labels") or {}), **labels}
        if annotations:
            cr["metadata"]["annotations"] = {**(cr["metadata"].get("annotations") or {}), **annotations}
        config_maps = [m for m in manifests if m["kind"] == "ConfigMap"]
        created_maps = [self._ensure_config_map(cm, ns) for cm in config_maps]
        try:
            stored = self._create_or_update(cr, ns)
        except Exception:
            for name, was_created in created_maps:
                if was_created:
                    self._call(f"delete ConfigMap {ns}/{name}", self._core.delete_namespaced_config_map,
                               name, ns, not_found_ok=True)
            raise
        for cm in config_maps:
            self._own_config_map(cm["metadata"]["name"], ns, stored)
        if config_maps:
            self._prune_config_maps(stored, ns, {cm["metadata"]["name"] for cm in config_maps})
        return stored

    def _ensure_config_map(self, cm: dict[str, Any], ns: str) -> tuple[str, bool]:
        name = cm["metadata"]["name"]
        body = {**cm, "metadata": {**cm["metadata"], "namespace": ns}}
        existing = self._call(f"get ConfigMap {ns}/{name}", self._core.read_namespaced_config_map, name, ns,
                              not_found_ok=True)
        if existing is None:
            self._call(f"create ConfigMap {ns}/{name}", self._core.create_namespaced_config_map, ns, body)
            return name, True
        # Content-addressed names: same name means same data. Nothing to do.
        return name, False

    def _own_config_map(self, name: str, ns: str, owner: dict[str, Any]) -> None:
        ref = owner_reference(owner)
        current = self._call(f"get ConfigMap {ns}/{name}", self._core.read_namespaced_config_map, name, ns)
        refs = current.metadata.owner_references or []
        if any(r.uid == ref["uid"] for r in refs):
            return
        patch = {"metadata": {"ownerReferences": [self.api_client.sanitize_for_serialization(r) for r in refs] + [ref]}}
        self._call(f"patch ConfigMap {ns}/{name}", self._core.patch_namespaced_config_map, name, ns, patch,
                   _content_type=MERGE_PATCH)

    def _prune_config_maps(self, owner: dict[str, Any], ns: str, current: set[str]) -> None:
        selector = f"{LABEL_OWNER_KIND}={owner['kind']},{LABEL_OWNER_NAME}={owner['metadata']['name']}"
        maps = self._call(f"list ConfigMaps of {owner['metadata']['name']}", self._core.list_namespaced_config_map,
                          ns, label_selector=selector).items
        by_component: dict[str, list[Any]] = {}
        for cm in maps:
            by_component.setdefault((cm.metadata.labels or {}).get(LABEL_COMPONENT, ""), []).append(cm)
        for items in by_component.values():
            items.sort(key=lambda c: (c.metadata.creation_timestamp, int(c.metadata.resource_version)), reverse=True)
            for cm in items[self.keep_config_maps:]:
                if cm.metadata.name not in current:
                    log.info("Pruning old job-file ConfigMap %s/%s", ns, cm.metadata.name)
                    self._call(f"delete ConfigMap {ns}/{cm.metadata.name}", self._core.delete_namespaced_config_map,
                               cm.metadata.name, ns, not_found_ok=True)

    def _create_or_update(self, cr: dict[str, Any], ns: str) -> dict[str, Any]:
        kind, name = cr["kind"], cr["metadata"]["name"]
        plural = _plural(kind)
        body = {k: v for k, v in cr.items() if k != "status"}
        body["metadata"] = {**body["metadata"], "namespace": ns}
        for attempt in range(self.conflict_retries + 1):
            current = self.get(kind, name, ns)
            if current is None:
                try:
                    created = self._call(f"create {kind} {ns}/{name}", self._custom.create_namespaced_custom_object,
                                         GROUP, VERSION, ns, plural, body)
                    log.info("Created %s %s/%s", kind, ns, name)
                    return created
                except FlinkApiError as err:
                    if err.status == 409 and attempt < self.conflict_retries:
                        continue  # created concurrently: read it and update instead
                    raise
            desired = copy.deepcopy(current)
            desired.pop("status", None)
            spec_changed = not same_json(body.get("spec"), current.get("spec"))
            if spec_changed:
                desired["spec"] = body.get("spec")
            # Else keep the stored spec byte for byte: the API server compares specs type-strictly
            # (``1.0`` sent vs ``1`` stored is a change and a new generation, so a redeploy), while
            # Python sees them equal. A spec that is semantically unchanged is never sent.
            for key in ("labels", "annotations"):
                merged = {**(current["metadata"].get(key) or {}), **(body["metadata"].get(key) or {})}
                if merged:
                    desired["metadata"][key] = merged
            unchanged = not spec_changed and all(
                desired["metadata"].get(k) == current["metadata"].get(k) for k in ("labels", "annotations"))
            if unchanged:
                log.info("%s %s/%s is already up to date (generation %s)", kind, ns, name,
                         current["metadata"].get("generation"))
                return current
            try:
                updated = self._call(f"update {kind} {ns}/{name}", self._custom.replace_namespaced_custom_object,
                                     GROUP, VERSION, ns, plural, name, desired)
                log.info("Updated %s %s/%s to generation %s", kind, ns, name, updated["metadata"].get("generation"))
                return updated
            except FlinkApiError as err:
                if err.status == 409 and attempt < self.conflict_retries:
                    time.sleep(min(0.05 * 2**attempt, 1.0) * (1 + random.random()))
                    continue
                raise
        raise AssertionError("unreachable")

