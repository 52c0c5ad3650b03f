"""The Admin API as it is, through the installed CLI against a sandbox process: each
documented ``error_code`` of the calls reconciler makes (the sandbox answers it on
demand, with its partial effect) handled as the SDK says; organization admins, who
cannot be removed, never planned away; an archived workspace not created again
without a decision in the file; the Default workspace's limits managed."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.core.errors import ApiError
from reconciler.core.model import Action, FieldChange, ResourceChange
from reconciler.net.connection import Connection
from reconciler.providers.anthropic_admin.session import AdminSession
from tests.support.harness import FAST
from tests.support.sandbox import ORG_ADMIN_KEY, Run, SandboxProcess, run_cli

pytestmark = pytest.mark.e2e

SEED = yaml.safe_load(Path("examples/sandbox-seed.yaml").read_text())
BASE = "/v1/organizations"
HEAD = "version: 1\nprovider: anthropic-admin\n"
PRUNE_DEV = (
    HEAD + "users:\n  prune: true\n  ada@example.com: admin\n  ben@example.com: developer\n"
    "  cleo@example.com: billing\n  new.hire@example.com: developer\n"
)
INVITE = HEAD + "users:\n  grace@example.com: user\n"
RESTYLE = HEAD + "workspaces:\n  Research:\n    display_color: '#2E7D32'\n    tags: {team: r2}\n"


@pytest.fixture
def org(server: SandboxProcess) -> SandboxProcess:
    """The shipped seed, no injected failures, an empty request log."""
    server.control("PATCH", "settings", json={"admin_errors": [], "fault_rate": 0.0})
    assert server.control("POST", "reset", json=SEED).status_code == 200
    server.control("DELETE", "requests")
    return server


def inject(server: SandboxProcess, code: str, method: str, path: str, times: int = 1) -> None:
    rule = {"error_code": code, "method": method, "path": BASE + path, "times": times}
    answer = server.control("PATCH", "settings", json={"admin_errors": [rule]})
    assert answer.status_code == 200, answer.text


def cli(server: SandboxProcess, tmp_path: Path, text: str, *args: str) -> Run:
    path = tmp_path / "org.yaml"
    path.write_text(text)
    return run_cli(
        *args[:1],
        str(path),
        *args[1:],
        env={"ANTHROPIC_ADMIN_KEY": ORG_ADMIN_KEY, "RECONCILER_BASE_URL": server.url},
    )


def sent(server: SandboxProcess, method: str, path: str) -> list[dict[str, Any]]:
    return [r for r in server.requests() if r["method"] == method and r["path"] == BASE + path]


def converged(server: SandboxProcess, tmp_path: Path, text: str) -> None:
    again = cli(server, tmp_path, text, "plan", "--detailed-exitcode")
    assert again.exit_code == 0, again.output


def workspaces(server: SandboxProcess) -> dict[str, dict[str, Any]]:
    return {w["name"]: w for w in server.admin_list("workspaces")}


def test_workspace_created_incomplete_is_finished_never_created_again(
    org: SandboxProcess, tmp_path: Path
) -> None:
    text = (
        HEAD + "workspaces:\n  Support:\n    display_color: '#2E7D32'\n    tags: {team: support}\n"
        "    data_residency: {default_inference_geo: us}\n"
        "    members:\n      ben@example.com: workspace_user\n"
    )
    inject(org, "workspace_created_incomplete", "POST", "/workspaces")
    applied = cli(org, tmp_path, text, "apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert len(sent(org, "POST", "/workspaces")) == 1
    support = workspaces(org)["Support"]
    assert (support["display_color"], support["tags"]) == ("#2E7D32", {"team": "support"})
    assert support["data_residency"]["default_inference_geo"] == "us"
    converged(org, tmp_path, text)


def test_change_outcome_unknown_is_sent_again_and_read_back(
    org: SandboxProcess, tmp_path: Path
) -> None:
    inject(org, "change_outcome_unknown", "POST", "/workspaces/*")
    applied = cli(org, tmp_path, RESTYLE, "apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert len(sent(org, "POST", f"/workspaces/{workspaces(org)['Research']['id']}")) == 2
    converged(org, tmp_path, RESTYLE)


def test_change_outcome_unknown_that_persists_says_to_look_and_apply_again(
    org: SandboxProcess, tmp_path: Path
) -> None:
    inject(org, "change_outcome_unknown", "POST", "/workspaces/*", times=50)
    applied = cli(org, tmp_path, RESTYLE, "apply", "--auto-approve")
    assert applied.exit_code == 1, applied.output
    assert "the API could not say whether the change was saved; run plan to see" in (applied.stdout)
    assert "Traceback" not in applied.output


def test_api_key_requester_unconfirmed_is_sent_again(org: SandboxProcess, tmp_path: Path) -> None:
    inject(org, "api_key_requester_unconfirmed", "DELETE", "/users/*")
    applied = cli(org, tmp_path, PRUNE_DEV, "apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert "dev@example.com" not in {u["email"] for u in org.admin_list("users")}
    assert len([r for r in org.requests() if r["method"] == "DELETE"]) == 2
    converged(org, tmp_path, PRUNE_DEV)


def test_api_key_requester_unconfirmed_that_persists_is_one_truthful_sentence(
    org: SandboxProcess, tmp_path: Path
) -> None:
    inject(org, "api_key_requester_unconfirmed", "DELETE", "/users/*", times=50)
    applied = cli(org, tmp_path, PRUNE_DEV, "apply", "--auto-approve")
    assert applied.exit_code == 1, applied.output
    assert (
        "the API could not confirm that the request came from your organization (when removing "
        "a user, they are still a member but may be signed out with some API keys turned off)"
    ) in applied.stdout
    assert "needs the scope" not in applied.output
    assert "dev@example.com" in {u["email"] for u in org.admin_list("users")}


def test_concurrent_membership_change_is_sent_again(org: SandboxProcess, tmp_path: Path) -> None:
    inject(org, "concurrent_membership_change", "DELETE", "/users/*")
    applied = cli(org, tmp_path, PRUNE_DEV, "apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    converged(org, tmp_path, PRUNE_DEV)


def test_workspace_changed_concurrently_reads_the_workspace_before_sending_again(
    org: SandboxProcess, tmp_path: Path
) -> None:
    inject(org, "workspace_changed_concurrently", "POST", "/workspaces/*")
    applied = cli(org, tmp_path, RESTYLE, "apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    research = workspaces(org)["Research"]
    path = f"{BASE}/workspaces/{research['id']}"
    order = [r["method"] for r in org.requests() if r["path"] == path]
    assert order[-3:] == ["POST", "GET", "POST"]  # refused, read, the rest sent again
    assert (research["display_color"], research["tags"]) == ("#2E7D32", {"team": "r2"})
    converged(org, tmp_path, RESTYLE)


@pytest.mark.parametrize("code", ["already_member", "invite_already_exists"])
def test_an_invite_refused_as_done_but_not_seen_is_one_sentence(
    org: SandboxProcess, tmp_path: Path, code: str
) -> None:
    inject(org, code, "POST", "/invites")
    applied = cli(org, tmp_path, INVITE, "apply", "--auto-approve")
    assert applied.exit_code == 1, applied.output
    assert "Could not invite grace@example.com: the API says the address" in applied.stdout
    assert "run plan again in a minute" in applied.stdout


def test_an_invite_made_meanwhile_is_done_when_its_role_is_the_files(
    org: SandboxProcess,
) -> None:
    """Someone invites the address between plan and apply: the API's
    invite_already_exists is done when the role is the file's, one sentence if not."""
    org.admin_call("POST", "invites", json={"email": "grace@example.com", "role": "user"})

    async def invite(role: str) -> None:
        connection = Connection(
            org.url, ORG_ADMIN_KEY, "ANTHROPIC_ADMIN_KEY", retry=FAST, provider="anthropic-admin"
        )
        change = ResourceChange(
            'user["grace@example.com"]', Action.CREATE, None, {"role": FieldChange(None, role)}
        )
        async with AdminSession(connection) as session:
            await session.write(change)

    asyncio.run(invite("user"))
    with pytest.raises(ApiError) as caught:
        asyncio.run(invite("developer"))
    assert caught.value.code == "invite_already_exists"
    assert "was invited as user since the plan, not as developer" in caught.value.message
    pending = [i for i in org.admin_list("invites") if i["email"] == "grace@example.com"]
    assert len(pending) == 1


