"""What the simulated blue/green controller does outside its own status: the ``<name>-blue`` / ``<name>-green``
FlinkDeployments (``BlueGreenUtils.prepareFlinkDeployment``, ``BlueGreenKubernetesService``), savepoints of the
active child (``BlueGreenUtils.triggerSavepoint`` / ``fetchSavepointInfo``; simulated: upstream asks the child's
Flink REST API) and the Ingress that follows the active colour (``IngressUtils.reconcileBlueGreenIngress``).

Its own constants and helpers only: nothing from the package's models, diff or status code."""

from __future__ import annotations

import copy
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from airflow_flink_operator.testing.operator.bluegreen_diff import child_spec, flat_config, java_spec
from airflow_flink_operator.testing.operator.bluegreen_transitions import RESCHEDULE_INTERVAL

GROUP, VERSION = "flink.apache.org", "v1beta1"
BLUE_GREEN_PLURAL = "flinkbluegreendeployments"
DEPLOYMENT_PLURAL = "flinkdeployments"
#: ``BlueGreenDeploymentType.LABEL_KEY``.
LABEL_KEY = "flink/blue-green-deployment-type"
#: ``CheckpointingOptions.SAVEPOINT_DIRECTORY`` and its other key.
SAVEPOINT_DIR_KEYS = ("execution.checkpointing.savepoint-dir", "state.savepoints.dir")


@dataclass
class ChildSavepoint:
    """A savepoint the controller triggered on a child's job (upstream: ``POST /jobs/:id/savepoints``)."""

    trigger_id: str
    child: str
    job_id: str | None
    directory: str
    started: float
    location: str | None = None
    error: str | None = None


