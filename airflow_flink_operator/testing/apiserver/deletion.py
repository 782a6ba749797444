"""Deletion for :class:`~.server.KubeApiEmulator`: DELETE (one object or a collection), DeleteOptions and
propagation policies, finalizers and ``deletionTimestamp``."""

from __future__ import annotations

import copy
from typing import Any

from aiohttp import web

from airflow_flink_operator.testing.apiserver.errors import ApiError
from airflow_flink_operator.testing.apiserver.go_json import decode_json
from airflow_flink_operator.testing.apiserver.resources import ResourceType, now_iso
from airflow_flink_operator.testing.apiserver.selectors import label_selector_matcher

#: Finalizers the API server adds for the garbage collector (metav1.FinalizerDeleteDependents and
#: metav1.FinalizerOrphanDependents).
FOREGROUND_FINALIZER = "foregroundDeletion"
ORPHAN_FINALIZER = "orphan"
PROPAGATION_POLICIES = ("Foreground", "Background", "Orphan")


class DeletionMixin:
    """Part of :class:`~.server.KubeApiEmulator`: the DELETE verbs."""

    @staticmethod
    def _propagation(query: Any, options: dict[str, Any] | None) -> str | None:
        """The propagation policy a DELETE asks for: DeleteOptions in the body win over the query;
        the deprecated ``orphanDependents`` maps to Orphan / Background."""
        policy = query.get("propagationPolicy")
        orphan = query.get("orphanDependents")
        if options:
            policy = options.get("propagationPolicy") or policy
            if options.get("orphanDependents") is not None:
                orphan = str(options["orphanDependents"]).lower()
        if policy is None and orphan is not None:
            policy = "Orphan" if orphan in ("true", "1") else "Background"
        if policy is not None and policy not in PROPAGATION_POLICIES:
            raise ApiError(422, "Invalid", f'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: '
                           f'Unsupported value: "{policy}": supported values: "Foreground", "Background", "Orphan"')
        return policy

    async def _delete_options(self, request: web.Request) -> dict[str, Any] | None:
        if not request.can_read_body:
            return None
        raw = await request.read()
        if not raw.strip():
            return None
        try:
            options = decode_json(raw)
        except ValueError as exc:
            raise ApiError(400, "BadRequest", f"invalid DeleteOptions: {exc}") from None
        return options if isinstance(options, dict) else None

    async def _delete(self, request: web.Request, rt: ResourceType, namespace: str, name: str) -> web.Response:
        options = await self._delete_options(request)
        policy = self._propagation(request.query, options)
        current = self._get(rt, namespace, name)
        preconditions = (options or {}).get("preconditions") or {}
        for field_name in ("uid", "resourceVersion"):
            wanted = preconditions.get(field_name)
            if wanted and wanted != current["metadata"].get(field_name):
                raise ApiError(409, "Conflict", f'Operation cannot be fulfilled on {rt.plural}.{rt.group or "core"} '
                               f'"{name}": Precondition failed: {field_name}: {wanted}, '
                               f'ObjectMeta.{field_name[0].upper() + field_name[1:]}: {current["metadata"].get(field_name)}',
                               {"name": name, "group": rt.group, "kind": rt.plural})
        self.deletions.append({"plural": rt.plural, "namespace": namespace, "name": name, "propagationPolicy": policy})
        return web.json_response(self.delete_now(rt.plural, namespace, name, policy) or current)

    def delete_now(self, plural: str, namespace: str, name: str, policy: str | None = None) -> dict[str, Any] | None:
        """Delete as the API server does (k8s.io/apiserver pkg/registry/generic/registry/store.go,
        ``Delete`` and ``deletionFinalizersForGarbageCollection``).

        ``Foreground`` adds the ``foregroundDeletion`` finalizer and ``Orphan`` the ``orphan``
        finalizer (replacing whichever of the two was there); with no policy, one already on the
        object is kept, and the default for every kind served here is Background. An object with
        finalizers gets ``deletionTimestamp`` and stays until they are gone; one without is removed
        at once. Dependents are the garbage collector's business (:meth:`_collect_garbage`). Call on
        the server's loop (:meth:`call`) when not in a request.

        :param policy: ``Foreground``, ``Background``, ``Orphan`` or ``None`` (the request named none).
        :return: the object as it is after the request, or ``None`` when there was none.
        """
        key = (plural, namespace, name)
        current = self.store.objects.get(key)
        if current is None:
            return None
        finalizers = list(current["metadata"].get("finalizers") or [])
        orphan = policy == "Orphan" or (policy is None and ORPHAN_FINALIZER in finalizers)
        foreground = policy == "Foreground" or (policy is None and not orphan and FOREGROUND_FINALIZER in finalizers)
        wanted = [f for f in finalizers if f not in (ORPHAN_FINALIZER, FOREGROUND_FINALIZER)]
        wanted += [ORPHAN_FINALIZER] * orphan + [FOREGROUND_FINALIZER] * foreground
        if not wanted:
            gone = copy.deepcopy(current)
            gone["metadata"].pop("finalizers", None)  # a GC finalizer dropped by this request's policy
            gone["metadata"]["resourceVersion"] = self.store.next_rv()
            self._remove(key, gone, current)
            return gone
        if current["metadata"].get("deletionTimestamp") and set(wanted) == set(finalizers):
            return current
        new = copy.deepcopy(current)
        new["metadata"]["finalizers"] = wanted
        new["metadata"].setdefault("deletionTimestamp", now_iso())
        new["metadata"].setdefault("deletionGracePeriodSeconds", 0)
        return self._commit(plural, namespace, current, new)

    async def _delete_collection(self, request: web.Request, rt: ResourceType, namespace: str) -> web.Response:
        options = await self._delete_options(request)
        policy = self._propagation(request.query, options)
        self.deletions.append({"plural": rt.plural, "namespace": namespace, "name": None, "propagationPolicy": policy})
        labels = label_selector_matcher(request.query.get("labelSelector"))
        for (plural, ns, name), obj in list(self.store.objects.items()):
            if plural == rt.plural and ns == namespace and labels(obj["metadata"].get("labels") or {}):
                self.delete_now(plural, ns, name, policy)
        return web.json_response({"kind": "Status", "apiVersion": "v1", "status": "Success", "metadata": {}})
