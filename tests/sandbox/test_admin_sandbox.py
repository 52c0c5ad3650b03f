"""The sandbox's Admin API surface, driven through Anthropic's official SDK: what
the emulator answers must be what the SDK's own types accept (each object is
re-validated with its pydantic model), and the API's rules hold."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest
from anthropic.types.beta.organization import BetaSpendLimitsAdminAPIWritesNotEnabledError
from anthropic.types.beta_external_key_not_found_error import BetaExternalKeyNotFoundError

from tests.support.sandbox import CONTROL_KEY, SandboxProcess

ADMIN_KEY = "sk-ant-admin01-sandbox"


@pytest.fixture
def org(server: SandboxProcess) -> Any:
    """A fresh Admin API organization for each test, reached through the SDK."""
    seed = {
        "company": server.api("GET", "").json(),
        "keys": [
            {"key": ADMIN_KEY, "scopes": ["organization:admin"]},
            {"key": CONTROL_KEY, "scopes": ["sandbox:control"]},
            {"key": "sk-sandbox-admin", "scopes": ["organization:read", "organization:write"]},
        ],
        "admin": {
            "users": [
                {"email": "ada@example.com", "name": "Ada", "role": "admin"},
                {"email": "ben@example.com", "name": "Ben", "role": "developer"},
            ],
            "workspaces": [
                {
                    "name": "Research",
                    "members": [
                        {"email": "ben@example.com", "workspace_role": "workspace_developer"}
                    ],
                    "spend_limit": 50000,
                }
            ],
            "api_keys": [{"name": "ci-key"}],
            "external_keys": ["cmk_01Test"],
            "spend_limits": {"currency": "EUR", "organization": 500000},
        },
    }
    assert server.control("POST", "reset", json=seed).status_code == 200
    client = anthropic.Anthropic(
        api_key=ADMIN_KEY, base_url=server.url, max_retries=0, _strict_response_validation=True
    )
    return client.beta.organization


def accepted(obj: Any) -> Any:
    """The SDK builds objects without validating; validate each one for real."""
    return type(obj).model_validate(obj.to_dict())


def test_the_organization_and_its_users(org: Any) -> None:
    accepted(org.retrieve())
    users = [accepted(u) for u in org.users.list()]
    assert sorted(u.email for u in users) == ["ada@example.com", "ben@example.com"]
    ben = next(u for u in users if u.email == "ben@example.com")
    assert accepted(org.users.retrieve(ben.id)).role == "developer"
    assert accepted(org.users.update(ben.id, role="billing")).role == "billing"
    assert [u.email for u in org.users.list(email="ben@example.com")] == ["ben@example.com"]


def test_admin_is_not_assignable_and_admins_stay(org: Any) -> None:
    users = {u.email: u for u in org.users.list()}
    with pytest.raises(anthropic.BadRequestError) as caught:
        org.users.update(users["ben@example.com"].id, role="admin")
    assert "cannot be assigned" in str(caught.value)
    with pytest.raises(anthropic.BadRequestError):
        org.users.remove(users["ada@example.com"].id)


def test_invites_are_created_listed_and_deleted_while_pending(org: Any) -> None:
    invite = accepted(org.invites.create(email="new@example.com", role="developer"))
    assert invite.status == "pending"
    assert [i.id for i in org.invites.list()] == [invite.id]
    org.invites.delete(invite.id)
    assert list(org.invites.list()) == []
    with pytest.raises(anthropic.BadRequestError):
        org.invites.create(email="ben@example.com", role="user")  # already a member


def test_workspaces_are_created_updated_and_archived_never_deleted(org: Any) -> None:
    created = accepted(
        org.workspaces.create(
            name="Support",
            tags={"team": "support"},
            data_residency={"allowed_inference_geos": ["us"], "default_inference_geo": "us"},
        )
    )
    assert created.data_residency.default_inference_geo == "us"
    updated = accepted(
        org.workspaces.update(created.id, name="Support Bots", tags={"team": None, "tier": "1"})
    )
    assert (updated.name, updated.tags) == ("Support Bots", {"tier": "1"})
    archived = accepted(org.workspaces.archive(created.id))
    assert archived.archived_at is not None
    assert created.id not in [w.id for w in org.workspaces.list()]
    assert created.id in [w.id for w in org.workspaces.list(include_archived=True)]
    with pytest.raises(anthropic.BadRequestError):
        org.workspaces.update(created.id, name="Back")


def test_members_are_added_updated_and_removed(org: Any) -> None:
    workspace = next(iter(org.workspaces.list()))
    users = {u.email: u for u in org.users.list()}
    members = [accepted(m) for m in org.workspaces.members.list(workspace.id)]
    assert [m.workspace_role for m in members] == ["workspace_developer"]
    ada = users["ada@example.com"].id
    added = accepted(
        org.workspaces.members.add(workspace.id, user_id=ada, workspace_role="workspace_user")
    )
    assert added.workspace_role == "workspace_user"
    assert accepted(
        org.workspaces.members.update(
            ada, workspace_id=workspace.id, workspace_role="workspace_admin"
        )
    ).workspace_role == ("workspace_admin")
    org.workspaces.members.remove(ada, workspace_id=workspace.id)
    assert len(list(org.workspaces.members.list(workspace.id))) == 1
    with pytest.raises(anthropic.BadRequestError):
        org.workspaces.members.add(workspace.id, user_id=ada, workspace_role="workspace_billing")


def test_api_keys_are_renamed_and_deactivated(org: Any) -> None:
    (key,) = [accepted(k) for k in org.api_keys.list()]
    renamed = accepted(org.api_keys.update(key.id, name="deploy", status="inactive"))
    assert (renamed.name, renamed.status) == ("deploy", "inactive")
    assert [k.id for k in org.api_keys.list(status="inactive")] == [key.id]


def test_pagination_walks_every_user_through_the_sdk(server: SandboxProcess, org: Any) -> None:
    seed_users = [{"email": f"user{n:02d}@example.com", "role": "user"} for n in range(45)]
    server.control(
        "POST",
        "reset",
        json={"company": server.api("GET", "").json(), "admin": {"users": seed_users}},
    )
    emails = [u.email for u in org.users.list(limit=20)]
    assert sorted(emails) == sorted(u["email"] for u in seed_users)
    page = org.users.list(limit=20)
    assert page.has_more is True
    assert len(page.data) == 20


def test_errors_carry_the_request_id_and_the_key_needs_the_admin_scope(
    server: SandboxProcess, org: Any
) -> None:
    with pytest.raises(anthropic.NotFoundError) as missing:
        org.users.retrieve("user_nope")
    assert missing.value.request_id
    assert missing.value.body["request_id"] == missing.value.request_id
    company_key = anthropic.Anthropic(
        api_key="sk-sandbox-admin", base_url=server.url, max_retries=0
    )
    with pytest.raises(anthropic.PermissionDeniedError) as refused:
        company_key.beta.organization.users.list().data  # noqa: B018
    assert "organization:admin" in str(refused.value)


def test_admins_and_billing_users_inherit_a_role_in_every_workspace(org: Any) -> None:
    workspace = next(iter(org.workspaces.list()))
    users = {u.email: u for u in org.users.list()}
    ada = users["ada@example.com"].id  # an organization admin, never added
    inherited = accepted(org.workspaces.members.retrieve(ada, workspace_id=workspace.id))
    assert inherited.workspace_role == "workspace_admin"
    assert ada not in [m.user_id for m in org.workspaces.members.list(workspace.id)]
    with pytest.raises(anthropic.BadRequestError, match="inherited role"):
        org.workspaces.members.update(
            ada, workspace_id=workspace.id, workspace_role="workspace_user"
        )
    empty = org.workspaces.create(name="Empty")
    with pytest.raises(anthropic.NotFoundError):  # a developer inherits nothing
        org.workspaces.members.retrieve(users["ben@example.com"].id, workspace_id=empty.id)
    assert accepted(org.workspaces.members.retrieve(ada, workspace_id=empty.id)).workspace_role == (
        "workspace_admin"
    )


SONNET = "rlg_01VPTCmyiu5ZLsWkcxYG2pY8"


def test_the_rate_limit_table_and_a_workspaces_overrides(org: Any) -> None:
    table = [accepted(entry) for entry in org.rate_limits.list()]
    sonnet = next(e for e in table if e.group.id == SONNET)
    assert sonnet.group.display_name == "Claude Sonnet 4.x"
    assert [accepted(e).group.id for e in org.rate_limits.list(group_type="batch")] == [
        e.group.id for e in table if e.group.type == "batch"
    ]
    workspace = next(iter(org.workspaces.list()))
    assert list(org.workspaces.rate_limits.list(workspace.id)) == []  # no override yet
    changed = accepted(
        org.workspaces.rate_limits.update(
            sonnet.id,
            workspace_id=workspace.id,
            limits=[
                {"type": "requests_per_minute", "value": 100},
                {"type": "output_tokens_per_minute", "value": 999_999_999},  # above the org's
            ],
        )
    )
    assert {v.type: (v.value, v.org_limit, v.source.type) for v in changed.limits} == {
        "requests_per_minute": (100, 4000, "workspace"),
        "output_tokens_per_minute": (999_999_999, 400000, "workspace"),
    }
    # null clears one override; the type not named keeps its own
    org.workspaces.rate_limits.update(
        sonnet.id,
        workspace_id=workspace.id,
        limits=[{"type": "requests_per_minute", "value": None}],
    )
    (entry,) = [accepted(e) for e in org.workspaces.rate_limits.list(workspace.id)]
    assert [(v.type, v.value) for v in entry.limits] == [("output_tokens_per_minute", 999_999_999)]
    inherited = [
        accepted(e) for e in org.workspaces.rate_limits.list(workspace.id, include_inherited=True)
    ]
    assert len(inherited) == len(table)
    rpm = next(
        v
        for e in inherited
        if e.group.id == SONNET
        for v in e.limits
        if v.type == "requests_per_minute"
    )
    assert (rpm.value, rpm.source.type) == (4000, "organization")


def test_rate_limit_overrides_refuse_what_the_group_does_not_have(org: Any) -> None:
    batch = next(e for e in org.rate_limits.list() if e.group.type == "batch")
    workspace = next(iter(org.workspaces.list()))
    with pytest.raises(anthropic.BadRequestError) as caught:
        org.workspaces.rate_limits.update(
            batch.id, workspace_id=workspace.id, limits=[{"type": "tokens_per_day", "value": 1}]
        )
    assert "requests_per_minute" in str(caught.value)  # the valid types are listed
    with pytest.raises(anthropic.NotFoundError):
        org.workspaces.rate_limits.update(
            "rl_nope",
            workspace_id=workspace.id,
            limits=[{"type": "requests_per_minute", "value": 1}],
        )


def test_spend_limits_are_set_listed_and_deleted(org: Any) -> None:
    limits = [accepted(s) for s in org.spend_limits.list()]
    assert {s.scope.type: (s.amount, s.currency) for s in limits} == {
        "workspace": ("50000", "EUR"),
        "organization": ("500000", "EUR"),
        "usage_tier": ("10000000", "EUR"),
    }
    assert limits[0].scope.type == "workspace"  # newest first
    workspace = next(iter(org.workspaces.list()))
    raised = accepted(
        org.spend_limits.set(
            amount="75000", scope={"type": "workspace", "workspace_id": workspace.id}
        )
    )
    assert raised.id == next(s.id for s in limits if s.scope.type == "workspace")  # an upsert
    assert accepted(org.spend_limits.retrieve(raised.id)).amount == "75000"
    assert [s.amount for s in org.spend_limits.list(workspace_id=workspace.id)] == ["75000"]
    assert [s.scope.type for s in org.spend_limits.list(scope_type=["organization"])] == [
        "organization"
    ]
    org.spend_limits.delete(raised.id)
    with pytest.raises(anthropic.NotFoundError):
        org.spend_limits.retrieve(raised.id)
    tier = next(s for s in limits if s.scope.type == "usage_tier")
    with pytest.raises(anthropic.BadRequestError):
        org.spend_limits.delete(tier.id)
    for bad in ({"amount": "-5"}, {"amount": "5", "period": "daily"}, {"amount": None}):
        with pytest.raises(anthropic.BadRequestError):
            org.spend_limits.set(scope={"type": "organization"}, **{"amount": "1", **bad})


def test_spend_limits_without_the_preview_are_refused_with_its_code(
    server: SandboxProcess, org: Any
) -> None:
    seed = {
        "company": server.api("GET", "").json(),
        "keys": [
            {"key": ADMIN_KEY, "scopes": ["organization:admin"]},
            {"key": CONTROL_KEY, "scopes": ["sandbox:control"]},
            {"key": "sk-sandbox-admin", "scopes": ["organization:read", "organization:write"]},
        ],
        "admin": {"spend_limits": {"admin_api": False}},
    }
    assert server.control("POST", "reset", json=seed).status_code == 200
    for call in (
        lambda: org.spend_limits.list().data,
        lambda: org.spend_limits.set(amount="1", scope={"type": "organization"}),
    ):
        with pytest.raises(BetaSpendLimitsAdminAPIWritesNotEnabledError):
            call()


def test_a_workspace_colour_and_its_write_once_external_key(org: Any) -> None:
    workspace = next(iter(org.workspaces.list()))
    assert accepted(org.workspaces.update(workspace.id, display_color="#0A0B0C")).display_color == (
        "#0A0B0C"
    )
    with pytest.raises(anthropic.BadRequestError):
        org.workspaces.update(workspace.id, display_color="teal")
    with pytest.raises(BetaExternalKeyNotFoundError):
        org.workspaces.update(workspace.id, external_key_id="cmk_unknown")
    attached = accepted(org.workspaces.update(workspace.id, external_key_id="cmk_01Test"))
    assert attached.external_key_id == "cmk_01Test"
    org.workspaces.update(workspace.id, external_key_id="cmk_01Test")  # the same: no change
    with pytest.raises(anthropic.BadRequestError) as caught:
        org.workspaces.update(workspace.id, external_key_id="cmk_other")
    assert "write-once" in str(caught.value)
    created = accepted(org.workspaces.create(name="Coloured", display_color="#123456"))
    assert created.display_color == "#123456"
