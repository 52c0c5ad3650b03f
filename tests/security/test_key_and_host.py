"""The key goes only where the operator said, read only from a variable the operator
allows; every plan and report names the API and the variable; a pull request that
changes ``api:`` says so at the top of its plan. Through the installed CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ..sandbox import ADMIN_KEY, SandboxProcess, run_cli

pytestmark = pytest.mark.e2e
SECRET = "AKIA-CANARY-aws-secret-value"


def org(tmp_path: Path, api: str = "", name: str = "org.yaml") -> Path:
    path = tmp_path / name
    path.write_text(f"version: 1\n{api}company:\n  billing_email: finance@example.com\n")
    return path


def test_a_file_cannot_send_the_key_to_a_host_the_operator_did_not_name(tmp_path: Path) -> None:
    path = org(tmp_path, "api: {base_url: 'https://attacker.example'}\n")
    result = run_cli("plan", str(path), env={"CLAUDE_API_KEY": ADMIN_KEY})
    assert result.exit_code == 1
    assert "asks for the API at https://attacker.example" in result.stderr
    assert "--base-url https://attacker.example" in result.stderr
    assert "nothing was sent" in result.stderr
    assert ADMIN_KEY not in result.output


def test_the_operator_may_allow_the_files_host(tmp_path: Path, sandbox: SandboxProcess) -> None:
    """A file naming a host the operator also named (with a trailing slash: URLs are
    compared normalised) is allowed."""
    path = org(tmp_path, f"api: {{base_url: '{sandbox.url}/'}}\n")
    allowed = run_cli(
        "plan", str(path), "--base-url", sandbox.url, env={"CLAUDE_API_KEY": ADMIN_KEY}
    )
    assert allowed.exit_code == 0, allowed.output
    assert f"API: {sandbox.url} (key from CLAUDE_API_KEY)" in allowed.stdout


def test_a_file_cannot_choose_another_secret_as_the_key(tmp_path: Path) -> None:
    for variable in ("AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN", "OPENAI_API_KEY"):
        path = org(tmp_path, f"api: {{api_key_env: {variable}}}\n")
        result = run_cli("plan", str(path), env={variable: SECRET, "CLAUDE_API_KEY": ADMIN_KEY})
        assert result.exit_code == 1
        assert f"asks for the key from {variable}" in result.stderr
        assert "RECONCILER_KEY_VARIABLES" in result.stderr
        assert SECRET not in result.output


def test_the_operator_allows_a_key_variable_by_name(
    tmp_path: Path, sandbox: SandboxProcess
) -> None:
    path = org(tmp_path, "api: {api_key_env: TEAM_B_KEY}\n")
    base = {"TEAM_B_KEY": ADMIN_KEY, "RECONCILER_BASE_URL": sandbox.url}
    refused = run_cli("plan", str(path), env=base)
    assert refused.exit_code == 1
    listed = run_cli("plan", str(path), env={**base, "RECONCILER_KEY_VARIABLES": "X, TEAM_B_KEY"})
    assert listed.exit_code == 0, listed.output
    assert "(key from TEAM_B_KEY)" in listed.stdout
    flagged = run_cli("plan", str(path), "--api-key-env", "TEAM_B_KEY", env=base)
    assert flagged.exit_code == 0, flagged.output


def test_a_key_variable_holding_a_newline_is_one_sentence_and_no_request(
    tmp_path: Path, sandbox: SandboxProcess
) -> None:
    path = org(tmp_path)
    for bad in (ADMIN_KEY + "\nX-Other: 1", "sk-ant-é-key"):
        result = run_cli(
            "plan", str(path), env={"CLAUDE_API_KEY": bad, "RECONCILER_BASE_URL": sandbox.url}
        )
        assert result.exit_code == 1
        assert "The variable CLAUDE_API_KEY does not hold a key" in result.stderr
        assert bad not in result.output
    assert sandbox.requests() == []


def test_every_plan_and_report_names_the_api_and_the_key_variable(
    tmp_path: Path, sandbox: SandboxProcess
) -> None:
    path = org(tmp_path)
    env = {"CLAUDE_API_KEY": ADMIN_KEY, "RECONCILER_BASE_URL": sandbox.url}
    named = f"API: {sandbox.url} (key from CLAUDE_API_KEY)"
    assert named in run_cli("plan", str(path), env=env).stdout
    assert named in run_cli("plan", str(path), "--format", "markdown", env=env).stdout
    data = json.loads(run_cli("plan", str(path), "--format", "json", env=env).stdout)
    assert data["api"] == {"base_url": sandbox.url, "key_variable": "CLAUDE_API_KEY"}
    report = tmp_path / "report.json"
    applied = run_cli("apply", str(path), "--auto-approve", "--report", str(report), env=env)
    assert named in applied.stdout
    assert json.loads(report.read_text())["api"]["base_url"] == sandbox.url
    shown = run_cli("show", str(report), "--format", "markdown")
    assert f"API: {sandbox.url} (key from CLAUDE\\_API\\_KEY)" in shown.stdout or named in (
        shown.stdout
    )


def test_an_edit_of_api_is_a_warning_at_the_top_of_the_pull_request_plan(
    tmp_path: Path, sandbox: SandboxProcess
) -> None:
    before = org(tmp_path, name="base.yaml")
    after = org(tmp_path, "api: {api_key_env: ORG_B_ADMIN_KEY}\n")
    result = run_cli(
        "plan",
        str(after),
        "--compare-to",
        str(before),
        "--format",
        "markdown",
        env={"ORG_B_ADMIN_KEY": ADMIN_KEY, "RECONCILER_BASE_URL": sandbox.url},
    )
    assert result.exit_code == 0, result.output
    first_warning = result.stdout.split("> [!WARNING]\n", 1)[1].splitlines()[0]
    assert "this edit changes api.api\\_key\\_env" in first_warning or (
        "this edit changes api.api_key_env" in first_warning
    )


def test_tls_is_verified_however_the_scheme_is_spelled() -> None:
    from reconciler.connection import normalise_url, verify_for

    assert normalise_url("HTTPS://API.Example.COM:8443/") == "https://api.example.com:8443"
    for url in ("https://api.anthropic.com", "HTTPS://api.anthropic.com", "Https://x.io"):
        assert verify_for(url) is not False, url
    assert verify_for("http://127.0.0.1:9") is False
