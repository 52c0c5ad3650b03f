"""What the routes of the Admin API's beta surfaces share (the resources of
``resources.RESOURCES``): the beta header, without which the API answers as its
reference says for that surface (``missing``: 404 as if the API did not exist, or
400), the organization's admin scope (a key, or an OAuth access token), and each write
in one transaction, marked for the request log."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from reconciler.sandbox.errors import ErrorAnswer

ADMIN_SCOPE = "organization:admin"


def gate(
    request: Request,
    authorize: Callable[[Request, str], None],
    *,
    beta: str,
    missing: int,
    scope: str = ADMIN_SCOPE,
) -> None:
    """Let a request through to a beta surface, or answer as the reference says."""
    betas = request.headers.get("anthropic-beta", "").replace(" ", "").split(",")
    if beta not in betas:
        said = "Not found." if missing == 404 else f"This endpoint is in beta: send {beta}."
        raise ErrorAnswer(missing, said)
    authorize(request, scope)


def not_for_this_type() -> ErrorAnswer:
    """The API's refusal of an endpoint the organization's type does not have."""
    return ErrorAnswer(
        400,
        "The endpoint does not support the organization's type.",
        code="organization_type_not_supported",
    )


def enterprise_only(request: Request) -> None:
    """Refuse an Enterprise-only endpoint to any other organization, as the API does."""
    if request.app.state.store.admin.organization_type() != "enterprise":
        raise not_for_this_type()


def written(request: Request, write: Callable[[], Any]) -> Response:
    """One write, in a transaction, marked as a write in the request log."""
    with request.app.state.store.transaction():
        answer = write()
    request.state.wrote = True
    return JSONResponse(answer)
