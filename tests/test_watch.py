"""The async watch never misses the final state: dropped connections, 410 Gone, API restarts."""

from __future__ import annotations

import asyncio
import threading

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


class Background:
    """Run ``action`` in a thread; :meth:`join` re-raises what it raised (a failed step fails the test)."""

    def __init__(self, action) -> None:
        self.error: BaseException | None = None

        def run():
            try:
                action()
            except BaseException as exc:  # noqa: BLE001 - handed to the test thread
                self.error = exc

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def join(self) -> None:
        self.thread.join(30)
        assert not self.thread.is_alive(), "the background step did not finish"
        if self.error is not None:
            raise self.error


def open_watch(cluster) -> None:
    """Block until a watch stream is open on the emulator (events, not wall-clock moments)."""
    cluster.wait_for(lambda: cluster.api.stats()["open_watches"] >= 1, what="an open watch stream")


def stable(obj):
    return obj is not None and FlinkResourceStatus.from_object(obj).is_stable


def test_watch_sees_every_step_to_stable(k8s):
    appliers = []
    seen = asyncio.run(watch_until(k8s.async_hook(), stable,
                                   on_first=lambda: appliers.append(Background(lambda: k8s.hook().apply(app())))))
    appliers[0].join()
    assert seen[0] is None  # watched before it existed
    versions = [int(o["metadata"]["resourceVersion"]) for o in seen if o]
    assert versions == sorted(versions)
    states = [(o.get("status") or {}).get("jobManagerDeploymentStatus") for o in seen if o]
    assert "DEPLOYING" in states or "DEPLOYED_NOT_READY" in states  # intermediate states were streamed


def test_watch_survives_dropped_connections(emulated):
    """Three drops, each once a watch stream is open, then the job is deployed: the watch sees it stable."""
    steps = []

    def drop_three_times_then_deploy():
        for _ in range(3):
            open_watch(emulated)
            emulated.api.drop_watches()
        emulated.hook().apply(app())

    seen = asyncio.run(watch_until(emulated.async_hook(), stable,
                                   on_first=lambda: steps.append(Background(drop_three_times_then_deploy))))
    steps[0].join()
    assert seen[0] is None and stable(seen[-1])
    assert emulated.api.requests_by_verb.get("WATCH", 0) >= 4  # the first watch and three reconnections


def test_watch_relists_after_410_gone(emulated):
    """History expired while the watch was down: it re-lists (a second LIST event) and still sees the end."""
    steps = []

    def expire_and_drop_then_deploy():
        open_watch(emulated)
        emulated.api.expire_history()
        emulated.api.faults.fail(410, times=1, watch=True)
        emulated.api.drop_watches()
        open_watch(emulated)  # reconnected: after the 410 and the re-list
        emulated.hook().apply(app())

    events = []

    async def run():
        async for event, payload in emulated.async_hook().watch_kind("FlinkDeployment", NS, watch_timeout=5,
                                                                     max_backoff=0.2):
            events.append(event)
            if len(events) == 1:
                steps.append(Background(expire_and_drop_then_deploy))
            if event != "LIST" and stable(payload):
                return

    asyncio.run(asyncio.wait_for(run(), 15))
    steps[0].join()
    assert events.count("LIST") >= 2  # listed at the start and again after the 410


def test_watch_survives_an_api_server_restart(emulated):
    steps = []

    def restart_then_deploy():
        open_watch(emulated)
        emulated.api.restart(downtime=0.2)
        emulated.hook().apply(app())

    seen = asyncio.run(watch_until(emulated.async_hook(), stable,
                                   on_first=lambda: steps.append(Background(restart_then_deploy))))
    steps[0].join()
    assert seen[0] is None and stable(seen[-1])
    assert emulated.api.requests_by_verb.get("WATCH", 0) >= 2  # it reconnected after the restart


def test_watch_reports_deletion(emulated):
    hook = emulated.hook()
    hook.apply(app())
    emulated.wait_for_lifecycle("orders", "STABLE")
    steps = []
    seen = asyncio.run(watch_until(
        emulated.async_hook(), lambda obj: obj is None,
        on_first=lambda: steps.append(Background(lambda: hook.delete("FlinkDeployment", "orders", NS, wait=False)))))
    steps[0].join()
    assert seen[0] is not None  # the watch started while it existed (the delete waits for the first state)
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
