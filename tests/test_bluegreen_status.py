"""The blue/green predicate on statuses as the operator writes them (FlinkBlueGreenDeploymentStatus)."""

from __future__ import annotations

import json

import pytest

from airflow_flink_operator.models.status import Phase
from airflow_flink_operator.models.status_bluegreen import BlueGreenState, bluegreen_phase
from airflow_flink_operator.models.waiting import evaluate

SPEC = {"template": {"spec": {"image": "flink:1.20", "job": {"jarURI": "local:///a.jar", "upgradeMode": "savepoint"}}}}
NEW_SPEC = {"template": {"spec": {"image": "flink:1.20.1", "job": {"jarURI": "local:///a.jar",
                                                                   "upgradeMode": "savepoint"}}}}


def bg(state: str | None, job: str | None = None, *, spec: dict = SPEC, reconciled: dict | None = SPEC,
       error: str | None = None) -> dict:
    status: dict = {}
    if state:
        status["blueGreenState"] = state
        status["jobStatus"] = {"state": job} if job else {}
    if reconciled is not None:
        status["lastReconciledSpec"] = json.dumps({"spec": reconciled})
    if error:
        status["error"] = error
    return {"apiVersion": "flink.apache.org/v1beta1", "kind": "FlinkBlueGreenDeployment",
            "metadata": {"name": "orders", "namespace": "flink", "generation": 2}, "spec": spec, "status": status}


def test_every_state_of_the_operator_enum_is_known():
    assert {s.value for s in BlueGreenState} == {
        "INITIALIZING_BLUE", "ACTIVE_BLUE", "ACTIVE_GREEN", "TRANSITIONING_TO_BLUE", "TRANSITIONING_TO_GREEN",
        "SAVEPOINTING_BLUE", "SAVEPOINTING_GREEN"}


@pytest.mark.parametrize(("state", "job", "target", "phase"), [
    ("ACTIVE_BLUE", "RUNNING", "active", Phase.DONE),
    ("ACTIVE_BLUE", "RUNNING", "active_blue", Phase.DONE),
    ("ACTIVE_GREEN", "RUNNING", "active_green", Phase.DONE),
    ("TRANSITIONING_TO_GREEN", "RECONCILING", "active_green", Phase.WAITING),
    ("SAVEPOINTING_BLUE", "RUNNING", "active_green", Phase.WAITING),
    ("INITIALIZING_BLUE", None, "active", Phase.WAITING),
    ("ACTIVE_BLUE", "SUSPENDED", "active", Phase.FAILED),
    ("ACTIVE_BLUE", "SUSPENDED", "suspended", Phase.DONE),
    ("ACTIVE_GREEN", "SUSPENDED", "suspended_green", Phase.DONE),
    ("ACTIVE_BLUE", "RUNNING", "suspended", Phase.FAILED),
    ("ACTIVE_BLUE", "FAILING", "serving", Phase.DONE),
    ("TRANSITIONING_TO_BLUE", "RECONCILING", "suspended_blue", Phase.WAITING),
])
def test_phase_per_state(state, job, target, phase):
    assert bluegreen_phase(bg(state, job), target)[0] is phase


def test_result_names_the_colour_and_the_child_serving():
    _, _, result = bluegreen_phase(bg("ACTIVE_GREEN", "RUNNING"), "active")
    assert result["active_colour"] == "green" and result["active_deployment"] == "orders-green"
    assert result["blue_green_state"] == "ACTIVE_GREEN" and result["job_state"] == "RUNNING"


def test_abort_fails_and_names_the_colour_that_was_active_without_claiming_it_serves():
    """Defect 1: whether blue still serves is the child's to say (the operators add it), not the parent's."""
    error = "Aborting deployment 'orders-green', rolling B/G deployment back to ACTIVE_BLUE"
    phase, message, result = bluegreen_phase(bg("ACTIVE_BLUE", "FAILING", spec=NEW_SPEC, reconciled=NEW_SPEC,
                                                error=error), "active_green")
    assert phase is Phase.FAILED and result["aborted"] and result["last_transition_error"] == error
    assert "BLUE (orders-blue) was active before it" in message and error in message
    assert "serving" not in message


def test_an_old_abort_does_not_fail_a_wait_for_a_newer_spec_not_yet_picked_up():
    """The status has no observedGeneration: the spec being waited for is the one in lastReconciledSpec."""
    stale = bg("ACTIVE_BLUE", "FAILING", spec=NEW_SPEC, reconciled=SPEC, error="Aborting deployment 'orders-green'")
    phase, message, _ = bluegreen_phase(stale, "active_green")
    assert phase is Phase.WAITING and "not acted on the latest spec" in message


