"""What a wait hands to XCom and to trigger events: a small, secret-free dict about a resource.

Kept apart from the decisions (:mod:`.waiting`): the shape of a task's return value is a promise to
DAG authors (downstream tasks read ``job_id``, ``savepoint_path``...), not part of judging a status.
"""

from __future__ import annotations

from typing import Any


def summary(obj: dict[str, Any] | None, kind: str | None = None) -> dict[str, Any]:
    """A small, secret-free dict about a resource for XCom and events.

    :param obj: the object as the API returns it, or ``None`` when it does not exist.
    :param kind: its kind, for a resource that does not exist.
    """
    if obj is None:
        return {"kind": kind, "exists": False}
    metadata = obj.get("metadata") or {}
    status = obj.get("status") or {}
    job_status = status.get("jobStatus") or {}
    result: dict[str, Any] = {
        "kind": obj.get("kind") or kind,
        "name": metadata.get("name"),
        "namespace": metadata.get("namespace"),
        "generation": metadata.get("generation"),
    }
    if result["kind"] == "FlinkStateSnapshot":
        result.update(state=status.get("state"), savepoint_path=status.get("path"))
        return result
    result.update(
        lifecycle_state=status.get("lifecycleState"),
        job_state=job_status.get("state"),
        job_id=job_status.get("jobId"),
        jobmanager_status=status.get("jobManagerDeploymentStatus"),
    )
    return result
