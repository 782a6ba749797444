"""Airflow assets for Flink jobs: the natural asset of a job's savepoints, and asset events that say what happened.

A task's declared ``outlets`` get an asset event whenever the task succeeds (Airflow does that for every
operator). The Flink operators add an ``extra`` to those events when the outcome means something to a
downstream DAG, so that DAG can act on it without asking the cluster:

=========================  ==============================================================================
``extra["event"]``         keys (every event also has ``job``, ``namespace``, ``resource_kind``)
=========================  ==============================================================================
``savepoint_completed``    ``savepoint_path``; ``trigger_type``, the Flink operator's name for why it was
                           taken (``MANUAL``: ``FlinkSavepointOperator``; ``UPGRADE``: the stop of a
                           suspend; ``None`` when the task does not know it); ``snapshot``, the
                           FlinkStateSnapshot (``None`` for a ``savepointTriggerNonce`` savepoint, then
                           ``nonce``); ``final: true`` on a teardown's last savepoint
``job_finished``           ``job_id``, ``job_state`` (``FINISHED``), ``start_time``, ``end_time`` (ISO-8601
                           UTC), ``generation``: a deployment or session job waited for to FINISHED
``deployment_upgraded``    ``generation``, ``restored_from`` (the savepoint the operator stopped the old job
                           with and started the new one from; ``None`` for a last-state / stateless
                           change), ``safety_savepoint_path`` (``savepoint_first``), ``job_id``
=========================  ==============================================================================

``resource_kind`` is the Kubernetes kind, ``FlinkDeployment`` or ``FlinkSessionJob``. (Events recorded by
earlier versions called it ``job_kind``, a word that means ``jar``/``sql``/... everywhere else in this package,
e.g. the OpenLineage facet's ``jobKind``; :func:`resource_kind_of` reads either.)

The extra goes only onto assets the task declared as outlets (``Asset`` or ``Asset.ref``; an
``AssetAlias`` is left to the task's author: attaching an event to it would mean naming an asset the
author did not declare). Keys a task set itself (``context["outlet_events"][asset].extra``) win. Nothing
secret goes in: names, ids, times, and savepoint paths with any ``user:password@`` removed.

A consumer DAG scheduled on :func:`savepoint_asset` reads the path with :func:`savepoint_path_from` (from a
``savepoint_completed`` event, or the ``restored_from`` of a ``deployment_upgraded`` one).

**The asset's URI** is ``flink-savepoint://<cluster>/<namespace>/<name>`` with ``cluster=`` (a label for the
Kubernetes cluster, e.g. the ``kubernetes_conn_id`` the tasks use), so that two clusters' ``default/ledger``
are two assets; ``flink-savepoint://<namespace>/<name>`` without it (the only form of earlier versions, still read
and written: one Airflow, one cluster). Its name is its URI, so ``savepoint_asset(...)`` and a hand-written
``Asset("flink-savepoint://...")`` are one asset to Airflow, which requires both to be unique among active
assets. With the OpenLineage provider, an outlet/inlet ``flink-savepoint`` asset becomes the dataset
``flink-savepoint://<cluster>`` (or ``flink-savepoint``) + ``<namespace>/<name>``
(:func:`convert_savepoint_asset_to_openlineage`).

Cheap to import: ``airflow.sdk`` only inside the functions (a DAG file imports it anyway).
"""

from __future__ import annotations

import logging
import re
import urllib.parse
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.sdk import Asset

#: The URI scheme of :func:`savepoint_asset`: ``flink-savepoint://<namespace>/<name>``.
SAVEPOINT_SCHEME = "flink-savepoint"
#: The asset group shown in Airflow's UI.
SAVEPOINT_GROUP = "flink-savepoint"

EVENT_SAVEPOINT_COMPLETED = "savepoint_completed"
EVENT_JOB_FINISHED = "job_finished"
EVENT_DEPLOYMENT_UPGRADED = "deployment_upgraded"

log = logging.getLogger(__name__)

