"""Submit FlinkDeployments and FlinkSessionJobs and wait until the job really runs."""

from __future__ import annotations

from typing import Any

from airflow_flink_operator.assets import redact_uri
from airflow_flink_operator.constants import KIND_DEPLOYMENT, KIND_SESSION_JOB
from airflow_flink_operator.operators.base import FlinkBaseOperator, FlinkTaskError, FlinkWebUILink

ON_KILL_ACTIONS = ("keep", "suspend", "delete")
WAIT_TARGETS = ("running", "stable", "finished", "ready", "checkpointed")


def checkpointing_problems(manifest: dict[str, Any], cluster: dict[str, Any] | None = None) -> list[Any]:
    """Why a ``checkpointed`` wait on this resource could never end, before anything is sent: it needs a job,
    and Flink's periodic checkpoints on (``execution.checkpointing.interval`` in the resource's
    ``flinkConfiguration``, or for a session job in its session cluster's)."""
    from airflow_flink_operator.errors import SpecProblem
    from airflow_flink_operator.models.checkpoints import CHECKPOINT_INTERVAL_KEY
    from airflow_flink_operator.models.flink_config import flatten_config

    spec = manifest.get("spec") or {}
    if manifest.get("kind") == KIND_DEPLOYMENT and not spec.get("job"):
        return [SpecProblem("wait_for", "'checkpointed' waits for a job's checkpoints, but this FlinkDeployment is a "
                            "session cluster (no spec.job).", "Use wait_for='ready' for a session cluster.")]
    confs = [flatten_config(spec.get("flinkConfiguration")),
             flatten_config(((cluster or {}).get("spec") or {}).get("flinkConfiguration"))]
    interval = next((c[CHECKPOINT_INTERVAL_KEY] for c in confs if c.get(CHECKPOINT_INTERVAL_KEY)), None)
    if interval is None or interval.strip().lower() in ("0", "0 ms", "0ms", "-1"):
        return [SpecProblem(
            f"spec.flinkConfiguration.{CHECKPOINT_INTERVAL_KEY}",
            "wait_for='checkpointed' waits until a checkpoint completes, but periodic checkpoints are not "
            "configured, so none ever would.",
            "Add checkpointing=Checkpointing(interval='60 s', dir='s3://bucket/checkpoints') (flinkConfiguration "
            f"{CHECKPOINT_INTERVAL_KEY}), or wait_for='running'.")]
    return []


def with_job_updates(model: Any, **updates: Any) -> Any:
    """A copy of the model with ``spec.job`` fields replaced (``None`` values ignored)."""
    updates = {k: v for k, v in updates.items() if v is not None}
    if not updates:
        return model
    if model.spec.job is None:
        raise FlinkTaskError(f"{model.kind} {model.name} has no job; cannot set {', '.join(updates)}")
    job = model.spec.job.model_copy(update=updates)
    return model.model_copy(update={"spec": model.spec.model_copy(update={"job": job})})


