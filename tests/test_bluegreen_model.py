"""The FlinkBlueGreenDeployment model: the upstream examples load, render and validate against the CRDs."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from conftest import CRD_VERSIONS, assert_schema_valid, crd_schemas_for

from airflow_flink_operator.errors import FlinkSpecError
from airflow_flink_operator.manifests import MODELS, load_manifests, render, to_model
from airflow_flink_operator.models import (
    FlinkBlueGreenDeployment,
    FlinkDeployment,
    FlinkDeploymentSpec,
    JobManagerSpec,
    Resource,
    Savepoints,
    TaskManagerSpec,
)
from airflow_flink_operator.models.bluegreen import COLOUR_LABEL, child_name

#: The upstream documentation folder (CI: ../shared/upstream-docs), as FLINK_CRD_DIR names the CRDs.
DOCS_ENV = "FLINK_UPSTREAM_DOCS_DIR"
EXAMPLES = ("bluegreen-stateless.yaml", "bluegreen-laststate.yaml", "bluegreen-ingress.yaml")


def upstream_example(file_name: str) -> str:
    root = os.environ.get(DOCS_ENV, "").strip()
    if not root:
        pytest.skip(f"{DOCS_ENV} is not set: point it at the upstream docs (CI uses ../shared/upstream-docs)")
    path = Path(root) / file_name
    if not path.is_file():
        pytest.skip(f"{path} does not exist")
    return path.read_text()


def only_blue_green(text: str) -> FlinkBlueGreenDeployment:
    (bg,) = [doc for doc in load_manifests(text) if isinstance(doc, FlinkBlueGreenDeployment)]
    return bg


def with_resource_form(manifest: dict) -> dict:
    """The example as upstream's release-1.15.0 e2e data writes it: ``resource`` (cpu/memory), not requests."""
    result = yaml.safe_load(yaml.safe_dump(manifest))
    spec = result["spec"]["template"]["spec"]
    for part in ("jobManager", "taskManager"):
        requests = spec[part].pop("resources")["requests"]
        spec[part]["resource"] = {"cpu": float(requests["cpu"]), "memory": requests["memory"]}
    return result


@pytest.mark.parametrize("file_name", EXAMPLES)
def test_upstream_example_loads_into_the_typed_model_and_round_trips(file_name):
    text = upstream_example(file_name)
    bg = only_blue_green(text)
    source = next(d for d in yaml.safe_load_all(text) if d and d.get("kind") == "FlinkBlueGreenDeployment")
    assert bg.spec.template.spec.job.jar_uri == source["spec"]["template"]["spec"]["job"]["jarURI"]
    assert bg.configuration.deployment_deletion_delay == \
        source["spec"]["configuration"]["kubernetes.operator.bluegreen.deployment-deletion.delay"]
    (manifest,) = render(bg, operator_version="main")
    assert manifest["spec"]["configuration"] == source["spec"]["configuration"]
    assert manifest["spec"].get("ingress") == source["spec"].get("ingress")
    # Typed again from its own rendering, it is the same resource.
    assert to_model(manifest) == to_model(manifest).model_validate(manifest)
    assert render(to_model(manifest), operator_version="main") == [manifest]


@pytest.mark.parametrize("file_name", EXAMPLES)
@pytest.mark.parametrize("folder", sorted(CRD_VERSIONS), ids=lambda f: CRD_VERSIONS[f])
def test_upstream_example_validates_against_each_crd_version(file_name, folder):
    schemas, version = crd_schemas_for(folder), CRD_VERSIONS[folder]
    bg = only_blue_green(upstream_example(file_name))
    if version == "main":
        assert_schema_valid(schemas, render(bg, operator_version=version))
        return
    # The examples on main use the requests/limits form, which 1.15.0 does not have: both our
    # validation and the 1.15.0 CRD refuse it, naming the same field...
    with pytest.raises(FlinkSpecError, match=r"spec\.template\.spec\.jobManager\.resources"):
        render(bg, operator_version=version)
    (main_manifest,) = render(bg, operator_version="main")
    assert any(p.field == "spec.template.spec.jobManager.resources" for p in schemas.errors(main_manifest))
    # ...and in the form of release-1.15.0's own e2e data it renders and validates.
    assert_schema_valid(schemas, render(to_model(with_resource_form(main_manifest)), operator_version=version))


