"""The pacer mirrors the server's bucket from its headers, on a fake clock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from reconciler.net.pacing import Pacer


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


def headers(limit: int, remaining: int, full_in: float, wall: float) -> dict[str, str]:
    reset = datetime.fromtimestamp(wall, UTC) + timedelta(seconds=full_in)
    return {
        "anthropic-ratelimit-requests-limit": str(limit),
        "anthropic-ratelimit-requests-remaining": str(remaining),
        "anthropic-ratelimit-requests-reset": reset.isoformat(),
    }


def test_no_headers_no_waiting() -> None:
    clock = Clock()
    pacer = Pacer(clock=clock, sleep=clock.sleep, wall=clock)

    async def go() -> None:
        for _ in range(100):
            await pacer.acquire()
            pacer.release()

    asyncio.run(go())
    assert clock.waits == []


def test_an_empty_bucket_paces_requests_at_the_refill_rate() -> None:
    clock = Clock()
    pacer = Pacer(clock=clock, sleep=clock.sleep, wall=clock)
    # 10 per second: 10 used, full again in 1 s.
    pacer.observe(headers(10, 0, 1.0, clock.now))

    async def go() -> None:
        for _ in range(5):
            await pacer.acquire()
            pacer.release()

    asyncio.run(go())
    assert sum(clock.waits) == 0.5
    assert all(abs(w - 0.1) < 1e-9 for w in clock.waits)


def test_remaining_tokens_are_spent_before_waiting() -> None:
    clock = Clock()
    pacer = Pacer(clock=clock, sleep=clock.sleep, wall=clock)
    pacer.observe(headers(10, 3, 0.7, clock.now))

    async def go() -> None:
        for _ in range(3):
            await pacer.acquire()
            pacer.release()

    asyncio.run(go())
    assert clock.waits == []


def test_a_429_holds_every_request_for_its_retry_after() -> None:
    clock = Clock()
    pacer = Pacer(clock=clock, sleep=clock.sleep, wall=clock)
    pacer.observe(headers(10, 5, 0.5, clock.now))
    pacer.hold(2.0)

    async def go() -> None:
        await pacer.acquire()

    asyncio.run(go())
    assert abs(sum(clock.waits) - 2.0) < 1e-9
