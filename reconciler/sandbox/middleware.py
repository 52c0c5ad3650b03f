"""``ConditionsMiddleware``: what every API request meets before an endpoint, the
request id, injected latency, faults (answered or dropped), the rate limit and
its headers, and the request log. ``/_sandbox/`` control requests pass through
with only a request id."""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reconciler.sandbox.conditions import Conditions
from reconciler.sandbox.errors import REQUEST_ID, error_response

CONTROL_PREFIX = "/_sandbox/"
# The names the sandbox answers to: a page elsewhere that rebinds its own name to
# 127.0.0.1 sends its own name as Host, and must not drive the sandbox (its control
# keys are published).
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class ConditionsMiddleware:
    """Applies the sandbox's conditions to every API request (not to /_sandbox/)."""

    def __init__(
        self,
        app: ASGIApp,
        conditions: Conditions,
        log: deque[dict[str, Any]],
        on_request: Callable[[dict[str, Any]], None] | None = None,
        hosts: frozenset[str] = LOOPBACK_HOSTS,
    ) -> None:
        self.app = app
        self.conditions = conditions
        self.log = log
        self.on_request = on_request  # ``--log-requests``: each request, once answered
        self.hosts = hosts  # the Host names answered; others get 421

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = "req_" + uuid.uuid4().hex[:24]
        control = scope["path"].startswith(CONTROL_PREFIX)
        entry: dict[str, Any] = {
            "method": scope["method"],
            "path": scope["path"],
            "status": 0,
            "fault": None,
            "wrote": False,
            "conflict": False,
            "service_ms": 0.0,
        }
        arrived = time.perf_counter()
        delay = 0.0
        scope.setdefault("state", {})
        REQUEST_ID.set(request_id)
        if _host_name(scope) not in self.hosts:
            await error_response(
                421,
                "This sandbox answers only requests addressed to a loopback name "
                "(127.0.0.1, localhost, [::1]).",
            )(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                entry["status"] = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"request-id", request_id.encode()))
                if not control:
                    headers.extend(self._rate_limit_headers())
                message = {**message, "headers": headers}
            await send(message)

        if control:
            await self.app(scope, receive, send_with_headers)
            return
        try:
            delay = self.conditions.latency_seconds()
            if delay:
                await asyncio.sleep(delay)
            fault = self.conditions.draw_fault(scope["method"])
            entry["fault"] = fault
            settings = self.conditions.settings
            fast = {"retry-after-ms": str(settings.fault_retry_after_ms)}
            fast = fast if settings.fault_retry_after_ms > 0 else {}
            if fault in ("500", "529"):
                status = int(fault)
                await error_response(status, "Injected fault.", fast)(
                    scope, receive, send_with_headers
                )
            elif fault == "429":
                after = {"retry-after": str(settings.fault_retry_after), **fast}
                await error_response(429, "Injected rate limit.", after)(
                    scope, receive, send_with_headers
                )
            elif fault == "drop":
                await _drop(send_with_headers)
            elif not self.conditions.bucket.take():
                wait = self.conditions.bucket.seconds_until(1)
                retry_after = str(max(1, math.ceil(wait)))
                await error_response(
                    429,
                    "Rate limit exceeded; retry after the retry-after header's seconds.",
                    {"retry-after": retry_after},
                )(scope, receive, send_with_headers)
            elif fault == "drop-after-write":
                await self.app(scope, receive, _swallow)
                await _drop(send_with_headers)
            else:
                await self.app(scope, receive, send_with_headers)
        finally:
            served = time.perf_counter() - arrived - delay
            entry["service_ms"] = round(max(0.0, served) * 1000, 3)
            entry["wrote"] = bool(scope["state"].get("wrote"))
            entry["conflict"] = bool(scope["state"].get("conflict"))
            self.log.append(entry)
            if self.on_request and not control:
                self.on_request(entry)

    def _rate_limit_headers(self) -> list[tuple[bytes, bytes]]:
        bucket = self.conditions.bucket
        reset = datetime.now(UTC) + timedelta(seconds=bucket.seconds_until(bucket.capacity))
        return [
            (b"anthropic-ratelimit-requests-limit", str(bucket.limit).encode()),
            (b"anthropic-ratelimit-requests-remaining", str(bucket.remaining).encode()),
            (b"anthropic-ratelimit-requests-reset", rfc3339(reset).encode()),
        ]


def _host_name(scope: Scope) -> str:
    """The Host header's name, without its port or an IPv6 address's brackets."""
    host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), "")
    if host.startswith("["):
        return host[1 : host.find("]")].lower()
    return host.rpartition(":")[0].lower() if host.count(":") == 1 else host.lower()


async def _swallow(message: Message) -> None:
    """A send that discards the response (the write happens, the answer is lost)."""


async def _drop(send: Send) -> None:
    """Start a response and never finish it: uvicorn then closes the connection,
    and the client sees it break mid-answer, as with a dropped connection."""
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"64")]}
    )
