"""The sandbox's federation issuers and rules and its webhook endpoints, through the
official SDK with strict response validation, with the reference's rules: OAuth
``org:admin`` only for issuers and rules, and a workload manages only rules whose scope
is ``workspace:developer`` or ``workspace:inference`` (an ``org:admin`` rule, or an
issuer backing one, needs a Console session); names unique (409); a rule's match must
narrow something and pin the tenant on a shared issuer; at most 32 webhooks, whose
signing secret is answered once and kept nowhere readable."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest

from tests.support.sandbox import (
    ORG_ADMIN_KEY,
    RULE_ID,
    SERVICE_ACCOUNT_ID,
    SandboxProcess,
)

ISSUER_ID = "fdis_01SandboxGitHubActions"
GITHUB = "https://token.actions.githubusercontent.com"


def accepted(obj: Any) -> Any:
    return type(obj).model_validate(obj.to_dict())


def pinned(repository: str = "my-org/app") -> dict[str, Any]:
    return {"claims": {"repository": repository, "repository_owner_id": "3337628139"}}


def test_a_workload_manages_a_developer_rule_and_its_workspaces(org: Any) -> None:
    account = org.service_accounts.create(name="app-deploy")
    research = next(w.id for w in org.workspaces.list() if w.name == "Research")
    made = accepted(
        org.federation.rules.create(
            name="app-main",
            issuer_id=ISSUER_ID,
            match=pinned(),
            oauth_scope="workspace:developer",
            target={"type": "service_account", "service_account_id": account.id},
            workspace_id=research,
            token_lifetime_seconds=900,
        )
    )
    assert (made.issuer_name, made.target.service_account_name) == ("github-actions", "app-deploy")
    assert made.workspace_ids == [research]
    assert made.applies_to_all_workspaces is False
    listed = [accepted(r) for r in org.federation.rules.list(limit=1)]
    assert [r.name for r in listed] == ["org-settings-main", "app-main"]  # every page walked
    changed = accepted(org.federation.rules.update(made.id, match=pinned("my-org/other")))
    assert changed.match.claims == pinned("my-org/other")["claims"]
    with pytest.raises(anthropic.BadRequestError, match="issuer_id"):
        org.federation.rules.update(made.id, extra_body={"issuer_id": "fdis_other"})
    archived = accepted(org.federation.rules.archive(made.id))
    assert archived.archived_at is not None
    assert archived.workspace_ids == []
    assert accepted(org.federation.rules.archive(made.id)).archived_at == archived.archived_at
    with pytest.raises(anthropic.BadRequestError, match="archived"):
        org.federation.rules.update(made.id, description="again")


def test_org_admin_rules_and_their_issuer_need_a_console_session(org: Any) -> None:
    with pytest.raises(anthropic.PermissionDeniedError, match="Console session"):
        org.federation.rules.update(RULE_ID, description="widened")
    with pytest.raises(anthropic.PermissionDeniedError, match="Console session"):
        org.federation.rules.archive(RULE_ID)
    with pytest.raises(anthropic.PermissionDeniedError, match="Console session"):
        org.federation.issuers.update(ISSUER_ID, max_jwt_lifetime_seconds=7200)
    with pytest.raises(anthropic.PermissionDeniedError, match="Console session"):
        org.federation.rules.create(
            name="admin-too",
            issuer_id=ISSUER_ID,
            match=pinned(),
            oauth_scope="org:admin",
            target={"type": "service_account", "service_account_id": SERVICE_ACCOUNT_ID},
            applies_to_all_workspaces=True,
        )
    rule = accepted(org.federation.rules.retrieve(RULE_ID))
    assert rule.oauth_scope == "org:admin"
    assert rule.description is None


def test_names_are_unique_and_a_match_must_pin_the_tenant(org: Any) -> None:
    account = org.service_accounts.create(name="lint")
    target = {"type": "service_account", "service_account_id": account.id}
    common = {"issuer_id": ISSUER_ID, "oauth_scope": "workspace:inference", "target": target}
    with pytest.raises(anthropic.BadRequestError, match="pin the tenant"):
        org.federation.rules.create(
            name="any-repo",
            match={"claims": {"ref": "refs/heads/main"}},
            applies_to_all_workspaces=True,
            **common,
        )
    with pytest.raises(anthropic.BadRequestError, match="subject_prefix"):
        org.federation.rules.create(
            name="wild", match={"subject_prefix": "*"}, applies_to_all_workspaces=True, **common
        )
    with pytest.raises(anthropic.BadRequestError, match="constant-true"):
        org.federation.rules.create(
            name="yes", match={"condition": "true"}, applies_to_all_workspaces=True, **common
        )
    with pytest.raises(anthropic.BadRequestError, match="workspace_id"):
        org.federation.rules.create(name="nowhere", match=pinned(), **common)
    with pytest.raises(anthropic.ConflictError):
        org.federation.rules.create(
            name="org-settings-main", match=pinned(), applies_to_all_workspaces=True, **common
        )
    issuer = accepted(org.federation.issuers.create(name="gitlab", issuer_url="https://gitlab.com"))
    assert issuer.jwks.type == "discovery"
    assert issuer.check_jti is True
    with pytest.raises(anthropic.ConflictError):
        org.federation.issuers.create(name="gitlab", issuer_url="https://gitlab.example")
    rule = org.federation.rules.create(
        name="gitlab-group",
        issuer_id=issuer.id,
        match={"subject_prefix": "project_path:my-group/app:*"},
        oauth_scope="workspace:inference",
        target=target,
        applies_to_all_workspaces=True,
    )
    with pytest.raises(anthropic.BadRequestError, match="still references"):
        org.federation.issuers.archive(issuer.id)
    org.federation.rules.archive(rule.id)
    assert accepted(org.federation.issuers.archive(issuer.id)).archived_at is not None
    assert [i.name for i in org.federation.issuers.list()] == ["github-actions"]


def test_issuers_and_rules_refuse_an_admin_api_key(server: SandboxProcess, org: Any) -> None:
    client = anthropic.Anthropic(api_key=ORG_ADMIN_KEY, base_url=server.url, max_retries=0)
    with pytest.raises(anthropic.PermissionDeniedError, match="Admin API keys are not accepted"):
        client.beta.organization.federation.rules.list()
    with pytest.raises(anthropic.PermissionDeniedError, match="Admin API keys are not accepted"):
        client.beta.organization.federation.issuers.list()


def test_webhooks_answer_the_signing_secret_once_and_stop_at_32(server: SandboxProcess) -> None:
    client = anthropic.Anthropic(
        api_key=ORG_ADMIN_KEY, base_url=server.url, max_retries=0, _strict_response_validation=True
    )
    hooks = client.beta.organization.webhooks
    made = accepted(
        hooks.create(url="https://ops.example/hooks", enabled_events=["external_key.failed"])
    )
    assert made.signing_secret.startswith("whsec_")
    read = hooks.retrieve(made.id).to_dict()
    assert "signing_secret" not in read
    assert made.signing_secret not in str(read)
    log = server.control("GET", "requests").text
    assert made.signing_secret not in log
    changed = accepted(hooks.update(made.id, state="disabled", enabled_events=[]))
    assert (changed.state, changed.enabled_events) == ("disabled", ["external_key.failed"])
    for n in range(31):
        hooks.create(url=f"https://ops.example/{n}", enabled_events=["external_key.recovered"])
    assert len(list(hooks.list(limit=5))) == 32  # newest first, every page walked
    with pytest.raises(anthropic.BadRequestError, match="32"):
        hooks.create(url="https://ops.example/one-more", enabled_events=["external_key.failed"])
    hooks.delete(made.id)
    with pytest.raises(anthropic.NotFoundError):
        hooks.retrieve(made.id)
