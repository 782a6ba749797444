"""The ``checkpointed`` wait: has the job saved state since it last started?

Judged from Flink's own REST answer ``GET /jobs/<jobId>/checkpoints`` (``CheckpointingStatisticsHandler``, body
``CheckpointingStatistics``: ``counts``, ``latest.completed`` / ``failed`` / ``savepoint`` / ``restored`` and
``history``), read through the Kubernetes API server's service proxy
``/api/v1/namespaces/<ns>/services/<cluster>-rest:rest/proxy/...`` (the Flink operator's ``<cluster-id>-rest``
Service; RBAC: ``get`` on ``services/proxy``). Pure functions, no I/O: the hooks and the trigger fetch, this decides.

The rule:

- **Done** when ``latest.completed`` (a checkpoint: Flink's ``CheckpointStatsHistory`` keeps savepoints apart in
  ``latest.savepoint``) was triggered at or after the job's start, ``status.jobStatus.startTime``: epoch
  milliseconds of the job's start, as the operator observed it from the same JobManager clock that stamps
  ``trigger_timestamp``. A checkpoint triggered before this start belongs to an earlier run of the job (an
  upgrade, a restart from the last state, a resubmission on a session cluster), however recent its completion.
  A restore (``latest.restored``) is not a checkpoint of this start either.
- **Failed** when, since that start, none completed and the newest ``failed_checkpoints`` checkpoints in
  ``history`` (default :data:`DEFAULT_FAILED_CHECKPOINTS`) triggered after it all failed: the message is Flink's
  ``failure_message``. Failed savepoints do not count. Also failed when Flink answers that checkpointing is
  off for the job (``404 Checkpointing has not been enabled.``), and when the API server refuses the proxy (403).
- **Waiting** otherwise, including while the REST Service has no endpoints yet (404/503 from the API server).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from airflow_flink_operator.constants import KIND_DEPLOYMENT, KIND_SESSION_JOB
from airflow_flink_operator.models.status import Phase

#: How many checkpoints of this start may fail, in a row with none completed, before the wait fails.
DEFAULT_FAILED_CHECKPOINTS = 3
#: The port name of Flink's ``<cluster-id>-rest`` Service (``rest.port``, 8081).
REST_PORT_NAME = "rest"
#: ``CheckpointingStatisticsHandler``'s answer for a job without checkpointing (404).
CHECKPOINTING_DISABLED = "Checkpointing has not been enabled"
#: The ``flinkConfiguration`` key whose value turns periodic checkpoints on.
CHECKPOINT_INTERVAL_KEY = "execution.checkpointing.interval"


@dataclass(frozen=True)
class FlinkRestRequest:
    """A GET on a Flink cluster's REST API through the API server's service proxy.

    :param namespace: the Service's namespace.
    :param service: ``<cluster>-rest``.
    :param path: the Flink REST path (``/jobs/<id>/checkpoints``).
    :param port: the Service port name.
    """

    namespace: str
    service: str
    path: str
    port: str = REST_PORT_NAME

    @property
    def proxy_path(self) -> str:
        """The API server path that reaches it."""
        return (f"/api/v1/namespaces/{self.namespace}/services/{self.service}:{self.port}/proxy"
                f"{self.path if self.path.startswith('/') else '/' + self.path}")


@dataclass(frozen=True)
class RestAnswer:
    """What came back: the HTTP status (``None``: no answer at all) and the body (JSON, else text).

    A Kubernetes ``Status`` body means the API server answered (no Service, no endpoints, RBAC); anything else
    is the JobManager's own answer (Flink's errors are ``{"errors": [...]}``).
    """

    status: int | None
    body: Any = None

    @property
    def from_api_server(self) -> bool:
        return isinstance(self.body, dict) and self.body.get("kind") == "Status"

    @property
    def message(self) -> str:
        """The answer's error text, for messages."""
        if isinstance(self.body, dict):
            if self.body.get("kind") == "Status":
                return str(self.body.get("message") or self.body.get("reason") or "")
            errors = self.body.get("errors")
            if isinstance(errors, list) and errors:
                return str(errors[0]).strip().splitlines()[0] if str(errors[0]).strip() else ""
        return str(self.body or "")[:300]


_USER_INFO = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://)\S*@")


def without_credentials(text: Any) -> Any:
    """``text`` with any ``user:password@`` of the URIs in it removed (a checkpoint path or Flink's failure message
    goes to logs, the task's error and XCom; a password may itself hold ``/``, ``@`` and ``:``)."""
    return _USER_INFO.sub(r"\1", text) if isinstance(text, str) else text


def rest_service(obj: dict[str, Any]) -> str | None:
    """The REST Service of the cluster running the resource's job: ``<deployment>-rest`` for a FlinkDeployment,
    the session cluster's for a FlinkSessionJob (``spec.deploymentName``)."""
    kind, spec = obj.get("kind"), obj.get("spec") or {}
    if kind == KIND_SESSION_JOB:
        cluster = spec.get("deploymentName")
    elif kind == KIND_DEPLOYMENT:
        cluster = (obj.get("metadata") or {}).get("name")
    else:
        return None
    return f"{cluster}-rest" if cluster else None


