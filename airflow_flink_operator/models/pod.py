"""Pod template building blocks, always addressing the ``flink-main-container``.

A :class:`PodTemplate` renders to a plain core/v1 ``PodTemplateSpec`` dict. Typed helpers cover
what Flink jobs usually need (artifact download in an init container, a log-shipping sidecar,
files from ConfigMaps, environment from Secrets); the raw fields take anything else in core/v1.
Secret *values* never pass through here: only references to Secrets.
"""

import copy
from typing import Any

from pydantic import Field

from airflow_flink_operator.constants import MAIN_CONTAINER
from airflow_flink_operator.models.base import AbsolutePath, EnvName, FileName, FlinkModel, Uri


class SecretEnv(FlinkModel):
    """An environment variable of the Flink container taken from a Secret key (``secretKeyRef``).

    :param name: the variable's name, e.g. ``DB_PASSWORD``.
    :param secret: the Secret's name.
    :param key: the key inside the Secret.
    :param optional: start even if the Secret or key is missing.
    """

    name: EnvName = Field(description="Variable name.")
    secret: str = Field(min_length=1, description="Secret name.")
    key: str = Field(min_length=1, description="Key in the Secret.")
    optional: bool | None = Field(default=None, description="Tolerate a missing Secret or key.")

    def env_var(self) -> dict[str, Any]:
        """The core/v1 ``EnvVar``."""
        ref: dict[str, Any] = {"name": self.secret, "key": self.key}
        if self.optional is not None:
            ref["optional"] = self.optional
        return {"name": self.name, "valueFrom": {"secretKeyRef": ref}}


class SecretEnvFrom(FlinkModel):
    """All keys of a Secret as environment variables of the Flink container (``envFrom``).

    :param secret: the Secret's name.
    :param prefix: prepended to every variable name.
    """

    secret: str = Field(min_length=1, description="Secret name.")
    prefix: str | None = Field(default=None, description="Prefix for every variable name.")

    def env_from(self) -> dict[str, Any]:
        """The core/v1 ``EnvFromSource``."""
        source: dict[str, Any] = {"secretRef": {"name": self.secret}}
        if self.prefix:
            source["prefix"] = self.prefix
        return source


class ConfigMapFile(FlinkModel):
    """Mount one key of an existing ConfigMap as a file in the Flink container.

    :param config_map: the ConfigMap's name.
    :param key: the key inside it.
    :param mount_path: absolute path of the file in the container.
    """

    config_map: str = Field(min_length=1, description="ConfigMap name.")
    key: str = Field(min_length=1, description="Key in the ConfigMap.")
    mount_path: AbsolutePath = Field(description="Absolute file path in the container.")

    def volume_name(self) -> str:
        """A volume name unique to this ConfigMap (DNS label, at most 63 characters)."""
        return f"cm-{self.config_map}"[:63].rstrip("-.")


class ArtifactDownload(FlinkModel):
    """Fetch a file into a shared ``emptyDir`` before Flink starts (an init container).

    The Flink container sees the file at ``<directory>/<file_name>``, so a job can use
    ``jarURI: local://<directory>/<file_name>``.

    :param url: where to download from (``https://...``).
    :param directory: the shared directory in both containers.
    :param file_name: the file's name there (default: the URL's last path segment).
    :param image: the init container's image (must have ``wget``).
    :param name: the init container's name.
    """

    url: Uri = Field(description="Source URL.")
    directory: AbsolutePath = Field(default="/opt/flink/downloads", description="Shared directory.")
    file_name: FileName | None = Field(default=None, description="File name in the directory.")
    image: str = Field(default="busybox:1.36", description="Init container image with wget.")
    name: str = Field(default="fetch-artifact", description="Init container name.")

    def target(self) -> str:
        """Absolute path of the downloaded file."""
        name = self.file_name or self.url.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0]
        return f"{self.directory.rstrip('/')}/{name}"

    def local_uri(self) -> str:
        """``local://`` URI of the downloaded file, for ``jarURI``."""
        return f"local://{self.target()}"


