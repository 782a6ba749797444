"""The demo on real Flink: which jobs stand in for the example DAGs' jobs, and the evidence it prints.

The example DAGs name jars in images (``local:///opt/flink/usrlib/orders.jar``), Kafka and JDBC tables and Python
UDFs that are not on this machine. On the local Flink each of those jobs is replaced by one of the package's own that
keeps state the same way — the keyed counter, a SQL ``GROUP BY`` count, a PyFlink Table API count (no UDFs: those
need pyflink's Python dependencies on the TaskManager) — everything else about the DAG (the operator's part, the
tasks, savepoints, upgrades) unchanged. Jobs without a stand-in stay simulated and say so.

:class:`RestoreEvidence` follows each real job's incarnations (Flink job ids) and prints, for each new one, where
Flink says it restored from (``/jobs/<id>/checkpoints`` → ``latest.restored.external_path``) and the counts before →
after; and each completed savepoint with whether its directory exists.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

from airflow_flink_operator.testing.flink_jobs import COUNTER_JOB
from airflow_flink_operator.testing.operator.realjobs import StandIn

_COUNTER = StandIn(entry_class=COUNTER_JOB, args=["--out", "{out}"])
# A random generator (the sequence one holds its whole range in memory); the GROUP BY counts are the state.
_COUNT_SQL = """\
CREATE TABLE ticks (n BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '20',
  'fields.n.min' = '0', 'fields.n.max' = '1000000');
CREATE TABLE counts (k STRING, c BIGINT) WITH ('connector' = 'print', 'print-identifier' = '{name}');
INSERT INTO counts SELECT CONCAT('k', CAST(MOD(n, 3) AS STRING)), COUNT(*) FROM ticks
GROUP BY CONCAT('k', CAST(MOD(n, 3) AS STRING));
"""
_COUNT_PYTHON = '''\
from pyflink.table import EnvironmentSettings, TableEnvironment

t_env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
t_env.execute_sql("""CREATE TABLE ticks (n BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '20',
  'fields.n.min' = '0', 'fields.n.max' = '1000000')""")
t_env.execute_sql("CREATE TABLE counts (k STRING, c BIGINT) WITH ('connector' = 'print', 'print-identifier' = '{name}')")
t_env.execute_sql("""INSERT INTO counts SELECT CONCAT('k', CAST(MOD(n, 3) AS STRING)), COUNT(*) FROM ticks
  GROUP BY CONCAT('k', CAST(MOD(n, 3) AS STRING))""")
'''

#: Example resources that run on the local Flink, and what stands in for their job.
STAND_INS: dict[str, StandIn] = {
    "orders-enrichment": _COUNTER,                                        # flink_jar_job
    "revenue-per-minute": StandIn(sql=_COUNT_SQL.replace("{name}", "revenue-per-minute")),  # flink_sql_job
    "click-scoring": StandIn(python=_COUNT_PYTHON.replace("{name}", "click-scoring")),      # flink_python_job
    "clickstream-aggregates": _COUNTER,                                   # flink_upgrade_and_teardown
    "sessions-streaming": _COUNTER,                                       # flink_batch_then_streaming
    "sessions-backfill": StandIn(entry_class=COUNTER_JOB, args=["--out", "{out}", "--limit", "60",
                                                                "--interval-ms", "5"]),
}


def install_stand_ins(real_jobs: Any) -> None:
    """Register :data:`STAND_INS` with the cluster's :class:`~.operator.realjobs.RealJobs`."""
    for name, stand_in in STAND_INS.items():
        real_jobs.stand_in(name, stand_in)


_COUNTER_LINE = re.compile(r"key=(\S+) count=(\d+) job=(\w+)")
_PRINT_LINE = re.compile(r"^(\S+)> [+][IU]\[(\S+), (\d+)\]")


