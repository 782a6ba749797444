"""The API emulator behaves as a real kube-apiserver (plus kube-controller-manager's garbage collector)
where the difference would let a test pass here and fail on a real cluster.

Every test talks HTTP to the emulator, with the official ``kubernetes`` client or with raw JSON
bodies (when the exact number literal sent matters), and names where Kubernetes implements or
documents the behaviour it checks.
"""

from __future__ import annotations

import copy
import json
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from airflow_flink_operator.constants import API_VERSION, GROUP, KIND_BLUE_GREEN, PLURALS, VERSION
from airflow_flink_operator.crd_schema import crd_dir_from_env
from airflow_flink_operator.testing.apiserver import KubeApiEmulator

NS = "default"
DEPLOYMENTS = f"/apis/{GROUP}/{VERSION}/namespaces/{NS}/flinkdeployments"
BLUE_GREEN = f"/apis/{GROUP}/{VERSION}/namespaces/{NS}/{PLURALS[KIND_BLUE_GREEN]}"
CONFIG_MAPS = f"/api/v1/namespaces/{NS}/configmaps"
PODS = f"/api/v1/namespaces/{NS}/pods"

#: A FlinkDeployment body as raw JSON text, so that ``1.0`` reaches the server as ``1.0``.
DEPLOYMENT_JSON = """{
  "apiVersion": "flink.apache.org/v1beta1", "kind": "FlinkDeployment",
  "metadata": {"name": "orders", "labels": {"run": "first"}},
  "spec": {
    "image": "flink:1.20", "flinkVersion": "v1_20", "serviceAccount": "flink",
    "jobManager": {"resource": {"cpu": CPU, "memory": "2g"}},
    "taskManager": {"resource": {"cpu": CPU, "memory": "2g"}},
    "job": {"jarURI": "local:///opt/flink/usrlib/orders.jar", "parallelism": 2, "upgradeMode": "stateless"}
  }
}"""


def deployment_json(cpu: str, labels: dict[str, str] | None = None, extra_metadata: str = "") -> str:
    text = DEPLOYMENT_JSON.replace("CPU", cpu)
    if labels is not None:
        text = text.replace('"labels": {"run": "first"}', '"labels": ' + json.dumps(labels) + extra_metadata)
    return text


@pytest.fixture
def emulator():
    """The API server alone (no simulated Flink operator, so no operator finalizers), with the CRDs."""
    server = KubeApiEmulator(crd_dir=crd_dir_from_env()).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def bare_apiserver():
    """kube-apiserver + etcd without kube-controller-manager, as envtest runs it: no garbage collector."""
    server = KubeApiEmulator(crd_dir=crd_dir_from_env(), garbage_collector=False).start()
    try:
        yield server
    finally:
        server.stop()


