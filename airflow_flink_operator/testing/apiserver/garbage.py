"""The garbage collector of kube-controller-manager, run next to :class:`~.server.KubeApiEmulator` (unless
switched off, as with a bare kube-apiserver): ``ownerReferences``, ``orphan`` and ``foregroundDeletion``."""

from __future__ import annotations

import copy
from typing import Any

from airflow_flink_operator.testing.apiserver.deletion import FOREGROUND_FINALIZER, ORPHAN_FINALIZER

_UNRESOLVABLE = object()  # an owner reference to a kind the server does not serve


class GarbageCollectorMixin:
    """Part of :class:`~.server.KubeApiEmulator`: collects dependents after the writes that concern them."""

    def _schedule_gc(self) -> None:
        if not self.garbage_collector or self._gc_scheduled or self._in_gc or self._loop is None:
            return
        self._gc_scheduled = True
        self._loop.call_soon_threadsafe(self._collect_garbage)

    def _collect_garbage(self) -> None:
        """The garbage collector of kube-controller-manager, run after the writes that concern it
        (k8s.io/kubernetes pkg/controller/garbagecollector/garbagecollector.go and the
        "Garbage Collection" concept page, kubernetes.io/docs/concepts/architecture/garbage-collection/).

        It acts as a separate client would, after the request that triggered it has been answered,
        until nothing is left to do:

        - an owner with ``deletionTimestamp`` and the ``orphan`` finalizer: its ownerReferences are
          removed from its dependents, then the finalizer (``attemptToOrphan``);
        - an owner with ``deletionTimestamp`` and ``foregroundDeletion``: its dependents are deleted;
          once no dependent with ``blockOwnerDeletion: true`` exists any more, the finalizer is removed
          (``processDeletingDependentsItem``);
        - a dependent (``attemptToDeleteItem`` / ``classifyReferences``): owners resolved by kind, name
          and uid in its namespace are *solid*, *dangling* (absent, or another uid) or *waiting*
          (deleting in foreground). With a solid owner it stays and loses its dangling and waiting
          references; otherwise it is deleted — in Foreground if an owner waits and it has dependents
          itself, else with the policy its own finalizers name, else Background. An owner of a kind
          the server does not serve cannot be resolved, and the dependent is left alone.
        """
        self._gc_scheduled = False
        self._in_gc = True
        try:
            for _ in range(10_000):
                if not self._gc_step():
                    break
        finally:
            self._in_gc = False

    def _gc_step(self) -> bool:
        """One change by the garbage collector; ``False`` when there is nothing to do."""
        objects = list(self.store.objects.items())
        dependents: dict[str, list[tuple[tuple[str, str, str], dict[str, Any]]]] = {}
        for key, obj in objects:
            for uid in {ref.get("uid") for ref in obj["metadata"].get("ownerReferences") or []}:
                dependents.setdefault(uid, []).append((key, obj))
        for key, obj in objects:
            meta = obj["metadata"]
            if meta.get("deletionTimestamp") and ORPHAN_FINALIZER in (meta.get("finalizers") or []):
                for dep_key, dep in dependents.get(meta["uid"], []):
                    self._drop_owner_refs(dep_key, dep, {meta["uid"]})
                self._drop_finalizer(key, obj, ORPHAN_FINALIZER)
                return True
        for key, obj in objects:
            if obj["metadata"].get("ownerReferences") and self._attempt_to_delete(key, obj, dependents):
                return True
        for key, obj in objects:
            if self._deleting_dependents(obj):
                blocking = [dep for _, dep in dependents.get(obj["metadata"]["uid"], [])
                            if any(ref.get("uid") == obj["metadata"]["uid"] and ref.get("blockOwnerDeletion")
                                   for ref in dep["metadata"].get("ownerReferences") or [])]
                if not blocking:
                    self._drop_finalizer(key, obj, FOREGROUND_FINALIZER)
                    return True
        return False

    @staticmethod
    def _deleting_dependents(obj: dict[str, Any]) -> bool:
        meta = obj["metadata"]
        return bool(meta.get("deletionTimestamp")) and FOREGROUND_FINALIZER in (meta.get("finalizers") or [])

    def _attempt_to_delete(self, key: tuple[str, str, str], obj: dict[str, Any],
                           dependents: dict[str, list[Any]]) -> bool:
        meta = obj["metadata"]
        if meta.get("deletionTimestamp"):
            return False  # being deleted already (its own foreground deletion is handled apart)
        solid, gone = [], set()
        for ref in meta["ownerReferences"]:
            owner = self._resolve_owner(ref, key[1])
            if owner is _UNRESOLVABLE:
                return False  # the collector retries such an item, it never deletes it
            if owner is None or owner["metadata"].get("uid") != ref.get("uid"):
                gone.add(ref.get("uid"))  # dangling
            elif self._deleting_dependents(owner):
                gone.add(ref.get("uid"))  # waiting for its dependents' deletion
            else:
                solid.append(ref)
        if solid:
            if gone:
                self._drop_owner_refs(key, obj, gone)
                return True
            return False
        waiting = any(self._deleting_dependents(o) for ref in meta["ownerReferences"]
                      if (o := self._resolve_owner(ref, key[1])) not in (None, _UNRESOLVABLE))
        finalizers = meta.get("finalizers") or []
        if waiting and dependents.get(meta["uid"]):
            policy = "Foreground"
        elif ORPHAN_FINALIZER in finalizers:
            policy = "Orphan"
        elif FOREGROUND_FINALIZER in finalizers:
            policy = "Foreground"
        else:
            policy = "Background"
        self.delete_now(key[0], key[1], key[2], policy)
        return True

    def _resolve_owner(self, ref: dict[str, Any], namespace: str) -> Any:
        group, _, version = (ref.get("apiVersion") or "").rpartition("/")
        for rt in self._types.values():
            if (rt.group, rt.version, rt.kind) == (group, version, ref.get("kind")) and self._served(rt):
                return self.store.objects.get((rt.plural, namespace, ref.get("name")))
        return _UNRESOLVABLE

    def _drop_owner_refs(self, key: tuple[str, str, str], obj: dict[str, Any], uids: set[str]) -> None:
        new = copy.deepcopy(obj)
        refs = [ref for ref in new["metadata"].get("ownerReferences") or [] if ref.get("uid") not in uids]
        if refs:
            new["metadata"]["ownerReferences"] = refs
        else:
            new["metadata"].pop("ownerReferences", None)
        self._commit(key[0], key[1], obj, new)

    def _drop_finalizer(self, key: tuple[str, str, str], obj: dict[str, Any], finalizer: str) -> None:
        new = copy.deepcopy(obj)
        new["metadata"]["finalizers"] = [f for f in new["metadata"].get("finalizers") or [] if f != finalizer]
        if not new["metadata"]["finalizers"]:
            new["metadata"].pop("finalizers")
        self._commit(key[0], key[1], obj, new)
