"""Typed Flink settings produce the keys Flink and the operator read; raw config merges predictably."""

from __future__ import annotations

from datetime import timedelta

import pytest

from airflow_flink_operator.errors import FlinkSpecError
from airflow_flink_operator.manifests import render
from airflow_flink_operator.models import (
    Checkpointing,
    ExponentialDelayRestart,
    FailureRateRestart,
    FlinkDeployment,
    FlinkDeploymentSpec,
    HighAvailability,
    JobManagerSpec,
    JobSpec,
    NoRestart,
    PeriodicSavepoints,
    Resource,
    SavepointHistory,
    Savepoints,
    TaskManagerSpec,
)


def conf_of(**spec) -> dict:
    fields = dict(image="flink:1.20", flink_version="v1_20", service_account="flink",
                  job_manager=JobManagerSpec(resource=Resource(memory="1g")),
                  task_manager=TaskManagerSpec(resource=Resource(memory="1g")),
                  job=JobSpec(jar_uri="local:///j.jar", parallelism=1))
    fields.update(spec)
    (manifest,) = render(FlinkDeployment(name="c", spec=FlinkDeploymentSpec(**fields)))
    return manifest["spec"].get("flinkConfiguration", {})


def test_checkpointing_accepts_timedelta_and_sets_flink_keys():
    conf = conf_of(checkpointing=Checkpointing(interval=timedelta(minutes=2), dir="s3://b/cp", retained=3,
                                               mode="AT_LEAST_ONCE", incremental=True))
    assert conf == {
        "execution.checkpointing.interval": "120 s",
        "state.checkpoints.dir": "s3://b/cp",
        "state.checkpoints.num-retained": "3",
        "execution.checkpointing.mode": "AT_LEAST_ONCE",
        "state.backend.incremental": "true",
    }


def test_ha_key_follows_the_flink_version():
    assert conf_of(high_availability=HighAvailability(storage_dir="s3://b/ha"))["high-availability.type"] == "kubernetes"
    old = conf_of(flink_version="v1_15", high_availability=HighAvailability(storage_dir="s3://b/ha"))
    assert old["high-availability"] == "kubernetes"
    assert "high-availability.type" not in old


@pytest.mark.parametrize("strategy, expected", [
    (FailureRateRestart(max_failures_per_interval=3, interval="5 min", delay="10 s"), {
        "restart-strategy.type": "failure-rate",
        "restart-strategy.failure-rate.max-failures-per-interval": "3",
        "restart-strategy.failure-rate.failure-rate-interval": "5 min",
        "restart-strategy.failure-rate.delay": "10 s"}),
    (ExponentialDelayRestart(initial_backoff="1 s", max_backoff="1 min", backoff_multiplier=2.0), {
        "restart-strategy.type": "exponential-delay",
        "restart-strategy.exponential-delay.initial-backoff": "1 s",
        "restart-strategy.exponential-delay.max-backoff": "1 min",
        "restart-strategy.exponential-delay.backoff-multiplier": "2.0"}),
    (NoRestart(), {"restart-strategy.type": "none"}),
])
def test_restart_strategies(strategy, expected):
    assert conf_of(restart_strategy=strategy) == expected


def test_restart_strategy_from_a_dict_picks_the_type():
    spec = FlinkDeploymentSpec.model_validate({"restart_strategy": {"type": "fixed-delay", "attempts": 2, "delay": "5 s"}})
    assert spec.restart_strategy.attempts == 2


def test_periodic_savepoints_and_history():
    conf = conf_of(savepoints=Savepoints(dir="s3://b/sp", format_type="NATIVE"),
                   periodic_savepoints=PeriodicSavepoints(cron="0 0 2 * * ?"),
                   savepoint_history=SavepointHistory(max_age="3 d", max_count=5))
    assert conf["kubernetes.operator.periodic.savepoint.interval"] == "0 0 2 * * ?"
    assert conf["kubernetes.operator.savepoint.format.type"] == "NATIVE"
    assert conf["kubernetes.operator.savepoint.history.max.age"] == "3 d"
    assert conf["kubernetes.operator.savepoint.history.max.count"] == "5"


def test_nested_raw_config_is_flattened_to_strings():
    conf = conf_of(flink_configuration={"state": {"savepoints.dir": "s3://b/sp"}, "taskmanager.numberOfTaskSlots": 4,
                                        "pipeline.object-reuse": True, "metrics.reporters": ["prom", "jmx"]})
    assert conf == {"state.savepoints.dir": "s3://b/sp", "taskmanager.numberOfTaskSlots": "4",
                    "pipeline.object-reuse": "true", "metrics.reporters": "prom;jmx"}


def test_same_key_with_the_same_value_in_helper_and_raw_is_fine():
    conf = conf_of(savepoints=Savepoints(dir="s3://b/sp"), flink_configuration={"state.savepoints.dir": "s3://b/sp"})
    assert conf["state.savepoints.dir"] == "s3://b/sp"


def test_conflicting_values_name_both_sources():
    with pytest.raises(FlinkSpecError) as err:
        conf_of(savepoints=Savepoints(dir="s3://a"), flink_configuration={"state": {"savepoints.dir": "s3://b"}})
    (problem,) = err.value.problems
    assert problem.field == "spec.flinkConfiguration.state.savepoints.dir"
    assert "savepoints" in problem.message and "flink_configuration" in problem.message


def test_savepoint_dir_under_the_flink_2_key_satisfies_the_validator():
    conf = conf_of(flink_version="v2_2", flink_configuration={"execution.checkpointing.savepoint-dir": "s3://b/sp",
                                                              "execution.checkpointing.dir": "s3://b/cp"},
                   job=JobSpec(jar_uri="local:///j.jar", parallelism=1, upgrade_mode="savepoint"))
    assert conf["execution.checkpointing.savepoint-dir"] == "s3://b/sp"
