"""Anthropic SDK exceptions become reconciler's one-sentence errors, of the kind the
engine acts on (an AuthError stops the other writes; a TransportError or a 5xx may
have written), naming the key's variable, never the key."""

from __future__ import annotations

import anthropic
import httpx
import pytest

from reconciler.core.errors import ApiError, AuthError, TransportError
from reconciler.providers.anthropic_admin.sdk_errors import Context, may_have_written, translated

CONTEXT = Context("list users", "https://api.example.test", "ORG_ADMIN_KEY", 15.0, 3)
REQUEST = httpx.Request("GET", "https://api.example.test/v1/organizations/users")


def status_error(
    status: int, message: str = "nope", details: dict[str, str] | None = None, **headers: str
) -> anthropic.APIStatusError:
    error = {"type": "x", "message": message, **({"details": details} if details else {})}
    body = {"type": "error", "error": error}
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


@pytest.mark.parametrize(
    ("status", "details", "says"),
    [
        (
            403,
            {"error_code": "api_key_requester_unconfirmed"},
            "Could not list users (3 attempts): the API could not confirm that the request "
            "came from your organization",
        ),
        (
            400,
            {"error_code": "workspace_policy_violation", "field": "data_residency"},
            "The API refused to list users: it breaks the organization's Workspace Policy on "
            "data_residency; an organization admin can see and change the policy",
        ),
        (
            400,
            {"error_code": "organization_on_hold", "appeal_url": "https://appeal.test/\u202e"},
            "until it is lifted (appeal at https://appeal.test/\\u202e).",
        ),
        (400, {"error_code": "organization_on_hold"}, "nothing can be changed until it is lifted."),
        (403, {"error_code": "something_new"}, "The API refused to list users (403 something_new"),
        (409, {"error_code": "other_thing"}, "The API refused to list users (409 other_thing"),
    ],
)
def test_a_code_is_its_own_sentence_never_a_missing_scope(
    status: int, details: dict[str, str], says: str
) -> None:
    error = translated(status_error(status, details=details), CONTEXT)
    assert says in error.message
    assert "scope" not in error.message
    assert error.code == details["error_code"]
    assert error.message.endswith("(request-id req_1)")
