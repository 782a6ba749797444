"""What the emulator serves: the resource types (core and Flink kinds), what ``GET /version`` answers,
and the timestamp format of the objects it writes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from airflow_flink_operator.constants import GROUP, KIND_BLUE_GREEN, PLURALS, VERSION


@dataclass(frozen=True)
class ResourceType:
    """One kind of object the server serves."""

    group: str  # "" for the core group
    version: str
    plural: str
    kind: str
    short_names: tuple[str, ...] = ()
    status_subresource: bool = False
    log_subresource: bool = False

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


CORE_TYPES = (
    ResourceType("", "v1", "configmaps", "ConfigMap", ("cm",)),
    ResourceType("", "v1", "secrets", "Secret"),
    ResourceType("", "v1", "events", "Event", ("ev",)),
    ResourceType("", "v1", "pods", "Pod", ("po",), status_subresource=True, log_subresource=True),
    # The blue/green controller's Ingress following the active colour (IngressUtils.reconcileBlueGreenIngress).
    ResourceType("networking.k8s.io", "v1", "ingresses", "Ingress", ("ing",), status_subresource=True),
)

FLINK_TYPES = (
    ResourceType(GROUP, VERSION, "flinkdeployments", "FlinkDeployment", ("flinkdep",), status_subresource=True),
    ResourceType(GROUP, VERSION, "flinksessionjobs", "FlinkSessionJob", ("sessionjob",), status_subresource=True),
    ResourceType(GROUP, VERSION, "flinkstatesnapshots", "FlinkStateSnapshot", ("flinksnp",), status_subresource=True),
    # CRD flinkbluegreendeployments.flink.apache.org (in the operator 1.15.0 helm chart and on main):
    # shortName flinkbgdep, served version v1beta1, ``subresources: status: {}``.
    ResourceType(GROUP, VERSION, PLURALS[KIND_BLUE_GREEN], KIND_BLUE_GREEN, ("flinkbgdep",), status_subresource=True),
)
SNAPSHOT_PLURAL = "flinkstatesnapshots"
BLUE_GREEN_PLURAL = PLURALS[KIND_BLUE_GREEN]


#: What ``GET /version`` answers: a real kube-apiserver's ``version.Info`` (k8s.io/apimachinery
#: pkg/version/types.go), here the v1.34.1 release build as ``kubectl version -o json`` prints it.
#: Since 1.33 the server also reports its emulation and minimum compatibility versions
#: (KEP-4330, compatibility versions).
SERVER_VERSION: dict[str, str] = {
    "major": "1",
    "minor": "34",
    "emulationMajor": "1",
    "emulationMinor": "34",
    "minCompatibilityMajor": "1",
    "minCompatibilityMinor": "33",
    "gitVersion": "v1.34.1",
    "gitCommit": "93248f9ae092f571eb870b7664c534bfc7d00f03",
    "gitTreeState": "clean",
    "buildDate": "2025-09-09T19:44:50Z",
    "goVersion": "go1.24.6",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def now_iso() -> str:
    """The current time as Kubernetes writes timestamps."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
