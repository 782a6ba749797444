"""Dataset identities for what Flink connectors read and write, named as OpenLineage names them.

:class:`DatasetRef` is plain data; :mod:`airflow_flink_operator.lineage.facets` turns it into an
OpenLineage ``Dataset``. This module runs only when the OpenLineage provider asks for lineage, so it
uses openlineage-python's :mod:`openlineage.client.naming` (a dependency of the provider) wherever
it covers a system, and otherwise ports the rule openlineage-java applies -- the library the
OpenLineage Flink integration names datasets with, so the task and the Flink job's own lineage
(``openlineage_flink_config``) name one table one way. Sources, all in OpenLineage/OpenLineage:

* the naming conventions, ``website/docs/spec/naming.md``;
* JDBC: ``client/java/.../utils/jdbc/JdbcDatasetUtils`` and its extractors (``JdbcLocation.toName``:
  the URL's database, then the table name as written -- no ``public``/``dbo`` added);
* files and table locations: ``client/java/.../utils/filesystem/FilesystemDatasetUtils``;
* Kafka: ``integration/flink/.../KafkaTableLineageDatasetIdentifierVisitor`` (first bootstrap server);
* Iceberg: ``integration/flink/.../IcebergSinkVisitor`` (the table's ``location()``).

Where openlineage-java and the conventions' table differ, the choice is said at the function.
A dataset whose name the job's files cannot give exactly (a catalog table with no known location, a
topic or table *pattern*, a URL that cannot be read) is left out: lineage with a wrong name is worse
than none.
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
#: Default ports of stores the Java naming does not cover, used when a URL or option gives none.
DEFAULT_PORTS = {"doris": 9030, "starrocks": 9030, "elasticsearch": 9200, "mongodb": 27017}
#: Characters that make a table or topic option a regular expression, not a name.
_PATTERN = re.compile(r"[\\*+?\[\]()|^${}]")


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


def is_pattern(name: str) -> bool:
    """Whether a table/topic option is a regular expression (``app_db.\\.*``, ``orders_[0-9]+``)."""
    return bool(_PATTERN.search(name))


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
    if not parts.host:
        raise ValueError("no host")
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


# --- Kafka ---------------------------------------------------------------------------------------


def kafka(bootstrap_servers: str, topic: str, connector: str = "kafka", table: str = "") -> list[DatasetRef]:
    """Kafka topics (``;``/``,``-separated) on the first bootstrap server, as
    ``KafkaTableLineageDatasetIdentifierVisitor`` (openlineage-flink) and ``naming.Kafka`` name them:
    ``kafka://{host}:{port}`` (port 9092 when none is written: the conventions require one)."""
    from openlineage.client.naming.dataset import Kafka

    server = _authority(bootstrap_servers)
    host = format_host_port(server.host)
    topics = [t.strip() for t in re.split(r"[;,]", topic) if t.strip()]
    return [DatasetRef(Kafka(host, str(server.port or 9092), t).get_namespace(), t, connector, table)
            for t in topics if not is_pattern(t)]


# --- JDBC ----------------------------------------------------------------------------------------

#: openlineage-java's extractors: sub-protocol → (namespace scheme, default port). ``OverridingJdbc
#: Extractor`` subclasses (Postgres 5432, MySQL 3306, Oracle 1521, Trino 443, DB2 6789); SQL Server
#: (``SqlServerJdbcExtractor``) adds no port; the rest go through ``GenericJdbcExtractor``.
_JDBC = {"postgresql": ("postgres", 5432), "mysql": ("mysql", 3306), "oracle": ("oracle", 1521),
         "trino": ("trino", 443), "db2": ("db2", 6789), "sqlserver": ("sqlserver", None),
         "jtds": ("sqlserver", None), "hive2": ("hive", 10000), "redshift": ("redshift", 5439)}


def _query_value(query: str, key: str) -> str:
    found = re.search(rf"(?:^|&){key}=([^&]*)", query, re.IGNORECASE)
    return found.group(1).split(",")[0] if found else ""


