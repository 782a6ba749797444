"""SeaTunnel job configs read as HOCON (pyhocon): every source and sink block, whatever the SQL inside.

Issue 21 item 5: a triple-quoted query holding ``{`` lost the whole config to the hand-written
reader; a ``Jdbc`` source with only a ``query``, ``table_list`` and the Paimon sink named nothing.
"""

from __future__ import annotations

import logging
import sys

import pytest

pytest.importorskip("pyhocon", reason="the openlineage extra is not installed")
pytest.importorskip("openlineage.client.naming", reason="the openlineage extra is not installed")

from airflow_flink_operator.lineage.seatunnel import seatunnel_config, seatunnel_job_mode  # noqa: E402

CONFIG = '''
env {
  parallelism = 2
  job.mode = "BATCH"
}
source {
  # a comment with a { brace
  Jdbc {
    url = "jdbc:mysql://db:3306/shop"
    user = "etl"
    password = ${?DB_PASSWORD}
    query = """SELECT o.id, JSON_OBJECT('k', '{') AS doc FROM shop.orders o JOIN shop.items i ON o.id = i.order_id"""
  }
  Jdbc {
    url = "jdbc:postgresql://pg:5432/app"
    table_list = [
      { table_path = "public.customers" },
      { query = "SELECT * FROM sales.invoices WHERE total > 0" }
    ]
  }
  Kafka {
    bootstrap.servers = "kafka:9092"
    topic = "clicks"
  }
}
sink {
  Paimon {
    warehouse = "s3://lake/paimon"
    database = "ods"
    table = "orders"
  }
}
'''


def ids(refs) -> list[tuple[str, str]]:
    return [(r.namespace, r.name) for r in refs]


def test_every_block_is_read_even_with_braces_inside_a_triple_quoted_query():
    inputs, outputs = seatunnel_config(CONFIG)
    assert ids(inputs) == [
        ("mysql://db:3306", "shop.orders"), ("mysql://db:3306", "shop.items"),  # from the query
        ("postgres://pg:5432", "app.public.customers"), ("postgres://pg:5432", "app.sales.invoices"),  # table_list
        ("kafka://kafka:9092", "clicks")]  # a second plugin kind after two Jdbc blocks
    # Paimon's file system catalog layout: {warehouse}/{database}.db/{table}
    assert ids(outputs) == [("s3://lake", "paimon/ods.db/orders")]
    assert seatunnel_job_mode(CONFIG) == "BATCH"


def test_without_pyhocon_seatunnel_jobs_say_once_what_to_install(monkeypatch, caplog):
    from airflow_flink_operator.lineage import seatunnel

    monkeypatch.setitem(sys.modules, "pyhocon", None)
    monkeypatch.setattr(seatunnel, "_hinted", [])
    caplog.set_level(logging.WARNING, logger="airflow_flink_operator.lineage")
    for _ in range(3):
        assert seatunnel_config(CONFIG) == ([], [])
    assert [r.getMessage() for r in caplog.records if "pyhocon" in r.getMessage()] == [seatunnel.PYHOCON_HINT]
