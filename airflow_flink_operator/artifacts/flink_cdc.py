"""A Flink CDC 3.x YAML pipeline."""

from pathlib import Path
from typing import Any, ClassVar

import yaml
from pydantic import Field

from airflow_flink_operator.models.base import AbsolutePath, FileName

from airflow_flink_operator.artifacts.base import FileDeliveringJob
from airflow_flink_operator.errors import SpecProblem
from airflow_flink_operator.versions import OperatorVersion

CDC_CLI_FRONTEND = "org.apache.flink.cdc.cli.CliFrontend"


class FlinkCdcPipeline(FileDeliveringJob):
    """A Flink CDC pipeline (``source`` → ``sink`` YAML), per Flink CDC's "Kubernetes Operator Mode".

    The image is ``flink:<version>`` with the connector jars in ``$FLINK_HOME/lib`` and
    ``flink-cdc-<cdc_version>-bin`` extracted to ``/opt/flink/flink-cdc-<cdc_version>``. The
    pipeline YAML (and an optional global ``flink-cdc.yaml``) is mounted over that directory's
    ``conf``. ``CliFrontend`` runs the pipeline in a MiniCluster inside the JobManager
    (``--use-mini-cluster``), so this kind runs only as an application deployment, and the
    operator's savepoints concern that outer job: test stateful upgrades before relying on them.

    :param pipeline: the pipeline YAML.
    :param pipeline_file: a local pipeline YAML read at render time.
    :param pipeline_path: a pipeline already inside the image.
    :param cdc_version: Flink CDC version in the image, e.g. ``"3.2.0"``.
    :param pipeline_name: the pipeline's file name in the conf directory.
    :param global_config: optional ``flink-cdc.yaml`` content delivered beside the pipeline.
    :param jar_uri: the ``flink-cdc-dist`` jar (default: derived from ``cdc_version``).
    :param args: extra ``CliFrontend`` arguments.
    """

    kind = "cdc"
    _source_fields: ClassVar[tuple[str, str, str]] = ("pipeline", "pipeline_file", "pipeline_path")
    _main_file_field: ClassVar[str] = "pipeline_name"
    _dir_field: ClassVar[str] = "conf_dir"

    pipeline: str | None = Field(default=None, exclude=True, description="Pipeline YAML.")
    pipeline_file: Path | None = Field(default=None, exclude=True, description="Local pipeline YAML.")
    pipeline_path: AbsolutePath | None = Field(default=None, exclude=True, description="Pipeline in the image.")
    cdc_version: str = Field(exclude=True, pattern=r"^\d+\.\d+(\.\d+)?$", description="Flink CDC version.")
    pipeline_name: FileName = Field(default="pipeline.yaml", exclude=True, description="File name.")
    global_config: str | None = Field(default=None, exclude=True, description="flink-cdc.yaml content.")
    entry_class: str | None = Field(default=CDC_CLI_FRONTEND, description="CliFrontend.")

    @property
    def conf_dir(self) -> str:
        """``/opt/flink/flink-cdc-<version>/conf``."""
        return f"/opt/flink/flink-cdc-{self.cdc_version}/conf"

    def _finish_job(self, data: dict[str, Any], by_alias: bool) -> dict[str, Any]:
        jar = self.jar_uri or f"local:///opt/flink/flink-cdc-{self.cdc_version}/lib/flink-cdc-dist-{self.cdc_version}.jar"
        return self._put(data, by_alias, jar_uri=jar, entry_class=self.entry_class,
                         args=["--use-mini-cluster", self.main_file_path(), *(self.args or [])])

    def extra_files(self) -> dict[str, str]:
        """The global ``flink-cdc.yaml``, if given."""
        return {"flink-cdc.yaml": self.global_config} if self.global_config is not None else {}

    def flink_configuration(self) -> dict[str, str]:
        """CDC pipelines need parent-first class loading."""
        return {"classloader.resolve-order": "parent-first"}

    def content_problems(self, field: str) -> list[SpecProblem]:
        """The pipeline must be YAML with ``source`` and ``sink`` blocks, each with a ``type``."""
        if not self.delivers_files():
            return []
        where = f"{field}.{'pipeline' if self.pipeline is not None else 'pipeline_file'}"
        try:
            doc = yaml.safe_load(self.main_file_content())
        except yaml.YAMLError as exc:
            return [SpecProblem(where, f"is not valid YAML: {exc}.", "Fix the pipeline YAML.")]
        if not isinstance(doc, dict):
            return [SpecProblem(where, "is not a YAML mapping.", "A pipeline has source:, sink: and pipeline: blocks.")]
        problems = []
        for block in ("source", "sink"):
            if not isinstance(doc.get(block), dict) or not doc[block].get("type"):
                problems.append(SpecProblem(f"{where}.{block}", "is missing or has no type.",
                                            f"Add a {block}: block with type: (e.g. mysql, doris, kafka)."))
        if self.global_config is not None:
            try:
                yaml.safe_load(self.global_config)
            except yaml.YAMLError as exc:
                problems.append(SpecProblem(f"{field}.global_config", f"is not valid YAML: {exc}.", "Fix it."))
        return problems

    def session_job_problems(self, field, operator_version: OperatorVersion, allowed_schemes=None):  # type: ignore[no-untyped-def]
        """Never possible: the pipeline needs its own JobManager to host the MiniCluster."""
        return [SpecProblem(
            field,
            "a Flink CDC pipeline cannot run as a session job: CliFrontend runs it in a MiniCluster inside "
            "the JobManager (--use-mini-cluster), which a shared session cluster cannot host, and Flink CDC "
            "does not support submitting YAML pipelines to a session cluster through the operator.",
            "Run it as a FlinkDeployment (application mode) with job=FlinkCdcPipeline(...).",
        )]
