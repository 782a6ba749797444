"""A Flink SQL script run by a SQL runner jar."""

from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from airflow_flink_operator.models.base import AbsolutePath, FileName, camel_alias

from airflow_flink_operator.artifacts.base import FileDeliveringJob
from airflow_flink_operator.errors import SpecProblem

DEFAULT_SQL_RUNNER = "local:///opt/flink/usrlib/sql-runner.jar"


class SqlJob(FileDeliveringJob):
    """SQL statements run by a SQL runner jar (as in the operator's ``flink-sql-runner-example``).

    The runner takes the script's path as its first argument. Give the SQL inline (``sql``), as
    a local file read at render time (``sql_file``), or as a path already in the image
    (``script_path``). Inline/local SQL is delivered in a ConfigMap mounted at ``scripts_dir``.

    :param sql: the statements.
    :param sql_file: a local file with the statements.
    :param script_path: a script already inside the Flink image or session cluster.
    :param script_name: the script's file name in ``scripts_dir``.
    :param scripts_dir: where delivered scripts are mounted.
    :param jar_uri: the SQL runner jar (default ``local:///opt/flink/usrlib/sql-runner.jar``).
    :param entry_class: the runner's main class (default: the jar manifest's).
    :param args: extra arguments after the script path.
    """

    kind = "sql"
    _source_fields: ClassVar[tuple[str, str, str]] = ("sql", "sql_file", "script_path")
    _main_file_field: ClassVar[str] = "script_name"
    _dir_field: ClassVar[str] = "scripts_dir"

    sql: str | None = Field(default=None, exclude=True, description="SQL statements.")
    sql_file: Path | None = Field(default=None, exclude=True, description="Local SQL file.")
    script_path: AbsolutePath | None = Field(default=None, exclude=True, description="Script in the image.")
    script_name: FileName = Field(default="statements.sql", exclude=True, description="File name.")
    scripts_dir: AbsolutePath = Field(default="/opt/flink/usrlib/sql-scripts", exclude=True, description="Mount dir.")
    jar_uri: str | None = Field(default=DEFAULT_SQL_RUNNER, **camel_alias("jar_uri", "jarURI"), description="SQL runner jar.")

    def _finish_job(self, data: dict[str, Any], by_alias: bool) -> dict[str, Any]:
        return self._put(data, by_alias, jar_uri=self.jar_uri, entry_class=self.entry_class,
                         args=[self.main_file_path(), *(self.args or [])])

    def content_problems(self, field: str) -> list[SpecProblem]:
        """The script must hold at least one statement."""
        if self.delivers_files():
            body = "\n".join(
                line for line in self.main_file_content().splitlines() if not line.strip().startswith("--")
            )
            if not body.strip().strip(";").strip():
                return [SpecProblem(f"{field}.sql", "holds only comments; there is no statement to run.",
                                    "Give at least one SQL statement.")]
        return []
