"""The Company API client, against respx: retries, pagination, errors, secrets."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
import respx

from reconciler.core.errors import (
    ApiError,
    AuthError,
    ConflictError,
    CredentialsError,
    TransportError,
)
from reconciler.net.connection import RetryPolicy, check_base_url
from reconciler.providers.company.client import CompanyClient

BASE = "https://api.example.test"
COMPANY = f"{BASE}/v1/organizations/company"
KEY = "sk-ant-admin01-TESTKEY-must-never-show"
COMPANY_BODY = {
    "id": "org_1",
    "name": "A",
    "billing_email": "a@example.com",
    "plan": "team",
    "usage_limit": 10,
    "created_at": "2024-01-01T00:00:00Z",
}


def project(n: int) -> dict[str, Any]:
    return {
        "id": f"proj_{n:04d}",
        "name": f"P{n}",
        "description": "",
        "billing_email": None,
        "usage_limit": None,
        "created_at": "2024-01-01T00:00:00Z",
        "etag": f'"e{n}"',
    }


class Sleeps:
    """Records the waits the client asks for instead of waiting them."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def client(sleeps: Sleeps | None = None, **policy: Any) -> CompanyClient:
    return CompanyClient(
        BASE,
        KEY,
        key_source="CLAUDE_API_KEY",
        retry=RetryPolicy(**{"backoff": 0.01, "max_wait": 5, **policy}),
        sleep=sleeps or Sleeps(),
    )


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def get_company(c: CompanyClient) -> Any:
    async with c:
        return await c.get("company")


@respx.mock
def test_get_sends_the_key_and_version_and_returns_the_etag() -> None:
    route = respx.get(COMPANY).respond(200, json=COMPANY_BODY, headers={"etag": '"v1"'})
    found = run(get_company(client()))
    assert found.etag == '"v1"'
    assert found.fields["name"] == "A"
    sent = route.calls.last.request
    assert sent.headers["x-api-key"] == KEY
    assert sent.headers["anthropic-version"] == "2023-06-01"


@respx.mock
def test_429_is_retried_after_the_retry_after_header() -> None:
    respx.get(COMPANY).mock(
        side_effect=[
            httpx.Response(
                429,
                json={"type": "error", "error": {"type": "rate_limit_error", "message": "slow"}},
                headers={"retry-after": "3"},
            ),
            httpx.Response(200, json=COMPANY_BODY),
        ]
    )
    sleeps = Sleeps()
    run(get_company(client(sleeps)))
    assert sleeps.waits == [3.0]


@pytest.mark.parametrize("status", [500, 502, 503, 529])
@respx.mock
def test_server_errors_are_retried_with_backoff(status: int) -> None:
    route = respx.get(COMPANY).mock(
        side_effect=[
            httpx.Response(status),
            httpx.Response(status),
            httpx.Response(200, json=COMPANY_BODY),
        ]
    )
    sleeps = Sleeps()
    run(get_company(client(sleeps)))
    assert route.call_count == 3
    assert len(sleeps.waits) == 2


@respx.mock
def test_network_errors_are_retried_then_reported_in_one_sentence() -> None:
    route = respx.get(COMPANY).mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(TransportError) as caught:
        run(get_company(client(attempts=3)))
    assert route.call_count == 3
    assert "after 3 attempts" in caught.value.message
    assert "cannot connect" in caught.value.message


@respx.mock
def test_a_429_storm_is_waited_out_within_patience_never_counted_as_attempts() -> None:
    route = respx.get(COMPANY).respond(429, headers={"retry-after": "1"})
    sleeps = Sleeps()
    with pytest.raises(ApiError) as caught:
        run(get_company(client(sleeps, attempts=2, patience=5)))
    assert route.call_count == 6  # five waits of a second, then past patience
    assert sum(sleeps.waits) == 5.0
    assert caught.value.status == 429
    assert "was rate limited (429) for 5 s, past the 5 s a request waits" in caught.value.message


@respx.mock
def test_412_is_never_retried() -> None:
    route = respx.patch(COMPANY).respond(412)

    async def go() -> None:
        async with client() as c:
            await c.patch("company", {"name": "B"}, '"old"')

    with pytest.raises(ConflictError) as caught:
        run(go())
    assert route.call_count == 1
    assert route.calls.last.request.headers["if-match"] == '"old"'
    assert caught.value.message == "changed since plan; run plan again"


@respx.mock
def test_patch_sends_only_the_fields_given() -> None:
    route = respx.patch(COMPANY).respond(200, json=COMPANY_BODY, headers={"etag": '"v2"'})

    async def go() -> Any:
        async with client() as c:
            return await c.patch("company", {"usage_limit": 10}, '"v1"')

    assert run(go()).etag == '"v2"'
    assert route.calls.last.request.content == b'{"usage_limit":10}'


@respx.mock
def test_401_and_403_name_the_variable_and_the_scope() -> None:
    respx.get(COMPANY).respond(
        401,
        json={
            "type": "error",
            "error": {"type": "authentication_error", "message": "Invalid x-api-key."},
        },
        headers={"request-id": "req_1"},
    )
    with pytest.raises(AuthError) as caught:
        run(get_company(client()))
    assert "CLAUDE_API_KEY" in caught.value.message
    assert "req_1" in caught.value.message
    respx.patch(COMPANY).respond(
        403,
        json={
            "type": "error",
            "error": {"type": "permission_error", "message": "lacks organization:write"},
        },
    )

    async def go() -> None:
        async with client() as c:
            await c.patch("company", {"name": "x"}, None)

    with pytest.raises(AuthError) as caught:
        run(go())
    assert "organization:write" in caught.value.message
    assert "CLAUDE_API_KEY" in caught.value.message


