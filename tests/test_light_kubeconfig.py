"""The triggerer's light path (httpx2 + lightkube's kubeconfig layer, ``hooks/kube_http.py``) reads a kubeconfig
and a watch stream the way ``kubernetes_asyncio`` and client-go do, where lightkube alone would not.

Every test goes through the emulator over real HTTP (HTTPS through ``TlsFrontend`` where the CA matters)."""

from __future__ import annotations

import asyncio
import base64
import json
import sys
import textwrap
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from specs import NS, app
from test_connections import TlsFrontend, self_signed_cert

from airflow_flink_operator.hooks import AsyncFlinkKubernetesHook, FlinkApiError
from airflow_flink_operator.manifests import render

KIND = "FlinkDeployment"


@pytest.fixture
def deployed(emulated):
    emulated.hook().apply(render(app()))
    return emulated


def async_hook(config: dict, **kwargs) -> AsyncFlinkKubernetesHook:
    return AsyncFlinkKubernetesHook(conn_id=None, config_dict=config, **kwargs)


def file_hook(config: dict, path: Path) -> AsyncFlinkKubernetesHook:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config))
    return AsyncFlinkKubernetesHook(conn_id=None, config_file=str(path))


async def watch_until(hook: AsyncFlinkKubernetesHook, predicate, timeout: float = 60.0):
    """Follow ``orders`` through the shared watch the triggers use until ``predicate(obj)``."""
    from airflow_flink_operator.triggers.watch_hub import WatchHub

    states = WatchHub(lambda: hook, KIND, NS).subscribe("orders")

    async def run():
        async for obj in states:
            if predicate(obj):
                return obj

    try:
        return await asyncio.wait_for(run(), timeout)
    finally:
        await states.aclose()


def annotated(key: str, value: str):
    return lambda obj: obj is not None and (obj["metadata"].get("annotations") or {}).get(key) == value


def get_orders(make_hook: Callable[[], Any]) -> Any:
    """``orders`` read once through a hook made in the event loop, the hook closed after."""

    async def run() -> Any:
        hook = make_hook()
        try:
            return await hook.get_object(KIND, "orders", NS)
        finally:
            await hook.aclose()

    return asyncio.run(run())


# --- 1. the watch stream: one event a line, lines end at "\n" only ----------------------------------


@pytest.mark.parametrize("text", ["boom\u0085at line 2", "boom\u2028at\u2029line 2", "x" * 200_000 + "\u0085"])
def test_watch_event_with_a_unicode_line_break_inside_a_string(deployed, text):
    """kube-apiserver's JSON encoder leaves U+0085 (NEL) unescaped; str.splitlines() (httpx's aiter_lines)
    would split the event there and fail every wait of the namespace with a JSONDecodeError."""
    key = "example.com/note"

    async def run():
        hook = deployed.async_hook()
        first = asyncio.get_running_loop().create_future()

        async def change_once_watched():
            await first
            await asyncio.to_thread(deployed.hook().patch_metadata, KIND, "orders", {"annotations": {key: text}}, NS)

        def seen(obj):
            if not first.done():
                first.set_result(None)
            return annotated(key, text)(obj)

        changer = asyncio.create_task(change_once_watched())
        obj = await watch_until(hook, seen)
        await changer
        await hook.aclose()
        return obj

    assert asyncio.run(run())["metadata"]["annotations"][key] == text


# --- 2. a CA or client-certificate file that is not there: an error, not retries for ever -----------


def test_a_missing_certificate_authority_file_fails_the_wait_clearly(deployed, tmp_path):
    config = deployed.kubeconfig()
    missing = tmp_path / "no-such-ca.crt"
    config["clusters"][0]["cluster"]["certificate-authority"] = str(missing)

    async def run():
        with pytest.raises(FlinkApiError, match="ConfigError.*certificate-authority") as err:
            await watch_until(async_hook(config), lambda obj: True)
        return str(err.value)

    assert "No such file" in asyncio.run(run())


def test_a_missing_client_key_file_fails_clearly(deployed, tmp_path):
    cert, _ = self_signed_cert(tmp_path)
    config = deployed.kubeconfig()
    config["users"][0]["user"] = {"client-certificate": cert, "client-key": str(tmp_path / "gone.key")}

    async def run():
        with pytest.raises(FlinkApiError, match="ConfigError.*client-certificate"):
            await watch_until(async_hook(config), lambda obj: True)

    asyncio.run(run())


