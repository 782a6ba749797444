"""What a failure message needs: the resource's status and error, its recent events, the JobManager log tail."""

from __future__ import annotations

from typing import Any

from airflow_flink_operator.constants import KIND_DEPLOYMENT
from airflow_flink_operator.hooks.common import FlinkApiError


class DiagnosticsMixin:
    """Diagnostics of :class:`~airflow_flink_operator.hooks.FlinkKubernetesHook` (uses its ``_call``,
    ``get`` and clients). Read-only."""

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
