"""A federation rule reviewed as what it grants, and a sample token's claims checked
against it as the exchange checks them (its CEL condition included)."""

from __future__ import annotations

from typing import Any

from reconciler.providers.anthropic_admin.rule_words import admits, effect, warnings

GITHUB = "https://token.actions.githubusercontent.com"
RULE: dict[str, Any] = {
    "issuer": "github-actions",
    "service_account": "deploy",
    "oauth_scope": "org:admin",
    "match": {
        "claims": {"repository": "my-org/app", "ref": "refs/heads/main"},
        "condition": 'claims.environment == "prod"',
    },
    "token_lifetime_seconds": 600,
    "workspaces": "all",
}
TOKEN = {
    "iss": GITHUB,
    "aud": "https://api.anthropic.com",
    "repository": "my-org/app",
    "ref": "refs/heads/main",
    "environment": "prod",
}


def test_a_rule_is_said_as_who_gets_what_for_how_long() -> None:
    said = effect(RULE, GITHUB)
    assert said.startswith("a GitHub Actions job of repository my-org/app on refs/heads/main")
    assert "can act as service account deploy with org:admin for 10 minutes" in said
    assert said.endswith("in every workspace")


def test_names_without_ids_an_unpinned_shared_issuer_and_org_admin_warn() -> None:
    said = warnings('federation_rule["r"]', RULE, GITHUB)
    assert any("by name only" in w for w in said)
    assert any("grants org:admin" in w for w in said)
    loose = {**RULE, "oauth_scope": "workspace:developer", "match": {"claims": {"ref": "x"}}}
    assert [w for w in warnings('federation_rule["r"]', loose, GITHUB) if "shared issuer" in w]
    pinned = {
        **loose,
        "match": {"claims": {"repository_id": "1", "repository_owner_id": "2"}},
    }
    assert warnings('federation_rule["r"]', pinned, GITHUB) == []


def test_claims_are_checked_in_the_exchanges_order_and_the_condition_last() -> None:
    assert admits(RULE, GITHUB, TOKEN) is None
    assert "iss" in str(admits(RULE, GITHUB, {**TOKEN, "iss": "https://other.example"}))
    assert str(admits(RULE, GITHUB, {**TOKEN, "repository": "fork/app"})).startswith("repository")
    assert "is false" in str(admits(RULE, GITHUB, {**TOKEN, "environment": "dev"}))
    broken = {**RULE, "match": {"condition": "claims.environment =="}}
    assert "does not compile" in str(admits(broken, GITHUB, TOKEN))
