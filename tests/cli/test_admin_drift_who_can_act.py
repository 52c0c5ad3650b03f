"""Drift names who can act, through the installed command against a sandbox process:
an organization admin or a billing user the file does not list is a security alert
whenever the file keeps ``users:`` (pruned or not), and so is an active API key when
it keeps ``api_keys:``; the nightly ``--detailed-exitcode`` then reports drift. A file
that leaves the section alone is not alerted; its active keys are named in one note."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from tests.support.sandbox import ORG_ADMIN_KEY, SandboxProcess, run_cli, shipped_seed

pytestmark = pytest.mark.e2e


def env(sandbox: SandboxProcess) -> dict[str, str]:
    return {"ANTHROPIC_ADMIN_KEY": ORG_ADMIN_KEY, "RECONCILER_BASE_URL": sandbox.url}


def test_an_admin_or_billing_user_added_outside_is_an_alert_not_a_count(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    seed = copy.deepcopy(shipped_seed())
    seed["admin"]["users"].append(
        {"email": "mallory@example.com", "name": "Mallory", "role": "admin"}
    )
    assert sandbox.control("POST", "reset", json=seed).status_code == 200
    org = tmp_path / "org.yaml"
    org.write_text(
        "version: 1\nprovider: anthropic-admin\nusers:\n  ada@example.com: admin\n"
        "  ben@example.com: developer\n  dev@example.com: user\n"
    )
    plan = run_cli("plan", str(org), "--detailed-exitcode", env=env(sandbox))
    assert plan.exit_code == 2, plan.output
    assert "Security-relevant changes found live" in plan.stdout
    assert (
        'user["mallory@example.com"] is live and not in the file: its role is admin' in plan.stdout
    )
    assert 'user["cleo@example.com"] is live and not in the file: its role is billing' in (
        plan.stdout
    )
    org.write_text("version: 1\nprovider: anthropic-admin\nworkspaces: {}\n")
    quiet = run_cli("plan", str(org), "--detailed-exitcode", env=env(sandbox))
    assert quiet.exit_code == 0, quiet.output  # users: is not kept: no alert, no drift
    assert "is live and not in the file" not in quiet.stdout
    assert (  # an active key is named, not just counted
        "Active API keys live and not managed by this file (a section it does not keep): "
        'api_key["apikey_01CiKeySandbox"]' in quiet.stdout
    )


def test_an_active_api_key_the_kept_section_does_not_list_is_an_alert(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    seed = copy.deepcopy(shipped_seed())
    seed["admin"]["api_keys"].append(
        {"id": "apikey_01Outside", "name": "made-in-console", "status": "active"}
    )
    seed["admin"]["api_keys"].append(
        {"id": "apikey_01Inactive", "name": "old", "status": "inactive"}
    )
    assert sandbox.control("POST", "reset", json=seed).status_code == 200
    org = tmp_path / "org.yaml"
    org.write_text(
        "version: 1\nprovider: anthropic-admin\napi_keys:\n"
        "  apikey_01CiKeySandbox: {name: ci-key, status: active}\n"
    )
    plan = run_cli("plan", str(org), "--detailed-exitcode", env=env(sandbox))
    assert plan.exit_code == 2, plan.output
    assert (
        'api_key["apikey_01Outside"] is live and not in the file: it signs requests to the '
        "organization's API" in plan.stdout
    )
    assert "apikey_01Inactive" not in plan.stdout.split("Plan:")[0].split("No changes")[0]
