"""The sandbox's errors, in one shape: ``ErrorAnswer`` (a status and a message) is
raised wherever a request is refused, by the routes and by the stores alike, and
answered as Anthropic's error JSON, with the id of the request being served in
the body as the ``request-id`` header has it."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from starlette.responses import JSONResponse, Response

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    409: "conflict_error",
    412: "precondition_failed",
    413: "request_too_large",
    421: "invalid_request_error",
    429: "rate_limit_error",
    500: "api_error",
    503: "api_error",
    529: "overloaded_error",
}


class ErrorAnswer(Exception):
    """A refusal: the status, the message naming what is wrong, extra headers, and the
    Admin API's ``error.details.error_code`` when the refusal has one (the SDK picks
    its exception class by status and code) with the details' other fields."""

    def __init__(
        self,
        status: int,
        message: str,
        headers: dict[str, str] | None = None,
        *,
        code: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
        self.code = code
        self.details = details or {}


# The id of the request being served, for error bodies (as the Admin API puts it there too).
REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)


def error_response(
    status: int,
    message: str,
    headers: dict[str, str] | None = None,
    *,
    code: str | None = None,
    details: dict[str, Any] | None = None,
) -> Response:
    error: dict[str, Any] = {"type": ERROR_TYPES[status], "message": message}
    if code:
        error["details"] = {"error_code": code, **(details or {})}
    body: dict[str, Any] = {"type": "error", "error": error}
    if request_id := REQUEST_ID.get():
        body["request_id"] = request_id
    return JSONResponse(body, status_code=status, headers=headers)