def test_defaults_the_operator_writes_into_last_reconciled_spec_do_not_hide_the_match():
    filled = {"template": {"spec": {**NEW_SPEC["template"]["spec"], "restartNonce": None, "flinkConfiguration": {},
                                    "job": {**NEW_SPEC["template"]["spec"]["job"], "state": "running",
                                            "parallelism": 0, "args": []}}}}
    assert bluegreen_phase(bg("ACTIVE_GREEN", "RUNNING", spec=NEW_SPEC, reconciled=filled), "active_green")[0] \
        is Phase.DONE


def test_first_deployment_aborted_means_nothing_serves():
    phase, message, _ = bluegreen_phase(bg("INITIALIZING_BLUE", "FAILING", error="Aborting deployment 'orders-blue', "
                                           "rolling B/G deployment back to INITIALIZING_BLUE"), "active")
    assert phase is Phase.FAILED and "nothing is serving" in message


def test_an_in_place_change_finished_on_the_same_colour_does_not_wait_forever_for_the_other():
    phase, message, _ = bluegreen_phase(bg("ACTIVE_BLUE", "RUNNING", spec=NEW_SPEC, reconciled=NEW_SPEC),
                                        "active_green")
    assert phase is Phase.FAILED and "GREEN will not become active" in message


def test_the_shared_evaluate_dispatches_to_it():
    phase, _, result = evaluate("bluegreen", bg("ACTIVE_BLUE", "RUNNING"), kind="FlinkBlueGreenDeployment",
                                name="orders", target="active_blue")
    assert phase is Phase.DONE and result["active_deployment"] == "orders-blue"


def test_unknown_target_is_refused():
    with pytest.raises(ValueError, match="active_blue"):
        bluegreen_phase(bg("ACTIVE_BLUE", "RUNNING"), "running")


def test_a_removal_only_change_is_not_reconciled_until_the_operator_acts_on_it():
    """Defect 2: a removed key is a difference (the old predicate looked only at keys the new spec has)."""
    with_key = {"template": {"spec": {**SPEC["template"]["spec"], "flinkConfiguration": {"a.b": "1"}}}}
    phase, message, _ = bluegreen_phase(bg("ACTIVE_BLUE", "RUNNING", spec=SPEC, reconciled=with_key), "active_green")
    assert phase is Phase.WAITING and "not acted on the latest spec" in message


@pytest.mark.parametrize("change", [
    {"configuration": {"kubernetes.operator.bluegreen.abort.grace-period": "1 min"}},
    {"ingress": {"template": "{{name}}.example.com"}},
    {"template": {**SPEC["template"], "metadata": {"labels": {"team": "data"}}}},
])
def test_configuration_ingress_or_metadata_alone_need_nothing_from_the_operator(change):
    """Defect 4: the operator compares only template.spec; lastReconciledSpec is not updated for these."""
    phase, _, _ = bluegreen_phase(bg("ACTIVE_BLUE", "RUNNING", spec={**SPEC, **change}, reconciled=SPEC), "active_blue")
    assert phase is Phase.DONE


def test_a_failed_savepoint_trigger_fails_the_wait_that_caused_it_at_once():
    """Defect 6: checkAndInitiateDeployment writes FAILING "Could not trigger Savepoint..." without marking the
    spec reconciled; an old failure (the marker taken when the wait began) does not count."""
    from airflow_flink_operator.models.status_bluegreen import failure_marker

    failed = bg("ACTIVE_BLUE", "FAILING", spec=NEW_SPEC, reconciled=SPEC,
                error="Could not trigger Savepoint. Details: no savepoint directory")
    failed["status"]["lastReconciledTimestamp"] = "2026-12-07T01:00:00.123Z"
    phase, message, _ = bluegreen_phase(failed, "active_green", stale_error="something older")
    assert phase is Phase.FAILED and "Could not trigger Savepoint. Details: no savepoint directory" in message
    assert bluegreen_phase(failed, "active_green", stale_error=failure_marker(failed))[0] is Phase.WAITING


def test_a_first_deployment_held_as_suspended_ends_the_wait():
    """Defect 5: InitializingBlueStateHandler holds a suspended first deployment (jobStatus SUSPENDED, no spec
    reconciled, nothing deployed)."""
    suspended = {"template": {"spec": {**SPEC["template"]["spec"], "job": {**SPEC["template"]["spec"]["job"],
                                                                           "state": "suspended"}}}}
    held = bg("INITIALIZING_BLUE", "SUSPENDED", spec=suspended, reconciled=None)
    assert bluegreen_phase(held, "suspended")[0] is Phase.DONE
    assert bluegreen_phase(held, "active")[0] is Phase.FAILED
