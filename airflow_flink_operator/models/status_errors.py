"""``status.error`` as the Flink operator writes it: parsed (JSON ``FlinkResourceException`` or plain
text) for messages, and fingerprinted so a wait can tell a new error from one left by an older
generation without keeping its text."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any


def error_fingerprint(error: Any) -> str | None:
    """A short digest of ``status.error`` as it stood when a wait began (to tell a new error from an
    old one while the operator has not picked up the new generation). No error text is kept."""
    if not error:
        return None
    raw = error if isinstance(error, str) else json.dumps(error, sort_keys=True)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def stale_error_of(obj: dict[str, Any] | None) -> str | None:
    """:func:`error_fingerprint` of a resource's ``status.error``, as a wait passes it on."""
    return error_fingerprint(((obj or {}).get("status") or {}).get("error"))


@dataclass(frozen=True)
class StatusError:
    """``status.error``, parsed: JSON ``FlinkResourceException`` or plain text.

    :param type: the exception class, if known.
    :param message: the message a person should read.
    :param raw: the text as the operator wrote it.
    """

    type: str | None
    message: str
    raw: str
    causes: tuple[str, ...] = ()

    def __str__(self) -> str:
        short_type = self.type.rsplit(".", 1)[-1] if self.type else None
        text = f"{short_type}: {self.message}" if short_type else self.message
        return text + "".join(f"\n  caused by: {cause}" for cause in self.causes)


def parse_status_error(error: Any) -> StatusError | None:
    """Parse ``status.error`` whether it is JSON or plain text; ``None`` when empty."""
    if error is None or (isinstance(error, str) and not error.strip()):
        return None
    raw = error if isinstance(error, str) else json.dumps(error)
    data: Any = error
    if isinstance(error, str):
        try:
            data = json.loads(error)
        except ValueError:
            return StatusError(type=None, message=error.strip(), raw=raw)
    if not isinstance(data, dict):
        return StatusError(type=None, message=str(data), raw=raw)
    causes = []
    for item in data.get("throwableList") or []:
        if isinstance(item, dict) and item.get("message"):
            kind = str(item.get("type") or "").rsplit(".", 1)[-1]
            causes.append(f"{kind}: {item['message']}" if kind else str(item["message"]))
    return StatusError(type=data.get("type"), message=str(data.get("message") or raw), raw=raw, causes=tuple(causes))
