"""The Flink hook: read, write and delete Flink custom resources, each call retried with bounded backoff.

Built on the cncf.kubernetes provider's hook: the same ``kubernetes_default`` connection,
``in_cluster``, ``config_file``, ``cluster_context`` and ``config_dict`` work as for
:class:`~airflow.providers.cncf.kubernetes.hooks.kubernetes.KubernetesHook`. The hook takes rendered
manifests (plain dicts) and talks to the API, nothing else; its other duties live beside it:

- :mod:`.apply`: create-or-update, the job-file ConfigMaps a resource owns and their pruning;
- :mod:`.savepoints`: FlinkStateSnapshot discovery and creation, a job's snapshots, the legacy nonce;
- :mod:`.waiting`: the blocking wait over the status model's one step (and waiting for a deletion);
- :mod:`.diagnostics`: status, events and the JobManager log tail for failure messages;
- :mod:`.flink_rest`: Flink's REST API through the API server's service proxy (checkpoints).

Nothing here sends a status: the status belongs to the Flink operator.
"""

from __future__ import annotations

import logging
import random
import time
from functools import cached_property
from typing import Any

from airflow.providers.cncf.kubernetes.hooks.kubernetes import KubernetesHook

from airflow_flink_operator.constants import GROUP, VERSION
from airflow_flink_operator.hooks.apply import ApplyMixin, owner_reference, same_json
from airflow_flink_operator.hooks.common import (
    MERGE_PATCH,
    RETRYABLE_STATUS,
    FlinkApiError,
    _api_reason,
    _plural,
)
from airflow_flink_operator.hooks.diagnostics import DiagnosticsMixin
from airflow_flink_operator.hooks.flink_rest import FlinkRestMixin
from airflow_flink_operator.hooks.savepoints import SavepointsMixin
from airflow_flink_operator.hooks.waiting import WaitingMixin

__all__ = ["FlinkKubernetesHook", "owner_reference", "same_json"]

log = logging.getLogger(__name__)


class FlinkKubernetesHook(ApplyMixin, SavepointsMixin, WaitingMixin, DiagnosticsMixin, FlinkRestMixin, KubernetesHook):
    """Apply, read, patch and delete Flink custom resources; savepoints; waits; diagnostics; Flink's REST API
    through the service proxy (:mod:`.flink_rest`).

    :param kubernetes_conn_id: the Kubernetes connection (default ``kubernetes_default``).
    :param namespace: default namespace (else the manifest's, the connection's, then ``default``).
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
        request_timeout: float = 30.0,
        conflict_retries: int = 5,
        transient_retries: int = 4,
        keep_config_maps: int = 3,
        **kwargs: Any,
    ) -> None:
        super().__init__(kubernetes_conn_id=kubernetes_conn_id, **kwargs)
        self.default_namespace = namespace
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
