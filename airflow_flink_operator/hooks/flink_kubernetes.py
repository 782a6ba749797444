"""Hooks for Flink custom resources, built on the cncf.kubernetes provider's hooks.

The same ``kubernetes_default`` connection, ``in_cluster``, ``config_file``, ``cluster_context`` and
``config_dict`` work as for :class:`~airflow.providers.cncf.kubernetes.hooks.kubernetes.KubernetesHook`.
Nothing here sends a status: the status belongs to the Flink operator.
"""

from __future__ import annotations

import copy
import logging
import random
import time
from functools import cached_property
from typing import Any

from airflow.providers.cncf.kubernetes.hooks.kubernetes import KubernetesHook

from airflow_flink_operator.constants import (
    API_VERSION,
    DEFAULT_OPERATOR_VERSION,
    GROUP,
    KIND_DEPLOYMENT,
    KIND_SESSION_JOB,
    KIND_STATE_SNAPSHOT,
    LABEL_COMPONENT,
    LABEL_OWNER_KIND,
    LABEL_OWNER_NAME,
    PLURALS,
    VERSION,
)
from airflow_flink_operator.hooks.common import (
    LABEL_SNAPSHOT_JOB_KIND,
    LABEL_SNAPSHOT_JOB_NAME,
    MERGE_PATCH,
    RETRYABLE_STATUS,
    FlinkApiError,
    _api_reason,
    _plural,
)

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


