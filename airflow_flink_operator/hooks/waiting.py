"""The blocking wait: look, decide with the status model's one step function, sleep, look again.

:func:`airflow_flink_operator.models.waiting.decide` makes every decision; this is the only
blocking loop that drives it (the trigger's async loop is the other driver). Deleting and waiting
for the deletion is the same loop with mode ``deleted``.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from airflow_flink_operator.hooks.common import RETRYABLE_STATUS, FlinkApiError

if TYPE_CHECKING:
    from airflow_flink_operator.models.waiting import Decision, WaitCriteria

log = logging.getLogger(__name__)


class WaitingMixin:
    """Waits of :class:`~airflow_flink_operator.hooks.FlinkKubernetesHook` (uses its ``get`` and
    ``resolve_namespace``)."""

    def look(self, kind: str, name: str, namespace: str | None, criteria: WaitCriteria) -> Decision:
        """Read the object once and decide (:func:`~airflow_flink_operator.models.waiting.decide`); a
        ``checkpointed`` wait on a running job also reads its checkpoints from Flink's REST API."""
        from airflow_flink_operator.models.waiting import checkpoints_to_read, decide

        obj = self.get(kind, name, namespace)  # type: ignore[attr-defined]
        request = checkpoints_to_read(obj, criteria)
        checkpoints = self.flink_rest_get(request) if request is not None else None  # type: ignore[attr-defined]
        return decide(obj, criteria, kind=kind, name=name, now=time.time(), checkpoints=checkpoints)

    def decide(self, kind: str, name: str, namespace: str | None = None, *, mode: str = "resource",
               target: str | None = None, nonce: int | None = None, generation: int | str | None = None,
               stale_error: str | None = None, pickup_deadline: float | None = None,
               failed_checkpoints: int | None = None) -> tuple[str | None, str, dict[str, Any]]:
        """Look once: ``("success" | "error", message, result)`` when decided, ``(None, message, result)``
        while still waiting. The keywords are :class:`~airflow_flink_operator.models.waiting.WaitCriteria`'s."""
        from airflow_flink_operator.models.waiting import WaitCriteria

        criteria = WaitCriteria(mode=mode, target=target, nonce=nonce, generation=generation,  # type: ignore[arg-type]
                                stale_error=stale_error, pickup_deadline=pickup_deadline,
                                failed_checkpoints=failed_checkpoints)
        decision = self.look(kind, name, namespace, criteria)
        return decision.status, decision.message, decision.result

    def wait(
        self,
        kind: str,
        name: str,
        namespace: str | None = None,
        *,
        mode: str = "resource",
        target: str | None = None,
        nonce: int | None = None,
        generation: int | str | None = None,
        stale_error: str | None = None,
        pickup_deadline: float | None = None,
        failed_checkpoints: int | None = None,
        timeout: float = 3600.0,
        poll_interval: float = 10.0,
    ) -> tuple[str, str, dict[str, Any]]:
        """Block until a wait is decided (see :meth:`decide`).

        Logs each state change once. Transient API errors (5xx, dropped connections) are retried
        until the timeout.

        :return: ``("success" | "error" | "timeout", message, result)``.
        """
        from airflow_flink_operator.models.waiting import WaitCriteria

        criteria = WaitCriteria(mode=mode, target=target, nonce=nonce, generation=generation,  # type: ignore[arg-type]
                                stale_error=stale_error, pickup_deadline=pickup_deadline,
                                failed_checkpoints=failed_checkpoints)
        return self.wait_until_decided(kind, name, namespace, criteria, timeout=timeout, poll_interval=poll_interval)

    def wait_until_decided(self, kind: str, name: str, namespace: str | None, criteria: WaitCriteria, *,
                 timeout: float = 3600.0, poll_interval: float = 10.0) -> tuple[str, str, dict[str, Any]]:
        """The blocking loop: :meth:`look` until decided or ``timeout`` seconds have passed.

        :return: ``("success" | "error" | "timeout", message, result)``; a timeout's message ends
            with the last state seen.
        """
        ns = self.resolve_namespace(namespace)  # type: ignore[attr-defined]
        deadline = time.monotonic() + timeout
        last_message = None
        while True:
            try:
                decision = self.look(kind, name, ns, criteria)
            except FlinkApiError as err:
                if err.status not in RETRYABLE_STATUS and err.status is not None:
                    raise
                log.warning("Reading %s %s/%s failed (%s); retrying", kind, ns, name, err)
            else:
                if decision.message != last_message:
                    log.info("%s", decision.message)
                    last_message = decision.message
                if decision.status is not None:
                    return decision.status, decision.message, decision.result
            if time.monotonic() >= deadline:
                return "timeout", f"Timed out after {timeout:.0f}s: {last_message or 'no answer from the API'}", {}
            time.sleep(min(poll_interval, max(deadline - time.monotonic(), 0.01)))

    def wait_deleted(self, kind: str, name: str, namespace: str | None = None, *, timeout: float = 300.0,
                     poll_interval: float = 1.0) -> None:
        """Block until the resource no longer exists (:meth:`wait_until_decided` with mode ``deleted``).

        :raises TimeoutError: if it still exists after ``timeout`` seconds; the message names its
            finalizers and lifecycle state.
        """
        from airflow_flink_operator.models.waiting import WaitCriteria, WaitMode

        status, message, _ = self.wait_until_decided(kind, name, namespace, WaitCriteria(mode=WaitMode.DELETED),
                                           timeout=timeout, poll_interval=poll_interval)
        if status == "timeout":
            raise TimeoutError(f"{kind} {self.resolve_namespace(namespace)}/{name} still exists. "  # type: ignore[attr-defined]
                               f"{message}")
