"""Times as the operator writes and reads them: epoch-ms strings and numbers (``jobStatus``, ``savepointInfo``),
ISO-8601 instants (FlinkStateSnapshot, blue/green markers) and Flink durations."""

from __future__ import annotations

import time
from datetime import datetime, timezone


def epoch_ms_text() -> str:
    """Epoch milliseconds as a string: ``jobStatus.startTime`` / ``updateTime`` (``String.valueOf``, reference h)."""
    return str(int(time.time() * 1000))


def epoch_ms() -> int:
    """Epoch milliseconds as a number: ``savepointInfo.triggerTimestamp``, ``lastSavepoint.timeStamp`` (reference h)."""
    return int(time.time() * 1000)


def kubernetes_timestamp(epoch_ns: int | None = None, digits: int = 9) -> str:
    """``DateTimeUtils.kubernetes(Instant.now())``, the FlinkStateSnapshot ``triggerTimestamp`` / ``resultTimestamp``.

    The operator formats with ``DateTimeFormatter.ISO_INSTANT`` (``flink-autoscaler`` ``DateTimeUtils``), which
    prints the instant in UTC with ``Z`` whatever the JVM's zone, and the fraction in groups of three digits,
    only as many as the value needs (none for a whole second): ``2026-11-26T21:00:00Z``,
    ``2026-11-26T21:00:00.123Z``, ``...00.123456Z`` or ``...00.123456789Z``. ``Instant.now()`` on JDK 15+ on
    Linux (the operator image runs JDK 17) reads the clock to the nanosecond.

    :param epoch_ns: the instant (default: now).
    :param digits: the clock's precision in fraction digits: 3 (milliseconds), 6 or 9.
    """
    if epoch_ns is None:
        epoch_ns = time.time_ns()
    epoch_ns -= epoch_ns % 10 ** (9 - digits)
    seconds, nanos = divmod(epoch_ns, 1_000_000_000)
    text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    if nanos % 1_000_000 == 0:
        fraction = f".{nanos // 1_000_000:03d}" if nanos else ""
    elif nanos % 1000 == 0:
        fraction = f".{nanos // 1000:06d}"
    else:
        fraction = f".{nanos:09d}"
    return f"{text}{fraction}Z"


#: ``resetTransitionMarkers`` writes ``millisToInstantStr(0)``: the epoch, read back as "not set".
EPOCH = "1970-01-01T00:00:00Z"


def instant_now() -> str:
    """``Instant.now().toString()``: UTC, ``Z``, the fraction to the microsecond."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def instant_millis(text: str | None) -> int:
    """``instantStrToMillis``: 0 for ``None`` (and for the epoch the markers are reset to)."""
    if not text:
        return 0
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


_UNITS = {
    **dict.fromkeys(("d", "day", "days"), 86400.0), **dict.fromkeys(("h", "hour", "hours"), 3600.0),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60.0),
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1.0),
    **dict.fromkeys(("ms", "milli", "millis", "millisecond", "milliseconds", ""), 1e-3),
    **dict.fromkeys(("us", "µs", "micro", "micros", "microsecond", "microseconds"), 1e-6),
    **dict.fromkeys(("ns", "nano", "nanos", "nanosecond", "nanoseconds"), 1e-9),
}


def duration_seconds(text: str) -> float:
    """A Flink duration (``TimeUtils.parseDuration``): a number and a unit; no unit means milliseconds."""
    raw = str(text).strip()
    digits = len(raw) - len(raw.lstrip("0123456789"))
    unit = raw[digits:].strip().lower()
    if not digits or unit not in _UNITS:
        raise ValueError(f"{text!r} is not a Flink duration")
    return int(raw[:digits]) * _UNITS[unit]
