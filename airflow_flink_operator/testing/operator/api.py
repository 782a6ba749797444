"""The simulated operator's Kubernetes API calls, through the official client: lists and reads, status writes
and finalizers (a 404/409 means "look again next tick"), Events, JobManager pods and their logs."""

from __future__ import annotations

import copy
import time
import uuid
from typing import Any

from airflow_flink_operator.constants import GROUP, KIND_STATE_SNAPSHOT, PLURALS, VERSION


class OperatorApiMixin:
    """Part of :class:`~.core.SimulatedFlinkOperator`: how it talks to the API server."""

    def _list(self, kind: str) -> list[dict[str, Any]]:
        return self._custom.list_cluster_custom_object(GROUP, VERSION, PLURALS[kind], _request_timeout=5)["items"]

    def _get(self, obj: dict[str, Any]) -> dict[str, Any] | None:
        from kubernetes.client.exceptions import ApiException

        try:
            return self._custom.get_namespaced_custom_object(GROUP, VERSION, obj["metadata"]["namespace"],
                                                             PLURALS[obj["kind"]], obj["metadata"]["name"],
                                                             _request_timeout=5)
        except ApiException:
            return None

    def _snapshots_served(self) -> bool:
        from kubernetes.client.exceptions import ApiException

        try:
            resources = self._custom.get_api_resources(GROUP, VERSION, _request_timeout=5).resources
        except ApiException:
            return False
        return any(r.name == PLURALS[KIND_STATE_SNAPSHOT] for r in resources)

    def _write_status(self, obj: dict[str, Any], status: dict[str, Any]) -> dict[str, Any] | None:
        from kubernetes.client.exceptions import ApiException

        if status == obj.get("status"):
            return obj
        body = copy.deepcopy(obj)
        body["status"] = status
        try:
            return self._custom.replace_namespaced_custom_object_status(
                GROUP, VERSION, obj["metadata"]["namespace"], PLURALS[obj["kind"]], obj["metadata"]["name"], body,
                _request_timeout=5)
        except ApiException as exc:
            if exc.status in (404, 409):
                return None  # changed or gone meanwhile: look again next tick
            raise

    def _set_finalizers(self, obj: dict[str, Any], finalizers: list[str]) -> bool:
        from kubernetes.client.exceptions import ApiException

        body = copy.deepcopy(obj)
        body["metadata"]["finalizers"] = finalizers
        try:
            self._custom.replace_namespaced_custom_object(
                GROUP, VERSION, obj["metadata"]["namespace"], PLURALS[obj["kind"]], obj["metadata"]["name"], body,
                _request_timeout=5)
            return True
        except ApiException as exc:
            if exc.status in (404, 409):
                return False
            raise

    def event(self, obj: dict[str, Any], reason: str, message: str, type_: str = "Normal") -> None:
        """Record a Kubernetes Event about ``obj``, as the operator's EventRecorder does."""
        meta = obj["metadata"]
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        body = {
            "metadata": {"name": f"{meta['name']}.{uuid.uuid4().hex[:16]}", "namespace": meta["namespace"]},
            "involvedObject": {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": meta["name"],
                               "namespace": meta["namespace"], "uid": meta.get("uid")},
            "reason": reason, "message": message, "type": type_, "count": 1,
            "firstTimestamp": stamp, "lastTimestamp": stamp,
            "source": {"component": "flink-kubernetes-operator"}, "reportingComponent": "flink-kubernetes-operator",
        }
        try:
            self._core.create_namespaced_event(meta["namespace"], body, _request_timeout=5)
        except Exception as exc:
            self.errors.append(f"event: {exc!r}")

    def _jm_log(self, obj: dict[str, Any], line: str) -> None:
        if self.emulator is None:
            return
        ns, name = obj["metadata"]["namespace"], obj["metadata"]["name"]
        for pod in self.emulator.list_objects("pods", ns):
            labels = pod["metadata"].get("labels") or {}
            if labels.get("app") == name and labels.get("component") == "jobmanager":
                stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
                self.emulator.pod_logs.setdefault((ns, pod["metadata"]["name"]), []).append(
                    f"{stamp},000 INFO  {line}")

    def _create_jm_pod(self, obj: dict[str, Any]) -> None:
        ns, name = obj["metadata"]["namespace"], obj["metadata"]["name"]
        self._delete_jm_pods(obj)
        body = {"metadata": {"name": f"{name}-{uuid.uuid4().hex[:10]}-{uuid.uuid4().hex[:5]}", "namespace": ns,
                             "labels": {"app": name, "component": "jobmanager", "type": "flink-native-kubernetes"},
                             "ownerReferences": [{"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": name,
                                                  "uid": obj["metadata"]["uid"]}]},
                "spec": {"containers": [{"name": "flink-main-container", "image": obj["spec"].get("image") or "flink"}]}}
        try:
            self._core.create_namespaced_pod(ns, body, _request_timeout=5)
        except Exception as exc:
            self.errors.append(f"pod: {exc!r}")

    def _delete_jm_pods(self, obj: dict[str, Any]) -> None:
        ns, name = obj["metadata"]["namespace"], obj["metadata"]["name"]
        try:
            pods = self._core.list_namespaced_pod(ns, label_selector=f"app={name},component=jobmanager",
                                                  _request_timeout=5).items
            for pod in pods:
                self._core.delete_namespaced_pod(pod.metadata.name, ns, _request_timeout=5)
        except Exception as exc:
            self.errors.append(f"pod delete: {exc!r}")

    def _jm_pods(self, obj: dict[str, Any]) -> list[Any]:
        ns, name = obj["metadata"]["namespace"], obj["metadata"]["name"]
        try:
            pods = self._core.list_namespaced_pod(ns, label_selector=f"app={name},component=jobmanager",
                                                  _request_timeout=5).items
        except Exception as exc:
            self.errors.append(f"pod list: {exc!r}")
            return []
        return [pod for pod in pods if pod.metadata.deletion_timestamp is None]
