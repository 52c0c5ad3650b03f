"""The key goes only where the operator said, read only from a variable the operator
allows; every plan and report names the API and the variable; a pull request that
changes ``api:`` says so at the top of its plan. Through the installed CLI."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.sandbox import ADMIN_KEY, SandboxProcess, run_cli

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
    from reconciler.net.connection import normalise_url, verify_for

    assert normalise_url("HTTPS://API.Example.COM:8443/") == "https://api.example.com:8443"
    for url in ("https://api.anthropic.com", "HTTPS://api.anthropic.com", "Https://x.io"):
        assert verify_for(url) is not False, url
    assert verify_for("http://127.0.0.1:9") is False


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A loopback port some other process of a shared runner listens on."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.setblocking(False)
    yield server
    server.close()


def connected(server: socket.socket) -> bool:
    try:
        server.accept()[0].close()
    except BlockingIOError:
        return False
    return True


@pytest.mark.parametrize("auth", ["key", "federation"])
def test_a_files_loopback_url_gets_nothing_unless_the_operator_names_it(
    tmp_path: Path, sandbox: SandboxProcess, listener: socket.socket, auth: str
) -> None:
    """Loopback is no exception: a file's ``http://127.0.0.1:PORT`` would hand the key,
    or the identity token (audience the real API), to whatever listens there."""
    port = listener.getsockname()[1]
    path = org(tmp_path, f"api: {{base_url: 'http://127.0.0.1:{port}'}}\n")
    env = (
        {"CLAUDE_API_KEY": ADMIN_KEY}
        if auth == "key"
        else {
            k: v
            for k, v in sandbox.federated(sandbox.identity_token()).items()
            if k != "RECONCILER_BASE_URL"
        }
    )
    for command in (("plan",), ("apply", "--auto-approve")):
        refused = run_cli(*command, str(path), env=env)
        assert refused.exit_code == 1
        assert (
            f"asks for the API at http://127.0.0.1:{port} (api.base_url), a host the operator "
            "did not name (loopback too: any process on this machine can listen there); nothing "
            f"was sent. If that host is meant, pass --base-url http://127.0.0.1:{port}"
        ) in refused.stderr
        assert not connected(listener)
    # Named by the operator too, it is used: test_the_operator_may_allow_the_files_host.


def test_a_saved_plan_of_the_sandbox_needs_the_operator_to_name_it_again(
    tmp_path: Path, sandbox: SandboxProcess
) -> None:
    path, saved = org(tmp_path, ""), tmp_path / "plan.json"
    env = {"CLAUDE_API_KEY": ADMIN_KEY, "RECONCILER_BASE_URL": sandbox.url}
    assert run_cli("plan", str(path), "--out", str(saved), env=env).exit_code == 0
    alone = run_cli("apply", str(saved), "--auto-approve", env={"CLAUDE_API_KEY": ADMIN_KEY})
    assert alone.exit_code == 1
    assert f"The saved plan was made against {sandbox.url}, not https://api.anthropic.com" in (
        alone.stderr
    )
    assert (
        f"To apply it to the sandbox it was made against, add --base-url {sandbox.url}; or run "
        "plan again against https://api.anthropic.com."
    ) in alone.stderr
    assert sandbox.writes() == []
    assert run_cli("apply", str(saved), "--auto-approve", env=env).exit_code == 0
