"""The Admin API surface of the sandbox (users, invites, workspaces, their
members, API keys, rate limits, spend limits, the cost and usage reports) as
Starlette routes over
``AdminStore``.

Shapes follow Anthropic's Admin API: updates are POST, lists page with
``before_id`` / ``after_id`` / ``limit`` (default 20, at most 1,000) into
``{data, first_id, has_more, last_id}``, except the newer rate- and spend-limit
lists, which page with an opaque ``page`` cursor into ``{data, next_page}``;
errors carry ``request_id``. The
middleware of ``app.py`` gives these routes the same latency, faults, rate
limit and request log as the Company API.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reconciler.sandbox import admin_errors, gated
from reconciler.sandbox.admin_bodies import first_problem
from reconciler.sandbox.admin_limits import GROUP_TYPES, SPEND_READS_BETA
from reconciler.sandbox.admin_reports import REPORTS_BETA, query_of
from reconciler.sandbox.admin_store import AdminStore
from reconciler.sandbox.conditions import Conditions
from reconciler.sandbox.errors import ErrorAnswer
from reconciler.sandbox.middleware import CONTROL_PREFIX
from reconciler.sandbox.paging import cursor_page

ADMIN_SCOPE = "organization:admin"
BASE = "/v1/organizations"
# What a Claude Enterprise organization does not have (its docs: "Not available").
CONSOLE_ONLY = ("/workspaces", "/api_keys", "/rate_limits", "/analytics")


def admin_routes(
    *,
    authorize: Callable[[Request, str], None],
    read_body: Callable[[Request], Any],
) -> list[Route]:
    """The routes; ``authorize`` and ``read_body`` are the app's own."""

    def store(request: Request) -> AdminStore:
        admin: AdminStore = request.app.state.store.admin
        return admin

    async def body_of(
        request: Request, kind: str, *, allowed: set[str], required: Collection[str] = ()
    ) -> dict[str, Any]:
        body: dict[str, Any] = await read_body(request)
        unknown = sorted(set(body) - allowed)
        if unknown:
            raise ErrorAnswer(400, f"{', '.join(unknown)}: unknown field.")
        missing = sorted(set(required) - set(body))
        if missing:
            raise ErrorAnswer(400, f"{', '.join(missing)}: required.")
        problem = first_problem(kind, body)
        if problem:
            raise ErrorAnswer(400, problem)
        return body

    def run(request: Request, action: Callable[[AdminStore], Any], *, wrote: bool = False) -> Any:
        if not wrote:
            return action(store(request))
        with request.app.state.store.transaction():
            result = action(store(request))
        request.state.wrote = True
        return result

    def page(request: Request, items: list[dict[str, Any]], key: str = "id") -> Response:
        raw = request.query_params.get("limit", "20")
        if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= 1000:
            raise ErrorAnswer(400, f"limit: must be an integer from 1 to 1000, not {raw!r}.")
        after, before = request.query_params.get("after_id"), request.query_params.get("before_id")
        if after and before:
            raise ErrorAnswer(400, "after_id and before_id cannot both be given.")
        limit = int(raw)
        if after:
            chosen = [i for i in items if i[key] > after]
            window, more = chosen[:limit], len(chosen) > limit
        elif before:
            chosen = [i for i in items if i[key] < before]
            window, more = chosen[-limit:], len(chosen) > limit
        else:
            window, more = items[:limit], len(items) > limit
        return JSONResponse(
            {
                "data": window,
                "has_more": more,
                "first_id": window[0][key] if window else None,
                "last_id": window[-1][key] if window else None,
            }
        )

    def require_beta(request: Request, beta: str) -> None:
        """A beta endpoint answers 400 without its ``anthropic-beta`` header."""
        betas = request.headers.get("anthropic-beta", "").replace(" ", "").split(",")
        if beta not in betas:
            raise ErrorAnswer(400, f"This endpoint is in beta: send anthropic-beta: {beta}.")

    def group_type(request: Request) -> str | None:
        wanted = request.query_params.get("group_type")
        if wanted is not None and wanted not in GROUP_TYPES:
            raise ErrorAnswer(400, f"group_type: must be one of {', '.join(GROUP_TYPES)}.")
        return wanted

    def guarded(handler: Callable[[Request], Any]) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            authorize(request, scope_for(request))
            conditions: Conditions = request.app.state.conditions
            code = conditions.admin_error(request.method, request.url.path)
            if code is not None:
                await admin_errors.answer(code, request, handler)
            result = await handler(request)
            return result if isinstance(result, Response) else JSONResponse(result)

        return endpoint

    async def me(request: Request) -> Any:
        return run(request, lambda s: s.organization())

    async def users(request: Request) -> Any:
        found = run(request, lambda s: s.users())
        if email := request.query_params.get("email"):
            found = [u for u in found if u["email"] == email]
        return page(request, found)

    async def user(request: Request) -> Any:
        user_id = request.path_params["user_id"]
        if request.method == "GET":
            return run(request, lambda s: s.user(user_id))
        if request.method == "DELETE":
            return run(request, lambda s: s.remove_user(user_id), wrote=True)
        body = await body_of(request, "user", allowed={"role"}, required={"role"})
        return run(request, lambda s: s.update_user(user_id, body["role"]), wrote=True)

    async def invites(request: Request) -> Any:
        if request.method == "GET":
            return page(request, run(request, lambda s: s.invites()))
        body = await body_of(
            request,
            "invite",
            allowed={"email", "role", "rbac_group_ids"},
            required={"email", "role"},
        )
        return run(request, lambda s: s.create_invite(body["email"], body["role"]), wrote=True)

    async def invite(request: Request) -> Any:
        invite_id = request.path_params["invite_id"]
        if request.method == "GET":
            return run(request, lambda s: s.invite(invite_id))
        return run(request, lambda s: s.delete_invite(invite_id), wrote=True)

    workspace_fields = {"name", "data_residency", "tags", "external_key_id", "display_color"}

    async def workspaces(request: Request) -> Any:
        if request.method == "GET":
            archived = request.query_params.get("include_archived", "false") == "true"
            default = request.query_params.get("include_default", "false") == "true"
            return page(
                request,
                run(
                    request,
                    lambda s: s.workspaces(include_archived=archived, include_default=default),
                ),
            )
        body = await body_of(
            request, "workspace_create", allowed=workspace_fields, required={"name"}
        )
        _check_name(body.get("name"))
        return run(request, lambda s: s.create_workspace(body), wrote=True)

    async def workspace(request: Request) -> Any:
        workspace_id = request.path_params["workspace_id"]
        if request.method == "GET":
            return run(request, lambda s: s.workspace(workspace_id))
        body = await body_of(request, "workspace_update", allowed=workspace_fields)
        if "name" in body:
            _check_name(body["name"])
        return run(request, lambda s: s.update_workspace(workspace_id, body), wrote=True)

    async def archive(request: Request) -> Any:
        workspace_id = request.path_params["workspace_id"]
        return run(request, lambda s: s.archive_workspace(workspace_id), wrote=True)

    async def members(request: Request) -> Any:
        workspace_id = request.path_params["workspace_id"]
        if request.method == "GET":
            return page(request, run(request, lambda s: s.members(workspace_id)), key="user_id")
        body = await body_of(
            request,
            "member_add",
            allowed={"user_id", "workspace_role"},
            required={"user_id", "workspace_role"},
        )
        return run(
            request,
            lambda s: s.add_member(workspace_id, body["user_id"], body["workspace_role"]),
            wrote=True,
        )

    async def member(request: Request) -> Any:
        workspace_id = request.path_params["workspace_id"]
        user_id = request.path_params["user_id"]
        if request.method == "GET":
            return run(request, lambda s: s.member(workspace_id, user_id))
        if request.method == "DELETE":
            return run(request, lambda s: s.remove_member(workspace_id, user_id), wrote=True)
        body = await body_of(
            request, "member_update", allowed={"workspace_role"}, required={"workspace_role"}
        )
        return run(
            request,
            lambda s: s.update_member(workspace_id, user_id, body["workspace_role"]),
            wrote=True,
        )

    async def api_keys(request: Request) -> Any:
        found = run(request, lambda s: s.api_keys())
        for name in ("status", "workspace_id"):
            if wanted := request.query_params.get(name):
                found = [
                    k
                    for k in found
                    if (k["scope"].get("workspace_id") if name == "workspace_id" else k[name])
                    == wanted
                ]
        return page(request, found)

    async def api_key(request: Request) -> Any:
        key_id = request.path_params["api_key_id"]
        if request.method == "GET":
            return run(request, lambda s: s.api_key(key_id))
        body = await body_of(request, "api_key", allowed={"name", "status"})
        if body.get("status", "active") not in ("active", "inactive", "archived"):
            raise ErrorAnswer(400, "status: must be active, inactive or archived.")
        return run(request, lambda s: s.update_api_key(key_id, body), wrote=True)

    async def rate_limits(request: Request) -> Any:
        wanted = group_type(request)
        return cursor_page(
            request.query_params,
            run(request, lambda s: s.limits.rate_limits(wanted)),
            default=None,
        )

    async def workspace_rate_limits(request: Request) -> Any:
        workspace_id = request.path_params["workspace_id"]
        wanted = group_type(request)
        inherited = request.query_params.get("include_inherited", "false") == "true"
        found = run(
            request,
            lambda s: s.limits.workspace_rate_limits(
                workspace_id, include_inherited=inherited, group_type=wanted
            ),
        )
        return cursor_page(request.query_params, found, default=None)

    async def workspace_rate_limit(request: Request) -> Any:
        workspace_id = request.path_params["workspace_id"]
        rate_limit_id = request.path_params["rate_limit_id"]
        body = await body_of(
            request, "workspace_rate_limit", allowed={"limits"}, required={"limits"}
        )
        return run(
            request,
            lambda s: s.limits.update_workspace_rate_limit(
                workspace_id, rate_limit_id, body["limits"]
            ),
            wrote=True,
        )

    async def spend_limits(request: Request) -> Any:
        if request.method == "POST":
            body = await body_of(
                request,
                "spend_limit",
                allowed={"amount", "scope", "period"},
                required={"amount", "scope"},
            )
            return run(request, lambda s: s.limits.set_spend_limit(body), wrote=True)
        require_beta(request, SPEND_READS_BETA)
        # The SDK sends a list as scope_type[]=a&scope_type[]=b.
        scopes = request.query_params.getlist("scope_type[]") or request.query_params.getlist(
            "scope_type"
        )
        workspace_id = request.query_params.get("workspace_id")
        found = run(
            request,
            lambda s: s.limits.spend_limits(scope_types=scopes, workspace_id=workspace_id),
        )
        return cursor_page(request.query_params, found, default=20)

    def report(request: Request, kind: str) -> dict[str, Any]:
        """A cost or usage report: the query checked, then ``limit`` rows a page from
        the ``page`` cursor, with the moment the data is as of."""
        require_beta(request, REPORTS_BETA)
        reports = store(request).reports
        reports.check_offered()
        query = query_of(request.query_params)
        made = reports.cost if kind == "cost" else reports.usage
        body = cursor_page(request.query_params, run(request, lambda _: made(query)), default=20)
        body["has_more"] = body["next_page"] is not None
        body["data_refreshed_at"] = query.refreshed.strftime("%Y-%m-%dT%H:%M:%SZ")
        return body

    async def cost_report(request: Request) -> Any:
        return report(request, "cost")

    async def usage_report(request: Request) -> Any:
        return report(request, "usage")

    async def sandbox_spend(request: Request) -> Response:
        """Each workspace's spending rate (the cost and usage reports) by workspace
        name, read or set, so a month's money can cross a spend limit on cue:
        ``{"workspaces": {"Research": {"cost_per_day": "250000"}}}``."""
        authorize(request, "sandbox:control")
        admin = store(request)
        active = admin.workspaces(include_archived=False, include_default=True)
        ids = {w["name"]: w["id"] for w in active}
        if request.method == "PATCH":
            body = await read_body(request)
            with request.app.state.store.transaction():
                admin.reports.set_rates(body, ids)
        rates = admin.reports.rates()
        return JSONResponse({"workspaces": {n: rates[i] for n, i in ids.items() if i in rates}})

    async def spend_limit(request: Request) -> Any:
        limit_id = request.path_params["spend_limit_id"]
        if request.method == "GET":
            return run(request, lambda s: s.limits.spend_limit(limit_id))
        return run(request, lambda s: s.limits.delete_spend_limit(limit_id), wrote=True)

    return [
        Route(f"{BASE}/me", guarded(me), methods=["GET"]),
        Route(f"{BASE}/rate_limits", guarded(rate_limits), methods=["GET"]),
        Route(
            f"{BASE}/workspaces/{{workspace_id}}/rate_limits",
            guarded(workspace_rate_limits),
            methods=["GET"],
        ),
        Route(
            f"{BASE}/workspaces/{{workspace_id}}/rate_limits/{{rate_limit_id}}",
            guarded(workspace_rate_limit),
            methods=["POST"],
        ),
        Route(f"{BASE}/spend_limits", guarded(spend_limits), methods=["GET", "POST"]),
        Route(
            f"{BASE}/spend_limits/{{spend_limit_id}}",
            guarded(spend_limit),
            methods=["GET", "DELETE"],
        ),
        Route(f"{CONTROL_PREFIX}spend", sandbox_spend, methods=["GET", "PATCH"]),
        Route(f"{BASE}/analytics/cost", guarded(cost_report), methods=["GET"]),
        Route(f"{BASE}/analytics/usage", guarded(usage_report), methods=["GET"]),
        Route(f"{BASE}/users", guarded(users), methods=["GET"]),
        Route(f"{BASE}/users/{{user_id}}", guarded(user), methods=["GET", "POST", "DELETE"]),
        Route(f"{BASE}/invites", guarded(invites), methods=["GET", "POST"]),
        Route(f"{BASE}/invites/{{invite_id}}", guarded(invite), methods=["GET", "DELETE"]),
        Route(f"{BASE}/workspaces", guarded(workspaces), methods=["GET", "POST"]),
        Route(f"{BASE}/workspaces/{{workspace_id}}", guarded(workspace), methods=["GET", "POST"]),
        Route(f"{BASE}/workspaces/{{workspace_id}}/archive", guarded(archive), methods=["POST"]),
        Route(
            f"{BASE}/workspaces/{{workspace_id}}/members", guarded(members), methods=["GET", "POST"]
        ),
        Route(
            f"{BASE}/workspaces/{{workspace_id}}/members/{{user_id}}",
            guarded(member),
            methods=["GET", "POST", "DELETE"],
        ),
        Route(f"{BASE}/api_keys", guarded(api_keys), methods=["GET"]),
        Route(f"{BASE}/api_keys/{{api_key_id}}", guarded(api_key), methods=["GET", "POST"]),
    ]


def scope_for(request: Request) -> str:
    """The scope a route needs: the organization's admin scope on a Console
    organization; on an Enterprise one, the granular members' scopes for users and
    invites, and the Console-only endpoints refused as the API refuses them."""
    if request.app.state.store.admin.organization_type() != "enterprise":
        return ADMIN_SCOPE
    path = request.url.path[len(BASE) :]
    if path.startswith(CONSOLE_ONLY):
        raise gated.not_for_this_type()
    if path.startswith(("/users", "/invites")):
        return "read:members" if request.method == "GET" else "write:members"
    return ADMIN_SCOPE


def _check_name(name: Any) -> None:
    if not isinstance(name, str) or not 1 <= len(name) <= 40:
        raise ErrorAnswer(400, "name: must be text of 1 to 40 characters.")
