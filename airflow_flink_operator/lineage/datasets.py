"""Dataset identities for what Flink connectors read and write, named as OpenLineage names them.

Pure Python (no OpenLineage import): :class:`DatasetRef` is turned into an OpenLineage ``Dataset``
by :mod:`airflow_flink_operator.lineage.facets` only when the provider is installed.

Namespaces and names follow the OpenLineage naming conventions
(https://openlineage.io/docs/spec/naming, ``website/docs/spec/naming.md`` in OpenLineage/OpenLineage):
Kafka ``kafka://{bootstrap host}:{port}`` / ``{topic}``; Postgres ``postgres://{host}:{port}`` /
``{database}.{schema}.{table}``; MySQL ``mysql://{host}:{port}`` / ``{database}.{table}``; S3
``s3://{bucket}`` / ``{key}``; GCS ``gs://{bucket}``; HDFS ``hdfs://{host}:{port}`` / ``{path}``; local
files ``file`` / ``{path}``. Stores the conventions do not list (Elasticsearch, Doris, StarRocks, Paimon
warehouses...) get ``{scheme}://{host}:{port}`` and the store's own name for the table/index, which
is what the OpenLineage Flink integration does for connectors it does not know.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from airflow_flink_operator.uris import UriParts, format_host_port, split_authority, strip_userinfo

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Connectors that produce or consume no external dataset (test sources, stdout sinks).
NO_DATASET_CONNECTORS = frozenset({"datagen", "print", "blackhole", "values", "console", "fakesource", "faker"})

#: JDBC sub-protocols → OpenLineage namespace scheme (naming conventions' "Namespace" column).
JDBC_SCHEMES = {"postgresql": "postgres", "mysql": "mysql", "mariadb": "mysql", "sqlserver": "mssql",
                "oracle": "oracle", "db2": "db2", "clickhouse": "clickhouse", "oceanbase": "oceanbase",
                "teradata": "teradata", "trino": "trino", "redshift": "redshift", "hive2": "hive"}
#: Default ports of the databases, used when a URL or option gives none.
DEFAULT_PORTS = {"postgres": 5432, "mysql": 3306, "mssql": 1433, "oracle": 1521, "db2": 50000,
                 "clickhouse": 8123, "doris": 9030, "starrocks": 9030, "elasticsearch": 9200, "mongodb": 27017}


@dataclass(frozen=True)
class DatasetRef:
    """One dataset a Flink job reads or writes.

    :param namespace: the OpenLineage dataset namespace (the data source).
    :param name: the dataset name inside the namespace.
    :param connector: the Flink (or SeaTunnel / Flink CDC) connector that reaches it.
    :param table: the name the job knows it by (the Flink SQL table, a CDC table), when it differs.
    :param columns: ``(name, type)`` of the columns, when the job declares them.
    """

    namespace: str
    name: str
    connector: str = ""
    table: str = ""
    columns: tuple[tuple[str, str], ...] = field(default=())


def _authority(value: str) -> UriParts:
    """:func:`~airflow_flink_operator.uris.split_authority` of ``value`` (or of the first item of a ``,``/``;``
    list of URLs), refusing a reading that may be wrong (:attr:`~airflow_flink_operator.uris.UriParts.ambiguous`)."""
    try:
        parts = split_authority(value)
    except ValueError:
        first = re.split(r"\s*[,;]\s*", value.strip().strip("\"' "), maxsplit=1)[0]
        parts = split_authority(first.strip("\"' "))
    if parts.ambiguous:
        raise ValueError("an @ after the authority: user info or path cannot be told apart")
    return parts


def host_port(value: str, default_port: int | None = None) -> str:
    """``host:port`` of the first address in a comma-separated list (``host``, ``host:port``, URLs; IPv6
    in brackets), without any user info (``user:password@``)."""
    parts = _authority(value)
    return format_host_port(parts.host, parts.port or default_port)


def strip_url_secrets(url: str | None) -> str | None:
    """``url`` without user info, query string and fragment (:func:`airflow_flink_operator.uris.strip_userinfo`)."""
    return strip_userinfo(url, keep_query=False) if url else url


def guarded(build: Callable[[], T], what: str, default: T) -> T:
    """``build()``, or ``default`` when it fails: one unreadable dataset never drops the others, and the
    log names only ``what`` (a connector, a table) and the exception type, never its text (URLs in
    connector options may hold passwords, and exception messages quote them)."""
    try:
        return build()
    except Exception as exc:  # lineage must never fail a task, nor log a secret
        log.warning("OpenLineage: skipped the dataset(s) of %s (%s)", what, type(exc).__name__)
        return default


def kafka(bootstrap_servers: str, topic: str, connector: str = "kafka", table: str = "") -> list[DatasetRef]:
    """Kafka topics (several may be given separated by ``;`` or ``,``): ``kafka://{host}:{port}``."""
    namespace = f"kafka://{host_port(bootstrap_servers, 9092)}"
    topics = [t.strip() for t in re.split(r"[;,]", topic) if t.strip()]
    return [DatasetRef(namespace, t, connector, table) for t in topics]


