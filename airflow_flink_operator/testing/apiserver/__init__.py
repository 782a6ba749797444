"""A small, faithful Kubernetes API server on 127.0.0.1 for tests, over real HTTP.

The official ``kubernetes`` and ``kubernetes_asyncio`` clients talk to it unchanged through the
kubeconfig it hands out. It serves the Flink kinds (FlinkDeployment, FlinkSessionJob,
FlinkStateSnapshot, FlinkBlueGreenDeployment) plus ConfigMaps, Secrets, Events and Pods (with a log
endpoint), and behaves as the real API server does where our code depends on it:

- numbers decoded and stored as the API server does for custom resources: ``1.0`` in a request is a
  float64, ``1`` an int64, and what is stored and returned is Go's JSON (``1.0`` comes back as ``1``);
- ``resourceVersion`` on every write, ``409 Conflict`` on a stale update, ``409 AlreadyExists``;
- ``metadata.generation`` bumped when the spec is not semantically DeepEqual (type-strict: ``1.0`` is
  not ``1``, ``true`` is not ``1``); a ``status`` subresource that alone writes status;
- finalizers and ``deletionTimestamp``; ``propagationPolicy`` Foreground / Background / Orphan with the
  ``foregroundDeletion`` and ``orphan`` finalizers, and a garbage collector for ``ownerReferences``
  that can be switched off (a bare kube-apiserver, as envtest runs it, has none);
- ``GET /version`` as a real kube-apiserver answers it;
- the service proxy, ``/api/v1/namespaces/<ns>/services/<svc>[:<port>]/proxy/<path>``, to backends registered
  with :meth:`~.proxy.ProxyMixin.register_service` (a base URL or an in-process handler), with the API
  server's 400/404/503 answers otherwise;
- list/watch with label and field selectors, ``resourceVersion`` resume, bookmarks, and
  ``410 Gone`` (an ERROR event) once a version has left the retained history;
- discovery (``/api``, ``/apis``...), so a client can detect whether FlinkStateSnapshot is served;
- merge patch and JSON patch; strategic merge patch on core kinds (as merge), ``415`` on custom
  resources as the real server answers;
- with ``crd_dir``, the CRDs' schemas: ``422 Invalid`` naming the field, unknown fields pruned
  (``400`` with ``fieldValidation=Strict``).

Fault knobs (:class:`Faults`) make it misbehave on purpose: answer 410/409/500 for a while, drop
connections, forget history, restart.

The package, by responsibility:

- :mod:`.server` — :class:`KubeApiEmulator`: lifecycle, kubeconfig, direct access for tests;
- :mod:`.routing` — URL routing, discovery, ``/version``, reads, pod logs;
- :mod:`.proxy` — the ``services/<id>/proxy`` subresource and its backends;
- :mod:`.admission` — RBAC for restricted tokens, CRD schema pruning and validation;
- :mod:`.writes` — create, update, patch, with the API server's generation and resourceVersion rules;
- :mod:`.deletion` — DELETE and propagation policies; :mod:`.garbage` — the garbage collector;
- :mod:`.store` and :mod:`.watch` — objects, event history and watch streams;
- :mod:`.go_json` — numbers as the API server decodes, stores and compares them;
- :mod:`.selectors`, :mod:`.patch`, :mod:`.faults`, :mod:`.resources`, :mod:`.errors`.
"""

from airflow_flink_operator.testing.apiserver.errors import ApiError
from airflow_flink_operator.testing.apiserver.faults import Faults
from airflow_flink_operator.testing.apiserver.go_json import decode_json, semantically_equal, stored_form
from airflow_flink_operator.testing.apiserver.patch import json_patch
from airflow_flink_operator.testing.apiserver.proxy import ServiceBackend
from airflow_flink_operator.testing.apiserver.resources import (
    CORE_TYPES,
    FLINK_TYPES,
    SERVER_VERSION,
    ResourceType,
    now_iso,
)
from airflow_flink_operator.testing.apiserver.selectors import field_selector_matcher, label_selector_matcher
from airflow_flink_operator.testing.apiserver.server import KubeApiEmulator
from airflow_flink_operator.testing.apiserver.store import Store

__all__ = [
    "CORE_TYPES", "FLINK_TYPES", "SERVER_VERSION", "ApiError", "Faults", "KubeApiEmulator", "ResourceType",
    "ServiceBackend", "Store",
    "decode_json", "field_selector_matcher", "json_patch", "label_selector_matcher", "now_iso", "semantically_equal",
    "stored_form",
]
