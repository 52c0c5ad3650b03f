"""The sandbox's token endpoint in process: each thing a real one checks before it
mints an access token (signature, issuer, times, audience, organization, target),
and what an access token may then do. The installed CLI's side is
``tests/e2e/test_federation_cli.py``."""

from __future__ import annotations

import copy
import time
from typing import Any

import pytest
from starlette.testclient import TestClient

from reconciler.sandbox.oidc import Signer
from tests.support.sandbox import (
    CONTROL_KEY,
    ORGANIZATION_ID,
    RULE_ID,
    SERVICE_ACCOUNT_ID,
    shipped_seed,
)

BETAS = {"anthropic-beta": "oauth-2025-04-20,oidc-federation-2026-04-01"}
GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def minted(api: TestClient, **claims: Any) -> str:
    answer = api.post("/_sandbox/oidc/token", json=claims, headers={"x-api-key": CONTROL_KEY})
    token: str = answer.json()["token"]
    return token


def exchange(api: TestClient, assertion: str, **body: Any) -> Any:
    grant = {
        "grant_type": GRANT,
        "assertion": assertion,
        "federation_rule_id": RULE_ID,
        "organization_id": ORGANIZATION_ID,
        "service_account_id": SERVICE_ACCOUNT_ID,
        **body,
    }
    return api.post("/v1/oauth/token", json=grant, headers={"x-api-key": "", **BETAS})


def refused(answer: Any) -> str:
    assert answer.status_code in (400, 401, 403), answer.text
    description: str = answer.json()["error_description"]
    return description


def test_a_token_the_rule_accepts_buys_an_admin_access_token(api: TestClient) -> None:
    answer = exchange(api, minted(api))
    assert answer.status_code == 200, answer.text
    token = answer.json()
    assert token["token_type"] == "Bearer"
    assert token["scope"] == "org:admin"
    assert 60 <= token["expires_in"] <= 600
    bearer = {"authorization": f"Bearer {token['access_token']}", "x-api-key": ""}
    users = api.get("/v1/organizations/users", headers={**bearer, **BETAS})
    assert users.status_code == 200
    without_beta = api.get("/v1/organizations/users", headers=bearer)
    assert without_beta.status_code == 401
    assert without_beta.json()["error"]["message"] == (
        "OAuth authentication is currently not supported."
    )
    company = api.get("/v1/organizations/company", headers={**bearer, **BETAS})
    assert company.status_code == 403  # org:admin is the Admin API, not the Company API


def test_a_token_signed_by_another_key_is_refused(api: TestClient) -> None:
    now = int(time.time())
    forged = Signer().sign(
        {"iss": "https://token.actions.githubusercontent.com", "iat": now, "exp": now + 60}
    )
    assert refused(exchange(api, forged)).startswith(
        "The identity token's signature does not verify with the issuer's keys"
    )
    assert refused(exchange(api, "not.a.jwt")).startswith("The identity token's signature")


@pytest.mark.parametrize(
    ("claims", "says"),
    [
        ({"iss": "https://issuer.example.com"}, "'iss' claim does not match"),
        ({"sub": None, "ref": None}, "'ref' claim does not match"),
        ({"aud": ["https://a.example.com", "https://api.anthropic.com"]}, None),
        ({"iat": None}, "has no 'iat' claim"),
        ({"nbf": int(time.time()) + 3600}, "(claim 'nbf')"),
        ({"iat": int(time.time()) - 7200}, "lives longer than its issuer allows"),
    ],
    ids=["issuer", "missing-claim", "audience-list", "no-iat", "not-yet", "too-long"],
)
def test_the_exchange_checks_issuer_claims_and_times(
    api: TestClient, claims: dict[str, Any], says: str | None
) -> None:
    answer = exchange(api, minted(api, **claims))
    if says is None:
        assert answer.status_code == 200, answer.text
    else:
        assert says in refused(answer)


def test_the_grant_itself_is_checked(api: TestClient) -> None:
    token = minted(api)
    assert refused(exchange(api, token, organization_id="another-org")) == (
        "organization_id is not the organization of this rule."
    )
    assert refused(exchange(api, token, service_account_id="svac_other")) == (
        f"service_account_id svac_other is not the target of federation rule {RULE_ID}."
    )
    assert refused(exchange(api, token, federation_rule_id="fdrl_nope")).startswith(
        "No active federation rule fdrl_nope"
    )
    assert exchange(api, token, grant_type="client_credentials").json()["error"] == (
        "unsupported_grant_type"
    )
    no_beta = api.post(
        "/v1/oauth/token",
        json={"grant_type": GRANT},
        headers={"anthropic-beta": "oauth-2025-04-20"},
    )
    assert no_beta.json()["error_description"] == (
        "The anthropic-beta header must include oidc-federation-2026-04-01."
    )


def test_minting_asks_a_control_key_and_plain_claim_values(api: TestClient) -> None:
    assert api.post("/_sandbox/oidc/token", json={}).status_code == 403  # the admin key
    odd = api.post(
        "/_sandbox/oidc/token", json={"nested": {"a": 1}}, headers={"x-api-key": CONTROL_KEY}
    )
    assert odd.status_code == 400
    keys = api.get("/.well-known/jwks.json").json()["keys"]
    assert [(k["kty"], k["alg"]) for k in keys] == [("RSA", "RS256")]
    assert "d" not in keys[0]  # the public half only


def test_a_rules_cel_condition_is_checked_at_the_exchange(api: TestClient) -> None:
    seed = copy.deepcopy(shipped_seed())  # the shipped seed is shared: never changed
    seed["admin"]["federation"]["rules"][0]["match"]["condition"] = (
        'claims.environment == "production"'
    )
    reset = api.post("/_sandbox/reset", json=seed, headers={"x-api-key": CONTROL_KEY})
    assert reset.status_code == 200, reset.text
    assert exchange(api, minted(api, environment="production")).status_code == 200
    said = refused(exchange(api, minted(api, environment="staging")))
    assert (
        said
        == f"The identity token's claims do not satisfy the condition of federation rule {RULE_ID}."
    )
    assert "condition" in refused(exchange(api, minted(api)))  # no environment claim at all
