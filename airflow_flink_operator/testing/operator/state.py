"""What a test sets and what the simulation keeps: how fast it moves (:class:`SimTimings`), the faults and
traits of one resource (:class:`ResourceTraits`), and the state kept per resource beyond its status."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class SimTimings:
    """How fast the simulation moves (seconds). Defaults keep a test suite fast.

    :param tick: how often the operator looks at all resources.
    :param step: time between two status transitions (JobManager deploying → ready...).
    :param stable_after: running time before a spec is marked stable.
    :param savepoint: how long a savepoint takes.
    :param readiness_timeout: with rollback enabled, how long a new spec may stay unready.
    :param snapshot_retry: wait before retrying a failed snapshot.
    """

    tick: float = 0.02
    step: float = 0.03
    stable_after: float = 0.1
    savepoint: float = 0.05
    readiness_timeout: float = 0.4
    snapshot_retry: float = 0.05


@dataclass
class ResourceTraits:
    """The faults and traits a test gives one resource (by name, any namespace) through
    :meth:`~.core.SimulatedFlinkOperator.behave`: how its job ends, fails or restarts, how its savepoints and
    upgrades go, how long the operator takes to notice a new generation."""

    bounded: float | None = None          # job FINISHES after this many running seconds
    fail_after: float | None = None       # job FAILS after this many running seconds (0: at start)
    failure_message: str = "Recovery is suppressed by FixedDelayRestartBackoffTimeStrategy(maxNumberRestartAttempts=3, backoffTimeMS=10000)"
    restart_loop: bool = False            # job keeps RESTARTING
    jobmanager_error: bool = False        # JobManager deployment goes to ERROR
    savepoint: str = "ok"                 # "ok" | "fail" | "hang"
    savepoint_failures: int | None = None  # with "fail": fail this many times, then succeed
    upgrade: str = "ok"                   # "ok" | "never-ready" (with rollback enabled: rolled back)
    failed_savepoints: int = 0            # how many savepoints of this job failed so far
    pickup_delay: float = 0.0             # seconds before the operator reconciles a new generation
    checkpoints: str = "ok"               # its JobManager's REST API (flink_rest): "ok" | "fail" | "none"
    checkpoint_failure: str = "An Exception occurred while triggering the checkpoint. IO-problem detected."


@dataclass
class _SimulationState:
    """What the simulation keeps about one resource beyond its status: the clock of its last step, the
    change in progress and its plan, the job's checkpoints, the last cleanup failure reported."""

    since: float = field(default_factory=time.monotonic)
    running_since: float | None = None
    savepoint_started: float | None = None
    pending_change: str | None = None  # "upgrade" | "suspend" | "rollback"
    previous: tuple[str | None, int | None] = (None, None)  # lastReconciledSpec, observedGeneration before
    pending_savepoint_path: str | None = None
    unready_since: float | None = None
    # How the job was last stopped (``JobUpgrade.restoreMode``, which the real operator records as the
    # upgrade mode of ``lastReconciledSpec``): decides how the next start restores.
    restore_mode: str | None = None
    upgrade_plan: tuple[str, str] | None = None  # (suspend mode, restore mode) of the change in progress
    checkpointed: bool = False  # the current Flink job has completed a checkpoint (HA metadata has one)
    checkpoints: int = 0
    cancel_ts: int | None = None  # when the stop-with-savepoint of the change in progress was triggered
    seen_generation: int | None = None  # a new generation noticed at seen_at, not yet reconciled
    seen_at: float = 0.0
    cleanup_message: str | None = None  # the last CleanupFailed event recorded for a snapshot
    # flink="local" mode: "real", or "simulated: <why>" once decided; the savepoint / cancel in flight on the
    # real job; the path the next submission starts from; the latest retained checkpoint of the stopped job.
    real_reason: str | None = None
    flink_trigger: str | None = None
    flink_restore: str | None = None
    last_checkpoint: str | None = None
