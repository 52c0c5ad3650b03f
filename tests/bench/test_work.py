"""The work check catches a change that doubles the work: the company plan made to
read live state twice sends twice the requests and makes about twice the calls,
and ``compare`` fails it against a baseline measured a moment before."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.core.model import LiveState
from reconciler.providers.company.session import CompanySession
from tests.bench.work import Sizes, compare, measure

SMALL = Sizes(projects=200, project_changes=20, people=40, member_changes=10)


def test_doubling_the_reads_of_a_plan_fails_the_work_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    baseline = measure(SMALL, ("company",))
    over, _ = compare(measure(SMALL, ("company",)), baseline)
    assert over == []  # the same code is within its own baseline

    read_once = CompanySession.read_live

    async def read_twice(self: CompanySession) -> LiveState:
        await read_once(self)
        return await read_once(self)

    monkeypatch.setattr(CompanySession, "read_live", read_twice)
    doubled: dict[str, Any] = measure(SMALL, ("company",))
    over, _ = compare(doubled, baseline)
    plan_requests = baseline["company plan"]["requests"]
    assert (
        f"company plan: {doubled['company plan']['requests']} requests, the baseline has "
        f"{plan_requests}" in over
    )
    assert doubled["company plan"]["requests"] > plan_requests
    assert any(line.startswith("company plan:") and "function calls" in line for line in over)
