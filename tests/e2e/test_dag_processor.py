"""Airflow's own DAG processor parses every example DAG, with ``preload()`` in ``airflow_local_settings.py``
as the README recommends: loaded once in the processor's parent, inherited by the forked parsers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from airflow_flink_operator.demo import DEFAULT_ORDER, EXAMPLES


def airflow(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(AIRFLOW_HOME=str(home), AIRFLOW__CORE__LOAD_EXAMPLES="False",
               AIRFLOW__CORE__DAGS_FOLDER=str(EXAMPLES))
    return subprocess.run([sys.executable, "-m", "airflow", *args], capture_output=True, text=True, env=env,
                          timeout=300, check=False)


def test_dag_processor_parses_every_example_with_preload(tmp_path):
    marker = tmp_path / "preloaded-in"
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "airflow_local_settings.py").write_text(
        "import os\n"
        "from airflow_flink_operator.parsing import preload\n\n"
        "preload()\n"
        f"with open({str(marker)!r}, 'a') as f:\n"
        "    f.write(f'{os.getpid()}\\n')\n"
    )
    assert airflow(tmp_path, "db", "migrate").returncode == 0
    marker.unlink()
    processor = airflow(tmp_path, "dag-processor", "--num-runs", "1")
    assert processor.returncode == 0, processor.stderr[-3000:]
    assert len(marker.read_text().split()) == 1  # one preload for the processor, none per parse

    listed = airflow(tmp_path, "dags", "list")
    assert sorted(line.split("|")[0].strip() for line in listed.stdout.splitlines()
                  if "example_dags/flink_" in line) == sorted(DEFAULT_ORDER)
    errors = airflow(tmp_path, "dags", "list-import-errors")
    assert "No data found" in errors.stdout, errors.stdout[-3000:]