def test_in_cluster_without_its_ca_file_is_a_config_error(monkeypatch, tmp_path):
    """As kubernetes_asyncio's InClusterConfigLoader: the service account's ca.crt must be there."""
    from airflow_flink_operator.hooks import kube_http

    token = tmp_path / "token"
    token.write_text("service-account-token")
    monkeypatch.setattr(kube_http, "SERVICE_TOKEN_FILENAME", str(token))
    monkeypatch.setattr(kube_http, "SERVICE_CERT_FILENAME", str(tmp_path / "ca.crt"))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    with pytest.raises(kube_http.ConfigError, match="certification file"):
        kube_http.load_light_config(in_cluster=True, data=None, path=None, context=None)


# --- 3. certificate-authority-data wins over certificate-authority -----------------------------------


@pytest.mark.parametrize("file_is", ["another CA", "absent"])
def test_certificate_authority_data_wins_over_the_file(deployed, tmp_path, file_is):
    for sub in ("server", "other"):
        (tmp_path / sub).mkdir()
    cert, key = self_signed_cert(tmp_path / "server")
    other, _ = self_signed_cert(tmp_path / "other")
    frontend = TlsFrontend(deployed.api.port, cert, key)
    try:
        config = deployed.kubeconfig()
        config["clusters"][0]["cluster"] = {
            "server": f"https://127.0.0.1:{frontend.port}",
            "certificate-authority-data": base64.b64encode(Path(cert).read_bytes()).decode(),
            "certificate-authority": other if file_is == "another CA" else str(tmp_path / "absent.crt")}

        assert get_orders(lambda: async_hook(config))["metadata"]["name"] == "orders"
    finally:
        frontend.stop()


# --- 4. which credential wins; tokenFile relative to the kubeconfig ----------------------------------


def test_relative_token_file_is_read_from_the_kubeconfigs_folder(deployed, tmp_path, monkeypatch):
    folder = tmp_path / "kube"
    folder.mkdir()
    (folder / "token").write_text("token-from-the-file")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config = deployed.kubeconfig()
    config["users"][0]["user"] = {"tokenFile": "token"}
    deployed.api.expired_tokens.add("emulator-token")  # only the file's token is good

    assert get_orders(lambda: file_hook(config, folder / "config.yaml")) is not None


def test_token_wins_over_token_file(deployed, tmp_path):
    """kubernetes_asyncio (FileOrData(user, "tokenFile", "token")) and client-go use ``token`` first."""
    (tmp_path / "token").write_text("revoked-token")
    deployed.api.expired_tokens.add("revoked-token")
    config = deployed.kubeconfig()
    config["users"][0]["user"] = {"token": "good-token", "tokenFile": str(tmp_path / "token")}

    assert get_orders(lambda: async_hook(config)) is not None


def test_exec_plugin_wins_over_token(deployed, tmp_path):
    """kubernetes_asyncio's ``_load_authentication``: the exec plugin first, then ``token``."""
    config, _ = exec_config(deployed, tmp_path, "token")
    config["users"][0]["user"]["token"] = "revoked-token"
    deployed.api.expired_tokens.add("revoked-token")

    assert get_orders(lambda: async_hook(config)) is not None


# --- 5. no CA named: the trust store kubernetes_asyncio uses (ssl.create_default_context) ------------


def test_no_ca_named_trusts_what_ssl_create_default_context_trusts(deployed, tmp_path, monkeypatch):
    """OpenSSL's default paths honour SSL_CERT_FILE and SSL_CERT_DIR together (what kubernetes_asyncio's
    context trusts); httpx2's own default context reads SSL_CERT_DIR only without SSL_CERT_FILE."""
    import shutil
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command for a hashed CA folder")
    certifi = pytest.importorskip("certifi")  # a CA bundle without the server's CA
    for sub in ("server", "certs"):
        (tmp_path / sub).mkdir()
    cert, key = self_signed_cert(tmp_path / "server")
    subject_hash = subprocess.run(["openssl", "x509", "-hash", "-noout", "-in", cert], check=True,
                                  capture_output=True, text=True).stdout.strip()
    shutil.copy(cert, tmp_path / "certs" / f"{subject_hash}.0")
    monkeypatch.setenv("SSL_CERT_FILE", certifi.where())
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path / "certs"))
    frontend = TlsFrontend(deployed.api.port, cert, key)
    try:
        config = deployed.kubeconfig()
        config["clusters"][0]["cluster"] = {"server": f"https://127.0.0.1:{frontend.port}"}

        assert get_orders(lambda: async_hook(config)) is not None
    finally:
        frontend.stop()


