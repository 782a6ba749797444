"""What every Flink operator shares: connection settings, waiting (blocking or deferred), errors.

Nothing here builds a hook or touches the network in ``__init__``: DAG files stay cheap to parse.
"""

from __future__ import annotations

import time
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, NoReturn

from airflow.sdk import BaseOperator, BaseOperatorLink

from airflow_flink_operator.constants import DEFAULT_OPERATOR_VERSION
from airflow_flink_operator.errors import FlinkTaskError
from airflow_flink_operator.lineage import OpenLineageMixin

if TYPE_CHECKING:
    from airflow_flink_operator.hooks import FlinkKubernetesHook
    from airflow_flink_operator.hooks.connection import KubernetesConnection

#: Seconds the Flink operator has to give a new FlinkStateSnapshot a status before we conclude
#: its snapshot controller is not running (reference, section h).
SNAPSHOT_PICKUP_TIMEOUT = 60.0


def default_deferrable() -> bool:
    """Airflow's ``[operators] default_deferrable``."""
    from airflow.providers.common.compat.sdk import conf  # airflow.sdk.conf only from Airflow 3.2

    return conf.getboolean("operators", "default_deferrable", fallback=False)


class FlinkWebUILink(BaseOperatorLink):
    """The Flink web UI, when the deployment has an ingress with a host."""

    name = "Flink Web UI"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        """The URL the task stored in XCom (empty when there is none)."""
        from airflow.providers.common.compat.sdk import XCom

        try:
            return XCom.get_value(ti_key=ti_key, key=self.xcom_key) or ""
        except Exception:  # no link stored (the task failed before it knew one): no link, quietly
            return ""


