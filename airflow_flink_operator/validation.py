"""Client-side checks mirroring the Flink Kubernetes Operator's validator (``DefaultValidator``).

The operator rejects a bad spec only after it was applied, by writing ``status.error``; these
checks find the same problems (and a few it would find too late, such as conflicting settings)
before anything is sent, each naming the manifest field and the fix.

Each problem's ``fix`` speaks to Python users of the typed models (``checkpointing=Checkpointing(...)``);
a :class:`YamlAwareProblem` also carries ``yaml_fix``, the same advice as the YAML key to set, which
``airflow-flink validate`` shows (:func:`fix_for_yaml`). Checking a raw manifest in one pass (field
types, unknown fields, then these checks on the valid rest) is :mod:`airflow_flink_operator.manifest_check`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from airflow_flink_operator.constants import MAIN_CONTAINER
from airflow_flink_operator.errors import SpecProblem
from airflow_flink_operator.models.deployment import CONFIG_HELPERS, FlinkDeployment
from airflow_flink_operator.models.flink_config import (
    CHECKPOINT_DIR_KEYS,
    HA_KEYS,
    MERGE_BY_NAME_KEY,
    PERIODIC_SAVEPOINT_KEY,
    ROLLBACK_KEY,
    SAVEPOINT_DIR_KEYS,
    flatten_config,
)
from airflow_flink_operator.models.session_job import FlinkSessionJob
from airflow_flink_operator.models.snapshot import FlinkStateSnapshot
from airflow_flink_operator.versions import OperatorVersion

#: The operator's name rule for FlinkDeployments (it becomes the Flink cluster id).
DEPLOYMENT_NAME = re.compile(r"^[a-z]([-a-z\d]{0,43}[a-z\d])?$")
FORBIDDEN_CONF_KEYS = ("kubernetes.namespace", "kubernetes.cluster-id", "high-availability.cluster-id")
ALLOWED_LOG_CONF_KEYS = ("log4j-console.properties", "logback-console.xml")
_JM_MEMORY_KEYS = ("jobmanager.memory.process.size", "jobmanager.memory.flink.size", "jobmanager.memory.heap.size")
_TM_MEMORY_KEYS = ("taskmanager.memory.process.size", "taskmanager.memory.flink.size")
_CHECKPOINT_MAX_AGE_KEY = "kubernetes.operator.job.upgrade.last-state.max.allowed.checkpoint.age"
_HEALTH_CHECK_KEY = "kubernetes.operator.cluster.health-check.enabled"
_JM_RECOVERY_KEY = "kubernetes.operator.jm-deployment-recovery.enabled"
#: Flink versions that name the state directories ``execution.checkpointing.(savepoint-)dir``
#: (FLINK-34482, Flink 1.20; reference section g: the old keys remain accepted).
_NEW_STATE_KEYS_FROM = ("v1_20", "v2_")


@dataclass(frozen=True)
class YamlAwareProblem(SpecProblem):
    """A :class:`SpecProblem` whose fix is also phrased for YAML manifests.

    :param yaml_fix: the fix as a YAML user applies it (keys to set in the manifest); ``fix``
        keeps the Python phrasing shown by ``render()`` and the typed models.
    """

    yaml_fix: str = ""


def fix_for_yaml(problem: SpecProblem) -> str:
    """The fix of a problem as a YAML user reads it (the Python fix when there is no YAML phrasing)."""
    return getattr(problem, "yaml_fix", "") or problem.fix


def _problem(field: str, message: str, fix: str, yaml_fix: str) -> YamlAwareProblem:
    return YamlAwareProblem(field, message, fix, yaml_fix)


def state_dir_keys(flink_version: str | None) -> tuple[str, str]:
    """The checkpoint and savepoint directory keys to suggest for a Flink version."""
    if flink_version is not None and flink_version.startswith(_NEW_STATE_KEYS_FROM):
        return "execution.checkpointing.dir", "execution.checkpointing.savepoint-dir"
    return "state.checkpoints.dir", "state.savepoints.dir"


def _conf_key(key: str) -> str:
    """A flinkConfiguration key as a YAML path (Flink keys contain dots)."""
    return f'spec.flinkConfiguration["{key}"]'


def merged_flink_configuration(
    spec: Any, flink_version: str | None, problems: list[SpecProblem], field: str = "spec.flinkConfiguration"
) -> dict[str, str]:
    """Merge the typed helpers, the job kind's settings and the raw ``flinkConfiguration``.

    The same key may come from several sources only with the same value; otherwise a problem
    naming both sources is added (nothing is silently overridden).
    """
    sources: list[tuple[str, dict[str, str]]] = []
    for helper in CONFIG_HELPERS:
        value = getattr(spec, helper, None)
        if value is not None:
            sources.append((helper, value.to_config(flink_version)))
    job = getattr(spec, "job", None)
    if job is not None:
        sources.append((f"the {job.kind} job kind", job.flink_configuration()))
    sources.append(("flink_configuration", flatten_config(spec.flink_configuration)))

    merged: dict[str, str] = {}
    origin: dict[str, str] = {}
    for source, conf in sources:
        for key, value in conf.items():
            if key in merged and merged[key] != value:
                problems.append(_problem(
                    f"{field}.{key}",
                    f"set to {merged[key]!r} by {origin[key]} and to {value!r} by {source}.",
                    f"Set {key} in one place only (prefer the typed {origin[key]} setting).",
                    f"Set {key} in one place only.",
                ))
                continue
            merged.setdefault(key, value)
            origin.setdefault(key, source)
    return merged


def _has(conf: dict[str, str], keys: tuple[str, ...]) -> bool:
    return any(conf.get(k, "").strip() for k in keys)


def ha_enabled(conf: dict[str, str]) -> bool:
    """Whether the configuration turns on high availability (any mode but NONE)."""
    return any(conf.get(k, "").strip().lower() not in ("", "none") for k in HA_KEYS)


def _true(conf: dict[str, str], key: str, default: bool = False) -> bool:
    value = conf.get(key)
    return default if value is None else value.strip().lower() == "true"


def check_job(job: Any, conf: dict[str, str], tm_replicas: int | None, field: str,
              flink_version: str | None = None) -> list[SpecProblem]:
    """The operator's ``validateJobSpec``: state directories and parallelism.

    :param flink_version: the deployment's Flink version, to name the right directory keys.
    """
    problems: list[SpecProblem] = []
    checkpoint_key, savepoint_key = state_dir_keys(flink_version)
    mode = job.upgrade_mode or "stateless"
    if mode != "stateless" and not _has(conf, CHECKPOINT_DIR_KEYS):
        problems.append(_problem(
            f"{field}.upgradeMode",
            f"upgrade mode {mode!r} restores from checkpoints, but no checkpoint directory "
            "(execution.checkpointing.dir, or state.checkpoints.dir before Flink 1.20) is configured.",
            "Add checkpointing=Checkpointing(interval='60 s', dir='s3://bucket/checkpoints'), "
            "or use upgrade_mode='stateless'.",
            f"Set {_conf_key(checkpoint_key)}: s3://bucket/checkpoints (and "
            f'{_conf_key("execution.checkpointing.interval")}: 60 s), or set {field}.upgradeMode: stateless.',
        ))
    if not _has(conf, SAVEPOINT_DIR_KEYS):
        needs = []
        if mode == "savepoint":
            needs.append((f"{field}.upgradeMode", "upgrade mode 'savepoint'"))
        if job.savepoint_trigger_nonce is not None:
            needs.append((f"{field}.savepointTriggerNonce", "a savepoint trigger nonce"))
        if PERIODIC_SAVEPOINT_KEY in conf:
            needs.append((f"spec.flinkConfiguration.{PERIODIC_SAVEPOINT_KEY}", "periodic savepoints"))
        if _CHECKPOINT_MAX_AGE_KEY in conf:
            needs.append((f"spec.flinkConfiguration.{_CHECKPOINT_MAX_AGE_KEY}", "a maximum checkpoint age"))
        for where, what in needs:
            problems.append(_problem(
                where,
                f"{what} needs a savepoint directory (execution.checkpointing.savepoint-dir, or "
                "state.savepoints.dir before Flink 1.20), and none is configured.",
                "Add savepoints=Savepoints(dir='s3://bucket/savepoints').",
                f"Set {_conf_key(savepoint_key)}: s3://bucket/savepoints.",
            ))
    if tm_replicas is not None and tm_replicas < 1:
        problems.append(SpecProblem("spec.taskManager.replicas", f"is {tm_replicas}; it must be at least 1.",
                                    "Set replicas to 1 or more, or leave it out to derive it from parallelism."))
    elif tm_replicas is None and (job.parallelism is None or job.parallelism < 1):
        problems.append(SpecProblem(
            f"{field}.parallelism",
            "is missing or below 1; the operator needs it to size the job (no taskManager.replicas is set).",
            "Set parallelism to 1 or more.",
        ))
    if job.savepoint_redeploy_nonce is not None and not (job.initial_savepoint_path or "").strip():
        problems.append(_problem(
            f"{field}.savepointRedeployNonce",
            "redeploying from a savepoint needs initialSavepointPath, which is empty.",
            "Set initial_savepoint_path to the savepoint to redeploy from.",
            f"Set {field}.initialSavepointPath to the savepoint to redeploy from.",
        ))
    if job.initial_savepoint_path is not None and not job.initial_savepoint_path.strip():
        problems.append(SpecProblem(f"{field}.initialSavepointPath", "is empty.",
                                    "Leave it out, or give the savepoint's path."))
    return problems


def _check_component(name: str, field: str, component: Any, conf: dict[str, str],
                     memory_keys: tuple[str, ...], version: OperatorVersion) -> list[SpecProblem]:
    problems: list[SpecProblem] = []
    resource = getattr(component, "resource", None)
    resources = getattr(component, "resources", None)
    if resources is not None and not version.has_k8s_resources_form:
        problems.append(_problem(
            f"{field}.resources",
            f"the requests/limits form needs operator 1.16 (main); the target is {version}.",
            "Use resource=Resource(cpu=..., memory=...), or render with operator_version='main'.",
            f"Use {field}.resource: {{cpu: 1, memory: 2048m}}, or validate with --operator-version main.",
        ))
    if resource is not None and resources is not None:
        problems.append(SpecProblem(f"{field}", "sets both resource and resources.",
                                    "Pick one form: resource (every operator) or resources (operator main)."))
    memory = (resource is not None and resource.memory) or (
        resources is not None and ((resources.requests or {}).get("memory") or (resources.limits or {}).get("memory"))
    )
    if not memory and not _has(conf, memory_keys):
        problems.append(_problem(
            f"{field}.resource.memory",
            f"{name} memory is not defined.",
            f"Set {'job_manager' if name == 'JobManager' else 'task_manager'}=...(resource=Resource(memory='2048m', cpu=1)).",
            f"Set {field}.resource.memory, e.g. 2048m.",
        ))
    return problems


def _check_pod_template_order(global_tpl: dict | None, specific: dict | None, field: str,
                              conf: dict[str, str]) -> list[SpecProblem]:
    """Arrays merge by position unless merge-arrays-by-name is on: containers must line up."""
    if _true(conf, MERGE_BY_NAME_KEY):
        return []
    problems: list[SpecProblem] = []
    for key in ("containers", "initContainers"):
        base = ((global_tpl or {}).get("spec") or {}).get(key) or []
        other = ((specific or {}).get("spec") or {}).get(key) or []
        for i, (a, b) in enumerate(zip(base, other)):
            if a.get("name") != b.get("name"):
                problems.append(_problem(
                    f"{field}.spec.{key}[{i}]",
                    f"{b.get('name')!r} would be merged into {a.get('name')!r} of spec.podTemplate: the operator "
                    "merges pod template arrays by position.",
                    f"List the same {key} in the same order in both templates (with {MAIN_CONTAINER} first), "
                    f"or set flinkConfiguration {MERGE_BY_NAME_KEY}: 'true'.",
                    f"List the same {key} in the same order in both templates (with {MAIN_CONTAINER} first), "
                    f'or set {_conf_key(MERGE_BY_NAME_KEY)}: "true".',
                ))
    return problems


def _check_main_container_first(template: dict | None, field: str) -> list[SpecProblem]:
    containers = ((template or {}).get("spec") or {}).get("containers") or []
    names = [c.get("name") for c in containers]
    if names and MAIN_CONTAINER in names and names[0] != MAIN_CONTAINER:
        return [SpecProblem(f"{field}.spec.containers",
                            f"{MAIN_CONTAINER} is at position {names.index(MAIN_CONTAINER)}; sidecars before it break "
                            "position-based merging with the other templates.",
                            f"Put {MAIN_CONTAINER} first and sidecars after it.")]
    return []


def validate_deployment(dep: FlinkDeployment, operator_version: str | OperatorVersion) -> tuple[list[SpecProblem], dict[str, str]]:
    """Check a FlinkDeployment as the operator would, before it is sent.

    :return: the problems found and the merged flat ``flinkConfiguration``.
    """
    version = OperatorVersion(operator_version)
    spec = dep.spec
    problems: list[SpecProblem] = []
    if not DEPLOYMENT_NAME.match(dep.metadata.name):
        problems.append(SpecProblem(
            "metadata.name",
            f"{dep.metadata.name!r} is not a valid FlinkDeployment name: lowercase letters, digits and '-', "
            "starting with a letter, ending with a letter or digit, at most 45 characters.",
            "Rename it, e.g. 'orders-enrichment'.",
        ))
    if spec.flink_version is None:
        problems.append(_problem("spec.flinkVersion", "is required by the operator.",
                                 "Set flink_version to the image's Flink version, e.g. 'v1_20'.",
                                 "Set spec.flinkVersion to the image's Flink version, e.g. v1_20."))
    elif spec.flink_version not in version.supported_flink_versions:
        problems.append(_problem(
            "spec.flinkVersion",
            f"{spec.flink_version} is not supported by operator {version} "
            f"(supported: {', '.join(version.supported_flink_versions)}).",
            "Use a supported Flink version, or target a newer operator with operator_version=...",
            "Use a supported Flink version, or validate for a newer operator with --operator-version.",
        ))
    if not spec.service_account:
        problems.append(_problem("spec.serviceAccount", "is required by the operator.",
                                 "Set service_account to the Flink job service account (helm: jobServiceAccount, "
                                 "usually 'flink').",
                                 "Set spec.serviceAccount to the Flink job service account (helm: jobServiceAccount, "
                                 "usually flink)."))
    conf = merged_flink_configuration(spec, spec.flink_version, problems)
    ha_fix = f'Set {_conf_key("high-availability.type")}: kubernetes and {_conf_key("high-availability.storageDir")}'
    for key in FORBIDDEN_CONF_KEYS:
        if key in conf:
            problems.append(SpecProblem(f"spec.flinkConfiguration.{key}", "is set by the operator and may not be set.",
                                        "Remove it; the operator derives it from metadata."))
    if _true(conf, ROLLBACK_KEY) and not ha_enabled(conf):
        problems.append(_problem(f"spec.flinkConfiguration.{ROLLBACK_KEY}", "rollback needs high availability.",
                                 "Add high_availability=HighAvailability(storage_dir='s3://bucket/ha').",
                                 f"{ha_fix}: s3://bucket/ha."))
    if _true(conf, _HEALTH_CHECK_KEY) and not _true(conf, _JM_RECOVERY_KEY, default=True):
        problems.append(SpecProblem(f"spec.flinkConfiguration.{_HEALTH_CHECK_KEY}",
                                    f"the job health check needs {_JM_RECOVERY_KEY} enabled.",
                                    f"Remove {_JM_RECOVERY_KEY}: 'false'."))
    if spec.ingress is not None:
        template = spec.ingress.template
        if not template:
            problems.append(SpecProblem("spec.ingress.template", "must be defined when ingress is set.",
                                        "Set template, e.g. '{{name}}.{{namespace}}.flink.example.com'."))
        else:
            url = template.replace("{{name}}", dep.metadata.name).replace("{{namespace}}", dep.metadata.namespace or "default")
            if "{{" in url or "}}" in url or " " in url:
                problems.append(SpecProblem("spec.ingress.template",
                                            f"{template!r} has an unknown placeholder or a space.",
                                            "Use only {{name}} and {{namespace}}."))
    for key in (spec.log_configuration or {}):
        if key not in ALLOWED_LOG_CONF_KEYS:
            problems.append(SpecProblem(f"spec.logConfiguration.{key}", "is not a logging file the operator accepts.",
                                        f"Use one of: {', '.join(ALLOWED_LOG_CONF_KEYS)}."))
    jm, tm = spec.job_manager, spec.task_manager
    problems += _check_component("JobManager", "spec.jobManager", jm, conf, _JM_MEMORY_KEYS, version)
    problems += _check_component("TaskManager", "spec.taskManager", tm, conf, _TM_MEMORY_KEYS, version)
    jm_replicas = jm.replicas if jm is not None and jm.replicas is not None else 1
    if jm_replicas < 1:
        problems.append(SpecProblem("spec.jobManager.replicas", f"is {jm_replicas}; it must be at least 1.",
                                    "Set replicas to 1, or more with high availability."))
    elif jm_replicas > 1 and not ha_enabled(conf):
        problems.append(_problem("spec.jobManager.replicas",
                                 f"is {jm_replicas}; standby JobManagers need high availability.",
                                 "Add high_availability=HighAvailability(storage_dir=...), or use 1 replica.",
                                 f"{ha_fix}: s3://bucket/ha, or set spec.jobManager.replicas: 1."))
    if spec.job is not None:
        problems += check_job(spec.job, conf, tm.replicas if tm else None, "spec.job", spec.flink_version)
        problems += spec.job.application_problems("spec.job", spec.flink_version)
    elif tm is not None and tm.replicas is not None and tm.replicas < 1:
        problems.append(SpecProblem("spec.taskManager.replicas", f"is {tm.replicas}; it must be at least 1.",
                                    "Set replicas to 1 or more."))
    problems += _check_main_container_first(spec.pod_template, "spec.podTemplate")
    for part, field in ((jm, "spec.jobManager.podTemplate"), (tm, "spec.taskManager.podTemplate")):
        if part is not None and part.pod_template:
            problems += _check_main_container_first(part.pod_template, field)
            problems += _check_pod_template_order(spec.pod_template, part.pod_template, field, conf)
    return problems, conf


def validate_session_job(
    job: FlinkSessionJob,
    operator_version: str | OperatorVersion,
    allowed_jar_schemes: frozenset[str] | None = None,
    session_cluster: FlinkDeployment | None = None,
) -> tuple[list[SpecProblem], dict[str, str]]:
    """Check a FlinkSessionJob as the operator would, before it is sent.

    :param session_cluster: the target session cluster, if known: then the checks that depend on
        its configuration (state directories) run too.
    :return: the problems found and the merged flat job-level ``flinkConfiguration``.
    """
    version = OperatorVersion(operator_version)
    spec = job.spec
    problems: list[SpecProblem] = []
    if not spec.deployment_name:
        problems.append(_problem("spec.deploymentName", "is required: the session cluster to run on.",
                                 "Set deployment_name to a FlinkDeployment without a job, in the same namespace.",
                                 "Set spec.deploymentName to a FlinkDeployment without a job, in the same namespace."))
    elif not DEPLOYMENT_NAME.match(spec.deployment_name):
        problems.append(SpecProblem("spec.deploymentName",
                                    f"{spec.deployment_name!r} cannot be a FlinkDeployment name.",
                                    "Use the session cluster's metadata.name."))
    conf = merged_flink_configuration(spec, None, problems)
    if spec.job is None:
        problems.append(_problem("spec.job", "is required for a session job.", "Set job=JobSpec(...) or a job kind.",
                                 "Add spec.job with jarURI (and entryClass, args, parallelism)."))
        return problems, conf
    problems += spec.job.session_job_problems("spec.job", version, allowed_jar_schemes)
    if session_cluster is not None:
        if session_cluster.spec.job is not None:
            problems.append(SpecProblem("spec.deploymentName",
                                        f"{session_cluster.name!r} is an application cluster; session jobs need a session cluster.",
                                        "Point deployment_name at a FlinkDeployment without a job."))
        elif session_cluster.name != spec.deployment_name:
            problems.append(SpecProblem("spec.deploymentName",
                                        f"does not match the session cluster {session_cluster.name!r}.",
                                        f"Set deployment_name={session_cluster.name!r}."))
        _, cluster_conf = validate_deployment(session_cluster, version)
        problems += check_job(spec.job, {**cluster_conf, **conf}, None, "spec.job")
    elif spec.job.parallelism is not None and spec.job.parallelism < 1:
        problems.append(SpecProblem("spec.job.parallelism", f"is {spec.job.parallelism}; it must be at least 1.",
                                    "Set parallelism to 1 or more."))
    return problems, conf


def validate_snapshot(snapshot: FlinkStateSnapshot) -> list[SpecProblem]:
    """Check a FlinkStateSnapshot as the operator would, before it is sent."""
    spec = snapshot.spec
    problems: list[SpecProblem] = []
    if (spec.savepoint is None) == (spec.checkpoint is None):
        problems.append(_problem("spec", "needs exactly one of savepoint or checkpoint.",
                                 "Set savepoint=SavepointSpec(...) or checkpoint={}, not both.",
                                 "Set spec.savepoint (e.g. {path: s3://bucket/savepoints}) or spec.checkpoint: {}, "
                                 "not both."))
    already = spec.savepoint is not None and bool(spec.savepoint.already_exists)
    if already and not spec.savepoint.path:
        problems.append(SpecProblem("spec.savepoint.path", "is required when alreadyExists is true.",
                                    "Give the existing savepoint's path."))
    if not already and spec.job_reference is None:
        problems.append(_problem("spec.jobReference", "is required to take a snapshot.",
                                 "Set job_reference=JobReference(kind='FlinkDeployment', name=...).",
                                 "Set spec.jobReference: {kind: FlinkDeployment, name: <deployment>}."))
    return problems


def validate_blue_green(bg: Any, operator_version: str | OperatorVersion) -> tuple[list[SpecProblem], dict[str, str]]:
    """Check a FlinkBlueGreenDeployment before it is sent: the operator version, the child name, each child
    as a FlinkDeployment, and a savepoint directory wherever a transition takes a savepoint.

    :return: the problems (fields named as in the blue/green manifest) and the template's merged ``flinkConfiguration``.
    """
    from airflow_flink_operator.models.bluegreen import FIRST_OPERATOR_VERSION, INTRODUCED_IN, child_name

    version = OperatorVersion(operator_version)
    if version < FIRST_OPERATOR_VERSION:
        why = ("whose operator has no such resource" if version < INTRODUCED_IN else
               "whose operator keeps the aborted attempt's savepointTriggerId, so the next transition starts "
               "from that older savepoint (fixed in 1.15.0)")
        return [SpecProblem("kind", f"FlinkBlueGreenDeployment needs Flink Kubernetes Operator {FIRST_OPERATOR_VERSION}"
                                    f" or newer; the target is {version}, {why}.",
                            f"Upgrade the operator to {FIRST_OPERATOR_VERSION}+ (and set operator_version), "
                            "or deploy a FlinkDeployment and upgrade it with FlinkUpgradeOperator.")], {}
    problems: list[SpecProblem] = []
    longest = child_name(bg.name, "green")  # the longer child name becomes the cluster id
    if not DEPLOYMENT_NAME.match(longest):
        problems.append(SpecProblem(
            "metadata.name", f"the child FlinkDeployment would be named {longest!r}, which is not a valid "
            "FlinkDeployment name (lowercase letters, digits and '-', starting with a letter, at most 45 characters).",
            "Use a name of at most 39 characters, e.g. 'orders-enrichment'."))
    child_problems, conf = validate_deployment(bg.child("blue"), version)
    for problem in child_problems:
        if problem.field != "metadata.name":  # checked above, against the name the operator will use
            problems.append(SpecProblem(problem.field.replace("spec.", "spec.template.spec.", 1)
                                        if problem.field.startswith("spec") else problem.field,
                                        problem.message, problem.fix))
    job = bg.spec.template.spec.job
    if job is None:
        problems.append(SpecProblem("spec.template.spec.job", "is required: blue/green runs one job per colour.",
                                    "Set job=JobSpec(...) or a job kind (JarJob, SqlJob, ...)."))
    elif (job.upgrade_mode or "stateless") not in ("stateless", "savepoint") and not _has(conf, SAVEPOINT_DIR_KEYS):
        # BlueGreenUtils.isSavepointRequired / triggerSavepoint: every non-stateless transition savepoints.
        _, savepoint_key = state_dir_keys(bg.spec.template.spec.flink_version)
        problems.append(_problem(
            "spec.template.spec.job.upgradeMode",
            f"a blue/green transition in upgrade mode {job.upgrade_mode!r} starts the new colour from a savepoint "
            "of the active one, and no savepoint directory (execution.checkpointing.savepoint-dir, or "
            "state.savepoints.dir before Flink 1.20) is configured.",
            "Add savepoints=Savepoints(dir='s3://bucket/savepoints'), or use upgrade_mode='stateless'.",
            f"Set {_conf_key(savepoint_key)}: s3://bucket/savepoints, or set upgradeMode: stateless."))
    return problems, conf
