"""Short-lived exec-plugin tokens (EKS, GKE: ~15 minutes) expire while waits go on: the shared watch
and the sync hook get fresh credentials instead of failing every wait (issue #13)."""

from __future__ import annotations

import asyncio
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
import yaml
from specs import NS, app

from airflow_flink_operator.hooks import FlinkApiError
from airflow_flink_operator.hooks.connection import KubernetesConnection
from airflow_flink_operator.manifests import render

KIND = "FlinkDeployment"

PLUGIN = textwrap.dedent('''
    """A kubectl exec credential plugin: a new token on every run (exec-token-1, -2...)."""
    import datetime, json, pathlib, sys

    counter = pathlib.Path(sys.argv[1])
    expires_in = int(sys.argv[2]) if len(sys.argv) > 2 else None
    fail = counter.with_suffix(".fail")
    if fail.exists():  # "once": the next run fails; "always": every run fails
        if fail.read_text() != "always":
            fail.unlink()
        sys.stderr.write("could not get a token from the identity provider\\n")
        sys.exit(1)
    n = int(counter.read_text()) + 1 if counter.exists() else 1
    counter.write_text(str(n))
    status = {"token": f"exec-token-{n}"}
    if expires_in is not None:
        expiry = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=expires_in)
        status["expirationTimestamp"] = expiry.strftime("%Y-%m-%dT%H:%M:%SZ")
    print(json.dumps({"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential",
                      "status": status}))
''')


class ExecAuth:
    """A kubeconfig for the emulator whose user runs :data:`PLUGIN`, and the tokens it handed out.

    :param expires_in: seconds the plugin says each token lives (``expirationTimestamp``); ``None``
        = it does not say (then only a ``401`` tells a client the token is no longer good).
    """

    def __init__(self, cluster, tmp_path: Path, expires_in: int | None = None) -> None:
        self.cluster = cluster
        self.counter = tmp_path / "plugin-counter"
        plugin = tmp_path / "plugin.py"
        plugin.write_text(PLUGIN)
        config = cluster.kubeconfig()
        args = ["-I", "-S", str(plugin), str(self.counter)] + ([str(expires_in)] if expires_in is not None else [])
        config["users"] = [{"name": "tester", "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1", "command": sys.executable, "args": args,
            "interactiveMode": "Never"}}}]
        self.path = tmp_path / "exec-kubeconfig.yaml"
        self.path.write_text(yaml.safe_dump(config))
        self.connection = KubernetesConnection(None, config_file=str(self.path))

    @property
    def runs(self) -> int:
        """How often the plugin handed out a token."""
        return int(self.counter.read_text()) if self.counter.exists() else 0

    def expire_all(self) -> None:
        """Every token handed out so far is now refused with 401, as after its 15 minutes."""
        self.cluster.api.expired_tokens.update(f"exec-token-{n}" for n in range(1, self.runs + 1))

    def fail_next(self, always: bool = False) -> None:
        """The plugin's next run (or every run) fails, as when the identity provider has a bad moment."""
        self.counter.with_suffix(".fail").write_text("always" if always else "once")


def relabel(cluster, value: str) -> None:
    """Change the object with the cluster's own (admin, never expiring) credentials."""
    cluster.hook().patch_metadata(KIND, "orders", {"labels": {"probe": value}}, NS)


async def until_label(states, value: str, timeout: float = 60.0):
    async def run():
        async for obj in states:
            if obj and (obj["metadata"].get("labels") or {}).get("probe") == value:
                return obj

    return await asyncio.wait_for(run(), timeout)


@pytest.fixture
def stable_job(emulated):
    emulated.hook().apply(render(app()))
    emulated.wait_for_lifecycle("orders", "STABLE", timeout=60)
    return emulated


# --- the shared watch (deferred waits) ---------------------------------------------------------


def test_shared_watch_gets_a_fresh_token_when_the_current_one_expires(stable_job, tmp_path):
    cluster = stable_job
    auth = ExecAuth(cluster, tmp_path)

    async def run():
        from airflow_flink_operator.triggers.watch_hub import WatchHub

        conn = auth.connection
        states = WatchHub.get(conn.cache_key(), conn.async_hook, KIND, NS).subscribe("orders")
        assert await asyncio.wait_for(anext(states), 60) is not None
        runs_before = auth.runs
        auth.expire_all()
        # The open stream ends (as at the server's watch timeout); reconnecting meets 401 Unauthorized.
        await asyncio.to_thread(cluster.api.drop_watches)
        value = uuid.uuid4().hex
        await asyncio.to_thread(relabel, cluster, value)
        assert await until_label(states, value) is not None
        assert auth.runs > runs_before  # the plugin ran again for a fresh token
        await states.aclose()

    asyncio.run(run())


