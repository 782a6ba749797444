"""What the sync and async hooks share: API errors, plurals, retryable answers."""

from __future__ import annotations

import json

from airflow_flink_operator.constants import PLURALS

MERGE_PATCH = "application/merge-patch+json"
#: Labels the operator puts on FlinkStateSnapshots (API/CrdConstants.java); we set them on ours too.
LABEL_SNAPSHOT_JOB_KIND = "job-reference.kind"
LABEL_SNAPSHOT_JOB_NAME = "job-reference.name"
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


class FlinkApiError(RuntimeError):
    """A Kubernetes API call about a Flink resource failed.

    :param action: what was attempted (``create FlinkDeployment flink/orders``).
    :param status: the HTTP status, if there was an answer.
    :param reason: the API's reason (``Conflict``, ``Invalid``...).
    """

    def __init__(self, action: str, status: int | None, reason: str) -> None:
        self.action, self.status, self.reason = action, status, reason
        super().__init__(f"{action} failed ({status or 'no answer'}): {reason}")


def _plural(kind: str) -> str:
    try:
        return PLURALS[kind]
    except KeyError:
        raise ValueError(f"unknown Flink kind {kind!r}; use one of {', '.join(PLURALS)}") from None


def _api_reason(exc: Exception) -> str:
    body = getattr(exc, "body", None)
    if body:
        try:
            data = json.loads(body)
            return str(data.get("message") or body)
        except (ValueError, AttributeError):
            return str(body)
    return str(getattr(exc, "reason", None) or exc)
