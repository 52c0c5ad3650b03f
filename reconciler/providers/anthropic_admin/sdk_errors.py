"""Anthropic SDK exceptions as reconciler's errors: each one sentence that says what
happened and what to do, the same as the Company provider's; never the key."""

from __future__ import annotations

from dataclasses import dataclass

import anthropic

from reconciler.errors import ApiError, AuthError, TransportError

SCOPE = "organization:admin"
NO_SPEND_ACCESS_CODE = "spend_limits_admin_api_writes_not_enabled"


class SpendLimitsNotEnabled(ApiError):
    """The organization has no Admin API access to spend limits (an early-access
    preview): not the key's fault, so an apply goes on with the other changes."""


@dataclass(frozen=True)
class Context:
    """What a message names: the request (``what``), where, whose key, how hard we tried."""

    what: str
    base_url: str
    key_source: str
    timeout: float
    attempts: int
    identity: str | None = None  # the federated identity, when there is no key


def translated(exc: anthropic.APIError, context: Context) -> ApiError:
    tries = f"{context.attempts} attempt{'s' if context.attempts > 1 else ''}"
    if isinstance(exc, anthropic.APIResponseValidationError):
        return not_the_admin_api(context, str(exc), status=exc.status_code)
    if isinstance(exc, anthropic.APIStatusError):
        return _status_error(exc, context, tries)
    if isinstance(exc, anthropic.APITimeoutError):
        return TransportError(
            f"Could not {context.what}: no answer within {context.timeout:g} s, {tries}. "
            "Check the network and run again."
        )
    why = (
        f"cannot connect to {context.base_url}"
        if type(exc.__cause__).__name__ == "ConnectError"
        else "the connection broke before the answer was complete"
    )
    return TransportError(
        f"Could not {context.what}: {why} ({tries}). Check that the API is reachable and run again."
    )


def not_the_admin_api(context: Context, why: str, *, status: int | None = None) -> TransportError:
    """An answer that is not of the shape the SDK types it as."""
    return TransportError(
        f"{context.base_url} answered when asked to {context.what}, but its answer is not the "
        f"Admin API's ({why[:120]}); is --base-url the Admin API?",
        status=status,
    )


def _status_error(exc: anthropic.APIStatusError, context: Context, tries: str) -> ApiError:
    status, message, source = exc.status_code, _message(exc), context.key_source
    kind: type[ApiError] = ApiError
    if getattr(exc, "error_code", None) == NO_SPEND_ACCESS_CODE:
        return SpendLimitsNotEnabled(
            f"Could not {context.what}: this organization cannot read or set spend limits "
            "through the Admin API (an early-access preview). Ask your Anthropic account team "
            "for access, or set spend limits in the Console.",
            status=status,
            request_id=exc.request_id,
        )
    if status in (401, 403) and context.identity:
        kind = AuthError
        text = (
            f"The Admin API refused {context.identity} to {context.what} ({message}). "
            "reconciler needs org:admin: the rule must grant it (rules granting org:admin are "
            "set up in the Console) and the service account must have the admin role."
            if status == 403
            else f"The Admin API did not accept the access token of {context.identity} "
            f"({message}), even freshly exchanged; run again, and if it persists check the "
            "rule in the Console (Settings, Workload identity)."
        )
    elif status == 401:
        kind = AuthError
        text = (
            f"The API did not accept the key in {source} ({message}); set {source} to a "
            f"valid Admin API key (sk-ant-admin...) with the scope {SCOPE}."
        )
    elif status == 403:
        kind = AuthError
        text = (
            f"The key in {source} may not {context.what}: it needs the scope {SCOPE} ({message}). "
            "Use an Admin API key."
        )
    elif 300 <= status < 400:
        kind = TransportError
        text = (
            f"{context.base_url} answered with a redirect to "
            f"{exc.response.headers.get('location', '?')} when asked to {context.what}; reconciler "
            "does not follow redirects: set --base-url to the API's own address."
        )
    elif status == 404:
        text = f"The API refused to {context.what} (404: {message}); run plan again."
    elif status == 429 or status >= 500:
        text = (
            f"Could not {context.what}: after {tries} it kept answering {status} ({message}). "
            "Wait a little and run again; a re-run picks up where this left off."
        )
    else:
        text = f"The API refused to {context.what} ({status}: {message})."
    return kind(text, status=status, request_id=exc.request_id)


def _message(exc: anthropic.APIStatusError) -> str:
    """The API's own message from its error body, else the SDK's."""
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])[:300]
    return str(exc.message)[:300]


def may_have_written(exc: ApiError) -> bool:
    """A lost answer or a 5xx: the request may have been carried out."""
    return isinstance(exc, TransportError) or (exc.status is not None and exc.status >= 500)