def test_watch_resumes_from_its_resource_version_after_a_token_refresh(stable_job, tmp_path):
    """No re-list (and no missed change) after the refresh: the watch picks up where it stopped."""
    cluster = stable_job
    auth = ExecAuth(cluster, tmp_path)
    value = uuid.uuid4().hex
    events = []

    async def run():
        hook = auth.connection.async_hook()
        async for event, obj in hook.watch_kind(KIND, NS, watch_timeout=30, max_backoff=0.2):
            events.append(event)
            if len(events) == 1:
                auth.expire_all()
                await asyncio.to_thread(cluster.api.drop_watches)
                await asyncio.to_thread(relabel, cluster, value)  # changed while the watch is down
            if event != "LIST" and (obj["metadata"].get("labels") or {}).get("probe") == value:
                return hook

    hook = asyncio.run(asyncio.wait_for(run(), 60))
    assert events.count("LIST") == 1
    assert hook.credential_reloads == 1


def test_shared_watch_rides_out_a_failing_credential_plugin(stable_job, tmp_path):
    """The token expires and the plugin's next run fails once: the shared watch retries, the wait goes on."""
    cluster = stable_job
    auth = ExecAuth(cluster, tmp_path)

    async def run():
        from airflow_flink_operator.triggers.watch_hub import WatchHub

        conn = auth.connection
        states = WatchHub.get(conn.cache_key(), conn.async_hook, KIND, NS).subscribe("orders")
        assert await asyncio.wait_for(anext(states), 60) is not None
        auth.expire_all()
        auth.fail_next()
        await asyncio.to_thread(cluster.api.drop_watches)
        value = uuid.uuid4().hex
        await asyncio.to_thread(relabel, cluster, value)
        assert await until_label(states, value) is not None
        await states.aclose()

    asyncio.run(run())


def test_a_credential_plugin_that_keeps_failing_is_a_clear_error(stable_job, tmp_path):
    auth = ExecAuth(stable_job, tmp_path)
    auth.fail_next(always=True)

    async def run():
        from airflow_flink_operator.triggers.watch_hub import WatchHub

        conn = auth.connection
        states = WatchHub.get(conn.cache_key(), conn.async_hook, KIND, NS).subscribe("orders")
        # kubernetes_asyncio's ConfigException, or lightkube's ConfigError, with the plugin's stderr
        with pytest.raises(FlinkApiError, match="Config(Exception|Error).*could not get a token"):
            await asyncio.wait_for(anext(states), 60)

    asyncio.run(run())


def test_refused_fresh_credentials_are_a_clear_401(stable_job, tmp_path):
    """If even the fresh token is refused, the waiters learn it (one reload per 401, no loop)."""
    cluster = stable_job
    auth = ExecAuth(cluster, tmp_path)

    async def run():
        from airflow_flink_operator.triggers.watch_hub import WatchHub

        conn = auth.connection
        states = WatchHub.get(conn.cache_key(), conn.async_hook, KIND, NS).subscribe("orders")
        assert await asyncio.wait_for(anext(states), 60) is not None
        cluster.api.expired_tokens.update(f"exec-token-{n}" for n in range(1, 1000))  # revoked, all of them
        await asyncio.to_thread(cluster.api.drop_watches)

        async def drain():
            async for _ in states:
                pass

        with pytest.raises(FlinkApiError) as err:
            await asyncio.wait_for(drain(), 60)
        assert err.value.status == 401

    asyncio.run(run())


# --- the sync hook (blocking waits, operators) ------------------------------------------------


def test_sync_hook_refreshes_a_token_whose_expiry_the_plugin_announced(stable_job, tmp_path):
    """cncf's KubernetesHook (the kubernetes client) re-runs the plugin once the announced
    ``expirationTimestamp`` is near (within 5 minutes), as with EKS tokens: no 401 ever happens."""
    cluster = stable_job
    auth = ExecAuth(cluster, tmp_path, expires_in=60)
    hook = auth.connection.sync_hook(transient_retries=0)
    assert hook.get(KIND, "orders", NS) is not None
    runs = auth.runs
    auth.expire_all()
    assert hook.get(KIND, "orders", NS) is not None
    assert auth.runs > runs


def test_sync_hook_rebuilds_its_client_once_on_401(stable_job, tmp_path):
    """A token revoked before its announced expiry (or a plugin that announces none): the hook must
    rebuild its client (re-running the plugin) once and retry the call."""
    cluster = stable_job
    auth = ExecAuth(cluster, tmp_path)  # no expirationTimestamp: the client caches the token for ever
    hook = auth.connection.sync_hook(transient_retries=0)
    assert hook.get(KIND, "orders", NS) is not None
    runs = auth.runs
    auth.expire_all()
    assert hook.get(KIND, "orders", NS) is not None
    assert auth.runs > runs