class LogShipper(FlinkModel):
    """A sidecar that tails the Flink log directory, shared through an ``emptyDir``.

    :param image: the shipper's image (e.g. ``fluent/fluent-bit:3.1``).
    :param name: the sidecar's name.
    :param log_dir: Flink's log directory.
    :param command: the sidecar's command (default: the image's entrypoint).
    :param args: its arguments.
    :param env: extra core/v1 ``EnvVar`` dicts for the sidecar.
    """

    image: str = Field(min_length=1, description="Log shipper image.")
    name: str = Field(default="log-shipper", description="Sidecar name.")
    log_dir: AbsolutePath = Field(default="/opt/flink/log", description="Flink log directory.")
    command: list[str] | None = Field(default=None, description="Command.")
    args: list[str] | None = Field(default=None, description="Arguments.")
    env: list[dict[str, Any]] | None = Field(default=None, description="Extra environment.")


class PodTemplate(FlinkModel):
    """A pod template for the global, JobManager or TaskManager level.

    Renders to a core/v1 ``PodTemplateSpec`` whose first container is ``flink-main-container``
    (arrays merge by position between levels, so it always comes first).

    :param labels: pod labels.
    :param annotations: pod annotations.
    :param env: extra ``EnvVar`` dicts for the Flink container (literal values: never secrets).
    :param secret_env: Flink container variables from Secret keys.
    :param secret_env_from: whole Secrets as Flink container environment.
    :param files: existing ConfigMap keys mounted as files in the Flink container.
    :param downloads: artifacts fetched by init containers into shared directories.
    :param log_shipper: a sidecar tailing the Flink log directory.
    :param init_containers: raw core/v1 init containers.
    :param sidecars: raw core/v1 containers run beside Flink.
    :param volumes: raw core/v1 volumes.
    :param volume_mounts: raw ``VolumeMount`` dicts for the Flink container.
    :param main_container: raw fields for the Flink container (``resources``, ``securityContext``…).
    :param spec: raw pod spec fields (``nodeSelector``, ``tolerations``, ``serviceAccountName``…).
    """

    labels: dict[str, str] | None = Field(default=None, description="Pod labels.")
    annotations: dict[str, str] | None = Field(default=None, description="Pod annotations.")
    env: list[dict[str, Any]] = Field(default_factory=list, description="Literal env vars.")
    secret_env: list[SecretEnv] = Field(default_factory=list, description="Env vars from Secret keys.")
    secret_env_from: list[SecretEnvFrom] = Field(default_factory=list, description="Env from whole Secrets.")
    files: list[ConfigMapFile] = Field(default_factory=list, description="ConfigMap keys as files.")
    downloads: list[ArtifactDownload] = Field(default_factory=list, description="Init-container downloads.")
    log_shipper: LogShipper | None = Field(default=None, description="Log-shipping sidecar.")
    init_containers: list[dict[str, Any]] = Field(default_factory=list, description="Raw init containers.")
    sidecars: list[dict[str, Any]] = Field(default_factory=list, description="Raw sidecar containers.")
    volumes: list[dict[str, Any]] = Field(default_factory=list, description="Raw volumes.")
    volume_mounts: list[dict[str, Any]] = Field(default_factory=list, description="Raw Flink container mounts.")
    main_container: dict[str, Any] | None = Field(default=None, description="Raw Flink container fields.")
    spec: dict[str, Any] | None = Field(default=None, description="Raw pod spec fields.")

    def build(self) -> dict[str, Any]:
        """The core/v1 ``PodTemplateSpec`` as a dict."""
        main: dict[str, Any] = copy.deepcopy(self.main_container or {})
        if main.get("name", MAIN_CONTAINER) != MAIN_CONTAINER:
            raise ValueError(
                f"main_container.name is {main['name']!r}; the operator only merges a container named "
                f"{MAIN_CONTAINER!r}. Leave the name out."
            )
        main["name"] = MAIN_CONTAINER
        mounts: list[dict[str, Any]] = list(main.pop("volumeMounts", [])) + copy.deepcopy(self.volume_mounts)
        env: list[dict[str, Any]] = list(main.pop("env", [])) + copy.deepcopy(self.env)
        env += [s.env_var() for s in self.secret_env]
        env_from: list[dict[str, Any]] = list(main.pop("envFrom", [])) + [s.env_from() for s in self.secret_env_from]
        volumes: list[dict[str, Any]] = copy.deepcopy(self.volumes)
        init_containers = copy.deepcopy(self.init_containers)
        sidecars = copy.deepcopy(self.sidecars)

        def add_volume(volume: dict[str, Any]) -> None:
            if all(v.get("name") != volume["name"] for v in volumes):
                volumes.append(volume)

        for f in self.files:
            add_volume({"name": f.volume_name(), "configMap": {"name": f.config_map}})
            mounts.append({"name": f.volume_name(), "mountPath": f.mount_path, "subPath": f.key})
        for i, d in enumerate(self.downloads):
            vol = "downloads" if i == 0 else f"downloads-{i}"
            add_volume({"name": vol, "emptyDir": {}})
            mounts.append({"name": vol, "mountPath": d.directory})
            init_containers.append(
                {
                    "name": d.name if len(self.downloads) == 1 else f"{d.name}-{i}",
                    "image": d.image,
                    "command": ["wget", "-O", d.target(), d.url],
                    "volumeMounts": [{"name": vol, "mountPath": d.directory}],
                }
            )
        if self.log_shipper is not None:
            ls = self.log_shipper
            add_volume({"name": "flink-logs", "emptyDir": {}})
            mounts.append({"name": "flink-logs", "mountPath": ls.log_dir})
            sidecar: dict[str, Any] = {
                "name": ls.name,
                "image": ls.image,
                "volumeMounts": [{"name": "flink-logs", "mountPath": ls.log_dir}],
            }
            for key, value in (("command", ls.command), ("args", ls.args), ("env", ls.env)):
                if value:
                    sidecar[key] = value
            sidecars.append(sidecar)

        if mounts:
            main["volumeMounts"] = mounts
        if env:
            main["env"] = env
        if env_from:
            main["envFrom"] = env_from

        pod_spec: dict[str, Any] = copy.deepcopy(self.spec or {})
        for key, field_name in (("containers", "sidecars"), ("initContainers", "init_containers"), ("volumes", "volumes")):
            if key in pod_spec:
                raise ValueError(f"spec.{key} is set in the raw pod spec; use PodTemplate's {field_name} field "
                                 "instead so flink-main-container stays first")
        containers = [main, *sidecars] if (len(main) > 1 or sidecars) else []
        if containers:
            pod_spec["containers"] = containers
        if init_containers:
            pod_spec["initContainers"] = init_containers
        if volumes:
            pod_spec["volumes"] = volumes

        template: dict[str, Any] = {"apiVersion": "v1", "kind": "Pod"}
        metadata = {k: v for k, v in (("labels", self.labels), ("annotations", self.annotations)) if v}
        if metadata:
            template["metadata"] = metadata
        template["spec"] = pod_spec
        return template


def coerce_pod_template(value: Any) -> Any:
    """Accept a :class:`PodTemplate` where a raw pod template dict is expected."""
    if isinstance(value, PodTemplate):
        return value.build()
    return value


def add_main_container_mount(template: dict[str, Any] | None, volume: dict[str, Any], mount: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of ``template`` with ``volume`` added and ``mount`` on ``flink-main-container``.

    Creates the template and the main container (first, as position merging needs) if absent.
    """
    result = copy.deepcopy(template) if template else {"apiVersion": "v1", "kind": "Pod"}
    spec = result.setdefault("spec", {})
    containers = spec.setdefault("containers", [])
    main = next((c for c in containers if c.get("name") == MAIN_CONTAINER), None)
    if main is None:
        main = {"name": MAIN_CONTAINER}
        containers.insert(0, main)
    main.setdefault("volumeMounts", []).append(mount)
    spec.setdefault("volumes", []).append(volume)
    return result
