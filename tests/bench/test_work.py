"""The work check catches a change that doubles the work: a plan made to read live
state twice sends twice the requests, and a plan command made to do its whole work
twice makes about twice the calls, and an Admin session that stops pacing brings back
a storm of 429s; ``compare`` fails each against a baseline measured a moment before."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.cli import plan as plan_command
from reconciler.core.model import LiveState
from reconciler.net.pacing import Pacer
from reconciler.providers.company.session import CompanySession
from tests.bench.work import Sizes, compare, measure

SMALL = Sizes(projects=200, project_changes=20, people=40, member_changes=10, invites=30)


def company() -> dict[str, Any]:
    return measure(SMALL, ("company",))


def test_doubling_the_reads_of_a_plan_fails_the_work_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    baseline = company()
    over, _ = compare(company(), baseline)
    assert over == []  # the same code is within its own baseline

    read_once = CompanySession.read_live

    async def read_twice(self: CompanySession, desired: object = None) -> LiveState:
        await read_once(self)
        return await read_once(self)

    monkeypatch.setattr(CompanySession, "read_live", read_twice)
    doubled = company()
    over, _ = compare(doubled, baseline)
    sent, expected = doubled["company plan"]["requests"], baseline["company plan"]["requests"]
    assert sent > expected
    assert f"company plan: {sent} requests, the baseline has {expected}" in over


def test_doubling_the_work_of_a_plan_fails_the_work_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    baseline = company()
    plan_once = plan_command._plan_one

    def plan_twice(*args: Any, **kwargs: Any) -> Any:
        plan_once(*args, **kwargs)
        return plan_once(*args, **kwargs)

    monkeypatch.setattr(plan_command, "_plan_one", plan_twice)
    over, _ = compare(company(), baseline)
    assert any(line.startswith("company plan:") and "function calls" in line for line in over)


def test_bringing_back_a_storm_of_429s_fails_the_work_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The Admin session's pacer made to send at once and hand every 429 to the SDK's
    own backoff, as before it paced: the rate-limited apply's 429s fail the check."""
    baseline = measure(SMALL, ("admin",))
    paced = baseline["admin apply, rate limited"]
    assert paced["refused"] <= 0.05 * paced["requests"]

    async def unpaced(self: Pacer, attempt: Any, **_: Any) -> Any:
        return await attempt()

    monkeypatch.setattr(Pacer, "send", unpaced)
    stormy = measure(SMALL, ("admin",))
    over, _ = compare(stormy, baseline)
    refused = stormy["admin apply, rate limited"]["refused"]
    assert any(
        line.startswith(f"admin apply, rate limited: {refused} requests answered 429")
        for line in over
    ), over
