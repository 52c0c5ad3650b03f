"""The operations a command performs, in process against the sandbox app: a saved
plan is verified against its file and live state before anything is written (its
host, its provider, its values; guards and warnings recomputed), an undo plan by
its signature, and ``check_safe`` holds ``--max-changes`` and the guards."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import httpx
import pytest

from reconciler.core.errors import PlanFileError, UnsafePlanError
from reconciler.core.model import Action, DesiredState, FieldChange, Plan, ResourceChange
from reconciler.engine import flows, planfile
from reconciler.net.connection import Connection, RetryPolicy

from .sandbox import ADMIN_KEY

OPERATOR = "http://127.0.0.1:9"


class Counting(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner, self.sent = inner, 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent += 1
        return await self.inner.handle_async_request(request)


@pytest.fixture
def counting(asgi_transport: httpx.ASGITransport) -> Counting:
    return Counting(asgi_transport)


def connect(transport: httpx.AsyncBaseTransport) -> Connection:
    return Connection(
        OPERATOR, ADMIN_KEY, "CLAUDE_API_KEY", retry=RetryPolicy(attempts=1), transport=transport
    )


FILE = DesiredState(
    "org.yaml",
    "0" * 64,
    {"company": {"billing_email": "f@example.org"}, "project.proj_2": {"name": "R"}},
)


def saved_plan(counting: Counting) -> Plan:
    return asyncio.run(flows.plan_file(FILE, connect(counting)))


def test_a_plan_made_against_another_host_is_refused_before_any_request(
    counting: Counting,
) -> None:
    plan = replace(saved_plan(counting), api={"base_url": "https://attacker.example"})
    before = counting.sent
    with pytest.raises(PlanFileError, match=r"made against https://attacker\.example"):
        asyncio.run(flows.verified_saved(plan, FILE, connect(counting)))
    assert counting.sent == before


def test_a_plan_for_another_provider_is_refused(counting: Counting) -> None:
    plan = replace(saved_plan(counting), provider="anthropic-admin")
    with pytest.raises(PlanFileError, match="is for the anthropic-admin provider"):
        asyncio.run(flows.verified_saved(plan, FILE, connect(counting)))


def test_warnings_and_guards_come_from_the_provider_never_the_plan(counting: Counting) -> None:
    plan = replace(saved_plan(counting), warnings=("all is fine",), guards=("x",))
    checked = asyncio.run(flows.verified_saved(plan, FILE, connect(counting)))
    assert "all is fine" not in checked.warnings
    assert any("billing email domain changes" in w for w in checked.warnings)
    assert checked.guards == ()


def test_a_subset_of_the_plan_applies_and_nothing_more(counting: Counting) -> None:
    plan = saved_plan(counting)
    subset = replace(plan, resources=plan.resources[:1])
    checked = asyncio.run(flows.verified_saved(subset, FILE, connect(counting)))
    assert [r.address for r in checked.resources] == [plan.resources[0].address]


def test_a_value_the_file_does_not_ask_for_is_refused(counting: Counting) -> None:
    plan = saved_plan(counting)
    company = plan.resources[0]
    evil = replace(company, changes={"billing_email": FieldChange("billing@example.com", "e@x")})
    with pytest.raises(PlanFileError, match="company is not what the file asks for"):
        asyncio.run(flows.verified_saved(replace(plan, resources=(evil,)), FILE, connect(counting)))


def test_an_unsigned_undo_plan_is_refused_before_any_request(counting: Counting) -> None:
    plan = replace(saved_plan(counting), api={"base_url": OPERATOR})
    before = counting.sent
    with pytest.raises(PlanFileError, match="not the one apply wrote"):
        asyncio.run(flows.verified_undo(planfile.SavedPlan(plan, kind="undo"), connect(counting)))
    assert counting.sent == before


def change(address: str) -> ResourceChange:
    return ResourceChange(address, Action.UPDATE, None, {"name": FieldChange("a", "b")})


def test_max_changes_and_guards_refuse_before_any_write() -> None:
    one = Plan(resources=(change("project.proj_1"),))
    with pytest.raises(UnsafePlanError, match="changes 1 resource, more than --max-changes 0"):
        flows.check_safe(one, max_changes=0)
    two = Plan(resources=(change("project.proj_1"), change("project.proj_2")))
    with pytest.raises(UnsafePlanError, match="changes 2 resources, more than"):
        flows.check_safe(two, max_changes=1)
    flows.check_safe(two, max_changes=2)
    guarded = replace(one, guards=("removes an organization admin",))
    with pytest.raises(UnsafePlanError, match="removes an organization admin"):
        flows.check_safe(guarded, max_changes=None)
    flows.check_safe(guarded, max_changes=None, force=True)