def _trino_path(url_path: str, names: list[str]) -> list[str]:
    """``[catalog, schema, table]`` from ``jdbc:trino://host/catalog/schema`` and the table name (its
    own schema and catalog win), or fewer when neither says."""
    given = [p for p in url_path.split("/") if p][:2]
    found = [names[-1]]
    for depth, default in ((2, given[1] if len(given) > 1 else ""), (3, given[0] if given else "")):
        value = names[-depth] if len(names) >= depth else default
        if not value:
            break
        found.insert(0, value)
    return found


def jdbc(url: str, table_name: str, connector: str = "jdbc", table: str = "") -> DatasetRef:
    """A JDBC table, named as openlineage-java's ``JdbcDatasetUtils.getDatasetIdentifier(url, table_name)``
    does (what the OpenLineage Flink integration's JDBC visitors emit), and as ``openlineage.client.
    naming`` does where the URL and name give all its fields. The differences from Java, each the
    naming conventions' rule: Postgres ``currentSchema`` fills a missing schema; Trino's
    ``/catalog/schema`` path gives ``{catalog}.{schema}.{table}``; Redshift's host gives
    ``{cluster}.{region}``; Hive is ``hive://``. SQL Server stays ``sqlserver://`` as Java names it (the
    conventions' table says ``mssql://``; openlineage-python has no class for it).

    Only host, port and database reach the dataset (:func:`airflow_flink_operator.uris.split_authority`).
    """
    from openlineage.client.naming import dataset as naming

    parts = _authority(url)
    sub = parts.scheme
    scheme, default_port = _JDBC.get(sub, (sub, None))
    hosts = [(h.lower(), p or default_port) for h, p in parts.hosts] or [("", None)]
    host, port = format_host_port(hosts[0][0]), str(hosts[0][1] or "")
    names = [p.strip('`"') for p in table_name.split(".") if p.strip('`"')]
    path = parts.path.lstrip("/")
    properties = {k.strip().lower(): v.strip() for k, _, v in
                  (p.partition("=") for p in parts.properties.split(";") if "=" in p)}
    database = path
    instance = ""
    if sub in ("sqlserver", "jtds"):  # SqlServerJdbcExtractor: databaseName / database / the URL path
        database = properties.get("databasename") or properties.get("database") or path
        instance = properties.get("instancename") or properties.get("instance") or ""
    elif sub not in ("oracle", "trino"):
        database = re.split(r"[?;:#/]", path, maxsplit=1)[0]  # DB2: /db:user=...;  Hive: /db;principal=...
        if "=" in database:  # Teradata: /DATABASE=db,USER=u
            database = re.search(r"(?i)(?:^|,)database=([^,]*)", database).group(1) if \
                re.search(r"(?i)(?:^|,)database=", database) else ""
    single = len(hosts) == 1 and host and port
    if sub == "postgresql" and len(names) == 1 and _query_value(parts.query, "currentSchema"):
        names = [_query_value(parts.query, "currentSchema"), *names]
    if sub == "postgresql" and single and database and len(names) == 2:
        ds: naming.DatasetNaming = naming.Postgres(host, port, database, *names)
    elif sub == "mysql" and single and (len(names) == 2 or (database and len(names) == 1)):
        # MySqlJdbcExtractor: a qualified name is used as it is, else the URL's database comes first
        ds = naming.MySQL(host, port, *(names if len(names) == 2 else [database, *names]))
    elif sub == "oracle" and single and database and len(names) == 2:
        ds = naming.Oracle(host, port, database, *names)
    elif sub == "db2" and single and database and len(names) == 2:
        ds = naming.DB2(host, port, database, *names)
    elif sub == "trino" and single and names and len(_trino_path(path, names)) == 3:
        ds = naming.Trino(host, port, *_trino_path(path, names))
    elif sub == "hive2" and single and database and len(names) == 1:
        ds = naming.Hive(host, port, database, *names)
    elif sub == "redshift" and single and database and len(names) == 2 and \
            (cluster := re.match(r"^([^.]+)\.[^.]+\.([a-z0-9-]+)\.redshift\.amazonaws\.com$", hosts[0][0])):
        ds = naming.Redshift(cluster.group(1), cluster.group(2), port, database, *names)
    else:  # JdbcLocation.toNamespace / toName
        authority = ",".join(format_host_port(h, p) for h, p in hosts)
        namespace = f"{scheme}://{authority}" + (f"/{instance}" if instance else "")
        if sub == "mysql" and len(names) >= 2:
            return DatasetRef(namespace, ".".join(names), connector, table)
        name = ".".join([database, *names] if database and sub != "trino" else names)
        if not name:
            raise ValueError("no table name")
        return DatasetRef(namespace, name, connector, table)
    return DatasetRef(ds.get_namespace(), ds.get_name(), connector, table)


