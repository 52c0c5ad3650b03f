"""The work check catches a change that doubles the work: a plan made to read live
state twice sends twice the requests, and a plan command made to do its whole work
twice makes about twice the calls; ``compare`` fails each against a baseline measured
a moment before."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.cli import plan as plan_command
from reconciler.core.model import LiveState
from reconciler.providers.company.session import CompanySession
from tests.bench.work import Sizes, compare, measure

SMALL = Sizes(projects=200, project_changes=20, people=40, member_changes=10)


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
