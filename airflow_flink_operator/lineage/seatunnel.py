"""SeaTunnel: the datasets of a job config's ``source`` / ``sink`` blocks (HOCON, read by a small reader
of the subset SeaTunnel configs use) and its ``env.job.mode``. Names as :mod:`.datasets` gives them."""

from __future__ import annotations

import logging
import re

from airflow_flink_operator.lineage.datasets import (
    NO_DATASET_CONNECTORS,
    DatasetRef,
    guarded,
    host_port,
    jdbc,
    kafka,
    path,
)

log = logging.getLogger(__name__)


def seatunnel_plugin(plugin: str, options: dict) -> list[DatasetRef]:
    """The datasets of one SeaTunnel source/sink block (``Kafka { ... }``, ``Jdbc { ... }``...); none (and a
    warning naming the plugin) when its options cannot be read."""
    return guarded(lambda: _seatunnel_datasets(plugin, options), f"SeaTunnel plugin {plugin!r}", [])


def _seatunnel_datasets(plugin: str, options: dict) -> list[DatasetRef]:
    kind = plugin.lower()
    if kind in NO_DATASET_CONNECTORS:
        return []
    opt = {k: (", ".join(map(str, v)) if isinstance(v, list) else str(v)) for k, v in options.items()
           if not isinstance(v, dict)}
    if kind == "kafka" and opt.get("bootstrap.servers") and opt.get("topic"):
        return kafka(opt["bootstrap.servers"], opt["topic"], plugin)
    if kind == "jdbc" and opt.get("url"):
        table = opt.get("table_path") or opt.get("table")  # a source with only `query` names no table
        return [jdbc(opt["url"], table, plugin)] if table else []
    if kind == "elasticsearch" and opt.get("hosts") and opt.get("index"):
        return [DatasetRef(f"elasticsearch://{host_port(opt['hosts'], 9200)}", opt["index"], plugin)]
    if kind in ("doris", "starrocks") and (opt.get("fenodes") or opt.get("nodeUrls") or opt.get("base-url")):
        address = opt.get("fenodes") or opt.get("nodeUrls") or opt["base-url"].split("//")[-1].split("/")[0]
        name = ".".join(n for n in (opt.get("database"), opt.get("table")) if n)
        return [DatasetRef(f"{kind}://{host_port(address, 8030)}", name, plugin)]
    if kind in ("s3file", "hdfsfile", "localfile", "ossfile", "ftpfile") and opt.get("path"):
        base = opt.get("bucket", "") if kind == "s3file" else opt.get("fs.defaultFS", "")
        location = f"{base.rstrip('/')}/{opt['path'].lstrip('/')}" if base else opt["path"]
        return [path(location, plugin)]
    if kind.endswith("-cdc") or kind.endswith("cdc"):
        url = opt.get("base-url") or opt.get("url", "")
        tables = [t.strip() for t in opt.get("table-names", "").split(",") if t.strip()]
        return [jdbc(url, t, plugin) for t in tables] if url else []
    return []


_HOCON_TOKEN = re.compile(r'''
    (?P<comment>(\#|//)[^\n]*)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<subst>\$\{\??[^}]*\})
  | (?P<punct>[{}\[\]=:,\n])
  | (?P<word>[^\s{}\[\]=:,"\#]+(?:[ \t]+[^\s{}\[\]=:,"\#]+)*)
  | (?P<space>[ \t\r]+)
''', re.VERBOSE)


def read_hocon(text: str) -> dict:
    """The object tree of a SeaTunnel config (the HOCON subset SeaTunnel configs use).

    Objects (``name { ... }``), ``key = value`` / ``key: value``, quoted and unquoted values, arrays,
    comments. Substitutions (``${VAR}``) stay as text: they are resolved inside the job, and
    secrets must not be resolved here. Repeated plugin blocks (two ``Kafka { }`` in ``source``)
    are kept as a list.
    """
    tokens = [(m.lastgroup, m.group()) for m in _HOCON_TOKEN.finditer(text)
              if m.lastgroup not in ("comment", "space")]
    pos = 0

    def value() -> object:
        nonlocal pos
        kind, text_ = tokens[pos]
        if text_ == "{":
            pos += 1
            return obj("}")
        if text_ == "[":
            pos += 1
            items: list = []
            while pos < len(tokens) and tokens[pos][1] != "]":
                if tokens[pos][1] in (",", "\n"):
                    pos += 1
                    continue
                items.append(value())
            pos += 1
            return items
        pos += 1
        return text_[1:-1] if kind == "string" else text_

    def obj(end: str | None) -> dict:
        nonlocal pos
        result: dict = {}
        while pos < len(tokens):
            kind, text_ = tokens[pos]
            if text_ == end:
                pos += 1
                return result
            if text_ in (",", "\n") or kind == "punct":
                pos += 1
                continue
            key = text_[1:-1] if kind == "string" else text_
            pos += 1
            while pos < len(tokens) and tokens[pos][1] == "\n":
                pos += 1
            if pos < len(tokens) and tokens[pos][1] in ("=", ":"):
                pos += 1
            if pos >= len(tokens):
                break
            item = value()
            if key in result and isinstance(item, dict):
                previous = result[key]
                result[key] = [*(previous if isinstance(previous, list) else [previous]), item]
            else:
                result[key] = item
        return result

    return obj(None)


def seatunnel_config(text: str) -> tuple[list[DatasetRef], list[DatasetRef]]:
    """Inputs (``source`` blocks) and outputs (``sink`` blocks) of a SeaTunnel job config."""
    tree = read_hocon(text)
    found: dict[str, list[DatasetRef]] = {"source": [], "sink": []}
    for role in found:
        block = tree.get(role)
        if not isinstance(block, dict):
            continue
        for plugin, options in block.items():
            for one in options if isinstance(options, list) else [options]:
                if isinstance(one, dict):
                    found[role] += seatunnel_plugin(plugin, one)
    return found["source"], found["sink"]


def seatunnel_job_mode(text: str) -> str | None:
    """``env.job.mode`` of a SeaTunnel config (``BATCH`` or ``STREAMING``), if set."""
    env = read_hocon(text).get("env")
    mode = (env.get("job.mode") or (env.get("job") or {}).get("mode")) if isinstance(env, dict) else None
    return str(mode).upper() if isinstance(mode, str) else None
