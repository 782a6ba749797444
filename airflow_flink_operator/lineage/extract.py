"""What the package can know about a Flink job from its spec: identity, kind, inputs and outputs.

Pure Python, no OpenLineage import: :mod:`airflow_flink_operator.lineage.facets` turns the result
into OpenLineage facets and datasets.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from airflow_flink_operator.lineage.datasets import DatasetRef, strip_url_secrets

log = logging.getLogger(__name__)

#: Entry classes that tell a job kind apart when the spec came from a dict or YAML (a plain JobSpec).
_ENTRY_CLASS_KINDS = {
    "org.apache.flink.client.python.PythonDriver": "python",
    "org.apache.seatunnel.core.starter.flink.SeaTunnelFlink": "seatunnel",
    "org.apache.flink.cdc.cli.CliFrontend": "cdc",
}


@dataclass
class FlinkJobDescription:
    """What the package knows about a Flink job, before it becomes OpenLineage facets."""

    namespace: str
    name: str
    resource_kind: str
    job_kind: str
    processing_type: str
    deployment_mode: str
    flink_version: str | None = None
    image: str | None = None
    jar_uri: str | None = None
    entry_class: str | None = None
    upgrade_mode: str | None = None
    parallelism: int | None = None
    session_cluster: str | None = None
    openlineage_job: tuple[str, str] | None = None
    inputs: list[DatasetRef] = field(default_factory=list)
    outputs: list[DatasetRef] = field(default_factory=list)


def job_kind_of(job: Any) -> str:
    """``jar``, ``sql``, ``python``, ``seatunnel`` or ``cdc``: the artifact class's kind, or, for a
    plain ``spec.job`` read from YAML, the kind its entry class (or SQL runner jar) gives away."""
    kind = getattr(job, "kind", "jar")
    if kind != "jar" or type(job).__name__ == "JarJob":
        return kind
    entry = getattr(job, "entry_class", None) or ""
    if entry in _ENTRY_CLASS_KINDS:
        return _ENTRY_CLASS_KINDS[entry]
    return "sql" if "sql-runner" in (getattr(job, "jar_uri", None) or "") else "jar"


def _content(job: Any) -> str | None:
    """The job's delivered file (SQL, SeaTunnel config, CDC pipeline), or ``None`` when it is only in the image."""
    if hasattr(job, "delivers_files") and job.delivers_files():
        try:
            return job.main_file_content()
        except OSError as exc:
            log.warning("OpenLineage: cannot read the %s file: %s", getattr(job, "kind", "job"), exc)
    return None


def job_datasets(job: Any) -> tuple[list[DatasetRef], list[DatasetRef], str | None]:
    """Inputs, outputs and the runtime mode the job's own files declare (``BATCH``/``STREAMING``/None)."""
    kind = job_kind_of(job)
    text = _content(job)
    if text is None or kind in ("jar", "python"):
        return [], [], None
    try:
        if kind == "sql":
            from airflow_flink_operator.lineage.sql import parse_flink_sql

            parsed = parse_flink_sql(text)
            mode = parsed.settings.get("execution.runtime-mode")
            return parsed.inputs, parsed.outputs, mode.upper() if mode else None
        if kind == "seatunnel":
            from airflow_flink_operator.lineage.seatunnel import seatunnel_config, seatunnel_job_mode

            inputs, outputs = seatunnel_config(text)
            return inputs, outputs, seatunnel_job_mode(text)
        if kind == "cdc":
            import yaml

            from airflow_flink_operator.lineage.cdc import cdc_pipeline

            doc = yaml.safe_load(text)
            if isinstance(doc, dict):
                inputs, outputs = cdc_pipeline(doc)
                pipeline = doc.get("pipeline") or {}
                mode = pipeline.get("execution.runtime-mode") if isinstance(pipeline, dict) else None
                return inputs, outputs, str(mode).upper() if mode else None
    except Exception as exc:  # lineage must never fail a task: report nothing rather than something wrong
        # The type only: the message may quote the file, and connection URLs in it hold passwords.
        log.warning("OpenLineage: could not read the datasets of the %s job (%s)", kind, type(exc).__name__)
    return [], [], None


def describe(model: Any, namespace: str, *, wait_for: str | None = None,
             openlineage_job: tuple[str, str] | None = None, flink_version: str | None = None) -> FlinkJobDescription:
    """Describe the Flink job of a FlinkDeployment or FlinkSessionJob model.

    The processing type is ``BATCH`` when the job says so (``execution.runtime-mode`` in
    ``flinkConfiguration`` or a SQL ``SET``, SeaTunnel's ``env.job.mode``) or when the task waits for
    the job to finish (``wait_for="finished"``); otherwise ``STREAMING``.

    :param model: the resource model.
    :param namespace: the Kubernetes namespace it is applied in.
    :param wait_for: the operator's ``wait_for``.
    :param openlineage_job: the job namespace/name injected for the Flink job's own lineage.
    :param flink_version: the Flink version, when the model does not carry it (session jobs).

    The jar URI goes into the facet without user info or query string (a presigned URL's signature).
    """
    from airflow_flink_operator.models.flink_config import flatten_config

    spec = model.spec
    job = spec.job
    session = model.kind == "FlinkSessionJob"
    conf = flatten_config(getattr(spec, "flink_configuration", None))
    inputs, outputs, declared_mode = job_datasets(job) if job is not None else ([], [], None)
    mode = (conf.get("execution.runtime-mode") or declared_mode or "").upper()
    batch = mode == "BATCH" or (mode != "STREAMING" and wait_for == "finished")
    plain = job.to_dict() if job is not None else {}
    return FlinkJobDescription(
        namespace=namespace, name=model.name, resource_kind=model.kind,
        job_kind=job_kind_of(job) if job is not None else "session-cluster",
        processing_type="BATCH" if batch else "STREAMING",
        deployment_mode="session" if session or job is None else "application",
        flink_version=getattr(spec, "flink_version", None) or flink_version,
        image=getattr(spec, "image", None), jar_uri=strip_url_secrets(plain.get("jarURI")),
        entry_class=plain.get("entryClass"),
        upgrade_mode=plain.get("upgradeMode"), parallelism=plain.get("parallelism"),
        session_cluster=getattr(spec, "deployment_name", None) if session else None,
        openlineage_job=openlineage_job, inputs=inputs, outputs=outputs,
    )
