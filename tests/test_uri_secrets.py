"""No credential from a connection string reaches a dataset, a facet, an asset extra or a log line.

Secrets are drawn (hypothesis) from pieces that each start with the marker ``Zq`` and are joined by
what breaks naive URL scrubbers: ``/`` (AWS secret keys), ``@``, ``:``, ``%2F``, ``%40``, spaces, ``+``,
``=``. The templates around them hold no ``Zq``, so any fragment of a secret that survives shows up as
``Zq`` in the output. The rule the scrubber follows is in :mod:`airflow_flink_operator.uris`.
"""

from __future__ import annotations

import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_flink_operator.lineage.datasets import from_connector_options, jdbc, path, strip_url_secrets
from airflow_flink_operator.uris import split_authority, strip_userinfo

MARKER = "Zq"
_pieces = st.text(alphabet="abcXYZ0189_-.~!*", min_size=0, max_size=6).map(lambda s: MARKER + s)
_joins = st.sampled_from(["/", "@", ":", "%2F", "%40", " ", "+", "=", "//", "/@", "@/", ""])
secrets = st.lists(st.tuples(_joins, _pieces), min_size=1, max_size=5).map(
    lambda items: "".join(j + p for j, p in items).lstrip(" "))

#: Where a secret sits in real connection strings; ``{s}`` is the secret.
TEMPLATES = [
    "s3a://AKIAEXAMPLE:{s}@bucket/data/out",
    "s3://AKIAEXAMPLE:{s}@bucket/savepoints/sp-1",
    "hdfs://etl:{s}@namenode:8020/warehouse/t",
    "https://deploy:{s}@repo.example.com/jobs/job.jar",
    "https://repo.example.com/job.jar?X-Amz-Algorithm=A&X-Amz-Credential=AKIA%2F1&X-Amz-Signature={s}",
    "jdbc:mysql://etl:{s}@my:3306/db",
    "jdbc:postgresql://pg:5432/shop?user=etl&password={s}",
    "jdbc:postgresql://etl:{s}@pg:5432/shop?currentSchema=sales",
    "jdbc:sqlserver://ms:1433;databaseName=dw;user=etl;password={s}",
    "jdbc:oracle:thin:scott/{s}@//ora:1521/ORCLPDB",
    "jdbc:oracle:thin:scott/{s}@ora:1521:ORCL",
    "jdbc:mysql://address=(host=my)(port=3306)(user=etl)(password={s})/db",
    "jdbc:db2://db2:50000/dw:user=etl;password={s};",
    "SASL_SSL://etl:{s}@broker:9092",
    "mongodb://etl:{s}@mongo1:27017,mongo2:27017/app",
    "user:{s}@host:9092",
]


def _assert_secret_free(*texts: object) -> None:
    for text in texts:
        assert MARKER not in str(text), text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(secret=secrets, template=st.sampled_from(TEMPLATES), keep_query=st.booleans())
def test_strip_userinfo_never_returns_a_secret(secret, template, keep_query):
    _assert_secret_free(strip_userinfo(template.format(s=secret), keep_query=keep_query))


@settings(max_examples=200, deadline=None)
@given(secret=secrets)
def test_a_scheme_less_authority_loses_its_secret_too(secret):
    scrubbed = strip_userinfo(f"user:{secret}@host:9092")  # "user://Zq@host" is a URL with scheme "user"
    assert scrubbed.endswith("host:9092") and MARKER not in scrubbed


