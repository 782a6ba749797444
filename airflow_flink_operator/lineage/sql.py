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
  INTERVAL '1' MINUTE))``, also HOP/CUMULATE/SESSION); and it reads ``EXECUTE STATEMENT SET BEGIN ...
  END`` as an opaque block. So a window table function is replaced by the table it reads before the
  query is parsed; ``MATCH_RECOGNIZE`` is parsed with the Databricks dialect when Hive's fails. Only
  then does this module fall back to the tokens: the names after ``FROM``/``JOIN`` (and ``FROM a, b``)
  at the query's own nesting (not inside a function call: ``EXTRACT(YEAR FROM ts)``,
  ``IS DISTINCT FROM``), identifiers only. When unsure it reports fewer tables, never other ones.
  openlineage-sql (the Rust parser the OpenLineage provider uses) fails on the same constructs
  (``METADATA`` columns, window TVFs, statement sets), so it brings nothing more.

**Names are resolved in full.** ``USE CATALOG``/``USE`` are followed, and every table name is
qualified as Flink qualifies it (``catalog.database.table``; ``default_catalog.default_database``
to start with): ``FROM hive_cat.sales.orders`` is not the ``orders`` the script declares. A table the
script does not declare is named from its catalog's ``CREATE CATALOG`` when that says where it lives
(Iceberg hadoop/hive with a ``warehouse``, Paimon, JDBC: :func:`.datasets.catalog_table`); otherwise
(Hive, REST catalogs, catalogs created outside the script) it is left out. Not seen either: the
tables behind a ``LIKE`` clause whose connector is set only there, ``EXECUTE PLAN``/``COMPILE PLAN``,
and statements generated at run time.

sqlglot is in the ``openlineage`` extra; without it, SQL jobs report no datasets and a one-time
warning says what to install.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from airflow_flink_operator.lineage.datasets import DatasetRef, catalog_table, from_connector_options

log = logging.getLogger(__name__)

#: Flink's built-in catalog and database, current until ``USE CATALOG``/``USE`` changes them.
DEFAULT_CATALOG, DEFAULT_DATABASE = "default_catalog", "default_database"
#: The hint logged once when sqlglot is missing.
SQLGLOT_HINT = ("OpenLineage: Flink SQL jobs report no datasets because sqlglot is not installed; "
                "install the extra: pip install 'airflow-flink-operator[openlineage]'")
_hinted: list[bool] = []


@dataclass
class FlinkSqlLineage:
    """What a Flink SQL script reads and writes.

    :param inputs: the datasets read.
    :param outputs: the datasets written.
    :param settings: ``SET 'key' = 'value'`` options, in order (the last one wins).
    :param tables: ``CREATE TABLE`` name (as written) → its ``WITH`` options.
    :param catalogs: ``CREATE CATALOG`` name → its ``WITH`` options.
    :param fallbacks: queries sqlglot could not parse, read from their tokens instead.
    """

    inputs: list[DatasetRef] = field(default_factory=list)
    outputs: list[DatasetRef] = field(default_factory=list)
    settings: dict[str, str] = field(default_factory=dict)
    tables: dict[str, dict[str, str]] = field(default_factory=dict)
    catalogs: dict[str, dict[str, str]] = field(default_factory=dict)
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


def _parts_at(tokens: list[Any], i: int) -> tuple[list[str], int]:
    """The parts of a (dotted, possibly backticked) object name starting at ``tokens[i]``, and the index after it."""
    parts: list[str] = []
    while i < len(tokens) and tokens[i].token_type.name not in ("L_PAREN", "R_PAREN", "COMMA", "STRING", "EQ"):
        parts.append(tokens[i].text)
        i += 1
        if i < len(tokens) and tokens[i].token_type.name == "DOT":
            i += 1
        else:
            break
    return parts, i


def _name_at(tokens: list[Any], i: int) -> tuple[str, int]:
    parts, i = _parts_at(tokens, i)
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


Name = tuple[str, ...]


def _without_window_tvfs(tokens: list[Any], text: str) -> str:
    """The query with each ``TABLE(TUMBLE(TABLE t, ...))`` (any window function) replaced by ``t``."""
    out, last, i = [], tokens[0].start, 0
    while i < len(tokens) - 3:
        if _word(tokens[i]) == "TABLE" and tokens[i + 1].token_type.name == "L_PAREN":
            end = _matching_paren(tokens, i + 1)
            inner = [j for j in range(i + 2, end) if _word(tokens[j]) == "TABLE"
                     and tokens[j + 1].token_type.name != "L_PAREN"]
            if inner:
                parts, _ = _parts_at(tokens, inner[0] + 1)
                out += [text[last:tokens[i].start], ".".join(f"`{p}`" for p in parts)]
                last, i = tokens[end].end + 1, end + 1
                continue
        i += 1
    return "".join(out) + text[last:tokens[-1].end + 1]


