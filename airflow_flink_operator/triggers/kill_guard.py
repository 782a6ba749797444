"""Whether a cancelled trigger's task was really killed by a user, before anything destructive follows.

Airflow 3.3's triggerer calls ``on_kill()`` on every trigger that left its assignment list, and a
trigger leaves it for two reasons it does not tell apart (``TriggerRunnerSupervisor.update_triggers``
queues both with the same "user action" message): a user marked the deferred task failed or
success (or cleared it), **or** the triggerer's heartbeat lapsed past ``triggerer_health_check_threshold``
(a GC or VM pause, a lost database connection) and ``Trigger.assign_unassigned`` handed the trigger to
another triggerer, which may by now have fired it and resumed the task. Upstream:
apache/airflow#73454.

So a deferral that may end in a destructive ``on_kill_action`` is guarded. The task records an
*open* deferral in an XCom (:data:`DEFERRAL_XCOM_KEY`) with a token of its own just before it
defers, and records it *closed* as the first thing it does when it resumes, however the deferral
ended (an event from any triggerer, or Airflow failing it). A cancelled trigger then acts only on
positive evidence of a user's kill (:func:`kill_verdict`): the task instance is in a state only a
user gives a deferred task (``failed``, ``success``, ``skipped``), and its deferral is still the
open one this trigger was created for. Anything else (still deferred, resumed, retried, cleared,
or no answer from Airflow) leaves the resource alone.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

#: The XCom the task records its guarded deferral in: ``{"token": ..., "open": bool}``.
DEFERRAL_XCOM_KEY = "flink_deferral"
#: ``resume_state`` key carrying the deferral's token to the trigger (and back to the task).
TOKEN_KEY = "kill_guard"
#: States a user gives a deferred task instance (mark failed / success / skipped). A task that
#: resumed reaches them too, but only after it recorded its deferral closed.
USER_KILL_STATES = frozenset({"failed", "success", "skipped"})


def new_token() -> str:
    """A token naming one deferral."""
    return uuid.uuid4().hex


def open_mark(token: str) -> dict[str, Any]:
    """The XCom value recorded just before deferring."""
    return {"token": token, "open": True}


def closed_mark(token: str | None) -> dict[str, Any]:
    """The XCom value recorded when the task resumes, however its deferral ended."""
    return {"token": token, "open": False}


@dataclass(frozen=True)
class KillVerdict:
    """Whether a destructive ``on_kill_action`` may follow, and why (for the log)."""

    killed: bool
    reason: str


def kill_verdict(state: str | None, mark: Any, token: str | None) -> KillVerdict:
    """Decide from what Airflow says now whether a user killed the deferral named ``token``.

    :param state: the task instance's state (``None``: none, or Airflow did not answer).
    :param mark: the task's :data:`DEFERRAL_XCOM_KEY` XCom value (``None``: none).
    :param token: the token of the deferral this trigger was created for.
    """
    if not token:
        return KillVerdict(False, "the deferral carries no kill-guard token (deferred by an older version)")
    if state not in USER_KILL_STATES:
        if state == "deferred":
            return KillVerdict(False, "the task is still deferred: its trigger moved to another triggerer")
        return KillVerdict(False, f"the task is {state or 'in no state'}, not marked failed, success or skipped "
                                  "by a user (resumed, retried or cleared: its next run owns the resource)")
    if not isinstance(mark, dict) or mark.get("token") != token:
        return KillVerdict(False, f"the task is {state}, but the deferral this trigger waited for is not its "
                                  "latest (a later try or deferral owns the resource)")
    if not mark.get("open"):
        return KillVerdict(False, f"the task is {state} after it resumed from this deferral (another triggerer "
                                  "fired it): not a kill of the deferred task")
    return KillVerdict(True, f"a user marked the deferred task {state}")


def _state_of(answer: Any, run_id: str, task_id: str, map_index: int) -> str | None:
    found = (answer or {}).get(run_id, {})
    key = task_id if map_index < 0 else f"{task_id}_{map_index}"
    value = found.get(key) if isinstance(found, dict) else None
    return None if value is None else str(getattr(value, "value", value)).lower()


def _ask_airflow(dag_id: str, run_id: str, task_id: str, map_index: int) -> tuple[str | None, Any]:
    """The task instance's state and deferral mark, through the triggerer's channel to Airflow's API."""
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance
    from airflow.sdk.execution_time.xcom import XCom

    states = RuntimeTaskInstance.get_task_states(dag_id=dag_id, task_ids=[task_id], run_ids=[run_id],
                                                 map_index=map_index)
    mark = XCom.get_one(key=DEFERRAL_XCOM_KEY, dag_id=dag_id, task_id=task_id, run_id=run_id, map_index=map_index)
    return _state_of(states, run_id, task_id, map_index), mark


async def verdict_for(task_instance: Any, token: str | None) -> KillVerdict:
    """:func:`kill_verdict` for the trigger's task instance, asking Airflow off the event loop.

    Any failure to ask (no task instance, an API error) is a "no": nothing destructive on a guess.
    """
    if task_instance is None:
        return KillVerdict(False, "the trigger knows no task instance to ask Airflow about")
    map_index = getattr(task_instance, "map_index", -1)
    map_index = -1 if map_index is None else int(map_index)
    try:
        state, mark = await asyncio.to_thread(_ask_airflow, task_instance.dag_id, task_instance.run_id,
                                              task_instance.task_id, map_index)
    except Exception as exc:
        return KillVerdict(False, f"Airflow could not say whether the task was killed ({type(exc).__name__}: {exc})")
    return kill_verdict(state, mark, token)
