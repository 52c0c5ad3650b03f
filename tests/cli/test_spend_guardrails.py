"""Spend guardrails in an Admin plan, through the CLI against a sandbox process whose
workspaces spend at a steady rate: a spend limit's line shows the month's spend and
where it is heading; a new limit below the spend, below the projection, or removed
warns; a rate limit lowered below the busiest minute warns; a plan that touches no
limit reads no report; an organization the reports are refused to plans anyway,
saying so in one line."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.sandbox import ORG_ADMIN_KEY, SandboxProcess, admin_seed, run_cli

pytestmark = pytest.mark.e2e
GROUP = "rlg_01VPTCmyiu5ZLsWkcxYG2pY8"  # the default table's first group


def reset(server: SandboxProcess, **admin: Any) -> None:
    research = {
        "name": "Research",
        "cost_per_day": "25000",  # $250 a day
        "requests_per_day": 1_440_000,  # 1,000 a minute
        "spend_limit": 2_000_000,
    }
    workspaces = [research, {"name": "Quiet", "spend_limit": 10_000}]
    seed = admin_seed(workspaces, spend_limits={"organization": 5_000_000}, **admin)
    assert server.control("POST", "reset", json=seed).status_code == 200
    assert server.control("DELETE", "requests").status_code == 204


def plan(server: SandboxProcess, tmp_path: Any, body: str, *args: str) -> Any:
    path = tmp_path / "admin.yaml"
    path.write_text(f"version: 1\nprovider: anthropic-admin\n{body}")
    env = {"ANTHROPIC_ADMIN_KEY": ORG_ADMIN_KEY, "RECONCILER_BASE_URL": server.url}
    return run_cli("plan", str(path), *args, env=env)


def report_requests(server: SandboxProcess) -> list[str]:
    log = server.control("GET", "requests").json()["data"]
    return [r["path"] for r in log if "/analytics/" in r["path"]]


def test_a_limit_below_the_months_spend_warns_that_requests_are_refused_at_once(
    server: SandboxProcess, tmp_path: Any
) -> None:
    reset(server)
    done = plan(server, tmp_path, "workspaces:\n  Research:\n    spend_limits: {monthly: 1000}\n")
    assert done.exit_code == 0, done.output
    assert "# $20,000.00 → $10.00 a month; spent $" in done.stdout
    assert ", heading for $" in done.stdout
    assert (
        "the new limit $10.00 is at or below this month's spend in workspace Research"
        in done.stdout
    )
    assert "requests in workspace Research would be refused at once" in done.stdout
    assert report_requests(server) == ["/v1/organizations/analytics/cost"]


def test_a_limit_below_the_projection_warns_when_requests_would_stop(
    server: SandboxProcess, tmp_path: Any
) -> None:
    reset(server)
    # Heading for $250 x the month's days (at least $7,000); $6,990 is under that but
    # over anything spent in the month's first 27 days.
    done = plan(server, tmp_path, "workspaces:\n  Research:\n    spend_limits: {monthly: 699000}\n")
    assert "the new limit $6,990.00 is below where this month is heading" in done.stdout
    assert "requests would be refused from about " in done.stdout


def test_removing_a_limit_warns_that_nothing_would_cap_the_workspace(
    server: SandboxProcess, tmp_path: Any
) -> None:
    reset(server)
    done = plan(server, tmp_path, "workspaces:\n  Research:\n    spend_limits: {monthly: null}\n")
    assert done.exit_code == 0, done.output
    assert "removes the spend limit of workspace Research, which has spent $" in done.stdout
    assert "nothing would cap it" in done.stdout


def test_a_raised_limit_shows_the_month_and_warns_of_nothing(
    server: SandboxProcess, tmp_path: Any
) -> None:
    reset(server)
    done = plan(
        server,
        tmp_path,
        "workspaces:\n  Quiet:\n    spend_limits: {monthly: 20000}\n",
        "--format",
        "json",
    )
    found = json.loads(done.stdout)
    assert found["warnings"] == []
    (change,) = found["resources"]
    about = found["about"][change["address"]]
    assert about == "$100.00 → $200.00 a month; spent $0.00 this month, heading for $0.00"


def test_a_rate_limit_below_the_busiest_minute_warns(server: SandboxProcess, tmp_path: Any) -> None:
    reset(server)
    body = (
        f"workspaces:\n  Research:\n    rate_limits:\n      {GROUP}: {{requests_per_minute: 500}}\n"
    )
    done = plan(server, tmp_path, body)
    assert done.exit_code == 0, done.output
    assert (
        "requests_per_minute 500 is below the busiest minute of workspace Research" in done.stdout
    )
    assert "(1,000, all models)" in done.stdout
    higher = plan(server, tmp_path, body.replace("500", "1500"))
    assert "busiest minute" not in higher.stdout


def test_a_plan_that_touches_no_limit_reads_no_report(
    server: SandboxProcess, tmp_path: Any
) -> None:
    reset(server)
    done = plan(server, tmp_path, "users:\n  ada@example.com: admin\n")
    assert done.exit_code == 0, done.output
    assert report_requests(server) == []


def test_reports_refused_to_the_organization_are_one_line_and_the_plan_goes_on(
    server: SandboxProcess, tmp_path: Any
) -> None:
    reset(server, hipaa_readiness=True)
    done = plan(server, tmp_path, "workspaces:\n  Research:\n    spend_limits: {monthly: 1000}\n")
    assert done.exit_code == 0, done.output
    said = [line for line in done.stdout.splitlines() if "could not be read" in line]
    assert len(said) == 1
    assert "HIPAA readiness" in said[0]
    assert '~ workspace_spend_limit["Research"]["monthly"]' in done.stdout
