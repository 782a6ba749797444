"""RFC 6902 JSON patch (merge patch is :func:`airflow_flink_operator.manifests.merge_patch`)."""

from __future__ import annotations

import copy
from typing import Any


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    return [part.replace("~1", "/").replace("~0", "~") for part in path.lstrip("/").split("/")]


def json_patch(document: Any, operations: list[dict[str, Any]]) -> Any:
    """RFC 6902 JSON patch (add, remove, replace, move, copy, test)."""
    doc = copy.deepcopy(document)

    def parent(parts: list[str]) -> tuple[Any, str]:
        node = doc
        for part in parts[:-1]:
            node = node[int(part)] if isinstance(node, list) else node[part]
        return node, parts[-1]

    def get(parts: list[str]) -> Any:
        node = doc
        for part in parts:
            node = node[int(part)] if isinstance(node, list) else node[part]
        return node

    for op in operations:
        parts = _pointer(op["path"])
        kind = op["op"]
        if kind == "test":
            if get(parts) != op["value"]:
                raise ValueError(f"test operation failed at {op['path']}")
            continue
        value = copy.deepcopy(op.get("value"))
        if kind in ("move", "copy"):
            source = _pointer(op["from"])
            value = copy.deepcopy(get(source))
            if kind == "move":
                node, last = parent(source)
                node.pop(int(last)) if isinstance(node, list) else node.pop(last)
            kind = "add"
        if not parts:
            doc = value
            continue
        node, last = parent(parts)
        if kind == "add":
            if isinstance(node, list):
                node.insert(len(node) if last == "-" else int(last), value)
            else:
                node[last] = value
        elif kind == "replace":
            if isinstance(node, list):
                node[int(last)] = value
            else:
                if last not in node:
                    raise KeyError(op["path"])
                node[last] = value
        elif kind == "remove":
            node.pop(int(last)) if isinstance(node, list) else node.pop(last)
        else:
            raise ValueError(f"unknown JSON patch op {kind!r}")
    return doc
