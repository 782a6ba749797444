"""The async watch never misses the final state: dropped connections, 410 Gone, API restarts."""

from __future__ import annotations

import asyncio
import threading

import pytest
from specs import NS, app

from airflow_flink_operator.hooks import FlinkApiError
from airflow_flink_operator.manifests import render
from airflow_flink_operator.models.status import FlinkResourceStatus


async def watch_until(hook, predicate, timeout=60.0, name="orders", on_first=None):
    """Follow one object through the shared watch the trigger uses (WatchHub) until predicate(obj)
    holds; return every state seen (None = absent or deleted)."""
    from airflow_flink_operator.triggers.watch_hub import WatchHub

    seen = []

    async def run():
        states = WatchHub(lambda: hook, "FlinkDeployment", NS).subscribe(name)
        try:
            async for obj in states:
                seen.append(obj)
                if len(seen) == 1 and on_first is not None:
                    on_first()
                if predicate(obj):
                    return
        finally:
            await states.aclose()

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
    cluster.wait_for(lambda: cluster.api.stats()["open_watches"] >= 1, timeout=60, what="an open watch stream")


def stable(obj):
    return obj is not None and FlinkResourceStatus.from_object(obj).is_stable


def test_watch_sees_every_step_to_stable(k8s):
    appliers = []
    seen = asyncio.run(watch_until(k8s.async_hook(), stable,
                                   on_first=lambda: appliers.append(Background(lambda: k8s.hook().apply(render(app()))))))
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
        emulated.hook().apply(render(app()))

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
        emulated.hook().apply(render(app()))

    events = []

    async def run():
        async for event, payload in emulated.async_hook().watch_kind("FlinkDeployment", NS, watch_timeout=5,
                                                                     max_backoff=0.2):
            events.append(event)
            if len(events) == 1:
                steps.append(Background(expire_and_drop_then_deploy))
            if event != "LIST" and stable(payload):
                return

    asyncio.run(asyncio.wait_for(run(), 60))
    steps[0].join()
    assert events.count("LIST") >= 2  # listed at the start and again after the 410


def test_watch_survives_an_api_server_restart(emulated):
    steps = []

    def restart_then_deploy():
        open_watch(emulated)
        emulated.api.restart(downtime=0.2)
        emulated.hook().apply(render(app()))

    seen = asyncio.run(watch_until(emulated.async_hook(), stable,
                                   on_first=lambda: steps.append(Background(restart_then_deploy))))
    steps[0].join()
    assert seen[0] is None and stable(seen[-1])
    assert emulated.api.requests_by_verb.get("WATCH", 0) >= 2  # it reconnected after the restart


def test_watch_reports_deletion(emulated):
    hook = emulated.hook()
    hook.apply(render(app()))
    emulated.wait_for_lifecycle("orders", "STABLE", timeout=60)
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
        async for _ in emulated.async_hook().watch_kind("FlinkDeployment", NS, field_selector="metadata.name=orders",
                                                        max_backoff=0.05, max_failures=3):
            pass

    with pytest.raises(FlinkApiError, match="gave up after 4 consecutive failures"):
        asyncio.run(asyncio.wait_for(run(), 25))
    emulated.api.faults.clear()


def test_watch_fails_fast_on_a_non_retryable_answer(emulated):
    # Every request, for a while: with a count instead, the simulated operator's own polling could
    # use the faults up before the watch asks (it did on a loaded machine).
    emulated.api.faults.fail(403, for_seconds=30)

    async def run():
        async for _ in emulated.async_hook().watch_kind("FlinkDeployment", NS, field_selector="metadata.name=orders"):
            pass

    try:
        with pytest.raises(FlinkApiError) as err:
            asyncio.run(asyncio.wait_for(run(), 25))
    finally:
        emulated.api.faults.clear()
    assert err.value.status == 403


# --- the shared watch (WatchHub) ------------------------------------------------------------------


def hub_for(cluster, kind="FlinkDeployment", **kwargs):
    """A shared watch of ``kind`` in the test namespace, built on the emulator (call inside the event loop)."""
    from airflow_flink_operator.triggers.watch_hub import WatchHub

    return WatchHub(cluster.async_hook, kind, NS, **kwargs)


async def next_state(states, timeout: float = 30.0):
    return await asyncio.wait_for(anext(states), timeout)


async def until(states, predicate, timeout: float = 60.0):
    """The first state of the subscription that satisfies ``predicate``."""
    async def run():
        async for obj in states:
            if predicate(obj):
                return obj

    return await asyncio.wait_for(run(), timeout)