def _properties(text: str, separators: str = ";") -> dict[str, str]:
    """``key=value`` pairs separated by ``separators``, keys lower-cased."""
    pairs = (p.partition("=") for p in re.split(f"[{re.escape(separators)}]", text) if "=" in p)
    return {k.strip().lower(): v.strip() for k, _, v in pairs}


def jdbc(url: str, table_name: str, connector: str = "jdbc", table: str = "") -> DatasetRef:
    """A JDBC table: ``jdbc:postgresql://host:port/db`` + ``schema.table`` → ``postgres://host:port``,
    ``db.schema.table`` (Postgres tables without a schema are in ``public``); MySQL: ``db.table``.

    Only the host, port and database reach the dataset (:func:`airflow_flink_operator.uris.split_authority`
    drops user info, Oracle's ``user/pass@``, secret properties and query parameters); SQL Server's
    ``databaseName`` is read from its properties.
    """
    parts = _authority(url)
    scheme = JDBC_SCHEMES.get(parts.scheme, parts.scheme)
    properties = _properties(parts.properties)
    if parts.scheme == "oracle":
        database = parts.path.lstrip("/")
    else:
        database = re.split(r"[?;:#]", parts.path.lstrip("/"), maxsplit=1)[0]  # DB2: /db:user=...;
        if "=" in database:  # Teradata: /DATABASE=db,USER=u
            database = _properties(database, ",;&").get("database", "")
        database = properties.get("databasename") or properties.get("database") or database
    host, port = parts.host, parts.port or DEFAULT_PORTS.get(scheme)
    namespace = f"{scheme}://{format_host_port(host, port)}"
    names = [p for p in table_name.split(".") if p]
    if database and len(names) > 1 and names[0] == database:  # "db.table" given with the database in the URL
        names = names[1:]
    if scheme in ("postgres", "mssql", "db2", "redshift") and len(names) == 1:
        names = ["public" if scheme in ("postgres", "redshift") else "dbo", *names]
    name = ".".join([database, *names] if database else names)
    return DatasetRef(namespace, name, connector, table)


def path(location: str, connector: str = "filesystem", table: str = "") -> DatasetRef:
    """A file system path: ``s3://bucket/key`` → ``s3://bucket`` + ``key``; ``/tmp/x`` → ``file`` + ``/tmp/x``."""
    parts = _authority(location)
    scheme, netloc = parts.scheme, parts.authority  # never user info (s3://KEY:SECRET@bucket, hdfs://user@nn)
    if scheme in ("", "file"):
        return DatasetRef("file" if not netloc else f"file://{netloc}", parts.path, connector, table)
    if scheme in ("s3a", "s3n", "s3p"):
        scheme = "s3"
    if scheme == "gcs":
        scheme = "gs"
    if scheme in ("s3", "gs", "oss", "cosn", "obs"):
        return DatasetRef(f"{scheme}://{netloc}", parts.path.lstrip("/"), connector, table)
    return DatasetRef(f"{scheme}://{netloc}", parts.path, connector, table)


def from_connector_options(options: dict[str, str], table: str = "") -> list[DatasetRef]:
    """The datasets behind a Flink SQL ``CREATE TABLE ... WITH (...)`` (Flink connector option names);
    none (and a warning naming the table) when its options cannot be read.

    :param options: the ``WITH`` options (``connector``, ``topic``, ``url``...).
    :param table: the Flink table name, used when a connector names no table of its own.
    """
    return guarded(lambda: _connector_datasets(options, table), f"table {table or '?'!r}", [])


def _connector_datasets(options: dict[str, str], table: str) -> list[DatasetRef]:
    connector = options.get("connector", "").lower()
    if not connector or connector in NO_DATASET_CONNECTORS:
        return []
    if connector in ("kafka", "upsert-kafka"):
        servers = options.get("properties.bootstrap.servers", "")
        topic = options.get("topic") or options.get("topic-pattern", "")
        return kafka(servers, topic, connector, table) if servers and topic else []
    if connector == "jdbc" and options.get("url"):
        return [jdbc(options["url"], options.get("table-name", table), connector, table)]
    if connector == "filesystem" and options.get("path"):
        return [path(options["path"], connector, table)]
    if connector in ("elasticsearch-6", "elasticsearch-7", "elasticsearch-8", "elasticsearch"):
        hosts = options.get("hosts", "")
        return [DatasetRef(f"elasticsearch://{host_port(hosts, 9200)}", options.get("index", table), connector, table)]
    if connector in ("mysql-cdc", "postgres-cdc", "oracle-cdc", "sqlserver-cdc", "tidb-cdc", "oceanbase-cdc"):
        scheme = JDBC_SCHEMES.get(connector.split("-")[0] if connector != "postgres-cdc" else "postgresql", "mysql")
        port = options.get("port") or DEFAULT_PORTS.get(scheme)
        names = [options.get("database-name", ""), options.get("schema-name", ""), options.get("table-name", table)]
        return [DatasetRef(f"{scheme}://{options.get('hostname', '')}:{port}", ".".join(n for n in names if n),
                           connector, table)]
    if connector == "mongodb" and options.get("uri"):
        return [DatasetRef(f"mongodb://{host_port(options['uri'], 27017)}",
                           ".".join(n for n in (options.get("database"), options.get("collection")) if n),
                           connector, table)]
    if connector in ("iceberg", "paimon", "hudi", "delta"):
        location = options.get("warehouse") or options.get("path") or options.get("uri")
        if location:
            ref = path(location, connector, table)
            name = "/".join(p for p in (ref.name.rstrip("/"), table) if p)
            return [DatasetRef(ref.namespace, name, connector, table)]
    if connector in ("doris", "starrocks") and (options.get("fenodes") or options.get("jdbc-url")):
        host = host_port(options.get("fenodes") or options["jdbc-url"].split("//")[-1].split("/")[0], 8030)
        return [DatasetRef(f"{connector}://{host}", options.get("table.identifier", table), connector, table)]
    return [DatasetRef(f"flink://{connector}", table, connector, table)]


