"""Dataset names beside the names OpenLineage's own producers give the same table.

Every expected ``(namespace, name)`` below is written by hand from the source cited on its row --
the naming conventions (``website/docs/spec/naming.md``), an openlineage-java test or class
(``client/java/src/test/java/io/openlineage/client/utils/...``), or openlineage-flink's visitors
(``integration/flink/...``), all in OpenLineage/OpenLineage at 8f02abf -- never computed by the
package. A row is one table as a Flink job declares it and as the OpenLineage Flink integration (or
the conventions) would name it; the package's name must be the same.
"""

from __future__ import annotations

import pytest

pytest.importorskip("openlineage.client.naming", reason="the openlineage extra is not installed")

from airflow_flink_operator.lineage.datasets import from_connector_options  # noqa: E402

# (id, Flink SQL WITH options of the table, its Flink name, expected namespace, expected name, source)
ROWS = [
    # --- Kafka ---
    ("kafka", {"connector": "kafka", "topic": "orders", "properties.bootstrap.servers": "b1:9092,b2:9092"},
     "orders_t", "kafka://b1:9092", "orders",
     "KafkaTableLineageDatasetIdentifierVisitor.datasetIdentifierForKafka: kafka:// + first server; spec Kafka"),
    ("kafka-ipv6", {"connector": "upsert-kafka", "topic": "t", "properties.bootstrap.servers": "[::1]:9092"},
     "t", "kafka://[::1]:9092", "t", "KafkaTableLineageDatasetIdentifierVisitor (server as written)"),
    # --- JDBC: JdbcDatasetUtils.getDatasetIdentifier(url, table-name) (JdbcTableLineageDatasetIdentifierVisitor) ---
    ("postgres", {"connector": "jdbc", "url": "jdbc:postgresql://hostname/mydb", "table-name": "schema.table1"},
     "t", "postgres://hostname:5432", "mydb.schema.table1", "JdbcDatasetUtilsTestForPostgres"),
    ("postgres-no-schema", {"connector": "jdbc", "url": "jdbc:postgresql://pg:5432/shop", "table-name": "orders"},
     "t", "postgres://pg:5432", "shop.orders", "JdbcLocation.toName: the database, then the name as written"),
    ("postgres-upper", {"connector": "jdbc", "url": "JDBC:POSTGRESQL://TEST.HOST.COM/MYDB",
                        "table-name": "SCHEMA.TABLE1"},
     "t", "postgres://test.host.com:5432", "MYDB.SCHEMA.TABLE1", "JdbcDatasetUtilsTestForPostgres"),
    ("postgres-multihost", {"connector": "jdbc", "url": "jdbc:postgresql://hostname1,hostname2",
                            "table-name": "schema.table1"},
     "t", "postgres://hostname1:5432,hostname2:5432", "schema.table1", "JdbcDatasetUtilsTestForPostgres"),
    ("postgres-currentSchema", {"connector": "jdbc", "url": "jdbc:postgresql://pg:5432/shop?currentSchema=sales",
                                "table-name": "orders"},
     "t", "postgres://pg:5432", "shop.sales.orders", "spec Postgres {database}.{schema}.{table}"),
    ("mysql", {"connector": "jdbc", "url": "jdbc:mysql://fred:sec%40ret@hostname", "table-name": "schema.table1"},
     "t", "mysql://hostname:3306", "schema.table1", "JdbcDatasetUtilsTestForMySql"),
    ("mysql-other-db", {"connector": "jdbc", "url": "jdbc:mysql://my:3306/db", "table-name": "other_db.t"},
     "t", "mysql://my:3306", "other_db.t", "MySqlJdbcExtractor: a qualified name is used as it is"),
    ("mysql-url-db", {"connector": "jdbc", "url": "jdbc:mysql://my/shop", "table-name": "orders"},
     "t", "mysql://my:3306", "shop.orders", "MySqlJdbcExtractor + spec MySQL {database}.{table}"),
    ("sqlserver", {"connector": "jdbc", "url": "jdbc:sqlserver://hostname;user=fred;password=sec%40ret",
                   "table-name": "schema.table1"},
     "t", "sqlserver://hostname", "schema.table1", "JdbcDatasetUtilsTestForSqlServer"),
    ("sqlserver-db", {"connector": "jdbc", "url": "jdbc:sqlserver://hostname;database=MYTESTDB",
                      "table-name": "schema.table1"},
     "t", "sqlserver://hostname", "MYTESTDB.schema.table1", "JdbcDatasetUtilsTestForSqlServer"),
    ("oracle", {"connector": "jdbc", "url": "jdbc:oracle:thin:@//test-host.com", "table-name": "schema.table1"},
     "t", "oracle://test-host.com:1521", "schema.table1", "JdbcDatasetUtilsTestForOracle"),
    ("oracle-service", {"connector": "jdbc", "url": "jdbc:oracle:thin:scott/tiger@//ora:1521/ORCLPDB",
                        "table-name": "HR.EMP"},
     "t", "oracle://ora:1521", "ORCLPDB.HR.EMP", "spec Oracle {serviceName}.{schema}.{table}"),
    ("oracle-sid", {"connector": "jdbc", "url": "jdbc:oracle:thin:@ora:1521:ORCL", "table-name": "HR.EMP"},
     "t", "oracle://ora:1521", "ORCL.HR.EMP", "OracleJdbcExtractor.fixSidFormat; spec {sid}.{schema}.{table}"),
    ("trino", {"connector": "jdbc", "url": "jdbc:trino://test-host.com", "table-name": "schema.table1"},
     "t", "trino://test-host.com:443", "schema.table1", "JdbcDatasetUtilsTestForTrino"),
    ("trino-catalog", {"connector": "jdbc", "url": "jdbc:trino://tr:8080/hive/sales", "table-name": "orders"},
     "t", "trino://tr:8080", "hive.sales.orders", "spec Trino {catalog}.{schema}.{table}"),
    ("db2", {"connector": "jdbc", "url": "jdbc:db2://test-host.com", "table-name": "schema.table1"},
     "t", "db2://test-host.com:6789", "schema.table1", "JdbcDatasetUtilsTestForDb2"),
    ("db2-database", {"connector": "jdbc", "url": "jdbc:db2://db2:50000/SAMPLE", "table-name": "ADMIN.T"},
     "t", "db2://db2:50000", "SAMPLE.ADMIN.T", "spec DB2 {database}.{schema}.{table} (no dbo added)"),
    ("redshift", {"connector": "jdbc", "table-name": "public.orders",
                  "url": "jdbc:redshift://examplecluster.abc123xyz789.us-west-2.redshift.amazonaws.com:5439/dev"},
     "t", "redshift://examplecluster.us-west-2:5439", "dev.public.orders",
     "spec Redshift redshift://{cluster_identifier}.{region_name}:{port}"),
    # --- file systems: FilesystemDatasetUtils.fromLocation ---
    ("s3", {"connector": "filesystem", "path": "s3a://bucket/warehouse/location/"},
     "t", "s3://bucket", "warehouse/location", "FilesystemDatasetUtilsTestForS3"),
    ("s3-bucket", {"connector": "filesystem", "path": "s3://bucket"},
     "t", "s3://bucket", "/", "FilesystemDatasetUtilsTestForS3 (empty name is /)"),
    ("gcs", {"connector": "filesystem", "path": "gs://bucket/warehouse/location/"},
     "t", "gs://bucket", "warehouse/location", "FilesystemDatasetUtilsTestForGCS"),
    ("abfss", {"connector": "filesystem", "path": "abfs://container@account.dfs.core.windows.net/warehouse"},
     "t", "abfss://container@account.dfs.core.windows.net", "warehouse", "FilesystemDatasetUtilsTestForABFSS"),
    ("wasbs", {"connector": "filesystem", "path": "wasbs://container@bucket/warehouse"},
     "t", "wasbs://container@bucket", "warehouse", "FilesystemDatasetUtilsTestForWASBS"),
    ("hdfs", {"connector": "filesystem", "path": "hdfs://namenode:8020/warehouse/location/"},
     "t", "hdfs://namenode:8020", "/warehouse/location", "FilesystemDatasetUtilsTestForHDFS"),
    ("local", {"connector": "filesystem", "path": "file:/warehouse/location/"},
     "t", "file", "/warehouse/location", "FilesystemDatasetUtilsTestForLocal"),
    # --- lake tables: IcebergSinkVisitor names FilesystemDatasetUtils.fromLocation(table.location()) ---
    ("iceberg-hive", {"connector": "iceberg", "catalog-name": "c", "warehouse": "s3a://lake/wh",
                      "catalog-database": "db1", "catalog-table": "events"},
     "ice_t", "s3://lake", "wh/db1.db/events",
     "IcebergSinkVisitor; HiveCatalog.defaultWarehouseLocation {warehouse}/{db}.db/{table}"),
    ("iceberg-hadoop", {"connector": "iceberg", "catalog-name": "c", "catalog-type": "hadoop",
                        "warehouse": "hdfs://nn:8020/wh", "catalog-database": "db1"},
     "events", "hdfs://nn:8020", "/wh/db1/events",
     "IcebergSinkVisitor; HadoopCatalog.defaultWarehouseLocation {warehouse}/{db}/{table}"),
    ("paimon", {"connector": "paimon", "path": "s3://lake/paimon/shop.db/orders/"},
     "orders", "s3://lake", "paimon/shop.db/orders", "FilesystemDatasetUtils.fromLocation of the table path"),
]