def checkpoints_request(obj: dict[str, Any]) -> FlinkRestRequest | None:
    """``GET /jobs/<jobId>/checkpoints`` of the resource's current job, or ``None`` without a job id."""
    job_id = ((obj.get("status") or {}).get("jobStatus") or {}).get("jobId")
    service = rest_service(obj)
    if not job_id or not service:
        return None
    return FlinkRestRequest((obj.get("metadata") or {}).get("namespace") or "default", service,
                            f"/jobs/{job_id}/checkpoints")


def job_start_ms(obj: dict[str, Any]) -> int | None:
    """``status.jobStatus.startTime`` (epoch-ms text), or ``None``."""
    value = ((obj.get("status") or {}).get("jobStatus") or {}).get("startTime")
    try:
        return int(str(value)) if value not in (None, "") else None
    except ValueError:
        return None


def _ms(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def _is_checkpoint(stats: dict[str, Any]) -> bool:
    return not stats.get("is_savepoint")


def checkpoint_phase(answer: RestAnswer, start_ms: int | None, who: str, *,
                     failed_checkpoints: int | None = None) -> tuple[Phase, str, dict[str, Any]]:
    """Where a ``checkpointed`` wait stands, from ``/jobs/<id>/checkpoints`` as answered (see the module).

    :param answer: the REST answer through the proxy.
    :param start_ms: the job's start, epoch ms (``status.jobStatus.startTime``).
    :param who: ``"<kind> <name>"`` for messages.
    :param failed_checkpoints: failures of this start, none completed, that fail the wait (default 3).
    :return: ``(phase, message, result)``; ``result`` has ``checkpoint_id``, ``checkpoint_path`` and
        ``checkpoint_completed_at`` (epoch ms) once done.
    """
    limit = failed_checkpoints or DEFAULT_FAILED_CHECKPOINTS
    if answer.status != 200 or not isinstance(answer.body, dict):
        text = answer.message
        if answer.status == 403 and answer.from_api_server:
            return Phase.FAILED, (f"{who}: the Kubernetes API refused to proxy to Flink's REST API ({text}). The "
                                  "checkpointed wait needs 'get' on 'services/proxy' in the namespace's Role."), {}
        if answer.status == 404 and not answer.from_api_server and CHECKPOINTING_DISABLED in text:
            return Phase.FAILED, (f"{who}: Flink says: {without_credentials(text)} "
                                  f"Set {CHECKPOINT_INTERVAL_KEY} in the spec's "
                                  "flinkConfiguration (Checkpointing(interval=...)), or wait for 'running'."), {}
        where = "the API server" if answer.from_api_server else "Flink"
        return Phase.WAITING, (f"{who} runs; its checkpoints are not readable yet ({where} answered "
                               f"{answer.status}: {without_credentials(text) or 'no answer'})"), {}
    if start_ms is None:
        return Phase.WAITING, f"{who} runs; waiting for the operator to record the job's start time", {}
    latest = answer.body.get("latest") or {}
    completed = latest.get("completed")
    if (isinstance(completed, dict) and _is_checkpoint(completed)
            and _ms(completed.get("trigger_timestamp")) >= start_ms):
        result = {"checkpoint_id": completed.get("id"),
                  "checkpoint_path": without_credentials(completed.get("external_path")),
                  "checkpoint_completed_at": completed.get("latest_ack_timestamp")}
        return Phase.DONE, (f"{who} is checkpointed: checkpoint {completed.get('id')} of this start completed "
                            f"(triggered {completed.get('trigger_timestamp')}, job started {start_ms})"), result
    history = [c for c in answer.body.get("history") or [] if isinstance(c, dict) and _is_checkpoint(c)
               and _ms(c.get("trigger_timestamp")) >= start_ms]
    history.sort(key=lambda c: _ms(c.get("id")), reverse=True)
    finished = [c for c in history if c.get("status") in ("COMPLETED", "FAILED")]
    failed_run = []
    for stats in finished:
        if stats.get("status") != "FAILED":
            break
        failed_run.append(stats)
    counts = answer.body.get("counts") or {}
    if len(failed_run) >= limit:
        newest = latest.get("failed") if isinstance(latest.get("failed"), dict) else failed_run[0]
        reason = without_credentials(newest.get("failure_message") or failed_run[0].get("failure_message")
                                     or "no reason given")
        return Phase.FAILED, (f"{who}: no checkpoint of this start completed; the last {len(failed_run)} failed. "
                              f"Flink: {reason}"), {"failed_checkpoints": len(failed_run)}
    note = (f"; {len(failed_run)} of this start failed, the last: "
            f"{without_credentials(failed_run[0].get('failure_message'))}") if failed_run else ""
    return Phase.WAITING, (f"{who} runs; no checkpoint of this start has completed yet (Flink counts: "
                           f"completed={counts.get('completed')}, failed={counts.get('failed')}, "
                           f"in progress={counts.get('in_progress')}){note}"), {}
