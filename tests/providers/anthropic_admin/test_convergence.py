"""Convergence for the Admin API provider: random organizations and files, applied
through the official SDK while the sandbox injects 500s, 529s, 429s, dropped
connections and answers lost after the write. Re-running plan and apply always
reaches an empty plan, creates are never duplicated (one workspace per name, one
pending invite per email), pruning removes exactly what the file leaves out, and
spend limits and rate-limit overrides end as the file says."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from reconciler.core.model import DesiredState
from reconciler.engine import flows
from reconciler.net.connection import Connection
from reconciler.providers.anthropic_admin.proposals import resources
from tests.support import figures
from tests.support.harness import FAST, converge, inject_faults
from tests.support.sandbox import ORG_ADMIN_KEY, SEED_COMPANY, SandboxProcess

ORG_ROLES = ["user", "developer", "billing", "claude_code_user"]
CREATE_PATHS = ("/invites", "/workspaces", "/members")
WORKSPACE_ROLES = ["workspace_user", "workspace_developer", "workspace_admin"]
SONNET, BATCH = "rlg_01VPTCmyiu5ZLsWkcxYG2pY8", "rlg_01BaTcH5pQ8sRw2LmYc4XvNd"


def organization(rng: random.Random) -> dict[str, Any]:
    people = [f"p{n}@example.com" for n in range(rng.randint(3, 14))]
    users = [{"email": "owner@example.com", "role": "admin"}] + [
        {"email": e, "role": rng.choice(ORG_ROLES)} for e in people
    ]
    workspaces = [
        {
            "name": f"Team {n}",
            "tags": {"n": str(n)},
            "members": [
                {"email": e, "workspace_role": rng.choice(WORKSPACE_ROLES)}
                for e in rng.sample(people, rng.randint(0, len(people)))
            ],
            "spend_limit": rng.randrange(1000, 90000),
            "rate_limits": {SONNET: {"requests_per_minute": rng.randrange(10, 3000)}},
        }
        for n in range(rng.randint(1, 3))
    ]
    return {
        "company": SEED_COMPANY,
        "keys": [
            {"key": ORG_ADMIN_KEY, "scopes": ["organization:admin"]},
            {"key": "sk-sandbox-control", "scopes": ["sandbox:control"]},
        ],
        "admin": {
            "users": users,
            "invites": [{"email": f"inv{n}@example.com", "role": "user"} for n in range(2)],
            "workspaces": workspaces,
            "api_keys": [{"id": f"apikey_{n}", "name": f"key {n}"} for n in range(2)],
            "spend_limits": {"organization": 500000},
        },
    }


def limits_for(rng: random.Random) -> dict[str, Any]:
    """Spend limits (set, changed, or removed with null) and rate-limit overrides (set,
    changed, or cleared with null) for one workspace of a file."""
    return {
        "spend_limits": {"monthly": rng.choice([None, rng.randrange(0, 200000)])},
        "rate_limits": {
            SONNET: {
                "requests_per_minute": rng.choice([None, rng.randrange(1, 5000)]),
                "output_tokens_per_minute": rng.randrange(1000, 900000),
            },
            BATCH: {"requests_per_minute": rng.randrange(1, 100)},
        },
        "display_color": f"#{rng.randrange(0x1000000):06X}",
    }


def file_for(rng: random.Random, org: dict[str, Any]) -> dict[str, Any]:
    admin = org["admin"]
    people = [u["email"] for u in admin["users"] if u["role"] != "admin"]
    users: dict[str, Any] = {e: rng.choice(ORG_ROLES) for e in people if rng.random() < 0.7}
    users.update({f"inv{n}@example.com": rng.choice(ORG_ROLES) for n in range(2)})
    users.update({f"new{n}@example.com": "user" for n in range(rng.randint(0, 2))})
    workspaces: dict[str, Any] = {}
    for workspace in admin["workspaces"]:
        members: dict[str, Any] = {
            m["email"]: rng.choice(WORKSPACE_ROLES)
            for m in workspace["members"]
            if rng.random() < 0.8
        }
        if rng.random() < 0.4:
            members["prune"] = True
        workspaces[workspace["name"]] = {
            "tags": {"n": "x"},
            "members": members,
            **limits_for(rng),
        }
    workspaces["Fresh"] = {
        "data_residency": {"default_inference_geo": "us"},
        "members": dict.fromkeys(rng.sample(people, min(3, len(people))), "workspace_user"),
        **limits_for(rng),
    }
    return {
        "version": 1,
        "provider": "anthropic-admin",
        "spend_limits": {"monthly": rng.randrange(100000, 1000000)},
        "users": users,
        "workspaces": workspaces,
        "api_keys": {"apikey_0": {"name": "renamed", "status": rng.choice(["active", "inactive"])}},
    }


def admin_desired(data: dict[str, Any]) -> DesiredState:
    found, prune = resources(data)
    return DesiredState("admin.yaml", "0" * 64, found, provider="anthropic-admin", prune=prune)


def admin_connection(server: SandboxProcess) -> Connection:
    return Connection(
        server.url, ORG_ADMIN_KEY, "ANTHROPIC_ADMIN_KEY", retry=FAST, provider="anthropic-admin"
    )


@pytest.mark.parametrize("seed", range(8))
def test_admin_plans_converge_under_faults_without_duplicates(
    server: SandboxProcess, seed: int
) -> None:
    rng = random.Random(seed)
    org = organization(rng)
    server.control("PATCH", "settings", json={"fault_rate": 0.0, "conflict_rate": 0.0})
    assert server.control("POST", "reset", json=org).status_code == 200
    data = file_for(rng, org)
    desired = admin_desired(data)
    server.control("DELETE", "requests")
    inject_faults(server, 0.2, seed)
    connection = admin_connection(server)
    runs, _ = converge(desired, connection, seed, label="admin ")
    log = server.requests()
    server.control("PATCH", "settings", json={"fault_rate": 0.0})
    figures.at_most("admin runs needed to converge (max)", runs)
    figures.add("admin faults injected", sum(1 for r in log if r["fault"]))
    figures.add(
        "admin creates written whose answer was lost (then found, not sent again)",
        sum(
            1
            for r in log
            if r["fault"] == "drop-after-write"
            and r["wrote"]
            and r["method"] == "POST"
            and r["path"].endswith(CREATE_PATHS)
        ),
    )

    names = [w["name"] for w in server.admin_list("workspaces")]
    assert len(names) == len(set(names)), f"case {seed}: a workspace was created twice"
    pending = [i["email"] for i in server.admin_list("invites") if i["status"] == "pending"]
    assert len(pending) == len(set(pending)), f"case {seed}: an invite was sent twice"
    emails = {u["id"]: u["email"] for u in server.admin_list("users")}
    for workspace in server.admin_list("workspaces"):
        members = {
            emails[m["user_id"]]: m["workspace_role"]
            for m in server.admin_list(f"workspaces/{workspace['id']}/members")
        }
        wanted = {
            k: v
            for k, v in data["workspaces"][workspace["name"]]["members"].items()
            if k != "prune"
        }
        assert {e: members[e] for e in wanted if e in members} == {
            e: r for e, r in wanted.items() if e in members
        }
        if data["workspaces"][workspace["name"]]["members"].get("prune"):
            assert set(members) <= set(wanted), (
                f"case {seed}: prune left {set(members) - set(wanted)}"
            )
        spec = data["workspaces"][workspace["name"]]
        assert workspace["display_color"] == spec["display_color"]
        overrides = {
            (entry["group"]["id"], value["type"]): value["value"]
            for entry in server.admin_list(f"workspaces/{workspace['id']}/rate_limits")
            for value in entry["limits"]
        }
        assert overrides == {
            (group, kind): value
            for group, types in spec["rate_limits"].items()
            for kind, value in types.items()
            if value is not None
        }, f"case {seed}: rate limits of {workspace['name']}"
    spend = {
        s["scope"].get("workspace_id", s["scope"]["type"]): int(s["amount"])
        for s in server.admin_list("spend_limits")
        if s["scope"]["type"] != "usage_tier"
    }
    ids = {w["name"]: w["id"] for w in server.admin_list("workspaces")}
    assert spend == {
        "organization": data["spend_limits"]["monthly"],
        **{
            ids[name]: spec["spend_limits"]["monthly"]
            for name, spec in data["workspaces"].items()
            if spec["spend_limits"]["monthly"] is not None
        },
    }, f"case {seed}: spend limits"


def test_every_write_whose_answer_is_lost_is_applied_once(server: SandboxProcess) -> None:
    """Every POST and DELETE writes and then loses its answer: creates are found and
    not sent again, updates and removals are retried or found done, and the report
    says applied for each, honestly (the read-back agrees)."""
    org = organization(random.Random(99))
    server.control("PATCH", "settings", json={"fault_rate": 0.0})
    assert server.control("POST", "reset", json=org).status_code == 200
    people = [u["email"] for u in org["admin"]["users"] if u["role"] != "admin"]
    team = org["admin"]["workspaces"][0]
    data = {
        "version": 1,
        "provider": "anthropic-admin",
        "users": {people[0]: "billing", "brand.new@example.com": "developer"},
        "workspaces": {
            "Lost Answers": {
                "members": {people[1]: "workspace_user", people[2]: "workspace_admin"}
            },
            team["name"]: {"members": {"prune": True}},
        },
    }
    desired = admin_desired(data)
    connection = admin_connection(server)
    plan = asyncio.run(flows.plan_file(desired, connection))
    assert {str(r.action) for r in plan.resources} >= {"create", "update"}
    server.control("DELETE", "requests")
    server.control(
        "PATCH",
        "settings",
        json={
            "fault_rate": 1.0,
            "fault_kinds": ["drop-after-write"],
            "fault_methods": ["POST", "DELETE"],
        },
    )
    report = asyncio.run(flows.apply(plan, connection))
    log = server.requests()
    server.control("PATCH", "settings", json={"fault_rate": 0.0, "fault_methods": []})
    assert report.ok, [(r.address, r.reason) for r in report.results if r.reason]
    creates = [r for r in log if r["method"] == "POST" and r["path"].endswith("/workspaces")]
    invites = [r for r in log if r["method"] == "POST" and r["path"].endswith("/invites")]
    assert (len(creates), len(invites)) == (1, 1)  # each answer lost once, never re-sent
    assert all(r["fault"] == "drop-after-write" for r in log if r["method"] != "GET")
    assert asyncio.run(flows.plan_file(desired, connection)).is_empty
    figures.add("admin applies with every write's answer lost, reported applied", 1)
    figures.add(
        "admin creates written whose answer was lost (then found, not sent again)",
        sum(1 for r in log if r["method"] == "POST" and r["path"].endswith(CREATE_PATHS)),
    )


# Where each documented failure can be injected (the calls the SDK documents it for),
# and whether it is one reconciler rides out within a run (sent again, read, finished)
# or a refusal that fails its change until a re-run.
BASE = "/v1/organizations"
WITHIN_A_RUN = [
    ("workspace_created_incomplete", "POST", "/workspaces"),
    ("change_outcome_unknown", "POST", "/workspaces/*"),
    ("workspace_changed_concurrently", "POST", "/workspaces/*"),
    ("api_key_requester_unconfirmed", "DELETE", "/users/*"),
    ("api_key_requester_unconfirmed", "POST", "/api_keys/*"),
    ("concurrent_membership_change", "DELETE", "/users/*"),
]
REFUSED = [
    ("already_member", "POST", "/invites"),
    ("invite_already_exists", "POST", "/invites"),
    ("org_member_limit_exceeded", "POST", "/invites"),
    ("email_domain_not_allowed", "POST", "/invites"),
    ("workspace_member_limit_exceeded", "POST", "/workspaces/*/members"),
    ("org_api_key_limit_exceeded", "POST", "/api_keys/*"),
    ("cannot_remove_last_member", "DELETE", "/users/*"),
    ("workspace_policy_violation", "POST", "/workspaces"),
]
ON_HOLD = ("organization_on_hold", "GET", "/users")  # ends a plan: alone, or run 1 is lost


def documented_failures(rng: random.Random) -> list[dict[str, Any]]:
    """A random handful of documented failures: those ridden out within a run up to
    three times in a row, two refusals of different calls once each (a re-run then goes
    through); or an organization on hold, since it ends the plan before any other
    refusal could answer."""
    rules = [
        {"error_code": c, "method": m, "path": BASE + p, "times": rng.randint(1, 3)}
        for c, m, p in rng.sample(WITHIN_A_RUN, rng.randint(1, 3))
    ]
    # Refusals on distinct calls: two on one call would meet one change in two runs.
    by_call = {(m, p): (c, m, p) for c, m, p in rng.sample(REFUSED, len(REFUSED))}
    refused = [ON_HOLD] if rng.random() < 0.2 else rng.sample(list(by_call.values()), 2)
    rules += [{"error_code": c, "method": m, "path": BASE + p, "times": 1} for c, m, p in refused]
    rng.shuffle(rules)
    return rules


@pytest.mark.parametrize("seed", range(12))
def test_admin_converges_in_two_runs_under_documented_failures(
    server: SandboxProcess, seed: int
) -> None:
    """The Admin API's documented failures (partial effects included) at random, with
    the generic faults: no create sent twice, nothing the file asks for lost, and the
    plan empty after at most two runs of apply."""
    rng = random.Random(1000 + seed)
    org = organization(rng)
    server.control("PATCH", "settings", json={"fault_rate": 0.0, "admin_errors": []})
    assert server.control("POST", "reset", json=org).status_code == 200
    data = file_for(rng, org)
    data["users"] = {"prune": True, "owner@example.com": "admin", **data["users"]}
    for spec in data["workspaces"].values():  # no member the file removes from the org
        spec["members"] = {e: r for e, r in spec["members"].items() if e in data["users"]}
    desired = admin_desired(data)
    server.control("DELETE", "requests")
    rules = documented_failures(rng)
    assert server.control("PATCH", "settings", json={"admin_errors": rules}).status_code == 200
    inject_faults(server, 0.05, seed)
    runs, _ = converge(desired, admin_connection(server), seed, label="admin documented ")
    log = server.requests()
    server.control("PATCH", "settings", json={"fault_rate": 0.0, "admin_errors": []})
    left = server.control("GET", "settings").json()["admin_errors"]
    figures.add("admin documented failures injected", sum(r["times"] for r in rules))
    figures.add(
        "admin documented failures answered",
        sum(r["times"] for r in rules) - sum(r["times"] for r in left),
    )
    figures.at_most("admin runs to converge under documented failures (max)", runs - 1)
    assert runs - 1 <= 2, f"case {seed}: {runs - 1} applies to converge"
    workspace_creates = [
        r for r in log if r["method"] == "POST" and r["path"] == f"{BASE}/workspaces"
    ]
    names = [w["name"] for w in server.admin_list("workspaces")]
    assert len(names) == len(set(names)), f"case {seed}: a workspace was created twice"
    figures.add("admin workspaces created twice under documented failures", 0)
    assert sum(1 for r in workspace_creates if r["wrote"]) <= len(set(names))
    pending = [i["email"] for i in server.admin_list("invites") if i["status"] == "pending"]
    assert len(pending) == len(set(pending)), f"case {seed}: an invite was sent twice"
    emails = {u["email"] for u in server.admin_list("users")} | set(pending)
    wanted = {e for e in data["users"] if e != "prune"}
    assert emails == wanted, f"case {seed}: users {emails ^ wanted}"
    for workspace in server.admin_list("workspaces"):
        spec = data["workspaces"][workspace["name"]]
        assert workspace["display_color"] == spec["display_color"], f"case {seed}: lost"
        assert workspace["tags"].items() >= spec.get("tags", {}).items(), f"case {seed}: lost"
