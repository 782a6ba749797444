"""A throwaway Airflow deployment whose components run as real processes: what ``dag.test()`` cannot show.

``dag.test()`` runs one DAG run in the calling process, triggers inline. Asset-triggered scheduling,
the triggerer, the LocalExecutor's task processes exist only in a real deployment, so
:class:`AirflowComponents` starts ``airflow api-server``, ``scheduler``, ``dag-processor`` and
``triggerer`` from one home (sqlite, LocalExecutor), each in its own process group, everything bound
to 127.0.0.1 and no log server started. It is steered and observed only as a user would: the REST
API (``/api/v2``, simple auth manager with every user an admin), the metadata database (read-only)
and the components' logs.

Used by ``airflow-flink demo`` (the asset-triggered example DAG runs on the real scheduler) and by the
test suite's real-components tier. Only the standard library and what Airflow itself depends on
(``psutil``, ``cryptography``).
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

#: The triggerer's warning when a trigger blocks its event loop (``TriggerRunner.block_watchdog``).
BLOCKED_LOOP_WARNING = "Triggerer's async thread was blocked"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate: Callable[[], T], timeout: float, what: str, interval: float = 0.1,
              diagnose: Callable[[], str] | None = None) -> T:
    """Poll ``predicate`` until it returns something truthy; raise ``TimeoutError`` naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not reached within {timeout:.0f}s" + (f"\n{diagnose()}" if diagnose else ""))
        time.sleep(interval)


def compile_bytecode() -> None:
    """Bytecode for the libraries a trigger loads, as ``pip install`` writes it in a real deployment.

    This machine sets ``PYTHONDONTWRITEBYTECODE`` and uv installs without bytecode, so every process would
    compile the Kubernetes clients from source (``core_v1_api.py`` alone is 2.8 MB: 0.1-0.4 s holding the
    GIL). In a triggerer that compile, even in the import thread the trigger uses, stalls the event loop
    past Airflow's 0.2 s watchdog: an artefact of this test machine, not of a deployed triggerer.
    """
    import importlib.util

    roots = []
    for package in ("kubernetes", "kubernetes_asyncio", "airflow.providers.cncf.kubernetes"):
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.submodule_search_locations:
            roots.extend(spec.submodule_search_locations)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-m", "compileall", "-q", "-j", "0", *roots], env=env, check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=600)


@dataclass
class Component:
    """One started component: its process (the leader of its own process group) and its log file."""

    name: str
    process: subprocess.Popen
    log: Path

    def tree(self) -> list[int]:
        """The process and every descendant alive now (task runners put themselves in their own groups)."""
        import psutil

        try:
            root = psutil.Process(self.process.pid)
            return [self.process.pid, *(child.pid for child in root.children(recursive=True))]
        except psutil.NoSuchProcess:
            return []


