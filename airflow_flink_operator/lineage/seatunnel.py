"""SeaTunnel: the datasets of a job config's ``source`` / ``sink`` blocks and its ``env.job.mode``.

The config is HOCON, read by `pyhocon <https://github.com/chimpler/pyhocon>`_ (in the ``openlineage``
extra): triple-quoted queries with braces, includes of objects, comments and arrays are its business.
Two SeaTunnel departures from plain HOCON are handled here: repeated plugin blocks (two ``Jdbc { }``
in ``source`` are two sources -- SeaTunnel's patched Typesafe config keeps both, HOCON would merge
them), which are numbered before parsing; and substitutions (``${DB_PASSWORD}``) stay unresolved:
they are resolved inside the job, and an option that holds one names no dataset.

Names as :mod:`.datasets` gives them; a ``Jdbc`` block with only a ``query`` reads the tables its SQL
names (sqlglot), ``table_list`` entries are read one by one, and Paimon tables are named from their
warehouse (``{warehouse}/{database}.db/{table}``).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from airflow_flink_operator.lineage.datasets import (
    NO_DATASET_CONNECTORS,
    DatasetRef,
    guarded,
    host_port,
    is_pattern,
    jdbc,
    kafka,
    path,
    table_location,
)

log = logging.getLogger(__name__)

PYHOCON_HINT = ("OpenLineage: SeaTunnel jobs report no datasets because pyhocon is not installed; "
                "install the extra: pip install 'airflow-flink-operator[openlineage]'")
_hinted: list[bool] = []
_REPEAT = "__seatunnel_"
#: HOCON tokens that matter for finding plugin blocks: strings (triple-quoted first), comments, braces, keys.
_SCAN = re.compile(r'"""[\s\S]*?"""|"(?:[^"\\\n]|\\.)*"|(?:#|//)[^\n]*|[{}]|[^\s{}=:"#,\[\]]+')


def _number_repeated_plugins(text: str) -> str:
    """``text`` with the second and later blocks of one plugin in ``source``/``sink``/``transform``
    renamed ``Name__seatunnel_2``..., so that the HOCON parser keeps them apart."""
    out, last, depth, key, seen = [], 0, 0, "", {}
    parents: list[str] = []
    for match in _SCAN.finditer(text):
        token = match.group()
        if token == "{":
            if depth == 1 and parents and parents[0] in ("source", "sink", "transform") and key:
                count = seen[(parents[0], key)] = seen.get((parents[0], key), 0) + 1
                if count > 1:
                    out += [text[last:key_at], f"{key}{_REPEAT}{count}"]
                    last = key_at + len(key)
            parents.append(key)
            depth += 1
        elif token == "}":
            depth -= 1
            parents.pop() if parents else None
        elif not token.startswith(("#", "//", '"')):
            key, key_at = token, match.start()
            continue
        key = ""
    return "".join(out) + text[last:]


def _plain(value: Any, flat: bool = False) -> Any:
    """pyhocon's trees as dicts and lists; an unresolved substitution as ``None``. In a plugin block
    (``flat``) nested keys are dotted again: ``bootstrap.servers = ...`` is one option to SeaTunnel."""
    from pyhocon import ConfigTree

    if isinstance(value, ConfigTree):
        return {k: _plain(v, flat) for k, v in (_dotted(value) if flat else value).items()}
    if isinstance(value, list):
        return [_plain(v, flat) for v in value]
    return value if isinstance(value, (str, int, float, bool)) or value is None else None


def _dotted(tree: Any, prefix: str = "") -> dict[str, Any]:
    from pyhocon import ConfigTree

    out: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, ConfigTree):
            out.update(_dotted(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def read_hocon(text: str) -> dict:
    """The object tree of a SeaTunnel config; ``{}`` (and a one-time hint) without pyhocon."""
    try:
        from pyhocon import ConfigFactory
    except ImportError:
        if not _hinted:
            _hinted.append(True)
            log.warning(PYHOCON_HINT)
        return {}
    from pyhocon import ConfigTree

    tree = ConfigFactory.parse_string(_number_repeated_plugins(text), resolve=False)
    return {key: {plugin: _plain(options, flat=True) for plugin, options in value.items()}
            if key in ("source", "sink", "transform") and isinstance(value, ConfigTree) else _plain(value)
            for key, value in tree.items()}


def _sql_tables(query: str, url: str) -> list[str]:
    """Tables a Jdbc ``query`` reads, by sqlglot in the database's dialect (none when it cannot parse it)."""
    import sqlglot
    from sqlglot import exp

    sub = url.lower().removeprefix("jdbc:").split(":", 1)[0]
    dialect = {"postgresql": "postgres", "sqlserver": "tsql", "mariadb": "mysql"}.get(sub, sub)
    known = ("mysql", "postgres", "tsql", "oracle", "trino", "hive", "clickhouse", "teradata", "redshift", "db2")
    try:
        tree = sqlglot.parse_one(query, read=dialect if dialect in known else None)
    except Exception:  # the query is not logged: it may hold literals that are secrets
        return []
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    return list(dict.fromkeys(".".join(p.name for p in t.parts) for t in tree.find_all(exp.Table)
                              if isinstance(t.this, exp.Identifier) and t.name not in ctes))


