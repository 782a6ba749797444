"""The package's own Flink jobs for the real-Flink tier and the demo, as Java source compiled at first use.

``CounterJob`` (a keyed counter writing its counts to a file) and ``SqlRunner`` (runs a SQL script the way the
operator's ``flink-sql-runner-example`` does) are compiled with the JDK's ``javac`` against the installed Flink
distribution's jars into a cache dir (``$AIRFLOW_FLINK_JOBS_CACHE``, default ``~/.cache/airflow-flink-operator``),
keyed by the sources' hash and the Flink version; no jar is shipped or committed.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
import zipfile
from pathlib import Path

#: ``jarURI`` that stands for the compiled jobs jar in ``flink="local"`` mode.
JOBS_JAR_URI = "local:///opt/flink/usrlib/airflow-flink-testing-jobs.jar"
COUNTER_JOB = "airflowflink.jobs.CounterJob"
SQL_RUNNER = "airflowflink.jobs.SqlRunner"
_SOURCES = ("CounterJob.java", "SqlRunner.java")


def _cache_root() -> Path:
    root = os.environ.get("AIRFLOW_FLINK_JOBS_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "airflow-flink-operator"


def jobs_jar() -> Path:
    """The compiled jobs jar, built now if the cache has none for these sources and this Flink."""
    from airflow_flink_operator.testing.flink_local import find_java, flink_home, flink_version

    here = Path(__file__).parent
    home = flink_home()
    digest = hashlib.sha256()
    for name in _SOURCES:
        digest.update((here / name).read_bytes())
    target = _cache_root() / f"jobs-{flink_version(home)}-{digest.hexdigest()[:16]}" / "airflow-flink-testing-jobs.jar"
    if target.is_file():
        return target
    java = find_java(require_javac=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    classpath = os.pathsep.join(str(p) for p in sorted((home / "lib").glob("*.jar")))
    with tempfile.TemporaryDirectory(dir=target.parent) as build:
        result = subprocess.run([str(java.javac), "-nowarn", "-encoding", "UTF-8", "--release", "11", "-cp", classpath,
                                 "-d", build, *(str(here / n) for n in _SOURCES)],
                                capture_output=True, text=True, timeout=600)
        if result.returncode != 0:
            raise RuntimeError(f"javac failed compiling the test jobs:\n{result.stderr[-3000:]}")
        partial = target.with_suffix(".partial")
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as jar:
            jar.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\n\r\n")
            for file in sorted(Path(build).rglob("*.class")):
                jar.write(file, file.relative_to(build).as_posix())
        partial.replace(target)  # atomic: a concurrent first use never sees half a jar
    return target
