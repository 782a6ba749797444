"""Names and labels derived from Airflow task instances, sanitised for Kubernetes."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from airflow_flink_operator.constants import LABEL_PREFIX

LABEL_DAG_ID = f"{LABEL_PREFIX}/dag-id"
LABEL_TASK_ID = f"{LABEL_PREFIX}/task-id"
LABEL_RUN_ID = f"{LABEL_PREFIX}/run-id"
#: On FlinkStateSnapshots we create: what the savepoint is for (``final``, ``pre-upgrade``...) and
#: the uid of the job resource it was taken of.
LABEL_PURPOSE = f"{LABEL_PREFIX}/purpose"
LABEL_JOB_UID = f"{LABEL_PREFIX}/job-uid"

_LABEL_BAD = re.compile(r"[^A-Za-z0-9_.-]+")
_NAME_BAD = re.compile(r"[^a-z0-9-]+")


def _digest(*parts: Any) -> str:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()


def label_value(value: Any) -> str:
    """A valid label value (≤ 63 chars, alphanumeric at both ends); long values keep a hash suffix."""
    text = _LABEL_BAD.sub("-", str(value)).strip("-_.")
    if len(text) > 63:
        text = text[:52].rstrip("-_.") + "-" + _digest(value)[:10]
    return text


def dns_name(value: str, max_length: int = 63) -> str:
    """A valid lowercase DNS-1123 name from any text; long ones keep a hash suffix."""
    text = _NAME_BAD.sub("-", value.lower()).strip("-")
    if not text or not text[0].isalpha():
        text = f"x-{text}".rstrip("-")
    if len(text) > max_length:
        text = text[: max_length - 11].rstrip("-") + "-" + _digest(value)[:10]
    return text


def ti_identity(context: Any) -> tuple[str, str, str, int]:
    """(dag_id, task_id, run_id, map_index) of the running task instance."""
    ti = context["ti"]
    return ti.dag_id, ti.task_id, ti.run_id, int(getattr(ti, "map_index", -1) or -1)


def ti_labels(context: Any) -> dict[str, str]:
    """Labels naming the task instance that applied a resource (to find and reattach to it)."""
    dag_id, task_id, run_id, _ = ti_identity(context)
    return {LABEL_DAG_ID: label_value(dag_id), LABEL_TASK_ID: label_value(task_id), LABEL_RUN_ID: label_value(run_id)}


def run_scoped_name(prefix: str, context: Any, purpose: str, *scope: Any) -> str:
    """A resource name stable across retries of one task instance, distinct between runs.

    :param scope: more that the name must change with (e.g. the job incarnation a savepoint is
        taken of: a re-run against a redeployed job then gets a new savepoint, never the old one).
    """
    digest = _digest(purpose, *ti_identity(context), *scope)[:10]
    return dns_name(f"{prefix}-{purpose}-{digest}", max_length=63)


def run_scoped_nonce(context: Any, purpose: str, *scope: Any) -> int:
    """A savepoint trigger nonce stable across retries of one task instance (a positive Long)."""
    return int(_digest(purpose, *ti_identity(context), *scope)[:15], 16)
