"""What the job kinds share: a file given inline, read from a local path, or already in the image."""

from pathlib import Path
from typing import Any, ClassVar

from airflow_flink_operator.errors import SpecProblem
from airflow_flink_operator.models.job import JobSpec


class FileDeliveringJob(JobSpec):
    """A job kind whose main file (SQL script, Python script, config) reaches the pods somehow.

    Subclasses name three fields for one file: inline text, a local file read at render time,
    or a path already present in the Flink image. Exactly one must be set. Inline text and local
    files are delivered in a ConfigMap mounted into ``flink-main-container``.
    """

    #: (inline field, local file field, in-image path field) of the main file.
    _source_fields: ClassVar[tuple[str, str, str]] = ("", "", "")
    #: Name of the main file inside the mounted directory.
    _main_file_field: ClassVar[str] = ""
    #: The directory field where delivered files are mounted.
    _dir_field: ClassVar[str] = ""

    def _inline(self) -> str | None:
        return getattr(self, self._source_fields[0])

    def _local_file(self) -> str | Path | None:
        return getattr(self, self._source_fields[1])

    def _image_path(self) -> str | None:
        return getattr(self, self._source_fields[2])

    def delivers_files(self) -> bool:
        """True when files travel in a ConfigMap (inline text or a local file)."""
        return self._inline() is not None or self._local_file() is not None

    def main_file_path(self) -> str:
        """Where the main file is inside the pods."""
        if self._image_path() is not None:
            return self._image_path()  # type: ignore[return-value]
        return f"{self.mount_dir().rstrip('/')}/{getattr(self, self._main_file_field)}"  # type: ignore[union-attr]

    def mount_dir(self) -> str | None:
        """Directory where delivered files are mounted."""
        return getattr(self, self._dir_field) if self.delivers_files() else None

    def main_file_content(self) -> str:
        """The main file's text (inline, or read from the local file)."""
        inline = self._inline()
        if inline is not None:
            return inline
        return Path(self._local_file()).read_text()  # type: ignore[arg-type]

    def files(self) -> dict[str, str]:
        """The main file (plus any extra files of the job kind) for the ConfigMap."""
        if not self.delivers_files():
            return {}
        return {getattr(self, self._main_file_field): self.main_file_content(), **self.extra_files()}

    def extra_files(self) -> dict[str, str]:
        """Files delivered beside the main file."""
        return {}

    def source_problems(self, field: str) -> list[SpecProblem]:
        """Exactly one source; a local file must be readable; content must not be blank."""
        inline_f, file_f, path_f = self._source_fields
        given = [f for f in self._source_fields if getattr(self, f) is not None]
        if len(given) != 1:
            return [SpecProblem(
                field,
                f"{'no' if not given else 'more than one'} source given for the {self.kind} file "
                f"({', '.join(given) or 'none'}).",
                f"Set exactly one of {inline_f} (inline text), {file_f} (a local file read at render time) "
                f"or {path_f} (a path already inside the Flink image).",
            )]
        if given[0] == file_f:
            try:
                text = Path(self._local_file()).read_text()  # type: ignore[arg-type]
            except OSError as exc:
                return [SpecProblem(f"{field}.{file_f}", f"cannot be read: {exc.strerror or exc}.",
                                    "Give a readable local file, or pass the content inline.")]
        elif given[0] == inline_f:
            text = self._inline() or ""
        else:
            text = "x"
        if not text.strip():
            return [SpecProblem(f"{field}.{given[0]}", "is empty.", f"Give the {self.kind} content.")]
        return []

    def application_problems(self, field: str, flink_version: str | None) -> list[SpecProblem]:
        """Source checks, then the job kind's own checks, then the jar URI's scheme."""
        problems = self.source_problems(field)
        if not problems:
            problems += self.content_problems(field)
        return problems + super().application_problems(field, flink_version)

    def content_problems(self, field: str) -> list[SpecProblem]:
        """The job kind's checks of the file's content."""
        return []

    def session_job_problems(self, field, operator_version, allowed_schemes=None):  # type: ignore[no-untyped-def]
        """A session job cannot carry files: the session cluster's pods already exist."""
        problems = self.source_problems(field)
        if self.delivers_files():
            inline_f, file_f, path_f = self._source_fields
            problems.append(SpecProblem(
                f"{field}.{inline_f if self._inline() is not None else file_f}",
                f"a session job cannot deliver files: the session cluster's pods already exist and a "
                f"FlinkSessionJob has no pod template to mount a ConfigMap into.",
                f"Mount the file on the session cluster's FlinkDeployment (e.g. PodTemplate(files=[...])) "
                f"and pass its path as {path_f}, or run this job as a FlinkDeployment (application mode).",
            ))
        return problems + super().session_job_problems(field, operator_version, allowed_schemes)

    @staticmethod
    def _put(data: dict[str, Any], by_alias: bool, **values: Any) -> dict[str, Any]:
        """Set jar/entry class/args in a serialised job, keeping them first as in the CRD."""
        names = {"jar_uri": "jarURI", "entry_class": "entryClass", "args": "args"}
        head = {}
        for key, value in values.items():
            name = names[key] if by_alias else key
            data.pop(name, None)
            if value is not None:
                head[name] = value
        return {**head, **data}