@pytest.mark.parametrize(("options", "table", "namespace", "name", "source"), [r[1:] for r in ROWS],
                         ids=[r[0] for r in ROWS])
def test_the_package_names_a_table_as_openlineage_does(options, table, namespace, name, source):
    found = [(d.namespace, d.name) for d in from_connector_options(options, table)]
    assert found == [(namespace, name)], source


@pytest.mark.parametrize("options", [
    {"connector": "iceberg", "catalog-name": "c", "catalog-type": "rest", "uri": "http://rest:8181",
     "warehouse": "s3://lake/wh"},  # the REST server keeps the location: the uri is not a path
    {"connector": "kafka", "topic-pattern": "orders-.*", "properties.bootstrap.servers": "k:9092"},
    {"connector": "mysql-cdc", "hostname": "db", "database-name": "app_db", "table-name": "orders_\\d+"},
    {"connector": "some-custom-sink", "target": "x"},
], ids=["iceberg-rest", "kafka-topic-pattern", "cdc-regex", "unknown-connector"])
def test_what_cannot_be_named_exactly_is_left_out(options):
    assert from_connector_options(options, "t") == []


def test_a_flink_cdc_paimon_sink_names_each_table_under_its_warehouse():
    """Paimon's file system catalog keeps ``{warehouse}/{db}.db/{table}`` (``AbstractCatalog.newDatabasePath``,
    ``DB_SUFFIX = ".db"``); the namespace is the bucket, as ``FilesystemDatasetUtils`` names locations."""
    from airflow_flink_operator.lineage.cdc import cdc_pipeline

    inputs, outputs = cdc_pipeline({
        "source": {"type": "mysql", "hostname": "db", "port": 3306, "tables": "app_db.\\.*,shop.orders"},
        "sink": {"type": "paimon", "catalog.properties.metastore": "filesystem",
                 "catalog.properties.warehouse": "s3://lake/paimon"}})
    assert [(d.namespace, d.name) for d in inputs] == [("mysql://db:3306", "shop.orders")]
    assert [(d.namespace, d.name) for d in outputs] == [("s3://lake", "paimon/shop.db/orders")]