def _deployment() -> FlinkDeployment:
    from airflow_flink_operator.artifacts import JarJob

    return FlinkDeployment(name="orders", namespace="flink", labels={"team": "data"}, spec=FlinkDeploymentSpec(
        image="flink:1.20", flink_version="v1_20", service_account="flink",
        savepoints=Savepoints(dir="s3://bucket/savepoints"),
        job_manager=JobManagerSpec(resource=Resource(cpu=1, memory="2048m")),
        task_manager=TaskManagerSpec(resource=Resource(cpu=1, memory="2048m")),
        job=JarJob(jar_uri="local:///opt/flink/usrlib/orders.jar", parallelism=2, upgrade_mode="stateless")))


def test_from_deployment_is_one_call_and_keeps_the_typed_settings(crd):
    schemas, version = crd
    deployment = _deployment()
    bg = FlinkBlueGreenDeployment.from_deployment(deployment, abort_grace_period=timedelta(minutes=5),
                                                  deployment_deletion_delay="30 s")
    assert bg.kind == "FlinkBlueGreenDeployment" and bg.name == "orders" and bg.namespace == "flink"
    assert bg.spec.template.spec == deployment.spec
    (manifest,) = render(bg, operator_version=version)
    assert manifest["metadata"] == {"name": "orders", "namespace": "flink", "labels": {"team": "data"}}
    assert manifest["spec"]["configuration"] == {
        "kubernetes.operator.bluegreen.abort.grace-period": "300 s",
        "kubernetes.operator.bluegreen.deployment-deletion.delay": "30 s",
    }
    # The typed savepoint helper became flinkConfiguration keys of the template, as for a FlinkDeployment.
    (plain,) = render(deployment, operator_version=version)
    assert manifest["spec"]["template"]["spec"] == plain["spec"]
    assert_schema_valid(schemas, [manifest])


def test_children_are_named_and_labelled_as_the_operator_names_them():
    bg = FlinkBlueGreenDeployment.from_deployment(_deployment())
    assert [child_name("orders", c) for c in ("blue", "green")] == ["orders-blue", "orders-green"]
    green = bg.child("green")
    assert green.name == "orders-green" and green.metadata.labels == {COLOUR_LABEL: "GREEN"}


def test_sql_job_files_go_to_a_config_map_owned_by_the_blue_green_resource():
    from airflow_flink_operator.artifacts import SqlJob

    deployment = _deployment()
    deployment = deployment.model_copy(update={"spec": deployment.spec.model_copy(
        update={"job": SqlJob(sql="INSERT INTO sink SELECT * FROM source;", parallelism=1,
                                  upgrade_mode="stateless")})})
    config_map, manifest = render(FlinkBlueGreenDeployment.from_deployment(deployment))
    assert config_map["kind"] == "ConfigMap"
    assert config_map["metadata"]["labels"]["airflow-flink-operator/owner-kind"] == "FlinkBlueGreenDeployment"
    volumes = manifest["spec"]["template"]["spec"]["podTemplate"]["spec"]["volumes"]
    assert volumes[0]["configMap"]["name"] == config_map["metadata"]["name"]


def test_refused_on_operators_without_blue_green():
    bg = FlinkBlueGreenDeployment.from_deployment(_deployment())
    with pytest.raises(FlinkSpecError, match=r"needs Flink Kubernetes Operator 1\.15 or newer; the target is 1\.13, "
                                             r"whose operator has no such resource"):
        render(bg, operator_version="1.13")
    assert render(bg, operator_version="1.15")


