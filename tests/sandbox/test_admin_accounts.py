"""The sandbox's service accounts, read and written through the official SDK with strict
response validation, signed in by federation as the SDK documents (an OAuth access
token with org:admin; Admin API keys refused): a workload creates developer-role
accounts only, names are unique slugs (409), only description and role change, and
archiving is idempotent and refused while a rule targets the account. The first of
issue 33's sandbox surfaces."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest

from tests.support.sandbox import ORG_ADMIN_KEY, SERVICE_ACCOUNT_ID, SandboxProcess, shipped_seed


def accepted(obj: Any) -> Any:
    return type(obj).model_validate(obj.to_dict())


def test_a_workload_creates_lists_updates_and_archives_a_developer_account(org: Any) -> None:
    made = accepted(org.service_accounts.create(name="nightly-drift", description="drift job"))
    assert (made.name, made.organization_role, made.type) == (
        "nightly-drift",
        "developer",
        "service_account",
    )
    assert made.created_by_actor_id == SERVICE_ACCOUNT_ID
    listed = [accepted(a) for a in org.service_accounts.list(limit=1)]
    assert listed[0].id == made.id  # newest first, every page walked
    assert SERVICE_ACCOUNT_ID in {a.id for a in listed}
    changed = accepted(org.service_accounts.update(made.id, description=None))
    assert changed.description == ""
    archived = accepted(org.service_accounts.archive(made.id))
    assert archived.archived_at is not None
    again = accepted(org.service_accounts.archive(made.id))
    assert again.archived_at == archived.archived_at  # idempotent
    assert made.id not in {a.id for a in org.service_accounts.list()}
    assert made.id in {a.id for a in org.service_accounts.list(include_archived=True)}
    with pytest.raises(anthropic.BadRequestError, match="archived"):
        org.service_accounts.update(made.id, description="late")


def test_the_references_rules_hold(org: Any) -> None:
    with pytest.raises(anthropic.PermissionDeniedError, match="interactive credential"):
        org.service_accounts.create(name="boss", organization_role="admin")
    org.service_accounts.create(name="twice")
    with pytest.raises(anthropic.ConflictError, match="already exists"):
        org.service_accounts.create(name="twice")
    with pytest.raises(anthropic.BadRequestError, match="slug"):
        org.service_accounts.create(name="Not A Slug")
    with pytest.raises(anthropic.BadRequestError, match="still targets"):
        org.service_accounts.archive(SERVICE_ACCOUNT_ID)  # the shipped rule targets it
    with pytest.raises(anthropic.PermissionDeniedError, match="interactive credential"):
        org.service_accounts.update(SERVICE_ACCOUNT_ID, organization_role="admin")
    with pytest.raises(anthropic.NotFoundError):
        org.service_accounts.retrieve("svac_nope")


def test_an_admin_api_key_is_refused(server: SandboxProcess) -> None:
    assert server.control("POST", "reset", json=shipped_seed()).status_code == 200
    client = anthropic.Anthropic(api_key=ORG_ADMIN_KEY, base_url=server.url, max_retries=0)
    with pytest.raises(anthropic.PermissionDeniedError, match="Admin API keys are not accepted"):
        client.beta.organization.service_accounts.list()


def test_an_account_joins_workspaces_and_keeps_its_implicit_default(org: Any) -> None:
    made = org.service_accounts.create(name="reports-bot")
    first = [accepted(m) for m in org.service_accounts.workspaces.list(made.id)]
    assert [(m.implicit, m.workspace_role) for m in first] == [(True, "workspace_user")]
    research = next(w.id for w in org.workspaces.list() if w.name == "Research")
    added = accepted(
        org.service_accounts.workspaces.add(
            made.id, workspace_id=research, workspace_role="workspace_developer"
        )
    )
    assert added.workspace_role == "workspace_developer"
    org.service_accounts.workspaces.add(
        made.id, workspace_id=research, workspace_role="workspace_admin"
    )
    roles = {
        m.workspace_id: m.workspace_role for m in org.service_accounts.workspaces.list(made.id)
    }
    assert roles[research] == "workspace_admin"  # an add replaces the role
    with pytest.raises(anthropic.BadRequestError, match="no billing role"):
        org.service_accounts.workspaces.add(
            made.id, workspace_id=research, workspace_role="workspace_billing"
        )
    gone = accepted(org.service_accounts.workspaces.remove(research, service_account_id=made.id))
    assert gone.workspace_id == research
    org.service_accounts.workspaces.remove(research, service_account_id=made.id)  # idempotent
    assert len(list(org.service_accounts.workspaces.list(made.id))) == 1
