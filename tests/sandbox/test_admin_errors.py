"""The sandbox's documented Admin API failures (``admin_errors``), driven through the
official SDK with strict response validation: each ``error_code`` comes with the
status and exception class the SDK gives it, its details parse, its partial effect
is what the SDK documents, and a rule answers exactly ``times`` requests."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest

from reconciler.sandbox.admin_errors import DOCUMENTED
from tests.support.sandbox import CONTROL_KEY, SandboxProcess

ADMIN_KEY = "sk-ant-admin01-sandbox"
BASE = "/v1/organizations"


@pytest.fixture
def org(server: SandboxProcess) -> Any:
    seed = {
        "company": server.api("GET", "").json(),
        "keys": [
            {"key": ADMIN_KEY, "scopes": ["organization:admin"]},
            {"key": CONTROL_KEY, "scopes": ["sandbox:control"]},
            {"key": "sk-sandbox-admin", "scopes": ["organization:read", "organization:write"]},
        ],
        "admin": {
            "users": [
                {"id": "user_ada", "email": "ada@example.com", "role": "admin"},
                {"id": "user_ben", "email": "ben@example.com", "role": "developer"},
            ],
            "workspaces": [{"id": "wrkspc_research", "name": "Research", "tags": {"a": "1"}}],
            "api_keys": [
                {"id": "apikey_ben", "name": "ben's", "created_by": "user_ben"},
                {"id": "apikey_ada", "name": "ada's", "created_by": "user_ada"},
            ],
        },
    }
    assert server.control("PATCH", "settings", json={"admin_errors": []}).status_code == 200
    assert server.control("POST", "reset", json=seed).status_code == 200
    client = anthropic.Anthropic(
        api_key=ADMIN_KEY, base_url=server.url, max_retries=0, _strict_response_validation=True
    )
    return client.beta.organization


def inject(server: SandboxProcess, code: str, method: str, path: str, times: int = 1) -> None:
    rule = {"error_code": code, "method": method, "path": f"{BASE}{path}", "times": times}
    answer = server.control("PATCH", "settings", json={"admin_errors": [rule]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["admin_errors"] == [rule]


def test_workspace_created_incomplete_creates_the_workspace_with_its_name_only(
    server: SandboxProcess, org: Any
) -> None:
    inject(server, "workspace_created_incomplete", "POST", "/workspaces")
    with pytest.raises(anthropic.InternalServerError) as caught:
        org.workspaces.create(name="Support", tags={"team": "support"}, display_color="#123456")
    error = caught.value
    assert (error.status_code, error.error_code) == (503, "workspace_created_incomplete")
    assert type(error).__name__ == "WorkspaceCreatedIncompleteError"
    created = org.workspaces.retrieve(error.details.workspace_id)
    assert (created.name, created.tags) == ("Support", {})
    assert created.display_color != "#123456"
    assert [w.name for w in org.workspaces.list()].count("Support") == 1


def test_change_outcome_unknown_is_answered_after_the_change_is_made(
    server: SandboxProcess, org: Any
) -> None:
    inject(server, "change_outcome_unknown", "POST", "/workspaces/*")
    with pytest.raises(anthropic.InternalServerError) as caught:
        org.workspaces.update("wrkspc_research", display_color="#654321")
    assert type(caught.value).__name__ == "ChangeOutcomeUnknownError"
    assert org.workspaces.retrieve("wrkspc_research").display_color == "#654321"


def test_api_key_requester_unconfirmed_leaves_the_user_with_their_keys_off(
    server: SandboxProcess, org: Any
) -> None:
    inject(server, "api_key_requester_unconfirmed", "DELETE", "/users/*")
    with pytest.raises(anthropic.PermissionDeniedError) as caught:
        org.users.remove("user_ben")
    assert caught.value.error_code == "api_key_requester_unconfirmed"
    assert org.users.retrieve("user_ben").role == "developer"
    assert org.api_keys.retrieve("apikey_ben").status == "inactive"
    assert org.api_keys.retrieve("apikey_ada").status == "active"
    org.users.remove("user_ben")  # "safe to send the same request again"
    assert [u.id for u in org.users.list()] == ["user_ada"]


def test_workspace_changed_concurrently_leaves_the_named_field_and_makes_the_rest(
    server: SandboxProcess, org: Any
) -> None:
    inject(server, "workspace_changed_concurrently", "POST", "/workspaces/*")
    with pytest.raises(anthropic.ConflictError) as caught:
        org.workspaces.update("wrkspc_research", display_color="#111111", tags={"b": "2"})
    assert caught.value.details.field == "display_color"
    now = org.workspaces.retrieve("wrkspc_research")
    assert now.display_color != "#111111"
    assert now.tags == {"a": "1", "b": "2"}


@pytest.mark.parametrize(
    ("code", "method", "path", "call"),
    [
        ("concurrent_membership_change", "DELETE", "/users/*", "remove_ben"),
        ("cannot_remove_last_member", "DELETE", "/users/*", "remove_ben"),
        ("already_member", "POST", "/invites", "invite_ben"),
        ("invite_already_exists", "POST", "/invites", "invite_ben"),
        ("org_member_limit_exceeded", "POST", "/invites", "invite_ben"),
        ("email_domain_not_allowed", "POST", "/invites", "invite_ben"),
        ("cannot_invite_emails_with_unverified_domains", "POST", "/invites", "invite_ben"),
        ("workspace_member_limit_exceeded", "POST", "/workspaces/*/members", "add_ben"),
        ("org_api_key_limit_exceeded", "POST", "/api_keys/*", "activate_key"),
        ("workspace_api_key_limit_exceeded", "POST", "/api_keys/*", "activate_key"),
        ("workspace_policy_violation", "POST", "/workspaces", "create_workspace"),
        ("organization_on_hold", "GET", "/users", "list_users"),
    ],
)
def test_a_refusal_writes_nothing_and_comes_with_its_status_and_code(
    server: SandboxProcess, org: Any, code: str, method: str, path: str, call: str
) -> None:
    calls = {
        "remove_ben": lambda: org.users.remove("user_ben"),
        "invite_ben": lambda: org.invites.create(email="zed@example.com", role="user"),
        "add_ben": lambda: org.workspaces.members.add(
            "wrkspc_research", user_id="user_ben", workspace_role="workspace_user"
        ),
        "activate_key": lambda: org.api_keys.update("apikey_ben", status="active"),
        "create_workspace": lambda: org.workspaces.create(name="Elsewhere"),
        "list_users": lambda: list(org.users.list()),
    }
    before = server.requests()
    inject(server, code, method, path, times=2)
    for _ in range(2):
        with pytest.raises(anthropic.APIStatusError) as caught:
            calls[call]()
        assert (caught.value.status_code, caught.value.error_code) == (
            DOCUMENTED[code].status,
            code,
        )
        assert type(caught.value).__name__ not in ("BadRequestError", "APIStatusError")
    assert not any(r["wrote"] for r in server.requests()[len(before) :])
    assert server.control("GET", "settings").json()["admin_errors"] == []
    calls[call]()  # the rule is used up: the request goes through


def test_a_rule_for_a_call_the_sdk_does_not_document_is_refused(server: SandboxProcess) -> None:
    rule = {
        "error_code": "workspace_created_incomplete",
        "method": "DELETE",
        "path": f"{BASE}/users/*",
        "times": 1,
    }
    answer = server.control("PATCH", "settings", json={"admin_errors": [rule]})
    assert answer.status_code == 400
    said = answer.json()["error"]["message"]
    assert "documents workspace_created_incomplete only for POST" in said
    unknown = {**rule, "error_code": "no_such_code"}
    assert server.control("PATCH", "settings", json={"admin_errors": [unknown]}).status_code == 400