# Kubernetes names: a namespace is a DNS-1123 label, a FlinkDeployment / FlinkSessionJob name a DNS-1123 subdomain.
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
# A cluster label: what a URI authority holds unescaped (RFC 3986 unreserved, no ``~``), lowercase so that one
# cluster has one spelling (an authority is case-insensitive to URL parsers); an Airflow connection id fits.
_CLUSTER = re.compile(r"^[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$")
_URI_SHAPE = f"{SAVEPOINT_SCHEME}://[<cluster>/]<namespace>/<name>"


def _check_names(name: str, namespace: str, cluster: str | None = None) -> None:
    problems = []
    if cluster is not None and (not isinstance(cluster, str) or len(cluster) > 253 or not _CLUSTER.match(cluster)):
        problems.append(f"cluster {cluster!r} is not a cluster label (lowercase letters, digits, '-', '_', '.'; "
                        "e.g. the kubernetes_conn_id in lowercase)")
    if not isinstance(namespace, str) or len(namespace) > 63 or not _DNS_LABEL.match(namespace):
        problems.append(f"namespace {namespace!r} is not a Kubernetes namespace (a lowercase DNS-1123 label)")
    if not isinstance(name, str) or len(name) > 253 or not _DNS_SUBDOMAIN.match(name):
        problems.append(f"name {name!r} is not a Kubernetes resource name (a lowercase DNS-1123 subdomain)")
    if problems:
        raise ValueError("; ".join(problems))


def savepoint_asset_uri(name: str, namespace: str = "default", *, cluster: str | None = None) -> str:
    """The URI of the savepoints of one Flink job: ``flink-savepoint://<cluster>/<namespace>/<name>``, or
    ``flink-savepoint://<namespace>/<name>`` when no cluster is named.

    :param name: the FlinkDeployment (or FlinkSessionJob) whose savepoints these are.
    :param namespace: its Kubernetes namespace.
    :param cluster: a label for the Kubernetes cluster it runs on (e.g. the ``kubernetes_conn_id`` of the
        tasks); without it, the same namespace and name on two clusters are one asset.
    :raises ValueError: when a name is not a valid Kubernetes name or the cluster not a label (the URI
        would name no job).
    """
    _check_names(name, namespace, cluster)
    return f"{SAVEPOINT_SCHEME}://{cluster}/{namespace}/{name}" if cluster else \
        f"{SAVEPOINT_SCHEME}://{namespace}/{name}"


def savepoint_asset(name: str, namespace: str = "default", *, cluster: str | None = None) -> Asset:
    """The asset "savepoints of Flink job ``namespace/name``", for ``outlets`` and ``schedule``.

    A task that takes a savepoint of the job with this asset in its ``outlets`` emits an event whose
    ``extra`` carries the path (see the module docs); a DAG with ``schedule=[savepoint_asset(...)]``
    runs on every new savepoint and reads the path with :func:`savepoint_path_from`.

    The asset's name is its URI, as for a hand-written ``Asset("flink-savepoint://...")``: Airflow requires
    names and URIs to be unique among active assets, so two spellings of one job must agree on both.

    The scheme is ``flink-savepoint``. Airflow lowercases the scheme, strips trailing slashes, sorts the
    query and drops the fragment (none of which a Kubernetes namespace and name contain), then asks the
    providers' URI handlers for that scheme; :func:`normalize_savepoint_uri` is this package's, which
    also rejects a hand-written ``flink-savepoint://`` URI that names no Kubernetes resource.

    :param name: the FlinkDeployment (or FlinkSessionJob).
    :param namespace: its namespace (default ``default``; give the one the job runs in).
    :param cluster: a label for its Kubernetes cluster (e.g. the tasks' ``kubernetes_conn_id``); give it
        when the Airflow deploys to more than one cluster.
    :return: ``Asset(uri=..., name=<the same URI>, group="flink-savepoint")``.
    """
    from airflow.sdk import Asset

    uri = savepoint_asset_uri(name, namespace, cluster=cluster)
    return Asset(uri=uri, name=uri, group=SAVEPOINT_GROUP)


