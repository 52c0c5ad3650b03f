"""A 1,000-member organization through the installed CLI: the plan reads it in a
handful of requests (lists of 1,000 a page, never a request per member), an apply
of 1,000 member changes converges, and the report accounts for every one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.support.sandbox import (
    ORG_ADMIN_KEY,
    SEED_COMPANY,
    SandboxProcess,
    run_cli,
    start_sandbox,
)

pytestmark = pytest.mark.e2e

MEMBERS = 1000


@pytest.fixture
def big_org(tmp_path: Path) -> Iterator[SandboxProcess]:
    people = [f"person{n:04d}@example.com" for n in range(MEMBERS)]
    seed = {
        "company": SEED_COMPANY,
        "keys": [
            {"key": ORG_ADMIN_KEY, "scopes": ["organization:admin"]},
            {"key": "sk-sandbox-control", "scopes": ["sandbox:control"]},
        ],
        "admin": {
            "users": [{"email": "owner@example.com", "role": "admin"}]
            + [{"email": e, "role": "user"} for e in people],
            "workspaces": [
                {
                    "name": "Everyone",
                    "members": [{"email": e, "workspace_role": "workspace_user"} for e in people],
                }
            ],
        },
    }
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(seed))
    running = start_sandbox(tmp_path / "big.db", "--seed", str(path))
    yield running
    running.stop()


def test_a_thousand_members_plan_in_a_few_requests_and_apply_whole(
    big_org: SandboxProcess, tmp_path: Path
) -> None:
    people = [f"person{n:04d}@example.com" for n in range(MEMBERS)]
    org = tmp_path / "org.yaml"
    org.write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "provider": "anthropic-admin",
                "users": {**dict.fromkeys(people, "user"), "owner@example.com": "admin"},
                "workspaces": {
                    "Everyone": {"members": dict.fromkeys(people, "workspace_developer")}
                },
            }
        )
    )
    env = {"ANTHROPIC_ADMIN_KEY": ORG_ADMIN_KEY, "RECONCILER_BASE_URL": big_org.url}
    big_org.control("DELETE", "requests")
    plan = run_cli("plan", str(org), "--format", "json", env=env)
    assert plan.exit_code == 0, plan.output
    assert json.loads(plan.stdout)["summary"]["update"] == MEMBERS
    # Users (1,001: two pages), invites, workspaces (with the Default, and without it: how
    # it is told), keys, the organization, its rate limits and spend limits, then the
    # workspace's members and overrides and the Default's overrides, and the webhooks
    # and telemetry destinations (a key reads no service accounts or federation): a
    # page each.
    assert len(big_org.requests()) <= 14

    report = tmp_path / "report.json"
    applied = run_cli("apply", str(org), "--auto-approve", "--report", str(report), env=env)
    assert applied.exit_code == 0, applied.output
    assert json.loads(report.read_text())["summary"]["applied"] == MEMBERS
    again = run_cli("plan", str(org), "--detailed-exitcode", env=env)
    assert again.exit_code == 0, again.output
