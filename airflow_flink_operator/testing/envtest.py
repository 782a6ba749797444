"""A real kube-apiserver + etcd on loopback (the controller-runtime "envtest" convention).

``KUBEBUILDER_ASSETS`` names a folder holding the ``etcd`` and ``kube-apiserver`` binaries. Both
start with a temporary data directory, bound to 127.0.0.1 only; the Flink CRDs are installed from
a CRD folder; everything is removed on :meth:`RealApiServer.stop`. The simulated operator then
writes status through this real API, so the same tests check the hook against the real thing.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

ASSETS_ENV = "KUBEBUILDER_ASSETS"
TOKEN = "envtest-admin-token"


def assets_dir() -> Path | None:
    """The folder with ``etcd`` and ``kube-apiserver``, or ``None`` when not configured/complete."""
    value = os.environ.get(ASSETS_ENV, "").strip()
    if not value:
        return None
    path = Path(value)
    if not all((path / binary).is_file() for binary in ("etcd", "kube-apiserver")):
        return None
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _signing_key(path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                       serialization.NoEncryption()))


class RealApiServer:
    """etcd + kube-apiserver from ``KUBEBUILDER_ASSETS``, with the Flink CRDs installed.

    :param assets: the binaries' folder.
    :param crd_dir: CRDs to install.
    """

    def __init__(self, assets: Path, crd_dir: str | None) -> None:
        self.assets, self.crd_dir = assets, crd_dir
        self.workdir = Path(tempfile.mkdtemp(prefix="envtest-"))
        self.port = _free_port()
        self._procs: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def kubeconfig(self, namespace: str = "default") -> dict[str, Any]:
        """A kubeconfig dict for the server (token auth, self-signed serving certificate)."""
        return {
            "apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": "envtest", "cluster": {"server": self.url, "insecure-skip-tls-verify": True}}],
            "users": [{"name": "admin", "user": {"token": TOKEN}}],
            "contexts": [{"name": "envtest", "context": {"cluster": "envtest", "user": "admin", "namespace": namespace}}],
            "current-context": "envtest",
        }

    def start(self, timeout: float = 60.0) -> RealApiServer:
        """Start etcd and the API server, wait until ready, install the CRDs."""
        etcd_port, peer_port = _free_port(), _free_port()
        etcd_url = f"http://127.0.0.1:{etcd_port}"
        self._spawn([str(self.assets / "etcd"), "--data-dir", str(self.workdir / "etcd"),
                     "--listen-client-urls", etcd_url, "--advertise-client-urls", etcd_url,
                     "--listen-peer-urls", f"http://127.0.0.1:{peer_port}",
                     "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer_port}",
                     "--initial-cluster", f"default=http://127.0.0.1:{peer_port}"], "etcd.log")
        key = self.workdir / "sa.key"
        _signing_key(key)
        tokens = self.workdir / "tokens.csv"
        tokens.write_text(f"{TOKEN},admin,admin,system:masters\n")
        self._spawn([str(self.assets / "kube-apiserver"), "--etcd-servers", etcd_url,
                     "--bind-address", "127.0.0.1", "--secure-port", str(self.port),
                     "--cert-dir", str(self.workdir / "certs"), "--token-auth-file", str(tokens),
                     "--authorization-mode", "AlwaysAllow",
                     "--service-account-issuer", "https://127.0.0.1", "--service-account-key-file", str(key),
                     "--service-account-signing-key-file", str(key),
                     "--service-cluster-ip-range", "10.0.0.0/24", "--disable-admission-plugins", "ServiceAccount"],
                    "kube-apiserver.log")
        self._wait_ready(timeout)
        if self.crd_dir:
            self._install_crds(timeout)
        return self

    def _spawn(self, argv: list[str], log_name: str) -> None:
        log = open(self.workdir / log_name, "wb")  # noqa: SIM115 - closed with the process
        self._procs.append(subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT))

    def _client(self) -> Any:
        from kubernetes import config

        return config.new_client_from_config_dict(self.kubeconfig())

    def _wait_ready(self, timeout: float) -> None:
        from kubernetes import client

        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            for proc in self._procs:
                if proc.poll() is not None:
                    raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}; see {self.workdir}")
            try:
                with self._client() as api:
                    client.CoreV1Api(api).list_namespace(_request_timeout=2)
                return
            except Exception as exc:  # not up yet
                last = exc
                time.sleep(0.3)
        raise TimeoutError(f"kube-apiserver not ready after {timeout}s: {last}")

    def _install_crds(self, timeout: float) -> None:
        import yaml
        from kubernetes import client

        with self._client() as api:
            ext = client.ApiextensionsV1Api(api)
            names = []
            for path in sorted(Path(self.crd_dir).glob("*.y*ml")):
                for doc in yaml.safe_load_all(path.read_text()):
                    if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                        ext.create_custom_resource_definition(doc)
                        names.append(doc["metadata"]["name"])
            deadline = time.monotonic() + timeout
            for name in names:
                while True:
                    crd = ext.read_custom_resource_definition(name)
                    if any(c.type == "Established" and c.status == "True" for c in (crd.status.conditions or [])):
                        break
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"CRD {name} not established")
                    time.sleep(0.2)

    def stop(self) -> None:
        """Stop both processes and remove the data directory."""
        for proc in reversed(self._procs):
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(self.workdir, ignore_errors=True)
