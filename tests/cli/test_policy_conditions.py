"""Conditions see what the reviewer sees, through the installed CLI against a sandbox
process: an invite is ``change.verb == "invite"`` (and a rule comparing
``change.action`` with ``"invite"``, which never holds, is refused when the policy is
read); a rename by id cannot dodge a rule on an address (``change.live_address``,
``change.id``); a hold is judged at plan time as the change its end makes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.sandbox import ADMIN_KEY, ORG_ADMIN_KEY, SandboxProcess, run_cli
from tests.workflows.test_policy_in_ci import POLICY

pytestmark = pytest.mark.e2e


def admin_env(sandbox: SandboxProcess) -> dict[str, str]:
    return {"ANTHROPIC_ADMIN_KEY": ORG_ADMIN_KEY, "RECONCILER_BASE_URL": sandbox.url}


def written(tmp_path: Path, org: str, policy: str) -> tuple[str, str]:
    (tmp_path / "org.yaml").write_text(org)
    (tmp_path / "policy.yaml").write_text(policy)
    return str(tmp_path / "org.yaml"), str(tmp_path / "policy.yaml")


OUTSIDE_INVITES = """\
version: 1
rules:
  - name: outside-invites
    when: 'change.verb == "invite" && !change.name.endsWith("@example.com")'
    effect: deny
    message: Invite only people of example.com.
"""


def test_an_outside_invite_is_denied_by_the_rule_on_the_plans_verb(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    org, rules = written(
        tmp_path,
        "version: 1\nprovider: anthropic-admin\nusers:\n"
        "  eve@attacker.example: user\n  zoe@example.com: user\n",
        OUTSIDE_INVITES,
    )
    plan = run_cli("plan", org, "--policy", rules, env=admin_env(sandbox))
    assert plan.exit_code == 1
    assert 'outside-invites (on user["eve@attacker.example"])' in plan.stderr
    assert "zoe@example.com" not in plan.stderr
    apply = run_cli("apply", org, "--policy", rules, "--auto-approve", env=admin_env(sandbox))
    assert apply.exit_code == 1
    assert not any(r["method"] == "POST" for r in sandbox.requests())


def test_a_rule_comparing_the_action_with_a_word_it_never_is_is_refused_when_read(
    tmp_path: Path,
) -> None:
    _, rules = written(
        tmp_path, "version: 1\n", OUTSIDE_INVITES.replace("change.verb", "change.action")
    )
    done = run_cli("validate", "--policy", rules)
    assert done.exit_code == 1
    assert "policy.yaml:4:11: rules.0.when: change.action is never 'invite'" in done.stderr
    assert "the plan's word for it is change.verb == 'invite'" in done.stderr


def test_a_rename_by_id_does_not_dodge_a_rule_on_the_live_address(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    """The file renames Research to Research Labs by its id and raises its spend limit
    from $500 to $90,000 under the new name: the rule written on the old address sees
    it, and so does one on the workspace's id."""
    research = next(w["id"] for w in sandbox.admin_list("workspaces") if w["name"] == "Research")
    org, rules = written(
        tmp_path,
        "version: 1\nprovider: anthropic-admin\nworkspaces:\n"
        f"  Research Labs:\n    id: {research}\n    spend_limits:\n      monthly: 9000000\n",
        f"""\
version: 1
rules:
  - name: research-ceiling
    when: >-
      change.live_address == 'workspace_spend_limit["Research"]["monthly"]' &&
      "amount" in change.after && change.after.amount > 100000
    effect: require_approval
    owners: [finance-lead]
    message: Research spends $1,000 a month at most without finance.
  - name: research-renamed
    when: 'change.id == "{research}" && "name" in change.after'
    effect: require_approval
    owners: [platform-lead]
    message: Renaming Research needs the platform lead.
""",
    )
    plan = run_cli("plan", org, "--policy", rules, env=admin_env(sandbox))
    assert plan.exit_code == 0, plan.stderr
    assert "needs approval: research-ceiling" in plan.stdout
    assert 'on workspace_spend_limit["Research Labs"]["monthly"]' in plan.stdout
    assert "needs approval: research-renamed" in plan.stdout
    apply = run_cli("apply", org, "--policy", rules, "--auto-approve", env=admin_env(sandbox))
    assert apply.exit_code == 1
    assert "research-ceiling (owners: finance-lead)" in apply.stderr


def test_a_hold_is_judged_at_plan_time_as_the_change_its_end_makes(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    """The docs' own rule on ``change.after.usage_limit`` sees a hold whose ``then``
    raises the limit from 1M to 5M, on the pull request that writes it."""
    org, rules = written(
        tmp_path,
        "version: 1\ncompany:\n  usage_limit: {value: 1000000, until: 2099-01-31, then: 5000000}\n",
        POLICY,  # the policy-in-CI tests' rule, the docs' big-usage-limit
    )
    env = {"CLAUDE_API_KEY": ADMIN_KEY, "RECONCILER_BASE_URL": sandbox.url}
    plan = run_cli("plan", org, "--policy", rules, env=env)
    assert plan.exit_code == 0, plan.stderr
    assert "needs approval: big-usage-limit" in plan.stdout
    apply = run_cli("apply", org, "--policy", rules, "--auto-approve", env=env)
    assert apply.exit_code == 1
    assert "big-usage-limit (owners: finance-lead)" in apply.stderr
