"""Client-side pacing from the server's rate-limit headers, for every provider.

Bouncing off 429s wastes a round trip and a ``retry-after`` of whole seconds
per bounce, and a client that keeps bouncing may be throttled harder. Instead the
client mirrors the server's token bucket: every answer says how many requests
remain and when the bucket is full again, which gives the refill rate; before
each request the pacer waits until its estimate holds a token. Requests in
flight are counted against the estimate, since the server will charge them
before it answers. Until the first answer, at most ``FIRST_BURST`` requests are in
flight: a plan's dozen reads sent before the API has said what its bucket holds
are a burst of 429s under a small limit, and one request alone would make every
plan wait for its slowest list. A 429 halves
how many requests may be in flight at once (the window); answers with tokens to spare
grow it back, one request at a time.

``send`` is the one loop both providers send through (the Company client's
requests, the Admin SDK's attempts): a 429 is waited out and sent again, never a
failure, while one request's waiting stays within its patience. A 429 is a
refusal before any work, so sending it again is safe, creates included.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeVar

from reconciler.core.model import RateLimitWaits


class Answer(Protocol):
    """What ``send`` reads of an answer: httpx's response and the SDK's alike."""

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...


A = TypeVar("A", bound=Answer)
FIRST_BURST = 2


@dataclass
class Bucket:
    """What a pacer knows of one API's bucket: the connection keeps it, so the sessions
    of one command (apply plans in one, writes in another) start from what the last
    one learned, not from a burst into an emptied bucket."""

    tokens: float | None = None  # None: no information, don't wait
    rate: float = 0.0
    capacity: float = 0.0
    stamp: float = 0.0
    answered: bool = False  # no answer yet: nothing known of the bucket
    window: float = 0.0  # 0: not yet set (the first pacer's concurrency)


class RateLimitOutlasted(Exception):
    """A request kept being answered 429 for longer than its patience: ``answer`` is
    the last of them, for the caller's own error."""

    def __init__(self, answer: Answer, waited: float) -> None:
        super().__init__(f"answered 429 for {waited:.0f} s")
        self.answer = answer
        self.waited = waited


