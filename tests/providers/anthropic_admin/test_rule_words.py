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
        "match": {"claims": {"repository_id": "1", "repository_owner_id": "2", "ref": "x"}},
    }
    assert warnings('federation_rule["r"]', pinned, GITHUB) == []


IDS = {"repository_id": "1", "repository_owner_id": "2"}


def test_a_condition_is_judged_by_what_it_admits_not_by_the_claims_it_names() -> None:
    """A condition that names the ids but admits everyone (``|| true``, ``|| owner !=
    ours``) admits another owner's job: warned. One that pins them for real still
    gets its own warning: the pin rests on CEL a later edit can loosen unseen."""
    for condition in (
        'claims.repository_id == "1" || true',
        'claims.repository_id == "1" || claims.repository_owner_id != "2"',
    ):
        rule = {**RULE, "match": {"condition": condition, "claims": {"ref": "refs/heads/main"}}}
        said = warnings('federation_rule["r"]', rule, GITHUB)
        assert any("admits a job of another owner (tried: attacker/evil" in w for w in said)
    strict = {
        **RULE,
        "match": {
            "condition": 'claims.repository_id == "1" && claims.repository_owner_id == "2"',
            "claims": {"ref": "refs/heads/main"},
        },
    }
    said = warnings('federation_rule["r"]', strict, GITHUB)
    assert not any("another owner" in w for w in said)
    assert any("pins its tenant only in its CEL condition" in w for w in said)


def test_a_rule_pinning_no_branch_event_or_workflow_is_warned_of() -> None:
    def said(match: dict[str, Any]) -> list[str]:
        rule = {**RULE, "oauth_scope": "workspace:developer", "match": match}
        return [w for w in warnings('federation_rule["r"]', rule, GITHUB) if "any branch" in w]

    assert said({"claims": IDS})
    assert said({"claims": IDS, "condition": 'claims.actor != "eve"'})
    for pin in (
        {"ref": "refs/heads/main"},
        {"environment": "prod"},
        {"event_name": "push"},
        {"job_workflow_ref": "o/r/.github/workflows/ci.yml@refs/heads/main"},
    ):
        assert said({"claims": {**IDS, **pin}}) == [], pin
    assert said({"claims": IDS, "condition": 'claims.ref == "refs/heads/main"'}) == []
    assert said({"claims": IDS, "subject_prefix": "repo:o/r:environment:prod"}) == []


def test_claims_are_checked_in_the_exchanges_order_and_the_condition_last() -> None:
    assert admits(RULE, GITHUB, TOKEN) is None
    assert "iss" in str(admits(RULE, GITHUB, {**TOKEN, "iss": "https://other.example"}))
    assert str(admits(RULE, GITHUB, {**TOKEN, "repository": "fork/app"})).startswith("repository")
    assert "is false" in str(admits(RULE, GITHUB, {**TOKEN, "environment": "dev"}))
    broken = {**RULE, "match": {"condition": "claims.environment =="}}
    assert "does not compile" in str(admits(broken, GITHUB, TOKEN))
