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
    ("ACTIVE_BLUE", "SUSPENDED", "active", Phase.WAITING),
])
def test_phase_per_state(state, job, target, phase):
    assert bluegreen_phase(bg(state, job), target)[0] is phase


def test_result_names_the_colour_and_the_child_serving():
    _, _, result = bluegreen_phase(bg("ACTIVE_GREEN", "RUNNING"), "active")
    assert result["active_colour"] == "green" and result["active_deployment"] == "orders-green"
    assert result["blue_green_state"] == "ACTIVE_GREEN" and result["job_state"] == "RUNNING"


def test_abort_fails_and_says_the_old_colour_still_serves():
    error = "Aborting deployment 'orders-green', rolling B/G deployment back to ACTIVE_BLUE"
    phase, message, result = bluegreen_phase(bg("ACTIVE_BLUE", "FAILING", spec=NEW_SPEC, reconciled=NEW_SPEC,
                                                error=error), "active_green")
    assert phase is Phase.FAILED and result["aborted"]
    assert "BLUE (orders-blue) is still active and serving" in message and error in message


def test_an_old_abort_does_not_fail_a_wait_for_a_newer_spec_not_yet_picked_up():
    """The status has no observedGeneration: the spec being waited for is the one in lastReconciledSpec."""
    stale = bg("ACTIVE_BLUE", "FAILING", spec=NEW_SPEC, reconciled=SPEC, error="Aborting deployment 'orders-green'")
    phase, message, _ = bluegreen_phase(stale, "active_green")
    assert phase is Phase.WAITING and "not acted on the latest spec" in message


def test_defaults_the_operator_writes_into_last_reconciled_spec_do_not_hide_the_match():
    filled = {"template": {"spec": {**NEW_SPEC["template"]["spec"], "restartNonce": None, "mode": "native",
                                    "job": {**NEW_SPEC["template"]["spec"]["job"], "state": "running",
                                            "parallelism": 0}}}}
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
