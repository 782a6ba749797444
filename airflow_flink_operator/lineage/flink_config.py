"""Configure the OpenLineage Flink integration of a job from the Airflow task that deploys it.

The integration reads every Flink configuration key starting with ``openlineage.`` into the
OpenLineage Java client's configuration tree (``openlineage.a.b`` → ``a: {b: ...}``):
``integration/flink/shared/src/main/java/io/openlineage/flink/config/FlinkConfigParser.java`` in
OpenLineage/OpenLineage (https://openlineage.io/docs/integrations/flink/configuration). The keys set here:

=========================================================  =============================================
``execution.job-status-changed-listeners``                 Flink 2.x only:
  ``= io.openlineage.flink.listener.``                     ``website/docs/integrations/flink/flink2.md``
  ``OpenLineageJobStatusChangedListenerFactory``           ("Usage"); the jar must be on the classpath.
``openlineage.job.namespace``, ``openlineage.job.name``    the job identity: ``JobConfig`` of the Java
                                                           client, read by ``OpenLineageJobStatusChanged
                                                           Listener.loadJobId`` (flink2).
``execution.job-listener.openlineage.namespace``,          Flink 1.x: read by ``OpenLineageFlinkJobListener``
``execution.job-listener.openlineage.job-name``            (``integration/flink/flink1/.../OpenLineageFlink
                                                           JobListener.java``) when the job's code builds it
                                                           (1.x has no configuration-only listener: flink1.md).
``openlineage.transport.type``, ``.url``, ``.endpoint``,   ``website/docs/client/java/partials/java_transport.md``
``.timeoutInMillis``, ``.compression``, ``.headers.<H>``   ("Flink Config" tab); Kafka: ``.topicName``,
                                                           ``.messageKey``, ``.properties.<p>``.
``openlineage.run.tags``                                   the parent run, as run tags
                                                           (``website/docs/client/java/configuration.md``
                                                           "Tags"; ``;``-separated ``key:value:source``).
=========================================================  =============================================

**Parent run.** The Flink integration has no configuration key for a ``ParentRunFacet`` (OpenLineage
issue #563), unlike Spark's ``spark.openlineage.parentRunId``; the parent job namespace/name and run
id the OpenLineage provider computes for the task (its ``lineage_job_namespace``, ``lineage_job_name``,
``lineage_run_id`` and root macros) are injected as run tags ``airflow.parent...`` — valid
configuration that the Java client parses, emitted once the Flink integration attaches configured
run tags (OpenLineage issue #4980). The Airflow task's own event always names the Flink job's
lineage identity (the ``airflowFlinkOperator_flink`` job facet's ``openlineageJobNamespace``/``openlineageJobName``).
The run id changes with every task try, so with ``parent=True`` every run (and retry) of the task
changes the spec and the operator upgrades the job (a stateless job loses its state): ``parent`` is
off by default, opt in with ``OpenLineageFlinkConfig(parent=True)``.

**Secrets.** ``flinkConfiguration`` is stored in plain text in the resource, readable by anyone who
can read FlinkDeployments. A transport with credentials (an ``auth`` block at any depth, credential-like
headers / URL parameters / Kafka properties, a URL with ``user:password@`` or a credential-like query
parameter) is refused with :class:`OpenLineageConfigError`, which names the key, never the value:
give the Flink pods an ``openlineage.yml`` from a Kubernetes Secret and point ``OPENLINEAGE_CONFIG`` at it (``FlinkConfigParser.parse`` merges that file
with the ``openlineage.*`` keys), and pass ``transport=False`` here.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

FLINK2_LISTENER_KEY = "execution.job-status-changed-listeners"
FLINK2_LISTENER = "io.openlineage.flink.listener.OpenLineageJobStatusChangedListenerFactory"
FLINK1_NAMESPACE_KEY = "execution.job-listener.openlineage.namespace"
FLINK1_JOB_NAME_KEY = "execution.job-listener.openlineage.job-name"
JOB_NAMESPACE_KEY = "openlineage.job.namespace"
JOB_NAME_KEY = "openlineage.job.name"
RUN_TAGS_KEY = "openlineage.run.tags"
TRANSPORT_PREFIX = "openlineage.transport."

#: Header / URL parameter names that carry credentials (never written to flinkConfiguration).
_SECRET_NAME = re.compile(r"auth|token|key|secret|password|cookie|credential|session|jaas|sasl", re.IGNORECASE)


class OpenLineageConfigError(ValueError):
    """The OpenLineage configuration cannot be put in ``flinkConfiguration`` (e.g. it holds a secret)."""


@dataclass
class OpenLineageFlinkConfig:
    """What to configure in the Flink job's OpenLineage integration.

    :param transport: ``None``: the OpenLineage provider's transport (HTTP, Kafka without secrets,
        console); a dict: an explicit Java-client transport (``{"type": "http", "url": ...}``, nested
        or dotted keys, put under ``openlineage.transport.``); ``False``: none (the pods get it from an
        ``openlineage.yml`` via ``OPENLINEAGE_CONFIG``).
    :param job_namespace: the Flink job's OpenLineage namespace (default: the provider's namespace).
    :param job_name: the Flink job's OpenLineage name (default: ``<kubernetes namespace>.<resource name>``).
    :param parent: inject the Airflow task's run as the parent (run tags; see the module docstring). Off by
        default: the run id changes with every task try, so it changes the spec and upgrades the job.
    :param listener: register the Flink 2.x listener factory (``execution.job-status-changed-listeners``).
    :param extra: other ``openlineage.*`` keys (e.g. ``openlineage.flink.disableCheckpointTracking``).
    """

    transport: dict[str, Any] | bool | None = None
    job_namespace: str | None = None
    job_name: str | None = None
    parent: bool = False
    listener: bool = True
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, value: Any) -> OpenLineageFlinkConfig | None:
        """``True`` → defaults; a dict → its fields; an instance as is; ``None``/``False`` → ``None``."""
        if value is None or value is False:
            return None
        if value is True:
            return cls()
        if isinstance(value, cls):
            return value
        if isinstance(value, dict):
            return cls(**value)
        raise TypeError(f"openlineage_flink_config must be True, a dict or OpenLineageFlinkConfig, not {value!r}")


def _flat(prefix: str, value: Any, out: dict[str, str]) -> None:
    if isinstance(value, dict):
        for key, sub in value.items():
            _flat(f"{prefix}.{key}", sub, out)
    elif value is not None:
        out[prefix] = str(value).lower() if isinstance(value, bool) else str(value)


#: Where a credential can hide in a transport: entries whose *name* is free (a header, a URL parameter,
#: a Kafka client property), in the Java client's transports (``transport_config.md``: ``headers``,
#: ``urlParams``; Kafka ``properties``).
_NAMED_ENTRIES = ("headers", "urlParams", "properties")
#: Kafka client properties whose names match :data:`_SECRET_NAME` but hold no secret.
_NOT_SECRET_SUFFIXES = (".servers", "serializer", "deserializer")

_MOVE_TO_SECRET = ("flinkConfiguration is stored in plain text in the Flink resource. Put the transport in an "
                   "openlineage.yml mounted from a Kubernetes Secret, set OPENLINEAGE_CONFIG to its path in the "
                   "Flink pods, and pass OpenLineageFlinkConfig(transport=False).")


def _refuse(key: str, why: str) -> OpenLineageConfigError:
    """The error for a refused key: names the key and the fix, never the value."""
    return OpenLineageConfigError(f"the OpenLineage transport key {key} {why}; {_MOVE_TO_SECRET}")


def _check_url(key: str, value: str) -> None:
    """Refuse a URL with user info (``https://user:pass@host``) or a credential-like query parameter."""
    from urllib.parse import parse_qsl, urlsplit

    from airflow_flink_operator.uris import split_authority

    try:
        names = [name for name, _ in parse_qsl(urlsplit(value).query, keep_blank_values=True)]
        # The package's one authority reader: a password holding "/" (https://u:pa/ss@host) is user info
        # too, which urlsplit's netloc misses; an "@" it cannot place is refused as well.
        parts = split_authority(value)
        userinfo = bool(parts.userinfo) or parts.ambiguous
    except ValueError:  # unparsable: it cannot be checked, so it cannot go in plain text
        raise _refuse(key, "is not a URL that can be checked for credentials") from None
    if userinfo:
        raise _refuse(key, "has credentials in its user info (user:password@)")
    if any(_SECRET_NAME.search(name) for name in names):
        raise _refuse(key, "has a credential-like query parameter")


def transport_keys(transport: dict[str, Any]) -> dict[str, str]:
    """``openlineage.transport.*`` keys for a Java-client transport dict, refusing credentials.

    Refused (each key is split at ``.``; composite transports nest whole transports under
    ``transports.<name>.``): any part named ``auth`` (any case); a ``headers``/``urlParams``/``properties``
    entry whose name looks like a credential (Kafka's ``bootstrap.servers`` and (de)serializers excepted);
    a ``url``/``endpoint`` with user info or a credential-like query parameter.

    :raises OpenLineageConfigError: naming the key (never its value) and the fix.
    """
    keys: dict[str, str] = {}
    _flat(TRANSPORT_PREFIX.rstrip("."), transport, keys)
    for key, value in keys.items():
        parts = key[len(TRANSPORT_PREFIX):].split(".")
        if any(part.lower() == "auth" for part in parts):
            raise _refuse(key, "holds credentials")
        for i, part in enumerate(parts[:-1]):
            if part in _NAMED_ENTRIES:
                name = ".".join(parts[i + 1:])
                if _SECRET_NAME.search(name) and not name.endswith(_NOT_SECRET_SUFFIXES):
                    raise _refuse(key, "looks like a credential")
                break
        else:
            if parts[-1].lower().endswith(("url", "endpoint")):
                _check_url(key, value)
    return keys


def provider_disabled() -> bool:
    """Whether OpenLineage is switched off in this Airflow: ``[openlineage] disabled`` or the legacy
    ``OPENLINEAGE_DISABLED`` (the first two checks of the provider's ``conf.is_disabled()``, which also
    answers ``True`` when nothing is configured; that case is :func:`provider_configured`'s)."""
    from airflow.providers.common.compat.sdk import conf

    return conf.getboolean("openlineage", "disabled", fallback="False") or \
        str(os.getenv("OPENLINEAGE_DISABLED", "")).lower().strip() in ("true", "1", "t")


def provider_configured() -> bool:
    """Whether the provider has a transport configured (and is not disabled): ``not conf.is_disabled()``."""
    from airflow.providers.openlineage import conf

    return not conf.is_disabled()


def provider_transport() -> dict[str, Any]:
    """The OpenLineage provider's transport, as a Java-client transport dict (HTTP, Kafka, console, and a
    composite of those).

    Read from the provider's client (``[openlineage] transport``, ``config_path`` or ``config_conn_id``),
    translated as the provider does for Spark (``utils/spark.py``: seconds → ``timeoutInMillis``); a
    composite becomes the Java client's ``CompositeConfig`` (``type: composite``, ``continueOnFailure``,
    ``transports.<name>.*``), keeping the children it can translate. Empty (no transport keys; the job
    identity is still set) when the provider has no transport configured or is disabled (its
    ``conf.is_disabled()``: ``[openlineage] disabled``, ``OPENLINEAGE_DISABLED``, or no transport configuration
    at all), its client's transport is ``noop`` (the OpenLineage client would fall back to console, which
    the user did not ask for), or it is of a type that cannot be translated: that is logged, never raised,
    since lineage must not fail the task (pass ``OpenLineageFlinkConfig(transport={...})`` to choose one).

    :raises OpenLineageConfigError: when an HTTP transport has an API key (it would be written in plain text).
    """
    if not provider_configured():
        log.info("OpenLineage: the provider is disabled or has no transport configured; no openlineage.transport.* "
                 "keys are set, only the job identity (the Flink pods need their own openlineage.yml)")
        return {}
    from airflow.providers.openlineage.plugins.listener import get_openlineage_listener

    transport = get_openlineage_listener().adapter.get_or_create_openlineage_client().transport
    kind = getattr(transport, "kind", None)
    if kind == "noop":
        log.info("OpenLineage: the provider's transport is noop; no openlineage.transport.* keys are set")
        return {}
    if kind == "composite":
        children = {}
        for i, child in enumerate(getattr(transport, "transports", None) or []):
            translated = _java_transport(child)
            if translated:
                children[getattr(child, "name", None) or f"transport{i}"] = translated
        if not children:
            return {}
        continue_on_failure = getattr(getattr(transport, "config", None), "continue_on_failure", True)
        return {"type": "composite", "continueOnFailure": bool(continue_on_failure), "transports": children}
    return _java_transport(transport)


def _java_transport(transport: Any) -> dict[str, Any]:
    """One Python-client transport (http, kafka, console) as a Java-client transport dict; ``{}``, with a
    warning, for a type the Java client cannot be given automatically."""
    kind = getattr(transport, "kind", None)
    config = getattr(transport, "config", None)
    if kind == "http":
        auth = getattr(config, "auth", None)
        if auth is not None and callable(getattr(auth, "get_bearer", None)) and auth.get_bearer():
            raise OpenLineageConfigError(
                "the OpenLineage provider's HTTP transport has an API key; " + _MOVE_TO_SECRET)
        result: dict[str, Any] = {"type": "http", "url": config.url, "endpoint": config.endpoint,
                                  "timeoutInMillis": int(float(config.timeout) * 1000)}
        compression = getattr(config, "compression", None)
        if compression:
            result["compression"] = str(getattr(compression, "value", compression))
        headers = getattr(config, "custom_headers", None) or {}
        if headers:
            result["headers"] = dict(headers)
        return result
    if kind == "kafka":
        return {"type": "kafka", "topicName": config.topic, "messageKey": getattr(config, "messageKey", None),
                "properties": dict(config.config or {})}
    if kind == "console":
        return {"type": "console"}
    log.warning("OpenLineage: the provider's transport type %r cannot be given to the Flink job automatically "
                "(only http, kafka, console and a composite of them); it is left out. Pass "
                "OpenLineageFlinkConfig(transport={...}) or transport=False.", kind)
    return {}


def _escape_tag(value: str) -> str:
    """A tag part with ``:`` and ``;`` escaped as the Java client's ``TagsDeserializer`` reads them."""
    return value.replace("\\", "\\\\").replace(":", "\\:").replace(";", "\\;")


def parent_run_tags(context: Any) -> str:
    """The Airflow task's run, as ``openlineage.run.tags``, from the provider's own macros."""
    from airflow.providers.openlineage.plugins.macros import (
        lineage_job_name,
        lineage_job_namespace,
        lineage_root_job_name,
        lineage_root_job_namespace,
        lineage_root_run_id,
        lineage_run_id,
    )

    ti = context["ti"]
    tags = {
        "airflow.parentJobNamespace": lineage_job_namespace(),
        "airflow.parentJobName": lineage_job_name(ti),
        "airflow.parentRunId": lineage_run_id(ti),
        "airflow.rootParentJobNamespace": lineage_root_job_namespace(ti),
        "airflow.rootParentJobName": lineage_root_job_name(ti),
        "airflow.rootParentRunId": lineage_root_run_id(ti),
    }
    return ";".join(f"{key}:{_escape_tag(str(value))}:AIRFLOW" for key, value in tags.items())


def openlineage_keys(model: Any, namespace: str, context: Any, settings: OpenLineageFlinkConfig,
                     flink_version: str | None = None) -> dict[str, str]:
    """The Flink configuration keys for ``settings`` (see the module docstring for each key).

    :param flink_version: the Flink version the job runs on when the model has none (a session job:
        its session cluster's), e.g. ``v1_20``.
    """
    job_namespace, job_name = job_identity(model, namespace, settings)  # type: ignore[misc]
    keys = {JOB_NAMESPACE_KEY: job_namespace, JOB_NAME_KEY: job_name}
    flink_version = str(getattr(model.spec, "flink_version", None) or flink_version or "")
    if flink_version.startswith("v1_"):
        keys.update({FLINK1_NAMESPACE_KEY: job_namespace, FLINK1_JOB_NAME_KEY: job_name})
    elif settings.listener:
        keys[FLINK2_LISTENER_KEY] = FLINK2_LISTENER
    if settings.transport is not False:
        transport = settings.transport if isinstance(settings.transport, dict) else provider_transport()
        if transport:
            keys.update(transport_keys(transport))
    if settings.parent:
        keys[RUN_TAGS_KEY] = parent_run_tags(context)
    for key, value in settings.extra.items():
        if not key.startswith("openlineage."):
            raise OpenLineageConfigError(f"extra keys must start with 'openlineage.', not {key!r}")
        keys.update(transport_keys({key[len(TRANSPORT_PREFIX):]: value}) if key.startswith(TRANSPORT_PREFIX)
                    else {key: str(value)})
    return keys


def inject_openlineage_config(model: Any, context: Any, settings: Any, namespace: str,
                              flink_version: str | None = None) -> Any:
    """A copy of ``model`` whose ``flinkConfiguration`` configures the Flink job's OpenLineage integration.

    Keys the user already set are kept as they are (like the provider's Spark injection): nothing is
    overridden. Returns ``model`` unchanged when ``settings`` is off.

    :param model: a FlinkDeployment or FlinkSessionJob model.
    :param context: the task's Airflow context (for the parent run).
    :param settings: ``True``, a dict or :class:`OpenLineageFlinkConfig`; ``None``/``False``: nothing.
    :param namespace: the Kubernetes namespace the resource is applied in (for the default job name).
    :param flink_version: the Flink version when the model has none (a session job: its cluster's).
    :raises OpenLineageConfigError: when the transport holds credentials.
    """
    from airflow_flink_operator.models.flink_config import flatten_config

    resolved = OpenLineageFlinkConfig.of(settings)
    if resolved is None:
        return model
    current = flatten_config(model.spec.flink_configuration)
    keys = openlineage_keys(model, namespace, context, resolved, flink_version)
    added = {k: v for k, v in keys.items() if k not in current}
    spec = model.spec.model_copy(update={"flink_configuration": {**current, **added}})
    return model.model_copy(update={"spec": spec})


def injected_job(model: Any) -> tuple[str, str] | None:
    """The OpenLineage job namespace/name a model's ``flinkConfiguration`` gives its Flink job, if any."""
    from airflow_flink_operator.models.flink_config import flatten_config

    conf = flatten_config(getattr(model.spec, "flink_configuration", None))
    if JOB_NAMESPACE_KEY in conf and JOB_NAME_KEY in conf:
        return conf[JOB_NAMESPACE_KEY], conf[JOB_NAME_KEY]
    return None


def job_identity(model: Any, namespace: str, settings: Any) -> tuple[str, str] | None:
    """The OpenLineage job namespace/name :func:`inject_openlineage_config` gives the Flink job, or ``None``
    when the task did not opt in."""
    resolved = OpenLineageFlinkConfig.of(settings)
    if resolved is None:
        return None
    from airflow.providers.openlineage import conf

    return resolved.job_namespace or conf.namespace(), resolved.job_name or f"{namespace}.{model.name}"
