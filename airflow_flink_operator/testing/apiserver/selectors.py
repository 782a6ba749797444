"""Label and field selectors, as list, watch and deletecollection requests use them."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

_SET_EXPR = re.compile(r"^\s*([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")


def _split_selector(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in text:
        depth += char == "("
        depth -= char == ")"
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    if current.strip():
        parts.append(current)
    return parts


def label_selector_matcher(text: str | None) -> Callable[[dict[str, str]], bool]:
    """A predicate over labels for a Kubernetes label selector (equality- and set-based)."""
    if not text:
        return lambda labels: True
    tests: list[Callable[[dict[str, str]], bool]] = []
    for raw in _split_selector(text):
        term = raw.strip()
        match = _SET_EXPR.match(term)
        if match:
            key, op, values = match.group(1), match.group(2), {v.strip() for v in match.group(3).split(",")}
            if op == "in":
                tests.append(lambda l, k=key, v=values: l.get(k) in v)
            else:
                tests.append(lambda l, k=key, v=values: l.get(k) not in v)
        elif "!=" in term:
            key, value = (s.strip() for s in term.split("!=", 1))
            tests.append(lambda l, k=key, v=value: l.get(k) != v)
        elif "=" in term:
            key, value = (s.strip() for s in term.replace("==", "=").split("=", 1))
            tests.append(lambda l, k=key, v=value: l.get(k) == v)
        elif term.startswith("!"):
            tests.append(lambda l, k=term[1:].strip(): k not in l)
        else:
            tests.append(lambda l, k=term: k in l)
    return lambda labels: all(test(labels) for test in tests)


def field_selector_matcher(text: str | None) -> Callable[[dict[str, Any]], bool]:
    """A predicate over objects for a field selector (``a.b=c``, ``a.b!=c``)."""
    if not text:
        return lambda obj: True
    tests = []
    for term in text.split(","):
        negate = "!=" in term
        path, value = term.split("!=" if negate else "=", 1)
        path = path.strip().lstrip("=")

        def test(obj: dict[str, Any], p: str = path, v: str = value.strip().lstrip("="), n: bool = negate) -> bool:
            current: Any = obj
            for part in p.split("."):
                current = current.get(part) if isinstance(current, dict) else None
            return (str(current) == v) != n if current is not None else n

        tests.append(test)
    return lambda obj: all(test(obj) for test in tests)