# --- Flink CDC pipelines ------------------------------------------------------------------------


def _cdc_tables(value: str) -> list[str]:
    """The table list of a CDC source (``db.t1,db.t2``; patterns such as ``db.\\.*`` kept as written)."""
    return [t.strip() for t in str(value or "").split(",") if t.strip()]


def cdc_source_namespace(source: dict) -> str:
    """The namespace of a Flink CDC pipeline source (``type: mysql`` → ``mysql://host:port``)."""
    kind = str(source.get("type", "")).lower()
    scheme = {"postgres": "postgres", "postgresql": "postgres", "mysql": "mysql", "oracle": "oracle",
              "sqlserver": "mssql", "oceanbase": "oceanbase", "db2": "db2", "mongodb": "mongodb"}.get(kind, kind)
    port = source.get("port") or DEFAULT_PORTS.get(scheme)
    host = source.get("hostname") or source.get("host") or ""
    return f"{scheme}://{host}" + (f":{port}" if port else "")


def cdc_sink_namespace(sink: dict) -> str:
    """The namespace of a Flink CDC pipeline sink (doris/starrocks fenodes or jdbc-url, kafka, paimon...)."""
    kind = str(sink.get("type", "")).lower()
    if kind in ("kafka", "upsert-kafka"):
        return f"kafka://{host_port(str(sink.get('properties.bootstrap.servers', '')), 9092)}"
    if kind in ("doris", "starrocks"):
        address = sink.get("fenodes") or str(sink.get("jdbc-url", "")).split("//")[-1].split("/")[0]
        return f"{kind}://{host_port(str(address), 8030)}"
    if kind in ("paimon", "iceberg"):
        warehouse = sink.get("catalog.properties.warehouse") or sink.get("warehouse")
        if warehouse:
            ref = path(str(warehouse))
            return ref.namespace if not ref.name else f"{ref.namespace}/{ref.name.strip('/')}"
    if kind in ("elasticsearch",):
        return f"elasticsearch://{host_port(str(sink.get('hosts', '')), 9200)}"
    if kind in ("values", "print"):
        return ""
    return f"{kind}://"


def cdc_pipeline(doc: dict) -> tuple[list[DatasetRef], list[DatasetRef]]:
    """Inputs and outputs of a Flink CDC pipeline YAML (``source``, ``sink``, optional ``route``).

    Each source table (or pattern) is an input; it lands in the sink under the same name, unless a
    ``route`` rule maps it (``source-table`` → ``sink-table``). A Kafka sink writes one topic
    (``topic``) or, by default, one topic per table.
    """
    source, sink = doc.get("source") or {}, doc.get("sink") or {}
    source_ns = guarded(lambda: cdc_source_namespace(source), "the CDC source", "")
    sink_ns = guarded(lambda: cdc_sink_namespace(sink), "the CDC sink", "")
    source_type, sink_type = str(source.get("type", "")), str(sink.get("type", ""))
    tables = _cdc_tables(source.get("tables", ""))
    inputs = [DatasetRef(source_ns, t, source_type, t) for t in tables] if source_ns else []
    routes = {str(r.get("source-table")): str(r.get("sink-table")) for r in doc.get("route") or []
              if isinstance(r, dict) and r.get("source-table") and r.get("sink-table")}
    outputs: list[DatasetRef] = []
    if sink_ns:
        if sink_type.lower() in ("kafka", "upsert-kafka") and sink.get("topic"):
            outputs = [DatasetRef(sink_ns, str(sink["topic"]), sink_type)]
        else:
            for t in tables:
                target = routes.get(t, t)
                if all(o.name != target for o in outputs):
                    outputs.append(DatasetRef(sink_ns, target, sink_type, t))
            for src, target in routes.items():
                if all(o.name != target for o in outputs):
                    outputs.append(DatasetRef(sink_ns, target, sink_type, src))
    return inputs, outputs
