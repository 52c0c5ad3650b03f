"""The connection's transport under the SDK's HTTP client.

A ``Connection`` may carry a transport of its own (httpx's, as the Company client
takes it): tests hand one that serves the sandbox app in process over ASGI. The
SDK builds its client on ``httpx2``, a fork with the same shapes but its own
classes, so it cannot take that transport as it is; ``ThroughConnection`` passes
each request across and the answer back, bytes for bytes (the raw body, never
decoded twice), so the SDK meets exactly what the transport answered.
"""

from __future__ import annotations

import httpx
import httpx2


class ThroughConnection(httpx2.AsyncBaseTransport):
    """An ``httpx2`` transport that sends through a connection's ``httpx`` one."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        sent = httpx.Request(
            request.method,
            str(request.url),
            headers=request.headers.raw,
            content=await request.aread(),
        )
        answer = await self._inner.handle_async_request(sent)
        try:
            body = b"".join([chunk async for chunk in answer.aiter_raw()])
        finally:
            await answer.aclose()
        return httpx2.Response(
            answer.status_code, headers=answer.headers.raw, content=body, request=request
        )

    async def aclose(self) -> None:
        await self._inner.aclose()
