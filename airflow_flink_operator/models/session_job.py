"""``FlinkSessionJob``: a job submitted to an existing session cluster."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from airflow_flink_operator.constants import KIND_SESSION_JOB
from airflow_flink_operator.models.deployment import ConfigHelpersMixin, _Resource
from airflow_flink_operator.models.job import JobSpec


class FlinkSessionJobSpec(ConfigHelpersMixin):
    """``spec`` of a FlinkSessionJob.

    :param deployment_name: the session cluster (a FlinkDeployment without a job, same namespace).
    :param job: the job (required); its jar is downloaded by the operator, not read from the image.
    :param flink_configuration: job-level Flink settings merged over the session cluster's.
    :param restart_nonce: change to restart the job without a spec change.
    """

    deployment_name: str | None = Field(default=None, description="Session cluster name.")
    job: JobSpec | None = Field(default=None, description="The job.")
    flink_configuration: dict[str, Any] | None = Field(default=None, description="Job-level Flink settings.")
    restart_nonce: int | None = Field(default=None, description="Restart nonce.")


class FlinkSessionJob(_Resource):
    """A FlinkSessionJob custom resource."""

    kind: Literal["FlinkSessionJob"] = KIND_SESSION_JOB
    spec: FlinkSessionJobSpec
