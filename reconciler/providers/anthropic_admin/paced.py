"""The Admin session's pacing, as the SDK's innermost middleware.

Every attempt the SDK makes (reads, writes, creates sent once, pages of lists) goes
through the session's one ``Pacer`` (``net.pacing``, the Company client's too): it
waits for the API's bucket from the ``anthropic-ratelimit-requests-*`` headers,
keeps fewer requests in flight after a 429, and waits a 429 out and sends the
attempt again, so neither the SDK's own retries nor a create's see a rate limit
until a request has waited past its patience. Middleware is the SDK's public way
in, and it keeps the SDK's transport (proxies, keep-alive) as it is.
"""

from __future__ import annotations

from typing import Any

import anthropic

from reconciler.net.connection import RetryPolicy
from reconciler.net.pacing import Pacer


class Paced(anthropic.Middleware):
    """Each attempt through ``pacer``; ``RateLimitOutlasted`` past ``patience``
    seconds of 429s (the session turns it into its one sentence)."""

    def __init__(self, pacer: Pacer, retry: RetryPolicy) -> None:
        self._pacer = pacer
        self._retry = retry

    async def handle_async(
        self, request: anthropic.APIRequest, call_next: anthropic.AsyncCallNext
    ) -> anthropic.AsyncAPIResponse[Any]:
        async def attempt() -> anthropic.AsyncAPIResponse[Any]:
            return await call_next(request)

        retry = self._retry
        return await self._pacer.send(
            attempt,
            patience=retry.patience,
            discard=_closed,
            backoff=retry.backoff,
            max_wait=retry.max_wait,
        )


async def _closed(response: anthropic.AsyncAPIResponse[Any]) -> None:
    await response.close()
