"""The sandbox answers only requests addressed to a loopback name: a web page that
rebinds its own name to 127.0.0.1 sends that name as Host, and must not drive the
sandbox's control API (whose keys are published) or its APIs."""

from __future__ import annotations

import httpx
import pytest

from tests.support.sandbox import CONTROL_KEY, ORG_ADMIN_KEY, SandboxProcess

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8080", "10.0.0.1", "[fe80::1]"])
def test_a_foreign_host_name_is_refused_with_421_and_changes_nothing(
    server: SandboxProcess, host: str
) -> None:
    before = server.control("GET", "settings").json()
    headers = {"Host": host, "x-api-key": CONTROL_KEY}
    refused = httpx.patch(
        f"{server.url}/_sandbox/settings", headers=headers, json={"fault_rate": 1.0}
    )
    assert refused.status_code == 421
    assert (
        "answers only requests addressed to a loopback name" in refused.json()["error"]["message"]
    )
    api = httpx.get(
        f"{server.url}/v1/organizations/users",
        headers={"Host": host, "x-api-key": ORG_ADMIN_KEY, "anthropic-version": "2023-06-01"},
    )
    assert api.status_code == 421
    assert server.control("GET", "settings").json() == before


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]", "LOCALHOST"])
def test_loopback_names_are_answered(server: SandboxProcess, host: str) -> None:
    port = server.url.rsplit(":", 1)[1]
    answer = httpx.get(
        f"{server.url}/_sandbox/settings",
        headers={"Host": f"{host}:{port}", "x-api-key": CONTROL_KEY},
    )
    assert answer.status_code == 200