class FlinkBaseOperator(OpenLineageMixin, BaseOperator):
    """Base of the Flink operators: connection, namespace, and the uniform waiting knobs.

    :param namespace: namespace of the resources (default: the manifest's, then the connection's). (templated)
    :param kubernetes_conn_id: the Kubernetes connection.
    :param in_cluster: use the in-cluster configuration.
    :param config_file: path to a kubeconfig file. Jinja in it is rendered, but it is a path:
        the file is never read as a template (its credentials never reach the rendered fields).
    :param cluster_context: kubeconfig context.
    :param operator_version: the Flink Kubernetes Operator version manifests target.
    :param wait_for_completion: wait for the outcome (else return once the change is applied).
    :param deferrable: wait in the triggerer, holding no worker slot (default ``[operators] default_deferrable``).
        The status is checked once before deferring: nothing is deferred when the outcome is known.
    :param poll_interval: seconds between checks when not deferrable; a deferred ``checkpointed`` wait reads the
        job's checkpoints this often.
    :param timeout: seconds to wait before failing.
    """

    ui_color = "#e6522c"
    ui_fgcolor = "#fff"
    template_fields: tuple[str, ...] = ("namespace",)
    #: Fields rendered as plain string templates, never loaded as template files (paths).
    path_template_fields: tuple[str, ...] = ("config_file",)

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
        self._stop_requested = False

    # --- templating ------------------------------------------------------------------------

    def render_template_fields(self, context: Any, jinja_env: Any = None) -> None:
        """Render the template fields, then the path fields as plain strings (never as files)."""
        super().render_template_fields(context, jinja_env)
        env = jinja_env or self.get_template_env()
        for name in self.path_template_fields:
            value = getattr(self, name, None)
            if isinstance(value, str) and "{" in value:
                setattr(self, name, self._render(env.from_string(value), context))

    # --- connection ------------------------------------------------------------------------

    @property
    def connection(self) -> KubernetesConnection:
        """How this task reaches the Kubernetes API (names and paths only, never credentials)."""
        from airflow_flink_operator.hooks.connection import KubernetesConnection

        return KubernetesConnection(conn_id=self.kubernetes_conn_id, in_cluster=self.in_cluster,
                                    config_file=self.config_file, cluster_context=self.cluster_context)

    @cached_property
    def hook(self) -> FlinkKubernetesHook:
        """The hook, built on first use (never at DAG parse time)."""
        return self.connection.sync_hook(namespace=self.namespace)

    def render_manifests(self, resource: Any, *, session_cluster: Any = None) -> list[dict[str, Any]]:
        """The manifests to apply for a model (or dict): rendered and validated for this task's
        ``operator_version``, before anything is sent (the hook only talks to the API)."""
        from airflow_flink_operator.manifests import render

        return render(resource, operator_version=self.operator_version, session_cluster=session_cluster)

    def resolved_namespace(self, manifest: dict[str, Any] | None = None) -> str:
        """The namespace the task acts in."""
        return self.hook.resolve_namespace(self.namespace, manifest)

    # --- stopping --------------------------------------------------------------------------

    def on_kill(self) -> None:
        """Airflow told this task to stop: no irreversible step may follow (see :meth:`ensure_may_continue`)."""
        self._stop_requested = True

    def ensure_may_continue(self, context: Any, action: str) -> None:
        """Refuse an irreversible step (a delete, a spec change) once Airflow has told this task to stop.

        Airflow's supervisor signals the task (``on_kill``) when the server says it should not run
        any more, but the task process goes on until it is killed; and a task whose deferral exit
        was reported late may be marked failed while it runs. Both are checked here.

        :raises FlinkTaskError: if the task must stop.
        """
        if self._stop_requested:
            raise FlinkTaskError(f"not going on to {action}: Airflow told this task to stop")
        state = _own_state(context)
        if state is not None and state not in ("running", "deferred", "queued", "scheduled", "up_for_retry"):
            raise FlinkTaskError(f"not going on to {action}: Airflow has marked this task {state}")

    # --- waiting ---------------------------------------------------------------------------

    def wait_or_defer(self, context: Any, *, kind: str, name: str, namespace: str, mode: str = "resource",
                      target: str | None = None, nonce: int | None = None, generation: int | None = None,
                      stale_error: str | None = None, pickup_timeout: float | None = None,
                      method_name: str = "execute_complete", resume_state: dict[str, Any] | None = None,
                      timeout: float | None = None, on_kill_action: str | None = None,
                      failed_checkpoints: int | None = None) -> Any:
        """Wait for an outcome: look once, then defer to the trigger or block here; continue in ``method_name``.

        The continuation is called as ``method(context, event)``; ``resume_state`` comes back as
        ``event["resume_state"]`` on every path (the trigger carries it, so no deferral kwargs are needed).

        :param generation: for ``resource`` waits: the generation to judge (from the task's own
            apply); older generations' failure fields then mean "waiting".
        :param stale_error: fingerprint of ``status.error`` when the wait began (see the status model).
        :param pickup_timeout: for ``snapshot`` waits: seconds the Flink operator has to pick it up.
        :param on_kill_action: ``suspend`` or ``delete`` the resource if a user kills the task while
            it is deferred (the trigger does it).
        :param failed_checkpoints: for target ``checkpointed``: failed checkpoints of this start, none completed,
            that fail the wait (default 3).
        """
        from airflow_flink_operator.models.waiting import WaitCriteria

        timeout = self.timeout if timeout is None else timeout
        criteria = WaitCriteria(mode=mode, target=target, nonce=nonce, generation=generation,  # type: ignore[arg-type]
                                stale_error=stale_error, failed_checkpoints=failed_checkpoints,
                                pickup_deadline=time.time() + pickup_timeout if pickup_timeout else None)
        if self.deferrable:
            decision = self.hook.look(kind, name, namespace, criteria)
            status, message, result = decision.status, decision.message, decision.result
            if status is None:
                what = target or {"snapshot": "the savepoint", "nonce": "the savepoint", "deleted": "deletion"}.get(mode)
                self.log.info("Deferring: waiting in the triggerer for %s %s/%s to reach %s%s (timeout %.0fs). Now: %s",
                              kind, namespace, name, what, f" on generation {generation}" if generation else "",
                              timeout, message)
                from airflow_flink_operator.triggers import FlinkWaitTrigger

                self.defer(
                    trigger=FlinkWaitTrigger(kind=kind, name=name, namespace=namespace, timeout_at=time.time() + timeout,
                                             connection=self.connection.serialize(), resume_state=resume_state or {},
                                             on_kill_action=on_kill_action, poll_interval=self.poll_interval,
                                             **criteria.to_kwargs()),
                    method_name=method_name,
                    timeout=timedelta(seconds=timeout + 60),
                )
            self.log.info("Not deferring: %s", message)
        else:
            status, message, result = self.hook.wait_until_decided(kind, name, namespace, criteria, timeout=timeout,
                                                                    poll_interval=self.poll_interval)
        return getattr(self, method_name)(context, {"status": status, "message": message, "result": result,
                                                    "resume_state": resume_state or {}})

    @staticmethod
    def resume_state_of(event: dict[str, Any]) -> dict[str, Any]:
        """The state the task carried through its deferral (``echo`` in events stored by an earlier version)."""
        return event.get("resume_state") or event.get("echo") or {}

    def check_event(self, event: dict[str, Any] | None, *, kind: str, name: str, namespace: str) -> dict[str, Any]:
        """Return the event's result, or raise :class:`FlinkTaskError` with diagnostics."""
        if not event or event.get("status") not in ("success", "error", "timeout"):
            raise FlinkTaskError(f"Unexpected trigger event for {kind} {namespace}/{name}: {event!r}")
        if event["status"] == "success":
            self.log.info("%s", event.get("message"))
            return dict(event.get("result") or {})
        self.fail(event["message"], kind=kind, name=name, namespace=namespace)
        raise AssertionError("unreachable")

    def fail(self, message: str, *, kind: str, name: str, namespace: str) -> NoReturn:
        """Raise :class:`FlinkTaskError` with ``message`` plus the resource's diagnostics."""
        try:
            details = self.hook.diagnostics(kind, name, namespace)
        except Exception as exc:  # the cluster may be the problem; keep the original message
            details = f"(diagnostics unavailable: {exc})"
        self.log.error("%s\n%s", message, details)
        raise FlinkTaskError(f"{message}\n{details}")

    def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
        """Default continuation: return the result of a successful wait."""
        carried = self.resume_state_of(event)
        result = self.check_event(event, kind=carried.get("kind", ""), name=carried.get("name", ""),
                                  namespace=carried.get("namespace", ""))
        return {**carried.get("base", {}), **result}


def _own_state(context: Any) -> str | None:
    """This task instance's state as the Airflow API server has it, or ``None`` when unknown.

    Asked through the Task SDK's supervisor channel; outside a supervised task (unit tests,
    ``dag.test()`` in some versions) the answer is unknown and nothing is refused.
    """
    ti = (context or {}).get("ti") if isinstance(context, dict) else None
    get_states = getattr(type(ti), "get_task_states", None) if ti is not None else None
    if get_states is None:
        return None
    map_index = getattr(ti, "map_index", -1)
    map_index = -1 if map_index is None else int(map_index)
    try:
        states = get_states(dag_id=ti.dag_id, task_ids=[ti.task_id], run_ids=[ti.run_id], map_index=map_index)
    except Exception:  # no supervisor to ask (tests), or an older Airflow
        return None
    found = (states or {}).get(ti.run_id, {})
    key = ti.task_id if map_index < 0 else f"{ti.task_id}_{map_index}"
    value = found.get(key) if isinstance(found, dict) else None
    return None if value is None else str(getattr(value, "value", value)).lower()
