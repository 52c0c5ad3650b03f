"""The shipped organization reached through the official SDK as federation reaches it:
an OAuth access token its rule gives (the security surface's endpoints refuse keys)."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx
import pytest

from tests.support.sandbox import (
    ORGANIZATION_ID,
    RULE_ID,
    SERVICE_ACCOUNT_ID,
    SandboxProcess,
    shipped_seed,
)

BETAS = "oauth-2025-04-20,oidc-federation-2026-04-01"


@pytest.fixture
def org(server: SandboxProcess) -> Any:
    """The shipped organization, reached by an access token its federation rule gives."""
    assert server.control("POST", "reset", json=shipped_seed()).status_code == 200
    grant = {
        "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
        "assertion": server.identity_token(),
        "federation_rule_id": RULE_ID,
        "organization_id": ORGANIZATION_ID,
        "service_account_id": SERVICE_ACCOUNT_ID,
    }
    answer = httpx.post(
        f"{server.url}/v1/oauth/token", json=grant, headers={"anthropic-beta": BETAS}
    )
    assert answer.status_code == 200, answer.text
    client = anthropic.Anthropic(
        auth_token=answer.json()["access_token"],
        base_url=server.url,
        max_retries=0,
        default_headers={"anthropic-beta": BETAS},
        _strict_response_validation=True,
    )
    return client.beta.organization
