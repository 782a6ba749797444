"""A real Apache Flink session cluster on 127.0.0.1, from the distribution the ``apache-flink`` wheel ships.

``pip install --no-deps apache-flink==1.20.* apache-flink-libraries==1.20.*`` puts a complete Flink
distribution (``bin/``, ``lib/``, ``opt/``, ``conf/``) inside the ``pyflink`` package. :class:`LocalFlinkCluster`
starts one JobManager and one TaskManager from it with a generated configuration (``FLINK_CONF_DIR``) whose
every port is free, every address 127.0.0.1, and every file — logs, pid files, tmp, uploaded jars,
checkpoints, savepoints — under the cluster's own work dir. Nothing is written into site-packages.

Real Flink needs Java 11 or newer (17 is what it is tested with): :func:`find_java` looks in ``JAVA_HOME``
and ``PATH`` and :class:`FlinkUnavailable` says what to install when it is missing.
"""

from __future__ import annotations

import atexit
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airflow_flink_operator.testing.flink_rest import FlinkRest, FlinkRestError

log = logging.getLogger(__name__)

#: The Flink line the local runtime is built and tested for (``apache-flink`` on PyPI).
FLINK_LINE = "1.20"
INSTALL_HINT = (f"pip install --no-deps 'apache-flink=={FLINK_LINE}.*' 'apache-flink-libraries=={FLINK_LINE}.*'")
JAVA_HINT = ("Install a JDK 11 or newer (17 is tested), e.g. `apt-get install openjdk-17-jdk-headless`, "
             "and put it on PATH or set JAVA_HOME")


class FlinkUnavailable(RuntimeError):
    """Java or the Flink distribution is missing; the message says what to install."""


@dataclass(frozen=True)
class JavaInstall:
    """A Java installation: its home, ``java`` and (if it is a JDK) ``javac``, and major version."""

    home: Path
    java: Path
    javac: Path | None
    major: int


def _java_major(java: Path) -> int:
    out = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=60)
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not match:
        raise FlinkUnavailable(f"cannot tell the version of {java}: {out.stderr.strip()[:200]}")
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def find_java(require_javac: bool = False) -> JavaInstall:
    """The Java to run Flink with: ``$JAVA_HOME/bin/java``, else ``java`` on ``PATH``; 11 or newer.

    :param require_javac: also require the JDK's ``javac`` (to compile the package's test jobs).
    :raises FlinkUnavailable: naming what was found and what to install.
    """
    candidates: list[Path] = []
    if os.environ.get("JAVA_HOME"):
        candidates.append(Path(os.environ["JAVA_HOME"]) / "bin" / "java")
    on_path = shutil.which("java")
    if on_path:
        candidates.append(Path(on_path).resolve())
    seen: list[str] = []
    for java in candidates:
        if not java.is_file():
            seen.append(f"{java} (missing)")
            continue
        major = _java_major(java)
        if major < 11:
            seen.append(f"{java} (Java {major})")
            continue
        home = java.resolve().parent.parent
        javac = home / "bin" / "javac"
        if require_javac and not javac.is_file():
            seen.append(f"{java} (Java {major}, a JRE without javac)")
            continue
        return JavaInstall(home, java, javac if javac.is_file() else None, major)
    found = "; found: " + ", ".join(seen) if seen else "; no java on PATH and JAVA_HOME unset"
    raise FlinkUnavailable(f"real Flink needs Java 11+{' (a JDK, with javac)' if require_javac else ''}{found}. "
                           f"{JAVA_HINT}")


def flink_home() -> Path:
    """The Flink distribution inside the installed ``pyflink`` package.

    :raises FlinkUnavailable: when ``apache-flink`` is not installed (or not the 1.20 line).
    """
    import importlib.util

    spec = importlib.util.find_spec("pyflink")
    if spec is None or not spec.submodule_search_locations:
        raise FlinkUnavailable(f"the Flink distribution is not installed: {INSTALL_HINT}")
    home = Path(list(spec.submodule_search_locations)[0])
    dist = sorted((home / "lib").glob("flink-dist-*.jar"))
    if not dist or not (home / "bin" / "jobmanager.sh").is_file():
        raise FlinkUnavailable(f"pyflink at {home} has no Flink distribution (lib/flink-dist-*.jar): {INSTALL_HINT}")
    version = dist[0].name[len("flink-dist-"):-len(".jar")]
    if not version.startswith(FLINK_LINE + "."):
        raise FlinkUnavailable(f"pyflink at {home} ships Flink {version}; the local runtime needs {FLINK_LINE}.x: "
                               f"{INSTALL_HINT}")
    return home


