"""A hold is a change to come, so a reviewer sees it: the attack of issue 27 was a pull
request turning users into holds whose values are what is live, ending in ten days.
``plan --compare-to`` said "None." and ``--detailed-exitcode`` exited 0; on the date the
nightly ``apply --only-ended-holds`` removed 60 % of the organization. Now every plan
lists every hold, the edit's hold changes are changes of the edit (exit 2), what ended
grants remove counts against the prune guard, and a hold ends by itself only when a
reviewed plan listed it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.sandbox import ORG_ADMIN_KEY, Run, SandboxProcess, run_cli

pytestmark = pytest.mark.e2e


def day(offset: int) -> str:
    return (datetime.now(UTC).date() + timedelta(days=offset)).isoformat()


BASE = """\
version: 1
provider: anthropic-admin
users:
  ada@example.com: admin
  ben@example.com: developer
  cleo@example.com: billing
  dev@example.com: user
  new.hire@example.com: developer
"""


def held(until: str) -> str:
    """The pull request: three of five entries held at their live roles until ``until``."""
    return (
        BASE.replace(
            "ben@example.com: developer", f"ben@example.com: {{role: developer, until: {until}}}"
        )
        .replace(
            "cleo@example.com: billing", f"cleo@example.com: {{role: billing, until: {until}}}"
        )
        .replace("dev@example.com: user", f"dev@example.com: {{role: user, until: {until}}}")
    )


@pytest.fixture
def env(sandbox: SandboxProcess) -> dict[str, str]:
    return {"ANTHROPIC_ADMIN_KEY": ORG_ADMIN_KEY, "RECONCILER_BASE_URL": sandbox.url}


def apply_ended_holds(org: Path, reviewed: Path, env: dict[str, str]) -> Run:
    """The nightly job's apply: only what ended holds the reviewed plan listed change."""
    return run_cli(
        "apply",
        str(org),
        "--only-ended-holds",
        "--reviewed-plan",
        str(reviewed),
        "--auto-approve",
        "--force",
        env=env,
    )


def users(sandbox: SandboxProcess) -> list[str]:
    return sorted(u["email"] for u in sandbox.admin_list("users"))


def test_holds_that_change_nothing_now_are_the_edit_a_reviewer_sees(
    env: dict[str, str], tmp_path: Path
) -> None:
    base, org = tmp_path / "base.yaml", tmp_path / "org.yaml"
    base.write_text(BASE)
    org.write_text(held(day(10)))
    plan = run_cli("plan", str(org), "--compare-to", str(base), "--detailed-exitcode", env=env)
    assert plan.exit_code == 2, plan.output
    text = plan.stdout
    assert (
        f'+ users.ben@example.com: "developer" until {day(10)}, then removed (hold added)' in text
    )
    assert "Holds this edit adds, changes or removes (3):" in text
    assert "No changes now; 3 holds edited, each a change when it ends." in text
    comment = run_cli("plan", str(org), "--compare-to", str(base), "--format", "markdown", env=env)
    assert f'users.dev@example.com: "user" until {day(10)}, then removed (hold added)' in (
        comment.stdout
    )
    data = json.loads(
        run_cli("plan", str(org), "--compare-to", str(base), "--format", "json", env=env).stdout
    )
    assert [(h["path"], h["edit"]) for h in data["sections"]["holds"]] == [
        ("users.ben@example.com", "added"),
        ("users.cleo@example.com", "added"),
        ("users.dev@example.com", "added"),
    ]
    # Extending a hold is an edit too; the same file against itself is not.
    base.write_text(held(day(10)))
    org.write_text(held(day(40)))
    extended = run_cli("plan", str(org), "--compare-to", str(base), "--detailed-exitcode", env=env)
    assert extended.exit_code == 2
    assert "(hold extended)" in extended.stdout
    same = run_cli("plan", str(base), "--compare-to", str(base), "--detailed-exitcode", env=env)
    assert same.exit_code == 0, same.output


def test_every_plan_lists_every_hold_far_off_or_not(env: dict[str, str], tmp_path: Path) -> None:
    org = tmp_path / "org.yaml"
    org.write_text(held(day(300)))
    plan = run_cli("plan", str(org), "--format", "json", env=env)
    assert plan.exit_code == 0, plan.output
    data = json.loads(plan.stdout)
    assert data["resources"] == []  # nothing changes now, and no warning (300 days off)
    assert [(h["path"], h["until"], h["effect"]) for h in data["holds"]] == [
        (f"users.{who}@example.com", day(300), "then removed") for who in ("ben", "cleo", "dev")
    ]
    text = run_cli("plan", str(org), env=env).stdout
    assert "Holds in the file (3), each a change when it ends:" in text


def test_what_ended_grants_remove_counts_against_the_prune_guard(
    sandbox: SandboxProcess, env: dict[str, str], tmp_path: Path
) -> None:
    org = tmp_path / "org.yaml"
    org.write_text(held(day(-1)))
    plan = run_cli("plan", str(org), env=env)
    assert "removes 3 of 5 users and invites (60%), more than 25%" in plan.stdout
    refused = run_cli("apply", str(org), "--auto-approve", env=env)
    assert refused.exit_code == 1
    assert "--force" in refused.stderr
    assert users(sandbox) == [
        "ada@example.com",
        "ben@example.com",
        "cleo@example.com",
        "dev@example.com",
    ]


def test_only_holds_a_reviewed_plan_listed_end_by_themselves(
    sandbox: SandboxProcess, env: dict[str, str], tmp_path: Path
) -> None:
    org, reviewed = tmp_path / "org.yaml", tmp_path / "reviewed.json"
    org.write_text(BASE)
    assert run_cli("plan", str(org), "--out", str(reviewed), env=env).exit_code == 0
    # Pushed without review: dev's grant ended yesterday; the reviewed plan has no hold.
    org.write_text(
        BASE.replace("dev@example.com: user", f"dev@example.com: {{role: user, until: {day(-1)}}}")
    )
    alone = run_cli("apply", str(org), "--only-ended-holds", "--auto-approve", env=env)
    assert alone.exit_code == 1
    assert "--only-ended-holds and --reviewed-plan go together" in alone.stderr
    unseen = apply_ended_holds(org, reviewed, env)
    assert unseen.exit_code == 0, unseen.output
    assert f"does not list the hold on users.dev@example.com (until {day(-1)})" in unseen.stdout
    assert "dev@example.com" in users(sandbox)
    # Reviewed with the hold as it is (the pull request's plan), it ends by itself.
    assert run_cli("plan", str(org), "--out", str(reviewed), env=env).exit_code == 0
    ended = apply_ended_holds(org, reviewed, env)
    assert ended.exit_code == 0, ended.output
    assert "dev@example.com" not in users(sandbox)
