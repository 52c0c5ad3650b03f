"""Convergence under faults: random organizations and files, 30 % injected faults,
apply re-run until it succeeds; then the live state is exactly the file.

One real sandbox process serves every case (``/_sandbox/reset`` loads each
organization); the engine talks to it over loopback HTTP, so faults include real
dropped connections, before and after the server wrote. Retries are made fast
(tiny backoff, ``retry-after: 0``) but are the same code paths. The default run
does 200 seeded cases; ``pytest -m slow`` runs 2,000 more.
"""

from __future__ import annotations

import random

import pytest

from reconciler.net.connection import Connection
from tests.support import figures
from tests.support.harness import (
    FAST,
    check_converged,
    converge,
    desired_for,
    inject_faults,
    live_state,
    organization,
)
from tests.support.sandbox import ADMIN_KEY, SandboxProcess


def run_case(server: SandboxProcess, seed: int) -> None:
    rng = random.Random(seed)
    org = organization(rng)
    server.control("PATCH", "settings", json={"fault_rate": 0.0, "conflict_rate": 0.0})
    assert server.control("POST", "reset", json=org).status_code == 200
    before = live_state(server)
    desired = desired_for(rng, org)
    server.control("DELETE", "requests")
    inject_faults(server, 0.3, seed)
    connection = Connection(server.url, ADMIN_KEY, "CLAUDE_API_KEY", retry=FAST)
    runs, planned_addresses = converge(desired, connection, seed)
    figures.at_most("runs needed to converge (max)", runs)
    log = server.requests()
    server.control("PATCH", "settings", json={"fault_rate": 0.0})
    figures.add("convergence cases", 1)
    figures.add("requests sent under faults", len(log))
    figures.add("faults injected", sum(1 for r in log if r["fault"]))
    check_converged(seed, before, live_state(server), desired)
    patched = {
        "company" if r["path"].endswith("/company") else "project." + r["path"].rsplit("/", 1)[1]
        for r in log
        if r["method"] == "PATCH" and r["wrote"]
    }
    assert patched <= planned_addresses, f"case {seed}: wrote to {patched - planned_addresses}"
    figures.add("PATCHes to a resource not in the plan", len(patched - planned_addresses))


@pytest.mark.parametrize("seed", range(200))
def test_apply_converges_under_faults(server: SandboxProcess, seed: int) -> None:
    run_case(server, seed)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(1000, 3000))
def test_apply_converges_under_faults_slow(server: SandboxProcess, seed: int) -> None:
    run_case(server, seed)


def test_the_harness_would_notice_a_wrong_value(server: SandboxProcess) -> None:
    """The check above is real: after a converged case, an out-of-band change to one
    managed field makes the very comparison the cases run fail, naming the field."""
    rng = random.Random(7)
    org = organization(rng)
    server.control("PATCH", "settings", json={"fault_rate": 0.0, "conflict_rate": 0.0})
    assert server.control("POST", "reset", json=org).status_code == 200
    before = live_state(server)
    desired = desired_for(rng, org)
    connection = Connection(server.url, ADMIN_KEY, "CLAUDE_API_KEY", retry=FAST)
    converge(desired, connection, 7)
    check_converged(7, before, live_state(server), desired)  # converged: passes
    address, fields = next((a, f) for a, f in desired.resources.items() if f)
    field = next(iter(fields))
    path = "" if address == "company" else f"/projects/{address.split('.', 1)[1]}"
    other = {"usage_limit": 7, "billing_email": "x@tampered.example", "plan": "scale"}
    tampered = other.get(field, "Tampered")
    if fields[field] == tampered:
        tampered = "build" if field == "plan" else 8 if field == "usage_limit" else "y@t.example"
    answer = server.api("PATCH", path, json={field: tampered})
    assert answer.status_code == 200, answer.text
    with pytest.raises(AssertionError, match=f"{address}.{field} is"):
        check_converged(7, before, live_state(server), desired)