def seatunnel_plugin(plugin: str, options: dict) -> list[DatasetRef]:
    """The datasets of one SeaTunnel source/sink block (``Kafka { ... }``, ``Jdbc { ... }``...); none (and a
    warning naming the plugin) when its options cannot be read."""
    return guarded(lambda: _seatunnel_datasets(plugin, options), f"SeaTunnel plugin {plugin!r}", [])


def _jdbc_tables(url: str, options: dict[str, Any], plugin: str) -> list[DatasetRef]:
    database = options.get("database")
    found: list[str] = []
    for entry in [options, *(e for e in options.get("table_list") or [] if isinstance(e, dict))]:
        table = entry.get("table_path") or entry.get("table")
        if isinstance(table, str) and table:
            found.append(table if "." in table or not database else f"{database}.{table}")
        elif isinstance(entry.get("query"), str):
            found += _sql_tables(entry["query"], url)
    return [jdbc(url, t, plugin) for t in dict.fromkeys(found) if not is_pattern(t)]


def _seatunnel_datasets(plugin: str, options: dict) -> list[DatasetRef]:
    kind = plugin.lower()
    if kind in NO_DATASET_CONNECTORS:
        return []
    opt = {k: (", ".join(map(str, v)) if isinstance(v, list) and all(not isinstance(i, dict) for i in v) else v)
           for k, v in options.items() if v is not None}
    text = {k: v for k, v in opt.items() if isinstance(v, (str, int, float))}
    text = {k: str(v) for k, v in text.items()}
    if kind == "kafka" and text.get("bootstrap.servers") and text.get("topic"):
        return kafka(text["bootstrap.servers"], text["topic"], plugin)
    if kind == "jdbc" and text.get("url"):
        return _jdbc_tables(text["url"], opt, plugin)
    if kind == "paimon" and text.get("warehouse") and text.get("table"):
        table = text["table"]
        database, _, name = table.rpartition(".") if "." in table else (text.get("database", "default"), "", table)
        return [path(table_location(text["warehouse"], database, name, "db-suffix"), plugin)]
    if kind == "elasticsearch" and text.get("hosts") and text.get("index"):
        return [DatasetRef(f"elasticsearch://{host_port(text['hosts'], 9200)}", text["index"], plugin)]
    if kind in ("doris", "starrocks") and (text.get("fenodes") or text.get("nodeUrls") or text.get("base-url")):
        address = text.get("fenodes") or text.get("nodeUrls") or text["base-url"]
        name = ".".join(n for n in (text.get("database"), text.get("table")) if n)
        return [DatasetRef(f"{kind}://{host_port(address, 8030)}", name, plugin)] if name else []
    if kind in ("s3file", "hdfsfile", "localfile", "ossfile", "ftpfile") and text.get("path"):
        base = text.get("bucket", "") if kind == "s3file" else text.get("fs.defaultFS", "")
        location = f"{base.rstrip('/')}/{text['path'].lstrip('/')}" if base else text["path"]
        return [path(location, plugin)]
    if kind.endswith("cdc"):
        url = text.get("base-url") or text.get("url", "")
        tables = [t.strip() for t in text.get("table-names", "").split(",") if t.strip()]
        return [jdbc(url, t, plugin) for t in tables if not is_pattern(t)] if url else []
    return []


def seatunnel_config(text: str) -> tuple[list[DatasetRef], list[DatasetRef]]:
    """Inputs (``source`` blocks) and outputs (``sink`` blocks) of a SeaTunnel job config."""
    tree = read_hocon(text)
    found: dict[str, list[DatasetRef]] = {"source": [], "sink": []}
    for role in found:
        block = tree.get(role)
        if not isinstance(block, dict):
            continue
        for plugin, options in block.items():
            if isinstance(options, dict):
                found[role] += seatunnel_plugin(plugin.split(_REPEAT)[0], options)
    return found["source"], found["sink"]


def seatunnel_job_mode(text: str) -> str | None:
    """``env.job.mode`` of a SeaTunnel config (``BATCH`` or ``STREAMING``), if set."""
    env = read_hocon(text).get("env")
    job = env.get("job") if isinstance(env, dict) else None
    mode = (env.get("job.mode") or (job.get("mode") if isinstance(job, dict) else None)) if isinstance(env, dict) \
        else None
    return str(mode).upper() if isinstance(mode, str) else None
