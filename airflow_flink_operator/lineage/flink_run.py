"""The Flink job's own OpenLineage run, when nothing else reports it: a child job of the Airflow task.

**Who reports the datasets of a Flink job.** The datasets a Flink job's spec shows are read and written
by the Flink job, for as long as it runs, not by the Airflow task that deployed it (an hourly task that
only checks that a streaming job runs writes nothing). So they are attributed to the Flink job alone:

* with ``openlineage_flink_config`` (or ``openlineage.job.*`` keys in ``flinkConfiguration``), the Flink
  job reports its own runs and datasets (openlineage-flink); this package sends nothing for it. The link:
  the task's ``airflowFlinkOperator_flink`` job facet names the Flink job's OpenLineage namespace and name
  (``openlineageJobNamespace``/``openlineageJobName``), and with ``parent=True`` the Flink job's run
  carries the task's run as run tags (openlineage-flink has no configuration key for a ``parent`` facet);
* otherwise, when a task **created or changed** the resource (a new Flink job) or waited for a bounded job
  to FINISH, this module sends the Flink job's run as a child job of the task run, as the OpenLineage
  provider does for the queries a task runs (``utils/sql_hook_lineage.py``, ``_create_ol_event_pair``):
  job ``<provider namespace>`` / ``<kubernetes namespace>.<name>`` (the name openlineage-flink would get
  from ``openlineage_flink_config``), facets ``jobType`` (``FLINK``/``JOB``/processing type) and
  ``airflowFlinkOperator_flink``; run facet ``parent`` (the task run, and its root); the spec's inputs and
  outputs. A START event; a COMPLETE event too when the job FINISHED in this task. A streaming job's run
  is never closed by this package (it cannot see the job end; the Flink integration can).
* a task that found the resource unchanged sends nothing for the Flink job, and no spec datasets; nor does
  a task that deploys a session cluster (it runs no job of its own; each session job is a Flink job).

A failure to send is logged, never raised: lineage never fails a task.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

from airflow_flink_operator.lineage.extract import FlinkJobDescription

log = logging.getLogger(__name__)

#: ``spec_change`` values (the apply operators' result) meaning this task made a new Flink job.
CHANGED = ("created", "updated")


def reports_itself(job: FlinkJobDescription) -> bool:
    """Whether the Flink job sends its own lineage (openlineage-flink configured with a job identity)."""
    return job.openlineage_job is not None


def task_started_job(result: dict[str, Any]) -> bool:
    """Whether the task's result says it created or changed the Flink resource (so started a new Flink job).

    A retry after a try that applied a change finds the resource unchanged and says no: fewer datasets,
    never wrong ones.
    """
    return result.get("spec_change") in CHANGED


def flink_job_name(job: FlinkJobDescription) -> str:
    """``<kubernetes namespace>.<name>``: the default job name of ``openlineage_flink_config``
    (:func:`~airflow_flink_operator.lineage.flink_config.job_identity`), so the Flink job keeps its name
    when it starts reporting its own lineage."""
    return f"{job.namespace}.{job.name}"


def flink_run_events(job: FlinkJobDescription, result: dict[str, Any], task_instance: Any) -> list[Any]:
    """The Flink job's run events (START, and COMPLETE for a FINISHED job), children of the task run."""
    from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
    from openlineage.client.uuid import generate_new_uuid

    from airflow.providers.openlineage.plugins.macros import (
        lineage_job_name,
        lineage_job_namespace,
        lineage_root_job_name,
        lineage_root_job_namespace,
        lineage_root_run_id,
        lineage_run_id,
    )
    from airflow.providers.openlineage.utils.utils import _get_parent_run_facet

    from airflow_flink_operator.lineage import facets

    namespace, name = lineage_job_namespace(), flink_job_name(job)
    parent = _get_parent_run_facet(
        parent_run_id=lineage_run_id(task_instance), parent_job_name=lineage_job_name(task_instance),
        parent_job_namespace=namespace, root_parent_run_id=lineage_root_run_id(task_instance),
        root_parent_job_name=lineage_root_job_name(task_instance),
        root_parent_job_namespace=lineage_root_job_namespace(task_instance))
    now = datetime.now(timezone.utc)
    run = Run(runId=str(generate_new_uuid(instant=now)), facets={**facets.run_facets(result), **parent})
    ol_job = Job(namespace=namespace, name=name,
                 facets={**facets.job_facets(job), "jobType": facets.flink_job_type(job)})
    inputs, outputs = facets.job_datasets(job)
    events = [RunEvent(eventType=RunState.START, eventTime=now.isoformat(), run=run, job=ol_job,
                       inputs=inputs, outputs=outputs)]
    if result.get("job_state") == "FINISHED":
        events.append(RunEvent(eventType=RunState.COMPLETE, eventTime=now.isoformat(), run=run, job=ol_job,
                               inputs=inputs, outputs=outputs))
    return events


def emit_flink_run(job: FlinkJobDescription, result: dict[str, Any], task_instance: Any) -> int:
    """Send the Flink job's run (see the module docstring) when this package is the one to report it.

    :return: how many events were handed to the provider's client (0 when none are due or sending failed).
    """
    if job.job_kind == "session-cluster" or reports_itself(job) or not task_started_job(result):
        return 0  # a session cluster runs no job of its own; its session jobs get theirs
    try:
        from airflow.providers.openlineage.plugins.listener import get_openlineage_listener

        events = flink_run_events(job, result, task_instance)
        adapter = get_openlineage_listener().adapter
        for event in events:
            adapter.emit(event)
        return len(events)
    except Exception as exc:  # lineage never fails a task (a transport error, a missing macro)
        log.warning("OpenLineage: could not send the run of Flink job %s/%s (%s)", job.namespace, job.name,
                    type(exc).__name__)
        return 0