class BlueGreenChildrenMixin:
    """Part of :class:`~.bluegreen.SimulatedBlueGreenController`: its children, savepoints and Ingress."""

    operator: Any
    _savepoints: dict[str, ChildSavepoint]
    default_configuration: dict[str, str]
    manage_ingress: bool
    _wrote_child: bool
    _status: dict[str, Any]

    # -- children ------------------------------------------------------------------------------------------

    def _prepare(self, bg: dict[str, Any], colour: str, savepoint: str | None, first: bool) -> dict[str, Any]:
        """``prepareFlinkDeployment``: the template's spec (a Jackson copy), its ``initialSavepointPath`` set
        from ``savepoint`` (``file:`` removed) unless this is a first deployment, the ingress template prefixed
        with the colour; named ``<name>-<colour>``, labelled, owned by the parent (``getDependentObjectMeta``)."""
        meta = bg["metadata"]
        spec = child_spec(((bg.get("spec") or {}).get("template") or {}).get("spec"), self.operator_version)
        if not first and savepoint is not None and spec.get("job") is not None:
            spec["job"]["initialSavepointPath"] = savepoint.replace("file:", "")
        if spec.get("ingress") is not None:
            spec["ingress"]["template"] = f"{colour}-{spec['ingress'].get('template')}"
        return {
            "apiVersion": f"{GROUP}/{VERSION}", "kind": "FlinkDeployment",
            "metadata": {"name": f"{meta['name']}-{colour}", "namespace": meta["namespace"],
                         "labels": {LABEL_KEY: colour.upper()},
                         "ownerReferences": [{"apiVersion": bg["apiVersion"], "blockOwnerDeletion": True,
                                              "controller": False, "kind": bg["kind"], "name": meta["name"],
                                              "uid": meta["uid"]}]},
            "spec": spec,
        }

    def _deploy_cluster(self, child: dict[str, Any]) -> None:
        """``deployCluster``: ``createOrReplace`` (a replace keeps the object's other metadata, e.g. finalizers)."""
        from kubernetes.client.exceptions import ApiException

        ns, name = child["metadata"]["namespace"], child["metadata"]["name"]
        self._wrote_child = True
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

    def _suspend_child(self, child: dict[str, Any]) -> None:
        """``suspendFlinkDeployment``: ``job.state = SUSPENDED`` on the cached object, then ``update()``."""
        body = copy.deepcopy(child)
        body.pop("status", None)
        body["spec"].setdefault("job", {})["state"] = "suspended"
        self._wrote_child = True
        self._custom.replace_namespaced_custom_object(GROUP, VERSION, child["metadata"]["namespace"],
                                                      DEPLOYMENT_PLURAL, child["metadata"]["name"], body,
                                                      _request_timeout=5)

    def _delete_child(self, child: dict[str, Any]) -> bool:
        """``deleteFlinkDeployment``: true when the API answered with the deleted object's details."""
        from kubernetes.client.exceptions import ApiException

        self._wrote_child = True
        try:
            self._custom.delete_namespaced_custom_object(GROUP, VERSION, child["metadata"]["namespace"],
                                                         DEPLOYMENT_PLURAL, child["metadata"]["name"],
                                                         _request_timeout=5)
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise
        return True

    # -- savepoints ------------------------------------------------------------------------------------------

    def _observe_config(self, child: dict[str, Any]) -> dict[str, str]:
        """``getObserveConfig``: the operator's default configuration under the child's deployed
        ``flinkConfiguration`` (its ``lastReconciledSpec``, else its spec)."""
        import json

        recon = ((child.get("status") or {}).get("reconciliationStatus") or {}).get("lastReconciledSpec")
        spec = json.loads(recon)["spec"] if recon else (child.get("spec") or {})
        return {**self.default_configuration, **(flat_config(java_spec(spec)["flinkConfiguration"]) or {})}

    def _trigger_savepoint(self, child: dict[str, Any]) -> str:
        """``triggerSavepoint``: ``checkNotNull(conf.get(SAVEPOINT_DIRECTORY))`` — an NPE without a message
        when the child's configuration has no savepoint directory — then the REST trigger."""
        conf = self._observe_config(child)
        directory = next((conf[key] for key in SAVEPOINT_DIR_KEYS if conf.get(key)), None)
        if directory is None:
            raise _JavaException("java.lang.NullPointerException", None)
        job_id = ((child.get("status") or {}).get("jobStatus") or {}).get("jobId")
        trigger_id = uuid.uuid4().hex
        self._savepoints[trigger_id] = ChildSavepoint(trigger_id, child["metadata"]["name"], job_id, directory,
                                                      time.monotonic())
        self.operator._jm_log(child, f"Triggering savepoint for job {job_id} (trigger {trigger_id})")
        return trigger_id

    def _fetch_savepoint(self, child: dict[str, Any] | None, trigger_id: str | None) -> tuple[str, str | None]:
        """``fetchSavepointInfo``: ``("pending", None)``, ``("completed", location)`` or ``("error", message)``.

        Flink keeps an operation's result under its trigger id and job id; the job goes on to complete the
        savepoint whether or not anyone asks (``savepoint="hang"`` keeps it pending, ``"fail"`` fails it)."""
        savepoint = self._savepoints.get(trigger_id or "")
        job_id = (((child or {}).get("status") or {}).get("jobStatus") or {}).get("jobId")
        if savepoint is None or child is None or savepoint.job_id != job_id:
            return "error", (f"org.apache.flink.runtime.rest.util.RestClientException: [Operation not found under "
                             f"key: {job_id}:{trigger_id}]")
        if savepoint.location is None and savepoint.error is None:
            traits = self.operator._traits.get(savepoint.child)
            mode = traits.savepoint if traits is not None else "ok"
            if mode == "hang" or time.monotonic() - savepoint.started < self.operator.timings.savepoint:
                return "pending", None
            if mode == "fail":
                savepoint.error = ("org.apache.flink.util.SerializedThrowable: org.apache.flink.runtime.checkpoint."
                                   "CheckpointException: Savepoint failed: simulated checkpoint coordinator failure")
            else:
                savepoint.location = (f"{savepoint.directory.rstrip('/')}/savepoint-{(job_id or 'unknown')[:6]}-"
                                      f"{uuid.uuid4().hex[:12]}")
                self.operator._jm_log(child, f"Savepoint completed at {savepoint.location}")
        if savepoint.error is not None:
            return "error", savepoint.error
        return "completed", savepoint.location

    # -- the savepoint of a TRANSITION (handleSavepoint, configureInitialSavepoint, SavepointingStateHandler) ----

    @staticmethod
    def _savepoint_required(bg: dict[str, Any]) -> bool:
        """``isSavepointRequired``: every upgrade mode but STATELESS (the template's; Java's default STATELESS)."""
        job = (((bg.get("spec") or {}).get("template") or {}).get("spec") or {}).get("job") or {}
        return (job.get("upgradeMode") or "stateless") != "stateless"

    def _handle_savepoint(self, bg: dict[str, Any], child: dict[str, Any]) -> bool:
        """``handleSavepoint``: trigger one unless a trigger id is already recorded."""
        if not self._savepoint_required(bg):
            return False
        if self._status.get("savepointTriggerId"):
            return False  # "Savepoint previously requested"
        self._status["savepointTriggerId"] = self._trigger_savepoint(child)
        return True

    def _initial_savepoint(self, bg: dict[str, Any], child: dict[str, Any]) -> str | None:
        """``configureInitialSavepoint``: the recorded trigger's location (an error throws)."""
        if not self._savepoint_required(bg):
            return None
        trigger_id = self._status.get("savepointTriggerId")
        outcome, value = self._fetch_savepoint(child, trigger_id)
        if outcome == "error":
            raise RuntimeError(f"Could not fetch savepoint with triggerId: {trigger_id}. Error: {value}")
        if outcome == "pending":  # Savepoint.of(null, ...): prepareFlinkDeployment's getLocation().replace NPEs
            raise _JavaException("java.lang.NullPointerException", None)
        return value

    def _savepointing(self, bg: dict[str, Any], children: dict[str, Any], current: str) -> None:
        """``SavepointingStateHandler.handle``: back to ``ACTIVE_<current>`` once the savepoint is not pending
        (done or failed); otherwise wait (indefinitely, a TODO upstream)."""
        outcome, _ = self._fetch_savepoint(children.get(current), self._status.get("savepointTriggerId"))
        if outcome != "pending":
            self._patch(bg, self._status, state=f"ACTIVE_{current.upper()}")
            self._reschedule(bg, 0)
        else:
            self._reschedule(bg, self._config(bg, RESCHEDULE_INTERVAL))

    # -- ingress ---------------------------------------------------------------------------------------------

    def _reconcile_ingress(self, bg: dict[str, Any], active: dict[str, Any] | None) -> None:
        """``IngressUtils.reconcileBlueGreenIngress``: with ``spec.ingress``, an Ingress named after the parent,
        owned by it, routing to ``<active child>-rest`` on the REST port (``createOr(update)``); without, the
        parent's Ingress is deleted. Nothing when ingress management is off or the API has no Ingress."""
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException

        if not self.manage_ingress or active is None:
            return
        meta = bg["metadata"]
        api = client.NetworkingV1Api(self.operator._api_client)
        ingress_spec = (bg.get("spec") or {}).get("ingress")
        try:
            if ingress_spec is None:  # the parent's secondary Ingress (owned by it), if any, is deleted
                try:
                    current = api.read_namespaced_ingress(meta["name"], meta["namespace"], _request_timeout=5)
                except ApiException as exc:
                    if exc.status != 404:
                        raise
                    return
                if any(ref.uid == meta["uid"] for ref in current.metadata.owner_references or []):
                    api.delete_namespaced_ingress(meta["name"], meta["namespace"], _request_timeout=5)
                return
            body = self._ingress(bg, ingress_spec, active)
            try:
                api.create_namespaced_ingress(meta["namespace"], body, _request_timeout=5)
            except ApiException as exc:
                if exc.status != 409:
                    raise
                current = api.read_namespaced_ingress(meta["name"], meta["namespace"], _request_timeout=5)
                body["metadata"]["resourceVersion"] = current.metadata.resource_version
                api.replace_namespaced_ingress(meta["name"], meta["namespace"], body, _request_timeout=5)
        except ApiException as exc:
            if exc.status != 404:  # 404: the API server serves no Ingress (the emulator may not)
                raise

    def _ingress(self, bg: dict[str, Any], spec: dict[str, Any], active: dict[str, Any]) -> dict[str, Any]:
        """``IngressUtils.getIngress`` (networking.k8s.io/v1): host and path from the template with ``{{name}}``
        and ``{{namespace}}`` of the parent, backend ``<child>-rest`` on ``rest.port`` (8081)."""
        meta = bg["metadata"]
        template = str(spec.get("template") or "")
        url = template if template.lower().startswith(("http://", "https://")) else "http://" + template
        url = url.replace("{{name}}", meta["name"]).replace("{{namespace}}", meta["namespace"])
        parts = urlsplit(url)
        conf = flat_config(java_spec(active.get("spec"))["flinkConfiguration"]) or {}
        path = {"pathType": "ImplementationSpecific", "backend": {"service": {
            "name": f"{active['metadata']['name']}-rest", "port": {"number": int(conf.get("rest.port", 8081))}}}}
        if parts.path:
            path["path"] = parts.path
        rule: dict[str, Any] = {"http": {"paths": [path]}}
        if parts.hostname:
            rule["host"] = parts.hostname
        labels = {**(spec.get("labels") or {}), "component": "ingress"}
        body_spec: dict[str, Any] = {"rules": [rule]}
        if spec.get("className"):
            body_spec["ingressClassName"] = spec["className"]
        if spec.get("tls"):
            body_spec["tls"] = spec["tls"]
        metadata: dict[str, Any] = {"name": meta["name"], "namespace": meta["namespace"], "labels": labels,
                                    "ownerReferences": [{"apiVersion": bg["apiVersion"], "kind": bg["kind"],
                                                         "name": meta["name"], "uid": meta["uid"],
                                                         "controller": True, "blockOwnerDeletion": True}]}
        if spec.get("annotations"):
            metadata["annotations"] = spec["annotations"]
        return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": metadata, "spec": body_spec}


class _JavaException(Exception):
    """A Java exception as the controller sees it: ``getMessage()`` may be ``null``."""

    def __init__(self, java_class: str, message: str | None) -> None:
        super().__init__(f"{java_class}: {message}")
        self.java_class, self.message = java_class, message