# --- files and table locations -------------------------------------------------------------------


def path(location: str, connector: str = "filesystem", table: str = "") -> DatasetRef:
    """A file system location, as openlineage-java's ``FilesystemDatasetUtils.fromLocation`` names it:
    object stores (``s3*``→``s3``, ``gs``, ``abfs[s]``→``abfss``, ``wasb[s]``→``wasbs``, container kept)
    ``{scheme}://{bucket}`` + the key without leading/trailing ``/``; other schemes (``hdfs``, ``oss``...)
    ``{scheme}://{authority}`` + the path without trailing ``/``; local files ``file`` + the path; an
    empty name is ``/``. ``naming.S3``/``GCS``/``HDFS``/``ABFSS``/``LocalFileSystem`` give the same names.
    """
    from openlineage.client.naming import dataset as naming

    if "://" not in location and not location.lower().startswith("file:"):  # /tmp/x, warehouse/x
        return DatasetRef("file", location.rstrip("/") or "/", connector, table)
    parts = _authority(location)
    scheme, authority = parts.scheme, parts.authority
    if scheme in ("", "file"):
        name = parts.path.rstrip("/") or "/"
        ds: naming.DatasetNaming = naming.RemoteFileSystem(authority, name) if authority else \
            naming.LocalFileSystem(name)
        return DatasetRef(ds.get_namespace(), ds.get_name(), connector, table)
    if not authority:
        raise ValueError("no bucket or host")
    for prefix, canonical in (("s3", "s3"), ("gs", "gs"), ("abfs", "abfss"), ("wasb", "wasbs")):
        if scheme.startswith(prefix):  # ObjectStorageDatasetExtractor matches by scheme prefix
            key = parts.path.strip("/") or "/"
            container = f"{parts.container}@" if parts.container else ""
            if canonical in ("abfss", "wasbs") and not container:
                raise ValueError("no container")
            return DatasetRef(f"{canonical}://{container}{authority}", key, connector, table)
    name = parts.path.rstrip("/") or "/"  # GenericFilesystemDatasetExtractor
    return DatasetRef(f"{scheme}://{authority}", name, connector, table)


def table_location(root: str, database: str, table: str, layout: str) -> str:
    """The directory of a lake table under a warehouse: ``hadoop`` (Iceberg ``HadoopCatalog``:
    ``{warehouse}/{db}/{table}``) or ``db-suffix`` (Iceberg ``HiveCatalog`` default location and Paimon's
    file system catalog: ``{warehouse}/{db}.db/{table}``)."""
    directory = database if layout == "hadoop" else f"{database}.db"
    return f"{root.rstrip('/')}/{directory}/{table}"


def lake_table(options: dict[str, str], table: str, connector: str) -> list[DatasetRef]:
    """An Iceberg/Paimon/Hudi/Delta table named from its location, as ``IcebergSinkVisitor`` names Iceberg
    tables (``FilesystemDatasetUtils.fromLocation(table.location())``), with the Flink table as ``table``.

    Iceberg (``org.apache.iceberg.flink.FlinkDynamicTableFactory`` options; ``catalog-database`` defaults
    to the current Flink database, ``catalog-table`` to the Flink table's name): ``catalog-type`` ``hadoop``
    → ``{warehouse}/{catalog-database}/{catalog-table}``; ``hive`` (the default) with a ``warehouse`` →
    the Hive default ``{warehouse}/{db}.db/{table}``; REST and other catalogs keep the location on the
    server: left out (their ``uri`` is the catalog's address, not the table's). Paimon and Hudi
    ``path`` and Delta ``table-path`` are the table's own directory.
    """
    short = table.split(".")[-1]
    if connector == "iceberg":
        kind = options.get("catalog-type", "hive" if not options.get("catalog-impl") else "").lower()
        warehouse = options.get("warehouse")
        if kind not in ("hadoop", "hive") or not warehouse:
            return []
        database = options.get("catalog-database", "default_database")
        location = table_location(warehouse, database, options.get("catalog-table", short),
                                  "hadoop" if kind == "hadoop" else "db-suffix")
    else:
        location = options.get("table-path") if connector == "delta" else options.get("path")
        if not location:
            return []
    return [path(location, connector, table)]


