"""A job packaged as a jar."""

from pydantic import Field

from airflow_flink_operator.models.base import camel_alias

from airflow_flink_operator.models.job import JobSpec


class JarJob(JobSpec):
    """A Java/Scala job in a jar.

    Application mode: ``jar_uri`` is usually ``local:///opt/flink/usrlib/job.jar`` baked into the
    image, or fetched by an init container (:class:`~airflow_flink_operator.models.pod.ArtifactDownload`).
    Session job: an ``https://`` URL the operator downloads and uploads to the session cluster.

    :param jar_uri: the jar.
    :param entry_class: the main class (default: the jar manifest's ``Main-Class``).
    :param args: program arguments.
    """

    kind = "jar"
    jar_uri: str = Field(**camel_alias("jar_uri", "jarURI"), min_length=1, description="Job jar URI.")