def parse_savepoint_uri(uri: str | urllib.parse.SplitResult) -> tuple[str | None, str, str]:
    """``(cluster, namespace, name)`` of a ``flink-savepoint`` URI (``cluster`` is ``None`` in the
    ``flink-savepoint://<namespace>/<name>`` form).

    :raises ValueError: when it is not one of the two shapes, with Kubernetes names.
    """
    parts = urllib.parse.urlsplit(uri) if isinstance(uri, str) else uri
    segments = parts.path.strip("/").split("/")
    if (parts.scheme.lower() != SAVEPOINT_SCHEME or len(segments) not in (1, 2) or parts.query or parts.fragment
            or "@" in parts.netloc or ":" in parts.netloc):
        raise ValueError(f"a {SAVEPOINT_SCHEME} URI is {_URI_SHAPE}, not {urllib.parse.urlunsplit(parts)}")
    if len(segments) == 1:
        cluster, namespace, name = None, parts.netloc, segments[0]  # netloc as written: hostname lowercases it
    else:
        cluster, (namespace, name) = parts.netloc, segments
    _check_names(name, namespace, cluster)
    return cluster, namespace, name


def normalize_savepoint_uri(parts: urllib.parse.SplitResult) -> urllib.parse.SplitResult:
    """Airflow's URI handler for the ``flink-savepoint`` scheme (``asset-uris`` in the provider info).

    :raises ValueError: when the URI is not ``flink-savepoint://[<cluster>/]<namespace>/<name>``.
    """
    parse_savepoint_uri(parts)
    return parts


def convert_savepoint_asset_to_openlineage(asset: Any, lineage_context: Any = None) -> Any:
    """The OpenLineage dataset of a ``flink-savepoint`` asset (``to_openlineage_converter`` in the provider
    info; the OpenLineage provider calls it for a task's inlets and outlets).

    Namespace ``flink-savepoint://<cluster>`` (the cluster is where the job, and so its savepoints, live;
    ``flink-savepoint`` when the URI names none, as ``file`` has no host), name ``<namespace>/<name>``.
    """
    from openlineage.client.event_v2 import Dataset

    cluster, namespace, name = parse_savepoint_uri(asset.uri)
    return Dataset(namespace=f"{SAVEPOINT_SCHEME}://{cluster}" if cluster else SAVEPOINT_SCHEME,
                   name=f"{namespace}/{name}")


# --- emitting -------------------------------------------------------------------------------


def redact_uri(uri: str | None) -> str | None:
    """``uri`` without credentials (:func:`airflow_flink_operator.uris.strip_userinfo`): events never carry them."""
    from airflow_flink_operator.uris import strip_userinfo  # lazily: a DAG file importing assets loads no more

    return strip_userinfo(uri) if uri else uri


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def record_event(context: Any, outlets: Iterable[Any] | None, extra: dict[str, Any]) -> list[str]:
    """Put ``extra`` on the asset event of every ``Asset`` / ``Asset.ref`` the task declared in ``outlets``.

    Airflow emits those events when the task succeeds, from ``context["outlet_events"]``, whether
    the task finished in ``execute`` or in the continuation after a deferral (each try and each
    resumption collects its own events; the Task SDK sends them with the success). Keys the task
    already set on an event are kept.

    :return: the URIs (or names, for references) that got the extra; empty without outlets.
    """
    outlets = list(outlets or ())
    events = context.get("outlet_events") if isinstance(context, Mapping) else None
    if not outlets or events is None:
        return []
    from airflow.sdk import Asset

    try:
        from airflow.sdk.definitions.asset import AssetRef
    except ImportError:  # pragma: no cover - every supported Airflow has it
        AssetRef = ()  # type: ignore[assignment,misc]
    recorded = []
    for outlet in outlets:
        if not isinstance(outlet, (Asset, AssetRef)):
            continue  # AssetAlias, or other lineage objects: never invent the asset an alias stands for
        accessor = events[outlet]
        accessor.extra = {**extra, **(accessor.extra or {})}
        recorded.append(getattr(outlet, "uri", None) or getattr(outlet, "name", ""))
    if recorded:
        log.info("Asset event %s on %s", extra.get("event"), ", ".join(recorded))
    return recorded


def _job_fields(job: str, namespace: str, resource_kind: str) -> dict[str, Any]:
    return {"job": job, "namespace": namespace, "resource_kind": resource_kind}


def _resource_kind(resource_kind: str | None, job_kind: str | None) -> str:
    """``resource_kind``, or the ``job_kind`` keyword callers of earlier versions pass (same meaning)."""
    return resource_kind or job_kind or "FlinkDeployment"


