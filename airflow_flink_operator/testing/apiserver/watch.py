"""Watch streams for :class:`~.server.KubeApiEmulator`: initial ADDED events or a resume from a
``resourceVersion`` in the history, ``410 Gone`` before it, bookmarks, ``timeoutSeconds``."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from aiohttp import web

from airflow_flink_operator.testing.apiserver.errors import ApiError
from airflow_flink_operator.testing.apiserver.resources import ResourceType
from airflow_flink_operator.testing.apiserver.selectors import field_selector_matcher, label_selector_matcher
from airflow_flink_operator.testing.apiserver.store import CLOSE, Watch


class WatchMixin:
    """Part of :class:`~.server.KubeApiEmulator`: the WATCH verb."""

    async def _gone_stream(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        status = ApiError(410, "Expired", "too old resource version").status()
        try:
            await response.prepare(request)
            await response.write(json.dumps({"type": "ERROR", "object": status}).encode() + b"\n")
            await response.write_eof()
        except ConnectionResetError:  # the client went away first
            pass
        return response

    async def _watch(self, request: web.Request, rt: ResourceType, namespace: str | None) -> web.StreamResponse:
        query = request.query
        since = query.get("resourceVersion")
        watch = Watch(rt.plural, namespace, label_selector_matcher(query.get("labelSelector")),
                       field_selector_matcher(query.get("fieldSelector")))
        if since not in (None, "", "0") and int(since) < self.store.oldest_rv:
            return await self._gone_stream(request)
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json",
                                                           "Transfer-Encoding": "chunked"})
        try:
            await response.prepare(request)
        except ConnectionResetError:  # the client went away first (aiohttp's ClientConnectionResetError)
            return response
        self._streams.add(response)
        self.store.watches.add(watch)
        timeout = float(query["timeoutSeconds"]) if query.get("timeoutSeconds") else None
        deadline = time.monotonic() + timeout if timeout else None
        bookmarks = query.get("allowWatchBookmarks", "").lower() in ("true", "1")
        try:
            if since in (None, "", "0"):
                for (p, ns, _), obj in sorted(self.store.objects.items()):
                    if p == rt.plural and (namespace is None or ns == namespace) and watch.matches(obj):
                        await self._send(response, "ADDED", obj)
            else:
                for event in list(self.store.history):
                    if event.rv > int(since):
                        translated = watch.translate(event)
                        if translated:
                            await self._send(response, *translated)
            last_bookmark = time.monotonic()
            while True:
                wait = self.bookmark_interval if bookmarks else 30.0
                if deadline is not None:
                    wait = min(wait, max(deadline - time.monotonic(), 0))
                try:
                    event = await asyncio.wait_for(watch.queue.get(), timeout=max(wait, 0.001))
                except asyncio.TimeoutError:
                    event = None
                if event is CLOSE or (deadline is not None and time.monotonic() >= deadline):
                    break
                if event is not None:
                    translated = watch.translate(event)
                    if translated:
                        await self._send(response, *translated)
                if bookmarks and time.monotonic() - last_bookmark >= self.bookmark_interval:
                    last_bookmark = time.monotonic()
                    await self._send(response, "BOOKMARK", {"kind": rt.kind, "apiVersion": rt.api_version,
                                                            "metadata": {"resourceVersion": str(self.store.rv)}})
            await response.write_eof()
        except (ConnectionResetError, RuntimeError, asyncio.CancelledError):
            pass
        finally:
            self.store.watches.discard(watch)
            self._streams.discard(response)
        return response

    @staticmethod
    async def _send(response: web.StreamResponse, type_: str, obj: dict[str, Any]) -> None:
        await response.write(go_json({"type": type_, "object": obj}) + b"\n")


def go_json(value: Any) -> bytes:
    """JSON as kube-apiserver writes it: apimachinery's ``runtime/serializer/json`` ``Serializer.Encode``
    uses Go's ``json.NewEncoder`` (``encoding/json`` ``appendString``): UTF-8 as is, except ``<``, ``>``,
    ``&`` (``escapeHTML``) and U+2028, U+2029 as ``\\u`` escapes. So U+0085 (NEL) goes out unescaped."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for char in "<>&\u2028\u2029":  # only inside strings in JSON text: replacing them everywhere is exact
        text = text.replace(char, f"\\u{ord(char):04x}")
    return text.encode()
