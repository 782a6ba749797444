"""One description of "how to reach the Kubernetes API", shared by operators, sensors and triggers.

A :class:`KubernetesConnection` holds only names and paths (an Airflow connection id, a kubeconfig
path, a context name, the in-cluster switch), never credentials or file contents, so it can travel in
a trigger's serialised kwargs. Both hooks are built from it, so the blocking and the deferrable paths
read the same connection the same way.

Importing this module is cheap: the hooks (and the Kubernetes clients) are imported on first use.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_flink_operator.hooks.flink_kubernetes import FlinkKubernetesHook
    from airflow_flink_operator.hooks.flink_kubernetes_async import AsyncFlinkKubernetesHook

DEFAULT_CONN_ID = "kubernetes_default"


class KubeconfigNotFound(FileNotFoundError):
    """A ``config_file`` that is in none of the places looked (all named in the message)."""


def resolve_config_file(config_file: str, search_path: Iterable[str]) -> str:
    """The absolute path of a kubeconfig: an absolute ``config_file`` as it is, a relative one looked
    up in each folder of ``search_path`` in turn (a task's: its DAG file's folder, then the DAG's
    ``template_searchpath``, as Airflow finds templates), never in the worker's working directory.

    :raises KubeconfigNotFound: naming every place looked, when the file is in none of them.
    """
    path = os.path.expanduser(config_file)
    if os.path.isabs(path):
        candidates = [os.path.normpath(path)]
    else:
        candidates = list(dict.fromkeys(os.path.normpath(os.path.join(os.path.abspath(folder), path))
                                        for folder in search_path))
    for candidate in candidates:
        if os.path.isfile(candidate):
            return candidate
    looked = ", ".join(candidates) or "nowhere (no folder to look in)"
    hint = ("" if os.path.isabs(path) else
            " A relative config_file is resolved against the DAG file's folder, then the DAG's template_searchpath;"
            " give an absolute path or put the file there.")
    raise KubeconfigNotFound(f"config_file {config_file!r}: no kubeconfig file at {looked}.{hint}")


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

    def with_config_file_resolved(self, search_path: Iterable[str]) -> KubernetesConnection:
        """This connection with its ``config_file`` made absolute (:func:`resolve_config_file`), so that
        the worker, and a triggerer on another machine or in another directory, read the same file."""
        if not self.config_file:
            return self
        return replace(self, config_file=resolve_config_file(self.config_file, search_path))

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

        return AsyncFlinkKubernetesHook(conn_id=self.conn_id, in_cluster=self.in_cluster, config_file=self.config_file,
                                        cluster_context=self.cluster_context, **kwargs)