def record_savepoint(context: Any, outlets: Iterable[Any] | None, *, savepoint_path: str, job: str, namespace: str,
                     resource_kind: str | None = None, trigger_type: str | None = "MANUAL",
                     snapshot: str | None = None, nonce: int | None = None, final: bool = False,
                     job_kind: str | None = None) -> dict[str, Any] | None:
    """A savepoint COMPLETED: put its path and where it came from on the task's outlet events.

    :param savepoint_path: where the savepoint is (the FlinkStateSnapshot's ``status.path`` or the
        job's ``savepointInfo`` location).
    :param job: the FlinkDeployment / FlinkSessionJob it is a savepoint of.
    :param namespace: its namespace.
    :param resource_kind: its kind, ``FlinkDeployment`` (default) or ``FlinkSessionJob``.
    :param trigger_type: the Flink operator's savepoint trigger type (``SnapshotTriggerType``): ``MANUAL``
        (a snapshot or nonce a task asked for), ``UPGRADE`` (taken by the operator to stop the job),
        ``PERIODIC``; ``None`` when the caller does not know it.
    :param snapshot: the FlinkStateSnapshot's name (``None`` for a ``savepointTriggerNonce`` savepoint).
    :param nonce: the ``savepointTriggerNonce`` used, if that is how it was taken.
    :param final: the last savepoint of a job a teardown deleted.
    :param job_kind: the earlier name of ``resource_kind`` (still accepted).
    :return: the extra recorded, or ``None`` when the task declares no asset outlet.
    """
    _warn_other_jobs_savepoint_assets(outlets, job, namespace)
    kind = _resource_kind(resource_kind, job_kind)
    extra: dict[str, Any] = {"event": EVENT_SAVEPOINT_COMPLETED, **_job_fields(job, namespace, kind),
                             "savepoint_path": redact_uri(savepoint_path), "trigger_type": trigger_type,
                             "snapshot": snapshot}
    if nonce is not None:
        extra["nonce"] = nonce
    if final:
        extra["final"] = True
    return extra if record_event(context, outlets, extra) else None


def _warn_other_jobs_savepoint_assets(outlets: Iterable[Any] | None, job: str, namespace: str) -> None:
    """A ``flink-savepoint://`` outlet of another job gets the event all the same (it was declared), with a warning.

    The cluster part is not compared: it is a label the DAG author chose, not something the task can check.
    """
    for outlet in outlets or ():
        uri = getattr(outlet, "uri", None)
        if not (isinstance(uri, str) and uri.startswith(f"{SAVEPOINT_SCHEME}://")):
            continue
        try:
            _, outlet_namespace, outlet_job = parse_savepoint_uri(uri)
        except ValueError:
            continue
        if (outlet_namespace, outlet_job) != (namespace, job):
            log.warning("Outlet %s is the savepoint asset of another job: this savepoint is of %s/%s",
                        uri, namespace, job)


def finished_job_facts(job: Mapping[str, Any]) -> dict[str, Any]:
    """Job id, state, start and end time of a bounded job, from its FlinkDeployment / FlinkSessionJob.

    The Flink Kubernetes Operator records no end time: ``jobStatus.updateTime`` (epoch ms, written
    when the operator observed the job's latest state; reference, section c/h) of a FINISHED job is
    when it saw the job finish, and that is what ``end_time`` is.
    """
    from airflow_flink_operator.models.status import FlinkResourceStatus

    status = FlinkResourceStatus.from_object(dict(job))
    return {"job_id": status.job_id, "job_state": status.job_state, "start_time": _iso(status.job_start_time),
            "end_time": _iso(status.job_update_time), "generation": status.generation}


def record_finished(context: Any, outlets: Iterable[Any] | None, job: Mapping[str, Any]) -> dict[str, Any] | None:
    """A bounded job FINISHED: put its job id and end time on the task's outlet events.

    :param job: the FlinkDeployment / FlinkSessionJob object as the API returned it (after the wait).
    :return: the extra recorded, or ``None`` when the task declares no asset outlet.
    """
    metadata = job.get("metadata") or {}
    extra = {"event": EVENT_JOB_FINISHED,
             **_job_fields(metadata.get("name", ""), metadata.get("namespace", ""), job.get("kind") or "FlinkDeployment"),
             **finished_job_facts(job)}
    return extra if record_event(context, outlets, extra) else None


