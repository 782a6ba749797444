"""What every Flink operator shares: connection settings, waiting (blocking or deferred), errors.

Nothing here builds a hook or touches the network in ``__init__``: DAG files stay cheap to parse.
"""

from __future__ import annotations

import time
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator, BaseOperatorLink

from airflow_flink_operator.constants import DEFAULT_OPERATOR_VERSION

if TYPE_CHECKING:
    from airflow_flink_operator.hooks import FlinkKubernetesHook


def default_deferrable() -> bool:
    """Airflow's ``[operators] default_deferrable``."""
    from airflow.sdk import conf

    return conf.getboolean("operators", "default_deferrable", fallback=False)


class FlinkTaskError(RuntimeError):
    """A Flink task failed: the message carries the resource's state, ``status.error``, events and log."""


class FlinkWebUILink(BaseOperatorLink):
    """The Flink web UI, when the deployment has an ingress with a host."""

    name = "Flink Web UI"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        """The URL the task stored in XCom (empty when there is none)."""
        from airflow.providers.common.compat.sdk import XCom

        return XCom.get_value(ti_key=ti_key, key=self.xcom_key) or ""


class FlinkBaseOperator(BaseOperator):
    """Base of the Flink operators: connection, namespace, and the uniform waiting knobs.

    :param namespace: namespace of the resources (default: the manifest's, then the connection's). (templated)
    :param kubernetes_conn_id: the Kubernetes connection.
    :param in_cluster: use the in-cluster configuration.
    :param config_file: path to a kubeconfig file. (templated)
    :param cluster_context: kubeconfig context.
    :param operator_version: the Flink Kubernetes Operator version manifests target.
    :param wait_for_completion: wait for the outcome (else return once the change is applied).
    :param deferrable: wait in the triggerer, holding no worker slot (default ``[operators] default_deferrable``).
    :param poll_interval: seconds between checks when not deferrable.
    :param timeout: seconds to wait before failing.
    """

    ui_color = "#e6522c"
    ui_fgcolor = "#fff"
    template_fields: tuple[str, ...] = ("namespace", "config_file")

    def __init__(
        self,
        *,
        namespace: str | None = None,
        kubernetes_conn_id: str | None = "kubernetes_default",
        in_cluster: bool | None = None,
        config_file: str | None = None,
        cluster_context: str | None = None,
        operator_version: str = DEFAULT_OPERATOR_VERSION,
        wait_for_completion: bool = True,
        deferrable: bool | None = None,
        poll_interval: float = 10.0,
        timeout: float = 3600.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.namespace = namespace
        self.kubernetes_conn_id = kubernetes_conn_id
        self.in_cluster = in_cluster
        self.config_file = config_file
        self.cluster_context = cluster_context
        self.operator_version = operator_version
        self.wait_for_completion = wait_for_completion
        self.deferrable = default_deferrable() if deferrable is None else deferrable
        self.poll_interval = poll_interval
        self.timeout = timeout

    @cached_property
    def hook(self) -> FlinkKubernetesHook:
        """The hook, built on first use (never at DAG parse time)."""
        from airflow_flink_operator.hooks import FlinkKubernetesHook

        return FlinkKubernetesHook(
            kubernetes_conn_id=self.kubernetes_conn_id, namespace=self.namespace, in_cluster=self.in_cluster,
            config_file=self.config_file, cluster_context=self.cluster_context, operator_version=self.operator_version,
        )

    def resolved_namespace(self, manifest: dict[str, Any] | None = None) -> str:
        """The namespace the task acts in."""
        return self.hook.resolve_namespace(self.namespace, manifest)

    # --- waiting ---------------------------------------------------------------------------

    def wait_or_defer(self, context: Any, *, kind: str, name: str, namespace: str, mode: str = "resource",
                      target: str | None = None, nonce: int | None = None, method_name: str = "execute_complete",
                      extra: dict[str, Any] | None = None, timeout: float | None = None) -> Any:
        """Wait for an outcome: defer to the trigger, or block here; then continue in ``method_name``.

        The continuation is called as ``method(context, event)``; ``extra`` comes back as
        ``event["echo"]`` on both paths (the trigger carries it, so no deferral kwargs are needed).
        """
        timeout = self.timeout if timeout is None else timeout
        if self.deferrable:
            from airflow_flink_operator.triggers import FlinkWaitTrigger

            self.defer(
                trigger=FlinkWaitTrigger(kind=kind, name=name, namespace=namespace, mode=mode, target=target,
                                         nonce=nonce, timeout_at=time.time() + timeout,
                                         kubernetes_conn_id=self.kubernetes_conn_id, in_cluster=self.in_cluster,
                                         config_file=self.config_file, cluster_context=self.cluster_context,
                                         echo=extra or {}),
                method_name=method_name,
                timeout=timedelta(seconds=timeout + 60),
            )
        status, message, result = self.hook.wait(kind, name, namespace, mode=mode, target=target, nonce=nonce,
                                                  timeout=timeout, poll_interval=self.poll_interval)
        return getattr(self, method_name)(context, {"status": status, "message": message, "result": result,
                                                    "echo": extra or {}})

    def check_event(self, event: dict[str, Any] | None, *, kind: str, name: str, namespace: str) -> dict[str, Any]:
        """Return the event's result, or raise :class:`FlinkTaskError` with diagnostics."""
        if not event or event.get("status") not in ("success", "error", "timeout"):
            raise FlinkTaskError(f"Unexpected trigger event for {kind} {namespace}/{name}: {event!r}")
        if event["status"] == "success":
            self.log.info("%s", event.get("message"))
            return dict(event.get("result") or {})
        self.fail(event["message"], kind=kind, name=name, namespace=namespace)
        raise AssertionError("unreachable")

    def fail(self, message: str, *, kind: str, name: str, namespace: str) -> None:
        """Raise :class:`FlinkTaskError` with ``message`` plus the resource's diagnostics."""
        try:
            details = self.hook.diagnostics(kind, name, namespace)
        except Exception as exc:  # the cluster may be the problem; keep the original message
            details = f"(diagnostics unavailable: {exc})"
        self.log.error("%s\n%s", message, details)
        raise FlinkTaskError(f"{message}\n{details}")

    def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
        """Default continuation: return the result of a successful wait."""
        extra = event.get("echo") or {}
        result = self.check_event(event, kind=extra.get("kind", ""), name=extra.get("name", ""),
                                  namespace=extra.get("namespace", ""))
        return {**extra.get("base", {}), **result}