def _parsed_sources(query: str) -> list[Name] | None:
    """Tables of a query by sqlglot (Hive's dialect, then Databricks' for ``MATCH_RECOGNIZE``), or ``None``."""
    import sqlglot
    from sqlglot import exp

    for dialect in ("hive", "databricks"):
        try:
            tree = sqlglot.parse_one(query, read=dialect, error_level=sqlglot.ErrorLevel.RAISE)
        except Exception:  # sqlglot has no Flink dialect: see the module docstring for what it misses
            continue
        ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
        names: list[Name] = []
        for table in tree.find_all(exp.Table):
            if not isinstance(table.this, exp.Identifier):  # a table function, UNNEST...
                continue
            name = tuple(part.name for part in table.parts)
            if name and not (len(name) == 1 and name[0] in ctes) and name not in names:
                names.append(name)
        return names
    return None


def _token_sources(tokens: list[Any]) -> list[Name]:
    """Tables after ``FROM``/``JOIN`` (and ``FROM a, b``) at the query's own nesting: not inside a function
    call, not ``IS DISTINCT FROM``; identifiers only, never a number, a string or a function."""
    names: list[Name] = []
    stack: list[bool] = []  # per open parenthesis: does it hold a query?
    expect = False  # after FROM/JOIN or a comma of a FROM list
    for i, token in enumerate(tokens):
        kind, word = token.token_type.name, _word(token)
        if kind == "L_PAREN":
            after = _word(tokens[i + 1]) if i + 1 < len(tokens) else ""
            stack.append(after in ("SELECT", "WITH", "VALUES", "(") or (i > 0 and _word(tokens[i - 1]) == "IN"
                                                                       and after == "SELECT"))
            expect = False
            continue
        if kind == "R_PAREN":
            stack.pop() if stack else None
            continue
        if not all(stack):
            continue
        if word in ("FROM", "JOIN") and (i == 0 or _word(tokens[i - 1]) != "DISTINCT"):
            expect = True
        elif expect and word == "TABLE" and i + 1 < len(tokens) and tokens[i + 1].token_type.name == "L_PAREN":
            end = _matching_paren(tokens, i + 1)  # a window TVF: TABLE(TUMBLE(TABLE t, ...)) reads t
            inner = [j for j in range(i + 2, end) if _word(tokens[j]) == "TABLE"
                     and tokens[j + 1].token_type.name in ("VAR", "IDENTIFIER")]
            if inner and tuple(_parts_at(tokens, inner[0] + 1)[0]) not in names:
                names.append(tuple(_parts_at(tokens, inner[0] + 1)[0]))
            expect = False
        elif expect and kind in ("VAR", "IDENTIFIER") and (i + 1 >= len(tokens)
                                                          or tokens[i + 1].token_type.name != "L_PAREN"):
            parts, _ = _parts_at(tokens, i)
            if tuple(parts) not in names:
                names.append(tuple(parts))
            expect = False
        elif kind == "COMMA" and names and _from_list(tokens, i):
            expect = True
        elif kind not in ("DOT",):
            expect = False
    return names


def _from_list(tokens: list[Any], i: int) -> bool:
    """Whether the comma at ``i`` separates tables of a ``FROM a [AS x], b`` list."""
    j = i - 1
    while j >= 0 and tokens[j].token_type.name in ("VAR", "IDENTIFIER", "DOT", "ALIAS"):
        j -= 1
    return j >= 0 and _word(tokens[j]) == "FROM"


def _query_sources(tokens: list[Any], text: str, lineage: FlinkSqlLineage) -> list[Name]:
    """Tables a query reads: by sqlglot's parser, else by its tokens (see the module docstring)."""
    query = text[tokens[0].start:tokens[-1].end + 1]
    names = _parsed_sources(_without_window_tvfs(tokens, text))
    if names is not None:
        return names
    # Neither the query nor sqlglot's error (which quotes it): a query may hold literals that are secrets.
    log.debug("sqlglot could not parse a query; reading its tokens")
    lineage.fallbacks.append(query)
    return _token_sources(tokens)


class _Scope:
    """The current catalog and database (``USE CATALOG``/``USE``), to qualify names as Flink does."""

    def __init__(self, catalogs: dict[str, dict[str, str]]) -> None:
        self.catalog, self.database, self.catalogs = DEFAULT_CATALOG, DEFAULT_DATABASE, catalogs

    def use(self, parts: list[str], catalog: bool) -> None:
        if catalog:
            self.catalog = parts[-1]
            options = self.catalogs.get(self.catalog, {})
            self.database = options.get("default-database", "default" if self.catalog in self.catalogs
                                        else DEFAULT_DATABASE)
        elif parts:
            self.database = parts[-1]
            self.catalog = parts[-2] if len(parts) > 1 else self.catalog

    def qualify(self, parts: list[str] | Name) -> Name:
        parts = list(parts)
        return tuple([self.catalog, self.database][:max(0, 3 - len(parts))] + parts)