@dataclass
class AirflowComponents:
    """A throwaway Airflow deployment: home, configuration, components, REST API and metadata DB.

    :param home: the ``AIRFLOW_HOME`` (created; an existing home and its ``airflow.db`` are used as they are).
    :param dags_folder: the DAGs folder.
    :param env: extra environment for every component (e.g. ``AIRFLOW_CONN_KUBERNETES_DEFAULT``).
    :param fernet_key: the deployment's Fernet key (default: a new one; give the home's own when it
        already holds encrypted data).
    """

    home: Path
    dags_folder: Path
    env: dict[str, str] = field(default_factory=dict)
    components: list[Component] = field(default_factory=list)
    fernet_key: str | None = None

    def __post_init__(self) -> None:
        from cryptography.fernet import Fernet

        self.home.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.fernet_key = self.fernet_key or Fernet.generate_key().decode()
        self.db_path = self.home / "airflow.db"
        base = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        self.environment = {
            **base,
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__FERNET_KEY": self.fernet_key,  # known, so the test can read trigger kwargs
            "AIRFLOW__CORE__AUTH_MANAGER":
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            # A small machine: a writer waits up to 30 s for SQLite's write lock (pysqlite's default is 5 s,
            # which a starved scheduler holding the lock mid-loop exceeds), and a worker waits 60 s for the
            # execution API's answer (Airflow's default 5 s equals that lock wait: a task's start or
            # heartbeat then times out while the api-server is still waiting for the lock).
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.db_path}?timeout=30",
            "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "60",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__BASE_URL": self.url,
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API_AUTH__JWT_SECRET": os.urandom(16).hex(),  # one secret for the API and the workers
            # No log server is started (--skip-serve-logs); the ports are set anyway so that nothing
            # would take the well-known defaults.
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST": "127.0.0.1",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(free_port()),
            # A killed triggerer's triggers go to the next one once its heartbeat is this old.
            "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "1",
            "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "5",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            **self.env,
        }

    # -- processes --

    def airflow(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        """Run an ``airflow`` command to completion."""
        return subprocess.run([sys.executable, "-m", "airflow", *args], env=self.environment, capture_output=True,
                              text=True, timeout=timeout, check=False)

    def migrate(self) -> None:
        result = self.airflow("db", "migrate")
        if result.returncode != 0:
            raise RuntimeError(f"airflow db migrate failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")

    def start(self, name: str, *args: str, env: dict[str, str] | None = None) -> Component:
        """Start ``airflow <name> <args>`` in its own process group, logging to ``<home>/<name>-<n>.log``."""
        count = sum(1 for c in self.components if c.name == name)
        log = self.home / f"{name}-{count + 1}.log"
        with log.open("w") as out:
            process = subprocess.Popen([sys.executable, "-m", "airflow", name, *args],
                                       env={**self.environment, **(env or {})},
                                       stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       start_new_session=True)
        component = Component(name, process, log)
        self.components.append(component)
        return component

    def start_all(self, *, dag_processor: bool = True, bytecode: bool = True, api_timeout: float = 300.0) -> None:
        """The long-running components, each bound to 127.0.0.1 and serving no logs; the scheduler and
        triggerer once the api-server answers (within ``api_timeout`` seconds).

        :param dag_processor: start a DAG processor too (not needed when the DAGs are serialised
            already and their files do not change, e.g. after ``dag.test()`` synced them).
        :param bytecode: compile the Kubernetes clients' bytecode first (see :func:`compile_bytecode`).
        """
        if bytecode:
            compile_bytecode()
        self.start("api-server", "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1")
        if dag_processor:
            self.start("dag-processor")
        # The scheduler hands queued tasks to workers at once, and a worker's first call is to the
        # execution API: one made before the api-server listens fails the task while it is queued.
        wait_for(self.api_up, api_timeout, "the api-server answering", interval=0.5, diagnose=self.tail)
        self.start("scheduler", "--skip-serve-logs")
        self.start_triggerer()

    def start_triggerer(self) -> Component:
        """A triggerer, with asyncio's debug mode on so that a blocked event loop is blamed on a coroutine
        (``Executing <Task ...> took 0.5 seconds`` in its log) rather than only measured."""
        return self.start("triggerer", "--skip-serve-logs", env={"PYTHONASYNCIODEBUG": "1"})

    def running(self, name: str) -> Component:
        """The live component called ``name``."""
        (component,) = [c for c in self.components if c.name == name and c.process.poll() is None]
        return component

    def kill(self, component: Component, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to the component's process group and to every descendant, then reap it."""
        pids = component.tree()
        for target in (lambda: os.killpg(component.process.pid, sig), *(lambda p=p: os.kill(p, sig) for p in pids)):
            try:
                target()
            except (ProcessLookupError, PermissionError):
                pass
        try:
            component.process.wait(15)
        except subprocess.TimeoutExpired:
            self.kill(component, signal.SIGKILL)

    def stop_all(self) -> None:
        """Stop every component started (gracefully, then by force), whatever state the test left them in."""
        trees = {id(c): c.tree() for c in self.components}
        for component in self.components:
            if component.process.poll() is None:
                try:
                    os.killpg(component.process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 3  # a clean shutdown is not under test
        for component in self.components:
            try:
                component.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for component in self.components:
            for pid in [component.process.pid, *trees[id(component)]]:
                for kill in (os.killpg, os.kill):
                    try:
                        kill(pid, signal.SIGKILL)
                    except (ProcessLookupError, PermissionError):
                        pass
            try:
                component.process.wait(10)
            except subprocess.TimeoutExpired:
                pass

    def logs(self, name: str) -> str:
        """Everything every process of component ``name`` wrote so far."""
        return "".join(c.log.read_text(errors="replace") for c in self.components if c.name == name)

    def trigger_logs(self) -> list[str]:
        """The per-trigger log files the triggerer wrote (beside each task's log)."""
        return [path.read_text(errors="replace") for path in sorted((self.home / "logs").glob("dag_id=*/**/*.log.trigger.*.log"))]

    def tail(self, lines: int = 40) -> str:
        """The end of every component's log, for failure messages."""
        parts = []
        for component in self.components:
            text = component.log.read_text(errors="replace").splitlines()[-lines:]
            state = "running" if component.process.poll() is None else f"exited {component.process.returncode}"
            parts.append(f"--- {component.log.name} ({state})\n" + "\n".join(text))
        return "\n".join(parts)

    # -- REST API --

    def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """Call ``/api/v2<path>`` and return the decoded JSON answer."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.url}/api/v2{path}", data=data, method=method,
                                         headers={"Content-Type": "application/json", "Accept": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")

    def api_up(self) -> bool:
        try:
            return self.api("GET", "/monitor/health") is not None
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    def dag_parsed(self, dag_id: str) -> bool:
        try:
            return bool(self.api("GET", f"/dags/{dag_id}"))
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return False
            raise

    def jobs_alive(self) -> bool:
        """Scheduler, triggerer and DAG processor have each heartbeaten (as ``/monitor/health`` sees them)."""
        try:
            health = self.api("GET", "/monitor/health")
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False
        return all((health.get(part) or {}).get("status") == "healthy"
                   for part in ("metadatabase", "scheduler", "triggerer", "dag_processor"))

    def trigger_dag(self, dag_id: str) -> str:
        """Start a run of ``dag_id`` now; return its run id."""
        return self.api("POST", f"/dags/{dag_id}/dagRuns", {"logical_date": None})["dag_run_id"]

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        """``{task_id: state}`` of the run's task instances."""
        answer = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")
        return {ti["task_id"]: ti["state"] for ti in answer["task_instances"]}

    def run_state(self, dag_id: str, run_id: str) -> str | None:
        return self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}")["state"]

    def dag_runs(self, dag_id: str, run_type: str | None = None) -> list[dict[str, Any]]:
        """The DAG's runs (oldest first), of one ``run_type`` (``manual``, ``scheduled``, ``asset_triggered``...)."""
        query = "?order_by=id&limit=100" + (f"&run_type={run_type}" if run_type else "")
        return self.api("GET", f"/dags/{dag_id}/dagRuns{query}")["dag_runs"]

    def upstream_asset_events(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """The asset events that triggered a run (what its ``triggering_asset_events`` holds)."""
        return self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/upstreamAssetEvents")["asset_events"]

    def asset_events(self, **filters: Any) -> list[dict[str, Any]]:
        """Asset events, oldest first, filtered as ``/assets/events`` allows (``source_dag_id``,
        ``source_run_id``, ``source_task_id``, ``asset_id``...)."""
        query = "&".join(f"{key}={urllib.parse.quote(str(value))}" for key, value in filters.items())
        return self.api("GET", f"/assets/events?order_by=timestamp&limit=100&{query}")["asset_events"]

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
        """A task's XCom value (deserialised as the REST API returns it)."""
        return self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}"
                               "?deserialize=true")["value"]

    def set_paused(self, dag_id: str, paused: bool) -> None:
        self.api("PATCH", f"/dags/{dag_id}", {"is_paused": paused})

    def deferral_processed(self, dag_id: str, run_id: str, task_id: str) -> bool:
        """The scheduler has processed the executor's report that the task deferred.

        Airflow 3.3.2 fails a deferred task whose trigger fires before that (apache/airflow#67287,
        fixed after 3.3.2 by #68741); see :func:`follow_run`.
        """
        pattern = re.compile(rf"TaskInstance Finished: dag_id={re.escape(dag_id)}, task_id={re.escape(task_id)}, "
                             rf"run_id={re.escape(run_id)}, .*state=deferred")
        return bool(pattern.search(self.logs("scheduler")))

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1) -> str:
        """The task's log (every line's event text), as the UI shows it."""
        answer = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}"
                                 "?full_content=true")
        content = answer.get("content")
        if isinstance(content, str):
            return content
        return "\n".join(json.dumps(line) if isinstance(line, dict) else str(line) for line in content or [])

    # -- metadata database (read-only) --

    def trigger_rows(self) -> list[dict[str, Any]]:
        """Every row of the ``trigger`` table: id, classpath, triggerer_id, the stored (encrypted) kwargs
        text and the kwargs decrypted with this deployment's Fernet key."""
        from cryptography.fernet import Fernet

        fernet = Fernet(self.fernet_key.encode())
        with sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=30) as db:
            rows = db.execute("SELECT id, classpath, triggerer_id, kwargs FROM trigger").fetchall()
        found = []
        for trigger_id, classpath, triggerer_id, stored in rows:
            plain = stored if stored.startswith("{") else fernet.decrypt(stored.encode()).decode()
            found.append({"id": trigger_id, "classpath": classpath, "triggerer_id": triggerer_id,
                          "stored": stored, "kwargs": plain})
        return found

    def triggerer_job_ids(self) -> list[int]:
        with sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=30) as db:
            return [row[0] for row in db.execute("SELECT id FROM job WHERE job_type = 'TriggererJob' ORDER BY id")]


