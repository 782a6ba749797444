"""``FlinkStateSnapshot``: one savepoint or checkpoint (operator 1.10 and later)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from airflow_flink_operator.constants import KIND_STATE_SNAPSHOT
from airflow_flink_operator.models.base import FlinkModel
from airflow_flink_operator.models.deployment import _Resource


class JobReference(FlinkModel):
    """The job a snapshot is taken of.

    :param kind: ``FlinkDeployment`` or ``FlinkSessionJob``.
    :param name: the resource's name (same namespace).
    """

    kind: Literal["FlinkDeployment", "FlinkSessionJob"] = Field(description="Kind of the job's resource.")
    name: str = Field(min_length=1, description="Name of the job's resource.")


class SavepointSpec(FlinkModel):
    """Savepoint settings of a snapshot.

    :param path: target directory (default: the job's ``state.savepoints.dir``).
    :param format_type: ``CANONICAL`` (default) or ``NATIVE``.
    :param dispose_on_delete: delete the savepoint data when this resource is deleted (default true).
    :param already_exists: register an existing savepoint at ``path`` instead of taking one.
    """

    path: str | None = Field(default=None, description="Savepoint directory or, if it exists, path.")
    format_type: Literal["CANONICAL", "NATIVE"] | None = Field(default=None, description="Format.")
    dispose_on_delete: bool | None = Field(default=None, description="Dispose data on delete.")
    already_exists: bool | None = Field(default=None, description="Register an existing savepoint.")


class FlinkStateSnapshotSpec(FlinkModel):
    """``spec`` of a FlinkStateSnapshot: exactly one of ``savepoint`` or ``checkpoint``.

    :param job_reference: the job (required unless ``savepoint.already_exists``).
    :param savepoint: take (or register) a savepoint.
    :param checkpoint: take a checkpoint (``{}``).
    :param backoff_limit: retries on failure; the operator's default -1 retries forever, so a
        finite value is recommended.
    """

    job_reference: JobReference | None = Field(default=None, description="The job.")
    savepoint: SavepointSpec | None = Field(default=None, description="Savepoint settings.")
    checkpoint: dict[str, Any] | None = Field(default=None, description="Checkpoint settings ({}).")
    backoff_limit: int | None = Field(default=None, ge=-1, description="Retries (-1 = forever).")


class FlinkStateSnapshot(_Resource):
    """A FlinkStateSnapshot custom resource."""

    kind: Literal["FlinkStateSnapshot"] = KIND_STATE_SNAPSHOT
    spec: FlinkStateSnapshotSpec
