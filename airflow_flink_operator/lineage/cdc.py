"""Flink CDC pipelines (``source``/``sink``/``route`` YAML): the tables they read and write, named by
:mod:`airflow_flink_operator.lineage.datasets`.

A source table list may hold regular expressions (``app_db.\\.*``): those name no table and are left
out (the tables they match are known only to the running job). A Paimon or Iceberg sink writes each
table under its warehouse (Paimon's ``{warehouse}/{db}.db/{table}``, Iceberg per catalog type), so the
namespace is the store's and the name the table's directory, as for any lake table.
"""

from __future__ import annotations

from airflow_flink_operator.lineage.datasets import (
    DatasetRef,
    guarded,
    host_port,
    is_pattern,
    jdbc,
    kafka,
    path,
    table_location,
)

#: Flink CDC source ``type`` → JDBC sub-protocol (the same database named as a JDBC URL would name it).
_SOURCE_SUBPROTOCOLS = {"mysql": "mysql", "postgres": "postgresql", "postgresql": "postgresql",
                        "oracle": "oracle", "sqlserver": "sqlserver", "oceanbase": "oceanbase", "db2": "db2"}


def _tables(value: object) -> list[str]:
    return [t.strip() for t in str(value or "").split(",") if t.strip()]


def _source_ref(source: dict, table: str) -> list[DatasetRef]:
    """A source table ``db.t`` (``db.schema.t`` for Postgres) as the JDBC naming names it."""
    kind = str(source.get("type", "")).lower()
    sub = _SOURCE_SUBPROTOCOLS.get(kind)
    host = source.get("hostname") or source.get("host")
    if sub is None or not host or is_pattern(table):
        return []
    address = host_port(f"{host}:{source['port']}" if source.get("port") else str(host))
    database, _, rest = table.partition(".")
    if sub == "oracle":
        url = f"jdbc:oracle:thin:@//{address}/{database}"
    elif sub == "sqlserver":
        url = f"jdbc:sqlserver://{address};databaseName={database}"
    else:
        url = f"jdbc:{sub}://{address}/{database}"
    return [jdbc(url, rest or database, kind, table)]


def _sink_ref(sink: dict, table: str, source_table: str) -> list[DatasetRef]:
    kind = str(sink.get("type", "")).lower()
    if kind in ("doris", "starrocks"):
        address = sink.get("fenodes") or sink.get("jdbc-url") or ""
        return [DatasetRef(f"{kind}://{host_port(str(address), 8030)}", table, kind, source_table)]
    if kind in ("paimon", "iceberg"):
        options = {k.removeprefix("catalog.properties."): str(v) for k, v in sink.items()}
        warehouse = options.get("warehouse")
        catalog = options.get("type", "hadoop" if kind == "iceberg" else "filesystem").lower()
        if not warehouse or (kind == "iceberg" and catalog not in ("hadoop", "hive")):
            return []  # an Iceberg REST/Glue catalog keeps the location on its server
        database, _, name = table.rpartition(".")
        layout = "hadoop" if kind == "iceberg" and catalog == "hadoop" else "db-suffix"
        return [path(table_location(warehouse, database or "default", name, layout), kind, source_table)]
    if kind == "elasticsearch":
        return [DatasetRef(f"elasticsearch://{host_port(str(sink.get('hosts', '')), 9200)}", table, kind,
                           source_table)]
    return []


def cdc_pipeline(doc: dict) -> tuple[list[DatasetRef], list[DatasetRef]]:
    """Inputs and outputs of a Flink CDC pipeline YAML (``source``, ``sink``, optional ``route``).

    Each source table is an input; it lands in the sink under the same name, unless a ``route`` rule
    maps it (``source-table`` → ``sink-table``). A Kafka sink writes one ``topic`` or, by default, one
    topic per table. Sinks this package cannot name (``values``, unknown types) give no output.
    """
    source, sink = doc.get("source") or {}, doc.get("sink") or {}
    tables = _tables(source.get("tables"))
    inputs = [ref for t in tables for ref in guarded(lambda t=t: _source_ref(source, t), "the CDC source", [])]
    routes = {str(r["source-table"]): str(r["sink-table"]) for r in doc.get("route") or []
              if isinstance(r, dict) and r.get("source-table") and r.get("sink-table")}
    targets: dict[str, str] = {}
    for table in tables:
        target = routes.get(table, table)
        if not is_pattern(target):
            targets.setdefault(target, table)
    for src, target in routes.items():
        if not is_pattern(target):
            targets.setdefault(target, src)
    kind = str(sink.get("type", "")).lower()
    if kind in ("kafka", "upsert-kafka"):
        servers = str(sink.get("properties.bootstrap.servers", ""))
        topics = str(sink["topic"]) if sink.get("topic") else ",".join(targets)
        outputs = guarded(lambda: kafka(servers, topics, kind), "the CDC sink", []) if servers and topics else []
        return inputs, outputs
    outputs = [ref for target, src in targets.items()
               for ref in guarded(lambda t=target, s=src: _sink_ref(sink, t, s), "the CDC sink", [])]
    return inputs, outputs