# --- 6. one client per hook, however many first calls run at once -----------------------------------


def test_concurrent_first_calls_make_one_client(deployed, monkeypatch):
    from airflow_flink_operator.hooks import kube_http

    made = []
    real = kube_http.http_client

    def counting(*args, **kwargs):
        made.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(kube_http, "http_client", counting)

    async def run():
        hook = deployed.async_hook()
        objs = await asyncio.gather(*(hook.get_object(KIND, "orders", NS) for _ in range(8)))
        await hook.aclose()
        return objs

    assert all(obj is not None for obj in asyncio.run(run()))
    assert len(made) == 1


# --- 7. exec plugins: KUBERNETES_EXEC_INFO; output that is not JSON is a config error -----------------

PLUGIN = textwrap.dedent('''
    import json, os, pathlib, sys

    out = pathlib.Path(sys.argv[1])
    runs = int(out.with_suffix(".runs").read_text()) + 1 if out.with_suffix(".runs").exists() else 1
    out.with_suffix(".runs").write_text(str(runs))
    out.write_text(os.environ.get("KUBERNETES_EXEC_INFO", "(unset)"))
    if sys.argv[2] == "garbage":
        print("Please log in at https://example.com/device")
    else:
        print(json.dumps({"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential",
                          "status": {"token": "exec-token"}}))
''')


def exec_config(deployed, tmp_path: Path, mode: str) -> tuple[dict, Path]:
    plugin = tmp_path / "plugin.py"
    plugin.write_text(PLUGIN)
    seen = tmp_path / "exec-info.json"
    config = deployed.kubeconfig()
    config["users"][0]["user"] = {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1",
                                           "command": sys.executable, "args": ["-I", "-S", str(plugin), str(seen), mode],
                                           "interactiveMode": "Never"}}
    return config, seen


def test_exec_plugin_gets_kubernetes_exec_info(deployed, tmp_path):
    config, seen = exec_config(deployed, tmp_path, "token")

    assert get_orders(lambda: async_hook(config)) is not None
    assert json.loads(seen.read_text()) == {"apiVersion": "client.authentication.k8s.io/v1beta1",
                                            "kind": "ExecCredential", "spec": {"interactive": False}}


def test_exec_plugin_output_that_is_not_json_is_a_config_error_retried_then_reported(deployed, tmp_path):
    config, seen = exec_config(deployed, tmp_path, "garbage")

    async def run():
        from airflow_flink_operator.triggers.watch_hub import WatchHub

        hub = WatchHub(lambda: async_hook(config), KIND, NS, max_backoff=0.2, config_retries=2)
        states = hub.subscribe("orders")
        with pytest.raises(FlinkApiError, match="ConfigError.*not JSON"):
            await asyncio.wait_for(anext(states), 60)

    asyncio.run(run())
    assert int(seen.with_suffix(".runs").read_text()) == 3  # the first try and config_retries=2 more


# --- 8, 9 --------------------------------------------------------------------------------------------


def test_a_given_client_configuration_is_served_by_kubernetes_asyncio(deployed):
    from kubernetes_asyncio.client import Configuration

    async def run():
        hook = deployed.async_hook(client_configuration=Configuration())
        try:
            assert await hook.get_object(KIND, "orders", NS) is not None
            return type(hook._api_client).__name__
        finally:
            await hook.aclose()

    assert asyncio.run(run()) == "LegacyApi"


def test_a_light_config_repr_shows_no_credentials(deployed):
    from airflow_flink_operator.hooks import kube_http

    secret = f"s3cr/t@tok:{uuid.uuid4().hex}"
    config = deployed.kubeconfig()
    config["users"][0]["user"] = {"token": secret, "username": "u", "password": secret}
    light = kube_http.load_light_config(in_cluster=False, data=config, path=None, context=None)
    assert secret not in repr(light) and secret not in str(light)