async def all_projects(c: CompanyClient) -> list[dict[str, Any]]:
    async with c:
        return await c.projects()


@respx.mock
def test_pagination_follows_the_cursor_at_the_largest_page_size() -> None:
    pages = [
        {
            "data": [project(1), project(2)],
            "has_more": True,
            "first_id": "proj_0001",
            "last_id": "proj_0002",
        },
        {"data": [project(3)], "has_more": False, "first_id": "proj_0003", "last_id": "proj_0003"},
    ]
    route = respx.get(f"{COMPANY}/projects").mock(
        side_effect=[httpx.Response(200, json=p) for p in pages]
    )
    found = run(all_projects(client()))
    assert [p["id"] for p in found] == ["proj_0001", "proj_0002", "proj_0003"]
    assert route.calls[0].request.url.params["limit"] == "1000"
    assert route.calls[1].request.url.params["after_id"] == "proj_0002"


@respx.mock
def test_a_cursor_that_does_not_advance_is_an_error_not_a_loop() -> None:
    page = {"data": [project(1)], "has_more": True, "first_id": "proj_0001", "last_id": "proj_0001"}
    respx.get(f"{COMPANY}/projects").respond(200, json=page)
    with pytest.raises(TransportError) as caught:
        run(all_projects(client()))
    assert "does not advance" in caught.value.message


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="<html>login</html>"),
        httpx.Response(200, json={"id": "org_1", "name": 5}),
        httpx.Response(200, json=[1, 2]),
        httpx.Response(200, json={**COMPANY_BODY, "usage_limit": "lots"}),
    ],
)
@respx.mock
def test_answers_that_are_not_the_contract_are_clear_errors(response: httpx.Response) -> None:
    respx.get(COMPANY).mock(return_value=response)
    with pytest.raises(TransportError) as caught:
        run(get_company(client()))
    assert "is --base-url the Company API?" in caught.value.message


@respx.mock
def test_redirects_are_not_followed() -> None:
    respx.get(COMPANY).respond(302, headers={"location": "https://elsewhere.test/"})
    with pytest.raises(TransportError) as caught:
        run(get_company(client()))
    assert "elsewhere.test" in caught.value.message
    assert len(respx.calls) == 1


@respx.mock
def test_the_key_is_in_no_error_message() -> None:
    for status in (400, 401, 403, 404, 500):
        respx.get(COMPANY).respond(
            status, json={"type": "error", "error": {"type": "x", "message": "nope"}}
        )
        with pytest.raises(ApiError) as caught:
            run(get_company(client(attempts=1)))
        assert KEY not in str(caught.value)
        assert "TESTKEY" not in caught.value.message


@pytest.mark.parametrize(
    ("url", "insecure", "ok"),
    [
        ("http://127.0.0.1:8080", False, True),
        ("http://localhost:1", False, True),
        ("http://[::1]:1", False, True),
        ("https://api.anthropic.com", False, True),
        ("http://api.example.com", False, False),
        ("http://10.0.0.1", False, False),
        ("http://api.example.com", True, True),
        ("ftp://x", False, False),
    ],
)
def test_plain_http_off_this_machine_is_refused(url: str, insecure: bool, ok: bool) -> None:
    if ok:
        check_base_url(url, insecure=insecure)
    else:
        with pytest.raises(CredentialsError):
            check_base_url(url, insecure=insecure)


@respx.mock
def test_no_request_is_made_when_the_url_is_refused() -> None:
    with pytest.raises(CredentialsError):
        CompanyClient("http://api.example.com", KEY, key_source="CLAUDE_API_KEY")
    assert len(respx.calls) == 0


@respx.mock
def test_a_conditional_client_asks_if_changed_and_keeps_its_copy_on_304() -> None:
    route = respx.get(COMPANY).mock(
        side_effect=[
            httpx.Response(200, json=COMPANY_BODY, headers={"etag": '"v1"'}),
            httpx.Response(304, headers={"etag": '"v1"'}),
        ]
    )
    polite = CompanyClient(BASE, KEY, key_source="CLAUDE_API_KEY", conditional=True)

    async def twice() -> tuple[Any, Any]:
        first = await polite.get("company")
        first.fields["name"] = "changed by the caller"  # the copy kept is the client's own
        return first, await polite.get("company")

    _, second = asyncio.run(twice())
    assert "if-none-match" not in route.calls[0].request.headers
    assert route.calls[1].request.headers["if-none-match"] == '"v1"'
    assert second.fields == COMPANY_BODY
    assert second.etag == '"v1"'
    assert (polite.politeness.reads, polite.politeness.not_modified) == (2, 1)


@respx.mock
def test_a_304_nobody_asked_for_is_not_an_answer() -> None:
    respx.get(COMPANY).mock(return_value=httpx.Response(304))
    with pytest.raises(TransportError):
        asyncio.run(client().get("company"))