def flink_version(home: Path | None = None) -> str:
    """The version of the installed distribution (``1.20.5``)."""
    dist = sorted(((home or flink_home()) / "lib").glob("flink-dist-*.jar"))[0]
    return dist.name[len("flink-dist-"):-len(".jar")]


def unavailable_reason() -> str | None:
    """Why real Flink cannot run here (``None`` when it can): for ``pytest.skip`` and the demo."""
    try:
        flink_home()
        find_java(require_javac=True)
    except FlinkUnavailable as exc:
        return str(exc)
    return None


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM it when the process that started it dies (Linux ``PR_SET_PDEATHSIG``), so a
    killed test run leaves no Flink JVM behind. Elsewhere a no-op."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalFlinkCluster:
    """One Flink session cluster (JobManager + one TaskManager) on 127.0.0.1, its files under ``work_dir``.

    :param work_dir: where its conf, logs, pids, tmp, uploads, checkpoints and savepoints go (default: a new
        temporary directory, removed by :meth:`stop`).
    :param slots: task slots of the TaskManager (jobs run with parallelism 1, so this is how many jobs fit).
    :param checkpoint_interval: the cluster default checkpoint interval for the jobs it runs.
    :param ready_timeout: how long to wait for the REST API and a registered TaskManager.
    """

    def __init__(self, work_dir: str | os.PathLike[str] | None = None, *, slots: int = 8,
                 checkpoint_interval: str = "1 s", ready_timeout: float = 180.0) -> None:
        self._own_dir = work_dir is None
        self.work_dir = Path(work_dir or tempfile.mkdtemp(prefix="flink-local-")).resolve()
        self.slots = slots
        self.checkpoint_interval = checkpoint_interval
        self.ready_timeout = ready_timeout
        self.home = flink_home()
        self.java = find_java()
        self.version = flink_version(self.home)
        self.rest_port = 0
        self._procs: dict[str, subprocess.Popen[bytes]] = {}

    # -- layout --

    def path(self, *parts: str) -> Path:
        """A path under the work dir (created for directories on start)."""
        return self.work_dir.joinpath(*parts)

    @property
    def checkpoints_dir(self) -> Path:
        return self.path("checkpoints")

    @property
    def savepoints_dir(self) -> Path:
        return self.path("savepoints")

    @property
    def rest_url(self) -> str:
        """The JobManager's REST base URL, ``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.rest_port}"

    def rest(self) -> FlinkRest:
        """A REST client for this cluster."""
        return FlinkRest(self.rest_url)

    def _config(self) -> dict[str, Any]:
        tmp = str(self.path("tmp"))
        return {
            "jobmanager.rpc.address": "127.0.0.1", "jobmanager.bind-host": "127.0.0.1",
            "jobmanager.rpc.port": free_port(), "jobmanager.memory.process.size": "768m",
            "taskmanager.host": "127.0.0.1", "taskmanager.bind-host": "127.0.0.1",
            "taskmanager.rpc.port": free_port(), "taskmanager.data.port": free_port(),
            "taskmanager.numberOfTaskSlots": self.slots, "taskmanager.memory.process.size": "1280m",
            "taskmanager.memory.managed.size": "64m", "taskmanager.memory.network.min": "64m",
            "taskmanager.memory.network.max": "64m",
            "blob.server.port": free_port(), "rest.address": "127.0.0.1", "rest.bind-address": "127.0.0.1",
            "rest.port": self.rest_port, "io.tmp.dirs": tmp, "web.tmpdir": tmp,
            "web.upload.dir": str(self.path("upload")), "env.pid.dir": str(self.path("pid")),
            "env.log.dir": str(self.path("log")), "parallelism.default": 1,
            "state.backend.type": "hashmap",
            "execution.checkpointing.interval": self.checkpoint_interval,
            "execution.checkpointing.dir": self.checkpoints_dir.as_uri(),
            "execution.checkpointing.savepoint-dir": self.savepoints_dir.as_uri(),
            "execution.checkpointing.externalized-checkpoint-retention": "RETAIN_ON_CANCELLATION",
            "execution.checkpointing.num-retained": 3,
            # A job that throws fails at once (with checkpointing on, Flink would otherwise restart it forever).
            "restart-strategy.type": "none",
            "jobmanager.execution.failover-strategy": "region",
            "heartbeat.timeout": 120000, "akka.ask.timeout": "60 s", "pekko.ask.timeout": "60 s",
            "web.timeout": 120000, "rest.server.max-content-length": 209715200,
            # REST answers (job details, checkpoint statistics) are cached this long: keep them fresh.
            "web.refresh-interval": 200, "rest.cache.checkpoint-statistics.timeout": "200 ms",
            "env.java.opts.all": self._java_opts(),
        }

    def _java_opts(self) -> str:
        import yaml

        conf = yaml.safe_load((self.home / "conf" / "config.yaml").read_text()) or {}
        return str(((conf.get("env") or {}).get("java") or {}).get("opts", {}).get("all", ""))

    def _write_conf(self) -> Path:
        import yaml

        conf_dir = self.path("conf")
        conf_dir.mkdir(parents=True, exist_ok=True)
        (conf_dir / "config.yaml").write_text(yaml.safe_dump(self._config(), sort_keys=True))
        for name in ("log4j-console.properties", "log4j.properties", "logback-console.xml", "logback.xml",
                     "log4j-cli.properties"):
            source = self.home / "conf" / name
            if source.is_file():
                shutil.copyfile(source, conf_dir / name)
        return conf_dir

    # -- lifecycle --

    #: How often a start is tried again with fresh ports when one of them was taken between choosing and binding it
    #: (the ports are picked free, closed, then handed to Flink: another process may bind one in between).
    BIND_ATTEMPTS = 3

    def start(self) -> LocalFlinkCluster:
        """Start the JobManager and TaskManager; return once REST answers and a TaskManager has registered."""
        for sub in ("tmp", "upload", "pid", "log", "checkpoints", "savepoints", "jobs"):
            self.path(sub).mkdir(parents=True, exist_ok=True)
        for attempt in range(1, self.BIND_ATTEMPTS + 1):
            try:
                self._start_processes()
                atexit.register(self.stop)
                self._wait_ready()
                return self
            except RuntimeError as exc:
                taken = "BindException" in str(exc) or "Address already in use" in str(exc)
                self._stop_processes()
                if not taken or attempt == self.BIND_ATTEMPTS:
                    self.stop()
                    raise
                log.info("A port chosen for the local Flink was taken before Flink bound it; starting again with "
                         "fresh ports (attempt %d of %d)", attempt + 1, self.BIND_ATTEMPTS)
            except BaseException:
                self.stop()
                raise
        raise AssertionError("unreachable")

    def _start_processes(self) -> None:
        """Write a configuration with freshly chosen ports and start the JobManager and TaskManager processes."""
        self.rest_port = free_port()
        conf_dir = self._write_conf()
        env = {**os.environ, "FLINK_CONF_DIR": str(conf_dir), "FLINK_LOG_DIR": str(self.path("log")),
               "FLINK_PID_DIR": str(self.path("pid")), "JAVA_HOME": str(self.java.home),
               "FLINK_HOME": str(self.home), "TMPDIR": str(self.path("tmp"))}
        env.pop("HADOOP_CLASSPATH", None)
        for role, script in (("jobmanager", "jobmanager.sh"), ("taskmanager", "taskmanager.sh")):
            out = open(self.path("log", f"{role}.out"), "ab")  # noqa: SIM115 - owned by the process
            self._procs[role] = subprocess.Popen(
                ["bash", str(self.home / "bin" / script), "start-foreground"], env=env, cwd=self.work_dir,
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                preexec_fn=_die_with_parent)
            out.close()
            self.path("pid", f"{role}.pid").write_text(str(self._procs[role].pid))

    def _wait_ready(self) -> None:
        rest = self.rest()
        deadline = time.monotonic() + self.ready_timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            for role, proc in self._procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"the Flink {role} exited with {proc.returncode} before the cluster was "
                                       f"ready:\n{self.log_tail(role)}")
            try:
                overview = rest.get("/overview", timeout=5)
                if overview.get("taskmanagers", 0) >= 1 and overview.get("slots-total", 0) >= 1:
                    return
                last = f"overview {overview}"
            except (OSError, FlinkRestError) as exc:
                last = repr(exc)
            time.sleep(0.2)
        raise TimeoutError(f"the local Flink cluster was not ready within {self.ready_timeout}s ({last}):\n"
                           f"{self.log_tail('jobmanager')}")

    def log_tail(self, role: str, lines: int = 30) -> str:
        """The last lines of the JobManager's or TaskManager's log."""
        logs = sorted(self.path("log").glob(f"*{'standalonesession' if role == 'jobmanager' else 'taskexecutor'}*.log"))
        source = logs[-1] if logs else self.path("log", f"{role}.out")
        try:
            return "\n".join(source.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        """Stop both processes (TERM, then KILL after 30 s) and remove the work dir if it was a temporary one."""
        atexit.unregister(self.stop)
        self._stop_processes()
        if self._own_dir:
            shutil.rmtree(self.work_dir, ignore_errors=True)

    def _stop_processes(self) -> None:
        for proc in self._procs.values():
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for proc in self._procs.values():
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(10)
        self._procs.clear()

    def __enter__(self) -> LocalFlinkCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