def catalog_table(catalog: dict[str, str], database: str, table: str, written: str) -> list[DatasetRef]:
    """A table of a catalog the script creates (``CREATE CATALOG c WITH (...)``), where its options say
    where the table lives: Iceberg (``type=iceberg``, as :func:`lake_table`), Paimon (``{warehouse}/{db}.db/
    {table}``) and JDBC catalogs (``base-url`` + database; Flink's Postgres catalog reads a table without a
    schema in ``public`` -- ``PostgresTablePath.fromFlinkTableName``). Hive, REST and other catalogs keep
    it in a metastore this package does not read: none.

    :param written: the name the script uses, reported as the Flink table.
    """
    def build() -> list[DatasetRef]:
        kind = catalog.get("type", "").lower()
        if kind == "iceberg":
            options = {**catalog, "catalog-database": database, "catalog-table": table}
            return lake_table(options, written, "iceberg")
        if kind == "paimon" and catalog.get("warehouse"):
            return [path(table_location(catalog["warehouse"], database, table, "db-suffix"), "paimon", written)]
        if kind == "jdbc" and catalog.get("base-url"):
            url = f"{catalog['base-url'].rstrip('/')}/{database}"
            name = table if "." in table or "postgresql" not in url.lower() else f"public.{table}"
            return [jdbc(url, name, "jdbc", written)]
        return []

    return guarded(build, f"table {written!r}", [])


# --- Flink SQL connectors ------------------------------------------------------------------------


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
        # topic-pattern: openlineage-flink matches it against the broker's topics; not known here
        return kafka(servers, options["topic"], connector, table) if servers and options.get("topic") else []
    if connector == "jdbc" and options.get("url"):
        return [jdbc(options["url"], options.get("table-name", table), connector, table)]
    if connector == "filesystem" and options.get("path"):
        return [path(options["path"], connector, table)]
    if connector in ("iceberg", "paimon", "hudi", "delta"):
        return lake_table(options, table, connector)
    if connector.startswith("elasticsearch") and options.get("hosts") and not is_pattern(options.get("index", "")):
        hosts = options["hosts"]
        return [DatasetRef(f"elasticsearch://{host_port(hosts, 9200)}", options.get("index", table), connector, table)]
    if connector in ("mysql-cdc", "postgres-cdc", "oracle-cdc", "sqlserver-cdc", "tidb-cdc", "oceanbase-cdc"):
        names = [options.get("database-name", ""), options.get("schema-name", ""), options.get("table-name", "")]
        if not names[-1] or any(is_pattern(n) for n in names) or not options.get("hostname"):
            return []
        sub = {"postgres-cdc": "postgresql", "oracle-cdc": "oracle", "sqlserver-cdc": "sqlserver"}.get(
            connector, "mysql")
        address = format_host_port(options["hostname"], int(options["port"]) if options.get("port") else None)
        url = f"jdbc:{sub}://{address}/{names[0]}" if sub != "sqlserver" else \
            f"jdbc:sqlserver://{address};databaseName={names[0]}"
        if sub == "oracle":
            url = f"jdbc:oracle:thin:@//{address}/{names[0]}"
        return [jdbc(url, ".".join(n for n in names[1:] if n), connector, table)]
    if connector == "mongodb" and options.get("uri"):
        return [DatasetRef(f"mongodb://{host_port(options['uri'], 27017)}",
                           ".".join(n for n in (options.get("database"), options.get("collection")) if n),
                           connector, table)]
    if connector in ("doris", "starrocks") and (options.get("fenodes") or options.get("jdbc-url")):
        host = host_port(options.get("fenodes") or options["jdbc-url"], 8030)
        return [DatasetRef(f"{connector}://{host}", options.get("table.identifier", table), connector, table)]
    return []  # a connector whose store this package cannot name: left out, not invented
