"""Typed helpers for the Flink settings most jobs need, each producing ``flinkConfiguration`` keys.

Each helper has ``to_config(flink_version)`` returning flat string keys. A spec may set the same
key through a helper and through the raw ``flink_configuration`` dict only if both give the same
value; different values are rejected (naming both sources), never silently overridden.
"""

import re
from typing import Annotated, Any, Literal, Union

from pydantic import Field, model_validator

from airflow_flink_operator.models.base import Duration, FlinkModel

# Keys (Flink and operator); the old state.* keys are still read by Flink 2.x and by the operator.
CHECKPOINT_DIR_KEYS = ("state.checkpoints.dir", "execution.checkpointing.dir")
SAVEPOINT_DIR_KEYS = ("state.savepoints.dir", "execution.checkpointing.savepoint-dir")
HA_KEYS = ("high-availability.type", "high-availability")
PERIODIC_SAVEPOINT_KEY = "kubernetes.operator.periodic.savepoint.interval"
ROLLBACK_KEY = "kubernetes.operator.deployment.rollback.enabled"
MERGE_BY_NAME_KEY = "kubernetes.operator.pod-template.merge-arrays-by-name"

_CRON_FIELD = re.compile(r"^[0-9A-Za-z*?/,#LW-]+$")


class Checkpointing(FlinkModel):
    """Periodic checkpoints, required for ``last-state`` and ``savepoint`` upgrade modes.

    :param interval: time between checkpoints (``"60 s"`` or a ``timedelta``); enables checkpointing.
    :param dir: durable URI for checkpoint data (``s3://bucket/checkpoints``).
    :param retained: how many completed checkpoints to keep.
    :param mode: ``EXACTLY_ONCE`` (default in Flink) or ``AT_LEAST_ONCE``.
    :param incremental: incremental checkpoints (RocksDB / ForSt state backends).
    """

    interval: Duration = Field(description="Time between checkpoints; enables checkpointing.")
    dir: str = Field(min_length=1, description="Durable URI for checkpoint data.")
    retained: int | None = Field(default=None, ge=1, description="Completed checkpoints to keep.")
    mode: Literal["EXACTLY_ONCE", "AT_LEAST_ONCE"] | None = Field(default=None, description="Checkpointing guarantee.")
    incremental: bool | None = Field(default=None, description="Incremental checkpoints.")

    def to_config(self, flink_version: str | None = None) -> dict[str, str]:
        """Flat ``flinkConfiguration`` keys for these settings."""
        conf = {"execution.checkpointing.interval": self.interval, "state.checkpoints.dir": self.dir}
        if self.retained is not None:
            conf["state.checkpoints.num-retained"] = str(self.retained)
        if self.mode is not None:
            conf["execution.checkpointing.mode"] = self.mode
        if self.incremental is not None:
            conf["state.backend.incremental"] = str(self.incremental).lower()
        return conf


class Savepoints(FlinkModel):
    """Where savepoints go and in which format; required for savepoint upgrades and triggers.

    :param dir: durable URI for savepoints (``s3://bucket/savepoints``).
    :param format_type: ``CANONICAL`` (portable, default) or ``NATIVE`` (faster, backend-specific).
    """

    dir: str = Field(min_length=1, description="Durable URI for savepoints.")
    format_type: Literal["CANONICAL", "NATIVE"] | None = Field(default=None, description="Savepoint format.")

    def to_config(self, flink_version: str | None = None) -> dict[str, str]:
        """Flat ``flinkConfiguration`` keys for these settings."""
        conf = {"state.savepoints.dir": self.dir}
        if self.format_type is not None:
            conf["kubernetes.operator.savepoint.format.type"] = self.format_type
        return conf


class HighAvailability(FlinkModel):
    """Kubernetes HA, needed for ``last-state`` upgrades, standby JobManagers and rollbacks.

    :param storage_dir: durable URI for HA metadata (``s3://bucket/ha``).
    """

    storage_dir: str = Field(min_length=1, description="Durable URI for HA metadata.")

    def to_config(self, flink_version: str | None = None) -> dict[str, str]:
        """Flat keys; Flink before 1.16 spells the mode as ``high-availability: kubernetes``."""
        legacy = flink_version in ("v1_13", "v1_14", "v1_15")
        mode_key = "high-availability" if legacy else "high-availability.type"
        return {mode_key: "kubernetes", "high-availability.storageDir": self.storage_dir}


class FixedDelayRestart(FlinkModel):
    """Restart a failed job up to ``attempts`` times, waiting ``delay`` between tries."""

    type: Literal["fixed-delay"] = Field(default="fixed-delay", alias="type")
    attempts: int = Field(ge=0, description="Restarts before the job is declared FAILED.")
    delay: Duration = Field(description="Wait between restarts.")

    def to_config(self, flink_version: str | None = None) -> dict[str, str]:
        """Flat ``flinkConfiguration`` keys for this strategy."""
        return {
            "restart-strategy.type": "fixed-delay",
            "restart-strategy.fixed-delay.attempts": str(self.attempts),
            "restart-strategy.fixed-delay.delay": self.delay,
        }


