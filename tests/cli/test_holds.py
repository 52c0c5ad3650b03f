"""Holds through the installed command against a real sandbox: an ended held value
plans its ``then``, a live one its ``value``, a warning comes days before the end, an
ended grant is removed live, ``plan --as-of`` looks ahead, a saved plan made before a
hold ended is refused, and ``adopt`` settles ended holds in the file."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.sandbox import ADMIN_KEY, ORG_ADMIN_KEY, SandboxProcess, run_cli

pytestmark = pytest.mark.e2e

TODAY = datetime.now(UTC).date()


def day(offset: int) -> str:
    return (TODAY + timedelta(days=offset)).isoformat()


def company_env(sandbox: SandboxProcess) -> dict[str, str]:
    return {"CLAUDE_API_KEY": ADMIN_KEY, "RECONCILER_BASE_URL": sandbox.url}


def held_file(tmp_path: Path) -> Path:
    org = tmp_path / "org.yaml"
    org.write_text(
        f"""\
version: 1
company:
  usage_limit: {{value: 5000000, until: {day(-1)}, then: 2000000}}   # launch week: over
  plan: {{value: scale, until: {day(3)}, then: team}}               # ends in a few days
projects:
  proj_2:
    usage_limit: {{value: 300000, until: {day(90)}, then: 100000}}  # the quarter
"""
    )
    return org


def test_held_values_plan_by_their_dates_and_warn_before_they_end(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    org = held_file(tmp_path)
    plan = run_cli("plan", str(org), env=company_env(sandbox))
    assert plan.exit_code == 0, plan.output
    text = plan.stdout
    assert "usage_limit: 1000000 → 2000000" in text
    assert f"# usage_limit (expired {day(-1)})" in text
    assert '"team" → "scale"' in text
    assert f'plan (until {day(3)}, then "team")' in text
    assert "usage_limit: 100000 → 300000" in text
    assert f'company.plan is held until {day(3)} (in 3 days); then it becomes "team"' in text
    ahead = run_cli(
        "plan", str(org), "--as-of", day(5), "--format", "json", env=company_env(sandbox)
    )
    assert ahead.exit_code == 0, ahead.output
    data = json.loads(ahead.stdout)
    company = next(r for r in data["resources"] if r["address"] == "company")
    assert "plan" not in company["changes"]  # by then it is "team" again, as live is
    assert data["warnings"][0].startswith(f"planned as of {day(5)}T00:00:00Z (--as-of)")
    refused = run_cli("plan", str(org), "--as-of", day(5), "--out", str(tmp_path / "p.json"))
    assert refused.exit_code == 1
    assert "--as-of is for review" in refused.stderr


def test_a_saved_plan_made_before_a_hold_ended_is_stale(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    org = held_file(tmp_path)
    saved = tmp_path / "plan.json"
    assert run_cli("plan", str(org), "--out", str(saved), env=company_env(sandbox)).exit_code == 0
    data = json.loads(saved.read_text())
    data["made_at"] = f"{day(-3)}T09:00:00Z"  # as if reviewed three days ago
    saved.write_text(json.dumps(data))
    sandbox.control("DELETE", "requests")
    result = run_cli("apply", str(saved), "--auto-approve", env=company_env(sandbox))
    assert result.exit_code == 1, result.output
    assert f"the hold on company.usage_limit (until {day(-1)}) ended after it was made" in (
        result.stderr
    )
    assert [r for r in sandbox.requests() if r["method"] == "PATCH"] == []


def test_an_ended_grant_is_removed_live_and_adopt_settles_the_file(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    env = {"ANTHROPIC_ADMIN_KEY": ORG_ADMIN_KEY, "RECONCILER_BASE_URL": sandbox.url}
    org = tmp_path / "admin.yaml"
    org.write_text(
        f"""\
version: 1
provider: anthropic-admin
workspaces:
  Research:
    members:
      ben@example.com: workspace_developer
      dev@example.com: {{role: workspace_user, until: {day(-2)}}}   # the contractor
"""
    )
    plan = run_cli("plan", str(org), env=env)
    assert plan.exit_code == 1, plan.output  # shown, and failed: apply needs --force
    assert '- member["Research"]["dev@example.com"] (delete)' in plan.stdout
    assert f"# (expired {day(-2)})" in plan.stdout
    guarded = run_cli("apply", str(org), "--auto-approve", env=env)  # 1 of 2: the guard counts it
    assert guarded.exit_code == 1
    assert 'removes 1 of 2 members of workspace "Research" (50%)' in guarded.stderr
    applied = run_cli("apply", str(org), "--auto-approve", "--force", env=env)
    assert applied.exit_code == 0, applied.output
    research = next(w["id"] for w in sandbox.admin_list("workspaces") if w["name"] == "Research")
    users = {u["id"]: u["email"] for u in sandbox.admin_list("users")}
    members = [users[m["user_id"]] for m in sandbox.admin_list(f"workspaces/{research}/members")]
    assert members == ["ben@example.com"]
    assert run_cli("plan", str(org), "--detailed-exitcode", env=env).exit_code == 0
    adopted = run_cli("adopt", str(org), env=env)
    assert adopted.exit_code == 0, adopted.output
    assert f"dev@example.com: held until {day(-2)}, which has passed" in adopted.stdout
    assert org.read_text() == (
        "version: 1\nprovider: anthropic-admin\nworkspaces:\n  Research:\n    members:\n"
        "      ben@example.com: workspace_developer\n"
    )
    assert run_cli("plan", str(org), "--detailed-exitcode", env=env).exit_code == 0


def test_today_is_a_date_not_a_moment() -> None:
    assert date.fromisoformat(day(0)) == TODAY
