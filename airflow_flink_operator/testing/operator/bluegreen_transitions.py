"""The transition half of the simulated blue/green controller: ``BlueGreenDeploymentService.monitorTransition``
(``TransitioningStateHandler``) and what it leads to — ``shouldWeDelete`` / ``deleteDeployment``,
``shouldWeAbort`` / ``abortDeployment``, ``finalizeBlueGreenDeployment`` and ``finalizeSuspendedDeployment`` —
with the per-version differences of release-1.14.0, release-1.15.0 and main (6e9caeb)."""

from __future__ import annotations

import time
from typing import Any

from airflow_flink_operator.testing.operator.clock import instant_millis, instant_now

#: ``FlinkBlueGreenDeploymentConfigOptions``: (key, default), read from the parent's ``spec.configuration``.
ABORT_GRACE_PERIOD = ("kubernetes.operator.bluegreen.abort.grace-period", "10 min")
RESCHEDULE_INTERVAL = ("kubernetes.operator.bluegreen.reconciliation.reschedule-interval", "15 s")
DELETION_DELAY = ("kubernetes.operator.bluegreen.deployment-deletion.delay", "0 ms")


def _other(colour: str) -> str:
    return "green" if colour == "blue" else "blue"


class BlueGreenTransitionMixin:
    """Part of :class:`~.bluegreen.SimulatedBlueGreenController`: monitoring a transition to its end (the status
    helpers ``_patch``, ``_diff``, ``_ready``... and the children's are the controller's)."""

    _status: dict[str, Any]
    _version: tuple[int, int]

    def _monitor_transition(self, bg: dict[str, Any], children: dict[str, Any], current: str) -> None:
        """``monitorTransition`` (``TransitioningStateHandler``); ``current`` is the colour left behind."""
        diff = self._diff(bg)
        if diff not in ("IGNORE", "SUSPEND"):  # handleSpecChangesDuringTransition (SUSPEND waits)
            self._set_last_spec(bg)
            self._patch_child(bg, children, _other(current), carry=diff != "SAVEPOINT_REDEPLOY")
            return
        new = _other(current)
        next_child, current_child = children.get(new), children.get(current)
        if next_child is None:
            raise RuntimeError(f"java.lang.NullPointerException: Target Dependent Deployment resource not found. "
                               f"Blue/Green deployment name: {bg['metadata']['name']}, current deployment type: "
                               f"{current.upper()}")
        next_state = f"ACTIVE_{new.upper()}"
        if self._child_suspended(next_child):
            if self._lifecycle(next_child) == "SUSPENDED":  # finalizeSuspendedDeployment
                self._reset_markers()
                self._patch(bg, self._status, state=next_state, job_state="SUSPENDED")
                self._reschedule(bg, 0)
            else:
                self._should_we_abort(bg, children, next_child, next_state)
            return
        if self._ready(next_child):
            self._should_we_delete(bg, children, current_child, next_state)
        else:
            self._should_we_abort(bg, children, next_child, next_state)

    def _should_we_delete(self, bg: dict[str, Any], children: dict[str, Any], current_child: dict[str, Any] | None,
                          next_state: str) -> None:
        """``shouldWeDelete``: delete the old child ``deployment-deletion.delay`` after the new one was first
        seen ready; main finalizes right after the delete, 1.14/1.15 once the old child is gone."""
        if current_child is None:
            self._status["deploymentReadyTimestamp"] = instant_now()
            self._finalize(bg, children, next_state)
            return
        delay = self._config(bg, DELETION_DELAY)
        ready_at = instant_millis(self._status.get("deploymentReadyTimestamp"))
        if ready_at == 0:
            self._status["deploymentReadyTimestamp"] = instant_now()
            self._patch(bg, self._status)
            self._reschedule(bg, delay)
            return
        deletion_at = ready_at / 1000 + delay
        if deletion_at < time.time():
            deleted = self._delete_child(current_child)
            if deleted and self._version >= (1, 16):
                self._finalize(bg, children, next_state)
            else:
                self._reschedule(bg, 0.5)  # RETRY_DELAY_MS
        else:
            self._reschedule(bg, deletion_at - time.time())

    def _should_we_abort(self, bg: dict[str, Any], children: dict[str, Any], next_child: dict[str, Any],
                         next_state: str) -> None:
        """``shouldWeAbort``: past ``abortTimestamp``, ``abortDeployment``; else ``retryDeployment``."""
        abort_at = instant_millis(self._status.get("abortTimestamp"))
        if abort_at == 0:
            raise RuntimeError("java.lang.IllegalStateException: Unexpected abortTimestamp == 0")
        if abort_at >= time.time() * 1000:
            self._patch(bg, self._status)
            self._reschedule(bg, self._config(bg, RESCHEDULE_INTERVAL))
            return
        # abortDeployment: suspend the new child, go back to the previous state, FAILING; the parent's template
        # is not reverted (its lastReconciledSpec already holds the failed spec).
        self._suspend_child(next_child)
        if len(children) == 1:
            previous = "INITIALIZING_BLUE"
        else:
            previous = "ACTIVE_GREEN" if next_state == "ACTIVE_BLUE" else "ACTIVE_BLUE"
        self._status["blueGreenState"] = previous
        if self._version >= (1, 16):
            self._reset_markers()  # FLINK-40119
        elif self._version >= (1, 15):
            self._status["savepointTriggerId"] = None  # hotfix a00bf278; 1.14.0 leaves it set
        self._failing(bg, f"Aborting deployment '{next_child['metadata']['name']}', rolling B/G deployment back "
                          f"to {previous}")

    def _finalize(self, bg: dict[str, Any], children: dict[str, Any], next_state: str) -> None:
        """``finalizeBlueGreenDeployment``: markers reset, the Ingress to the new colour, ``next_state`` with
        the job RUNNING and no error."""
        self._reset_markers()
        self._reconcile_ingress(bg, children.get(next_state.split("_")[1].lower()))
        self._patch(bg, self._status, state=next_state, job_state="RUNNING")
        self._reschedule(bg, 0)
