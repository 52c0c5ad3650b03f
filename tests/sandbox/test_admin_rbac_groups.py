"""The Enterprise sandbox's RBAC groups, members and roles through the official SDK
with strict response validation: a created group is ``direct``, an identity
provider's (``scim``) and an owner-access group refuse membership changes with
the errors the SDK documents, and a Console organization has no groups at all."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest

from tests.support.sandbox import (
    ENTERPRISE_KEY,
    ORG_ADMIN_KEY,
    SandboxProcess,
    enterprise_seed,
    shipped_seed,
)


def client(server: SandboxProcess, key: str) -> Any:
    return anthropic.Anthropic(
        api_key=key, base_url=server.url, max_retries=0, _strict_response_validation=True
    ).beta.organization


@pytest.fixture
def org(server: SandboxProcess) -> Any:
    assert server.control("POST", "reset", json=enterprise_seed()).status_code == 200
    return client(server, ENTERPRISE_KEY)


def code_of(error: anthropic.APIStatusError) -> str:
    body: Any = error.body
    return str(body["error"]["details"]["error_code"])


def group_named(org: Any, name: str) -> Any:
    return next(g for g in org.rbac_groups.list() if g.name == name)


def test_groups_list_as_seeded_and_a_created_one_is_direct(org: Any) -> None:
    seeded = {g.name: g.source_type for g in org.rbac_groups.list(limit=2)}
    assert seeded == {
        "Platform": "direct",
        "Contractors": "direct",
        "Security": "scim",
        "Owners": "direct",
    }
    made = org.rbac_groups.create(name="Data")
    assert (made.source_type, made.role_ids) == ("direct", [])
    renamed = org.rbac_groups.update(made.id, name="Data Science")
    assert org.rbac_groups.retrieve(made.id).name == renamed.name == "Data Science"
    assert org.rbac_groups.delete(made.id).type == "rbac_group_deleted"
    with pytest.raises(anthropic.NotFoundError) as gone:
        org.rbac_groups.retrieve(made.id)
    assert "rbac_group_not_found" in str(gone.value)


def test_members_are_users_added_and_removed_by_id(org: Any) -> None:
    users = {u.email: u.id for u in org.users.list()}
    platform = group_named(org, "Platform")
    listed = [m.email for m in org.rbac_groups.members.list(platform.id)]
    assert sorted(listed) == ["ada@example.com", "ben@example.com"]
    added = org.rbac_groups.members.add(platform.id, user_id=users["cleo@example.com"])
    assert (added.email, added.rbac_group_id) == ("cleo@example.com", platform.id)
    org.rbac_groups.members.remove(users["ben@example.com"], rbac_group_id=platform.id)
    listed = [m.email for m in org.rbac_groups.members.list(platform.id)]
    assert sorted(listed) == ["ada@example.com", "cleo@example.com"]


def test_an_identity_providers_group_is_read_only(org: Any) -> None:
    users = {u.email: u.id for u in org.users.list()}
    security = group_named(org, "Security")
    for change in (
        lambda: org.rbac_groups.members.add(security.id, user_id=users["ben@example.com"]),
        lambda: org.rbac_groups.members.remove(users["sam@example.com"], rbac_group_id=security.id),
        lambda: org.rbac_groups.update(security.id, name="Sec"),
        lambda: org.rbac_groups.delete(security.id),
    ):
        with pytest.raises(anthropic.BadRequestError) as refused:
            change()
        assert "scim" in str(refused.value)
    assert [m.email for m in org.rbac_groups.members.list(security.id)] == ["sam@example.com"]


def test_an_owner_access_group_refuses_membership_changes(org: Any) -> None:
    users = {u.email: u.id for u in org.users.list()}
    owners = group_named(org, "Owners")
    with pytest.raises(anthropic.BadRequestError) as refused:
        org.rbac_groups.members.add(owners.id, user_id=users["ben@example.com"])
    assert code_of(refused.value) == "rbac_group_grants_owner_access"
    with pytest.raises(anthropic.BadRequestError):
        org.rbac_groups.delete(owners.id)
    roles = {r.id: r.source.type for r in org.rbac_roles.list()}
    assert roles == {"rbac_role_01Engineer": "custom", "rbac_role_01Owner": "built_in"}
    assert owners.role_ids == ["rbac_role_01Owner"]


def test_a_console_organization_has_no_rbac_groups(server: SandboxProcess) -> None:
    assert server.control("POST", "reset", json=shipped_seed()).status_code == 200
    with pytest.raises(anthropic.BadRequestError) as refused:
        client(server, ORG_ADMIN_KEY).rbac_groups.list()
    assert "organization_type_not_supported" in str(refused.value)


def test_a_key_without_the_groups_write_scope_cannot_change_them(
    server: SandboxProcess,
) -> None:
    seed = enterprise_seed()
    reader = {"key": "sk-ant-api01-reader", "scopes": ["read:rbac_groups"]}
    keys = [*seed["keys"], reader]
    assert server.control("POST", "reset", json={**seed, "keys": keys}).is_success
    org = client(server, "sk-ant-api01-reader")
    assert len(org.rbac_groups.list().data) == 4
    with pytest.raises(anthropic.PermissionDeniedError):
        org.rbac_groups.create(name="Sneaky")


def test_an_enterprise_organization_has_no_console_endpoints(org: Any) -> None:
    for read in (org.workspaces.list, org.api_keys.list, org.rate_limits.list):
        with pytest.raises(anthropic.BadRequestError) as refused:
            read()
        assert code_of(refused.value) == "organization_type_not_supported"