REFUSALS = [
    ("org_member_limit_exceeded", "POST", "/invites", INVITE, "the member limit Anthropic set"),
    ("email_domain_not_allowed", "POST", "/invites", INVITE, "allows invites only to its allowed"),
    (
        "cannot_invite_emails_with_unverified_domains",
        "POST",
        "/invites",
        INVITE,
        "not a verified domain of the parent organization",
    ),
    (
        "workspace_member_limit_exceeded",
        "POST",
        "/workspaces/*/members",
        HEAD + "workspaces:\n  Research:\n    members:\n      cleo@example.com: workspace_user\n",
        "the workspace has reached the member limit",
    ),
    (
        "org_api_key_limit_exceeded",
        "POST",
        "/api_keys/*",
        HEAD + "api_keys:\n  apikey_01CiKeySandbox: {name: renamed}\n",
        "its limit of active API keys; make another key inactive",
    ),
    (
        "workspace_api_key_limit_exceeded",
        "POST",
        "/api_keys/*",
        HEAD + "api_keys:\n  apikey_01CiKeySandbox: {name: renamed}\n",
        "make another of its keys inactive",
    ),
    (
        "cannot_remove_last_member",
        "DELETE",
        "/users/*",
        PRUNE_DEV,
        "the user is the organization's only member",
    ),
    (
        "workspace_policy_violation",
        "POST",
        "/workspaces",
        HEAD + "workspaces:\n  Elsewhere:\n    display_color: '#000000'\n",
        "breaks the organization's Workspace Policy on name",
    ),
]


