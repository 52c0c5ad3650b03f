"""The Admin session in process: the connection's transport (httpx's ASGI transport
over the sandbox app) carried under the SDK's client, so a plan and an apply of the
Admin API run with no server process, through the SDK's strict validation."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from reconciler.core.errors import ReconcilerError
from reconciler.core.model import Outcome
from reconciler.desired import document
from reconciler.engine import flows
from reconciler.net.connection import Connection, RetryPolicy
from reconciler.sandbox.store import Store
from tests.support.sandbox import ORG_ADMIN_KEY, ROOT

EXAMPLE = ROOT / "reconciler" / "examples" / "anthropic-admin.yaml"


def in_process(transport: httpx.AsyncBaseTransport, key: str = ORG_ADMIN_KEY) -> Connection:
    return Connection(
        # A port nothing listens on: every request must go through the transport.
        "http://127.0.0.1:9",
        key,
        "ANTHROPIC_ADMIN_KEY",
        provider="anthropic-admin",
        retry=RetryPolicy(attempts=1),
        transport=transport,
    )


def test_an_admin_file_is_planned_and_applied_through_the_connections_transport(
    store: Store, asgi_transport: httpx.ASGITransport
) -> None:
    desired = document.load(Path(EXAMPLE))
    connection = in_process(asgi_transport)

    async def plan_apply_plan() -> None:
        planned = await flows.plan_file(desired, connection)
        assert not planned.is_empty
        report = await flows.apply(planned, connection)
        assert {r.outcome for r in report.results} == {Outcome.APPLIED}
        assert (await flows.plan_file(desired, connection)).is_empty

    asyncio.run(plan_apply_plan())
    wanted = {u["email"]: u["role"] for u in store.admin.users()}
    assert wanted["ada@example.com"] == "admin"
    assert "Support Bots" in {
        w["name"] for w in store.admin.workspaces(include_archived=False, include_default=False)
    }


def test_a_refused_key_is_the_sdks_401_turned_into_one_sentence(
    asgi_transport: httpx.ASGITransport,
) -> None:
    desired = document.load(Path(EXAMPLE))
    connection = in_process(asgi_transport, key="sk-ant-admin01-wrong")
    with pytest.raises(ReconcilerError) as refused:
        asyncio.run(flows.plan_file(desired, connection))
    assert "did not accept the key in ANTHROPIC_ADMIN_KEY" in refused.value.message
