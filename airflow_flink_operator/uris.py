"""The one place that reads URL authorities and drops the credentials in them.

Connection strings reach lineage facets, dataset names, asset-event extras and logs; a password
in them must reach none. Python's :func:`urllib.parse.urlsplit` ends the authority at the first
``/``, so ``s3a://AKIA:wJalr/K7MD@bucket/data`` (an AWS secret key with a ``/``) would be read as host
``AKIA``, port ``wJalr`` and path ``/K7MD@bucket/data``. This module decides instead:

**The rule.** After ``scheme://`` (or a scheme-less ``host...``), the *user info* is everything up to
the **last** ``@`` of the rest of the text (path, query and fragment included), unless the authority
is empty (``file:///tmp/sp@1``, ``hdfs:///p``: an ``@`` there is in the path). A password may contain
``/``, ``?``, ``#``, ``:`` and ``@``, so no earlier ``@`` can be trusted to end it. The price: a URL
with user info, or a plausible ``host[:port]``, *and* an ``@`` further on (``s3://b/sp@1``,
``https://h/x?mail=a@b``) loses everything up to that ``@`` -- the result is wrong but holds no
secret; :attr:`UriParts.ambiguous` says so, and dataset naming skips such URLs rather than report a
wrong name. The host part left after the user info must read as ``host[:port]`` (comma-separated lists,
IPv6 in brackets, ports all digits); anything else (``AKIA:secret%40bucket``, spaces) raises
:class:`ValueError`, and :func:`strip_userinfo` then returns ``scheme://<redacted>``.

**JDBC.** ``jdbc:`` is set aside and the sub-protocol read as the scheme; SQL Server/DB2/Teradata
``;``/``:``/``,`` properties and query parameters are cut at the first secret-looking key
(``password=``, ``pwd=``, ``token=``...); MySQL's ``address=(host=h)(port=p)(user=u)(password=...)``
keeps only host and port; Oracle's ``oracle:thin:user/pass@//host:port/service``, ``@host:port:SID``
and ``@(DESCRIPTION=...)`` keep only what follows the last ``@``.

**Queries.** With ``keep_query=True`` the query is kept up to its first secret-looking parameter
(``X-Amz-Signature``, ``sig``, ``token``, ``password``...: everything from there on is dropped, since a
value may itself contain ``&``); with ``keep_query=False`` query and fragment are dropped.

**Azure.** ``abfs[s]://``/``wasb[s]://`` keep ``container@`` when it reads as a container name: it is
part of the location (OpenLineage naming: ``abfss://{container}@{service}.dfs.core.windows.net``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

REDACTED = "<redacted>"

#: A parameter ``name=`` whose name looks like it holds a credential.
_SECRET_PROPERTY = re.compile(r"[\w.\-%]*?(pass|assw|pwd|secret|token|key|sig|credential|auth|session|cookie|bearer)"
                              r"[\w.\-%]*\s*=", re.IGNORECASE)
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
_HOST = re.compile(r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+(?:%[\w.\-]+)?)\]|(?P<name>[A-Za-z0-9_.\-]*))(?::(?P<port>\d*))?$")
_AZURE = ("abfs", "abfss", "wasb", "wasbs")
_AZURE_CONTAINER = re.compile(r"^(?:[a-z0-9](?:[a-z0-9\-]{1,61}[a-z0-9])?|\$root|\$web|\$logs)$")
#: JDBC sub-protocols whose URLs carry ``;``-properties after the authority.
_JDBC_SEMICOLON = ("sqlserver", "jtds", "db2", "hive2", "teradata", "databricks", "spark", "redshift", "snowflake")


@dataclass(frozen=True)
class UriParts:
    """A URI read by :func:`split_authority`.

    :param scheme: lower-cased scheme (for ``jdbc:`` URLs the sub-protocol: ``mysql``, ``oracle``...).
    :param userinfo: the dropped user info, kept out of ``repr`` (never log it).
    :param host: the first host (IPv6 without brackets), ``""`` when the authority is empty.
    :param port: its port, if given.
    :param path: the path (for Oracle ``/service`` or ``/SID``).
    :param query: the query without ``?``. Like every field, it ends before the first secret-looking
        parameter (``password=``, ``sig=``...): the text from there on is dropped before parsing.
    :param fragment: the fragment without ``#``.
    :param hosts: every ``(host, port)`` of a multi-host authority (Kafka, Postgres, MongoDB lists).
    :param properties: ``;``-properties of a JDBC URL (SQL Server's ``databaseName``...), raw.
    :param jdbc: the input started with ``jdbc:``.
    :param ambiguous: an ``@`` was found after a plausible authority: user info was assumed up to it,
        so host and path may be wrong (never a secret); do not name a dataset after it.
    """

    scheme: str
    userinfo: str = field(default="", repr=False)
    host: str = ""
    port: int | None = None
    path: str = ""
    query: str = field(default="", repr=False)
    fragment: str = field(default="", repr=False)
    hosts: tuple[tuple[str, int | None], ...] = ()
    properties: str = field(default="", repr=False)
    jdbc: bool = False
    ambiguous: bool = False
    #: the scheme as written, and Oracle's address after ``@`` as written (for rebuilding).
    raw_scheme: str = field(default="", repr=False)
    opaque_address: str = field(default="", repr=False)
    container: str = ""

    @property
    def authority(self) -> str:
        """``host:port[,host:port...]`` with IPv6 hosts in brackets, no user info."""
        return ",".join(format_host_port(h, p) for h, p in self.hosts)


def format_host_port(host: str, port: int | None = None) -> str:
    """``host:port`` (``[v6]:port`` for an IPv6 address), or ``host`` alone without a port."""
    shown = f"[{host}]" if ":" in host else host
    return f"{shown}:{port}" if port is not None else shown


def _split_tail(text: str) -> tuple[str, str, str]:
    """``path``, ``query`` and ``fragment`` of what follows an authority."""
    rest, _, fragment = text.partition("#")
    path, _, query = rest.partition("?")
    return path, query, fragment


def _read_hosts(authority: str) -> tuple[tuple[str, int | None], ...]:
    """``(host, port)`` of each comma-separated ``host[:port]``; :class:`ValueError` when one is not that."""
    if authority.lower().startswith("address=") or authority.startswith("("):  # MySQL's address=(host=..)(port=..)
        hosts = []
        for group in re.split(r"(?i),?address=", authority):
            found = {k.lower(): v.strip() for k, v in re.findall(r"\(\s*(host|port)\s*=\s*([^)]*)\)", group, re.I)}
            if found.get("host"):
                port_text = found.get("port", "")
                if port_text and not port_text.isdigit():
                    raise ValueError("a port is not a number")
                hosts.append((found["host"], int(port_text) if port_text else None))
        if not hosts:
            raise ValueError("no host in the address list")
        return tuple(hosts)
    hosts = []
    for item in authority.split(","):
        match = _HOST.match(item.strip())
        if match is None:
            raise ValueError("the authority is not host[:port]")
        host = match.group("v6") or match.group("name") or ""
        port = match.group("port")
        hosts.append((host, int(port) if port else None))
    if len(hosts) > 1 and not all(h for h, _ in hosts):
        raise ValueError("an empty host in a host list")
    return tuple(hosts)


def _oracle(rest: str, raw_scheme: str) -> UriParts:
    """``oracle:thin:[user/pass]@address`` (``rest`` follows ``oracle:``)."""
    driver, _, tail = rest.partition(":")
    userinfo, at, address = tail.rpartition("@")
    if not at:
        address = tail
    address, _, query = address.partition("?")
    if address.lstrip().startswith("("):
        found = {k.lower(): v for k, v in re.findall(r"\(\s*(HOST|PORT|SERVICE_NAME|SID)\s*=\s*([^)\s]+)", address,
                                                       re.IGNORECASE)}
        host, port_text = found.get("host", ""), found.get("port", "")
        service = found.get("service_name") or found.get("sid", "")
    else:
        body = address.removeprefix("//")
        authority, slash, service = body.partition("/")
        if authority.startswith("["):
            host, _, after = authority[1:].partition("]")
            port_text, _, sid = after.lstrip(":").partition(":")
        else:
            host, _, after_host = authority.partition(":")
            port_text, _, sid = after_host.partition(":")
        service = service if slash else sid
        if not re.fullmatch(r"[A-Za-z0-9_.\-:]*", host) or not re.fullmatch(r"[\w.\-$#]*", service):
            raise ValueError("the Oracle address is not host:port/service")
    if port_text and not port_text.isdigit():
        raise ValueError("a port is not a number")
    port = int(port_text) if port_text else None
    return UriParts("oracle", userinfo=userinfo, host=host, port=port, path=f"/{service}" if service else "",
                    query=query, hosts=((host, port),), jdbc=True, raw_scheme=f"{raw_scheme}:{driver}",
                    opaque_address=address.strip())


def _secret_start(text: str, jdbc: bool) -> int:
    """Where the first secret-looking parameter (``?password=``, ``&sig=``, JDBC ``;pwd=``...) starts."""
    separators = r"[?&;:,(/]" if jdbc else r"[?&;#]"
    found = re.search(separators + _SECRET_PROPERTY.pattern, text, re.IGNORECASE)
    return found.start() if found else len(text)


def split_authority(uri: str) -> UriParts:
    """Read ``uri`` by the module's rule (user info ends at the last ``@``).

    Everything from the first secret-looking parameter on (``?password=...``, ``;pwd=...``) is dropped
    before anything else is read, so no part of the result can hold it.

    :raises ValueError: when what follows the user info is not ``host[:port]`` (the message never
        quotes the URI).
    """
    text = uri.strip()
    jdbc = text[:5].lower() == "jdbc:"
    if jdbc:  # MySQL's (password=...) groups go first: the database after them stays readable
        text = re.sub(r"\(\s*" + _SECRET_PROPERTY.pattern + r"[^)]*\)", "", text[5:], flags=re.IGNORECASE)
    text = text[:_secret_start(text, jdbc)]
    match = _SCHEME.match(text)
    raw_scheme = match.group(1) if match else ""
    scheme = raw_scheme.lower()
    if scheme == "oracle" and not text[len(raw_scheme) + 1:].startswith("//"):
        return _oracle(text[len(raw_scheme) + 1:], raw_scheme)
    if match and text[match.end():].startswith("//"):
        rest = text[match.end() + 2:]
    elif match and (jdbc or scheme == "file"):
        opaque = text[match.end():]
        if opaque.startswith("/") or "@" not in opaque:  # file:/tmp/x
            path, query, fragment = _split_tail(opaque)
            return UriParts(scheme, path=path, query=query, fragment=fragment, jdbc=jdbc, raw_scheme=raw_scheme)
        userinfo, _, after = opaque.rpartition("@")
        path, query, fragment = _split_tail(after)
        return UriParts(scheme, userinfo=userinfo, path=path, query=query, fragment=fragment, jdbc=jdbc,
                        raw_scheme=raw_scheme, ambiguous=True)
    elif text.startswith(("/", ".")) or not text:  # a scheme-less path
        path, query, fragment = _split_tail(text)
        return UriParts("", path=path, query=query, fragment=fragment)
    else:  # a scheme-less authority: broker:9092, user:pass@host
        raw_scheme, scheme, rest = "", "", text
    if rest.startswith("/") or not rest:  # empty authority: an @ from here on is in the path
        path, query, fragment = _split_tail(rest)
        return UriParts(scheme, path=path, query=query, fragment=fragment, jdbc=jdbc, raw_scheme=raw_scheme)
    semicolon = jdbc and scheme in _JDBC_SEMICOLON
    ends = "/?#;" if semicolon else "/?#"
    # SQL Server & co. have no user info; an @ in their ;-properties (a Kerberos principal) is not one.
    searched = rest.split(";", 1)[0] if semicolon else rest
    standard = re.split(f"[{re.escape(ends)}]", rest, maxsplit=1)[0]
    userinfo, at, after = searched.rpartition("@")
    after = after + rest[len(searched):] if at else rest
    ambiguous = False
    if at and len(userinfo) >= len(standard):  # the last @ is past where urlsplit ends the authority
        candidate = standard.rpartition("@")[2]
        try:
            _read_hosts(candidate)
            ambiguous = not candidate.endswith(":")  # it reads as host[:port]: the @ may be in the path
        except ValueError:
            pass  # "AKIA:wJalr" (or "AKIA:") is no host[:port]: certainly user info holding a "/"
    paren = re.match(r"(.*\))(?=[/?#;]|$)", after, re.S) if after.lower().startswith(("address=", "(")) else None
    authority = paren.group(1) if paren else re.split(f"[{re.escape(ends)}]", after, maxsplit=1)[0]
    tail = after[len(authority):]
    properties = ""
    if semicolon and ";" in tail:  # ;databaseName=db;... (SQL Server) or /db;principal=... (Hive): to the end
        tail, _, more = tail.partition(";")
        properties = f";{more}"
    container = ""
    if scheme in _AZURE and at and _AZURE_CONTAINER.match(userinfo) and not ambiguous:
        container, userinfo = userinfo, ""
    hosts = _read_hosts(authority)
    path, query, fragment = _split_tail(tail)
    return UriParts(scheme, userinfo=userinfo, host=hosts[0][0], port=hosts[0][1], path=path, query=query,
                    fragment=fragment, hosts=hosts, properties=properties, jdbc=jdbc, ambiguous=ambiguous,
                    raw_scheme=raw_scheme, container=container)


def strip_userinfo(uri: str, *, keep_query: bool = True) -> str:
    """``uri`` without user info and secret-looking parameters, for facets, extras and logs.

    Never returns a credential, even for input it cannot read (then ``scheme://<redacted>``).

    :param uri: a URL, a JDBC URL, a path, or ``host:port``.
    :param keep_query: keep the query (up to its first secret-looking parameter) and fragment; when
        false, both are dropped (a presigned URL keeps only its location).
    """
    try:
        parts = split_authority(uri)
    except ValueError:
        text = uri.strip()
        prefix = "jdbc:" if text[:5].lower() == "jdbc:" else ""
        scheme = _SCHEME.match(text[len(prefix):])
        return f"{prefix}{scheme.group(1)}://{REDACTED}" if scheme else REDACTED
    prefix = "jdbc:" if parts.jdbc else ""
    suffix = ""
    if keep_query:
        suffix = (f"?{parts.query}" if parts.query else "") + (f"#{parts.fragment}" if parts.fragment else "")
    if parts.opaque_address:  # Oracle: jdbc:oracle:thin:@//host:port/service
        return f"{prefix}{parts.raw_scheme}:@{parts.opaque_address}{suffix}"
    if not parts.hosts:
        if not parts.raw_scheme:
            return f"{parts.path}{suffix}"
        written = uri.strip()[len(prefix) + len(parts.raw_scheme) + 1:]
        return f"{prefix}{parts.raw_scheme}{'://' if written.startswith('//') else ':'}{parts.path}{suffix}"
    container = f"{parts.container}@" if parts.container else ""
    head = f"{prefix}{parts.raw_scheme}://" if parts.raw_scheme else ""
    return f"{head}{container}{parts.authority}{parts.path}{parts.properties}{suffix}"
