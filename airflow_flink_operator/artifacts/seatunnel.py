"""An Apache SeaTunnel job on the Flink engine."""

from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from airflow_flink_operator.models.base import AbsolutePath, FileName, camel_alias

from airflow_flink_operator.artifacts.base import FileDeliveringJob
from airflow_flink_operator.errors import SpecProblem

SEATUNNEL_ENTRY_CLASS = "org.apache.seatunnel.core.starter.flink.SeaTunnelFlink"
STARTER_FLINK_15 = "local:///opt/seatunnel/starter/seatunnel-flink-15-starter.jar"
STARTER_FLINK_13 = "local:///opt/seatunnel/starter/seatunnel-flink-13-starter.jar"


class SeaTunnelJob(FileDeliveringJob):
    """A SeaTunnel job (``SeaTunnelFlink`` starter), as in SeaTunnel's Kubernetes guide.

    The image is ``flink:<version>`` with the SeaTunnel distribution in ``/opt/seatunnel`` and its
    connectors installed. The job's config is given inline (``config``), as a local file
    (``config_file``) or as a path in the image (``config_path``).

    :param config: the SeaTunnel job config (HOCON).
    :param config_file: a local config file read at render time.
    :param config_path: a config already inside the image or session cluster.
    :param config_name: the config's file name in ``config_dir``.
    :param config_dir: where a delivered config is mounted.
    :param job_name: passed as ``--name``.
    :param jar_uri: the starter jar; default: the Flink 1.15+ starter. Flink 1.13/1.14 need
        ``seatunnel-flink-13-starter.jar``.
    :param args: extra starter arguments (e.g. ``["-i", "date=2024-01-01"]``).
    """

    kind = "seatunnel"
    _source_fields: ClassVar[tuple[str, str, str]] = ("config", "config_file", "config_path")
    _main_file_field: ClassVar[str] = "config_name"
    _dir_field: ClassVar[str] = "config_dir"

    config: str | None = Field(default=None, exclude=True, description="SeaTunnel config.")
    config_file: Path | None = Field(default=None, exclude=True, description="Local config file.")
    config_path: AbsolutePath | None = Field(default=None, exclude=True, description="Config in the image.")
    config_name: FileName = Field(default="seatunnel.conf", exclude=True, description="File name.")
    config_dir: AbsolutePath = Field(default="/data/seatunnel", exclude=True, description="Mount dir.")
    job_name: str | None = Field(default=None, exclude=True, description="SeaTunnel job name.")
    jar_uri: str | None = Field(default=STARTER_FLINK_15, **camel_alias("jar_uri", "jarURI"), description="Starter jar.")
    entry_class: str | None = Field(default=SEATUNNEL_ENTRY_CLASS, description="SeaTunnelFlink.")

    def _finish_job(self, data: dict[str, Any], by_alias: bool) -> dict[str, Any]:
        args = ["--config", self.main_file_path()]
        if self.job_name:
            args += ["--name", self.job_name]
        return self._put(data, by_alias, jar_uri=self.jar_uri, entry_class=self.entry_class,
                         args=[*args, *(self.args or [])])

    def content_problems(self, field: str) -> list[SpecProblem]:
        """A SeaTunnel config has ``source`` and ``sink`` blocks."""
        if not self.delivers_files():
            return []
        text = self.main_file_content()
        missing = [block for block in ("source", "sink") if block not in text]
        if missing:
            return [SpecProblem(f"{field}.config", f"has no {' or '.join(missing)} block.",
                                "A SeaTunnel job config needs env (optional), source and sink blocks.")]
        return []

    def application_problems(self, field: str, flink_version: str | None) -> list[SpecProblem]:
        """Also: the starter must match the Flink version."""
        problems = super().application_problems(field, flink_version)
        old_flink = flink_version in ("v1_13", "v1_14")
        if self.jar_uri and old_flink and "flink-15-starter" in self.jar_uri:
            problems.append(SpecProblem(f"{field}.jarURI", f"the Flink 1.15+ starter cannot run on {flink_version}.",
                                        f"Use jar_uri={STARTER_FLINK_13!r}."))
        if self.jar_uri and not old_flink and "flink-13-starter" in self.jar_uri:
            problems.append(SpecProblem(f"{field}.jarURI", f"the Flink 1.13 starter cannot run on {flink_version}.",
                                        f"Use jar_uri={STARTER_FLINK_15!r}."))
        return problems
