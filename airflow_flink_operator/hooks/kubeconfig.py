"""Reading a Kubernetes connection without the synchronous client: what cncf.kubernetes'
``AsyncKubernetesHook._load_config`` reads (provider 10.x), as small helpers for
:class:`~airflow_flink_operator.hooks.flink_kubernetes_async.AsyncFlinkKubernetesHook`."""

from __future__ import annotations

import asyncio
import os
from typing import Any


class KubeConnectionError(ValueError):
    """The connection's settings cannot be used together (or at all)."""


async def get_connection(conn_id: str, hook: Any) -> Any:
    """The Airflow connection, looked up without blocking the event loop."""
    try:
        from airflow.providers.common.compat.connection import get_async_connection
    except ImportError:  # common.compat before get_async_connection
        from airflow.providers.common.compat.sdk import BaseHook

        return await asyncio.to_thread(BaseHook.get_connection, conn_id)
    return await get_async_connection(conn_id, hook)


def first_set(*values: Any) -> Any:
    """The first value that is not ``None`` (a setting given on the hook wins over the connection's)."""
    return next((value for value in values if value is not None), None)


def parse_kubeconfig(text: str) -> dict[str, Any]:
    """An inline kubeconfig (JSON or YAML text)."""
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise KubeConnectionError(f"the connection's kube_config is neither JSON nor YAML: {exc}") from None
    if not isinstance(data, dict):
        raise KubeConnectionError("the connection's kube_config is not a kubeconfig (a mapping)")
    return data


def read_kubeconfig(path: str) -> dict[str, Any] | None:
    """The kubeconfig at ``path``, or ``None`` if it cannot be read (it then counts as exec auth: reloaded)."""
    import yaml

    try:
        with open(path) as handle:
            data = yaml.safe_load(handle)
        return data if isinstance(data, dict) else None
    except (OSError, yaml.YAMLError):
        return None


def default_kubeconfig() -> str | None:
    """The default kubeconfig (``KUBECONFIG``, else ``~/.kube/config``) when it is one existing file."""
    locations = os.environ.get("KUBECONFIG", "~/.kube/config")  # kubernetes_asyncio's KUBE_CONFIG_DEFAULT_LOCATION
    paths = [os.path.expanduser(path) for path in locations.split(os.pathsep) if path]
    existing = [path for path in paths if os.path.exists(path)]
    return existing[0] if len(existing) == 1 else None


def uses_exec_auth(kubeconfig: dict[str, Any] | None, context: str | None) -> bool:
    """Whether the kubeconfig's active user (of ``context``, else ``current-context``) runs an exec
    plugin; unknown (no readable kubeconfig, no such user) counts as yes, so nothing stale is cached."""
    if not kubeconfig:
        return True
    active = context or kubeconfig.get("current-context")
    user = next(((c.get("context") or {}).get("user") for c in kubeconfig.get("contexts") or []
                 if c.get("name") == active), None)
    users = kubeconfig.get("users") or []
    if user is None:
        return any("exec" in (u.get("user") or {}) for u in users)
    return any(u.get("name") == user and "exec" in (u.get("user") or {}) for u in users)