@pytest.mark.parametrize(("code", "method", "path", "text", "says"), REFUSALS)
def test_a_documented_refusal_is_one_sentence_and_the_rest_is_applied(
    org: SandboxProcess, tmp_path: Path, code: str, method: str, path: str, text: str, says: str
) -> None:
    inject(org, code, method, path)
    applied = cli(org, tmp_path, text, "apply", "--auto-approve")
    assert applied.exit_code == 1, applied.output
    assert says in applied.stdout
    assert "Apply: 0 applied, 1 failed" in applied.stdout
    assert "needs the scope" not in applied.output
    assert "Traceback" not in applied.output
    assert not any(r["wrote"] for r in org.requests())


def test_an_organization_on_hold_is_one_sentence_with_where_to_appeal(
    org: SandboxProcess, tmp_path: Path
) -> None:
    inject(org, "organization_on_hold", "GET", "/users")
    planned = cli(org, tmp_path, INVITE, "plan")
    assert planned.exit_code == 1, planned.output
    assert planned.stderr.startswith("Error: The API refused to list users: Anthropic has put")
    assert "(appeal at https://support.anthropic.com/appeal)" in planned.stderr
    assert len(planned.stderr.strip().splitlines()) == 1


def test_an_exported_organization_with_prune_plans_no_changes(
    org: SandboxProcess, tmp_path: Path
) -> None:
    out = tmp_path / "exported.yaml"
    exported = run_cli(
        "export",
        "--provider",
        "anthropic-admin",
        "--out",
        str(out),
        env={"ANTHROPIC_ADMIN_KEY": ORG_ADMIN_KEY, "RECONCILER_BASE_URL": org.url},
    )
    assert exported.exit_code == 0, exported.output
    data = yaml.safe_load(out.read_text())
    assert data["users"]["ada@example.com"] == "admin"
    data["users"]["prune"] = True
    converged(org, tmp_path, yaml.safe_dump(data))


def test_pruning_leaves_the_organization_admin_where_the_api_must(
    org: SandboxProcess, tmp_path: Path
) -> None:
    text = (
        HEAD
        + "users:\n  prune: true\n  ben@example.com: admin\n"
        + "".join(
            f"  {e}: {r}\n"
            for e, r in [
                ("cleo@example.com", "billing"),
                ("dev@example.com", "user"),
                ("new.hire@example.com", "developer"),
            ]
        )
    )
    planned = cli(org, tmp_path, text, "plan")
    assert planned.exit_code == 0, planned.output
    assert '- user["ada@example.com"]' not in planned.stdout  # never removed
    # ...but an admin the file does not list is the first thing a reviewer reads.
    assert 'user["ada@example.com"] is live and not in the file: its role is admin' in (
        planned.stdout
    )
    assert (
        'user["ben@example.com"] is listed as an organization admin but is developer live'
        in planned.stdout
    )


def test_an_archived_workspace_is_not_created_again_without_a_decision(
    org: SandboxProcess, tmp_path: Path
) -> None:
    research = workspaces(org)["Research"]
    archived = org.admin_call("POST", f"workspaces/{research['id']}/archive")
    day = archived["archived_at"][:10]
    path = tmp_path / "org.yaml"
    path.write_text(RESTYLE)
    environment = {"ANTHROPIC_ADMIN_KEY": ORG_ADMIN_KEY, "RECONCILER_BASE_URL": org.url}
    planned = run_cli("plan", str(path), env=environment)
    assert planned.exit_code == 1, planned.output
    assert f"({research['id']}) was archived on {day}, and archived is a decision" in (
        planned.stderr
    )
    adopted = run_cli("adopt", str(path), env=environment)
    assert adopted.exit_code == 0, adopted.output
    assert "the file now says archived: true" in adopted.stdout
    assert yaml.safe_load(path.read_text())["workspaces"]["Research"]["archived"] is True
    assert run_cli("plan", str(path), "--detailed-exitcode", env=environment).exit_code == 0
    recreated = RESTYLE.replace("  Research:\n", "  Research:\n    recreate: true\n")
    applied = cli(org, tmp_path, recreated, "apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert '+ workspace["Research"] (create)' in applied.stdout
    assert "a new workspace of this name is created, as the file's recreate: true says" in (
        applied.stdout
    )
    assert workspaces(org)["Research"]["id"] != research["id"]


def test_the_default_workspaces_limits_are_managed_and_nothing_else(
    org: SandboxProcess, tmp_path: Path
) -> None:
    limits = HEAD + "workspaces:\n  Default:\n    spend_limits: {monthly: 12345}\n"
    applied = cli(org, tmp_path, limits, "apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    converged(org, tmp_path, limits)
    tagged = HEAD + "workspaces:\n  Default:\n    tags: {team: all}\n"
    planned = cli(org, tmp_path, tagged, "plan")
    assert planned.exit_code == 1, planned.output
    assert "is the organization's Default workspace, whose tags cannot be changed" in (
        planned.stderr
    )
