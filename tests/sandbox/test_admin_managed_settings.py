"""The Enterprise sandbox's Claude Code managed settings through the official SDK
with strict response validation: the order's version guards a reorder (409 on a
stale one), new settings join the end, the mode switch copies the organization
settings only when nothing else is set, a deleted group's settings stay as an
orphan, and the history limit refuses what the SDK says it refuses."""

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

SECURITY, PLATFORM = "rbac_group_01Security", "rbac_group_01Platform"


def reset(server: SandboxProcess, **claude_code: Any) -> Any:
    seed = enterprise_seed()
    admin = {**seed["admin"], "claude_code": {**seed["admin"]["claude_code"], **claude_code}}
    assert server.control("POST", "reset", json={**seed, "admin": admin}).status_code == 200
    client = anthropic.Anthropic(
        api_key=ENTERPRISE_KEY, base_url=server.url, max_retries=0, _strict_response_validation=True
    )
    return client.beta.organization


def code_of(error: anthropic.APIStatusError) -> str:
    body: Any = error.body
    return str(body["error"]["details"]["error_code"])


@pytest.fixture
def org(server: SandboxProcess) -> Any:
    return reset(server)


def test_the_seeded_settings_read_back_in_precedence_order(org: Any) -> None:
    settings = org.claude_code.managed_settings
    config = settings.configuration.retrieve()
    assert (config.mode.type, config.rbac_group_order) == ("rbac_groups", [SECURITY, PLATFORM])
    listed = [s.rbac_group_id for s in settings.rbac_groups.list(limit=1)]
    assert listed == [SECURITY, PLATFORM]
    platform = settings.rbac_groups.retrieve(PLATFORM)
    assert platform.settings["model"] == "claude-sonnet-4-5"
    assert platform.rbac_group_status.type == "active"
    assert "Bash(ssh:*)" in str(settings.rbac_group_default.retrieve().settings)


def test_new_settings_join_the_end_and_a_reorder_needs_the_version_read(org: Any) -> None:
    settings = org.claude_code.managed_settings
    before = settings.configuration.retrieve()
    settings.rbac_groups.set("rbac_group_01Contractors", settings={"model": "claude-haiku-4-5"})
    after = settings.configuration.retrieve()
    assert after.rbac_group_order == [SECURITY, PLATFORM, "rbac_group_01Contractors"]
    assert after.rbac_group_order_version != before.rbac_group_order_version
    with pytest.raises(anthropic.ConflictError):
        settings.configuration.update(
            rbac_group_order=list(reversed(after.rbac_group_order)),
            rbac_group_order_version=before.rbac_group_order_version,
        )
    moved = settings.configuration.update(
        rbac_group_order=list(reversed(after.rbac_group_order)),
        rbac_group_order_version=after.rbac_group_order_version,
    )
    assert moved.rbac_group_order[0] == "rbac_group_01Contractors"


def test_switching_mode_copies_the_organization_settings_only_when_nothing_is_set(
    server: SandboxProcess,
) -> None:
    org = reset(server, mode="organization", groups=[], default=None)
    settings = org.claude_code.managed_settings
    assert settings.rbac_group_default.retrieve().updated_at is None
    settings.configuration.update(mode={"type": "rbac_groups"})
    assert settings.rbac_group_default.retrieve().settings == {
        "permissions": {"deny": ["Bash(curl:*)"]}
    }
    org = reset(server, mode="organization", default=None)
    settings = org.claude_code.managed_settings
    settings.configuration.update(mode={"type": "rbac_groups"})
    assert settings.rbac_group_default.retrieve().settings is None  # members in no group: none


def test_a_deleted_groups_settings_stay_as_an_orphan(org: Any) -> None:
    org.rbac_groups.delete(org.rbac_groups.create(name="Temp").id)
    temp = org.rbac_groups.create(name="Temp2")
    settings = org.claude_code.managed_settings
    settings.rbac_groups.set(temp.id, settings={"model": "claude-haiku-4-5"})
    org.rbac_groups.delete(temp.id)
    orphan = settings.rbac_groups.retrieve(temp.id)
    assert orphan.rbac_group_status.type == "deleted"
    assert temp.id in settings.configuration.retrieve().rbac_group_order
    settings.rbac_groups.delete(temp.id)
    with pytest.raises(anthropic.NotFoundError) as gone:
        settings.rbac_groups.delete(temp.id)
    assert code_of(gone.value) == "rbac_group_managed_settings_not_found"


def test_the_history_limit_refuses_writes_but_not_a_plain_mode_switch(
    server: SandboxProcess,
) -> None:
    org = reset(server, limits={"history": 1, "history_used": 0})
    settings = org.claude_code.managed_settings
    settings.rbac_groups.set(PLATFORM, settings={"model": "claude-haiku-4-5"})
    with pytest.raises(anthropic.BadRequestError) as refused:
        settings.rbac_groups.set(PLATFORM, settings={"model": "claude-opus-4-5"})
    assert code_of(refused.value) == "settings_history_limit_exceeded"
    assert settings.rbac_groups.retrieve(PLATFORM).settings == {"model": "claude-haiku-4-5"}
    assert settings.configuration.update(mode={"type": "organization"}).mode.type == "organization"


def test_without_the_beta_header_the_surface_does_not_exist(server: SandboxProcess) -> None:
    reset(server)
    answer = server.http.get(
        f"{server.url}/v1/organizations/claude_code/managed_settings/configuration",
        headers={"x-api-key": ENTERPRISE_KEY},
    )
    assert answer.status_code == 404


def test_a_console_organization_has_no_managed_settings(server: SandboxProcess) -> None:
    assert server.control("POST", "reset", json=shipped_seed()).status_code == 200
    client = anthropic.Anthropic(
        api_key=ORG_ADMIN_KEY, base_url=server.url, max_retries=0, _strict_response_validation=True
    )
    with pytest.raises(anthropic.NotFoundError):
        client.beta.organization.claude_code.managed_settings.configuration.retrieve()
