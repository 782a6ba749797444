"""Replay from the newest savepoint: runs whenever ``flink_savepoint_producer`` completes a savepoint.

Scheduled on the asset ``flink-savepoint://<namespace>/payments-ledger``. The savepoint path comes from
the asset event that triggered the run (``triggering_asset_events``); a bounded copy of the job,
``payments-ledger-replay``, starts from it (``initialSavepointPath``), replays into an audit sink and
runs to FINISHED. The previous replay, if any, is removed first, so each run starts from its savepoint.
"""

import os
from datetime import datetime, timedelta

from airflow.providers.common.compat.sdk import AirflowFailException
from airflow.sdk import DAG, Asset, task

from airflow_flink_operator.artifacts import JarJob
from airflow_flink_operator.assets import savepoint_asset, savepoint_path_from
from airflow_flink_operator.models import (
    Checkpointing,
    FlinkDeployment,
    FlinkDeploymentSpec,
    JobManagerSpec,
    Resource,
    Savepoints,
    TaskManagerSpec,
)
from airflow_flink_operator.operators import FlinkDeploymentOperator, FlinkTeardownOperator

NAMESPACE = os.environ.get("FLINK_NAMESPACE", "default")
#: The same asset the producer's savepoint task declares as its outlet.
LEDGER_SAVEPOINTS = savepoint_asset("payments-ledger", namespace=NAMESPACE)
REPLAY = "payments-ledger-replay"
#: What the replay writes; its event carries the replay's Flink job id and end time.
AUDIT_TABLE = Asset(uri="s3://payments-audit/ledger-replay", name="payments-audit-ledger-replay")
SIMULATION = {REPLAY: {"bounded": 0.3}}

# The ledger job's image and jar, in replay mode: it stops once it has caught up.
REPLAY_JOB = FlinkDeployment(
    name=REPLAY,
    namespace=NAMESPACE,
    spec=FlinkDeploymentSpec(
        image="registry.example.com/payments/ledger:4.2.0",
        flink_version="v1_20",
        service_account="flink",
        job_manager=JobManagerSpec(resource=Resource(cpu=1, memory="2048m")),
        task_manager=TaskManagerSpec(resource=Resource(cpu=2, memory="4096m")),
        checkpointing=Checkpointing(interval="30 s", dir=f"s3://flink-state/{REPLAY}/checkpoints"),
        savepoints=Savepoints(dir=f"s3://flink-state/{REPLAY}/savepoints"),
        job=JarJob(jar_uri="local:///opt/flink/usrlib/ledger.jar", entry_class="com.example.payments.Ledger",
                   args=["--mode", "replay", "--sink", "s3://payments-audit/ledger-replay"],
                   parallelism=4, upgrade_mode="stateless", allow_non_restored_state=True),
    ),
)

with DAG(
    dag_id="flink_replay_from_savepoint",
    start_date=datetime(2026, 1, 1),
    doc_md=__doc__,
    schedule=[LEDGER_SAVEPOINTS],
    catchup=False,
    max_active_runs=1,
    tags=["flink", "savepoints", "assets"],
    # retries: a worker that cannot reach the API server in time, or Airflow 3.3.2 failing a
    # deferred task whose trigger fired too soon (apache/airflow#67287), fails a try, not the run.
    default_args={"deferrable": True, "timeout": 1800, "retries": 2, "retry_delay": timedelta(seconds=30)},
) as dag:

    @task
    def savepoint_to_replay(triggering_asset_events=None) -> str:
        """The path the producer's savepoint event carries (this run fails if no savepoint triggered it)."""
        try:
            path = savepoint_path_from(triggering_asset_events, LEDGER_SAVEPOINTS)
        except ValueError as error:  # a run no savepoint triggered (a manual one): no retry would help
            raise AirflowFailException(str(error)) from error
        print(f"Replaying from savepoint {path}")
        return path

    remove_previous = FlinkTeardownOperator(task_id="remove_previous_replay", name=REPLAY, namespace=NAMESPACE,
                                            savepoint="none")
    replay = FlinkDeploymentOperator(task_id="replay", deployment=REPLAY_JOB, wait_for="finished",
                                     initial_savepoint_path=savepoint_to_replay(), outlets=[AUDIT_TABLE])
    remove_previous >> replay
