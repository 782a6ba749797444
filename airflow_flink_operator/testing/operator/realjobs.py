"""Jobs on a real local Flink (``SimulatedCluster(flink="local")``): what the operator's ``AbstractFlinkService`` does
through the JobManager's REST API — submit a job with the id the operator chose (``ApplicationReconciler``
``setJobIdIfNecessary``, ``SessionJobReconciler.deploy``) and the savepoint to start from, observe its state and root
exception (``JobStatusObserver``), trigger savepoints, stop with a savepoint, cancel, dispose of savepoints.

What runs real: jar jobs whose ``jarURI`` the local cluster can resolve (the package's own jobs jar,
:data:`~airflow_flink_operator.testing.flink_jobs.JOBS_JAR_URI`; a ``local://`` path present under the cluster's
``usrlib/`` folder; a stand-in registered with :meth:`RealJobs.stand_in`), and SQL jobs run by the SQL runner (the
package's own ``SqlRunner``, the script read from the ConfigMap the job mounts), and Python jobs through
``PythonDriver`` from the distribution's ``opt/flink-python`` jar. Everything else — SeaTunnel and
Flink CDC (their jars are not on the package registries), jars nobody provided, Python jobs when ``py4j`` or
``ruamel.yaml`` is missing (PythonDriver's Python client needs them; the Table API needs nothing else of pyflink's
dependencies unless the job has Python UDFs) — stays simulated and says so:
``status.clusterInfo["runtime"]``, a ``SimulatedJob`` Event and the JobManager log.

Differences from the operator on Kubernetes, all from sharing one session cluster: every job runs with parallelism
1; checkpoint and savepoint directories are the cluster's own (``<work>/checkpoints``, ``<work>/savepoints/<ns>/<name>``)
whatever the spec names (an ``s3://`` bucket is not reachable here); a last-state restore submits a new job id from
the latest retained checkpoint (a session cluster refuses a finished job's id; on Kubernetes the JobManager
recovers the same job from its HA metadata).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_flink_operator.testing.flink_rest import FlinkRest, FlinkRestError

PYTHON_DRIVER = "org.apache.flink.client.python.PythonDriver"
SQL_RUNNER_JAR = "local:///opt/flink/usrlib/sql-runner.jar"


@dataclass
class StandIn:
    """What runs on the local Flink in place of a job whose jar is not here (e.g. an example DAG's image jar).

    :param entry_class: the entry class in the package's jobs jar (or ``jar``).
    :param args: its arguments (``{out}`` is replaced by the resource's output file under the cluster's work dir).
    :param sql: for a SQL job: the script run instead of the delivered one.
    :param jar: a jar file to upload instead of the package's jobs jar.
    :param python: for a Python job: the PyFlink script run (through ``PythonDriver``) instead of the delivered one.
    """

    entry_class: str | None = None
    args: list[str] = field(default_factory=list)
    sql: str | None = None
    jar: str | None = None
    python: str | None = None


@dataclass
class Submission:
    """A job to submit: jar file, entry class, arguments."""

    jar: Path
    entry_class: str | None
    args: list[str]
    label: str


class RealJobs:
    """The simulated operator's hands on a real local Flink session cluster (one per :class:`SimulatedCluster`).

    :param cluster: a started :class:`~airflow_flink_operator.testing.flink_local.LocalFlinkCluster`.
    """

    def __init__(self, cluster: Any) -> None:
        self.cluster = cluster
        self.rest: FlinkRest = cluster.rest()
        self.version = cluster.version
        self._jar_ids: dict[Path, str] = {}
        self._stand_ins: dict[str, StandIn] = {}
        self._lock = threading.Lock()

    # -- what runs --

    def stand_in(self, name: str, stand_in: StandIn) -> None:
        """Run ``stand_in`` for the resource named ``name`` (its own jar is not available here)."""
        self._stand_ins[name] = stand_in

    def output_file(self, namespace: str, name: str) -> Path:
        """Where a stand-in's ``{out}`` points for this resource."""
        path = self.cluster.path("out", namespace, f"{name}.txt")
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def savepoint_dir(self, namespace: str, name: str) -> str:
        """The resource's savepoint directory on the local cluster."""
        path = self.cluster.savepoints_dir / namespace / name
        path.mkdir(parents=True, exist_ok=True)
        return str(path)

    def simulated_reason(self, obj: dict[str, Any]) -> str | None:
        """Why this resource's job cannot run on the local Flink (``None``: it runs real)."""
        job = (obj.get("spec") or {}).get("job") or {}
        entry = job.get("entryClass") or ""
        uri = job.get("jarURI") or ""
        name = obj["metadata"]["name"]
        if "seatunnel" in entry.lower() or "seatunnel" in uri.lower():
            return "SeaTunnel's jars are not on the package registries"
        if "flink.cdc" in entry or "flink-cdc" in uri:
            return "Flink CDC's jars are not on the package registries"
        stand_in = self._stand_ins.get(name)
        if (stand_in.python is not None) if stand_in is not None else entry == PYTHON_DRIVER:
            import importlib.util

            missing = [m for m in ("py4j", "ruamel") if importlib.util.find_spec(m) is None]
            if missing:
                return (f"Python jobs need {' and '.join(missing)} in this Python (PythonDriver's client side; "
                        "scripts/_env.sh installs them)")
        if stand_in is not None:
            return None
        args = list(job.get("args") or [])
        script = args[args.index("-py") + 1] if entry == PYTHON_DRIVER and "-py" in args[:-1] else \
            (args[0] if uri == SQL_RUNNER_JAR and not entry and args else None)
        if script is not None:
            if not self._delivered(obj, script):
                return f"its script {script} is in the image, not on this machine (deliver it from the DAG)"
            return None
        if entry == PYTHON_DRIVER:
            return "PythonDriver without a -py script"
        from airflow_flink_operator.testing.flink_jobs import JOBS_JAR_URI

        if uri == JOBS_JAR_URI or self._known_jar(uri):
            return None
        return f"{uri or 'no jarURI'} is not available to the local Flink (provide it under {self.cluster.path('usrlib')})"

    @staticmethod
    def _delivered(obj: dict[str, Any], path: str) -> bool:
        """Whether ``path`` lies in a ConfigMap mounted into ``flink-main-container`` (delivered from the DAG)."""
        pod = (((obj.get("spec") or {}).get("podTemplate") or {}).get("spec")) or {}
        config_maps = {v.get("name") for v in pod.get("volumes") or [] if v.get("configMap")}
        for container in pod.get("containers") or []:
            if container.get("name") != "flink-main-container":
                continue
            for mount in container.get("volumeMounts") or []:
                base = str(mount.get("mountPath", "")).rstrip("/")
                if mount.get("name") in config_maps and base and path.startswith(base + "/"):
                    return True
        return False

    def _known_jar(self, uri: str) -> Path | None:
        """A jar the local cluster has under the URI's file name, whatever its scheme (a session job's ``https://``
        jar the operator would download): the package's jobs jar, or a file in the cluster's ``usrlib/``."""
        from airflow_flink_operator.testing.flink_jobs import JOBS_JAR_URI, jobs_jar

        name = uri.rstrip("/").rsplit("/", 1)[-1]
        if not name:
            return None
        if name == JOBS_JAR_URI.rsplit("/", 1)[-1]:
            return jobs_jar()
        candidate = self.cluster.path("usrlib", name)
        return candidate if candidate.is_file() else None

    def _submission(self, obj: dict[str, Any], files: dict[str, str]) -> Submission:
        from airflow_flink_operator.testing.flink_jobs import JOBS_JAR_URI, SQL_RUNNER, jobs_jar

        meta = obj["metadata"]
        job = (obj.get("spec") or {}).get("job") or {}
        uri, entry, args = job.get("jarURI") or "", job.get("entryClass"), list(job.get("args") or [])
        stand_in = self._stand_ins.get(meta["name"])
        out = str(self.output_file(meta["namespace"], meta["name"]))
        if stand_in is not None:
            if stand_in.python is not None:
                import sys

                script = self.cluster.path("files", meta["namespace"], meta["name"], "stand_in.py")
                script.parent.mkdir(parents=True, exist_ok=True)
                script.write_text(stand_in.python.replace("{out}", out))
                return Submission(self._python_jar(), PYTHON_DRIVER, ["-pyclientexec", sys.executable, "-py", str(script)],
                                  "stand-in PyFlink script on real Flink")
            if stand_in.sql is not None:
                script = self.cluster.path("files", meta["namespace"], meta["name"], "stand-in.sql")
                script.parent.mkdir(parents=True, exist_ok=True)
                script.write_text(stand_in.sql.replace("{out}", out))
                return Submission(jobs_jar(), SQL_RUNNER, [str(script)], "stand-in SQL script on real Flink")
            return Submission(Path(stand_in.jar) if stand_in.jar else jobs_jar(), stand_in.entry_class,
                              [a.replace("{out}", out) for a in stand_in.args], "stand-in job on real Flink")
        args = [self._local_path(a, files) for a in args]
        if entry == PYTHON_DRIVER:
            import sys

            if "-pyclientexec" in args:  # the image's Python is this one here
                args[args.index("-pyclientexec") + 1] = sys.executable
            return Submission(self._python_jar(), PYTHON_DRIVER, args, "PythonDriver on real Flink")
        if uri == SQL_RUNNER_JAR and not entry:
            return Submission(jobs_jar(), SQL_RUNNER, args, "SQL runner on real Flink")
        if uri == JOBS_JAR_URI:
            return Submission(jobs_jar(), entry, args, "real Flink")
        return Submission(self._known_jar(uri) or Path(uri), entry, args, "real Flink")

    def _python_jar(self) -> Path:
        return sorted((self.cluster.home / "opt").glob("flink-python-*.jar"))[0]

    @staticmethod
    def _local_path(arg: str, files: dict[str, str]) -> str:
        for mount, local in files.items():
            if arg == mount or arg.startswith(mount.rstrip("/") + "/"):
                return local + arg[len(mount.rstrip("/")):]
        return arg

    # -- REST, as AbstractFlinkService --

    def _jar_id(self, jar: Path) -> str:
        with self._lock:
            if jar not in self._jar_ids:
                self._jar_ids[jar] = self.rest.upload_jar(jar)
            return self._jar_ids[jar]

    def submit(self, obj: dict[str, Any], job_id: str, restore_from: str | None, files: dict[str, str]) -> str:
        """Submit the resource's job with ``job_id``, from ``restore_from`` if given; returns the label of what ran.

        :raises FlinkRestError: with Flink's answer when the submission fails.
        """
        job = (obj.get("spec") or {}).get("job") or {}
        submission = self._submission(obj, files)
        if not submission.jar.is_file():
            raise FlinkRestError(f"jar {submission.jar} does not exist")
        self.rest.run_jar(self._jar_id(submission.jar), entry_class=submission.entry_class, args=submission.args,
                          job_id=job_id, savepoint_path=restore_from, parallelism=1,
                          allow_non_restored_state=job.get("allowNonRestoredState"),
                          configuration=self._job_configuration(obj) or None)
        return submission.label

    @staticmethod
    def _job_configuration(obj: dict[str, Any]) -> dict[str, str]:
        """The spec's per-job checkpoint settings that make sense here: a checkpoint directory that is a local
        ``file:`` path, the tolerated checkpoint failures. (The interval stays the cluster's 1 s default, so tests
        do not wait for a production interval; other keys are the cluster's.)"""
        from airflow_flink_operator.models.flink_config import flatten_config

        conf = flatten_config((obj.get("spec") or {}).get("flinkConfiguration"))
        chosen = {}
        for key in ("execution.checkpointing.dir", "state.checkpoints.dir"):
            if str(conf.get(key, "")).startswith(("file:", "/")):
                chosen["execution.checkpointing.dir"] = str(conf[key])
        if "execution.checkpointing.tolerable-failed-checkpoints" in conf:
            chosen["execution.checkpointing.tolerable-failed-checkpoints"] = \
                str(conf["execution.checkpointing.tolerable-failed-checkpoints"])
        return chosen

    def observe(self, job_id: str) -> tuple[str, str | None, str | None]:
        """``(state, start time in epoch-ms text, root exception)``; state ``MISSING`` when Flink does not know it."""
        try:
            info = self.rest.job(job_id)
        except FlinkRestError as exc:
            if exc.status == 404:
                return "MISSING", None, None
            raise
        state = info.get("state", "")
        error = self.rest.root_exception(job_id) if state == "FAILED" else None
        start = info.get("start-time")
        return state, str(start) if start and start > 0 else None, error

    def latest_checkpoint(self, job_id: str) -> str | None:
        """The latest completed checkpoint of a job (``/jobs/<id>/checkpoints`` ``latest.completed.external_path``),
        or a newer one retained next to it on disk: the REST answer is cached for a moment, so right after the job
        stopped it may not show the checkpoint that completed last; the retained ``chk-<n>/_metadata`` files do."""
        try:
            latest = ((self.rest.checkpoints(job_id).get("latest") or {}).get("completed") or {}).get("external_path")
        except FlinkRestError:
            return None
        if not latest or not latest.startswith("file:"):
            return latest
        parent = Path(latest.removeprefix("file:")).parent
        retained = [(int(d.name[4:]), d) for d in parent.glob("chk-*") if d.name[4:].isdigit()
                    and (d / "_metadata").is_file()]
        return f"file:{max(retained)[1]}" if retained else latest

    def cancel(self, job_id: str) -> None:
        """Cancel the job if it is not already terminal (checkpoints are retained on cancellation)."""
        try:
            state = self.rest.job(job_id).get("state")
            if state not in ("FAILED", "CANCELED", "FINISHED"):
                self.rest.cancel(job_id)
        except FlinkRestError as exc:
            if exc.status != 404:
                raise

    def cancelled(self, job_id: str) -> bool:
        """Whether the job has reached a globally terminal state."""
        state, _, _ = self.observe(job_id)
        return state in ("FAILED", "CANCELED", "FINISHED", "MISSING")

    def dispose(self, path: str) -> str | None:
        """Dispose of a savepoint's data (``/savepoint-disposal``); ``None`` or Flink's reason it failed."""
        import time

        trigger = self.rest.dispose_savepoint(path)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            state, failure = self.rest.disposal_result(trigger)
            if state == "COMPLETED":
                return failure.splitlines()[0] if failure else None
            time.sleep(0.1)
        return "savepoint disposal did not complete within 60 s"


def error_json(root: str | None) -> str:
    """``status.error`` for a failed job: the root exception's class and message, its causes as the throwable list
    (``FlinkResourceException`` as the operator serialises it)."""
    lines = (root or "org.apache.flink.runtime.JobException: the job failed").splitlines()

    def split(line: str) -> dict[str, str]:
        line = line.removeprefix("Caused by:").strip()
        kind, _, message = line.partition(": ")
        return {"type": kind, "message": message}

    head = split(lines[0])
    return json.dumps({"type": head["type"], "message": head["message"], "additionalMetadata": {},
                       "throwableList": [split(line) for line in lines[1:]]})
