"""One description of "how to reach the Kubernetes API", shared by operators, sensors and triggers.

A :class:`KubernetesConnection` holds only names and paths (an Airflow connection id, a kubeconfig
path, a context name, the in-cluster switch), never credentials or file contents, so it can travel in
a trigger's serialised kwargs. Both hooks are built from it, so the blocking and the deferrable paths
read the same connection the same way.

Importing this module is cheap: the hooks (and the Kubernetes clients) are imported on first use.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_flink_operator.hooks.flink_kubernetes import FlinkKubernetesHook
    from airflow_flink_operator.hooks.flink_kubernetes_async import AsyncFlinkKubernetesHook

DEFAULT_CONN_ID = "kubernetes_default"


@dataclass(frozen=True)
class KubernetesConnection:
    """How to reach the Kubernetes API: the same settings as the cncf.kubernetes hooks take.

    :param conn_id: the Airflow connection (``kubernetes_default`` by default; ``None`` = no
        connection: the settings below, else in-cluster, else the default kubeconfig).
    :param in_cluster: use the pod's service account (overrides the connection's ``in_cluster``).
    :param config_file: a kubeconfig path (overrides the connection's ``kube_config_path``).
    :param cluster_context: the kubeconfig context (overrides the connection's ``cluster_context``).
    """

    conn_id: str | None = DEFAULT_CONN_ID
    in_cluster: bool | None = None
    config_file: str | None = None
    cluster_context: str | None = None

    def serialize(self) -> dict[str, Any]:
        """JSON-able primitives (names and paths only), for a trigger's kwargs."""
        return asdict(self)

    @classmethod
    def deserialize(cls, data: dict[str, Any] | None) -> KubernetesConnection:
        """The connection :meth:`serialize` described; ``None`` or ``{}`` = the defaults.

        :raises TypeError: on a key this class does not know (a typo must not silently mean "default").
        """
        if data is None:
            return cls()
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise TypeError(f"unknown Kubernetes connection settings: {', '.join(sorted(unknown))}")
        return cls(**data)

    def cache_key(self) -> tuple[Any, ...]:
        """What identifies the API server and identity reached: hubs and clients are shared per key."""
        return (self.conn_id, self.in_cluster, self.config_file, self.cluster_context)

    def sync_hook(self, **kwargs: Any) -> FlinkKubernetesHook:
        """A :class:`~airflow_flink_operator.hooks.FlinkKubernetesHook` for this connection.

        :param kwargs: more ``FlinkKubernetesHook`` arguments (``namespace``, ``request_timeout``...).
        """
        from airflow_flink_operator.hooks.flink_kubernetes import FlinkKubernetesHook

        return FlinkKubernetesHook(kubernetes_conn_id=self.conn_id, in_cluster=self.in_cluster,
                                   config_file=self.config_file, cluster_context=self.cluster_context, **kwargs)

    def async_hook(self, **kwargs: Any) -> AsyncFlinkKubernetesHook:
        """An :class:`~airflow_flink_operator.hooks.AsyncFlinkKubernetesHook` for this connection.

        :param kwargs: more ``AsyncFlinkKubernetesHook`` arguments (``namespace``, ``request_timeout``...).
        """
        from airflow_flink_operator.hooks.flink_kubernetes_async import AsyncFlinkKubernetesHook

        # Both conn_id and kubernetes_conn_id: cncf's hook falls back to kubernetes_default when
        # conn_id is None, and None must mean "no connection" here as for the sync hook.
        return AsyncFlinkKubernetesHook(conn_id=self.conn_id, kubernetes_conn_id=self.conn_id,
                                        in_cluster=self.in_cluster, config_file=self.config_file,
                                        cluster_context=self.cluster_context, **kwargs)