@settings(max_examples=200, deadline=None)
@given(secret=secrets)
def test_the_location_after_a_secret_with_a_slash_is_read_exactly_or_not_named(secret):
    """Exact unless the text before the first "/" reads as a location itself (``AKIA:@Zq/...``: user
    ``AKIA``, host ``Zq``, and an @ in the path?): then no dataset, rather than a wrong one."""
    parts = split_authority(f"s3a://AKIAEXAMPLE:{secret}@bucket/data/out")
    s3 = from_connector_options({"connector": "filesystem", "path": f"s3a://AKIAEXAMPLE:{secret}@bucket/data/out"}, "t")
    my = from_connector_options({"connector": "jdbc", "url": f"jdbc:mysql://etl:{secret}@my:3306/db",
                                 "table-name": "orders"}, "t")
    if parts.ambiguous:
        assert s3 == [] and my == []
    else:
        assert (parts.scheme, parts.host, parts.port, parts.path) == ("s3a", "bucket", None, "/data/out")
        assert [(r.namespace, r.name) for r in s3] == [("s3://bucket", "data/out")]
        assert [(r.namespace, r.name) for r in my] == [("mysql://my:3306", "db.orders")]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(secret=secrets)
def test_no_dataset_and_no_log_line_holds_a_secret(secret, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.clear()
    tables = [
        {"connector": "filesystem", "path": f"s3a://AKIAEXAMPLE:{secret}@lake/orders/"},
        {"connector": "jdbc", "url": f"jdbc:mysql://etl:{secret}@my:3306/db", "table-name": "orders"},
        {"connector": "jdbc", "url": f"jdbc:postgresql://pg:5432/shop?user=etl&password={secret}",
         "table-name": "sales.orders"},
        {"connector": "jdbc", "url": f"jdbc:sqlserver://ms:1433;databaseName=dw;password={secret}",
         "table-name": "dbo.orders"},
        {"connector": "jdbc", "url": f"jdbc:oracle:thin:scott/{secret}@//ora:1521/ORCLPDB", "table-name": "HR.T"},
        {"connector": "kafka", "topic": "orders", "properties.bootstrap.servers": f"SASL_SSL://u:{secret}@b:9092"},
        {"connector": "elasticsearch-7", "hosts": f"https://u:{secret}@es:9200", "index": "orders"},
        {"connector": "mongodb", "uri": f"mongodb://u:{secret}@mongo:27017", "database": "app", "collection": "c"},
    ]
    for options in tables:
        for ref in from_connector_options(options, "t"):
            _assert_secret_free(ref.namespace, ref.name)
    _assert_secret_free(caplog.text, *(r.getMessage() for r in caplog.records))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(secret=secrets)
def test_no_sql_or_seatunnel_job_dataset_and_no_log_line_holds_a_secret(secret, caplog):
    """Whole job files, as the operators hand them to lineage, with unreadable URLs among them."""
    pytest.importorskip("sqlglot")
    pytest.importorskip("pyhocon")
    from airflow_flink_operator.lineage.seatunnel import seatunnel_config
    from airflow_flink_operator.lineage.sql import parse_flink_sql

    caplog.set_level(logging.DEBUG)
    caplog.clear()
    parsed = parse_flink_sql(f"""
        CREATE TABLE src (a INT) WITH ('connector' = 'filesystem', 'path' = 's3a://AKIA:{secret}@lake/in/');
        CREATE TABLE bad (a INT) WITH ('connector' = 'filesystem', 'path' = 'hdfs://u:{secret}@[nn/x');
        CREATE TABLE dst (a INT) WITH ('connector' = 'jdbc', 'url' = 'jdbc:mysql://etl:{secret}@my:3306/db',
                                       'table-name' = 'out', 'password' = '{secret}');
        CREATE CATALOG pg WITH ('type' = 'jdbc', 'base-url' = 'jdbc:postgresql://u:{secret}@pg:5432',
                                'password' = '{secret}');
        INSERT INTO dst SELECT a FROM src JOIN pg.app.t ON TRUE;
        INSERT INTO bad SELECT a FROM src;""")
    inputs, outputs = seatunnel_config(f"""
        source {{ Jdbc {{ url = "jdbc:postgresql://u:{secret}@pg:5432/app", password = "{secret}",
                          query = "SELECT * FROM public.orders" }} }}
        sink {{ Kafka {{ bootstrap.servers = "SASL_SSL://u:{secret}@k:9092", topic = "t" }} }}""")
    refs = parsed.inputs + parsed.outputs + inputs + outputs
    assert refs
    _assert_secret_free(*(f"{r.namespace} {r.name} {r.table}" for r in refs))
    _assert_secret_free(caplog.text, *(r.getMessage() for r in caplog.records))


def test_the_reported_leaks_are_gone():
    """The examples of issue 21, item 1: each leaked a piece of the secret before."""
    ref = path("s3a://AKIA:wJalr/K7MD@bucket/data/out")
    assert (ref.namespace, ref.name) == ("s3://bucket", "data/out")
    ref = jdbc("jdbc:mysql://etl:pa/ss@my:3306/db", "t")
    assert (ref.namespace, ref.name) == ("mysql://my:3306", "db.t")
    assert strip_url_secrets("s3://AKIA:wJal/K7MD@bucket/sp/x") == "s3://bucket/sp/x"


def test_what_has_no_credentials_is_kept():
    assert strip_userinfo("file:///tmp/sp@1") == "file:///tmp/sp@1"
    assert strip_userinfo("/tmp/sp@1") == "/tmp/sp@1"
    assert strip_userinfo("hdfs:///flink/savepoints/sp-1") == "hdfs:///flink/savepoints/sp-1"
    assert strip_userinfo("abfss://container@account.dfs.core.windows.net/p") == \
        "abfss://container@account.dfs.core.windows.net/p"
    assert strip_userinfo("kafka://[::1]:9092") == "kafka://[::1]:9092"
    assert strip_userinfo("https://h/x.jar?version=2&X-Amz-Signature=abc") == "https://h/x.jar?version=2"
    assert strip_userinfo("https://h/x.jar?version=2", keep_query=False) == "https://h/x.jar"
    assert strip_userinfo("jdbc:hive2://u:p@hs2:10000/db;principal=hive/_HOST@REALM") == \
        "jdbc:hive2://hs2:10000/db;principal=hive/_HOST@REALM"


def test_what_cannot_be_read_is_redacted_whole():
    assert strip_userinfo("s3a://AKIA:sec%40ret%2Fbucket/x") == "s3a://<redacted>"
    assert strip_userinfo("jdbc:mysql://etl:pass word/x") == "jdbc:mysql://<redacted>"


def test_an_at_after_a_plausible_host_is_read_safely_and_names_no_dataset(caplog):
    """``s3://bucket/sp@1``: an @ in the path, or a password with a "/"? The scrubber cannot tell: it drops
    up to the @ (never a secret), and no dataset is named after it (never a wrong name)."""
    assert split_authority("s3://bucket/sp@1").ambiguous
    assert strip_userinfo("jdbc:mysql://etl:1234/Zq@my:3306/db") == "jdbc:mysql://my:3306/db"
    assert from_connector_options({"connector": "filesystem", "path": "s3://bucket/sp@1"}, "t") == []


# --- facets and asset extras ---------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(secret=secrets)
def test_no_run_facet_and_no_job_facet_holds_a_secret(secret):
    pytest.importorskip("airflow.providers.openlineage")
    from openlineage.client.serde import Serde

    from airflow_flink_operator.lineage.facets import run_facets

    facets = run_facets({"job_id": "j", "initial_savepoint_path": f"s3://AKIA:{secret}@bucket/sp/savepoint-1"})
    assert facets
    _assert_secret_free(*(Serde.to_json(f) for f in facets.values()))  # what goes into the event


@settings(max_examples=60, deadline=None)
@given(secret=secrets)
def test_no_asset_event_extra_holds_a_secret(secret):
    from airflow.sdk.execution_time.context import OutletEventAccessors

    from airflow_flink_operator.assets import record_savepoint, redact_uri, savepoint_asset

    context = {"outlet_events": OutletEventAccessors()}
    extra = record_savepoint(context, [savepoint_asset("orders")], job="orders", namespace="default",
                             savepoint_path=f"s3://AKIA:{secret}@bucket/savepoints/savepoint-1")
    _assert_secret_free(extra, context["outlet_events"][savepoint_asset("orders")].extra)
    _assert_secret_free(redact_uri(f"s3://AKIA:{secret}@bucket/savepoints/savepoint-1"))
