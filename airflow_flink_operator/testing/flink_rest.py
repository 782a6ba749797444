"""A small client for Flink's REST API (the JobManager's ``/jars``, ``/jobs``, savepoints), standard library only.

It covers what the simulated operator does in ``flink="local"`` mode, the calls the real operator's
``AbstractFlinkService`` makes: upload and run a jar (``JarRunRequestBody``: ``entryClass``, ``programArgsList``,
``jobId``, ``savepointPath``, ``allowNonRestoredState``), job details and exceptions, checkpoint statistics,
savepoint trigger / stop-with-savepoint and their async results, cancel, savepoint disposal.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any


def trace_summary(trace: str) -> str:
    """A Java stack trace's first line and its ``Caused by:`` lines (what a person on call reads)."""
    lines = trace.strip().splitlines()
    if not lines:
        return ""
    causes = [line.strip() for line in lines[1:] if line.strip().startswith("Caused by:")]
    return "\n".join([lines[0].strip(), *causes])


class FlinkRestError(RuntimeError):
    """Flink's REST API answered with an error (``errors`` from its JSON body), or an async operation failed."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class FlinkRest:
    """Flink's REST API at ``base_url`` (``http://127.0.0.1:8081``)."""

    def __init__(self, base_url: str, timeout: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def _request(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None,
                 timeout: float | None = None) -> Any:
        request = urllib.request.Request(self.base_url + path, data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=timeout or self.timeout) as response:
                text = response.read().decode()
        except urllib.error.HTTPError as exc:
            text = exc.read().decode(errors="replace")
            try:
                errors = json.loads(text).get("errors") or [text]
            except ValueError:
                errors = [text]
            raise FlinkRestError(f"{method} {path}: HTTP {exc.code}: {' | '.join(map(str, errors))}", exc.code) from None
        return json.loads(text) if text.strip() else {}

    def get(self, path: str, timeout: float | None = None) -> Any:
        return self._request("GET", path, timeout=timeout)

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self._request("POST", path, json.dumps(body or {}).encode(), {"Content-Type": "application/json"})

    # -- jars --

    def upload_jar(self, jar: str | Path) -> str:
        """``POST /jars/upload`` (multipart, field ``jarfile``); returns the jar id."""
        jar = Path(jar)
        boundary = uuid.uuid4().hex
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"jarfile\"; filename=\"{jar.name}\"\r\n"
                "Content-Type: application/x-java-archive\r\n\r\n").encode() + jar.read_bytes() + \
            f"\r\n--{boundary}--\r\n".encode()
        answer = self._request("POST", "/jars/upload", body,
                               {"Content-Type": f"multipart/form-data; boundary={boundary}"})
        return Path(answer["filename"]).name

    def run_jar(self, jar_id: str, *, entry_class: str | None = None, args: list[str] | None = None,
                job_id: str | None = None, savepoint_path: str | None = None,
                allow_non_restored_state: bool | None = None, parallelism: int | None = None,
                configuration: dict[str, str] | None = None) -> str:
        """``POST /jars/<id>/run``; returns the job id."""
        body: dict[str, Any] = {"entryClass": entry_class, "programArgsList": args or [], "jobId": job_id,
                                "savepointPath": savepoint_path, "allowNonRestoredState": allow_non_restored_state,
                                "parallelism": parallelism, "flinkConfiguration": configuration}
        return self.post(f"/jars/{jar_id}/run", {k: v for k, v in body.items() if v is not None})["jobid"]

    # -- jobs --

    def job(self, job_id: str) -> dict[str, Any]:
        """``GET /jobs/<id>``: name, state, start-time, ..."""
        return self.get(f"/jobs/{job_id}")

    def root_exception(self, job_id: str) -> str | None:
        """The job's root exception (``GET /jobs/<id>/exceptions``), its first line and ``Caused by`` lines."""
        info = self.get(f"/jobs/{job_id}/exceptions")
        history = (info.get("exceptionHistory") or {}).get("entries") or []
        trace = (history[0].get("stacktrace") if history else None) or info.get("root-exception")
        return trace_summary(trace) if trace else None

    def checkpoints(self, job_id: str) -> dict[str, Any]:
        """``GET /jobs/<id>/checkpoints``: counts, ``latest.completed`` / ``latest.restored`` / ``latest.failed``."""
        return self.get(f"/jobs/{job_id}/checkpoints")

    def cancel(self, job_id: str) -> None:
        """``PATCH /jobs/<id>?mode=cancel``."""
        self._request("PATCH", f"/jobs/{job_id}?mode=cancel")

    def trigger_savepoint(self, job_id: str, target_dir: str | None, *, cancel: bool = False) -> str:
        """``POST /jobs/<id>/savepoints`` (``cancel-job`` for a cancel-with-savepoint); returns the trigger id."""
        body: dict[str, Any] = {"cancel-job": cancel, "formatType": "CANONICAL"}
        if target_dir:
            body["target-directory"] = target_dir
        return self.post(f"/jobs/{job_id}/savepoints", body)["request-id"]

    def stop_with_savepoint(self, job_id: str, target_dir: str | None, *, drain: bool = False) -> str:
        """``POST /jobs/<id>/stop``: stop-with-savepoint; returns the trigger id."""
        body: dict[str, Any] = {"drain": drain, "formatType": "CANONICAL"}
        if target_dir:
            body["targetDirectory"] = target_dir
        return self.post(f"/jobs/{job_id}/stop", body)["request-id"]

    def savepoint_result(self, job_id: str, trigger_id: str) -> tuple[str, str | None, str | None]:
        """``GET /jobs/<id>/savepoints/<trigger>``: ``("IN_PROGRESS" | "COMPLETED", location, failure cause)``."""
        answer = self.get(f"/jobs/{job_id}/savepoints/{trigger_id}")
        state = (answer.get("status") or {}).get("id", "IN_PROGRESS")
        operation = answer.get("operation") or {}
        cause = operation.get("failure-cause")
        reason = None
        if cause:
            reason = trace_summary(cause.get("stack-trace") or cause.get("class") or "") or str(cause)
        return state, operation.get("location"), reason

    def wait_savepoint(self, job_id: str, trigger_id: str, timeout: float = 120.0) -> str:
        """Poll a savepoint until it completes; its location, or :class:`FlinkRestError` with Flink's reason."""
        deadline = time.monotonic() + timeout
        while True:
            state, location, reason = self.savepoint_result(job_id, trigger_id)
            if state == "COMPLETED":
                if reason or not location:
                    raise FlinkRestError(f"savepoint of job {job_id} failed: {reason}")
                return location
            if time.monotonic() > deadline:
                raise TimeoutError(f"savepoint {trigger_id} of job {job_id} still in progress after {timeout}s")
            time.sleep(0.1)

    def dispose_savepoint(self, path: str) -> str:
        """``POST /savepoint-disposal``; returns the trigger id (poll :meth:`disposal_result`)."""
        return self.post("/savepoint-disposal", {"savepoint-path": path})["request-id"]

    def disposal_result(self, trigger_id: str) -> tuple[str, str | None]:
        """``GET /savepoint-disposal/<trigger>``: ``(state, failure cause)``."""
        answer = self.get(f"/savepoint-disposal/{trigger_id}")
        cause = (answer.get("operation") or {}).get("failure-cause")
        return (answer.get("status") or {}).get("id", "IN_PROGRESS"), (cause or {}).get("stack-trace") if cause else None