class Pacer:
    """Waits before a request when the server's bucket is (about to be) empty, and
    keeps at most ``window`` requests in flight (up to ``concurrency``). Pacers given
    the same ``bucket`` share what they learn of it."""

    def __init__(
        self,
        *,
        concurrency: int = 64,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        wall: Callable[[], float] = time.time,
        progress: Callable[[str], None] | None = None,
        bucket: Bucket | None = None,
    ) -> None:
        self._clock = clock
        self._progress = progress
        self._sleep = sleep
        self._wall = wall
        self._most = concurrency
        self._b = bucket if bucket is not None else Bucket()
        if not self._b.window:
            self._b.stamp, self._b.window = clock(), float(concurrency)
        self._b.window = min(self._b.window, float(concurrency))
        self._in_flight = 0
        self._lock = asyncio.Lock()
        self._freed = asyncio.Event()
        self.waits = RateLimitWaits()

    @property
    def window(self) -> float:
        """How many requests may be in flight: halved by a 429, grown back by answers
        with tokens to spare."""
        return self._b.window

    def _refill(self) -> None:
        now = self._clock()
        if self._b.tokens is not None:
            self._b.tokens = min(
                self._b.capacity, self._b.tokens + (now - self._b.stamp) * self._b.rate
            )
        self._b.stamp = now

    async def acquire(self) -> None:
        """Wait, if needed, until a request may go; then count it as in flight."""
        async with self._lock:
            while self._in_flight >= self._allowed():
                self._freed.clear()
                await self._freed.wait()
            self._refill()
            if self._b.tokens is not None and self._b.tokens < 1 and self._b.rate > 0:
                delay = (1 - self._b.tokens) / self._b.rate
                self.waits.seconds += delay
                await self._sleep(delay)
                self._refill()
            if self._b.tokens is not None:
                self._b.tokens -= 1
            self._in_flight += 1

    def _allowed(self) -> int:
        """How many requests may be in flight now: the window, and before the first
        answer no more than ``FIRST_BURST``."""
        allowed = max(1, math.floor(self._b.window))
        return allowed if self._b.answered else min(allowed, FIRST_BURST)

    def release(self) -> None:
        self._in_flight = max(0, self._in_flight - 1)
        self._freed.set()

    def observe(self, headers: Mapping[str, str]) -> None:
        """Take the server's word for the bucket, less what is still in flight. A bucket
        with a token to spare for each request in flight (or an answer that says nothing
        of one) widens the window by one request per window's worth of answers."""
        self._b.answered = True
        self._freed.set()
        try:
            limit = float(headers["anthropic-ratelimit-requests-limit"])
            remaining = float(headers["anthropic-ratelimit-requests-remaining"])
            reset = datetime.fromisoformat(headers["anthropic-ratelimit-requests-reset"])
        except (KeyError, ValueError):
            self._widen()
            return
        until_full = reset.timestamp() - self._wall()
        self._refill()
        self._b.capacity = limit
        if remaining >= limit or until_full <= 0:
            self._b.rate = max(self._b.rate, limit)  # full: at least a full bucket per second
        else:
            self._b.rate = (limit - remaining) / until_full
        self._b.tokens = remaining - self._in_flight  # those in flight may not be charged yet
        if remaining > self._in_flight:
            self._widen()

    def _widen(self) -> None:
        self._b.window = min(float(self._most), self._b.window + 1 / max(1.0, self._b.window))

    def hold(self, seconds: float) -> None:
        """A 429 said to wait: empty the estimate so every request waits that long, and
        halve the window."""
        self._refill()
        self._b.window = max(1.0, self._b.window / 2)
        if self._b.rate > 0:
            self._b.tokens = min(self._b.tokens or 0.0, 1 - seconds * self._b.rate)

    async def send(
        self,
        attempt: Callable[[], Awaitable[A]],
        *,
        patience: float,
        discard: Callable[[A], Awaitable[None]],
        backoff: float = 0.0,
        max_wait: float = 10.0,
    ) -> A:
        """``attempt`` paced; a 429 waited out and sent again while the waiting stays
        within ``patience`` seconds; past it, ``RateLimitOutlasted``. Each wait is the
        answer's ``retry-after``, or the ``backoff`` doubled with each 429 of this
        request (up to ``max_wait``) when that is longer: a retry-after of 0 is no
        reason to hammer. Any other answer is the caller's. The first 429 of the
        session is told (``progress``): one line, not one a request."""
        waited = 0.0
        refused = 0
        while True:
            await self.acquire()
            try:
                answer = await attempt()
            finally:
                self.release()
            self.observe(answer.headers)
            if answer.status_code != 429:
                return answer
            self.waits.refused += 1
            refused += 1
            doubled = min(max_wait, backoff * 2 ** (refused - 1))
            wait = max(retry_after(answer.headers) or 0.0, doubled) or 1.0
            if waited + wait > patience:
                raise RateLimitOutlasted(answer, waited)
            await discard(answer)
            waited += wait
            self.hold(wait)
            if self._progress is not None and self.waits.refused == 1:
                self._progress(
                    f"rate limited (429): waiting {wait:.1f} s, then sending again; requests "
                    "now wait their turn, and the report counts the waits"
                )
            if self._b.rate <= 0:  # no bucket to mirror: the answer's own wait
                self.waits.seconds += wait
                await self._sleep(wait)


def retry_after(headers: Mapping[str, str]) -> float | None:
    """The seconds an answer asks to wait: ``retry-after-ms`` (Anthropic's, which its
    SDK reads first), else ``retry-after`` in seconds; None when neither is a number."""
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        try:
            seconds = float(headers[name]) / scale
        except (KeyError, ValueError):
            continue
        if math.isfinite(seconds) and seconds >= 0:
            return seconds
    return None
