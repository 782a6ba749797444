"""Run an operator as Airflow would, deferrals included (the trigger is serialised, re-imported by its
class path and run for real against the cluster)."""

from __future__ import annotations

import asyncio
import importlib
from dataclasses import dataclass, field
from typing import Any

from airflow.exceptions import TaskDeferred


@dataclass
class TaskInstanceStub:
    """The few task-instance attributes our operators read (identity, XCom push)."""

    dag_id: str = "flink_dag"
    task_id: str = "task"
    run_id: str = "manual__2026-11-26T10:00:00+00:00"
    map_index: int = -1
    try_number: int = 1
    xcoms: dict[str, Any] = field(default_factory=dict)

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value


def context_for(ti: TaskInstanceStub | None = None) -> dict[str, Any]:
    return {"ti": ti or TaskInstanceStub()}


def reimport(trigger):
    classpath, kwargs = trigger.serialize()
    module, _, name = classpath.rpartition(".")
    return getattr(importlib.import_module(module), name)(**kwargs)


async def _first_event(trigger):
    async for event in trigger.run():
        return event
    raise AssertionError("the trigger ended without an event")


def run_task(op, context: dict[str, Any] | None = None, deferrals: list | None = None) -> Any:
    """Execute ``op``; when it defers, run the (re-imported) trigger and resume, until it returns."""
    context = context or context_for(TaskInstanceStub(task_id=op.task_id))
    step = lambda: op.execute(context)  # noqa: E731
    while True:
        try:
            return step()
        except TaskDeferred as deferred:
            if deferrals is not None:
                deferrals.append(deferred)
            trigger = reimport(deferred.trigger)
            event = asyncio.run(_first_event(trigger))
            method = getattr(op, deferred.method_name)
            kwargs = deferred.kwargs or {}
            step = lambda m=method, e=event, k=kwargs: m(context, e.payload, **k)  # noqa: E731
