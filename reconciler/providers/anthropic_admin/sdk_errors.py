"""Anthropic SDK exceptions as reconciler's errors: each one sentence that says what
happened and what to do, the same as the Company provider's; never the key.

The Admin API names the cause of many failures with a stable ``error_code`` (the
SDK documents, call by call, which it can answer). reconciler branches on the code,
never on the message: ``REFUSALS`` are final, each with what to do;
``SAFE_TO_SEND_AGAIN`` are sent again within the connection's bounds, as the SDK
documents they may be (``DocumentedRetries`` tells the SDK so for the ones it would
not retry itself); ``workspace_changed_concurrently`` is not sent again blindly
(the session reads the workspace first); the rest of the codes the session acts on
are in ``session``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anthropic

from reconciler.core.errors import ApiError, AuthError, TransportError
from reconciler.core.escape import visible

SCOPE = "organization:admin"
NO_SPEND_ACCESS_CODE = "spend_limits_admin_api_writes_not_enabled"
CREATED_INCOMPLETE = "workspace_created_incomplete"
OUTCOME_UNKNOWN = "change_outcome_unknown"
REQUESTER_UNCONFIRMED = "api_key_requester_unconfirmed"
MEMBERSHIP_BUSY = "concurrent_membership_change"
WORKSPACE_CHANGED = "workspace_changed_concurrently"
ALREADY_MEMBER = "already_member"
INVITE_EXISTS = "invite_already_exists"

# Sent again, as the SDK documents is safe; each with what is true when it persists.
SAFE_TO_SEND_AGAIN = {
    OUTCOME_UNKNOWN: (
        "the API could not say whether the change was saved; run plan to see what is live, "
        "and apply again to finish it"
    ),
    REQUESTER_UNCONFIRMED: (
        "the API could not confirm that the request came from your organization (when "
        "removing a user, they are still a member but may be signed out with some API keys "
        "turned off); run apply again, and if it persists, contact Anthropic support with "
        "the request id"
    ),
    MEMBERSHIP_BUSY: (
        "another change to the organization's members was in progress; run apply again once "
        "it completes"
    ),
}
# Final: nothing was written; what to do instead.
REFUSALS = {
    "org_member_limit_exceeded": (
        "the organization has reached the member limit Anthropic set for it (pending invites "
        "count toward it); remove members or pending invites, or ask Anthropic for a higher "
        "limit"
    ),
    "workspace_member_limit_exceeded": (
        "the workspace has reached the member limit Anthropic set for it; remove members from "
        "it, or ask Anthropic for a higher limit"
    ),
    "org_api_key_limit_exceeded": (
        "the organization has reached its limit of active API keys; make another key "
        "inactive or archive it first"
    ),
    "workspace_api_key_limit_exceeded": (
        "the workspace has reached its limit of active API keys; make another of its keys "
        "inactive or archive it first"
    ),
    "cannot_remove_last_member": (
        "the user is the organization's only member; add another member before removing this one"
    ),
    "email_domain_not_allowed": (
        "the organization allows invites only to its allowed email domains, and this "
        "address's domain is not one of them; an organization admin can change the list in "
        "the Console"
    ),
    "cannot_invite_emails_with_unverified_domains": (
        "the address's domain is not a verified domain of the parent organization; verify "
        "the domain first, or invite another address"
    ),
    "workspace_policy_violation": (
        "it breaks the organization's Workspace Policy on {field}; an organization admin can "
        "see and change the policy in the Console"
    ),
    "organization_on_hold": (
        "Anthropic has put the organization on hold for trust and safety reasons, and "
        "nothing can be changed until it is lifted{appeal}"
    ),
}


class Incomplete(Exception):
    """``workspace_created_incomplete``: the workspace was created, but not all the
    create asked for took effect. Never send the create again; update the workspace it
    names."""

    def __init__(self, workspace_id: str) -> None:
        super().__init__(workspace_id)
        self.workspace_id = workspace_id


class DocumentedRetries(anthropic.Middleware):
    """Within the SDK's retries, what it would not send again by the status alone:

    - a request refused with a code the SDK documents as safe to send again (a 403
      ``api_key_requester_unconfirmed``) is tried again;
    - signed in by federation (``renew``), a 401 means the access token expired or was
      revoked under the request; the SDK's auth flow has already dropped that token
      (only if it is still the cached one), so trying again exchanges a fresh one. The
      SDK retries a 401 once by itself, which many requests in flight across one expiry
      can outrun;
    - ``workspace_changed_concurrently`` (a 409, which the SDK would send again unread)
      is raised at once as ``ChangedConcurrently``, so the session reads the workspace
      before deciding whether it still wants the change.

    The last attempt's refusal is left to the SDK, which raises it as the API's."""

    def __init__(self, retries: int, *, renew: bool = False) -> None:
        self._retries = retries
        self._renew = renew

    async def handle_async(
        self, request: anthropic.APIRequest, call_next: anthropic.AsyncCallNext
    ) -> anthropic.AsyncAPIResponse[Any]:
        response = await call_next(request)
        status, more = response.status_code, request.retries_taken < self._retries
        if status == 401 and self._renew and more:
            await response.close()
            raise anthropic.RetryableError("The access token was refused; exchanging again.")
        if status not in (403, 409):
            return response
        details = _details(await response.json())
        code = details.get("error_code")
        if code == REQUESTER_UNCONFIRMED and more:
            await response.close()
            raise anthropic.RetryableError("The API could not confirm the requester; again.")
        if code == WORKSPACE_CHANGED:
            await response.close()
            raise ChangedConcurrently(
                "Another request changed the workspace while reconciler updated it (its "
                f"{visible(str(details.get('field', '?')))} was left as it was); run plan again.",
                status=409,
                request_id=response.headers.get("request-id"),
                code=code,
                details=details,
            )
        return response


class ChangedConcurrently(ApiError):
    """A workspace update that left the field it names as it was: someone else changed
    the workspace meanwhile."""


def _details(body: object) -> dict[str, Any]:
    error = body.get("error") if isinstance(body, dict) else None
    details = error.get("details") if isinstance(error, dict) else None
    return details if isinstance(details, dict) else {}


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
    code = exc.error_code
    details = _details(exc.body)
    if code in REFUSALS or code in SAFE_TO_SEND_AGAIN:
        return ApiError(_coded(code, details, context, tries), **_fields(exc, details))
    if exc.error_code == NO_SPEND_ACCESS_CODE:
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
    elif status == 403 and code:
        kind = AuthError
        text = f"The API refused to {context.what} (403 {visible(code)}: {message})."
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
        named = f" {visible(code)}" if code else ""
        text = f"The API refused to {context.what} ({status}{named}: {message})."
    return kind(text, **_fields(exc, details))


def _coded(code: str, details: dict[str, Any], context: Context, tries: str) -> str:
    """The sentence for a code reconciler knows: what happened and what to do."""
    if code in SAFE_TO_SEND_AGAIN:
        return f"Could not {context.what} ({tries}): {SAFE_TO_SEND_AGAIN[code]}."
    appeal = details.get("appeal_url")
    why = REFUSALS[code].format(
        field=visible(str(details.get("field", "a setting"))),
        appeal=f" (appeal at {visible(str(appeal))})" if isinstance(appeal, str) else "",
    )
    return f"The API refused to {context.what}: {why}."


def _fields(exc: anthropic.APIStatusError, details: dict[str, Any]) -> dict[str, Any]:
    return {
        "status": exc.status_code,
        "request_id": exc.request_id,
        "code": exc.error_code,
        "details": details,
    }


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
