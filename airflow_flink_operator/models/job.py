"""The job spec shared by FlinkDeployment (application mode) and FlinkSessionJob.

:class:`JobSpec` is the raw ``spec.job`` of the CRD. The job kinds in
:mod:`airflow_flink_operator.artifacts` extend it: they fill ``jarURI``/``entryClass``/``args``
and may add files (delivered in a ConfigMap) and Flink settings.
"""

from typing import Any, ClassVar
from urllib.parse import urlparse

from pydantic import Field, SerializationInfo, SerializerFunctionWrapHandler, model_serializer

from airflow_flink_operator.errors import SpecProblem
from airflow_flink_operator.models.base import FlinkModel, camel_alias
from airflow_flink_operator.models.common import JobState, UpgradeMode
from airflow_flink_operator.versions import OperatorVersion

#: Flink FileSystem schemes the operator can fetch session-job jars with (plugins permitting).
FILESYSTEM_SCHEMES = frozenset(
    {"http", "https", "s3", "s3a", "s3p", "hdfs", "gs", "abfs", "abfss", "wasb", "wasbs", "oss", "cosn", "obs", "viewfs"}
)


class JobSpec(FlinkModel):
    """``spec.job``: what runs and how its state is kept across upgrades.

    :param jar_uri: the job jar. Application mode: usually ``local:///...`` inside the image.
        Session jobs: a URI the operator downloads (``https://``; ``s3://`` etc. if the operator allows).
    :param entry_class: main class (default: the jar manifest's).
    :param args: program arguments.
    :param parallelism: job parallelism (required unless ``taskManager.replicas`` is set).
    :param upgrade_mode: ``stateless`` (default), ``savepoint`` or ``last-state``.
    :param state: ``running`` (default) or ``suspended``.
    :param initial_savepoint_path: savepoint to start from on first deployment.
    :param allow_non_restored_state: skip state that no operator of the new job claims.
    :param savepoint_trigger_nonce: change to trigger a savepoint (legacy way).
    :param checkpoint_trigger_nonce: change to trigger a checkpoint (legacy way).
    :param savepoint_redeploy_nonce: change to redeploy from ``initial_savepoint_path``.
    :param autoscaler_reset_nonce: change to reset the autoscaler's overrides.
    """

    #: The job kind's name, for ConfigMap names and labels (``jar``, ``sql``, ...).
    kind: ClassVar[str] = "jar"

    jar_uri: str | None = Field(default=None, **camel_alias("jar_uri", "jarURI"), description="Job jar URI.")
    entry_class: str | None = Field(default=None, description="Main class.")
    args: list[str] | None = Field(default=None, description="Program arguments.")
    parallelism: int | None = Field(default=None, description="Job parallelism.")
    upgrade_mode: UpgradeMode | None = Field(default=None, description="How state survives upgrades.")
    state: JobState | None = Field(default=None, description="Desired job state.")
    initial_savepoint_path: str | None = Field(default=None, description="Savepoint to start from.")
    allow_non_restored_state: bool | None = Field(default=None, description="Allow unclaimed state.")
    savepoint_trigger_nonce: int | None = Field(default=None, description="Savepoint trigger nonce.")
    checkpoint_trigger_nonce: int | None = Field(default=None, description="Checkpoint trigger nonce.")
    savepoint_redeploy_nonce: int | None = Field(default=None, description="Redeploy-from-savepoint nonce.")
    autoscaler_reset_nonce: int | None = Field(default=None, description="Autoscaler reset nonce.")

    # --- what a job kind may add (the plain jar job adds nothing) ----------------------------

    @model_serializer(mode="wrap")
    def _serialize(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> dict[str, Any]:
        data = handler(self)
        return self._finish_job(data, by_alias=info.by_alias)

    def _finish_job(self, data: dict[str, Any], by_alias: bool) -> dict[str, Any]:
        """Let a job kind fill ``jarURI``/``entryClass``/``args`` in the serialised job."""
        return data

    def files(self) -> dict[str, str]:
        """Files this job needs inside the Flink pods (file name → content), delivered by ConfigMap."""
        return {}

    def mount_dir(self) -> str | None:
        """Directory where :meth:`files` appear inside ``flink-main-container``."""
        return None

    def flink_configuration(self) -> dict[str, str]:
        """Flink settings this job kind needs (e.g. ``classloader.resolve-order``)."""
        return {}

    def application_problems(self, field: str, flink_version: str | None) -> list[SpecProblem]:
        """What is wrong with this job as an application deployment's job.

        The operator does not check ``jarURI`` in application mode; a URI with no scheme or an
        unknown one would fail only inside the JobManager, so it is caught here.
        """
        if not self.jar_uri:
            return []
        scheme = urlparse(self.jar_uri).scheme.lower()
        if scheme in ("local", "file") or scheme in FILESYSTEM_SCHEMES:
            return []
        return [SpecProblem(
            f"{field}.jarURI",
            f"{self.jar_uri!r} has {'no scheme' if not scheme else f'the unknown scheme {scheme!r}'}.",
            "Use local:///path/in/image.jar for a jar inside the image, or a remote URI such as https:// or s3://.",
        )]

    def session_job_problems(
        self, field: str, operator_version: OperatorVersion, allowed_schemes: frozenset[str] | None = None
    ) -> list[SpecProblem]:
        """What stops this job from running as a FlinkSessionJob.

        The operator downloads session-job jars itself and uploads them to the session cluster,
        so ``local://`` cannot work; from operator 1.15 only ``https`` is allowed by default.

        :param field: the manifest path of the job, for messages.
        :param operator_version: the target operator version.
        :param allowed_schemes: the operator's ``kubernetes.operator.user.artifacts.allowed-schemes``
            if it was changed from the default.
        """
        problems: list[SpecProblem] = []
        uri = self.jar_uri
        if not uri:
            return [SpecProblem(f"{field}.jarURI", "a session job needs a jar URI.",
                                "Set jar_uri to an https:// URL the operator can download.")]
        scheme = urlparse(uri).scheme.lower()
        if scheme in ("", "local", "file"):
            problems.append(SpecProblem(
                f"{field}.jarURI",
                f"{uri!r} points at a local file; the operator downloads session-job jars itself and "
                "uploads them to the session cluster, so a local:// or file:// path cannot be used.",
                "Publish the jar and use an https:// URL (or s3://, hdfs:// if the operator allows it), "
                "or run the job as a FlinkDeployment in application mode, where local:// works.",
            ))
            return problems
        if allowed_schemes is None and operator_version.restricts_session_jar_schemes:
            allowed = frozenset({"https"})
        else:
            allowed = allowed_schemes or FILESYSTEM_SCHEMES
        if scheme not in allowed:
            problems.append(SpecProblem(
                f"{field}.jarURI",
                f"scheme {scheme!r} is not allowed for session-job jars on operator {operator_version} "
                f"(allowed: {', '.join(sorted(allowed))}).",
                "Use an https:// URL, or, if your operator sets kubernetes.operator.user.artifacts."
                f"allowed-schemes to include {scheme!r}, pass allowed_jar_schemes with it.",
            ))
        return problems

    def as_plain_job(self) -> "JobSpec":
        """This job as a plain :class:`JobSpec`, with the job kind's fields resolved."""
        return JobSpec.model_validate(self.to_dict())
