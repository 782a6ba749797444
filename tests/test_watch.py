"""The async watch never misses the final state: dropped connections, 410 Gone, API restarts."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from specs import NS, app

from airflow_flink_operator.hooks import FlinkApiError
from airflow_flink_operator.models.status import FlinkResourceStatus


async def watch_until(hook, predicate, timeout=15.0, name="orders", on_first=None):
    """Watch until predicate(obj) holds; return every state seen (None = deleted)."""
    seen = []

    async def run():
        async for obj in hook.watch_object("FlinkDeployment", name, NS, watch_timeout=5, max_backoff=0.2):
            seen.append(obj)
            if len(seen) == 1 and on_first is not None:
                on_first()
            if predicate(obj):
                return

    await asyncio.wait_for(run(), timeout)
    return seen


def in_background(action, delay: float) -> threading.Thread:
    def run():
        time.sleep(delay)
        action()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def stable(obj):
    return obj is not None and FlinkResourceStatus.from_object(obj).is_stable


def test_watch_sees_every_step_to_stable(k8s):
    appliers = []
    seen = asyncio.run(watch_until(k8s.async_hook(), stable,
                                   on_first=lambda: appliers.append(in_background(lambda: k8s.hook().apply(app()), 0))))
    appliers[0].join()
    assert seen[0] is None  # watched before it existed
    versions = [int(o["metadata"]["resourceVersion"]) for o in seen if o]
    assert versions == sorted(versions)
    states = [(o.get("status") or {}).get("jobManagerDeploymentStatus") for o in seen if o]
    assert "DEPLOYING" in states or "DEPLOYED_NOT_READY" in states  # intermediate states were streamed


def test_watch_survives_dropped_connections(emulated):
    hook = emulated.hook()
    hook.apply(app())
    emulated.operator.timings.stable_after = 0.6
    droppers = [in_background(emulated.api.drop_watches, d) for d in (0.15, 0.3, 0.45)]
    seen = asyncio.run(watch_until(emulated.async_hook(), stable))
    for thread in droppers:
        thread.join()
    assert stable(seen[-1])
    assert emulated.api.requests_by_verb.get("WATCH", 0) >= 3  # it reconnected


def test_watch_relists_after_410_gone(emulated):
    hook = emulated.hook()
    hook.apply(app())
    emulated.operator.timings.stable_after = 0.5

    def expire_and_drop():
        emulated.api.expire_history()
        emulated.api.faults.fail(410, times=1, watch=True)
        emulated.api.drop_watches()

    thread = in_background(expire_and_drop, 0.2)
    lists_before = emulated.api.requests_by_verb.get("GET", 0)
    seen = asyncio.run(watch_until(emulated.async_hook(), stable))
    thread.join()
    assert stable(seen[-1])
    # One LIST to start and at least one more after the 410 (plus the hook's own GETs: none here).
    assert emulated.api.requests_by_verb["GET"] - lists_before >= 2


def test_watch_survives_an_api_server_restart(emulated):
    hook = emulated.hook()
    hook.apply(app())
    emulated.operator.timings.stable_after = 0.6
    thread = in_background(lambda: emulated.api.restart(downtime=0.2), 0.2)
    seen = asyncio.run(watch_until(emulated.async_hook(), stable))
    thread.join()
    assert stable(seen[-1])


def test_watch_reports_deletion(emulated):
    hook = emulated.hook()
    hook.apply(app())
    emulated.wait_for_lifecycle("orders", "STABLE")
    in_background(lambda: hook.delete("FlinkDeployment", "orders", NS, wait=False), 0.1)
    seen = asyncio.run(watch_until(emulated.async_hook(), lambda obj: obj is None))
    assert seen[-1] is None
    assert any(o and (o.get("status") or {}).get("lifecycleState") == "DELETING" for o in seen)


def test_watch_gives_up_when_the_api_keeps_failing(emulated):
    emulated.api.faults.fail(500, for_seconds=30)

    async def run():
        async for _ in emulated.async_hook().watch_object("FlinkDeployment", "orders", NS, max_backoff=0.05,
                                                          max_failures=3):
            pass

    with pytest.raises(FlinkApiError, match="gave up after 4 consecutive failures"):
        asyncio.run(asyncio.wait_for(run(), 10))
    emulated.api.faults.clear()


def test_watch_fails_fast_on_a_non_retryable_answer(emulated):
    emulated.api.faults.fail(403, times=5)

    async def run():
        async for _ in emulated.async_hook().watch_object("FlinkDeployment", "orders", NS):
            pass

    with pytest.raises(FlinkApiError) as err:
        asyncio.run(asyncio.wait_for(run(), 10))
    assert err.value.status == 403
