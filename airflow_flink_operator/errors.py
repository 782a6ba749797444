"""Errors raised before anything is sent to a cluster."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SpecProblem:
    """One thing wrong with a spec.

    :param field: where, as a manifest path (``spec.job.parallelism``).
    :param message: what is wrong.
    :param fix: what would be right.
    """

    field: str
    message: str
    fix: str = ""

    def __str__(self) -> str:
        text = f"{self.field}: {self.message}"
        return f"{text} Fix: {self.fix}" if self.fix else text


class FlinkSpecError(ValueError):
    """A spec that the Flink Kubernetes Operator (or Kubernetes) would reject.

    Raised while building or rendering, never after a request was sent, so nothing is
    half-applied. ``problems`` lists every problem found, each naming its field and fix.
    """

    def __init__(self, resource: str, problems: list[SpecProblem]) -> None:
        self.resource = resource
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{resource} is invalid ({len(self.problems)} problem(s)):\n{lines}")


class FlinkTaskError(RuntimeError):
    """A Flink task failed: the message carries the resource's state, ``status.error``, events and log."""
