"""The trigger's pick-up deadline: one look at the deadline, not a look every 50 ms after it."""
from __future__ import annotations

import asyncio
import time
from typing import Any

from airflow_flink_operator.triggers.flink import FlinkWaitTrigger, load_heavy_modules


def test_a_snapshot_picked_up_is_not_judged_again_and_again_after_the_pickup_deadline(monkeypatch):
    """A savepoint in progress for longer than the pick-up window waits for its next change: the trigger
    judges it again at the deadline, then sleeps (it used to wake every 50 ms until the savepoint ended, in
    every waiting trigger of the shared triggerer). Fewer looks under load only makes this easier to pass."""
    asyncio.run(load_heavy_modules())  # the imports a first trigger pays are not part of this wait
    now = time.time()
    trigger = FlinkWaitTrigger(kind="FlinkStateSnapshot", name="orders-sp", namespace="default", mode="snapshot",
                               pickup_deadline=now + 0.2, timeout_at=now + 1.5)
    in_progress = {"apiVersion": "flink.apache.org/v1beta1", "kind": "FlinkStateSnapshot",
                   "metadata": {"name": "orders-sp", "namespace": "default", "generation": 1},
                   "spec": {"savepoint": {}, "jobReference": {"kind": "FlinkDeployment", "name": "orders"}},
                   "status": {"state": "IN_PROGRESS", "triggerId": "t-1"}}

    async def states() -> Any:
        yield in_progress
        await asyncio.Event().wait()  # no further change until the trigger gives up

    looks: list[str] = []
    judge = trigger.decide

    def counted(obj: Any, checkpoints: Any = None) -> Any:
        decision = judge(obj, checkpoints)
        looks.append(decision.message)
        return decision

    monkeypatch.setattr(trigger, "_states", states)
    monkeypatch.setattr(trigger, "decide", counted)

    async def first_event() -> Any:
        async for event in trigger.run():
            return event

    event = asyncio.run(first_event())
    assert event.payload["status"] == "timeout", event.payload
    assert 1 <= len(looks) <= 3, f"judged {len(looks)} times: {looks[:3]}"
