"""The wheel ships every package, and the example DAGs inside it, from their one place in the repository."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

tomllib = pytest.importorskip("tomllib") if sys.version_info >= (3, 11) else pytest.importorskip("tomli")


def _setuptools_config() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_package_of_the_source_tree_is_in_the_wheel():
    """A mapped folder makes ``packages.find`` unusable; a new subpackage left out of the list would
    be missing from every installation while working in a checkout."""
    config = _setuptools_config()
    declared = set(config["packages"])
    on_disk = {
        ".".join(path.parent.relative_to(ROOT).parts)
        for path in (ROOT / "airflow_flink_operator").rglob("__init__.py")
        if "__pycache__" not in path.parts
    }
    mapped = set(config.get("package-dir", {}))
    assert on_disk - declared == set(), "add these packages to [tool.setuptools] packages in pyproject.toml"
    assert declared - on_disk - mapped == set(), "these listed packages do not exist any more"


def test_the_installed_example_dags_are_the_top_level_folder():
    """``airflow-flink demo`` runs what ``example_dags/`` holds, in a checkout as in an install."""
    from airflow_flink_operator import demo

    assert _setuptools_config()["package-dir"]["airflow_flink_operator.example_dags"] == "example_dags"
    assert demo.EXAMPLES == (ROOT / "example_dags").resolve()
    for dag_id in demo.DEFAULT_ORDER:
        assert (demo.EXAMPLES / f"{dag_id}.py").is_file(), dag_id
    assert not (ROOT / "airflow_flink_operator" / "example_dags").exists(), "one copy of the example DAGs only"