def test_hub_reads_an_object_missing_from_its_cache_instead_of_calling_it_absent(emulated):
    """The shared watch is behind (its reconnections fail) when a job is deployed and a wait starts:
    the subscriber gets the object from a fresh GET, not "does not exist"."""

    async def run():
        hub = hub_for(emulated)
        other = hub.subscribe("other")
        assert await next_state(other) is None  # listed after the subscription: confirmed absent
        emulated.api.faults.fail(503, for_seconds=60, watch=True)
        await asyncio.to_thread(emulated.api.drop_watches)
        await asyncio.to_thread(emulated.hook().apply, render(app()))
        states = hub.subscribe("orders")
        first = await next_state(states)
        assert first is not None and first["metadata"]["name"] == "orders"
        assert "orders" not in hub.cache  # it really came from the GET, the watch is still down
        emulated.api.faults.clear()
        assert stable(await until(states, stable))  # and the recovered watch streams what follows
        await states.aclose()
        await other.aclose()

    asyncio.run(run())


def test_hub_reports_absent_only_after_a_fresh_read(emulated):
    """A wait on an object that does not exist gets None; one on an existing object never does."""
    emulated.hook().apply(render(app()))

    async def run():
        hub = hub_for(emulated)
        states = hub.subscribe("orders")
        assert await next_state(states) is not None
        missing = hub.subscribe("nope")
        assert await next_state(missing) is None
        await missing.aclose()
        await states.aclose()

    asyncio.run(run())


def test_hub_subscriber_arriving_while_the_idle_watch_stops_gets_a_live_watch(emulated):
    """The idle grace expires (the shared watch is being cancelled) just as a new wait subscribes: the
    new subscriber must see the next change at once, not wait on a dying watch."""
    hook = emulated.hook()
    hook.apply(render(app()))
    emulated.wait_for_lifecycle("orders", "STABLE", timeout=60)

    async def run():
        hub = hub_for(emulated, idle_grace=60)
        first = hub.subscribe("orders")
        await next_state(first)
        await first.aclose()  # the last subscriber left: the idle timer runs
        hub._stop_if_idle()  # ...and fires now, as it does after idle_grace
        second = hub.subscribe("orders")
        assert (await next_state(second))["metadata"]["name"] == "orders"
        await asyncio.to_thread(hook.patch_metadata, "FlinkDeployment", "orders", {"labels": {"seen": "yes"}})
        changed = await until(second, lambda o: o and o["metadata"].get("labels", {}).get("seen") == "yes")
        assert changed is not None
        await second.aclose()

    asyncio.run(run())


def test_hub_cancelled_watch_wakes_its_waiters_with_an_error(emulated):
    emulated.hook().apply(render(app()))
    emulated.wait_for_lifecycle("orders", "STABLE", timeout=60)

    async def run():
        hub = hub_for(emulated)
        states = hub.subscribe("orders")
        await next_state(states)
        waiting = asyncio.ensure_future(until(states, lambda obj: False))
        await asyncio.sleep(0)  # the subscriber is now waiting for the next state
        hub.task.cancel()
        with pytest.raises(FlinkApiError, match="cancelled"):
            await waiting

    asyncio.run(run())


def test_hub_non_retryable_failure_reaches_every_waiter_as_flink_api_error(emulated):
    """403 on a reconnection (RBAC changed) ends every wait with a clear error; a later wait works again."""
    emulated.hook().apply(render(app()))
    emulated.wait_for_lifecycle("orders", "STABLE", timeout=60)

    async def run():
        hub = hub_for(emulated)
        first, second = hub.subscribe("orders"), hub.subscribe("orders")
        await next_state(first)
        await next_state(second)
        emulated.api.faults.fail(403, for_seconds=60, watch=True)
        await asyncio.to_thread(emulated.api.drop_watches)
        for states in (first, second):
            with pytest.raises(FlinkApiError) as err:
                await until(states, lambda obj: False)  # states still on the way, then the error
            assert err.value.status == 403
        emulated.api.faults.clear()
        again = hub.subscribe("orders")
        assert (await next_state(again))["metadata"]["name"] == "orders"
        await again.aclose()

    asyncio.run(run())


def test_hub_unserved_kind_is_a_clear_error(legacy_cluster):
    """FlinkStateSnapshot without its CRD (operator < 1.10): 404 of the kind, raised to the subscriber."""

    async def run():
        hub = hub_for(legacy_cluster, "FlinkStateSnapshot")
        with pytest.raises(FlinkApiError) as err:
            await next_state(hub.subscribe("sp-1"))
        assert err.value.status == 404

    asyncio.run(run())
