"""The base every model shares: snake_case in Python, camelCase in manifests, unknown fields rejected."""

import re
from typing import Annotated, Any

from pydantic import AfterValidator, AliasChoices, AliasGenerator, BaseModel, BeforeValidator, ConfigDict


def to_camel(name: str) -> str:
    """``savepoint_trigger_nonce`` → ``savepointTriggerNonce`` (pydantic's own ``to_camel`` compiles regexes)."""
    first, *rest = name.split("_")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


class FlinkModel(BaseModel):
    """Base of all models: ``model_dump(by_alias=True, exclude_none=True)`` is the manifest form."""

    # Python takes snake_case (and shows it in signatures); manifests take and get camelCase.
    model_config = ConfigDict(
        alias_generator=AliasGenerator(
            validation_alias=lambda name: AliasChoices(name, to_camel(name)),
            serialization_alias=to_camel,
        ),
        extra="forbid",
        validate_default=False,
        # Build validators on first use: DAG files import many models and use few (parse cost).
        defer_build=True,
    )

    def to_dict(self) -> dict[str, Any]:
        """This model as it appears in a manifest (camelCase keys, unset fields left out)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    def serialize(self) -> str:
        """YAML of what will be applied: the rendered manifests of a resource (its ConfigMaps
        included), else this part as it appears in one.

        Airflow calls ``serialize()`` to show a template field (the rendered-template view, with
        the ``yaml`` renderer), so a typed model shows as the YAML a kubectl user would read,
        not as a Python repr.
        """
        from airflow_flink_operator.manifests import render, to_yaml

        try:
            return to_yaml(render(self))  # type: ignore[arg-type]
        except Exception:  # not a resource, or not valid yet: show what there is
            return to_yaml([self.to_dict()])


def camel_alias(name: str, camel: str) -> dict[str, Any]:
    """Field aliases for a camelCase name ``to_camel`` cannot produce (``jar_uri`` ↔ ``jarURI``)."""
    return {"validation_alias": AliasChoices(name, camel), "serialization_alias": camel}


# --- Value formats shared by several models --------------------------------------------------

_MEMORY = re.compile(
    r"^\s*\d+(\.\d+)?\s*"
    r"(b|bytes|k|kb|kibibytes|m|mb|mebibytes|g|gb|gibibytes|t|tb|tebibytes"
    r"|Ki|Mi|Gi|Ti|Pi|Ei|K|M|G|T|P|E|e\d+)?\s*$",
    re.IGNORECASE,
)
_QUANTITY = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?\d+)?$")
_DURATION = re.compile(
    r"^\s*\d+\s*(ns|nano|nanos|nanosecond|nanoseconds|us|µs|micro|micros|microsecond|microseconds"
    r"|ms|milli|millis|millisecond|milliseconds|s|sec|secs|second|seconds|min|m|minute|minutes"
    r"|h|hour|hours|d|day|days)?\s*$"
)


def _check_memory(value: str) -> str:
    if not _MEMORY.match(value):
        raise ValueError(
            f"{value!r} is not a memory size; use Flink's form ('2048m', '2g', '1024 mb') "
            "or a Kubernetes quantity ('2Gi')"
        )
    return value


def _check_quantity(value: str) -> str:
    if not _QUANTITY.match(value):
        raise ValueError(f"{value!r} is not a Kubernetes quantity; use e.g. '1Gi', '500m' or '2'")
    return value


def _check_duration(value: str) -> str:
    if not _DURATION.match(value):
        raise ValueError(
            f"{value!r} is not a Flink duration; use a number and a unit such as '30 s', '10min', '6h', '1 d'"
        )
    return value.strip()


MemorySize = Annotated[str, AfterValidator(_check_memory)]
Quantity = Annotated[str, AfterValidator(_check_quantity)]
Duration = Annotated[str, BeforeValidator(lambda v: duration_text(v)), AfterValidator(_check_duration)]
"""A Flink duration: a string such as ``"30 s"`` or ``"6h"``, or a ``datetime.timedelta``."""


def duration_text(value: Any) -> str:
    """Turn a ``timedelta`` into a Flink duration string; pass strings through."""
    from datetime import timedelta

    if isinstance(value, timedelta):
        millis = int(value.total_seconds() * 1000)
        if millis % 1000:
            return f"{millis} ms"
        return f"{millis // 1000} s"
    return value


_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_FILE_NAME = re.compile(r"^[\w][\w.-]*$")
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
_URI = re.compile(r"^[a-z][a-z0-9+.-]*://")


def _check_dns_subdomain(value: str) -> str:
    if len(value) > 253 or not _DNS_SUBDOMAIN.match(value):
        raise ValueError(
            f"{value!r} is not a valid Kubernetes name: use lowercase letters, digits, '-' and '.', "
            "starting and ending with a letter or digit (e.g. 'orders-enrichment')"
        )
    return value


def _check_dns_label(value: str) -> str:
    if len(value) > 63 or not _DNS_LABEL.match(value):
        raise ValueError(
            f"{value!r} is not a valid namespace: lowercase letters, digits and '-', at most 63 characters"
        )
    return value


def _check_absolute(value: str) -> str:
    if not value.startswith("/"):
        raise ValueError(f"{value!r} is not an absolute path; start it with '/' (e.g. '/opt/flink/usrlib/x')")
    return value


def _check_file_name(value: str) -> str:
    if not _FILE_NAME.match(value):
        raise ValueError(f"{value!r} is not a plain file name; use letters, digits, '.', '_' and '-' (no '/')")
    return value


def _check_env_name(value: str) -> str:
    if not _ENV_NAME.match(value):
        raise ValueError(f"{value!r} is not a valid environment variable name (e.g. 'DB_PASSWORD')")
    return value


def _check_uri(value: str) -> str:
    if not _URI.match(value):
        raise ValueError(f"{value!r} is not a URI; give a scheme such as 'https://'")
    return value


KubernetesName = Annotated[str, AfterValidator(_check_dns_subdomain)]
Namespace = Annotated[str, AfterValidator(_check_dns_label)]
AbsolutePath = Annotated[str, AfterValidator(_check_absolute)]
FileName = Annotated[str, AfterValidator(_check_file_name)]
EnvName = Annotated[str, AfterValidator(_check_env_name)]
Uri = Annotated[str, AfterValidator(_check_uri)]
