"""Nothing our trigger runs on the triggerer's event loop takes long: the slow pieces run in worker threads.

Wall-clock thresholds are flaky on a loaded machine, so these tests assert where the work runs, and
measure the CPU time (not the wall time) each event-loop step of our code spends.
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import subprocess
import sys
import textwrap
import threading

from specs import app

from airflow_flink_operator.manifests import render


def _deploy(cluster) -> None:
    cluster.hook().apply(render(app()))
    cluster.wait_for(lambda: ((cluster.hook().get("FlinkDeployment", "orders", "default") or {}).get("status") or {})
                     .get("lifecycleState") == "STABLE", timeout=60, what="orders STABLE")


def test_our_api_client_is_the_one_kubernetes_asyncio_builds(emulated):
    """The client built around a TLS context made in a worker thread has every setting of the
    client kubernetes_asyncio's ``ApiClient(configuration)`` builds (guards against kubernetes_asyncio
    changing its constructors), plus a default request timeout."""
    from kubernetes_asyncio.client import ApiClient

    from airflow_flink_operator.hooks.kube_asyncio import _api_client, _ssl_context

    async def compare() -> None:
        hook = emulated.async_hook()
        await hook._load_config()
        cfg = hook.client_configuration
        ours = _api_client(cfg, await asyncio.to_thread(_ssl_context, cfg), default_timeout=7.0)
        theirs = ApiClient(cfg)
        try:
            assert isinstance(ours, ApiClient) and ours.default_timeout == 7.0
            assert {k: v for k, v in vars(ours).items() if k not in ("rest_client", "default_timeout")} == \
                   {k: v for k, v in vars(theirs).items() if k != "rest_client"}
            a, b = ours.rest_client, theirs.rest_client
            assert {k: v for k, v in vars(a).items() if k != "pool_manager"} == \
                   {k: v for k, v in vars(b).items() if k != "pool_manager"}
            sa, sb = a.pool_manager, b.pool_manager
            assert (sa.trust_env, sa._read_bufsize, sa.connector.limit) == \
                   (sb.trust_env, sb._read_bufsize, sb.connector.limit)
            ca, cb = sa.connector._ssl, sb.connector._ssl
            assert (ca.verify_mode, ca.check_hostname, ca.verify_flags, ca.protocol) == \
                   (cb.verify_mode, cb.check_hostname, cb.verify_flags, cb.protocol)
            assert len(ca.get_ca_certs()) == len(cb.get_ca_certs())
        finally:
            await ours.close()
            await theirs.close()

    asyncio.run(compare())


def test_our_watch_is_the_one_kubernetes_asyncio_builds():
    """The ``Watch`` made around an off-loop client has the attributes ``Watch()`` sets."""
    from kubernetes_asyncio import watch

    from airflow_flink_operator.hooks.kube_asyncio import _watch

    async def compare() -> None:
        ours, theirs = await _watch(), watch.Watch()
        try:
            assert sorted(vars(ours)) == sorted(vars(theirs))
            assert {k: v for k, v in vars(ours).items() if k != "_api_client"} == \
                   {k: v for k, v in vars(theirs).items() if k != "_api_client"}
            assert type(ours._api_client) is type(theirs._api_client)
            assert ours._api_client.configuration.host == theirs._api_client.configuration.host
        finally:
            await ours.close()
            await theirs.close()

    asyncio.run(compare())


def test_a_trigger_builds_its_tls_contexts_in_worker_threads(cluster, monkeypatch):
    """Loading the CA bundle for a client (some 20 ms of CPU each time) never runs on the event loop:
    neither ``ssl.create_default_context`` nor ``kube_http._tls_context`` (which loads the system's CA
    bundle when the kubeconfig names no CA)."""
    from airflow_flink_operator.hooks import kube_http
    from airflow_flink_operator.triggers import FlinkWaitTrigger

    _deploy(cluster)
    made_in: list[str] = []

    def spying(real):
        def spy(*args, **kwargs):
            made_in.append(threading.current_thread().name)
            return real(*args, **kwargs)
        return spy

    monkeypatch.setattr(ssl, "create_default_context", spying(ssl.create_default_context))
    monkeypatch.setattr(kube_http, "_tls_context", spying(kube_http._tls_context))

    async def run() -> tuple[str, str]:
        loop_thread = threading.current_thread().name
        trigger = FlinkWaitTrigger(kind="FlinkDeployment", name="orders", namespace="default", target="running")
        async for event in trigger.run():
            return event.payload["status"], loop_thread
        raise AssertionError("no event")

    status, loop_thread = asyncio.run(run())
    assert status == "success"
    ours = [name for name in made_in if name == loop_thread or name.startswith("asyncio_")]
    assert ours, "the trigger built no client"
    assert loop_thread not in ours, made_in


def test_no_step_of_our_trigger_holds_the_event_loop(cluster, tmp_path):
    """A fresh triggerer process (the trigger's modules preloaded as the docs advise) runs our trigger;
    every event-loop step (all of them are the trigger's work here) is timed in CPU seconds of the loop
    thread, which a loaded machine's preemption does not inflate. None may take 15 ms of CPU: a client's
    TLS context alone took 20 ms (one per client and per watch request); our steps now take about 1 ms."""
    _deploy(cluster)
    script = tmp_path / "run_trigger.py"
    script.write_text(textwrap.dedent("""
        import asyncio, gc, json, time
        from airflow.triggers.base import BaseTrigger  # the triggerer has Airflow loaded already
        from airflow_flink_operator.triggers.flink import preload

        preload()
        gc.freeze()  # what was loaded before the loop runs: a full collection then costs no 20 ms step
        steps = []
        real_run = asyncio.events.Handle._run

        def timed_run(self):
            started = time.thread_time()
            try:
                return real_run(self)
            finally:
                steps.append((time.thread_time() - started, label(self)))

        def label(handle):
            task = getattr(handle._callback, "__self__", None)
            if isinstance(task, asyncio.Task):  # a task's step: name the coroutine it runs
                code = getattr(task.get_coro(), "cr_code", None)
                if code is not None:
                    return f"{code.co_filename}:{getattr(code, 'co_qualname', code.co_name)}"
                return repr(task)[:300]
            return repr(handle)[:300]

        asyncio.events.Handle._run = timed_run

        async def main():
            from airflow_flink_operator.triggers import FlinkWaitTrigger
            results = []
            for name in ("orders", "orders"):  # a cold start, then a second trigger on the warm hub
                trigger = FlinkWaitTrigger(kind="FlinkDeployment", name=name, namespace="default", target="running")
                async for event in trigger.run():
                    results.append(event.payload["status"])
            return results

        statuses = asyncio.run(main())
        ours = sum("airflow_flink_operator" in what for _, what in steps)
        print(json.dumps({"statuses": statuses, "ours": ours, "slowest": sorted(steps, reverse=True)[:6]}))
    """))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=dict(os.environ),
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    outcome = json.loads(proc.stdout.strip().splitlines()[-1])
    print("slowest steps of our code (CPU s):", json.dumps(outcome["slowest"], indent=1))
    assert outcome["statuses"] == ["success", "success"]
    assert outcome["ours"] > 0  # the steps of our code were seen (the measurement is not vacuous)
    slow = [step for step in outcome["slowest"] if step[0] >= 0.015]
    assert slow == [], "\n".join(f"{cpu:.3f}s {what}" for cpu, what in slow)