def record_upgrade(context: Any, outlets: Iterable[Any] | None, *, job: str, namespace: str, generation: int | None,
                   resource_kind: str | None = None, restored_from: str | None = None,
                   safety_savepoint_path: str | None = None, job_id: str | None = None,
                   job_kind: str | None = None) -> dict[str, Any] | None:
    """A deployment was upgraded: put the new generation and the savepoint it restored from on the outlet events.

    :param generation: the generation now running.
    :param restored_from: the savepoint the operator took to stop the old job and started the new
        one from (``None`` for a last-state or stateless upgrade, or an unchanged spec).
    :param safety_savepoint_path: the savepoint the task took before changing anything, if any.
    :param job_id: the Flink job id now running.
    :param job_kind: the earlier name of ``resource_kind`` (still accepted).
    :return: the extra recorded, or ``None`` when the task declares no asset outlet.
    """
    kind = _resource_kind(resource_kind, job_kind)
    extra = {"event": EVENT_DEPLOYMENT_UPGRADED, **_job_fields(job, namespace, kind), "generation": generation,
             "restored_from": redact_uri(restored_from), "safety_savepoint_path": redact_uri(safety_savepoint_path),
             "job_id": job_id}
    return extra if record_event(context, outlets, extra) else None


# --- consuming ------------------------------------------------------------------------------


def resource_kind_of(extra: Mapping[str, Any] | None) -> str | None:
    """The Kubernetes kind (``FlinkDeployment`` / ``FlinkSessionJob``) an event is about: its
    ``resource_kind``, or the ``job_kind`` of an event recorded by an earlier version."""
    extra = extra or {}
    return extra.get("resource_kind") or extra.get("job_kind") or None


def savepoint_of(extra: Mapping[str, Any] | None) -> str | None:
    """The savepoint an event announces: a ``savepoint_completed`` event's ``savepoint_path``, or the
    savepoint a ``deployment_upgraded`` job restored from; ``None`` for any other event."""
    extra = extra or {}
    if extra.get("event") == EVENT_SAVEPOINT_COMPLETED:
        return extra.get("savepoint_path") or None
    if extra.get("event") == EVENT_DEPLOYMENT_UPGRADED:
        return extra.get("restored_from") or None
    return None


def savepoint_events(triggering_asset_events: Any, asset: Any = None) -> list[Any]:
    """The events announcing a savepoint (see :func:`savepoint_of`) among a run's triggering asset
    events, oldest first.

    :param triggering_asset_events: ``context["triggering_asset_events"]`` (``{{ triggering_asset_events }}``).
    :param asset: only the events of this asset (e.g. :func:`savepoint_asset`); default: all.
    """
    if not triggering_asset_events:
        return []
    if asset is not None:
        try:
            groups = [triggering_asset_events[asset]]
        except KeyError:
            return []
    else:
        groups = list(triggering_asset_events.values())
    found = [event for group in groups for event in group if savepoint_of(getattr(event, "extra", None))]
    oldest = datetime.min.replace(tzinfo=timezone.utc)
    return sorted(found, key=lambda event: getattr(event, "timestamp", None) or oldest)


def savepoint_path_from(triggering_asset_events: Any, asset: Any = None) -> str:
    """The savepoint path of the newest event that triggered this run and announces one (see :func:`savepoint_of`).

    :param triggering_asset_events: ``context["triggering_asset_events"]``.
    :param asset: only events of this asset (default: any).
    :raises ValueError: when the run was not triggered by a savepoint event (e.g. a manual run).
    """
    events = savepoint_events(triggering_asset_events, asset)
    if not events:
        what = f" of {asset.uri}" if asset is not None and getattr(asset, "uri", None) else ""
        raise ValueError(f"this run was not triggered by a savepoint{what} (no {EVENT_SAVEPOINT_COMPLETED} asset event "
                         "with a savepoint_path); schedule the DAG on savepoint_asset(...) or pass the path yourself")
    return savepoint_of(events[-1].extra)  # type: ignore[return-value]
