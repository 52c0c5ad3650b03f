"""Anthropic SDK exceptions become reconciler's one-sentence errors, of the kind the
engine acts on (an AuthError stops the other writes; a TransportError or a 5xx may
have written), naming the key's variable, never the key."""

from __future__ import annotations

import anthropic
import httpx
import pytest

from reconciler.errors import ApiError, AuthError, TransportError
from reconciler.providers.anthropic_admin.sdk_errors import Context, may_have_written, translated

CONTEXT = Context("list users", "https://api.example.test", "ORG_ADMIN_KEY", 15.0, 3)
REQUEST = httpx.Request("GET", "https://api.example.test/v1/organizations/users")


def status_error(status: int, message: str = "nope", **headers: str) -> anthropic.APIStatusError:
    body = {"type": "error", "error": {"type": "x", "message": message}}
    response = httpx.Response(
        status, json=body, headers={"request-id": "req_1", **headers}, request=REQUEST
    )
    return anthropic.APIStatusError(message, response=response, body=body)


@pytest.mark.parametrize(
    ("status", "kind", "says"),
    [
        (401, AuthError, "did not accept the key in ORG_ADMIN_KEY (nope); set ORG_ADMIN_KEY"),
        (403, AuthError, "The key in ORG_ADMIN_KEY may not list users: it needs the scope"),
        (404, ApiError, "The API refused to list users (404: nope); run plan again."),
        (429, ApiError, "after 3 attempts it kept answering 429 (nope). Wait a little"),
        (503, ApiError, "after 3 attempts it kept answering 503"),
        (302, TransportError, "does not follow redirects"),
        (422, ApiError, "The API refused to list users (422: nope)."),
    ],
)
def test_each_status_is_one_sentence_of_the_kind_the_engine_acts_on(
    status: int, kind: type[ApiError], says: str
) -> None:
    error = translated(status_error(status, location="https://elsewhere.test"), CONTEXT)
    assert type(error) is kind
    assert says in error.message
    assert error.message.endswith("(request-id req_1)")
    assert "\n" not in error.message


def test_network_failures_say_where_and_how_hard_we_tried() -> None:
    refused = anthropic.APIConnectionError(request=REQUEST)
    refused.__cause__ = httpx.ConnectError("refused")
    error = translated(refused, CONTEXT)
    assert isinstance(error, TransportError)
    assert "cannot connect to https://api.example.test (3 attempts)" in error.message
    timeout = translated(anthropic.APITimeoutError(request=REQUEST), CONTEXT)
    assert "no answer within 15 s, 3 attempts" in timeout.message


def test_only_a_lost_answer_or_a_server_error_may_have_written() -> None:
    assert may_have_written(TransportError("lost"))
    assert may_have_written(ApiError("boom", status=500))
    assert not may_have_written(ApiError("no", status=400))
    assert not may_have_written(AuthError("no", status=403))