def test_operator_1_14_is_refused_for_its_stale_savepoint_trigger_after_an_abort():
    """Defect 8: 1.14.0 keeps savepointTriggerId after an abort (cleared from 1.15.0, commit a00bf278), so its
    next transition starts the new colour from the aborted attempt's savepoint."""
    bg = FlinkBlueGreenDeployment.from_deployment(_deployment())
    with pytest.raises(FlinkSpecError, match=r"1\.15 or newer; the target is 1\.14, whose operator keeps the aborted "
                                             r"attempt's savepointTriggerId"):
        render(bg, operator_version="1.14")


def test_last_state_blue_green_needs_a_savepoint_directory():
    """Defect 6: every non-stateless transition savepoints the active child (BlueGreenUtils.isSavepointRequired,
    triggerSavepoint's checkNotNull(SAVEPOINT_DIRECTORY)); last-state alone needs no savepoint dir elsewhere."""
    deployment = _deployment()
    from airflow_flink_operator.models import Checkpointing

    spec = deployment.spec.model_copy(update={
        "savepoints": None, "checkpointing": Checkpointing(interval="30 s", dir="s3://bucket/checkpoints"),
        "job": deployment.spec.job.model_copy(
        update={"upgrade_mode": "last-state"})})
    with pytest.raises(FlinkSpecError) as info:
        render(FlinkBlueGreenDeployment.from_deployment(deployment.model_copy(update={"spec": spec})))
    assert [p.field for p in info.value.problems] == ["spec.template.spec.job.upgradeMode"]
    assert "savepoint of the active one" in str(info.value) and "Savepoints(dir=" in str(info.value)
    stateless = spec.model_copy(update={"job": spec.job.model_copy(update={"upgrade_mode": "stateless"})})
    assert render(FlinkBlueGreenDeployment.from_deployment(deployment.model_copy(update={"spec": stateless})))


def test_template_problems_name_the_blue_green_field():
    deployment = _deployment()
    broken = deployment.model_copy(update={"spec": deployment.spec.model_copy(update={"service_account": None})})
    with pytest.raises(FlinkSpecError) as info:
        render(FlinkBlueGreenDeployment.from_deployment(broken))
    assert [p.field for p in info.value.problems] == ["spec.template.spec.serviceAccount"]


def test_a_name_too_long_for_the_green_child_is_refused():
    long_name = "x" * 40  # valid for a FlinkDeployment (45), but "<name>-green" is 46
    bg = FlinkBlueGreenDeployment.from_deployment(_deployment().model_copy(
        update={"metadata": _deployment().metadata.model_copy(update={"name": long_name})}))
    with pytest.raises(FlinkSpecError, match=f"{long_name}-green"):
        render(bg)


def test_misspelt_blue_green_setting_is_refused_with_a_suggestion():
    manifest = {"apiVersion": "flink.apache.org/v1beta1", "kind": "FlinkBlueGreenDeployment",
                "metadata": {"name": "orders"},
                "spec": {"configuration": {"kubernetes.operator.bluegreen.abort.grace-periode": "5 min"},
                         "template": {"spec": _deployment().spec.to_dict()}}}
    with pytest.raises(FlinkSpecError, match="Did you mean 'kubernetes.operator.bluegreen.abort.grace-period'"):
        to_model(manifest)


def test_registered_as_a_flink_kind():
    assert MODELS["FlinkBlueGreenDeployment"] is FlinkBlueGreenDeployment


# --- the operator's change classification (FlinkBlueGreenDeploymentSpecDiff + ReflectiveDiffBuilder) -------------

BASE = {"image": "flink:1.20", "flinkConfiguration": {"taskmanager.numberOfTaskSlots": "2", "custom.key": "x"},
        "job": {"jarURI": "local:///a.jar", "parallelism": 2, "upgradeMode": "savepoint"}}


def _bg(spec: dict, **top) -> dict:
    return {"template": {"spec": spec}, **top}


