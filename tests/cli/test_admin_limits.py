"""Limits through the installed command against a real sandbox, through the official
SDK: a file with rate limits, spend limits, a colour, a rename by id and a pin plans,
applies, converges and exports to no changes; a key of another organization is
refused before any write; an organization without the spend-limit preview is told
so, and everything else still applies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.sandbox import CONTROL_KEY, ORG_ADMIN_KEY, SEED_COMPANY, SandboxProcess, run_cli

pytestmark = pytest.mark.e2e

SONNET, BATCH = "rlg_01VPTCmyiu5ZLsWkcxYG2pY8", "rlg_01BaTcH5pQ8sRw2LmYc4XvNd"
ORG_ID = "2f9a1c3e-5b7d-4e6f-8a9b-0c1d2e3f4a5b"  # the shipped seed's organization


def env(sandbox: SandboxProcess) -> dict[str, str]:
    return {"ANTHROPIC_ADMIN_KEY": ORG_ADMIN_KEY, "RECONCILER_BASE_URL": sandbox.url}


def limits_file(path: Path, workspace_id: str, *, pin: str = ORG_ID) -> Path:
    path.write_text(
        f"""\
version: 1
provider: anthropic-admin
organization:
  id: {pin}             # refuse another organization's key
spend_limits:
  monthly: 750000       # $7,500.00
workspaces:
  Research Lab:         # was "Research": renamed, found by its id
    id: {workspace_id}
    display_color: "#112233"
    external_key_id: cmk_01SandboxResearch
    spend_limits:
      monthly: 60000
    rate_limits:
      {SONNET}:
        requests_per_minute: null        # clear: inherit the organization's
        output_tokens_per_minute: 500000 # above the organization's 400,000
  Batch Jobs:
    spend_limits: {{monthly: 2500}}
    rate_limits:
      {BATCH}: {{requests_per_minute: 40}}
