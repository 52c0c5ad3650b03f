"""Client-side pacing from the server's rate-limit headers.

Bouncing off 429s wastes a round trip and a ``retry-after`` of whole seconds
per bounce. Instead the client mirrors the server's token bucket: every answer
says how many requests remain and when the bucket is full again, which gives
the refill rate; before each request the pacer waits until its estimate holds
a token. Requests in flight are counted against the estimate, since the
server will charge them before it answers.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime


class Pacer:
    """Waits before a request when the server's bucket is (about to be) empty."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._wall = wall
        self._tokens: float | None = None  # None: no information, don't wait
        self._rate = 0.0
        self._capacity = 0.0
        self._stamp = clock()
        self._in_flight = 0
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = self._clock()
        if self._tokens is not None:
            self._tokens = min(self._capacity, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now

    async def acquire(self) -> None:
        """Wait, if needed, until a request may go; then count it as in flight."""
        async with self._lock:
            self._refill()
            if self._tokens is not None and self._tokens < 1 and self._rate > 0:
                delay = (1 - self._tokens) / self._rate
                await self._sleep(delay)
                self._refill()
            if self._tokens is not None:
                self._tokens -= 1
            self._in_flight += 1

    def release(self) -> None:
        self._in_flight = max(0, self._in_flight - 1)

    def observe(self, headers: Mapping[str, str]) -> None:
        """Take the server's word for the bucket, less what is still in flight."""
        try:
            limit = float(headers["anthropic-ratelimit-requests-limit"])
            remaining = float(headers["anthropic-ratelimit-requests-remaining"])
            reset = datetime.fromisoformat(headers["anthropic-ratelimit-requests-reset"])
        except (KeyError, ValueError):
            return
        until_full = reset.timestamp() - self._wall()
        self._refill()
        self._capacity = limit
        if remaining >= limit or until_full <= 0:
            self._rate = max(self._rate, limit)  # full: at least a full bucket per second
        else:
            self._rate = (limit - remaining) / until_full
        self._tokens = remaining - max(0, self._in_flight - 1)

    def hold(self, seconds: float) -> None:
        """A 429 said to wait: empty the estimate so every request waits that long."""
        self._refill()
        if self._rate > 0:
            self._tokens = min(self._tokens or 0.0, 1 - seconds * self._rate)
