"""Every way of reaching the cluster works for the blocking path (sync hook) and the deferred path
(async hook + shared watch), both built from one :class:`KubernetesConnection`."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import json
import os
import socket
import ssl
import subprocess
import sys
import textwrap
import threading
import uuid
from pathlib import Path

import pytest
import yaml
from specs import app

from airflow_flink_operator.hooks.connection import KubernetesConnection
from airflow_flink_operator.manifests import render
from airflow_flink_operator.testing import SimulatedCluster

KIND = "FlinkDeployment"
DEAD_SERVER = "http://127.0.0.1:9"  # discard port: nothing answers there


def connection_env(monkeypatch: pytest.MonkeyPatch, conn_id: str, extra: dict) -> None:
    """An Airflow connection, the way a deployment defines one in its environment."""
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "kubernetes", "extra": extra}))


def deploy(cluster: SimulatedCluster, namespace: str | None = None) -> None:
    cluster.hook().apply(render(app()), namespace=namespace or cluster.namespace)


def assert_both_paths_see_the_job(conn: KubernetesConnection, cluster: SimulatedCluster,
                                  namespace: str | None = None) -> None:
    """The sync hook reads the job; a shared-watch subscription sees it and then a change to it.

    :param namespace: where the job is; ``None`` = let each hook resolve it from the connection.
    """
    sync = conn.sync_hook()
    ns = sync.resolve_namespace(namespace)
    obj = sync.get(KIND, "orders", ns)
    assert obj is not None and obj["metadata"]["namespace"] == ns

    async def deferred():
        from airflow_flink_operator.triggers.watch_hub import WatchHub

        hook = conn.async_hook()
        async_ns = await hook.resolve_namespace(namespace)
        assert async_ns == ns
        states = WatchHub.get(conn.cache_key(), conn.async_hook, KIND, async_ns).subscribe("orders")
        first = await asyncio.wait_for(anext(states), 60)
        assert first is not None and first["metadata"]["name"] == "orders"
        probe = uuid.uuid4().hex
        await asyncio.to_thread(cluster.hook().patch_metadata, KIND, "orders", {"labels": {"probe": probe}}, ns)

        async def changed():
            async for obj in states:
                if obj and (obj["metadata"].get("labels") or {}).get("probe") == probe:
                    return obj

        assert await asyncio.wait_for(changed(), 60) is not None  # a live watch, not a one-off read
        await states.aclose()

    asyncio.run(deferred())


@pytest.fixture
def no_default_kubeconfig(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No in-cluster environment and no default kubeconfig, so only the settings under test can work."""
    for name in ("KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "KUBECONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


# --- the connection description ----------------------------------------------------------------


def test_serialize_round_trips_names_and_paths_only(tmp_path: Path):
    conn = KubernetesConnection("prod_k8s", in_cluster=False, config_file=str(tmp_path / "kc"), cluster_context="eu")
    data = conn.serialize()
    assert json.loads(json.dumps(data)) == data
    assert data == {"conn_id": "prod_k8s", "in_cluster": False, "config_file": str(tmp_path / "kc"),
                    "cluster_context": "eu"}
    assert KubernetesConnection.deserialize(data) == conn
    assert KubernetesConnection.deserialize(None) == KubernetesConnection() == KubernetesConnection.deserialize({})
    assert conn.cache_key() != KubernetesConnection("prod_k8s").cache_key()
    with pytest.raises(TypeError, match="kube_config"):
        KubernetesConnection.deserialize({"conn_id": "x", "kube_config": "{...}"})


def test_importing_the_connection_module_loads_no_kubernetes_client():
    code = ("import sys, airflow_flink_operator.hooks.connection as c; c.KubernetesConnection().serialize(); "
            "print(sorted(m for m in ('kubernetes', 'kubernetes_asyncio') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out.strip().replace("'", '"')) == []


# --- connection styles -------------------------------------------------------------------------


def test_kube_config_path_extra(emulated, monkeypatch, tmp_path, no_default_kubeconfig):
    deploy(emulated)
    path = emulated.api.write_kubeconfig(str(tmp_path / "kubeconfig.yaml"))
    connection_env(monkeypatch, "k8s_path", {"kube_config_path": path})
    assert_both_paths_see_the_job(KubernetesConnection("k8s_path"), emulated)


def test_kube_config_json_content_extra(emulated, monkeypatch, no_default_kubeconfig):
    deploy(emulated)
    for key, value in emulated.airflow_connection_env("k8s_inline").items():
        monkeypatch.setenv(key, value)
    assert_both_paths_see_the_job(KubernetesConnection("k8s_inline"), emulated)


def two_context_kubeconfig(cluster: SimulatedCluster, path: Path) -> str:
    """A kubeconfig whose current context points nowhere; the ``emulator`` context reaches the cluster."""
    config = cluster.kubeconfig()
    config["clusters"].append({"name": "elsewhere", "cluster": {"server": DEAD_SERVER}})
    config["contexts"].append({"name": "elsewhere", "context": {"cluster": "elsewhere", "user": "tester"}})
    config["current-context"] = "elsewhere"
    path.write_text(yaml.safe_dump(config))
    return str(path)


def test_cluster_context_extra_picks_the_non_default_context(emulated, monkeypatch, tmp_path, no_default_kubeconfig):
    deploy(emulated)
    path = two_context_kubeconfig(emulated, tmp_path / "two.yaml")
    connection_env(monkeypatch, "k8s_ctx", {"kube_config_path": path, "cluster_context": "emulator"})
    assert_both_paths_see_the_job(KubernetesConnection("k8s_ctx"), emulated)


def test_cluster_context_argument_with_config_file(emulated, tmp_path, no_default_kubeconfig):
    deploy(emulated)
    path = two_context_kubeconfig(emulated, tmp_path / "two.yaml")
    assert_both_paths_see_the_job(KubernetesConnection(None, config_file=path, cluster_context="emulator"), emulated)


def test_the_default_context_of_that_kubeconfig_is_really_elsewhere(emulated, tmp_path, no_default_kubeconfig):
    """Guard for the two tests above: without the context, the same file does not reach the cluster."""
    from airflow_flink_operator.hooks import FlinkApiError

    path = two_context_kubeconfig(emulated, tmp_path / "two.yaml")
    with pytest.raises(FlinkApiError):
        KubernetesConnection(None, config_file=path).sync_hook(transient_retries=0, request_timeout=2).get(KIND, "x")


def test_namespace_extra(monkeypatch, no_default_kubeconfig):
    with SimulatedCluster(namespace="team-a", bookmark_interval=0.2) as cluster:
        deploy(cluster, "team-a")
        for key, value in cluster.airflow_connection_env("k8s_team_a").items():
            monkeypatch.setenv(key, value)
        assert json.loads(os.environ["AIRFLOW_CONN_K8S_TEAM_A"])["extra"]["namespace"] == "team-a"
        assert_both_paths_see_the_job(KubernetesConnection("k8s_team_a"), cluster, namespace=None)


def test_config_file_given_directly(emulated, tmp_path, no_default_kubeconfig):
    """issue #13: the deferred path ignored ``config_file`` ("Expected key current-context")."""
    deploy(emulated)
    path = emulated.api.write_kubeconfig(str(tmp_path / "kubeconfig.yaml"))
    assert_both_paths_see_the_job(KubernetesConnection(None, config_file=path), emulated)
    # with the default connection id too, when no such connection is defined
    assert_both_paths_see_the_job(KubernetesConnection(config_file=path), emulated)


def test_default_kubeconfig_from_the_environment_when_no_connection_exists(emulated, tmp_path):
    """No ``kubernetes_default`` connection: both paths fall back to $KUBECONFIG (read at process start,
    as the Kubernetes clients do, hence a fresh process)."""
    deploy(emulated)
    path = emulated.api.write_kubeconfig(str(tmp_path / "kubeconfig.yaml"))
    script = textwrap.dedent(f"""
        import asyncio, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from airflow_flink_operator.hooks.connection import KubernetesConnection
        from airflow_flink_operator.triggers.watch_hub import WatchHub

        conn = KubernetesConnection()
        assert conn.sync_hook().get("FlinkDeployment", "orders", "default") is not None

        async def deferred():
            states = WatchHub.get(conn.cache_key(), conn.async_hook, "FlinkDeployment", "default").subscribe("orders")
            obj = await asyncio.wait_for(anext(states), 60)
            assert obj is not None, obj
            await states.aclose()

        asyncio.run(deferred())
        print("OK")
    """)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_CONN_", "KUBERNETES_SERVICE_"))}
    env.update(KUBECONFIG=path, HOME=str(tmp_path))
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0 and "OK" in result.stdout, result.stderr[-3000:]


# --- in cluster -------------------------------------------------------------------------------


def self_signed_cert(tmp_path: Path) -> tuple[str, str]:
    """A certificate for 127.0.0.1 (its own CA, as the pod's ca.crt is) and its key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubernetes")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "ca.crt", tmp_path / "tls.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


class TlsFrontend:
    """HTTPS in front of the (plain-HTTP) emulator, as the in-cluster loader only speaks https.

    Stands in for TLS support in the emulator itself (see the report on issue #13)."""

    def __init__(self, target_port: int, cert: str, key: str) -> None:
        self.target_port = target_port
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(cert, key)
        self.loop = asyncio.new_event_loop()
        self.port = 0
        ready = threading.Event()

        async def serve():
            self.server = await asyncio.start_server(self._pipe, "127.0.0.1", 0, ssl=self.context)
            self.port = self.server.sockets[0].getsockname()[1]
            ready.set()

        self.thread = threading.Thread(target=lambda: (self.loop.run_until_complete(serve()), self.loop.run_forever()),
                                       daemon=True)
        self.thread.start()
        assert ready.wait(10)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)

        async def copy(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()

        await asyncio.gather(copy(reader, up_writer), copy(up_reader, writer))

    def stop(self) -> None:
        async def shutdown():
            self.server.close()
            pipes = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in pipes:
                task.cancel()
            await asyncio.gather(*pipes, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


def test_in_cluster(emulated, monkeypatch, tmp_path, no_default_kubeconfig):
    """A pod's service account: token and CA files, KUBERNETES_SERVICE_HOST/PORT (https)."""
    import kubernetes.config.incluster_config as sync_incluster
    import kubernetes_asyncio.config.incluster_config as async_incluster

    from airflow_flink_operator.hooks import kube_http

    deploy(emulated)
    cert, key = self_signed_cert(tmp_path)
    token = tmp_path / "token"
    token.write_text("service-account-token")
    frontend = TlsFrontend(emulated.api.port, cert, key)
    try:
        # Where a pod has them: /var/run/secrets/kubernetes.io/serviceaccount/{token,ca.crt}.
        for module in (sync_incluster, async_incluster, kube_http):
            monkeypatch.setattr(module, "SERVICE_TOKEN_FILENAME", str(token))
            monkeypatch.setattr(module, "SERVICE_CERT_FILENAME", cert)
        monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
        monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(frontend.port))
        before = emulated.api.request_count
        assert_both_paths_see_the_job(KubernetesConnection(None, in_cluster=True), emulated)
        assert emulated.api.request_count > before
        # the in_cluster extra of a connection, too
        connection_env(monkeypatch, "k8s_pod", {"in_cluster": True})
        assert_both_paths_see_the_job(KubernetesConnection("k8s_pod"), emulated)
    finally:
        frontend.stop()


def test_nothing_listens_on_the_dead_server():
    host, port = DEAD_SERVER.removeprefix("http://").split(":")
    with socket.socket() as sock:
        sock.settimeout(1)
        assert sock.connect_ex((host, int(port))) != 0
