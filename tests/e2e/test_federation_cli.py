"""Keyless CI: the installed ``reconciler`` signing in to the sandbox's Admin API by
workload identity federation, through the SDK's ``WorkloadIdentityCredentials``, with
no key in the environment; the sandbox plays the identity provider (a GitHub Actions
job from the right repository, or the wrong one) and Anthropic's token endpoint."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.sandbox import (
    CONTROL_KEY,
    ORG_ADMIN_KEY,
    ORGANIZATION_ID,
    RULE_ID,
    SERVICE_ACCOUNT_ID,
    SandboxProcess,
    run_installed,
)

pytestmark = pytest.mark.e2e

EXAMPLE = "reconciler/examples/anthropic-admin.yaml"
SEED = Path("reconciler/examples/sandbox-seed.yaml")


def header(sandbox: SandboxProcess, token_from: str = "ANTHROPIC_IDENTITY_TOKEN") -> str:
    return (
        f"API: {sandbox.url} (federation: rule {RULE_ID}, service account "
        f"{SERVICE_ACCOUNT_ID}, organization {ORGANIZATION_ID}; identity token from "
        f"{token_from})"
    )


def reset(sandbox: SandboxProcess, change: Callable[[dict[str, Any]], None]) -> None:
    """The shipped seed with its Admin API section changed."""
    seed = yaml.safe_load(SEED.read_text())
    change(seed["admin"])
    sandbox.control("POST", "reset", json=seed).raise_for_status()


def api_requests(sandbox: SandboxProcess) -> list[dict[str, Any]]:
    return [r for r in sandbox.requests() if r["path"].startswith("/v1/organizations")]


def exchanges(sandbox: SandboxProcess) -> list[dict[str, Any]]:
    return [r for r in sandbox.requests() if r["path"] == "/v1/oauth/token"]


def test_plan_and_apply_sign_in_by_federation_with_no_key(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    env = sandbox.federated(sandbox.identity_token())
    saved, report = tmp_path / "plan.json", tmp_path / "report.json"
    plan = run_installed("plan", EXAMPLE, "--out", str(saved), env=env)
    assert plan.exit_code == 0, plan.output
    assert plan.stdout.splitlines()[0] == header(sandbox)
    assert json.loads(saved.read_text())["api"] == {
        "base_url": sandbox.url,
        "auth": "federation",
        "federation_rule_id": RULE_ID,
        "organization_id": ORGANIZATION_ID,
        "service_account_id": SERVICE_ACCOUNT_ID,
        "identity_token_from": "ANTHROPIC_IDENTITY_TOKEN",
    }
    applied = run_installed("apply", str(saved), "--auto-approve", "--report", str(report), env=env)
    assert applied.exit_code == 0, applied.output
    assert "Apply: 13 applied, 0 failed, 0 skipped." in applied.stdout
    assert json.loads(report.read_text())["api"]["federation_rule_id"] == RULE_ID
    assert header(sandbox) in applied.stdout
    again = run_installed("plan", EXAMPLE, env=env)
    assert "No changes" in again.stdout, again.output
    # one exchange per process (plan, apply, plan): the access token is reused within one
    assert [r["status"] for r in exchanges(sandbox)] == [200, 200, 200]
    assert "Support Bots" in {w["name"] for w in sandbox.admin_list("workspaces")}


@pytest.mark.parametrize(
    ("claims", "claim", "value"),
    [
        ({"repository": "someone/fork"}, "repository", "someone/fork"),
        # The same name, registered again by someone else: only the ids tell.
        ({"repository_id": "999999999"}, "repository_id", "999999999"),
        ({"repository_owner_id": "777"}, "repository_owner_id", "777"),
        ({"ref": "refs/heads/feature"}, "ref", "refs/heads/feature"),
        ({"aud": "https://example.com"}, "aud", "https://example.com"),
    ],
    ids=["repository", "re-registered name", "new owner of the name", "branch", "audience"],
)
def test_a_token_the_rule_does_not_match_is_refused_naming_the_claim(
    sandbox: SandboxProcess, claims: dict[str, str], claim: str, value: str
) -> None:
    result = run_installed("plan", EXAMPLE, env=sandbox.federated(sandbox.identity_token(**claims)))
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"Error: Federation rule {RULE_ID} refused the identity token from "
        f"ANTHROPIC_IDENTITY_TOKEN: its {claim} claim does not match (the token's {claim} "
        f"is '{value}')."
    ), result.stderr
    assert "Traceback" not in result.output
    assert api_requests(sandbox) == []  # refused at the exchange: nothing was read


def test_an_expired_identity_token_is_said_to_have_expired(sandbox: SandboxProcess) -> None:
    now = int(time.time())
    token = sandbox.identity_token(iat=now - 900, nbf=now - 900, exp=now - 600)
    result = run_installed("apply", EXAMPLE, "--auto-approve", env=sandbox.federated(token))
    assert result.exit_code == 1
    ended = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(now - 600))
    assert (
        f"The identity token from ANTHROPIC_IDENTITY_TOKEN expired at {ended}, so service "
        f"account {SERVICE_ACCOUNT_ID} (federation rule {RULE_ID}) cannot sign in"
    ) in result.stderr
    assert api_requests(sandbox) == []


def test_a_rule_without_org_admin_is_a_sentence(sandbox: SandboxProcess) -> None:
    def narrow(admin: dict[str, Any]) -> None:
        admin["federation"]["rules"][0]["oauth_scope"] = "workspace:developer"

    reset(sandbox, narrow)
    result = run_installed("plan", EXAMPLE, env=sandbox.federated(sandbox.identity_token()))
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"Error: The Admin API refused service account {SERVICE_ACCOUNT_ID} (federation rule "
        f"{RULE_ID}) to "
    ), result.stderr
    assert "reconciler needs org:admin: the rule must grant it" in result.stderr
    assert "has the scope 'workspace:developer'" in result.stderr  # the API's own words


def test_a_service_account_demoted_to_developer_is_a_sentence(sandbox: SandboxProcess) -> None:
    def demote(admin: dict[str, Any]) -> None:
        admin["service_accounts"][0]["organization_role"] = "developer"

    reset(sandbox, demote)
    result = run_installed("plan", EXAMPLE, env=sandbox.federated(sandbox.identity_token()))
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"Error: The token exchange for service account {SERVICE_ACCOUNT_ID} (federation "
        f"rule {RULE_ID}) was refused: "
    ), result.stderr
    assert "has the developer role" in result.stderr
    assert "give the service account the admin role again" in result.stderr
    assert api_requests(sandbox) == []


def test_an_access_token_that_expires_mid_apply_is_renewed_without_a_failed_write(
    sandbox: SandboxProcess,
) -> None:
    # Each access token is honoured for ten requests, then refused as expired: the apply
    # makes about seventy, so tokens expire under it again and again, creates included.
    sandbox.control("PATCH", "settings", json={"access_token_requests": 10})
    env = sandbox.federated(sandbox.identity_token())
    result = run_installed("apply", EXAMPLE, "--auto-approve", env=env)
    assert result.exit_code == 0, result.output
    assert "Apply: 13 applied, 0 failed, 0 skipped." in result.stdout
    log = api_requests(sandbox)
    refused = {(r["method"], r["path"]) for r in log if r["status"] == 401}
    done = {(r["method"], r["path"]) for r in log if r["status"] < 300}
    assert refused, "no token expired under the apply"
    assert refused <= done  # every request refused for an expired token was sent again
    assert any(method == "POST" for method, _ in refused)
    assert len(exchanges(sandbox)) > 3
    sandbox.control("PATCH", "settings", json={"access_token_requests": None})
    assert "No changes" in run_installed("plan", EXAMPLE, env=env).stdout


def test_the_identity_token_may_come_from_a_file_and_the_ids_from_flags(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    token_file = tmp_path / "oidc-token"
    token_file.write_text(sandbox.identity_token() + "\n")
    result = run_installed(
        "plan",
        EXAMPLE,
        "--federation-rule",
        RULE_ID,
        "--organization-id",
        ORGANIZATION_ID,
        "--service-account",
        SERVICE_ACCOUNT_ID,
        "--identity-token-file",
        str(token_file),
        env={"RECONCILER_BASE_URL": sandbox.url},
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == header(sandbox, str(token_file))


def test_the_operator_chooses_between_a_key_and_federation(sandbox: SandboxProcess) -> None:
    both = {**sandbox.federated(sandbox.identity_token()), "ANTHROPIC_ADMIN_KEY": ORG_ADMIN_KEY}
    asked = run_installed("plan", EXAMPLE, env=both)
    assert asked.exit_code == 1
    assert asked.stderr == (
        "Error: Both a key (ANTHROPIC_ADMIN_KEY) and federation "
        "(ANTHROPIC_FEDERATION_RULE_ID) are configured; pass --auth federation or --auth key "
        "(or set RECONCILER_AUTH) to choose, or unset the one not meant.\n"
    )
    federated = run_installed("plan", EXAMPLE, "--auth", "federation", env=both)
    assert federated.stdout.splitlines()[0] == header(sandbox)
    keyed = run_installed("plan", EXAMPLE, "--auth", "key", env=both)
    assert keyed.stdout.splitlines()[0] == f"API: {sandbox.url} (key from ANTHROPIC_ADMIN_KEY)"


def test_incomplete_or_misplaced_federation_is_refused_before_any_request(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    env = sandbox.federated(sandbox.identity_token())
    del env["ANTHROPIC_ORGANIZATION_ID"]
    missing = run_installed("plan", EXAMPLE, env=env)
    assert missing.stderr == (
        "Error: Federation needs the organization's id (ANTHROPIC_ORGANIZATION_ID or "
        "--organization-id); set it, or use a key (--auth key).\n"
    )
    company = tmp_path / "org.yaml"
    company.write_text("version: 1\ncompany: {plan: build}\n")
    other = run_installed("plan", str(company), "--auth", "federation", env=env)
    assert other.exit_code == 1
    assert "the company provider takes a key" in other.stderr
    cleartext = run_installed(
        "plan",
        EXAMPLE,
        "--insecure",
        "--base-url",
        "http://api.example.com",
        env=sandbox.federated(sandbox.identity_token()),
    )
    assert "Refusing to send the identity token over plain http://" in cleartext.stderr
    not_a_token = run_installed("plan", EXAMPLE, env=sandbox.federated("sk-ant-admin01-oops"))
    assert "ANTHROPIC_IDENTITY_TOKEN does not hold an identity token" in not_a_token.stderr
    undo = run_installed(
        "apply",
        EXAMPLE,
        "--auto-approve",
        "--undo-out",
        str(tmp_path / "undo.json"),
        env=sandbox.federated(sandbox.identity_token()),
    )
    assert undo.exit_code == 1
    assert "Undo plans are signed with the API key" in undo.stderr
    assert [r for r in api_requests(sandbox) if r["method"] != "GET"] == []
    assert not (tmp_path / "undo.json").exists()


def actions_job(sandbox: SandboxProcess, **changes: str) -> dict[str, str]:
    """A GitHub Actions job with ``permissions: id-token: write``: the runner's token
    service in the environment (the sandbox plays it), the rule and organization as the
    reusable workflows pass them, and no token or key anywhere."""
    env = sandbox.federated("")
    del env["ANTHROPIC_IDENTITY_TOKEN"]
    return {
        **env,
        "ACTIONS_ID_TOKEN_REQUEST_URL": f"{sandbox.url}/_sandbox/oidc/actions?api-version=2.0",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": CONTROL_KEY,
        **changes,
    }


def test_in_github_actions_reconciler_asks_the_runner_for_each_token(
    sandbox: SandboxProcess,
) -> None:
    result = run_installed("apply", EXAMPLE, "--auto-approve", env=actions_job(sandbox))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == header(
        sandbox, "GitHub Actions (audience https://api.anthropic.com)"
    )
    assert len(exchanges(sandbox)) == 1  # the apply's read and its writes signed in once


def test_in_github_actions_a_wrong_audience_or_no_permission_is_a_sentence(
    sandbox: SandboxProcess,
) -> None:
    wrong = actions_job(sandbox, RECONCILER_IDENTITY_TOKEN_AUDIENCE="https://github.com/x")
    refused = run_installed("plan", EXAMPLE, env=wrong)
    assert refused.exit_code == 1
    assert "its aud claim does not match (the token's aud is 'https://github.com/x')" in (
        refused.stderr
    )
    no_permission = actions_job(sandbox, ACTIONS_ID_TOKEN_REQUEST_TOKEN="not-a-request-token")
    denied = run_installed("plan", EXAMPLE, env=no_permission)
    assert denied.stderr == (
        "Error: GitHub Actions gave no identity token (HTTP 401); the job needs permissions: "
        "id-token: write.\n"
    )
    assert api_requests(sandbox) == []


def test_a_rule_that_checks_the_repository_only_by_name_is_warned_of(
    sandbox: SandboxProcess,
) -> None:
    """The shipped rule pins the repository's ids: no warning. A rule whose only
    repository check is a name-based sub prefix gets one, naming what it checks; the
    plan goes on."""
    planned = run_installed("plan", EXAMPLE, env=sandbox.federated(sandbox.identity_token()))
    assert planned.exit_code == 0, planned.output
    assert "checks the repository only by name" not in planned.output

    def by_name(admin: dict[str, Any]) -> None:
        admin["federation"]["rules"][0]["match"] = {
            "audience": "https://api.anthropic.com",
            "subject_prefix": "repo:my-org/org-settings:*",
        }

    reset(sandbox, by_name)
    sandbox.control("DELETE", "requests")
    token = sandbox.identity_token(sub="repo:my-org/org-settings:ref:refs/heads/main")
    planned = run_installed("plan", EXAMPLE, env=sandbox.federated(token))
    assert planned.exit_code == 0, planned.output
    assert (
        f"federation rule {RULE_ID} checks the repository only by name (sub prefix "
        "'repo:my-org/org-settings:*'); a name can be registered again by someone else: pin "
        "repository_id and repository_owner_id in the rule's claims (Keyless CI)"
    ) in planned.stdout
    rule_reads = [r for r in sandbox.requests() if "/federation_rules/" in r["path"]]
    assert [r["status"] for r in rule_reads] == [200]
    debug = run_installed("--debug", "plan", EXAMPLE, env=sandbox.federated(token))
    assert (
        f"federation rule {RULE_ID} checks: aud 'https://api.anthropic.com', sub prefix "
        "'repo:my-org/org-settings:*'"
    ) in debug.stderr


def test_an_identity_token_issued_in_the_future_is_refused(sandbox: SandboxProcess) -> None:
    year_3000 = 32503680000
    token = sandbox.identity_token(iat=year_3000, nbf=None, exp=year_3000 + 300)
    result = run_installed("plan", EXAMPLE, env=sandbox.federated(token))
    assert result.exit_code == 1, result.output
    assert "The identity token was issued in the future, at 3000-01-01" in result.stderr
    assert api_requests(sandbox) == []
