"""What a Flink SQL script reads and writes: tables, their connectors, and ``SET`` options.

Parsing uses `sqlglot <https://github.com/tobymao/sqlglot>`_ (its tokenizer for every statement,
its parser for the queries), because no SQL library has a Flink dialect. Measured on realistic
Flink SQL with sqlglot 30.x (``tests/test_openlineage.py`` keeps these cases):

* the **tokenizer** (Hive dialect: backtick identifiers, ``'...'`` strings, ``--`` and ``/* */``
  comments) handles every Flink statement, so statements are split, and ``CREATE TABLE`` names,
  column lists and ``WITH (...)`` options are read, from tokens;
* the **parser** handles ``INSERT INTO/OVERWRITE ... SELECT`` with joins, temporal joins
  (``FOR SYSTEM_TIME AS OF``), subqueries, CTEs, ``SET 'k' = 'v'``, ``CREATE TABLE ... WITH`` with
  ``PRIMARY KEY ... NOT ENFORCED`` and computed columns, and backtick identifiers;
* it **misses** (raises on): ``WATERMARK FOR ... AS ...`` and ``METADATA [FROM ...] [VIRTUAL]``
  columns in ``CREATE TABLE``; window table functions (``TABLE(TUMBLE(TABLE orders, DESCRIPTOR(ts),
  INTERVAL '1' MINUTE))``, also HOP/CUMULATE/SESSION); ``MATCH_RECOGNIZE``; and it reads
  ``EXECUTE STATEMENT SET BEGIN ... END`` as an opaque block. For those, this module falls back to
  the tokens: a query's inputs are the names after ``FROM``, ``JOIN`` and ``TABLE``.
  openlineage-sql (the Rust parser the OpenLineage provider uses) fails on the same constructs
  (``METADATA`` columns, window TVFs, statement sets), so it brings nothing more.

Not known from the script, hence not reported: tables of a catalog (``USE CATALOG``; Hive, JDBC,
Iceberg catalogs) are reported by name only, under the ``flink`` namespace; the tables behind a
``LIKE`` clause inherit its options but not its connector if the clause is the only place it is set;
``EXECUTE PLAN``/``COMPILE PLAN`` and statements generated at run time are not seen.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from airflow_flink_operator.lineage.datasets import DatasetRef, from_connector_options

log = logging.getLogger(__name__)

#: Namespace for tables the script uses but does not declare (catalog tables).
CATALOG_NAMESPACE = "flink"


@dataclass
class FlinkSqlLineage:
    """What a Flink SQL script reads and writes.

    :param inputs: the datasets read.
    :param outputs: the datasets written.
    :param settings: ``SET 'key' = 'value'`` options, in order (the last one wins).
    :param tables: ``CREATE TABLE`` name → its ``WITH`` options.
    :param fallbacks: queries sqlglot could not parse, read from their tokens instead.
    """

    inputs: list[DatasetRef] = field(default_factory=list)
    outputs: list[DatasetRef] = field(default_factory=list)
    settings: dict[str, str] = field(default_factory=dict)
    tables: dict[str, dict[str, str]] = field(default_factory=dict)
    fallbacks: list[str] = field(default_factory=list)


def _tokenize(text: str) -> list[Any]:
    """Tokens of Flink SQL: Hive's tokenizer (backticks, comments), where ``EXECUTE`` is not a command
    swallowing the rest of the statement (Flink's ``EXECUTE STATEMENT SET``)."""
    from sqlglot.dialects.hive import Hive
    from sqlglot.tokens import TokenType

    class FlinkTokenizer(Hive.Tokenizer):  # type: ignore[name-defined,misc]
        COMMANDS = Hive.Tokenizer.COMMANDS - {TokenType.EXECUTE}

    return FlinkTokenizer().tokenize(text)


def _word(token: Any) -> str:
    return token.text.upper() if token.token_type.name not in ("STRING", "IDENTIFIER") else ""


def split_statements(text: str) -> list[list[Any]]:
    """The statements of a script as token lists; ``EXECUTE STATEMENT SET BEGIN ... END`` and the SQL
    client's ``BEGIN STATEMENT SET; ... END;`` are unwrapped into their ``INSERT`` statements."""
    statements: list[list[Any]] = []
    current: list[Any] = []
    for token in _tokenize(text):
        if token.token_type.name == "SEMICOLON":
            if current:
                statements.append(current)
            current = []
            continue
        current.append(token)
        words = [_word(t) for t in current]
        if words in (["EXECUTE", "STATEMENT", "SET", "BEGIN"], ["BEGIN", "STATEMENT", "SET"]):
            current = []
        elif words == ["END"]:
            current = []
    if current:
        statements.append(current)
    return statements


def _name_at(tokens: list[Any], i: int) -> tuple[str, int]:
    """A (dotted, possibly backticked) object name starting at ``tokens[i]``, and the index after it."""
    parts: list[str] = []
    while i < len(tokens) and tokens[i].token_type.name not in ("L_PAREN", "R_PAREN", "COMMA", "STRING", "EQ"):
        parts.append(tokens[i].text)
        i += 1
        if i < len(tokens) and tokens[i].token_type.name == "DOT":
            i += 1
        else:
            break
    return ".".join(parts), i


def _matching_paren(tokens: list[Any], i: int) -> int:
    depth = 0
    for j in range(i, len(tokens)):
        kind = tokens[j].token_type.name
        depth += kind == "L_PAREN"
        depth -= kind == "R_PAREN"
        if depth == 0:
            return j
    return len(tokens) - 1


def _options(tokens: list[Any]) -> dict[str, str]:
    """``'k' = 'v', ...`` between parentheses."""
    strings = [t for t in tokens if t.token_type.name not in ("EQ", "COMMA")]
    return {strings[i].text: strings[i + 1].text for i in range(0, len(strings) - 1, 2)
            if strings[i].token_type.name == "STRING"}


def _columns(tokens: list[Any], text: str) -> tuple[tuple[str, str], ...]:
    """Physical and metadata columns ``(name, type)`` of a column list (computed columns, ``WATERMARK``,
    ``PRIMARY KEY`` and ``CONSTRAINT`` entries are skipped)."""
    items: list[list[Any]] = [[]]
    depth = 0
    for token in tokens:
        kind = token.token_type.name
        depth += kind == "L_PAREN"
        depth -= kind == "R_PAREN"
        if kind == "COMMA" and depth == 0:
            items.append([])
        else:
            items[-1].append(token)
    columns = []
    for item in items:
        if len(item) < 2 or _word(item[0]).split(" ")[0] in ("WATERMARK", "PRIMARY", "CONSTRAINT", "PERIOD", "LIKE"):
            continue
        if _word(item[1]) == "AS":  # computed column
            continue
        end = len(item)
        for j, token in enumerate(item[1:], start=1):
            if _word(token) in ("METADATA", "COMMENT", "NOT", "NULL", "PRIMARY", "CONSTRAINT"):
                end = j
                break
        columns.append((item[0].text, text[item[1].start:item[end - 1].end + 1]))
    return tuple(columns)


def _query_sources(tokens: list[Any], text: str, lineage: FlinkSqlLineage) -> list[str]:
    """Tables a query reads: by sqlglot's parser, else by the names after FROM / JOIN / TABLE."""
    import sqlglot
    from sqlglot import exp

    query = text[tokens[0].start:tokens[-1].end + 1]
    try:
        tree = sqlglot.parse_one(query, read="hive", error_level=sqlglot.ErrorLevel.RAISE)
        ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
        names = []
        for table in tree.find_all(exp.Table):
            name = ".".join(part.name for part in table.parts)
            if name and name not in ctes and name not in names:
                names.append(name)
        return names
    except Exception as exc:  # sqlglot has no Flink dialect: see the module docstring for what it misses
        # Neither the query nor the error text (which quotes it): a query may hold literals that are secrets.
        log.debug("sqlglot could not parse a query (%s); reading its tokens", type(exc).__name__)
        lineage.fallbacks.append(query)
    names = []
    for i, token in enumerate(tokens[:-1]):
        if _word(token) in ("FROM", "JOIN", "TABLE") and tokens[i + 1].token_type.name != "L_PAREN" \
                and _word(tokens[i + 1]) not in ("TABLE", "LATERAL", "UNNEST"):
            name, _ = _name_at(tokens, i + 1)
            if name and name not in names:
                names.append(name)
    return names


def parse_flink_sql(text: str) -> FlinkSqlLineage:
    """Read the tables a Flink SQL script declares, reads and writes.

    :param text: the script (``;``-separated statements).
    """
    lineage = FlinkSqlLineage()
    views: dict[str, list[str]] = {}
    columns: dict[str, tuple[tuple[str, str], ...]] = {}
    reads: list[str] = []
    writes: list[str] = []
    for tokens in split_statements(text):
        words = [_word(t) for t in tokens]
        if words[0] == "SET" and len(tokens) >= 4 and tokens[2].token_type.name == "EQ":
            lineage.settings[tokens[1].text] = tokens[3].text
            continue
        if words[0] == "CREATE":
            i = 1
            while i < len(words) and words[i] in ("TEMPORARY", "OR", "REPLACE", "SYSTEM"):
                i += 1
            what = words[i] if i < len(words) else ""
            i += 1
            if words[i:i + 3] == ["IF", "NOT", "EXISTS"]:
                i += 3
            name, i = _name_at(tokens, i)
            if what == "VIEW":
                as_at = words.index("AS", i) if "AS" in words[i:] else None
                views[name] = _query_sources(tokens[as_at + 1:], text, lineage) if as_at else []
                continue
            if what != "TABLE":
                continue
            if i < len(tokens) and tokens[i].token_type.name == "L_PAREN":
                end = _matching_paren(tokens, i)
                columns[name] = _columns(tokens[i + 1:end], text)
                i = end + 1
            options: dict[str, str] = {}
            while i < len(tokens):
                if words[i] == "WITH" and i + 1 < len(tokens) and tokens[i + 1].token_type.name == "L_PAREN":
                    end = _matching_paren(tokens, i + 1)
                    options.update(_options(tokens[i + 2:end]))
                    i = end + 1
                elif words[i] == "LIKE":
                    source, i = _name_at(tokens, i + 1)
                    options = {**lineage.tables.get(source, {}), **options}
                elif words[i] == "AS":  # CREATE TABLE ... AS SELECT
                    reads += _query_sources(tokens[i + 1:], text, lineage)
                    writes.append(name)
                    break
                else:
                    i += 1
            lineage.tables[name] = options
            continue
        if words[0] == "INSERT" and len(words) > 2 and words[1] in ("INTO", "OVERWRITE"):
            target, i = _name_at(tokens, 2)
            writes.append(target)
            start = next((j for j in range(i, len(words)) if words[j] in ("SELECT", "WITH", "VALUES", "(")
                          and (words[j] != "(" or (j + 1 < len(words) and words[j + 1] in ("SELECT", "WITH")))), None)
            if start is not None and words[start] != "VALUES":
                reads += _query_sources(tokens[start:], text, lineage)
    lineage.inputs = _resolve(_expand(reads, views), lineage.tables, columns)
    lineage.outputs = _resolve(writes, lineage.tables, columns)
    return lineage


def _expand(names: list[str], views: dict[str, list[str]], depth: int = 0) -> list[str]:
    """Replace views by the tables they read (views of views too)."""
    result: list[str] = []
    for name in names:
        found = views.get(name) if depth < 10 else None
        for item in (_expand(found, views, depth + 1) if found is not None else [name]):
            if item not in result:
                result.append(item)
    return result


def _lookup(name: str, mapping: dict[str, Any]) -> str | None:
    """The declared table a reference means (``default_catalog.default_database.t`` means ``t``)."""
    if name in mapping:
        return name
    short = name.split(".")[-1]
    for declared in mapping:
        if declared == short or declared.split(".")[-1] == short or declared.lower() == name.lower():
            return declared
    return None


def _resolve(names: list[str], tables: dict[str, dict[str, str]],
             columns: dict[str, tuple[tuple[str, str], ...]]) -> list[DatasetRef]:
    refs: list[DatasetRef] = []
    for name in names:
        declared = _lookup(name, tables)
        if declared is None:
            found = [DatasetRef(CATALOG_NAMESPACE, name, "", name)]
        else:
            found = [DatasetRef(r.namespace, r.name, r.connector, declared, columns.get(declared, ()))
                     for r in from_connector_options(tables[declared], declared)]
        refs += [r for r in found if (r.namespace, r.name) not in {(x.namespace, x.name) for x in refs}]
    return refs
