"""Policy with owners, through the CLI against a sandbox process: a ``deny`` rule fails
``plan`` after showing it and ``apply`` sends no write; a ``require_approval`` rule
stops ``apply`` with no write until ``--approved-by`` names an owner (directly, or
through a team in ``--team-members``), then applies, the report saying who waived it;
a CEL error is reported at its line before any request; a condition that cannot be
evaluated denies; the markdown comment mentions the owners; a saved plan is judged
again, whatever verdict it carries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.sandbox import (
    ADMIN_KEY,
    ORG_ADMIN_KEY,
    SandboxProcess,
    run_cli,
    run_installed,
)

pytestmark = pytest.mark.e2e

POLICY = """\
version: 1
owners: [policy-admin]
rules:
  - name: big-usage-limit
    when: 'change.address == "company" && "usage_limit" in change.after
      && change.after.usage_limit > 1500000'
    effect: require_approval
    owners: [finance-lead, "@acme/finance"]
    message: Raising the usage limit past 1.5M tokens needs finance.
  - name: billing-in-our-domain
    when: |
      change.resource == "company" && "billing_email" in change.after &&
        !change.after.billing_email.endsWith("@example.com")
    effect: deny
    message: Billing emails stay in the company's domains.
"""


def env(sandbox: SandboxProcess) -> dict[str, str]:
    return {"CLAUDE_API_KEY": ADMIN_KEY, "RECONCILER_BASE_URL": sandbox.url}


def files(tmp_path: Path, company: str, policy: str = POLICY) -> tuple[Path, Path]:
    org, rules = tmp_path / "org.yaml", tmp_path / "policy.yaml"
    org.write_text(f"version: 1\ncompany:\n{company}")
    rules.write_text(policy)
    return org, rules


def writes(sandbox: SandboxProcess) -> list[str]:
    log = sandbox.control("GET", "requests").json()["data"]
    return [f"{r['method']} {r['path']}" for r in log if r["method"] not in ("GET", "HEAD")]


def test_a_deny_rule_fails_the_plan_after_showing_it_and_apply_writes_nothing(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    org, rules = files(tmp_path, "  billing_email: billing@elsewhere.test\n")
    plan = run_cli("plan", str(org), "--policy", str(rules), env=env(sandbox))
    assert plan.exit_code == 1
    assert "~ company" in plan.stdout  # the plan is shown first
    assert "DENIED billing-in-our-domain: Billing emails stay in the company's domains." in (
        plan.stdout
    )
    assert "The policy" in plan.stderr
    assert "denies this plan: billing-in-our-domain (on company)" in plan.stderr
    sandbox.control("DELETE", "requests")
    apply = run_cli("apply", str(org), "--policy", str(rules), "--auto-approve", env=env(sandbox))
    assert apply.exit_code == 1
    assert "Nothing was written" in apply.stderr
    assert writes(sandbox) == []
    assert sandbox.api("GET", "").json()["billing_email"] != "billing@elsewhere.test"


def test_require_approval_waits_for_an_owner_then_applies_and_the_report_says_who(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    org, rules = files(tmp_path, "  usage_limit: 2000000\n")
    sandbox.control("DELETE", "requests")
    args = ["apply", str(org), "--policy", str(rules), "--auto-approve"]
    waiting = run_cli(*args, env=env(sandbox))
    assert waiting.exit_code == 1
    assert "requires approval before this plan is applied: big-usage-limit" in waiting.stderr
    assert "(owners: finance-lead, @acme/finance)" in waiting.stderr
    not_an_owner = run_cli(*args, "--approved-by", "someone-else", env=env(sandbox))
    assert not_an_owner.exit_code == 1
    assert writes(sandbox) == []
    report = tmp_path / "report.json"
    done = run_cli(
        *args,
        "--approved-by",
        "someone-else,Finance-Lead",
        "--report",
        str(report),
        env=env(sandbox),
    )
    assert done.exit_code == 0, done.output
    assert "approved by finance-lead: big-usage-limit" in done.stdout
    assert sandbox.api("GET", "").json()["usage_limit"] == 2_000_000
    policy = json.loads(report.read_text())["policy"]
    assert policy["waived"] == [{"rule": "big-usage-limit", "by": ["finance-lead"]}]
    assert policy["approved_by"] == ["finance-lead", "someone-else"]


def test_a_team_owner_approves_through_the_operators_membership_list(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    org, rules = files(tmp_path, "  usage_limit: 2000000\n")
    teams = tmp_path / "teams.json"
    teams.write_text(json.dumps({"@acme/finance": ["cfo-login"]}))
    args = [
        "apply",
        str(org),
        "--policy",
        str(rules),
        "--auto-approve",
        "--approved-by",
        "cfo-login",
    ]
    without = run_cli(*args, env=env(sandbox))
    assert without.exit_code == 1  # a team's member is known only from the list
    done = run_cli(*args, "--team-members", str(teams), env=env(sandbox))
    assert done.exit_code == 0, done.output


def test_a_cel_error_is_reported_at_its_line_before_any_request(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    broken = POLICY.replace("change.after.usage_limit > 1500000", "change.after.usage_limit >")
    org, rules = files(tmp_path, "  usage_limit: 2000000\n", broken)
    sandbox.control("DELETE", "requests")
    plan = run_cli("plan", str(org), "--policy", str(rules), env=env(sandbox))
    assert plan.exit_code == 1
    assert plan.stderr.startswith(f"Error: {rules}:6:36: rules.0.when: CEL: Syntax error")
    assert sandbox.control("GET", "requests").json()["data"] == []
    typed = POLICY.replace('change.resource == "company"', "change.resource == 1 + true")
    rules.write_text(typed)
    checked = run_cli("validate", "--policy", str(rules))
    assert checked.exit_code == 1
    assert f"{rules}:12:28: rules.1.when: CEL: found no matching overload for '_+_'" in (
        checked.stderr
    )


def test_a_condition_that_cannot_be_evaluated_denies(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    reads_absent = (
        "version: 1\nrules:\n  - name: limit-field\n"
        "    when: change.after.usage_limit > 5\n"
        "    effect: require_approval\n    owners: [finance-lead]\n    message: m\n"
    )
    org, rules = files(tmp_path, "  billing_email: finance@example.com\n", reads_absent)
    plan = run_cli("plan", str(org), "--policy", str(rules), env=env(sandbox))
    assert plan.exit_code == 1
    assert "DENIED limit-field" in plan.stdout
    assert "rule limit-field could not be evaluated on company" in plan.stdout
    assert "it counts as a deny" in plan.stdout


def test_the_markdown_comment_mentions_the_owners(sandbox: SandboxProcess, tmp_path: Path) -> None:
    org, rules = files(tmp_path, "  usage_limit: 2000000\n")
    plan = run_cli(
        "plan", str(org), "--policy", str(rules), "--format", "markdown", env=env(sandbox)
    )
    assert plan.exit_code == 0, plan.output
    assert "> **Policy: apply waits for an owner's approval:**" in plan.stdout
    assert "Owners: @finance-lead, @acme/finance" in plan.stdout
    found = json.loads(
        run_cli(
            "plan", str(org), "--policy", str(rules), "--format", "json", env=env(sandbox)
        ).stdout
    )
    assert found["policy"]["awaiting_approval"] == ["big-usage-limit"]


def test_a_saved_plan_is_judged_again_whatever_verdict_it_carries(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    org, rules = files(tmp_path, "  usage_limit: 2000000\n")
    saved = tmp_path / "plan.json"
    made = run_cli("plan", str(org), "--policy", str(rules), "--out", str(saved), env=env(sandbox))
    assert made.exit_code == 0, made.output
    data: dict[str, Any] = json.loads(saved.read_text())
    data["policy"]["matches"][0]["waived_by"] = ["finance-lead"]  # a tampered verdict
    data["policy"]["awaiting_approval"] = []
    saved.write_text(json.dumps(data))
    shown = run_cli("show", str(saved), "--policy", str(rules))
    assert "needs approval: big-usage-limit" in shown.stdout
    applied = run_cli(
        "apply", str(saved), "--policy", str(rules), "--auto-approve", env=env(sandbox)
    )
    assert applied.exit_code == 1
    assert "requires approval" in applied.stderr


def test_rules_for_the_admin_api_count_removals_across_the_plan(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    """No removal of more than one person without security, on an Admin file."""
    admin = tmp_path / "admin.yaml"
    admin.write_text(
        "version: 1\nprovider: anthropic-admin\nusers:\n  prune: true\n  ada@example.com: admin\n"
    )
    rules = tmp_path / "policy.yaml"
    rules.write_text(
        "version: 1\nrules:\n  - name: people-removed\n"
        '    when: >-\n      change.resource == "user" && change.action == "delete" &&\n'
        '      plan.changes.filter(c, c.resource == "user" && c.action == "delete").size() > 1\n'
        '    effect: require_approval\n    owners: ["@acme/security"]\n'
        "    message: Removing more than one person needs security.\n"
    )
    found = run_installed(
        "plan",
        str(admin),
        "--policy",
        str(rules),
        "--format",
        "json",
        env={"ANTHROPIC_ADMIN_KEY": ORG_ADMIN_KEY, "RECONCILER_BASE_URL": sandbox.url},
    )
    assert found.exit_code == 1  # the prune guard fails it too: most users removed
    assert "Apply refuses this plan without --force" in found.stderr
    policy = json.loads(found.stdout)["policy"]
    (match,) = policy["matches"]
    assert match["rule"] == "people-removed"
    assert len(match["addresses"]) >= 2
    assert all(a.startswith("user[") for a in match["addresses"])


def test_policy_text_is_untrusted_wherever_it_is_shown(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    hostile = (
        'version: 1\nrules:\n  - name: limit\n    when: change.address == "company"\n'
        "    effect: require_approval\n    owners: [finance-lead]\n"
        '    message: "Ask \\u202efinance <img src=x onerror=alert(1)> | `code` ::error::x"\n'
    )
    org, rules = files(tmp_path, "  usage_limit: 2000000\n", hostile)
    text = run_cli("plan", str(org), "--policy", str(rules), env=env(sandbox))
    assert "\u202e" not in text.stdout
    assert "Ask \\u202efinance" in text.stdout
    markdown = run_cli(
        "plan", str(org), "--policy", str(rules), "--format", "markdown", env=env(sandbox)
    )
    assert markdown.stdout.count("<img") == markdown.stdout.count("\\<img") == 1
    assert "\\<img src=x onerror=alert(1)\\> \\| \\`code\\`" in markdown.stdout


def test_an_edit_of_the_policy_alone_fails_apply_until_its_owners_approve(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    """Nothing to write, but the pull request weakens the policy: apply must not pass
    (exit 0 would put the weakened policy in force with no owner asked)."""
    org, rules = files(tmp_path, "  billing_email: billing@example.com\n")
    args = ("apply", str(org), "--policy", str(rules), "--policy-changed", "--auto-approve")
    refused = run_cli(*args, env=env(sandbox))
    assert "No changes" in refused.stdout
    assert refused.exit_code == 1
    assert "requires approval before this plan is applied: policy-file (owners: policy-admin)" in (
        refused.stderr
    )
    approved = run_cli(*args, "--approved-by", "policy-admin", env=env(sandbox))
    assert approved.exit_code == 0, approved.stderr
