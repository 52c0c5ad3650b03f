"""The convergence harness both suites share: random organizations and files for
the Company API, live state read straight from the sandbox, faults injected
through its control API, plan-and-apply until nothing is left as a user would
re-run, and the check that live is then exactly what the file asked for."""

from __future__ import annotations

import asyncio
import random
from typing import Any

from reconciler.core.errors import ApiError
from reconciler.core.model import DesiredState
from reconciler.engine import flows
from reconciler.net.connection import Connection, RetryPolicy
from tests.support import figures
from tests.support.sandbox import SandboxProcess

FIELDS = ("name", "description", "billing_email", "usage_limit")
MAX_RUNS = 8
FAST = RetryPolicy(backoff=0.001, max_wait=0.02, timeout=5)


def value(rng: random.Random, field: str) -> Any:
    if field == "name":
        return rng.choice(["Search", "Research", "Support", "Ops", "Ünïcode ✓"]) + str(
            rng.randint(0, 9)
        )
    if field == "description":
        return rng.choice(["", "x", "A longer description", "多言語"])
    if field == "billing_email":
        return rng.choice([None, "a@example.com", "b@example.org", "ml+x@example.com"])
    return rng.choice([None, 0, 1, 1000, 250000, 2**53 - 1])


def organization(rng: random.Random) -> dict[str, Any]:
    count = rng.randint(1, 200) if rng.random() < 0.2 else rng.randint(1, 30)
    projects = [
        {
            "id": f"proj_{n:04d}",
            "created_at": "2024-01-01T00:00:00Z",
            **{f: value(rng, f) for f in FIELDS},
        }
        for n in range(1, count + 1)
    ]
    company = {
        "id": "org_h",
        "name": "Harness",
        "billing_email": "billing@example.com",
        "plan": rng.choice(["build", "team", "scale", "enterprise"]),
        "usage_limit": rng.choice([None, 1000, 10**9]),
        "created_at": "2024-01-01T00:00:00Z",
    }
    return {"company": company, "projects": projects, "usage": {"tokens_used": 10, "api_calls": 1}}


def desired_for(rng: random.Random, org: dict[str, Any]) -> DesiredState:
    resources: dict[str, dict[str, Any]] = {}
    if rng.random() < 0.5:
        resources["company"] = {
            "name": value(rng, "name"),
            "plan": rng.choice(["build", "team", "scale", "enterprise"]),
        }
    for project in org["projects"]:
        if rng.random() < 0.6:
            managed = rng.sample(FIELDS, rng.randint(0, len(FIELDS)))
            resources[f"project.{project['id']}"] = {f: value(rng, f) for f in managed}
    return DesiredState("harness.yaml", "0" * 64, resources)


def live_state(server: SandboxProcess) -> dict[str, dict[str, Any]]:
    found = {"company": server.api("GET", "").json()}
    page = server.api("GET", "/projects", params={"limit": 1000}).json()
    found.update({f"project.{p['id']}": p for p in page["data"]})
    for item in found.values():
        item.pop("etag", None)
    return found


def inject_faults(server: SandboxProcess, rate: float, seed: int) -> None:
    """Every fault kind, drop-after-write included, at ``rate``, reproducible by ``seed``."""
    server.control(
        "PATCH",
        "settings",
        json={
            "fault_rate": rate,
            "fault_seed": seed,
            "fault_retry_after": 0,
            "fault_retry_after_ms": 1,
            "fault_kinds": ["500", "529", "429", "drop", "drop-after-write"],
        },
    )


def converge(
    desired: DesiredState, connection: Connection, seed: int, *, label: str = ""
) -> tuple[int, set[str]]:
    """Plan and apply until the plan is empty, as a user re-running after a failure
    would; the runs it took and every address any plan named."""
    planned: set[str] = set()
    runs = 0
    while True:
        runs += 1
        assert runs <= MAX_RUNS, f"case {seed} did not converge in {MAX_RUNS} runs"
        try:
            plan = asyncio.run(flows.plan_file(desired, connection))
            planned |= {r.address for r in plan.resources}
            if plan.is_empty:
                return runs, planned
            report = asyncio.run(flows.apply(plan, connection))
            figures.add(f"{label}apply runs")
            if not report.ok:
                figures.add(f"{label}apply runs with a failed resource (then re-run)")
        except ApiError:
            figures.add(f"{label}plan or apply runs ended by exhausted retries (then re-run)")


def check_converged(
    seed: int,
    before: dict[str, dict[str, Any]],
    after: dict[str, dict[str, Any]],
    desired: DesiredState,
) -> None:
    """Live after the runs is exactly the file over what was live before: every
    managed field holds the file's value, every other field its old one."""
    assert after.keys() == before.keys()
    for address, fields in after.items():
        wanted = desired.resources.get(address, {})
        for field, now in fields.items():
            expected = wanted.get(field, before[address][field])
            assert now == expected, f"case {seed}: {address}.{field} is {now!r}, not {expected!r}"
