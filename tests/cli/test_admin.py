"""The installed ``reconciler`` command with ``provider: anthropic-admin`` against a
real sandbox process: the whole loop, saved plans, guards, export, and every
failure ending in one sentence with nothing half-done."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.sandbox import CONTROL_KEY, ORG_ADMIN_KEY, SandboxProcess, run_cli

pytestmark = pytest.mark.e2e

EXAMPLE = Path("reconciler/examples/anthropic-admin.yaml")

ORG = """\
version: 1
provider: anthropic-admin
users:
  ada@example.com: admin
  cleo@example.com: billing
  dev@example.com: developer
  grace@example.com: user
workspaces:
  Research:
    members:
      dev@example.com: workspace_developer
  Support:
    tags: {team: support}
    members:
      ben@example.com: workspace_user
"""


def env(sandbox: SandboxProcess, key: str = ORG_ADMIN_KEY) -> dict[str, str]:
    return {"ANTHROPIC_ADMIN_KEY": key, "RECONCILER_BASE_URL": sandbox.url}


def ids(sandbox: SandboxProcess) -> dict[str, str]:
    users = sandbox.admin_list("users")
    workspaces = sandbox.admin_list("workspaces")
    return {**{u["email"]: u["id"] for u in users}, **{w["name"]: w["id"] for w in workspaces}}


@pytest.fixture
def org(tmp_path: Path) -> Path:
    path = tmp_path / "org.yaml"
    path.write_text(ORG)
    return path


def test_the_demo_runs_plan_apply_plan_for_the_admin_api() -> None:
    result = run_cli("demo", "--provider", "anthropic-admin")
    assert result.exit_code == 0, result.output
    assert '+ workspace["Support Bots"] (create)' in result.stdout
    assert "Apply: 13 applied, 0 failed, 0 skipped." in result.stdout
    assert result.stdout.rstrip().splitlines()[-1].startswith("No changes:")


def test_plan_apply_plan_converges_and_invites_instead_of_adding(
    sandbox: SandboxProcess, org: Path
) -> None:
    plan = run_cli("plan", str(org), "--detailed-exitcode", env=env(sandbox))
    assert plan.exit_code == 2, plan.output
    assert '+ user["grace@example.com"] (invite)' in plan.stdout
    assert '+ member["Support"]["ben@example.com"] (create)' in plan.stdout
    applied = run_cli("apply", str(org), "--auto-approve", env=env(sandbox))
    assert applied.exit_code == 0, applied.output
    again = run_cli("plan", str(org), "--detailed-exitcode", env=env(sandbox))
    assert again.exit_code == 0, again.output
    invites = sandbox.admin_list("invites")
    assert {(i["email"], i["role"]) for i in invites if i["status"] == "pending"} >= {
        ("grace@example.com", "user")
    }
    support = ids(sandbox)["Support"]
    members = sandbox.admin_list(f"workspaces/{support}/members")
    assert [m["workspace_role"] for m in members] == ["workspace_user"]


def test_export_plans_to_no_changes(sandbox: SandboxProcess, tmp_path: Path) -> None:
    out = tmp_path / "exported.yaml"
    exported = run_cli(
        "export", "--provider", "anthropic-admin", "--out", str(out), env=env(sandbox)
    )
    assert exported.exit_code == 0, exported.output
    assert "provider: anthropic-admin" in out.read_text()
    plan = run_cli("plan", str(out), "--detailed-exitcode", env=env(sandbox))
    assert plan.exit_code == 0, plan.output
    assert "No changes" in plan.stdout


def test_a_saved_plan_is_refused_whole_when_a_planned_value_moved(
    sandbox: SandboxProcess, org: Path, tmp_path: Path
) -> None:
    saved = tmp_path / "plan.json"
    assert run_cli("plan", str(org), "--out", str(saved), env=env(sandbox)).exit_code == 0
    assert json.loads(saved.read_text())["provider"] == "anthropic-admin"
    found = ids(sandbox)
    sandbox.admin_call("POST", f"users/{found['dev@example.com']}", json={"role": "billing"})
    before = len(sandbox.requests())
    result = run_cli("apply", str(saved), "--auto-approve", env=env(sandbox))
    assert result.exit_code == 1
    assert "The saved plan is stale" in result.stderr
    assert 'user["dev@example.com"].role (planned from "user", now "billing")' in result.stderr
    assert not [r for r in sandbox.requests()[before:] if r["method"] != "GET"]


def test_pruning_past_the_guard_needs_force(sandbox: SandboxProcess, tmp_path: Path) -> None:
    path = tmp_path / "org.yaml"
    path.write_text(
        "version: 1\nprovider: anthropic-admin\nworkspaces:\n  Research:\n"
        "    members:\n      prune: true\n      ben@example.com: workspace_developer\n"
    )
    plan = run_cli("plan", str(path), env=env(sandbox))
    assert '- member["Research"]["dev@example.com"] (delete)' in plan.stdout
    assert "Apply refuses this plan without --force" in plan.stdout
    refused = run_cli("apply", str(path), "--auto-approve", env=env(sandbox))
    assert refused.exit_code == 1
    assert "removes 1 of 2 members of workspace" in refused.stderr
    assert "--force" in refused.stderr
    research = ids(sandbox)["Research"]
    assert len(sandbox.admin_list(f"workspaces/{research}/members")) == 2
    forced = run_cli("apply", str(path), "--auto-approve", "--force", env=env(sandbox))
    assert forced.exit_code == 0, forced.output
    assert len(sandbox.admin_list(f"workspaces/{research}/members")) == 1


def test_a_company_key_or_a_wrong_key_is_one_sentence_and_never_echoed(
    sandbox: SandboxProcess, org: Path
) -> None:
    wrong = run_cli("plan", str(org), env=env(sandbox, key="sk-ant-admin01-not-a-real-key"))
    assert wrong.exit_code == 1
    assert "The API did not accept the key in ANTHROPIC_ADMIN_KEY" in wrong.stderr
    assert "sk-ant-admin01-not-a-real-key" not in wrong.output
    company = run_cli("--debug", "plan", str(org), env=env(sandbox, key="sk-sandbox-admin"))
    assert company.exit_code == 1
    assert "needs the scope organization:admin" in company.stderr
    assert "sk-sandbox-admin" not in company.output
    missing = run_cli("plan", str(org), env={"RECONCILER_BASE_URL": sandbox.url})
    assert missing.exit_code == 1
    assert "set ANTHROPIC_ADMIN_KEY" in missing.stderr


def test_a_dead_server_is_one_sentence(org: Path) -> None:
    result = run_cli(
        "--timeout",
        "1",
        "plan",
        str(org),
        "--base-url",
        "http://127.0.0.1:9",
        env={"ANTHROPIC_ADMIN_KEY": ORG_ADMIN_KEY},
    )
    assert result.exit_code == 1
    assert "Nothing is listening at http://127.0.0.1:9 (from --base-url)" in result.stderr
    assert "Traceback" not in result.output


def test_faults_and_lost_answers_do_not_duplicate_creates(
    sandbox: SandboxProcess, org: Path
) -> None:
    settings = {
        "fault_rate": 0.35,
        "fault_seed": 7,
        "fault_retry_after": 0,
        "fault_retry_after_ms": 1,
        "fault_kinds": ["500", "529", "429", "drop", "drop-after-write"],
    }
    assert sandbox.control("PATCH", "settings", json=settings).status_code == 200
    for _ in range(8):
        if run_cli("apply", str(org), "--auto-approve", env=env(sandbox)).exit_code == 0:
            break
    sandbox.control("PATCH", "settings", json={"fault_rate": 0.0})
    assert run_cli("plan", str(org), "--detailed-exitcode", env=env(sandbox)).exit_code == 0
    names = [w["name"] for w in sandbox.admin_list("workspaces")]
    assert sorted(names) == ["Research", "Support"]
    pending = [i["email"] for i in sandbox.admin_list("invites") if i["status"] == "pending"]
    assert len(pending) == len(set(pending))
    assert any(r["fault"] for r in sandbox.requests())


def test_a_hostile_admin_file_is_refused_with_positions(tmp_path: Path) -> None:
    path = tmp_path / "org.yaml"
    path.write_text(
        "version: 1\nprovider: anthropic-admin\nusers:\n  ada@example.com: admin\n"
        "  not-an-email: user\nworkspaces:\n  R:\n    members:\n      x@y.io: owner\n"
    )
    result = run_cli("validate", str(path))
    assert result.exit_code == 1
    assert "2 problems" in result.stderr  # ada listed as admin is a check, not a problem
    assert f"{path}:5:3: users.not-an-email: 'not-an-email' is not an email address" in (
        result.stderr
    )
    assert f'{path}:9:15: workspaces.R.members.x@y.io: "owner" is not one of' in result.stderr


def test_the_control_key_is_not_an_admin_key(sandbox: SandboxProcess, org: Path) -> None:
    result = run_cli("plan", str(org), env=env(sandbox, key=CONTROL_KEY))
    assert result.exit_code == 1
    assert "organization:admin" in result.stderr


def test_archiving_a_workspace_is_applied_verified_and_then_no_change(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    path = tmp_path / "org.yaml"
    path.write_text(
        "version: 1\nprovider: anthropic-admin\nworkspaces:\n  Research:\n    archived: true\n"
    )
    plan = run_cli("plan", str(path), env=env(sandbox))
    assert '- workspace["Research"] (archive)' in plan.stdout
    assert "archiving cannot be undone" in plan.stdout
    applied = run_cli("apply", str(path), "--auto-approve", env=env(sandbox))
    assert applied.exit_code == 0, applied.output
    assert '✓ workspace["Research"]: applied' in applied.stdout
    assert "Research" not in [w["name"] for w in sandbox.admin_list("workspaces")]
    again = run_cli("plan", str(path), "--detailed-exitcode", env=env(sandbox))
    assert again.exit_code == 0, again.output