@pytest.mark.parametrize(("change", "expected", "rule"), [
    ({"image": "flink:1.20.1"}, "TRANSITION", "an UPGRADE field"),
    ({"flinkConfiguration": {"taskmanager.numberOfTaskSlots": "2"}}, "TRANSITION",
     "a removed configuration key: configDiff compares every key of both sides"),
    ({"flinkConfiguration": {**BASE["flinkConfiguration"], "pipeline.jobvertex-parallelism-overrides": "a:1"}},
     "TRANSITION", "SCALE in NATIVE mode: not IGNORE, so a transition"),
    ({"flinkConfiguration": {**BASE["flinkConfiguration"], "kubernetes.operator.x": "1"}}, "PATCH_CHILD",
     "kubernetes.operator prefix: IGNORE"),
    ({"job": {**BASE["job"], "parallelism": 4}}, "TRANSITION", "parallelism is SCALE only in STANDALONE"),
    ({"job": {**BASE["job"], "upgradeMode": "last-state"}}, "PATCH_CHILD", "upgradeMode: @SpecDiff(IGNORE)"),
    ({"job": {**BASE["job"], "args": []}}, "IGNORE", "args defaults to an empty array"),
    ({"job": {**BASE["job"], "state": "running"}}, "IGNORE", "state defaults to running"),
    ({"job": {**BASE["job"], "state": "suspended"}}, "SUSPEND", "job.state to suspended"),
    ({"job": {**BASE["job"], "savepointRedeployNonce": 1, "initialSavepointPath": "s3://sp/1"}},
     "SAVEPOINT_REDEPLOY", "savepointRedeployNonce: SAVEPOINT_REDEPLOY wins"),
    ({"restartNonce": 7}, "TRANSITION", "restartNonce: UPGRADE"),
])
def test_change_classification_follows_the_java_spec_diff(change, expected, rule):
    from airflow_flink_operator.models.bluegreen import diff_type

    assert diff_type(_bg(BASE), _bg({**BASE, **change})) == expected, rule


def test_removing_a_nonce_is_ignored_by_the_builder_so_the_child_is_only_patched():
    """onNullIgnore: a removed restartNonce/savepointRedeployNonce is no difference for ReflectiveDiffBuilder,
    but the specs are not equal, so FlinkBlueGreenDeploymentSpecDiff answers PATCH_CHILD, never TRANSITION."""
    from airflow_flink_operator.models.bluegreen import diff_type

    with_nonces = {**BASE, "restartNonce": 3, "job": {**BASE["job"], "savepointRedeployNonce": 2,
                                                      "initialSavepointPath": "s3://sp/1"}}
    assert diff_type(_bg(with_nonces), _bg({**with_nonces, "restartNonce": None})) == "PATCH_CHILD"
    no_redeploy = {**with_nonces, "job": {k: v for k, v in with_nonces["job"].items() if k != "savepointRedeployNonce"}}
    assert diff_type(_bg(with_nonces), _bg(no_redeploy)) == "PATCH_CHILD"


def test_only_the_template_spec_counts():
    from airflow_flink_operator.models.bluegreen import diff_type

    changed = _bg(BASE, configuration={"kubernetes.operator.bluegreen.abort.grace-period": "1 min"},
                  ingress={"template": "{{name}}.example.com"})
    changed["template"]["metadata"] = {"labels": {"team": "data"}}
    assert diff_type(_bg(BASE), changed) == "IGNORE"


def test_nested_configuration_equals_its_flat_form():
    from airflow_flink_operator.models.bluegreen import diff_type

    nested = {**BASE, "flinkConfiguration": {"taskmanager": {"numberOfTaskSlots": 2}, "custom": {"key": "x"}}}
    # asFlatMap: no difference for the builder; equals: the JSON trees differ, so the child is only patched.
    assert diff_type(_bg(BASE), _bg(nested)) == "PATCH_CHILD"
    typed = {**BASE, "flinkConfiguration": {**BASE["flinkConfiguration"], "taskmanager.numberOfTaskSlots": 2}}
    assert diff_type(_bg(BASE), _bg(typed)) == "PATCH_CHILD"