class FlinkKubernetesHook(KubernetesHook):
    """Apply, read, patch and delete Flink custom resources; savepoints; diagnostics.

    :param kubernetes_conn_id: the Kubernetes connection (default ``kubernetes_default``).
    :param namespace: default namespace (else the manifest's, the connection's, then ``default``).
    :param operator_version: the operator version manifests are rendered for.
    :param request_timeout: seconds for one API request.
    :param conflict_retries: how often a 409 Conflict on update is retried with a fresh read.
    :param transient_retries: how often one call is retried on 429/5xx or a lost connection.
    :param keep_config_maps: job-file ConfigMap generations kept per resource (older ones are
        pruned; the newest are kept so a rollback to the last stable spec still finds its files).
    :param kwargs: passed to ``KubernetesHook`` (``in_cluster``, ``config_file``, ``cluster_context``,
        ``config_dict``...).
    """

    hook_name = "Flink Kubernetes Operator"

    def __init__(
        self,
        kubernetes_conn_id: str | None = KubernetesHook.default_conn_name,
        *,
        namespace: str | None = None,
        operator_version: str = DEFAULT_OPERATOR_VERSION,
        request_timeout: float = 30.0,
        conflict_retries: int = 5,
        transient_retries: int = 4,
        keep_config_maps: int = 3,
        **kwargs: Any,
    ) -> None:
        super().__init__(kubernetes_conn_id=kubernetes_conn_id, **kwargs)
        self.default_namespace = namespace
        self.operator_version = operator_version
        self.request_timeout = request_timeout
        self.conflict_retries = conflict_retries
        self.transient_retries = transient_retries
        self.keep_config_maps = keep_config_maps
        self._snapshots_served: bool | None = None

    # --- clients ---------------------------------------------------------------------------

    @cached_property
    def _custom(self) -> Any:
        from kubernetes import client

        return client.CustomObjectsApi(self.api_client)

    @cached_property
    def _core(self) -> Any:
        from kubernetes import client

        return client.CoreV1Api(self.api_client)

    def resolve_namespace(self, namespace: str | None = None, manifest: dict[str, Any] | None = None) -> str:
        """The namespace to use: explicit, then the manifest's, the hook's, the connection's, ``default``."""
        from_manifest = ((manifest or {}).get("metadata") or {}).get("namespace")
        return namespace or from_manifest or self.default_namespace or self.get_namespace() or "default"

    def _call(self, action: str, fn: Any, *args: Any, not_found_ok: bool = False, **kwargs: Any) -> Any:
        """One API call, retried with bounded backoff on transient failures (429/5xx, lost connections).

        Every call this hook makes is safe to repeat: reads, updates guarded by resourceVersion,
        creates (a repeat answers 409 and the caller reads instead), merge patches, deletes. A
        ``401 Unauthorized`` rebuilds the client from the connection once (re-running an exec
        plugin: EKS and GKE tokens expire) and repeats the call.
        """
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError as Urllib3Error

        attempt, reauthenticated = 0, False
        while True:
            try:
                return fn(*args, _request_timeout=self.request_timeout, **kwargs)
            except ApiException as exc:
                if not_found_ok and exc.status == 404:
                    return None
                if exc.status == 401 and not reauthenticated:
                    reauthenticated = True
                    log.info("%s: 401 Unauthorized; reloading the credentials and trying again", action)
                    fn = self._reconnected(fn)
                    continue
                if exc.status not in RETRYABLE_STATUS or attempt == self.transient_retries:
                    raise FlinkApiError(action, exc.status, _api_reason(exc)) from exc
                log.warning("%s: answered %s; retrying", action, exc.status)
            except (Urllib3Error, OSError) as exc:
                if attempt == self.transient_retries:
                    raise FlinkApiError(action, None, f"no answer from the API server: {exc}") from exc
                log.warning("%s: %s; retrying", action, type(exc).__name__)
            time.sleep(min(2.0, 0.1 * 2**attempt) * (0.5 + random.random() / 2))
            attempt += 1

    def _reconnected(self, fn: Any) -> Any:
        """Drop the cached clients (a new one loads the connection and credentials again); ``fn`` on the new one."""
        owner = getattr(fn, "__self__", None)
        which = next((name for name in ("_custom", "_core") if self.__dict__.get(name) is owner), None)
        for name in ("_custom", "_core", "api_client", "core_v1_client", "custom_object_client"):
            self.__dict__.pop(name, None)
        return getattr(getattr(self, which), fn.__name__) if which else fn

    # --- generic custom-resource access ----------------------------------------------------

    def get(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        """The resource as the API returns it, or ``None`` if it does not exist."""
        ns = self.resolve_namespace(namespace)
        return self._call(f"get {kind} {ns}/{name}", self._custom.get_namespaced_custom_object,
                          GROUP, VERSION, ns, _plural(kind), name, not_found_ok=True)

    def list(self, kind: str, namespace: str | None = None, label_selector: str | None = None) -> list[dict[str, Any]]:
        """Resources of a kind in a namespace, optionally filtered by a label selector."""
        ns = self.resolve_namespace(namespace)
        result = self._call(f"list {kind} in {ns}", self._custom.list_namespaced_custom_object,
                            GROUP, VERSION, ns, _plural(kind), label_selector=label_selector or "")
        return list(result.get("items", []))

    def patch_spec(self, kind: str, name: str, patch: dict[str, Any], namespace: str | None = None) -> dict[str, Any]:
        """Merge-patch the spec (``{"job": {"state": "suspended"}}``); ``None`` values remove keys."""
        ns = self.resolve_namespace(namespace)
        return self._call(f"patch {kind} {ns}/{name}", self._custom.patch_namespaced_custom_object,
                          GROUP, VERSION, ns, _plural(kind), name, {"spec": patch}, _content_type=MERGE_PATCH)

    def patch_metadata(self, kind: str, name: str, metadata: dict[str, Any], namespace: str | None = None) -> dict[str, Any]:
        """Merge-patch labels/annotations."""
        ns = self.resolve_namespace(namespace)
        return self._call(f"patch {kind} {ns}/{name}", self._custom.patch_namespaced_custom_object,
                          GROUP, VERSION, ns, _plural(kind), name, {"metadata": metadata}, _content_type=MERGE_PATCH)

    # --- apply -----------------------------------------------------------------------------

    def apply(
        self,
        resource: Any,
        namespace: str | None = None,
        *,
        labels: dict[str, str] | None = None,
        annotations: dict[str, str] | None = None,
        session_cluster: Any = None,
    ) -> dict[str, Any]:
        """Create the resource (and its ConfigMaps) if absent, else update it; idempotent.

        A model or manifest dict is rendered and validated first (nothing is sent if invalid).
        ConfigMaps get an ownerReference to the resource so they go away with it. A re-run with the
        same spec changes nothing (no new generation); a changed spec replaces the old one, with a
        fresh read and a bounded retry on ``409 Conflict``.

        :param resource: a FlinkDeployment / FlinkSessionJob / FlinkStateSnapshot model or dict, or
            a list of already rendered manifests.
        :param labels: extra labels for the resource (e.g. the task instance's).
        :param annotations: extra annotations for the resource.
        :return: the resource as stored by the API.
        """
        from airflow_flink_operator.manifests import render

        if isinstance(resource, list):
            manifests = copy.deepcopy(resource)
        else:
            manifests = render(resource, operator_version=self.operator_version, session_cluster=session_cluster)
        custom = [m for m in manifests if m["apiVersion"] == API_VERSION]
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

    # --- delete ----------------------------------------------------------------------------

    def delete(
        self,
        kind: str,
        name: str,
        namespace: str | None = None,
        *,
        propagation: str = "Background",
        wait: bool = True,
        timeout: float = 300.0,
        poll_interval: float = 1.0,
    ) -> bool:
        """Delete a resource and (by default) wait until it is really gone (finalizers done).

        Background propagation by default, like kubectl: the Flink operator's finalizer stops the
        job and removes the JobManager Deployment itself; with Foreground the garbage collector
        could remove it while the finalizer still needs it (``job.savepoint-on-deletion``), and
        where no garbage collector runs the ``foregroundDeletion`` finalizer would never go
        (reference, section h).

        :return: ``True`` if it existed.
        :raises TimeoutError: if it is still there after ``timeout`` seconds (e.g. a finalizer blocks).
        """
        from kubernetes import client

        ns = self.resolve_namespace(namespace)
        result = self._call(f"delete {kind} {ns}/{name}", self._custom.delete_namespaced_custom_object,
                            GROUP, VERSION, ns, _plural(kind), name,
                            body=client.V1DeleteOptions(propagation_policy=propagation), not_found_ok=True)
        if result is None:
            return False
        log.info("Deleting %s %s/%s", kind, ns, name)
        if wait:
            self.wait_deleted(kind, name, ns, timeout=timeout, poll_interval=poll_interval)
        return True

    def wait_deleted(self, kind: str, name: str, namespace: str | None = None, *, timeout: float = 300.0,
                     poll_interval: float = 1.0) -> None:
        """Block until the resource no longer exists."""
        deadline = time.monotonic() + timeout
        while True:
            obj = self.get(kind, name, namespace)
            if obj is None:
                return
            if time.monotonic() >= deadline:
                finalizers = obj["metadata"].get("finalizers") or []
                raise TimeoutError(
                    f"{kind} {self.resolve_namespace(namespace)}/{name} still exists after {timeout:.0f}s "
                    f"(finalizers: {', '.join(finalizers) or 'none'}; lifecycle: "
                    f"{(obj.get('status') or {}).get('lifecycleState')})"
                )
            time.sleep(poll_interval)

    # --- waiting ---------------------------------------------------------------------------

    def decide(self, kind: str, name: str, namespace: str | None = None, *, mode: str = "resource",
               target: str | None = None, nonce: int | None = None, generation: int | None = None,
               stale_error: str | None = None, pickup_deadline: float | None = None,
               ) -> tuple[str | None, str, dict[str, Any]]:
        """Look once: ``("success" | "error", message, result)`` when decided, ``(None, message, result)``
        while still waiting (see :func:`airflow_flink_operator.models.status.evaluate`)."""
        from airflow_flink_operator.models.status import Phase, evaluate

        obj = self.get(kind, name, namespace)
        phase, message, result = evaluate(mode, obj, kind=kind, name=name, target=target, nonce=nonce,
                                          generation=generation, stale_error=stale_error,
                                          pickup_deadline=pickup_deadline, now=time.time())
        status = {Phase.DONE: "success", Phase.FAILED: "error"}.get(phase)
        return status, message, result

    def wait(
        self,
        kind: str,
        name: str,
        namespace: str | None = None,
        *,
        mode: str = "resource",
        target: str | None = None,
        nonce: int | None = None,
        generation: int | None = None,
        stale_error: str | None = None,
        pickup_deadline: float | None = None,
        timeout: float = 3600.0,
        poll_interval: float = 10.0,
    ) -> tuple[str, str, dict[str, Any]]:
        """Block until a wait is decided (see :meth:`decide`).

        Logs each state change once. Transient API errors (5xx, dropped connections) are retried
        until the timeout.

        :return: ``("success" | "error" | "timeout", message, result)``.
        """
        ns = self.resolve_namespace(namespace)
        deadline = time.monotonic() + timeout
        last_message = None
        while True:
            try:
                status, message, result = self.decide(kind, name, ns, mode=mode, target=target, nonce=nonce,
                                                      generation=generation, stale_error=stale_error,
                                                      pickup_deadline=pickup_deadline)
            except FlinkApiError as err:
                if err.status not in RETRYABLE_STATUS and err.status is not None:
                    raise
                log.warning("Reading %s %s/%s failed (%s); retrying", kind, ns, name, err)
            else:
                if message != last_message:
                    log.info("%s", message)
                    last_message = message
                if status is not None:
                    return status, message, result
            if time.monotonic() >= deadline:
                return "timeout", f"Timed out after {timeout:.0f}s: {last_message or 'no answer from the API'}", {}
            time.sleep(min(poll_interval, max(deadline - time.monotonic(), 0.01)))

    # --- savepoints ------------------------------------------------------------------------

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

    def create_snapshot(self, snapshot: Any, namespace: str | None = None) -> dict[str, Any]:
        """Create a FlinkStateSnapshot (model or dict); labelled with its job like the operator does.

        If one with the same name exists it is returned unchanged (a retried task does not
        trigger a second savepoint).
        """
        from airflow_flink_operator.manifests import render

        (manifest,) = render(snapshot) if not isinstance(snapshot, dict) or snapshot.get("kind") else [snapshot]
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

    # --- diagnostics -----------------------------------------------------------------------

    def events(self, kind: str, name: str, namespace: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
        """The resource's most recent Kubernetes events (oldest first), as plain dicts."""
        ns = self.resolve_namespace(namespace)
        result = self._call(f"list events of {kind} {ns}/{name}", self._core.list_namespaced_event, ns,
                            field_selector=f"involvedObject.kind={kind},involvedObject.name={name}")
        items = [self.api_client.sanitize_for_serialization(e) for e in result.items]
        items.sort(key=lambda e: (e.get("lastTimestamp") or e.get("eventTime") or "",
                                  int(e["metadata"].get("resourceVersion") or 0)))
        return items[-limit:]

    def jobmanager_log_tail(self, name: str, namespace: str | None = None, lines: int = 50) -> str:
        """The last ``lines`` of the JobManager pod log of a FlinkDeployment ('' if no pod)."""
        ns = self.resolve_namespace(namespace)
        pods = self._call(f"list JobManager pods of {ns}/{name}", self._core.list_namespaced_pod, ns,
                          label_selector=f"app={name},component=jobmanager").items
        if not pods:
            return ""
        pod = sorted(pods, key=lambda p: p.metadata.creation_timestamp or 0)[-1]
        # Read the raw response: some client versions hand back str(bytes) for text responses.
        response = self._call(f"read log of pod {ns}/{pod.metadata.name}", self._core.read_namespaced_pod_log,
                              pod.metadata.name, ns, tail_lines=lines, not_found_ok=True, _preload_content=False)
        if response is None:
            return ""
        data = response.data
        return data.decode("utf-8", errors="replace") if isinstance(data, bytes) else str(data)

    def diagnostics(self, kind: str, name: str, namespace: str | None = None, log_lines: int = 30) -> str:
        """A report for failure messages: status, error, recent events, JobManager log tail."""
        from airflow_flink_operator.models.status import FlinkResourceStatus

        ns = self.resolve_namespace(namespace)
        parts = []
        try:
            obj = self.get(kind, name, ns)
            if obj is None:
                return f"{kind} {ns}/{name} does not exist."
            status = FlinkResourceStatus.from_object(obj)
            parts.append(f"{kind} {ns}/{name}: {status.describe()}")
            if status.error:
                parts.append(f"Operator error: {status.error}")
            events = self.events(kind, name, ns, limit=10)
            if events:
                parts.append("Recent events:")
                parts += [f"  {e.get('type')} {e.get('reason')}: {e.get('message')}" for e in events]
            if kind == KIND_DEPLOYMENT:
                tail = self.jobmanager_log_tail(name, ns, log_lines)
                if tail:
                    parts.append(f"JobManager log (last {log_lines} lines):")
                    parts += [f"  {line}" for line in tail.rstrip().splitlines()]
        except FlinkApiError as err:
            parts.append(f"(diagnostics incomplete: {err})")
        return "\n".join(parts)
