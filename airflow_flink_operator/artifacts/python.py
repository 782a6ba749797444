"""A PyFlink job run through Flink's ``PythonDriver``."""

from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from airflow_flink_operator.models.base import AbsolutePath, FileName

from airflow_flink_operator.artifacts.base import FileDeliveringJob
from airflow_flink_operator.errors import SpecProblem

PYTHON_DRIVER = "org.apache.flink.client.python.PythonDriver"


class PythonJob(FileDeliveringJob):
    """A PyFlink program (as in the operator's ``flink-python-example``).

    The image needs Python and ``apache-flink``; ``jar_uri`` is the ``flink-python`` jar in it
    (e.g. ``local:///opt/flink/opt/flink-python-1.20.0.jar``). Give the entry script inline
    (``script``), as a local file (``script_file``) or as a path in the image (``script_path``).
    Delivered scripts and ``python_files`` are mounted at ``files_dir``, which is also added to
    the Python path (``python.files``) so they can import each other.

    :param script: the entry script's code.
    :param script_file: a local entry script read at render time.
    :param script_path: an entry script already inside the image or session cluster.
    :param python_files: extra modules delivered beside the script (file name → code).
    :param script_name: the entry script's file name in ``files_dir``.
    :param files_dir: where delivered files are mounted.
    :param python_executable: the Python interpreter in the image (``-pyclientexec``).
    :param jar_uri: the ``flink-python`` jar.
    :param args: arguments for the Python program.
    """

    kind = "python"
    _source_fields: ClassVar[tuple[str, str, str]] = ("script", "script_file", "script_path")
    _main_file_field: ClassVar[str] = "script_name"
    _dir_field: ClassVar[str] = "files_dir"

    script: str | None = Field(default=None, exclude=True, description="Entry script code.")
    script_file: Path | None = Field(default=None, exclude=True, description="Local entry script.")
    script_path: AbsolutePath | None = Field(default=None, exclude=True, description="Script in the image.")
    python_files: dict[str, str] = Field(default_factory=dict, exclude=True, description="Extra modules.")
    script_name: FileName = Field(default="main.py", exclude=True, description="File name.")
    files_dir: AbsolutePath = Field(default="/opt/flink/usrlib/python", exclude=True, description="Mount dir.")
    python_executable: str = Field(default="/usr/bin/python3", exclude=True, description="Python interpreter.")
    entry_class: str | None = Field(default=PYTHON_DRIVER, description="PythonDriver.")

    def _finish_job(self, data: dict[str, Any], by_alias: bool) -> dict[str, Any]:
        args = ["-pyclientexec", self.python_executable, "-py", self.main_file_path(), *(self.args or [])]
        return self._put(data, by_alias, jar_uri=self.jar_uri, entry_class=self.entry_class, args=args)

    def extra_files(self) -> dict[str, str]:
        """The extra modules."""
        return dict(self.python_files)

    def flink_configuration(self) -> dict[str, str]:
        """Put the delivered directory on the Python path of the driver and the workers."""
        return {"python.files": self.files_dir} if self.python_files and self.delivers_files() else {}

    def content_problems(self, field: str) -> list[SpecProblem]:
        """Delivered Python must compile; extra file names must be modules."""
        problems: list[SpecProblem] = []
        if not self.delivers_files():
            if self.python_files:
                problems.append(SpecProblem(f"{field}.python_files", "cannot be delivered with script_path.",
                                            "Deliver the entry script too (script or script_file), or bake the "
                                            "modules into the image."))
            return problems
        sources = {self.script_name: self.main_file_content(), **self.python_files}
        for name, code in sources.items():
            if not name.endswith(".py") or "/" in name:
                problems.append(SpecProblem(f"{field}.python_files.{name}", "is not a module file name.",
                                            "Use names like 'udfs.py' (no directories)."))
                continue
            try:
                compile(code, name, "exec")
            except SyntaxError as exc:
                problems.append(SpecProblem(f"{field}.{'script' if name == self.script_name else 'python_files.' + name}",
                                            f"is not valid Python: {exc.msg} (line {exc.lineno}).",
                                            "Fix the syntax error."))
        return problems

    def application_problems(self, field: str, flink_version: str | None) -> list[SpecProblem]:
        """Also: the flink-python jar must be named, its file name depends on the exact Flink release."""
        problems = super().application_problems(field, flink_version)
        if not self.jar_uri:
            problems.append(SpecProblem(f"{field}.jarURI", "names no flink-python jar.",
                                        "Set jar_uri to the flink-python jar in your image, e.g. "
                                        "'local:///opt/flink/opt/flink-python-1.20.0.jar'."))
        return problems