class ApplyAndWaitBaseOperator(FlinkBaseOperator):
    """Applies one Flink resource, then waits for its target: what the deployment and session-job
    operators share."""

    kind = KIND_DEPLOYMENT
    #: Applies the resource's whole spec: ``openlineage_flink_config`` takes effect here.
    accepts_openlineage_flink_config = True

    def __init__(
        self,
        *,
        wait_for: str | None = None,
        initial_savepoint_path: str | None = None,
        restore_from_latest_savepoint_of: str | None = None,
        allow_non_restored_state: bool | None = None,
        labels: dict[str, str] | None = None,
        on_kill_action: str = "keep",
        failed_checkpoints: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if on_kill_action not in ON_KILL_ACTIONS:
            raise ValueError(f"on_kill_action must be one of {', '.join(ON_KILL_ACTIONS)}, not {on_kill_action!r}")
        if wait_for not in (None, *WAIT_TARGETS):
            raise ValueError(f"wait_for must be one of {', '.join(WAIT_TARGETS)}, not {wait_for!r}")
        if failed_checkpoints is not None and (isinstance(failed_checkpoints, bool) or
                                               not isinstance(failed_checkpoints, int) or failed_checkpoints < 1):
            raise ValueError(f"failed_checkpoints must be a whole number of at least 1, not {failed_checkpoints!r}")
        self.wait_for = wait_for
        self.failed_checkpoints = failed_checkpoints
        self.initial_savepoint_path = initial_savepoint_path
        self.restore_from_latest_savepoint_of = restore_from_latest_savepoint_of
        self.allow_non_restored_state = allow_non_restored_state
        self.labels = labels or {}
        self.on_kill_action = on_kill_action
        self._applied: tuple[str, str] | None = None

    def _source(self) -> Any:
        raise NotImplementedError

    def _target(self, model: Any) -> str:
        return self.wait_for or "running"

    def _prepare(self, model: Any, namespace: str) -> dict[str, Any]:
        """Extra arguments for rendering the manifests (e.g. the session cluster)."""
        return {}

    def latest_savepoint(self, job_name: str, namespace: str) -> str:
        """The newest completed savepoint of a job: from its FlinkStateSnapshots and its
        ``savepointInfo``, ordered by when they completed; never ``upgradeSavepointPath`` (it can
        hold ``KUBERNETES_OPERATOR_LAST_STATE`` or an older path; reference, section h)."""
        from airflow_flink_operator.models.savepoints import savepoint_records

        hook = self.hook
        snapshots = hook.list_snapshots(job_name, namespace) if hook.snapshot_resources_served() else []
        records = savepoint_records(hook.get(KIND_DEPLOYMENT, job_name, namespace), snapshots)
        if not records:
            raise FlinkTaskError(f"no completed savepoint of {namespace}/{job_name} to restore from")
        self.log.info("Newest savepoint of %s/%s: %s (%s, taken %s)", namespace, job_name, redact_uri(records[0].path),
                      records[0].source, records[0].taken_at)
        return records[0].path

    def execute(self, context: Any) -> dict[str, Any]:
        from airflow_flink_operator.manifests import load_resource
        from airflow_flink_operator.models.status import stale_error_of
        from airflow_flink_operator.naming import ti_labels

        self._before_apply(context)
        model = load_resource(self._source(), self.kind)
        namespace = self.resolved_namespace(model.to_dict())
        savepoint = self.initial_savepoint_path
        if not savepoint and self.restore_from_latest_savepoint_of:
            savepoint = self.latest_savepoint(self.restore_from_latest_savepoint_of, namespace)
        model = with_job_updates(model, initial_savepoint_path=savepoint,
                                 allow_non_restored_state=self.allow_non_restored_state)
        render_with = self._prepare(model, namespace)
        session_cluster = render_with.get("session_cluster")
        model = self.openlineage_prepare(  # the opt-in openlineage.* Flink configuration, before validation
            model, context, namespace,
            flink_version=session_cluster.spec.flink_version if session_cluster is not None else None)
        manifests = self.render_manifests(model, **render_with)
        if self._target(model) == "checkpointed":
            self._check_checkpointing(manifests, session_cluster)
        existing = self.hook.get(self.kind, model.name, namespace)  # checked and rendered: now the cluster
        if savepoint and existing is not None:
            self.log.warning("%s %s/%s exists already: initialSavepointPath only applies to a first deployment",
                             self.kind, namespace, model.name)
        stored = self.hook.apply(manifests, namespace, labels={**ti_labels(context), **self.labels})
        self._applied = (model.name, namespace)
        self._after_apply(context, model, namespace)
        generation = stored["metadata"].get("generation")
        # What this task did to the job (lineage reports the job's datasets only for a new job: lineage.flink_run).
        previous = ((existing or {}).get("metadata") or {}).get("generation")
        spec_change = "created" if existing is None else "unchanged" if previous == generation else "updated"
        base = {"kind": self.kind, "name": model.name, "namespace": namespace, "generation": generation,
                "spec_change": spec_change}
        if savepoint:
            base["initial_savepoint_path"] = savepoint
        if not self.wait_for_completion:
            return base
        return self.wait_or_defer(context, kind=self.kind, name=model.name, namespace=namespace,
                                  target=self._target(model), generation=generation,
                                  stale_error=stale_error_of(stored),
                                  on_kill_action=None if self.on_kill_action == "keep" else self.on_kill_action,
                                  failed_checkpoints=self.failed_checkpoints,
                                  resume_state={"kind": self.kind, "name": model.name, "namespace": namespace, "base": base})

    def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
        """The wait's result; a job that FINISHED is announced on the task's outlets (``assets``)."""
        result = super().execute_complete(context, event)
        if self.outlets and result.get("job_state") == "FINISHED":
            from airflow_flink_operator.assets import record_finished

            job = self.hook.get(self.kind, result["name"], result["namespace"])
            if job is not None:
                record_finished(context, self.outlets, job)
        return result

    def _before_apply(self, context: Any) -> None:
        pass

    def _check_checkpointing(self, manifests: list[dict[str, Any]], session_cluster: Any) -> None:
        """``wait_for='checkpointed'`` needs a job with periodic checkpoints: refuse before anything is sent."""
        from airflow_flink_operator.errors import FlinkSpecError

        manifest = next(m for m in manifests if m.get("kind") == self.kind)
        cluster = session_cluster.to_dict() if session_cluster is not None else None
        problems = checkpointing_problems(manifest, cluster)
        if problems:
            raise FlinkSpecError(f"{self.kind} {manifest['metadata'].get('name')}", problems)

    def _after_apply(self, context: Any, model: Any, namespace: str) -> None:
        pass

    def on_kill(self) -> None:
        """Leave a streaming job running (default), or suspend or delete it, as ``on_kill_action`` says.

        While the task is deferred, the trigger does the same (``FlinkWaitTrigger.on_kill``).
        """
        super().on_kill()
        if self._applied is None or self.on_kill_action == "keep":
            return
        name, namespace = self._applied
        if self.on_kill_action == "suspend":
            self.log.info("Task killed: suspending %s %s/%s", self.kind, namespace, name)
            self.hook.patch_spec(self.kind, name, {"job": {"state": "suspended"}}, namespace)
        else:
            self.log.info("Task killed: deleting %s %s/%s", self.kind, namespace, name)
            self.hook.delete(self.kind, name, namespace, wait=False)


class FlinkDeploymentOperator(ApplyAndWaitBaseOperator):
    """Apply a FlinkDeployment and wait until its job runs on the latest spec.

    Re-running updates the resource in place (never a 409, never a second job): the resource name
    is fixed by the spec, and the task instance is recorded in labels. Waits, by ``wait_for``:
    ``running`` (application mode default), ``stable``, ``finished`` (bounded jobs), ``ready``
    (session cluster default), ``checkpointed`` (running, and a checkpoint of this start completed, read from
    Flink's REST API through the API server's service proxy: the Role needs ``get`` on ``services/proxy``).
    Fails fast on FAILED / ERROR / ROLLED_BACK with the operator's error, events and a JobManager log tail.

    :param deployment: a :class:`~airflow_flink_operator.models.FlinkDeployment`, a manifest dict,
        YAML text or a ``.yaml``/``.yml``/``.json`` file (templated; typed models are not templated).
    :param wait_for: ``running``, ``stable``, ``finished``, ``ready`` or ``checkpointed``.
    :param failed_checkpoints: with ``checkpointed``: how many checkpoints of this start may fail, none
        completed, before the task fails with Flink's reason (default 3).
    :param initial_savepoint_path: start the job from this savepoint (first deployment). (templated)
    :param restore_from_latest_savepoint_of: start from the newest completed savepoint of this
        FlinkDeployment. (templated)
    :param allow_non_restored_state: allow state no operator of the new job claims.
    :param labels: extra labels on the resource. (templated)
    :param openlineage_flink_config: configure the Flink job's own OpenLineage integration (``True``, a
        dict or :class:`~airflow_flink_operator.lineage.flink_config.OpenLineageFlinkConfig`); see ``docs/openlineage.md``.
    :param on_kill_action: when the task is killed: ``keep`` (default; a streaming job keeps
        running), ``suspend`` or ``delete``.
    :return: ``{kind, name, namespace, generation, lifecycle_state, job_state, job_id, ...}``.
    """

    template_fields = (*FlinkBaseOperator.template_fields, "deployment", "initial_savepoint_path",
                       "restore_from_latest_savepoint_of", "labels")
    template_ext = (".yaml", ".yml", ".json")
    template_fields_renderers = {"deployment": "yaml"}
    operator_extra_links = (FlinkWebUILink(),)
    kind = KIND_DEPLOYMENT

    def __init__(self, *, deployment: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.deployment = deployment

    def _source(self) -> Any:
        return self.deployment

    def _target(self, model: Any) -> str:
        return self.wait_for or ("ready" if model.spec.job is None else "running")

    def _before_apply(self, context: Any) -> None:
        """An empty web UI link first, so a task that fails early has a link that is quietly empty."""
        context["ti"].xcom_push(key=FlinkWebUILink().xcom_key, value="")

    def _after_apply(self, context: Any, model: Any, namespace: str) -> None:
        """Store the web UI link (empty when the ingress has no host: only a path on an unknown host)."""
        ingress = model.spec.ingress
        template = ingress.template if ingress else None
        url = ""
        if template and not template.startswith("/"):
            host = template.replace("{{name}}", model.name).replace("{{namespace}}", namespace).split("(")[0]
            url = f"{'https' if ingress.tls else 'http'}://{host.rstrip('/')}/"
        context["ti"].xcom_push(key=FlinkWebUILink().xcom_key, value=url)


class FlinkSessionJobOperator(ApplyAndWaitBaseOperator):
    """Apply a FlinkSessionJob on an existing, ready session cluster and wait until the job runs.

    :param session_job: a :class:`~airflow_flink_operator.models.FlinkSessionJob`, a manifest dict,
        YAML text or file (templated; typed models are not templated).
    :param wait_for: ``running`` (default), ``stable``, ``finished`` or ``checkpointed`` (checkpoints read
        through the session cluster's REST Service).
    :param failed_checkpoints: with ``checkpointed``: see :class:`FlinkDeploymentOperator`.
    :param initial_savepoint_path: start the job from this savepoint. (templated)
    :param restore_from_latest_savepoint_of: start from the newest savepoint of this job. (templated)
    :param allow_non_restored_state: allow state no operator of the new job claims.
    :param labels: extra labels on the resource. (templated)
    :param openlineage_flink_config: configure the Flink job's own OpenLineage integration (``True``, a
        dict or :class:`~airflow_flink_operator.lineage.flink_config.OpenLineageFlinkConfig`); see ``docs/openlineage.md``.
    :param on_kill_action: ``keep`` (default), ``suspend`` or ``delete``.
    """

    template_fields = (*FlinkBaseOperator.template_fields, "session_job", "initial_savepoint_path",
                       "restore_from_latest_savepoint_of", "labels")
    template_ext = (".yaml", ".yml", ".json")
    template_fields_renderers = {"session_job": "yaml"}
    kind = KIND_SESSION_JOB

    def __init__(self, *, session_job: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.session_job = session_job

    def _source(self) -> Any:
        return self.session_job

    def _prepare(self, model: Any, namespace: str) -> dict[str, Any]:
        """The session cluster must exist, be a session cluster, and be ready."""
        from airflow_flink_operator.manifests import to_model
        from airflow_flink_operator.models.status import FlinkResourceStatus

        cluster_name = model.spec.deployment_name
        cluster = self.hook.get(KIND_DEPLOYMENT, cluster_name, namespace)
        if cluster is None:
            raise FlinkTaskError(f"session cluster {namespace}/{cluster_name} does not exist; deploy it first "
                                 "(FlinkDeploymentOperator with a spec that has no job)")
        if (cluster.get("spec") or {}).get("job"):
            raise FlinkTaskError(f"{namespace}/{cluster_name} is an application cluster (it has a job); "
                                 "session jobs need a FlinkDeployment without a job")
        status = FlinkResourceStatus.from_object(cluster)
        if not status.is_running:
            raise FlinkTaskError(f"session cluster {namespace}/{cluster_name} is not ready ({status.describe()}); "
                                 "wait for it upstream (FlinkDeploymentOperator wait_for='ready' or FlinkJobSensor)")
        manifest = {k: v for k, v in cluster.items() if k in ("apiVersion", "kind", "spec")}
        manifest["metadata"] = {"name": cluster_name, "namespace": namespace}
        return {"session_cluster": to_model(manifest)}
