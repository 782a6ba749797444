"""A re-run of a deploy task must not redeploy: ``metadata.generation`` stays as it is.

The Flink operator reconciles (for a running job: upgrades, with a savepoint or a restart) whenever
``metadata.generation`` moves past ``status.observedGeneration``. The API server bumps the generation
when the new spec is not type-strictly equal to the stored one (customResourceStrategy.PrepareForUpdate,
``apiequality.Semantic.DeepEqual``), and it stores ``1.0`` as ``1`` — so re-sending a typed spec whose
CPU is the float ``1.0`` would be a new generation on every re-run, though nothing changed.
"""

from __future__ import annotations

from specs import NS, app

from airflow_flink_operator.manifests import render
from airflow_flink_operator.models import JobManagerSpec, Resource, TaskManagerSpec


def float_resources_app():
    """A FlinkDeployment whose JobManager and TaskManager CPUs serialise as ``1.0`` and ``2.0``."""
    return app(job_manager=JobManagerSpec(resource=Resource(memory="2g", cpu=1.0)),
               task_manager=TaskManagerSpec(resource=Resource(memory="2g", cpu=2.0), replicas=1))


def test_the_spec_really_carries_float_looking_integers():
    """Guard for the test below: the typed model sends ``1.0``, not ``1`` (else it would prove nothing)."""
    (manifest,) = [m for m in render(float_resources_app()) if m["kind"] == "FlinkDeployment"]
    cpus = [manifest["spec"]["jobManager"]["resource"]["cpu"], manifest["spec"]["taskManager"]["resource"]["cpu"]]
    assert cpus == [1.0, 2.0] and all(type(c) is float for c in cpus)


def test_rerun_with_new_task_labels_keeps_the_generation(k8s):
    """Apply, let the operator pick it up, re-apply the same typed spec with the next try's labels:
    the labels change, the generation (and so the running job) does not."""
    hook = k8s.hook()
    first = hook.apply(render(float_resources_app()), labels={"airflow-flink-operator/try-number": "1"})
    assert first["metadata"]["generation"] == 1
    assert first["spec"]["jobManager"]["resource"]["cpu"] == 1  # stored as the API server writes it
    k8s.wait_for(lambda: (obj := hook.get("FlinkDeployment", "orders", NS)) and
                 (obj.get("status") or {}).get("observedGeneration") == 1, what="operator observed generation 1")

    again = hook.apply(render(float_resources_app()), labels={"airflow-flink-operator/try-number": "2"})
    assert again["metadata"]["labels"]["airflow-flink-operator/try-number"] == "2"
    assert again["metadata"]["generation"] == 1

    third = hook.apply(render(float_resources_app()), labels={"airflow-flink-operator/try-number": "3"})
    assert third["metadata"]["generation"] == 1
    stored = hook.get("FlinkDeployment", "orders", NS)
    assert stored["metadata"]["generation"] == 1 and stored["status"]["observedGeneration"] == 1


def test_a_real_change_next_to_float_resources_is_one_new_generation(k8s):
    """The other side: a changed parallelism is exactly one new generation, however often re-applied."""
    hook = k8s.hook()
    hook.apply(render(float_resources_app()))
    changed = app(parallelism=4, job_manager=JobManagerSpec(resource=Resource(memory="2g", cpu=1.0)),
                  task_manager=TaskManagerSpec(resource=Resource(memory="2g", cpu=2.0), replicas=1))
    assert hook.apply(render(changed))["metadata"]["generation"] == 2
    assert hook.apply(render(changed), labels={"airflow-flink-operator/try-number": "2"})["metadata"]["generation"] == 2
