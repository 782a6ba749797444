"""What the blue/green controller does to its children (``BlueGreenDeploymentService``,
``BlueGreenKubernetesService``): create, patch, suspend and delete the ``<name>-blue`` / ``<name>-green``
FlinkDeployments, and savepoints of the active child (simulated: upstream asks the child's Flink REST API)."""

from __future__ import annotations

import copy
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from airflow_flink_operator.constants import GROUP, VERSION
from airflow_flink_operator.models.bluegreen import COLOUR_LABEL, KIND_BLUE_GREEN, child_name


BLUE_GREEN_PLURAL = "flinkbluegreendeployments"
DEPLOYMENT_PLURAL = "flinkdeployments"


@dataclass
class ChildSavepoint:
    """A savepoint the controller triggered on the active child (upstream: through Flink's REST API)."""

    trigger_id: str
    child: str
    started: float
    location: str | None = None
    error: str | None = None


class BlueGreenChildrenMixin:
    """Part of :class:`~.bluegreen.SimulatedBlueGreenController`: its child deployments."""

    @staticmethod
    def _needs_savepoint(bg: dict[str, Any]) -> bool:
        """``isSavepointRequired``: every upgrade mode but ``stateless``."""
        job = (((bg.get("spec") or {}).get("template") or {}).get("spec") or {}).get("job") or {}
        return (job.get("upgradeMode") or "stateless").lower() != "stateless"

    def _patch_child(self, bg: dict[str, Any], status: dict[str, Any], children: dict[str, Any], colour: str,
                     carry_savepoint: bool = True) -> None:
        """``patchFlinkDeployment``: redeploy ``colour`` in place (state ``TRANSITIONING_TO_<colour>``)."""
        child = children.get(colour)
        location = None
        if carry_savepoint and child is not None:
            location = (((child.get("spec") or {}).get("job") or {}).get("initialSavepointPath")
                        or ((child.get("status") or {}).get("jobStatus") or {}).get("upgradeSavepointPath"))
        self._initiate(bg, status, colour, f"TRANSITIONING_TO_{colour.upper()}", location, first=len(children) != 2)

    def _initiate(self, bg: dict[str, Any], status: dict[str, Any], colour: str, next_state: str,
                  savepoint: str | None, first: bool) -> None:
        """``initiateDeployment``: create or replace the child, set ``abortTimestamp``, job RECONCILING."""
        meta = bg["metadata"]
        spec = copy.deepcopy((bg.get("spec") or {}).get("template", {}).get("spec") or {})
        job = spec.get("job")
        if job is not None and not first and savepoint:
            job["initialSavepointPath"] = savepoint.replace("file:", "")
        if spec.get("ingress") and spec["ingress"].get("template"):
            spec["ingress"]["template"] = f"{colour}-{spec['ingress']['template']}"
        child = {
            "apiVersion": f"{GROUP}/{VERSION}", "kind": "FlinkDeployment",
            "metadata": {"name": child_name(meta["name"], colour), "namespace": meta["namespace"],
                         "labels": {COLOUR_LABEL: colour.upper()},
                         "ownerReferences": [{"apiVersion": bg["apiVersion"], "kind": KIND_BLUE_GREEN,
                                              "name": meta["name"], "uid": meta["uid"],
                                              "blockOwnerDeletion": True, "controller": False}]},
            "spec": spec,
        }
        self._create_or_replace(child)
        status["abortTimestamp"] = datetime.fromtimestamp(
            time.time() + self._config(bg, "abort_grace_period"), timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        status["blueGreenState"] = next_state
        status.setdefault("jobStatus", {})["state"] = "RECONCILING"
        status.pop("error", None)
        self._patch_status(bg, status)

    def _create_or_replace(self, child: dict[str, Any]) -> None:
        from kubernetes.client.exceptions import ApiException

        ns, name = child["metadata"]["namespace"], child["metadata"]["name"]
        try:
            self._custom.create_namespaced_custom_object(GROUP, VERSION, ns, DEPLOYMENT_PLURAL, child,
                                                         _request_timeout=5)
            return
        except ApiException as exc:
            if exc.status != 409:
                raise
        current = self._custom.get_namespaced_custom_object(GROUP, VERSION, ns, DEPLOYMENT_PLURAL, name,
                                                            _request_timeout=5)
        body = copy.deepcopy(current)
        body["spec"] = child["spec"]
        body["metadata"]["labels"] = child["metadata"]["labels"]
        body["metadata"]["ownerReferences"] = child["metadata"]["ownerReferences"]
        self._custom.replace_namespaced_custom_object(GROUP, VERSION, ns, DEPLOYMENT_PLURAL, name, body,
                                                      _request_timeout=5)

    def _update_child_spec(self, child: dict[str, Any], spec: dict[str, Any]) -> None:
        body = copy.deepcopy(child)
        body["spec"] = spec
        self._custom.replace_namespaced_custom_object(GROUP, VERSION, child["metadata"]["namespace"], DEPLOYMENT_PLURAL,
                                                      child["metadata"]["name"], body, _request_timeout=5)

    def _delete_child(self, child: dict[str, Any]) -> bool:
        from kubernetes.client.exceptions import ApiException

        try:
            self._custom.delete_namespaced_custom_object(GROUP, VERSION, child["metadata"]["namespace"],
                                                         DEPLOYMENT_PLURAL, child["metadata"]["name"],
                                                         _request_timeout=5)
        except ApiException as exc:
            if exc.status == 404:
                return True
            raise
        return True

    def _trigger_savepoint(self, child: dict[str, Any]) -> str:
        """``triggerSavepoint``: needs the child's job id and a savepoint directory (``checkNotNull``)."""
        job_status = (child.get("status") or {}).get("jobStatus") or {}
        if not self.operator._savepoint_dir(child.get("spec") or {}):
            raise RuntimeError("java.lang.NullPointerException: no savepoint directory (state.savepoints.dir) "
                               "is configured")
        trigger_id = uuid.uuid4().hex
        self._savepoints[trigger_id] = ChildSavepoint(trigger_id, child["metadata"]["name"], time.monotonic())
        self.operator._jm_log(child, f"Triggering savepoint for job {job_status.get('jobId')} (blue/green transition)")
        return trigger_id

    def _progress_savepoint(self, savepoint: ChildSavepoint) -> None:
        if savepoint.location is not None or savepoint.error is not None:
            return
        traits = self.operator._traits.get(savepoint.child)
        mode = traits.savepoint if traits is not None else "ok"
        if mode == "hang" or time.monotonic() - savepoint.started < self.operator.timings.savepoint:
            return
        if mode == "fail":
            savepoint.error = "Savepoint failed: simulated checkpoint coordinator failure"
            return
        child = None
        for item in self._custom.list_cluster_custom_object(GROUP, VERSION, DEPLOYMENT_PLURAL,
                                                            _request_timeout=5)["items"]:
            if item["metadata"]["name"] == savepoint.child:
                child = item
        if child is None or ((child.get("status") or {}).get("jobStatus") or {}).get("state") != "RUNNING":
            savepoint.error = f"job of {savepoint.child} is not running"
            return
        job_id = ((child.get("status") or {}).get("jobStatus") or {}).get("jobId")
        savepoint.location = self.operator._savepoint_path(child["spec"], job_id)
        self.operator._jm_log(child, f"Savepoint completed at {savepoint.location}")
