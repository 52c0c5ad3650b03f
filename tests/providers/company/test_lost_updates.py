"""No lost updates: someone else's edit, between plan and apply or during apply,
is never overwritten; the report names the resource; staleness is per resource."""

from __future__ import annotations

import asyncio
import random

import pytest

from reconciler.core.model import Outcome
from reconciler.engine import flows
from reconciler.net.connection import Connection
from tests.support import figures
from tests.support.harness import FAST, desired_for, live_state, organization
from tests.support.sandbox import ADMIN_KEY, SandboxProcess

MARKER = "Edited out of band #"


def edited_field(address: str) -> str:
    return "name" if address == "company" else "description"


@pytest.mark.parametrize("seed", range(60))
def test_edits_racing_the_apply_are_never_overwritten(server: SandboxProcess, seed: int) -> None:
    rng = random.Random(seed)
    org = organization(rng)
    server.control("PATCH", "settings", json={"fault_rate": 0.0, "conflict_rate": 0.0})
    server.control("POST", "reset", json=org)
    desired = desired_for(rng, org)
    connection = Connection(server.url, ADMIN_KEY, "CLAUDE_API_KEY", retry=FAST)
    plan = asyncio.run(flows.plan_file(desired, connection))
    server.control("DELETE", "requests")
    server.control(
        "PATCH",
        "settings",
        json={
            "conflict_rate": 0.25,
            "fault_rate": 0.3,
            "fault_seed": seed,
            "fault_retry_after": 0,
            "fault_kinds": ["500", "529", "429", "drop", "drop-after-write"],
        },
    )
    report = asyncio.run(flows.apply(plan, connection))
    server.control("PATCH", "settings", json={"fault_rate": 0.0, "conflict_rate": 0.0})
    log = server.requests()
    raced = {
        "company" if r["path"].endswith("/company") else "project." + r["path"].rsplit("/", 1)[1]
        for r in log
        if r["conflict"]
    }
    after = live_state(server)
    outcomes = {r.address: r for r in report.results}
    lost = [a for a in raced if not str(after[a][edited_field(a)]).startswith(MARKER)]
    figures.add("concurrent edits injected during apply", len(raced))
    figures.add("updates lost", len(lost))
    assert lost == [], f"case {seed}: someone else's edit was overwritten on {lost}"
    for address in raced:
        result = outcomes[address]
        if result.outcome is Outcome.APPLIED:
            # Our write landed first (its answer was lost, the retry met the edit):
            # both changes stand, ours and theirs.
            assert all(after[address][f] == c.after for f, c in result.changes.items())
            figures.add("raced resources whose own write had already landed")
        else:
            assert result.outcome is Outcome.FAILED
            reason = result.reason or ""
            # Either the 412 was seen, or every attempt failed first (seeded drops or
            # 5xx answers, 6 in a row): each says so, and none wrote over the edit.
            assert any(
                said in reason
                for said in ("changed since plan", "the network failed", "did not succeed after")
            ), reason
            figures.add("raced resources reported 'changed since plan'")