def http(server: KubeApiEmulator, method: str, path: str, body: str | dict | list | None = None,
         content_type: str = "application/json") -> tuple[int, str]:
    """One request with a raw body; returns (status, response text)."""
    data = None if body is None else (body if isinstance(body, str) else json.dumps(body)).encode()
    request = urllib.request.Request(server.url + path, data=data, method=method,
                                     headers={"Content-Type": content_type, "Authorization": "Bearer emulator-token"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def ok(server: KubeApiEmulator, method: str, path: str, body: Any = None, content_type: str = "application/json",
       ) -> dict[str, Any]:
    status, text = http(server, method, path, body, content_type)
    assert status in (200, 201), (status, text)
    return json.loads(text)


def get(server: KubeApiEmulator, path: str) -> dict[str, Any] | None:
    status, text = http(server, "GET", path)
    if status == 404:
        return None
    assert status == 200, (status, text)
    return json.loads(text)


def wait_until(predicate: Callable[[], Any], what: str, timeout: float = 15.0) -> Any:
    """Poll over HTTP until ``predicate`` is truthy (the collector works after the request is answered)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached within {timeout}s")
        time.sleep(0.02)


def kube_client(server: KubeApiEmulator):
    from kubernetes import config

    return config.new_client_from_config_dict(server.kubeconfig(NS))


# --- 1. numbers, generation -------------------------------------------------------------------


@pytest.mark.parametrize("literal, stored", [("1.0", 1), ("1e3", 1000), ("2.5", 2.5), ("1", 1), ("0.0", 0)])
def test_numbers_are_decoded_and_stored_as_the_api_server_does(emulator, literal, stored):
    """A request number is an int64 if ``json.Number.Int64()`` parses it, else a float64
    (k8s.io/apimachinery pkg/util/json ``convertNumber``; sigs.k8s.io/json
    ``UnmarshalCaseSensitivePreserveInts`` in current releases), and what etcd holds and the server
    returns is Go's ``encoding/json`` output, which writes float64(1) as ``1``: ``1.0`` comes back
    as the integer ``1``, and a real fraction stays a float."""
    created = ok(emulator, "POST", DEPLOYMENTS, deployment_json(literal))
    again = get(emulator, f"{DEPLOYMENTS}/orders")
    for obj in (created, again):  # Python's json makes an int only of a literal without "." or exponent
        cpu = obj["spec"]["jobManager"]["resource"]["cpu"]
        assert cpu == stored and type(cpu) is type(stored)


def test_replacing_with_a_float_spec_is_a_new_generation_but_the_stored_spec_is_not(emulator):
    """customResourceStrategy.PrepareForUpdate (k8s.io/apiextensions-apiserver
    pkg/registry/customresource/strategy.go) bumps ``metadata.generation`` when everything but
    ``metadata`` is not ``apiequality.Semantic.DeepEqual`` to the stored object. The request is
    compared as decoded — float64(1) from ``1.0`` — against the stored int64(1), and Go's DeepEqual
    of int64(1) and float64(1) is false: re-sending ``1.0`` is a spec change (a redeploy for the Flink
    operator), while sending back the stored spec with new labels only is not."""
    created = ok(emulator, "POST", DEPLOYMENTS, deployment_json("1.0"))
    assert created["metadata"]["generation"] == 1

    stored = get(emulator, f"{DEPLOYMENTS}/orders")
    stored["metadata"]["labels"] = {"run": "second"}
    relabelled = ok(emulator, "PUT", f"{DEPLOYMENTS}/orders", stored)
    assert relabelled["metadata"]["labels"] == {"run": "second"}
    assert relabelled["metadata"]["resourceVersion"] != created["metadata"]["resourceVersion"]
    assert relabelled["metadata"]["generation"] == 1

    rv = relabelled["metadata"]["resourceVersion"]
    resent = deployment_json("1.0", {"run": "third"}, f', "resourceVersion": "{rv}"')
    replaced = ok(emulator, "PUT", f"{DEPLOYMENTS}/orders", resent)
    assert replaced["metadata"]["generation"] == 2
    assert replaced["spec"]["jobManager"]["resource"]["cpu"] == 1
    assert type(replaced["spec"]["jobManager"]["resource"]["cpu"]) is int  # stored as Go writes it again

    # the same text with integers is what is stored now: no new generation
    rv = replaced["metadata"]["resourceVersion"]
    same = ok(emulator, "PUT", f"{DEPLOYMENTS}/orders",
              deployment_json("1", {"run": "fourth"}, f', "resourceVersion": "{rv}"'))
    assert same["metadata"]["generation"] == 2


def test_generation_compares_bool_and_int_type_strictly(emulator):
    """Semantic.DeepEqual is reflect-based: ``true`` (bool) and ``1`` (int64) differ, though Python's
    ``True == 1``. ``spec.flinkConfiguration`` keeps unknown fields (x-kubernetes-preserve-unknown-fields
    in the CRD), so any JSON type may stand there."""
    body = json.loads(deployment_json("1"))
    body["spec"]["flinkConfiguration"] = {"flag": 1}
    created = ok(emulator, "POST", DEPLOYMENTS, body)
    body["spec"]["flinkConfiguration"] = {"flag": True}
    body["metadata"]["resourceVersion"] = created["metadata"]["resourceVersion"]
    updated = ok(emulator, "PUT", f"{DEPLOYMENTS}/orders", body)
    assert updated["spec"]["flinkConfiguration"] == {"flag": True}
    assert type(updated["spec"]["flinkConfiguration"]["flag"]) is bool
    assert updated["metadata"]["generation"] == 2


def test_merge_patch_values_are_decoded_like_a_request(emulator):
    """A merge patch is applied to the stored object's JSON and the result decoded like a request
    body (k8s.io/apiserver pkg/endpoints/handlers/patch.go, ``jsonPatcher`` with RFC 7386): the
    patch's ``1.0`` is a float64 against the stored int64, so a new generation; a patch of labels
    only keeps it; a patch with the stored ``1`` changes nothing at all (same resourceVersion)."""
    ok(emulator, "POST", DEPLOYMENTS, deployment_json("1"))
    path = f"{DEPLOYMENTS}/orders"
    labels = ok(emulator, "PATCH", path, '{"metadata": {"labels": {"run": "second"}}}', "application/merge-patch+json")
    assert labels["metadata"]["generation"] == 1
    same = ok(emulator, "PATCH", path, '{"spec": {"jobManager": {"resource": {"cpu": 1}}}}',
              "application/merge-patch+json")
    assert same["metadata"]["resourceVersion"] == labels["metadata"]["resourceVersion"]
    floated = ok(emulator, "PATCH", path, '{"spec": {"jobManager": {"resource": {"cpu": 1.0}}}}',
                 "application/merge-patch+json")
    assert floated["metadata"]["generation"] == 2
    assert type(floated["spec"]["jobManager"]["resource"]["cpu"]) is int
    json_patched = ok(emulator, "PATCH", path, '[{"op": "replace", "path": "/spec/taskManager/resource/cpu", '
                      '"value": 1.0}]', "application/json-patch+json")
    assert json_patched["metadata"]["generation"] == 3


def test_strategic_merge_patch_is_refused_for_custom_resources(emulator):
    """Custom resources have no patch strategy, so the CRD handler accepts only JSON, merge and apply
    patches and answers ``415`` otherwise (as ``kubectl patch`` without ``--type merge`` shows on any
    CRD: "accepted media types include: application/json-patch+json, application/merge-patch+json,
    application/apply-patch+yaml")."""
    ok(emulator, "POST", DEPLOYMENTS, deployment_json("1"))
    status, text = http(emulator, "PATCH", f"{DEPLOYMENTS}/orders", {"metadata": {"labels": {"a": "b"}}},
                        "application/strategic-merge-patch+json")
    assert status == 415 and "application/merge-patch+json" in text
    assert get(emulator, f"{DEPLOYMENTS}/orders")["metadata"]["labels"] == {"run": "first"}


def test_status_writes_never_change_generation_and_store_numbers_as_go_does(emulator):
    """The status subresource's strategy (statusStrategy.PrepareForUpdate in the same package) copies
    the stored object and takes only ``status`` from the request; the storage layer compares the
    encoded objects, so a status that encodes to the stored bytes (``1.0`` vs ``1``) is no write."""
    created = ok(emulator, "POST", DEPLOYMENTS, deployment_json("1"))
    body = copy.deepcopy(created)
    body["status"] = {"jobStatus": {"state": "RUNNING"}, "observedGeneration": 1}
    body["spec"]["jobManager"]["resource"]["cpu"] = 3  # ignored on /status
    written = ok(emulator, "PUT", f"{DEPLOYMENTS}/orders/status", body)
    assert written["metadata"]["generation"] == 1 and written["spec"]["jobManager"]["resource"]["cpu"] == 1
    text = json.dumps({**written, "status": {"jobStatus": {"state": "RUNNING"}, "observedGeneration": "GEN"}})
    again = ok(emulator, "PUT", f"{DEPLOYMENTS}/orders/status", text.replace('"GEN"', "1.0"))
    assert again["metadata"]["resourceVersion"] == written["metadata"]["resourceVersion"]
    assert type(again["status"]["observedGeneration"]) is int
    patched = ok(emulator, "PATCH", f"{DEPLOYMENTS}/orders/status", '{"status": {"observedGeneration": 2.0}}',
                 "application/merge-patch+json")
    assert patched["status"]["observedGeneration"] == 2 and type(patched["status"]["observedGeneration"]) is int
    assert patched["metadata"]["generation"] == 1


# --- 2. /version --------------------------------------------------------------------------------


def test_version_answers_like_a_real_api_server(emulator):
    """``GET /version`` returns k8s.io/apimachinery pkg/version ``Info``; the official client's
    VersionApi (and with it the cncf provider's ``KubernetesHook.test_connection``, i.e.
    ``airflow connections test``) requires every field of it."""
    from kubernetes import client

    info = client.VersionApi(kube_client(emulator)).get_code()
    assert info.major.isdigit() and info.minor.isdigit()
    assert info.git_version.startswith(f"v{info.major}.{info.minor}.")
    assert len(info.git_commit) == 40 and info.git_tree_state == "clean"
    assert info.compiler == "gc" and info.go_version.startswith("go1.") and "/" in info.platform
    assert info.build_date.endswith("Z")
    assert int(info.minor) >= 30  # a Kubernetes that is still supported upstream or close to it


def test_airflow_kubernetes_connection_test_succeeds(emulator, monkeypatch):
    """What ``airflow connections test kubernetes_default`` runs: KubernetesHook.test_connection()."""
    from airflow.providers.cncf.kubernetes.hooks.kubernetes import KubernetesHook

    value = json.dumps({"conn_type": "kubernetes",
                        "extra": {"kube_config": json.dumps(emulator.kubeconfig(NS)), "namespace": NS}})
    monkeypatch.setenv("AIRFLOW_CONN_KUBERNETES_DEFAULT", value)
    passed, message = KubernetesHook(conn_id="kubernetes_default").test_connection()
    assert passed, message
    assert "v1." in message


# --- 3. deletion propagation and the garbage collector -----------------------------------------


def make_owner(server: KubeApiEmulator, finalizers: list[str] | None = None) -> dict[str, Any]:
    body = json.loads(deployment_json("1"))
    if finalizers:
        body["metadata"]["finalizers"] = finalizers
    return ok(server, "POST", DEPLOYMENTS, body)


def make_dependent(server: KubeApiEmulator, path: str, name: str, owners: list[dict[str, Any]], *,
                   block: bool = True, finalizers: list[str] | None = None) -> dict[str, Any]:
    refs = [{"apiVersion": API_VERSION, "kind": "FlinkDeployment", "name": o["metadata"]["name"],
             "uid": o["metadata"]["uid"], "controller": i == 0, "blockOwnerDeletion": block}
            for i, o in enumerate(owners)]
    body: dict[str, Any] = {"metadata": {"name": name, "ownerReferences": refs}}
    if finalizers:
        body["metadata"]["finalizers"] = finalizers
    if path == PODS:
        body["spec"] = {"containers": [{"name": "main", "image": "busybox"}]}
    else:
        body["data"] = {"k": "v"}
    return ok(server, "POST", path, body)


def delete(server: KubeApiEmulator, path: str, policy: str | None, *, in_body: bool = True) -> dict[str, Any]:
    if policy is None:
        return ok(server, "DELETE", path)
    if in_body:
        return ok(server, "DELETE", path, {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": policy})
    return ok(server, "DELETE", f"{path}?propagationPolicy={policy}")


def finalizers_of(server: KubeApiEmulator, path: str) -> list[str] | None:
    obj = get(server, path)
    return None if obj is None else obj["metadata"].get("finalizers") or []


def test_foreground_deletion_waits_for_blocking_dependents(emulator):
    """Foreground cascading deletion (kubernetes.io/docs/concepts/architecture/garbage-collection/,
    "Foreground cascading deletion"): the API server sets ``deletionTimestamp`` and adds the
    ``foregroundDeletion`` finalizer (generic registry store.go ``deletionFinalizersForGarbageCollection``);
    the garbage collector deletes the dependents and removes the finalizer only when no dependent
    with ``blockOwnerDeletion: true`` is left (garbagecollector.go ``processDeletingDependentsItem``).
    A dependent that does not block is deleted too, but is not waited for."""
    owner = make_owner(emulator, ["example.com/cleanup"])
    make_dependent(emulator, CONFIG_MAPS, "blocking", [owner], finalizers=["example.com/hold"])
    make_dependent(emulator, PODS, "not-blocking", [owner], block=False, finalizers=["example.com/hold"])
    client = kube_client(emulator)
    from kubernetes import client as k8s

    answer = k8s.CustomObjectsApi(client).delete_namespaced_custom_object(
        GROUP, VERSION, NS, "flinkdeployments", "orders", body=k8s.V1DeleteOptions(propagation_policy="Foreground"))
    assert answer["metadata"]["deletionTimestamp"]
    assert answer["metadata"]["finalizers"] == ["example.com/cleanup", "foregroundDeletion"]

    # the collector deleted both dependents: they are held by their own finalizers
    wait_until(lambda: get(emulator, f"{CONFIG_MAPS}/blocking")["metadata"].get("deletionTimestamp"),
               "blocking dependent deleted")
    wait_until(lambda: get(emulator, f"{PODS}/not-blocking")["metadata"].get("deletionTimestamp"),
               "non-blocking dependent deleted")
    assert finalizers_of(emulator, f"{DEPLOYMENTS}/orders") == ["example.com/cleanup", "foregroundDeletion"]

    ok(emulator, "PATCH", f"{CONFIG_MAPS}/blocking", {"metadata": {"finalizers": None}}, "application/merge-patch+json")
    wait_until(lambda: finalizers_of(emulator, f"{DEPLOYMENTS}/orders") == ["example.com/cleanup"],
               "foregroundDeletion removed once the blocking dependent is gone")
    assert get(emulator, f"{PODS}/not-blocking") is not None  # never waited for

    ok(emulator, "PATCH", f"{DEPLOYMENTS}/orders", {"metadata": {"finalizers": None}}, "application/merge-patch+json")
    assert get(emulator, f"{DEPLOYMENTS}/orders") is None
    assert emulator.stats()["deletions"][0] == {"plural": "flinkdeployments", "namespace": NS, "name": "orders",
                                                "propagationPolicy": "Foreground"}


def test_foreground_deletion_without_finalizers_completes_on_its_own(emulator):
    """With nothing else holding them, the dependents go, then ``foregroundDeletion``, then the owner."""
    owner = make_owner(emulator)
    make_dependent(emulator, CONFIG_MAPS, "files", [owner])
    delete(emulator, f"{DEPLOYMENTS}/orders", "Foreground", in_body=False)
    wait_until(lambda: get(emulator, f"{DEPLOYMENTS}/orders") is None, "owner gone")
    assert get(emulator, f"{CONFIG_MAPS}/files") is None
    assert emulator.stats()["deletions_by_propagation"] == {"Foreground": 1}


def test_background_deletion_removes_the_owner_first_and_collects_dependents_afterwards(emulator):
    """Background is the default for custom resources (customResourceStrategy has no
    DefaultGarbageCollectionPolicy override, so DeleteDependents): the owner goes once its own
    finalizers are gone; until then its dependents stay, and then the collector deletes the
    dependents whose owners are all gone (``attemptToDeleteItem``: no *solid* owner left). A
    dependent with another existing owner stays and only loses the reference to the deleted one."""
    owner = make_owner(emulator, ["example.com/cleanup"])
    other = ok(emulator, "POST", DEPLOYMENTS, {**json.loads(deployment_json("1")), "metadata": {"name": "other"}})
    make_dependent(emulator, CONFIG_MAPS, "files", [owner])
    make_dependent(emulator, CONFIG_MAPS, "shared", [owner, other])

    marked = delete(emulator, f"{DEPLOYMENTS}/orders", None)
    assert marked["metadata"]["deletionTimestamp"] and marked["metadata"]["finalizers"] == ["example.com/cleanup"]
    assert get(emulator, f"{CONFIG_MAPS}/files") is not None  # the owner still exists: a solid owner

    ok(emulator, "PATCH", f"{DEPLOYMENTS}/orders", {"metadata": {"finalizers": None}}, "application/merge-patch+json")
    assert get(emulator, f"{DEPLOYMENTS}/orders") is None
    wait_until(lambda: get(emulator, f"{CONFIG_MAPS}/files") is None, "dependent collected after its owner")
    shared = wait_until(lambda: (cm := get(emulator, f"{CONFIG_MAPS}/shared")) and
                        len(cm["metadata"]["ownerReferences"]) == 1 and cm, "dangling reference removed")
    assert shared["metadata"]["ownerReferences"][0]["uid"] == other["metadata"]["uid"]
    assert emulator.stats()["deletions_by_propagation"] == {"unset": 1}


def test_orphan_deletion_keeps_dependents_without_the_reference(emulator):
    """Orphan: the API server adds the ``orphan`` finalizer; the collector removes the owner's
    references from the dependents, then the finalizer (garbagecollector.go ``attemptToOrphan``)."""
    owner = make_owner(emulator)
    make_dependent(emulator, CONFIG_MAPS, "files", [owner])
    answer = delete(emulator, f"{DEPLOYMENTS}/orders", "Orphan")
    assert answer["metadata"]["finalizers"] == ["orphan"] and answer["metadata"]["deletionTimestamp"]
    wait_until(lambda: get(emulator, f"{DEPLOYMENTS}/orders") is None, "owner gone")
    kept = get(emulator, f"{CONFIG_MAPS}/files")
    assert kept is not None and not kept["metadata"].get("ownerReferences")
    assert [d["propagationPolicy"] for d in json.loads(http(emulator, "GET", "/_emulator/stats")[1])["deletions"]] \
        == ["Orphan"]


def test_dependent_of_an_owner_that_does_not_exist_is_collected(emulator):
    """An owner reference whose uid matches no object is dangling (``classifyReferences``), and a
    dependent with only dangling owners is garbage."""
    ghost = {"metadata": {"name": "ghost", "uid": "0b8c3b5a-0000-4000-8000-000000000000"}}
    make_dependent(emulator, CONFIG_MAPS, "orphaned", [ghost])
    wait_until(lambda: get(emulator, f"{CONFIG_MAPS}/orphaned") is None, "dependent of a missing owner collected")


def test_without_a_garbage_collector_nothing_is_collected_and_gc_finalizers_stay(bare_apiserver):
    """kube-apiserver with etcd only (envtest starts them "without kubelet, controller-manager or other
    components", so no garbage collector — book.kubebuilder.io/reference/envtest.html and its
    "Testing considerations" on OwnerReferences). The API server
    still adds ``foregroundDeletion`` / ``orphan`` on delete (its ``--enable-garbage-collector``
    defaults to true), but nobody removes them, and ownerReferences are never followed."""
    server = bare_apiserver
    owner = make_owner(server)
    make_dependent(server, CONFIG_MAPS, "files", [owner])
    answer = delete(server, f"{DEPLOYMENTS}/orders", "Foreground")
    assert answer["metadata"]["finalizers"] == ["foregroundDeletion"]
    assert finalizers_of(server, f"{DEPLOYMENTS}/orders") == ["foregroundDeletion"]  # stuck for good
    assert get(server, f"{CONFIG_MAPS}/files")["metadata"].get("deletionTimestamp") is None

    # switching to Background removes foregroundDeletion (store.go replaces the GC finalizers)
    gone = delete(server, f"{DEPLOYMENTS}/orders", "Background")
    assert gone["metadata"].get("finalizers") in (None, [])
    assert get(server, f"{DEPLOYMENTS}/orders") is None
    assert get(server, f"{CONFIG_MAPS}/files") is not None  # a dangling reference, never collected

    second = ok(server, "POST", DEPLOYMENTS, {**json.loads(deployment_json("1")), "metadata": {"name": "second"}})
    make_dependent(server, CONFIG_MAPS, "more-files", [second])
    delete(server, f"{DEPLOYMENTS}/second", "Orphan")
    assert finalizers_of(server, f"{DEPLOYMENTS}/second") == ["orphan"]
    assert get(server, f"{CONFIG_MAPS}/more-files")["metadata"]["ownerReferences"]
    assert server.stats()["deletions_by_propagation"] == {"Foreground": 1, "Background": 1, "Orphan": 1}


def test_no_finalizer_can_be_added_while_deleting(bare_apiserver):
    """ValidateObjectMetaUpdate (k8s.io/apimachinery pkg/api/validation/objectmeta.go): "no new
    finalizers can be added if the object is being deleted"."""
    make_owner(bare_apiserver, ["example.com/cleanup"])
    delete(bare_apiserver, f"{DEPLOYMENTS}/orders", None)
    status, text = http(bare_apiserver, "PATCH", f"{DEPLOYMENTS}/orders",
                        {"metadata": {"finalizers": ["example.com/cleanup", "example.com/late"]}},
                        "application/merge-patch+json")
    assert status == 422 and "no new finalizers can be added" in text


def test_unknown_propagation_policy_is_rejected(emulator):
    """DeleteOptions validation: propagationPolicy must be Foreground, Background or Orphan."""
    make_owner(emulator)
    status, text = http(emulator, "DELETE", f"{DEPLOYMENTS}/orders?propagationPolicy=Sideways")
    assert status == 422 and "Unsupported value" in text
    assert get(emulator, f"{DEPLOYMENTS}/orders") is not None


# --- 4. FlinkBlueGreenDeployment --------------------------------------------------------------


def blue_green_example() -> dict[str, Any]:
    """The operator's own e2e example (e2e-tests/data/bluegreen-stateless.yaml, in shared/upstream-docs)."""
    root = crd_dir_from_env()
    example = Path(root).parent / "upstream-docs" / "bluegreen-stateless.yaml" if root else None
    if example is None or not example.exists():
        pytest.skip("the upstream blue/green example is not next to FLINK_CRD_DIR")
    return yaml.safe_load(example.read_text())


def test_blue_green_deployments_are_served_with_their_schema_and_status_subresource(emulator):
    """CRD flinkbluegreendeployments.flink.apache.org: kind FlinkBlueGreenDeployment, plural
    flinkbluegreendeployments, shortName flinkbgdep, version v1beta1, ``subresources: status``."""
    if crd_dir_from_env() is None:
        pytest.skip("FLINK_CRD_DIR is not set")
    discovery = ok(emulator, "GET", f"/apis/{GROUP}/{VERSION}")
    names = {r["name"]: r for r in discovery["resources"]}
    assert names["flinkbluegreendeployments"]["kind"] == KIND_BLUE_GREEN
    assert names["flinkbluegreendeployments"]["shortNames"] == ["flinkbgdep"]
    assert "flinkbluegreendeployments/status" in names

    body = blue_green_example()
    created = ok(emulator, "POST", BLUE_GREEN, body)
    assert created["kind"] == KIND_BLUE_GREEN and created["metadata"]["generation"] == 1

    bad = copy.deepcopy(body)
    bad["metadata"]["name"] = "bad"
    bad["spec"]["template"]["spec"]["job"]["parallelism"] = "many"
    status, text = http(emulator, "POST", BLUE_GREEN, bad)
    assert status == 422 and "spec.template.spec.job.parallelism" in text

    name = created["metadata"]["name"]
    created["status"] = {"blueGreenState": "ACTIVE_BLUE"}
    relabelled = ok(emulator, "PUT", f"{BLUE_GREEN}/{name}", created)
    assert "status" not in relabelled and relabelled["metadata"]["generation"] == 1  # status only via /status
    with_status = ok(emulator, "PUT", f"{BLUE_GREEN}/{name}/status", {**relabelled, "status": created["status"]})
    assert with_status["status"] == {"blueGreenState": "ACTIVE_BLUE"}


@pytest.mark.parametrize("folder", [".", "release-1.15.0"])
def test_blue_green_is_served_by_each_crd_version_that_has_it(folder):
    """Both the released 1.15.0 chart and main ship the blue/green CRD."""
    root = crd_dir_from_env()
    if root is None or not (Path(root) / folder / "flinkbluegreendeployments.flink.apache.org-v1.yml").exists():
        pytest.skip("no blue/green CRD in this folder")
    with KubeApiEmulator(crd_dir=str(Path(root) / folder)) as server:
        assert ok(server, "GET", BLUE_GREEN)["items"] == []


def test_blue_green_is_not_served_when_the_crd_is_not_installed(tmp_path):
    """An API server serves a custom resource only when its CRD is installed."""
    root = crd_dir_from_env()
    if root is None:
        pytest.skip("FLINK_CRD_DIR is not set")
    shutil.copy(Path(root) / "flinkdeployments.flink.apache.org-v1.yml", tmp_path)
    with KubeApiEmulator(crd_dir=str(tmp_path)) as server:
        assert http(server, "GET", BLUE_GREEN)[0] == 404
        resources = {r["name"] for r in ok(server, "GET", f"/apis/{GROUP}/{VERSION}")["resources"]}
        assert "flinkbluegreendeployments" not in resources and "flinkdeployments" in resources


def test_watch_events_are_encoded_as_go_encoding_json_writes_them(emulator):
    """kube-apiserver's JSON serializer (k8s.io/apimachinery ``runtime/serializer/json``,
    ``Serializer.doEncode``) is ``json.NewEncoder(w).Encode``: Go's ``encoding/json`` ``appendString``
    escapes ``<``, ``>``, ``&`` (escapeHTML) and U+2028/U+2029 ("for JSONP"), and leaves every other
    character from U+0080 up, U+0085 (NEL) included, as UTF-8: ``json.Marshal("a<b&c>\u2028\u2029\u0085é")``
    is the literal below. A watch event is that encoding and a newline (the stream framer)."""
    created = ok(emulator, "POST", DEPLOYMENTS, deployment_json("1"))
    name = created["metadata"]["name"]
    note = "a<b&c>\u2028\u2029\u0085é"
    ok(emulator, "PATCH", f"{DEPLOYMENTS}/{name}", {"metadata": {"annotations": {"note": note}}},
       content_type="application/merge-patch+json")
    request = urllib.request.Request(f"{emulator.url}{DEPLOYMENTS}?watch=true&timeoutSeconds=1",
                                     headers={"Authorization": "Bearer emulator-token"})
    with urllib.request.urlopen(request, timeout=10) as response:
        line = response.readline()
    go_marshal = '"a\\u003cb\\u0026c\\u003e\\u2028\\u2029\u0085é"'.encode()
    assert b'"note":' + go_marshal in line
    assert json.loads(line)["object"]["metadata"]["annotations"]["note"] == note
