"""The status model: one answer to "running / finished / failed?" for every state the reference lists."""

from __future__ import annotations

import json

import pytest

from airflow_flink_operator.models.savepoints import SnapshotStatus, nonce_savepoint_phase
from airflow_flink_operator.models.status import FlinkResourceStatus, Phase, Target, parse_status_error

SPEC = {"job": {"jarURI": "local:///j.jar", "parallelism": 1, "state": "running"}}
SUSPENDED_SPEC = {"job": {**SPEC["job"], "state": "suspended"}}


def recon(spec=SPEC, state="DEPLOYED", stable=True):
    text = json.dumps({"spec": spec, "resource_metadata": {"firstDeployment": True}})
    return {"lastReconciledSpec": text, "state": state, **({"lastStableSpec": text} if stable else {})}


def fd(gen=1, observed=1, lifecycle="STABLE", jm="READY", job="RUNNING", error=None, recon_state="DEPLOYED",
       spec=SPEC, kind="FlinkDeployment", rollback=False, deleting=False, **extra_status):
    obj_spec = dict(spec)
    if rollback:
        obj_spec["flinkConfiguration"] = {"kubernetes.operator.deployment.rollback.enabled": "true"}
    status = {"lifecycleState": lifecycle, "observedGeneration": observed,
              "reconciliationStatus": recon(spec, recon_state), **extra_status}
    if jm is not None:
        status["jobManagerDeploymentStatus"] = jm
    if job is not None:
        status["jobStatus"] = {"state": job, "jobId": "abc"}
    if error is not None:
        status["error"] = error
    metadata = {"name": "orders", "namespace": "flink", "generation": gen}
    if deleting:
        metadata["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"kind": kind, "metadata": metadata, "spec": obj_spec, "status": status}


def validation_error(message):
    return json.dumps({"type": "org.apache.flink.kubernetes.operator.exception.ValidationException",
                       "message": message, "additionalMetadata": {}, "throwableList": []})


JOB_EXCEPTION = json.dumps({"type": "org.apache.flink.runtime.JobException", "message": "Recovery is suppressed",
                            "throwableList": [{"type": "java.io.IOException", "message": "disk full"}]})

CASES = {
    # name: (object, target, expected phase, a word the message must contain)
    "new, not yet seen by the operator": ({"kind": "FlinkDeployment", "metadata": {"name": "orders", "generation": 1},
                                           "spec": SPEC}, Target.RUNNING, Phase.WAITING, "not running"),
    "deploying": (fd(lifecycle="DEPLOYED", jm="DEPLOYING", job="RECONCILING"), Target.RUNNING, Phase.WAITING, "DEPLOYING"),
    "JobManager ready but job not yet running": (fd(lifecycle="DEPLOYED", job="CREATED"), Target.RUNNING, Phase.WAITING,
                                                 "CREATED"),
    "running and stable": (fd(), Target.RUNNING, Phase.DONE, "running"),
    "running, deployed, not yet stable": (fd(lifecycle="DEPLOYED"), Target.RUNNING, Phase.DONE, "running"),
    "deployed but rollback enabled: wait for STABLE": (fd(lifecycle="DEPLOYED", rollback=True), Target.RUNNING,
                                                       Phase.WAITING, "DEPLOYED"),
    "stable target while only deployed": (fd(lifecycle="DEPLOYED"), Target.STABLE, Phase.WAITING, "not stable"),
    "stable target reached": (fd(), Target.STABLE, Phase.DONE, "stable"),
    "JobManager READY but job FAILED (the incumbent's blind spot)": (
        fd(lifecycle="FAILED", job="FAILED", error=JOB_EXCEPTION), Target.RUNNING, Phase.FAILED, "disk full"),
    "job FAILED before the lifecycle says so": (fd(lifecycle="STABLE", job="FAILED"), Target.RUNNING, Phase.FAILED,
                                                "FAILED"),
    "JobManager ERROR": (fd(lifecycle="DEPLOYED", jm="ERROR", job=None, error="CrashLoopBackOff"), Target.RUNNING,
                         Phase.FAILED, "ERROR"),
    "rolled back": (fd(lifecycle="ROLLED_BACK", recon_state="ROLLED_BACK"), Target.RUNNING, Phase.FAILED, "ROLLED_BACK"),
    "rolling back": (fd(lifecycle="ROLLING_BACK", recon_state="ROLLING_BACK"), Target.RUNNING, Phase.WAITING,
                     "ROLLING_BACK"),
    "upgrading with the JobManager MISSING is transient": (
        fd(gen=2, observed=2, lifecycle="UPGRADING", jm="MISSING", job="RECONCILING", recon_state="UPGRADING"),
        Target.RUNNING, Phase.WAITING, "MISSING"),
    "spec change not yet picked up": (fd(gen=2, observed=1), Target.RUNNING, Phase.WAITING, "generation=2 observed=1"),
    "restarting is unhealthy, not failed": (fd(job="RESTARTING"), Target.RUNNING, Phase.WAITING, "RESTARTING"),
    "failing is unhealthy, not failed": (fd(job="FAILING"), Target.RUNNING, Phase.WAITING, "FAILING"),
    "bounded job finished": (fd(job="FINISHED"), Target.FINISHED, Phase.DONE, "finished"),
    "bounded job still running": (fd(), Target.FINISHED, Phase.WAITING, "not finished"),
    "finished when a streaming job was expected": (fd(job="FINISHED"), Target.RUNNING, Phase.FAILED, "FINISHED"),
    "canceled when waiting for finish": (fd(job="CANCELED", lifecycle="DEPLOYED"), Target.FINISHED, Phase.FAILED,
                                         "CANCELED"),
    "suspended on the latest spec": (fd(gen=2, observed=2, lifecycle="SUSPENDED", jm="MISSING", job="FINISHED",
                                        spec=SUSPENDED_SPEC), Target.SUSPENDED, Phase.DONE, "suspended"),
    "suspend requested, not yet done": (fd(gen=2, observed=1, spec=SUSPENDED_SPEC), Target.SUSPENDED, Phase.WAITING,
                                        "not suspended"),
    "session cluster ready": (fd(spec={}, job=None), Target.READY, Phase.DONE, "ready"),
    "session cluster ready counts as running": (fd(spec={}, job=None), Target.RUNNING, Phase.DONE, "running"),
    "session cluster not ready": (fd(spec={}, job=None, jm="DEPLOYED_NOT_READY", lifecycle="DEPLOYED"), Target.READY,
                                  Phase.WAITING, "DEPLOYED_NOT_READY"),
    "session job running": (fd(kind="FlinkSessionJob", jm=None), Target.RUNNING, Phase.DONE, "running"),
    "session job failed": (fd(kind="FlinkSessionJob", jm=None, job="FAILED", lifecycle="FAILED"), Target.RUNNING,
                           Phase.FAILED, "FAILED"),
    "new spec rejected by the validator": (
        {"kind": "FlinkDeployment", "metadata": {"name": "orders", "generation": 1}, "spec": SPEC,
         "status": {"lifecycleState": "FAILED", "error": validation_error("Job parallelism must be larger than 0")}},
        Target.RUNNING, Phase.FAILED, "parallelism"),
    "upgrade rejected by the validator while the old spec runs": (
        fd(gen=3, observed=2, error=validation_error("Forbidden Flink config key: kubernetes.cluster-id")),
        Target.RUNNING, Phase.FAILED, "cluster-id"),
    "old job error while a fixed spec waits to be picked up": (
        fd(gen=3, observed=2, lifecycle="STABLE", job="RUNNING", error=JOB_EXCEPTION), Target.RUNNING, Phase.WAITING,
        "not running"),
    "plain-text error on a never deployed resource (old operators)": (
        {"kind": "FlinkDeployment", "metadata": {"name": "orders", "generation": 1}, "spec": SPEC,
         "status": {"error": "Flink Version must be defined."}}, Target.RUNNING, Phase.FAILED, "Flink Version"),
    "deleting is not a failure": (fd(lifecycle="DELETING", job="FAILED", deleting=True), Target.RUNNING, Phase.WAITING,
                                  "DELETING"),
    "HA metadata lost": (fd(lifecycle="FAILED", jm="MISSING", job=None, error="HA metadata is not available"),
                         Target.RUNNING, Phase.FAILED, "HA metadata"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_status_table(case):
    obj, target, expected, word = CASES[case]
    phase, message = FlinkResourceStatus.from_object(obj).phase(target)
    assert phase is expected, message
    assert word in message, message


def test_facts_exposed_for_operators():
    status = FlinkResourceStatus.from_object(fd(gen=2, observed=2, lifecycle="UPGRADING", recon_state="UPGRADING", job=None,
                                                jobStatus={"state": "RUNNING", "upgradeSavepointPath": "s3://sp/1"}))
    assert status.is_upgrading and not status.latest_generation_reconciled
    assert status.upgrade_savepoint_path == "s3://sp/1"
    assert FlinkResourceStatus.from_object(fd(job="RESTARTING")).is_restarting


@pytest.mark.parametrize("raw, type_, message, cause", [
    (JOB_EXCEPTION, "org.apache.flink.runtime.JobException", "Recovery is suppressed", "IOException: disk full"),
    ("Missing JobManager deployment", None, "Missing JobManager deployment", None),
    ({"type": "X", "message": "as a dict"}, "X", "as a dict", None),
    ('{"not": "an exception"}', None, '{"not": "an exception"}', None),
])
def test_status_error_parses_json_and_plain_text(raw, type_, message, cause):
    error = parse_status_error(raw)
    assert error.type == type_
    assert error.message == message
    if cause:
        assert cause in str(error)


def test_empty_error_is_none():
    assert parse_status_error(None) is None
    assert parse_status_error("  ") is None


def snapshot(state, failures=0, backoff=None, path=None, error=None):
    spec = {"savepoint": {}} if backoff is None else {"savepoint": {}, "backoffLimit": backoff}
    status = {"state": state, "failures": failures}
    if path:
        status["path"] = path
    if error:
        status["error"] = error
    return {"metadata": {"name": "sp"}, "spec": spec, "status": status}


@pytest.mark.parametrize("obj, expected", [
    ({"metadata": {"name": "sp"}, "spec": {"savepoint": {}}}, Phase.WAITING),
    (snapshot("TRIGGER_PENDING"), Phase.WAITING),
    (snapshot("IN_PROGRESS"), Phase.WAITING),
    (snapshot("COMPLETED", path="s3://sp/1"), Phase.DONE),
    (snapshot("ABANDONED", error="job not running"), Phase.FAILED),
    (snapshot("FAILED", failures=1, backoff=-1), Phase.WAITING),  # retried forever
    (snapshot("FAILED", failures=1), Phase.WAITING),  # default -1
    (snapshot("FAILED", failures=1, backoff=1), Phase.WAITING),  # one retry left
    (snapshot("FAILED", failures=2, backoff=1), Phase.FAILED),
    (snapshot("FAILED", failures=1, backoff=0), Phase.FAILED),
])
def test_snapshot_phases(obj, expected):
    assert SnapshotStatus.from_object(obj).phase()[0] is expected


def nonce_obj(nonce_in_spec, reconciled_nonce, trigger_id=None, last_nonce=None, gen=2, observed=2, error=None):
    spec = {"job": {**SPEC["job"], "savepointTriggerNonce": nonce_in_spec}}
    reconciled = {"job": {**SPEC["job"], "savepointTriggerNonce": reconciled_nonce}}
    info = {}
    if trigger_id:
        info["triggerId"] = trigger_id
    if last_nonce is not None:
        info["lastSavepoint"] = {"location": "s3://sp/7", "triggerNonce": last_nonce}
    status = {"observedGeneration": observed, "reconciliationStatus": recon(reconciled),
              "jobStatus": {"state": "RUNNING", "savepointInfo": info}}
    if error:
        status["error"] = error
    return {"metadata": {"name": "orders", "generation": gen}, "spec": spec, "status": status}


def test_nonce_savepoint_phases():
    assert nonce_savepoint_phase(nonce_obj(7, 6, gen=2, observed=1), 7)[0] is Phase.WAITING  # not picked up
    assert nonce_savepoint_phase(nonce_obj(7, 7, trigger_id="t1"), 7)[0] is Phase.WAITING  # in progress
    phase, _, path = nonce_savepoint_phase(nonce_obj(7, 7, last_nonce=7), 7)
    assert (phase, path) == (Phase.DONE, "s3://sp/7")
    phase, message, _ = nonce_savepoint_phase(nonce_obj(7, 7, last_nonce=6, error="Savepoint failed"), 7)
    assert phase is Phase.FAILED and "Savepoint failed" in message


def test_names_that_moved_out_of_the_status_module_still_import_from_it():
    """Operators, DAGs and user code written against ``models.status`` keep working after the split."""
    from airflow_flink_operator.models import savepoints, status, summary, waiting

    for module in (savepoints, summary, waiting):
        for name in [n for n, where in status._MOVED.items() if where == module.__name__.rsplit(".", 1)[1]]:
            assert getattr(status, name) is getattr(module, name), name
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        status.nothing_here  # noqa: B018
