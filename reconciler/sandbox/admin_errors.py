"""The Admin API's documented failures, answered on demand.

The official SDK documents, for each call, the ``error_code``s the real API can
answer with, their status, their details and what of the request took effect.
A test (or a person trying reconciler) asks for one at runtime with
``PATCH /_sandbox/settings {"admin_errors": [{"error_code": ..., "method": ...,
"path": ..., "times": N}]}``: the next N requests matching the method and path
(``*`` stands for one segment) are answered with it, with its partial effect:

- ``refused``: nothing is written (limits, policies, conflicts, an organization
  on hold);
- ``carried_out``: the request takes full effect and the answer says its outcome
  is unknown (``change_outcome_unknown``);
- ``partial``: part of it takes effect (``workspace_created_incomplete`` creates
  the workspace with its name only; ``workspace_changed_concurrently`` leaves the
  field it names as it was and makes the rest; ``api_key_requester_unconfirmed``
  on removing a user turns the user's API keys off and leaves the user).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from starlette.requests import Request

from reconciler.sandbox.errors import ErrorAnswer

BASE = "/v1/organizations"
Handler = Callable[[Request], Awaitable[Any]]


@dataclass(frozen=True)
class Documented:
    """One ``error_code`` as the SDK documents it: its status, the calls that can
    answer it (``None``: any), what of the request takes effect, and the message."""

    status: int
    calls: tuple[tuple[str, str], ...] | None
    effect: str  # refused | carried_out | partial
    message: str


_REMOVE_USER = ("DELETE", f"{BASE}/users/*")
_UPDATE_USER = ("POST", f"{BASE}/users/*")
_INVITE = ("POST", f"{BASE}/invites")
_CREATE_WORKSPACE = ("POST", f"{BASE}/workspaces")
_UPDATE_WORKSPACE = ("POST", f"{BASE}/workspaces/*")
_ADD_MEMBER = ("POST", f"{BASE}/workspaces/*/members")
_UPDATE_MEMBER = ("POST", f"{BASE}/workspaces/*/members/*")
_UPDATE_KEY = ("POST", f"{BASE}/api_keys/*")

DOCUMENTED: dict[str, Documented] = {
    "workspace_created_incomplete": Documented(
        503,
        (_CREATE_WORKSPACE,),
        "partial",
        "The Workspace {workspace_id} was created, but its settings other than the name did "
        "not take effect. Don't send the create again: update the Workspace.",
    ),
    "change_outcome_unknown": Documented(
        503,
        (_UPDATE_WORKSPACE,),
        "carried_out",
        "Some of the request's changes may have been saved and others not. Send the same "
        "request again to finish it.",
    ),
    "api_key_requester_unconfirmed": Documented(
        403,
        (_REMOVE_USER, _UPDATE_KEY),
        "partial",
        "The API could not confirm that this request came from your organization, so it "
        "refused a change to an API key. It is safe to send the same request again.",
    ),
    "concurrent_membership_change": Documented(
        409,
        (_REMOVE_USER,),
        "refused",
        "Another change to the organization's members is in progress. Retry the request once "
        "it completes.",
    ),
    "workspace_changed_concurrently": Documented(
        409,
        (_UPDATE_WORKSPACE,),
        "partial",
        "Another request changed the Workspace, so this request left {field} as it is; its "
        "other changes are in place.",
    ),
    "already_member": Documented(
        400, (_INVITE,), "refused", "The email address already belongs to {user}."
    ),
    "invite_already_exists": Documented(
        400, (_INVITE,), "refused", "A pending invite already exists for the email address."
    ),
    "org_member_limit_exceeded": Documented(
        400,
        (_INVITE,),
        "refused",
        "The organization has reached the member limit that Anthropic set for it.",
    ),
    "email_domain_not_allowed": Documented(
        400,
        (_INVITE,),
        "refused",
        "The organization restricts invites to an allowed list of email domains.",
    ),
    "cannot_invite_emails_with_unverified_domains": Documented(
        400,
        (_INVITE,),
        "refused",
        "The email address's domain is not a verified domain of the parent organization.",
    ),
    "workspace_member_limit_exceeded": Documented(
        400,
        (_ADD_MEMBER, _UPDATE_MEMBER),
        "refused",
        "The workspace has reached the member limit that Anthropic set for it.",
    ),
    "org_api_key_limit_exceeded": Documented(
        400, (_UPDATE_KEY,), "refused", "The organization has reached its limit of active API keys."
    ),
    "workspace_api_key_limit_exceeded": Documented(
        400, (_UPDATE_KEY,), "refused", "The workspace has reached its limit of active API keys."
    ),
    "cannot_remove_last_member": Documented(
        400,
        (_REMOVE_USER,),
        "refused",
        "The user is the organization's only member. Add another member before removing this one.",
    ),
    "workspace_policy_violation": Documented(
        400,
        (_CREATE_WORKSPACE, _UPDATE_WORKSPACE),
        "refused",
        "The request breaks the organization's Workspace Policy: {field} is not allowed.",
    ),
    "organization_on_hold": Documented(
        400,
        None,
        "refused",
        "Anthropic has disabled the organization for trust and safety reasons.",
    ),
}
APPEAL_URL = "https://support.anthropic.com/appeal"


def check_rules(rules: Sequence[Mapping[str, Any]]) -> None:
    """Refuse a rule for a call the SDK does not document its code for."""
    for rule in rules:
        calls = DOCUMENTED[rule["error_code"]].calls
        if calls is None:
            continue
        if not any(
            rule["method"] == method and _overlaps(rule["path"], pattern)
            for method, pattern in calls
        ):
            documented = "; ".join(f"{m} {p}" for m, p in calls)
            raise ErrorAnswer(
                400,
                f"admin_errors: the SDK documents {rule['error_code']} only for {documented}.",
            )


def _overlaps(path: str, pattern: str) -> bool:
    wanted, given = pattern.split("/"), path.rstrip("/").split("/")
    if len(wanted) != len(given):
        return False
    return all("*" in (w, g) or w == g for w, g in zip(wanted, given, strict=True))


async def answer(code: str, request: Request, handler: Handler) -> NoReturn:
    """Answer ``request`` with ``code``, after the part of it that takes effect."""
    documented = DOCUMENTED[code]
    details: dict[str, Any] = {}
    if documented.effect == "carried_out":
        await handler(request)
    elif documented.effect == "partial":
        details = await _PARTIAL[code](request, handler)
    elif code == "already_member":
        details = {"user": await _member_of(request)}
    if code in ("workspace_policy_violation", "workspace_changed_concurrently"):
        details.setdefault("field", next(iter(await _body(request)), "name"))
    if code == "organization_on_hold":
        details["appeal_url"] = APPEAL_URL
    shown = {k: v for k, v in details.items() if k != "user"}
    raise ErrorAnswer(
        documented.status,
        documented.message.format(**{"user": "a member", **details}),
        code=code,
        details=shown,
    )


async def _body(request: Request) -> dict[str, Any]:
    body = await request.json() if await request.body() else {}
    return body if isinstance(body, dict) else {}


async def _member_of(request: Request) -> str:
    email = (await _body(request)).get("email", "")
    found = [u for u in request.app.state.store.admin.users() if u["email"] == email]
    return f"the user {found[0]['id']}" if found else "a member"


async def _workspace_created_incomplete(request: Request, handler: Handler) -> dict[str, Any]:
    """The workspace is created with its name; nothing else the request asked for."""
    body = await _body(request)
    store = request.app.state.store
    with store.transaction():
        created = store.admin.create_workspace({"name": body.get("name", "Workspace")})
    request.state.wrote = True
    return {"workspace_id": created["id"]}


async def _workspace_changed_concurrently(request: Request, handler: Handler) -> dict[str, Any]:
    """Every change but the first field's is made; that one is left as it was."""
    body = await _body(request)
    field = next(iter(body), "name")
    rest = {k: v for k, v in body.items() if k != field}
    store = request.app.state.store
    if rest:
        with store.transaction():
            store.admin.update_workspace(request.path_params["workspace_id"], rest)
        request.state.wrote = True
    return {"field": field}


async def _api_key_requester_unconfirmed(request: Request, handler: Handler) -> dict[str, Any]:
    """Removing a user: the user stays, signed out, with their API keys turned off.
    Updating a key: the key does not change."""
    if request.method == "DELETE":
        store = request.app.state.store
        with store.transaction():
            store.admin.disable_keys_of(request.path_params["user_id"])
        request.state.wrote = True
    return {}


_PARTIAL: dict[str, Callable[[Request, Handler], Awaitable[dict[str, Any]]]] = {
    "workspace_created_incomplete": _workspace_created_incomplete,
    "workspace_changed_concurrently": _workspace_changed_concurrently,
    "api_key_requester_unconfirmed": _api_key_requester_unconfirmed,
}