def parse_flink_sql(text: str) -> FlinkSqlLineage:
    """Read the tables a Flink SQL script declares, reads and writes.

    :param text: the script (``;``-separated statements).
    """
    lineage = FlinkSqlLineage()
    try:
        import sqlglot  # noqa: F401
    except ImportError:
        if not _hinted:
            _hinted.append(True)
            log.warning(SQLGLOT_HINT)
        return lineage
    scope = _Scope(lineage.catalogs)
    views: dict[Name, list[Name]] = {}
    declared: dict[Name, str] = {}  # qualified name → the name as written (a key of lineage.tables)
    columns: dict[str, tuple[tuple[str, str], ...]] = {}
    reads: list[Name] = []
    writes: list[Name] = []
    for tokens in split_statements(text):
        words = [_word(t) for t in tokens]
        if words[0] == "SET" and len(tokens) >= 4 and tokens[2].token_type.name == "EQ":
            lineage.settings[tokens[1].text] = tokens[3].text
            continue
        if words[0] == "USE":
            is_catalog = len(words) > 1 and words[1] == "CATALOG"
            scope.use(_parts_at(tokens, 2 if is_catalog else 1)[0], is_catalog)
            continue
        if words[0] == "CREATE":
            i = 1
            while i < len(words) and words[i] in ("TEMPORARY", "OR", "REPLACE", "SYSTEM"):
                i += 1
            what = words[i] if i < len(words) else ""
            i += 1
            if words[i:i + 3] == ["IF", "NOT", "EXISTS"]:
                i += 3
            parts, i = _parts_at(tokens, i)
            name = ".".join(parts)
            if what == "VIEW":
                as_at = words.index("AS", i) if "AS" in words[i:] else None
                views[scope.qualify(parts)] = [scope.qualify(n) for n in _query_sources(tokens[as_at + 1:], text,
                                                                                          lineage)] if as_at else []
                continue
            if what not in ("TABLE", "CATALOG"):
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
                elif words[i] == "AS" and what == "TABLE":  # CREATE TABLE ... AS SELECT
                    reads += [scope.qualify(n) for n in _query_sources(tokens[i + 1:], text, lineage)]
                    writes.append(scope.qualify(parts))
                    break
                else:
                    i += 1
            if what == "CATALOG":
                lineage.catalogs[name] = options
                continue
            lineage.tables[name] = options
            declared[scope.qualify(parts)] = name
            continue
        if words[0] == "INSERT" and len(words) > 2 and words[1] in ("INTO", "OVERWRITE"):
            i = 3 if words[2] == "TABLE" else 2  # Hive dialect: INSERT OVERWRITE TABLE db.t PARTITION (...)
            parts, i = _parts_at(tokens, i)
            writes.append(scope.qualify(parts))
            start = next((j for j in range(i, len(words)) if words[j] in ("SELECT", "WITH", "VALUES", "(")
                          and (words[j] != "(" or (j + 1 < len(words) and words[j + 1] in ("SELECT", "WITH")))), None)
            if start is not None and words[start] != "VALUES":
                reads += [scope.qualify(n) for n in _query_sources(tokens[start:], text, lineage)]
    lineage.inputs = _resolve(_expand(reads, views), declared, lineage, columns)
    lineage.outputs = _resolve(writes, declared, lineage, columns)
    return lineage


def _expand(names: list[Name], views: dict[Name, list[Name]], depth: int = 0) -> list[Name]:
    """Replace views by the tables they read (views of views too)."""
    result: list[Name] = []
    for name in names:
        found = views.get(name) if depth < 10 else None
        for item in (_expand(found, views, depth + 1) if found is not None else [name]):
            if item not in result:
                result.append(item)
    return result


def _resolve(names: list[Name], declared: dict[Name, str], lineage: FlinkSqlLineage,
             columns: dict[str, tuple[tuple[str, str], ...]]) -> list[DatasetRef]:
    """Datasets of fully qualified names: a declared table by its connector (or, with none, its catalog),
    another table by the ``CREATE CATALOG`` of its catalog; the rest is left out."""
    refs: list[DatasetRef] = []
    for name in names:
        written = declared.get(name)
        options = lineage.tables.get(written, {}) if written is not None else {}
        catalog = lineage.catalogs.get(name[0]) if len(name) == 3 else None
        if options.get("connector") == "iceberg":  # catalog-database: the current Flink database by default
            options = {"catalog-database": name[1], **options} if len(name) == 3 else options
        if options.get("connector"):
            found = from_connector_options(options, written or "")
        elif catalog is not None:
            found = catalog_table(catalog, name[1], name[2], written or ".".join(name))
        else:
            log.debug("OpenLineage: table %s is neither declared nor in a catalog the script creates: left out",
                      ".".join(name))
            found = []
        table_columns = columns.get(written or "", ())
        found = [DatasetRef(r.namespace, r.name, r.connector, r.table, table_columns) for r in found]
        refs += [r for r in found if (r.namespace, r.name) not in {(x.namespace, x.name) for x in refs}]
    return refs
