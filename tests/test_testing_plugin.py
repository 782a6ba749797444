"""The flink_cluster pytest plugin is opt-in: installing the provider changes nobody's pytest runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPORT = """
import sys

def pytest_sessionfinish(session):
    print("TESTING_IMPORTED=" + str("airflow_flink_operator.testing" in sys.modules))
"""


def _fixtures(folder: Path) -> str:
    result = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--fixtures", "-s"],
                            cwd=folder, capture_output=True, text=True, timeout=300, check=False)
    return result.stdout


def test_plugin_not_loaded_without_the_conftest_line(tmp_path):
    (tmp_path / "conftest.py").write_text(REPORT)
    out = _fixtures(tmp_path)
    assert "TESTING_IMPORTED=False" in out
    assert "flink_cluster" not in out


def test_one_conftest_line_opts_in(tmp_path):
    (tmp_path / "conftest.py").write_text(
        'pytest_plugins = ["airflow_flink_operator.testing.pytest_plugin"]\n' + REPORT)
    out = _fixtures(tmp_path)
    assert "flink_cluster" in out
    assert "TESTING_IMPORTED=True" in out
