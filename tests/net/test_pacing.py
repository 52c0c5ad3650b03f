"""The pacer mirrors the server's bucket from its headers, on a fake clock: it waits
for tokens, keeps fewer requests in flight after a 429, and waits 429s out within a
request's patience."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from reconciler.net.pacing import FIRST_BURST, Pacer, RateLimitOutlasted, retry_after


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


class Answered:
    """An answer as ``Pacer.send`` reads it."""

    def __init__(self, status_code: int, **headers: str) -> None:
        self.status_code = status_code
        self.headers = headers
        self.closed = False


async def closed(answer: Answered) -> None:
    answer.closed = True


def test_until_the_first_answer_a_small_burst_goes_at_once() -> None:
    pacer = Pacer(concurrency=8)
    most = 0

    async def request(answer: bool) -> None:
        nonlocal most
        await pacer.acquire()
        most = max(most, pacer._in_flight)
        await asyncio.sleep(0)
        if answer:
            pacer.observe({})
        pacer.release()

    async def go() -> None:
        await asyncio.gather(*(request(False) for _ in range(12)))
        assert most == FIRST_BURST  # a dozen before the API said anything: 429s
        await request(True)
        await asyncio.gather(*(request(True) for _ in range(8)))

    asyncio.run(go())
    assert most > FIRST_BURST  # once it has answered, the window is the concurrency


def test_a_429_halves_the_window_and_answers_with_tokens_to_spare_grow_it_back() -> None:
    clock = Clock()
    pacer = Pacer(concurrency=8, clock=clock, sleep=clock.sleep, wall=clock)
    pacer.observe(headers(10, 9, 0.1, clock.now))
    pacer.hold(1.0)
    assert pacer.window == 4.0
    pacer.hold(1.0)
    pacer.hold(1.0)
    pacer.hold(1.0)
    assert pacer.window == 1.0  # never below one request
    for _ in range(40):
        pacer.observe(headers(10, 9, 0.1, clock.now))
    assert pacer.window == 8.0  # grown back, never past the concurrency
    pacer.hold(1.0)
    pacer.observe(headers(10, 0, 1.0, clock.now))  # no token to spare: no growth
    assert pacer.window == 4.0


def test_send_waits_out_429s_and_counts_them_never_returning_one() -> None:
    clock = Clock()
    told: list[str] = []
    pacer = Pacer(clock=clock, sleep=clock.sleep, wall=clock, progress=told.append)
    answers = [Answered(429, **{"retry-after": "2"}), Answered(429, **{"retry-after-ms": "500"})]
    answers.append(Answered(200))
    sent = list(answers)

    async def attempt() -> Answered:
        return sent.pop(0)

    got = asyncio.run(pacer.send(attempt, patience=10, discard=closed))
    assert got is answers[2]
    assert [a.closed for a in answers] == [True, True, False]
    assert pacer.waits.refused == 2
    assert pacer.waits.seconds == 2.5  # retry-after-ms is read before retry-after
    assert len(told) == 1
    assert told[0].startswith("rate limited (429): waiting 2.0 s")


def test_past_its_patience_a_429_is_raised_with_the_time_waited() -> None:
    clock = Clock()
    pacer = Pacer(clock=clock, sleep=clock.sleep, wall=clock)

    async def attempt() -> Answered:
        return Answered(429, **{"retry-after": "3"})

    with pytest.raises(RateLimitOutlasted) as caught:
        asyncio.run(pacer.send(attempt, patience=7, discard=closed))
    assert caught.value.waited == 6.0
    assert pacer.waits.refused == 3
    assert caught.value.answer.status_code == 429


def test_retry_after_takes_milliseconds_first_and_refuses_what_is_no_wait() -> None:
    assert retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert retry_after({"retry-after": "4"}) == 4.0
    assert retry_after({"retry-after": "Wed, 21 Oct 2026 07:28:00 GMT"}) is None
    assert retry_after({"retry-after": "-1"}) is None
    assert retry_after({"retry-after-ms": "nan", "retry-after": "1"}) == 1.0
    assert retry_after({}) is None