def follow_run(airflow: AirflowComponents, dag_id: str, run_id: str, *, timeout: float,
               hold: Callable[[bool], None] | None = None, on_states: Callable[[dict], None] | None = None,
               interval: float = 0.2) -> str:
    """Wait until a DAG run has finished; return its state (``success`` or ``failed``).

    :param hold: ``hold(True)`` stops the outside world (e.g. the simulated Flink operator) from moving,
        ``hold(False)`` lets it go. Given, the world is held while no task is deferred, and let go once
        every deferred task's deferral has been processed by the scheduler: so no trigger fires before
        that, which Airflow 3.3.2 would fail the task for (apache/airflow#67287). Let go at the end.
        Meant for runs whose waits are all deferrable (a blocking wait would wait while the world is held).
    :param on_states: called with ``{task_id: state}`` on every poll.
    :param interval: seconds between polls (each is two REST calls the api-server answers beside the
        execution API its workers use).
    """
    deadline = time.monotonic() + timeout
    try:
        while True:
            states = airflow.task_states(dag_id, run_id)
            if on_states is not None:
                on_states(states)
            if hold is not None:
                deferred = [task for task, state in states.items() if state == "deferred"]
                hold(not deferred or not all(airflow.deferral_processed(dag_id, run_id, t) for t in deferred))
            state = airflow.run_state(dag_id, run_id)
            if state in ("success", "failed"):
                return state
            if time.monotonic() > deadline:
                raise TimeoutError(f"{dag_id} run {run_id} not finished within {timeout:.0f}s (tasks: {states})")
            time.sleep(interval)
    finally:
        if hold is not None:
            hold(False)