class FailureRateRestart(FlinkModel):
    """Restart while fewer than ``max_failures_per_interval`` failures happen within ``interval``."""

    type: Literal["failure-rate"] = Field(default="failure-rate", alias="type")
    max_failures_per_interval: int = Field(ge=1, description="Failures tolerated within the interval.")
    interval: Duration = Field(description="Window over which failures are counted.")
    delay: Duration = Field(description="Wait between restarts.")

    def to_config(self, flink_version: str | None = None) -> dict[str, str]:
        """Flat ``flinkConfiguration`` keys for this strategy."""
        return {
            "restart-strategy.type": "failure-rate",
            "restart-strategy.failure-rate.max-failures-per-interval": str(self.max_failures_per_interval),
            "restart-strategy.failure-rate.failure-rate-interval": self.interval,
            "restart-strategy.failure-rate.delay": self.delay,
        }


class ExponentialDelayRestart(FlinkModel):
    """Restart with a backoff growing from ``initial_backoff`` to ``max_backoff``."""

    type: Literal["exponential-delay"] = Field(default="exponential-delay", alias="type")
    initial_backoff: Duration = Field(description="First wait.")
    max_backoff: Duration = Field(description="Longest wait.")
    backoff_multiplier: float | None = Field(default=None, gt=1.0, description="Growth per failure.")
    reset_backoff_threshold: Duration | None = Field(default=None, description="Healthy time that resets the backoff.")
    jitter_factor: float | None = Field(default=None, ge=0.0, le=1.0, description="Random jitter, 0..1.")

    def to_config(self, flink_version: str | None = None) -> dict[str, str]:
        """Flat ``flinkConfiguration`` keys for this strategy."""
        prefix = "restart-strategy.exponential-delay."
        conf = {
            "restart-strategy.type": "exponential-delay",
            prefix + "initial-backoff": self.initial_backoff,
            prefix + "max-backoff": self.max_backoff,
        }
        if self.backoff_multiplier is not None:
            conf[prefix + "backoff-multiplier"] = repr(self.backoff_multiplier)
        if self.reset_backoff_threshold is not None:
            conf[prefix + "reset-backoff-threshold"] = self.reset_backoff_threshold
        if self.jitter_factor is not None:
            conf[prefix + "jitter-factor"] = repr(self.jitter_factor)
        return conf


class NoRestart(FlinkModel):
    """Never restart: the first failure makes the job FAILED."""

    type: Literal["none"] = Field(default="none", alias="type")

    def to_config(self, flink_version: str | None = None) -> dict[str, str]:
        """Flat ``flinkConfiguration`` keys for this strategy."""
        return {"restart-strategy.type": "none"}


RestartStrategy = Annotated[
    Union[FixedDelayRestart, FailureRateRestart, ExponentialDelayRestart, NoRestart],
    Field(discriminator="type"),
]


class PeriodicSavepoints(FlinkModel):
    """Savepoints the operator takes by itself, every ``interval`` or on a Quartz ``cron``.

    Timing is best effort: the operator checks in its reconcile loop (default every minute).

    :param interval: a Flink duration such as ``"6h"``.
    :param cron: a Quartz cron expression with 6 or 7 fields (``"0 0 */6 * * ?"``).
    """

    interval: Duration | None = Field(default=None, description="Duration between savepoints.")
    cron: str | None = Field(default=None, description="Quartz cron expression (6 or 7 fields).")

    @model_validator(mode="after")
    def _one_of(self) -> "PeriodicSavepoints":
        if (self.interval is None) == (self.cron is None):
            raise ValueError("set exactly one of interval (e.g. '6h') or cron (e.g. '0 0 */6 * * ?')")
        if self.cron is not None:
            fields = self.cron.split()
            if len(fields) not in (6, 7) or not all(_CRON_FIELD.match(f) for f in fields):
                raise ValueError(
                    f"cron {self.cron!r} is not a Quartz expression: it needs 6 or 7 fields "
                    "(seconds minutes hours day-of-month month day-of-week [year]), e.g. '0 0 */6 * * ?'"
                )
        return self

    def to_config(self, flink_version: str | None = None) -> dict[str, str]:
        """Flat ``flinkConfiguration`` keys for these settings."""
        return {PERIODIC_SAVEPOINT_KEY: self.cron or self.interval or ""}


class SavepointHistory(FlinkModel):
    """How many operator-tracked savepoints to keep, and for how long (the newest is always kept).

    :param max_age: e.g. ``"3 d"``; the operator's default is ``1 d``.
    :param max_count: the operator's default is 10.
    """

    max_age: Duration | None = Field(default=None, description="Oldest savepoint kept.")
    max_count: int | None = Field(default=None, ge=1, description="Most savepoints kept.")

    def to_config(self, flink_version: str | None = None) -> dict[str, str]:
        """Flat ``flinkConfiguration`` keys for these settings."""
        conf: dict[str, str] = {}
        if self.max_age is not None:
            conf["kubernetes.operator.savepoint.history.max.age"] = self.max_age
        if self.max_count is not None:
            conf["kubernetes.operator.savepoint.history.max.count"] = str(self.max_count)
        return conf


def flatten_config(raw: dict[str, Any] | None) -> dict[str, str]:
    """Flatten nested ``flinkConfiguration`` YAML into flat string keys Flink reads on every version.

    ``{"state": {"savepoints.dir": "s3://b"}}`` → ``{"state.savepoints.dir": "s3://b"}``; booleans
    become ``true``/``false``; lists become Flink's ``a;b`` form.
    """
    flat: dict[str, str] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, sub in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), sub)
        elif isinstance(value, bool):
            flat[prefix] = "true" if value else "false"
        elif isinstance(value, (list, tuple)):
            flat[prefix] = ";".join(str(v) for v in value)
        elif value is None:
            flat[prefix] = ""
        else:
            flat[prefix] = str(value)

    walk("", raw or {})
    return flat