"""
    )
    return path


def reset(sandbox: SandboxProcess, admin: dict[str, Any]) -> None:
    """Start the sandbox over with only this Admin API organization (and its keys)."""
    seed = {
        "company": SEED_COMPANY,
        "keys": [
            {"key": ORG_ADMIN_KEY, "scopes": ["organization:admin"]},
            {"key": CONTROL_KEY, "scopes": ["sandbox:control"]},
        ],
        "admin": admin,
    }
    assert sandbox.control("POST", "reset", json=seed).status_code == 200


def workspace_id(sandbox: SandboxProcess, name: str) -> str:
    return next(w["id"] for w in sandbox.admin_list("workspaces") if w["name"] == name)


def writes(sandbox: SandboxProcess) -> list[str]:
    return [
        f"{r['method']} {r['path']}"
        for r in sandbox.requests()
        if r["method"] != "GET" and r["path"].startswith("/v1/")
    ]


def test_limits_colour_rename_and_pin_plan_apply_converge_and_export(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    research = workspace_id(sandbox, "Research")
    org = limits_file(tmp_path / "org.yaml", research)
    plan = run_cli("plan", str(org), "--out", str(tmp_path / "plan.json"), env=env(sandbox))
    assert plan.exit_code == 0, plan.output
    text = plan.stdout
    assert 'name:            "Research" → "Research Lab"' in text
    assert "# $5,000.00 → $7,500.00 a month" in text
    assert "# $500.00 → $600.00 a month" in text
    assert "# Claude Sonnet 4.x; the organization's limits: requests_per_minute 4,000" in text
    assert "rate-limit changes take effect within about an hour" in text
    assert "output_tokens_per_minute 500,000 is above the organization's 400,000" in text
    assert text.count("within about an hour") == 1

    applied = run_cli("apply", str(tmp_path / "plan.json"), "--auto-approve", env=env(sandbox))
    assert applied.exit_code == 0, applied.output
    assert "0 failed, 0 skipped" in applied.stdout
    renamed = sandbox.admin_call("GET", f"workspaces/{research}")
    assert (renamed["name"], renamed["display_color"], renamed["external_key_id"]) == (
        "Research Lab",
        "#112233",
        "cmk_01SandboxResearch",
    )
    (overrides,) = sandbox.admin_list(f"workspaces/{research}/rate_limits")
    assert [(v["type"], v["value"]) for v in overrides["limits"]] == [
        ("output_tokens_per_minute", 500000)
    ]
    spend = {
        s["scope"].get("workspace_id", s["scope"]["type"]): s["amount"]
        for s in sandbox.admin_list("spend_limits")
    }
    assert spend["organization"] == "750000"
    assert spend[research] == "60000"
    assert spend[workspace_id(sandbox, "Batch Jobs")] == "2500"

    again = run_cli("plan", str(org), "--detailed-exitcode", env=env(sandbox))
    assert again.exit_code == 0, again.output

    exported = tmp_path / "exported.yaml"
    done = run_cli(
        "export", "--provider", "anthropic-admin", "--out", str(exported), env=env(sandbox)
    )
    assert done.exit_code == 0, done.output
    assert f"id: {ORG_ID}" in exported.read_text()
    assert "display_color: '#112233'" in exported.read_text()
    assert run_cli("plan", str(exported), "--detailed-exitcode", env=env(sandbox)).exit_code == 0


def test_a_key_of_another_organization_writes_nothing(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    org = limits_file(tmp_path / "org.yaml", workspace_id(sandbox, "Research"), pin="other-org")
    sandbox.control("DELETE", "requests")
    for command in (["plan", str(org)], ["apply", str(org), "--auto-approve"]):
        result = run_cli(*command, env=env(sandbox))
        assert result.exit_code == 1, result.output
        assert result.stderr.startswith(
            f'Error: {org} is pinned to organization "other-org" (organization.id), but the key '
            f'belongs to organization "{ORG_ID}"; nothing was planned or written.'
        )
        assert "Traceback" not in result.output
    assert writes(sandbox) == []


def test_a_saved_plan_is_refused_when_the_key_is_another_organizations(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    org = limits_file(tmp_path / "org.yaml", workspace_id(sandbox, "Research"))
    saved = tmp_path / "plan.json"
    assert run_cli("plan", str(org), "--out", str(saved), env=env(sandbox)).exit_code == 0
    reset(sandbox, {"organization": {"id": "someone-else", "name": "Else"}})
    sandbox.control("DELETE", "requests")
    result = run_cli("apply", str(saved), "--auto-approve", env=env(sandbox))
    assert result.exit_code == 1, result.output
    assert 'but the key belongs to organization "someone-else"' in result.stderr
    assert writes(sandbox) == []


def test_without_the_spend_limit_preview_the_rest_still_applies(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    reset(sandbox, {"workspaces": [{"name": "Research"}], "spend_limits": {"admin_api": False}})
    org = tmp_path / "org.yaml"
    org.write_text(
        "version: 1\nprovider: anthropic-admin\nspend_limits: {monthly: 5000}\n"
        "workspaces:\n  Research:\n    display_color: '#ABCDEF'\n"
        "    spend_limits: {monthly: 100}\n"
    )
    plan = run_cli("plan", str(org), "--format", "json", env=env(sandbox))
    assert plan.exit_code == 0, plan.output
    data = json.loads(plan.stdout)
    assert [r["address"] for r in data["resources"]] == ['workspace["Research"]']
    (warning,) = data["warnings"]
    assert warning.startswith(
        'spend_limit["monthly"], workspace_spend_limit["Research"]["monthly"] not planned: '
        "this organization cannot read or set spend limits through the Admin API"
    )
    applied = run_cli("apply", str(org), "--auto-approve", env=env(sandbox))
    assert applied.exit_code == 0, applied.output
    assert "ask your Anthropic account team for access" in applied.stdout
    assert workspace_id(sandbox, "Research")
    research = sandbox.admin_list("workspaces")[0]
    assert research["display_color"] == "#ABCDEF"


def test_a_spend_limit_write_refused_for_the_preview_fails_alone(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    """An organization that may read spend limits but not write them: that write fails
    with the sentence, the other is applied, exit 1 and a truthful report."""
    reset(
        sandbox,
        {"workspaces": [{"name": "Research"}], "spend_limits": {"admin_api": "read"}},
    )
    org = tmp_path / "org.yaml"
    org.write_text(
        "version: 1\nprovider: anthropic-admin\nspend_limits: {monthly: 5000}\n"
        "workspaces:\n  Research:\n    display_color: '#ABCDEF'\n"
    )
    result = run_cli("apply", str(org), "--auto-approve", env=env(sandbox))
    assert result.exit_code == 1, result.output
    assert '✗ spend_limit["monthly"]: failed (Could not set the monthly spend limit' in (
        result.stdout
    )
    assert "Ask your Anthropic account team for access" in result.stdout
    assert '✓ workspace["Research"]: applied' in result.stdout
    assert "Apply: 1 applied, 1 failed, 0 skipped." in result.stdout
    assert "Traceback" not in result.output


def test_a_saved_plan_of_limits_is_stale_once_live_moves(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    research = workspace_id(sandbox, "Research")
    org = limits_file(tmp_path / "org.yaml", research)
    saved = tmp_path / "plan.json"
    assert run_cli("plan", str(org), "--out", str(saved), env=env(sandbox)).exit_code == 0
    sandbox.admin_call(
        "POST",
        "spend_limits",
        json={"amount": "123", "scope": {"type": "workspace", "workspace_id": research}},
    )
    sandbox.control("DELETE", "requests")
    result = run_cli("apply", str(saved), "--auto-approve", env=env(sandbox))
    assert result.exit_code == 1, result.output
    assert "The saved plan is stale:" in result.stderr
    assert (
        'workspace_spend_limit["Research Lab"]["monthly"].amount (planned from 50000, now 123)'
        in (result.stderr)
    )
    assert writes(sandbox) == []


def test_the_company_file_is_pinned_to_its_company(sandbox: SandboxProcess, tmp_path: Path) -> None:
    company_env = {"CLAUDE_API_KEY": "sk-sandbox-admin", "RECONCILER_BASE_URL": sandbox.url}
    exported = tmp_path / "org.yaml"
    assert run_cli("export", "--out", str(exported), env=company_env).exit_code == 0
    assert "organization:\n  id: org_abc123\n" in exported.read_text()
    assert run_cli("plan", str(exported), "--detailed-exitcode", env=company_env).exit_code == 0
    exported.write_text(exported.read_text().replace("id: org_abc123", "id: org_other"))
    sandbox.control("DELETE", "requests")
    result = run_cli("apply", str(exported), "--auto-approve", env=company_env)
    assert result.exit_code == 1, result.output
    assert 'pinned to organization "org_other" (organization.id), but the key belongs to ' in (
        result.stderr
    )
    assert [r for r in sandbox.requests() if r["method"] == "PATCH"] == []


def test_the_undo_plan_puts_limits_colour_and_name_back(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    before = tmp_path / "before.yaml"
    done = run_cli(
        "export", "--provider", "anthropic-admin", "--out", str(before), env=env(sandbox)
    )
    assert done.exit_code == 0, done.output
    org = limits_file(tmp_path / "org.yaml", workspace_id(sandbox, "Research"))
    undo = tmp_path / "undo.json"
    applied = run_cli(
        "apply", str(org), "--auto-approve", "--undo-out", str(undo), env=env(sandbox)
    )
    assert applied.exit_code == 0, applied.output
    undone = run_cli("apply", str(undo), "--auto-approve", env=env(sandbox))
    assert undone.exit_code == 0, undone.output
    assert "external_key_id cmk_01SandboxResearch stays attached" in undone.stdout
    assert 'workspace["Batch Jobs"]: undoing its creation archives it' in undone.stdout
    # Back as it was, but for the key the API never detaches.
    again = run_cli("plan", str(before), "--format", "json", env=env(sandbox))
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["resources"] == []
    research = sandbox.admin_call("GET", f"workspaces/{workspace_id(sandbox, 'Research')}")
    assert research["external_key_id"] == "cmk_01SandboxResearch"


def test_rate_limits_the_api_refuses_fail_only_a_file_that_writes_them(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    reset(sandbox, {"workspaces": [{"name": "Research"}], "rate_limits": False})
    plain = tmp_path / "plain.yaml"
    plain.write_text(
        "version: 1\nprovider: anthropic-admin\nworkspaces:\n  Research:\n    tags: {a: b}\n"
    )
    planned = run_cli("plan", str(plain), env=env(sandbox))
    assert planned.exit_code == 0, planned.output
    assert '~ workspace["Research"]' in planned.stdout
    limited = tmp_path / "limited.yaml"
    limited.write_text(
        "version: 1\nprovider: anthropic-admin\nworkspaces:\n  Research:\n    rate_limits:\n"
        f"      {BATCH}: {{requests_per_minute: 5}}\n"
    )
    refused = run_cli("plan", str(limited), env=env(sandbox))
    assert refused.exit_code == 1, refused.output
    assert "the organization's rate limits could not be read" in refused.stderr
    assert "Rate limits are not available to this organization" in refused.stderr
