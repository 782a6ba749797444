"""Operator and Flink versions, and what each of them supports."""

from __future__ import annotations

import re
from functools import total_ordering

_VERSION = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?(?:[-.].*)?$")


@total_ordering
class OperatorVersion:
    """A Flink Kubernetes Operator version such as ``1.15`` or ``1.16-SNAPSHOT`` (``main``).

    :param text: ``major.minor[.patch][-suffix]``, or ``main`` for the unreleased snapshot.
    """

    __slots__ = ("major", "minor", "text")

    def __init__(self, text: str | OperatorVersion) -> None:
        if isinstance(text, OperatorVersion):
            self.major, self.minor, self.text = text.major, text.minor, text.text
            return
        raw = str(text).strip()
        if raw == "main":
            raw = "1.16-SNAPSHOT"
        match = _VERSION.match(raw)
        if not match:
            raise ValueError(
                f"operator_version {text!r} is not a version; use e.g. '1.15', '1.10.0' or 'main'"
            )
        self.major, self.minor = int(match.group(1)), int(match.group(2))
        self.text = raw

    def _key(self) -> tuple[int, int]:
        return (self.major, self.minor)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (str, OperatorVersion)):
            return self._key() == OperatorVersion(other)._key()
        return NotImplemented

    def __lt__(self, other: str | OperatorVersion) -> bool:
        return self._key() < OperatorVersion(other)._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"OperatorVersion({self.text!r})"

    def __str__(self) -> str:
        return self.text

    # What each version brings (see the reference, sections a-d).
    @property
    def has_state_snapshot_crd(self) -> bool:
        """FlinkStateSnapshot resources exist from 1.10."""
        return self >= "1.10"

    @property
    def has_k8s_resources_form(self) -> bool:
        """``jobManager.resources`` (requests/limits) exists only on main (1.16-SNAPSHOT)."""
        return self >= "1.16"

    @property
    def restricts_session_jar_schemes(self) -> bool:
        """From 1.15 the operator downloads session-job jars over ``https`` only by default."""
        return self >= "1.15"

    @property
    def supported_flink_versions(self) -> tuple[str, ...]:
        """The ``flinkVersion`` values this operator deploys (1.13/1.14 are refused since 1.7)."""
        versions = ["v1_15", "v1_16", "v1_17", "v1_18", "v1_19", "v1_20", "v2_0", "v2_1", "v2_2"]
        if self < "1.7":
            versions = ["v1_13", "v1_14", *versions]
        if self >= "1.16":
            versions += ["v2_3", "v2_4"]
        return tuple(versions)


def flink_version_tuple(flink_version: str) -> tuple[int, int]:
    """``"v1_20"`` → ``(1, 20)``."""
    major, minor = flink_version.removeprefix("v").split("_")
    return int(major), int(minor)