class RestoreEvidence:
    """Watches the real jobs of a :class:`~.cluster.SimulatedCluster` (``flink="local"``) and prints the evidence."""

    def __init__(self, cluster: Any, interval: float = 0.2) -> None:
        self.cluster = cluster
        self.interval = interval
        self.jobs: dict[str, list[str]] = {}          # resource → its Flink job ids, in order
        self.marks: dict[tuple[str, str], int] = {}    # (resource, job id) → TaskManager stdout lines before it
        self.savepoints: set[str] = set()
        self.simulated: set[str] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._reports: list[threading.Thread] = []

    def start(self) -> RestoreEvidence:
        """Follow from now on (what exists already is not reported again)."""
        self._stop.clear()
        self.poll(report=False)
        self._thread = threading.Thread(target=self._run, name="restore-evidence", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.poll()
        for report in self._reports:  # each restore report waits for its job's first checkpoint
            report.join()
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.poll()

    def _stdout_lines(self) -> list[str]:
        path = self.cluster.flink.path("log", "taskmanager.out")
        return path.read_text(errors="replace").splitlines() if path.exists() else []

    def poll(self, report: bool = True) -> None:
        """Note new job incarnations of real resources and new completed savepoints; print them."""
        for obj in self.cluster.list("FlinkDeployment"):
            name, status = obj["metadata"]["name"], obj.get("status") or {}
            runtime = (status.get("clusterInfo") or {}).get("runtime", "")
            if runtime.startswith("simulated") and name not in self.simulated:
                self.simulated.add(name)
                if report:
                    print(f"    [SIMULATED] {name}: its job does not run ({runtime.removeprefix('simulated: ')})",
                          flush=True)
            if runtime.startswith("simulated") or name not in STAND_INS:
                continue
            job_id = (status.get("jobStatus") or {}).get("jobId")
            known = self.jobs.setdefault(name, [])
            if job_id and job_id not in known:
                known.append(job_id)
                self.marks[(name, job_id)] = len(self._stdout_lines())
                if len(known) > 1 and report:
                    thread = threading.Thread(target=self._report_restore, args=(name, known[-2], job_id), daemon=True)
                    self._reports.append(thread)
                    thread.start()
        for snap in self.cluster.list("FlinkStateSnapshot"):
            owner = ((snap.get("spec") or {}).get("jobReference") or {}).get("name")
            if owner not in STAND_INS or owner in self.simulated:
                continue  # a simulated job's savepoint is a status field, not data
            path = (snap.get("status") or {}).get("path")
            if (snap.get("status") or {}).get("state") == "COMPLETED" and path and path not in self.savepoints:
                self.savepoints.add(path)
                if not report:
                    continue
                exists = Path(path.removeprefix("file:")).is_dir()
                print(f"    [real Flink] savepoint {path} ({'on disk' if exists else 'NOT on disk'})", flush=True)

    def _counts(self, name: str, job_id: str) -> dict[str, list[int]]:
        """Counts per key a job wrote: the counter's file (by job id), or the print sink's lines after its mark."""
        found: dict[str, list[int]] = {}
        out = self.cluster.real_jobs.output_file(self.cluster.namespace, name)
        if STAND_INS[name].entry_class == COUNTER_JOB:
            for line in out.read_text().splitlines() if out.exists() else []:
                match = _COUNTER_LINE.fullmatch(line)
                if match and match.group(3) == job_id:
                    found.setdefault(match.group(1), []).append(int(match.group(2)))
            return found
        lines = self._stdout_lines()
        start = self.marks.get((name, job_id), 0)
        following = [m for m in self.jobs[name] if self.marks.get((name, m), 0) > start]
        end = self.marks[(name, following[0])] if following else len(lines)
        for line in lines[start:end]:
            match = _PRINT_LINE.match(line)
            if match and match.group(1) == name:
                found.setdefault(match.group(2), []).append(int(match.group(3)))
        return found

    def _report_restore(self, name: str, old: str, new: str) -> None:
        rest = self.cluster.flink.rest()
        deadline_checks = 600
        restored, state = None, None
        for _ in range(deadline_checks):  # until the new job has run its first checkpoint (or ended)
            try:
                state = rest.job(new).get("state")
                info = rest.checkpoints(new)
            except Exception:
                info = {}
            restored = ((info.get("latest") or {}).get("restored") or {}).get("external_path")
            if restored or (info.get("counts") or {}).get("completed", 0) >= 1 or state in ("FAILED", "FINISHED"):
                break
            self._stop.wait(0.2)
        after = {}
        for _ in range(100):  # until the new job wrote a count for every key the old one had
            before, after = self._counts(name, old), self._counts(name, new)
            if after and set(after) >= set(before):
                break
            self._stop.wait(0.2)
        before = self._counts(name, old)
        pairs = ", ".join(f"{key} {before[key][-1]} → {after[key][0]}" for key in sorted(before) if key in after)
        kind = " (a retained checkpoint: what the old job did after it is replayed)" if restored and "/chk-" in restored \
            else ""
        print(f"    [real Flink] {name}: job {new} restored from {restored or 'nothing (empty state)'}{kind}; "
              f"count before → after: {pairs or 'no counts yet'}", flush=True)


#: Example DAGs that take no savepoint or restore of their own: on real Flink the demo restarts their job once
#: afterwards (``restartNonce``, which redeploys per the job's upgrade mode) to show its state surviving.
RESTORE_CHECKS = {"flink_jar_job": "orders-enrichment", "flink_sql_job": "revenue-per-minute",
                  "flink_python_job": "click-scoring"}


def restore_check(cluster: Any, name: str, timeout: float = 600.0) -> None:
    """Restart ``name``'s job through a ``restartNonce`` change and wait until the new job runs."""
    import time

    obj = cluster.get("FlinkDeployment", name)
    if obj is None or (obj.get("status") or {}).get("lifecycleState") not in ("STABLE", "DEPLOYED"):
        return
    mode = ((obj.get("spec") or {}).get("job") or {}).get("upgradeMode", "stateless")
    old = ((obj.get("status") or {}).get("jobStatus") or {}).get("jobId")
    print(f"    [real Flink] restore check: restarting {name} (restartNonce; upgrade mode {mode})", flush=True)
    cluster.hook().patch_spec("FlinkDeployment", name, {"restartNonce": int(time.time())}, cluster.namespace)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = cluster.status("FlinkDeployment", name)
        job = status.get("jobStatus") or {}
        if job.get("jobId") != old and job.get("state") == "RUNNING":
            return
        time.sleep(0.2)
    print(f"    [real Flink] restore check: {name} did not run again within {timeout:.0f}s", flush=True)
