"""Apply through the client against the sandbox app in-process (httpx.ASGITransport)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from reconciler.core.model import DesiredState, Outcome
from reconciler.engine import flows
from reconciler.net.connection import Connection, RetryPolicy
from reconciler.sandbox.conditions import Conditions
from reconciler.sandbox.store import Store
from tests.support.sandbox import ADMIN_KEY, READER_KEY


def connection(transport: httpx.ASGITransport, key: str = ADMIN_KEY) -> Connection:
    return Connection(
        "http://127.0.0.1:9",
        key,
        "CLAUDE_API_KEY",
        retry=RetryPolicy(backoff=0.001, max_wait=0.01),
        transport=transport,
    )


def wanted(**resources: dict[str, Any]) -> DesiredState:
    return DesiredState(
        "org.yaml", "0" * 64, {k.replace("__", "."): v for k, v in resources.items()}
    )


def plan_and_apply(conn: Connection, desired: DesiredState) -> Any:
    async def go() -> Any:
        plan = await flows.plan_file(desired, conn)
        return plan, await flows.apply(plan, conn)

    return asyncio.run(go())


def test_apply_converges_and_a_second_plan_is_empty(
    asgi_transport: httpx.ASGITransport, store: Store
) -> None:
    conn = connection(asgi_transport)
    desired = wanted(
        company={"usage_limit": 5_000_000, "billing_email": "f@example.com"},
        project__proj_1={"usage_limit": 10},
        project__proj_3={"billing_email": None},
    )
    plan, report = plan_and_apply(conn, desired)
    assert plan.to_change == 3
    assert report.ok
    assert store.company()["usage_limit"] == 5_000_000
    assert store.project("proj_3")["billing_email"] is None
    assert store.project("proj_3")["name"] == "Support Bot"  # unmanaged field untouched
    assert asyncio.run(flows.plan_file(desired, conn)).is_empty


def test_an_edit_between_plan_and_apply_is_never_overwritten(
    asgi_transport: httpx.ASGITransport, store: Store
) -> None:
    conn = connection(asgi_transport)
    desired = wanted(project__proj_1={"name": "Ours"}, project__proj_2={"name": "Also ours"})
    plan = asyncio.run(flows.plan_file(desired, conn))
    store.update_project("proj_1", {"description": "someone else"}, None)
    report = asyncio.run(flows.apply(plan, conn))
    outcomes = {r.address: (r.outcome, r.reason) for r in report.results}
    outcome, reason = outcomes["project.proj_1"]
    assert outcome is Outcome.FAILED
    assert (reason or "").startswith("changed since plan; run plan again")
    assert outcomes["project.proj_2"] == (Outcome.APPLIED, None)
    assert store.project("proj_1")["name"] == "Search"
    assert store.project("proj_1")["description"] == "someone else"


def test_a_read_only_key_fails_the_first_write_and_skips_the_rest(
    asgi_transport: httpx.ASGITransport, store: Store
) -> None:
    conn = connection(asgi_transport, READER_KEY)
    desired = wanted(**{f"project__proj_{i}": {"description": "x"} for i in (1, 2, 3)})
    plan = asyncio.run(flows.plan_file(desired, conn))
    report = asyncio.run(
        flows.apply(
            plan,
            Connection(
                conn.base_url, READER_KEY, "CLAUDE_API_KEY", concurrency=1, transport=asgi_transport
            ),
        )
    )
    assert [r.outcome for r in report.results] == [Outcome.FAILED, Outcome.SKIPPED, Outcome.SKIPPED]
    assert "organization:write" in (report.results[0].reason or "")
    assert all(store.project(f"proj_{i}")["description"] != "x" for i in (1, 2, 3))


def test_apply_rides_out_injected_faults(
    asgi_transport: httpx.ASGITransport, store: Store, conditions: Conditions
) -> None:
    conditions.update(
        {
            "fault_rate": 0.4,
            "fault_seed": 3,
            "fault_kinds": ["500", "529", "429"],
            "fault_retry_after": 0,
        }
    )
    conn = connection(asgi_transport)
    desired = wanted(company={"name": "Faulty but fine"}, project__proj_2={"usage_limit": 7})
    _, report = plan_and_apply(conn, desired)
    assert report.ok, report.results
    assert store.company()["name"] == "Faulty but fine"


def test_a_stop_request_skips_what_has_not_started(
    asgi_transport: httpx.ASGITransport, store: Store
) -> None:
    conn = connection(asgi_transport)
    desired = wanted(project__proj_1={"name": "a"}, project__proj_2={"name": "b"})

    async def go() -> Any:
        plan = await flows.plan_file(desired, conn)
        stop = asyncio.Event()
        stop.set()
        return await flows.apply(plan, conn, stop=stop)

    report = asyncio.run(go())
    assert {r.outcome for r in report.results} == {Outcome.SKIPPED}
    assert store.project("proj_1")["name"] == "Search"
