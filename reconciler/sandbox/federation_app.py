"""The sandbox's federation routes: the token exchange the SDK makes
(``POST /v1/oauth/token``), the identity provider's published keys
(``/.well-known/jwks.json`` and the discovery document that names them), and
minting identity tokens with the claims a test asks for
(``POST /_sandbox/oidc/token``, a ``sandbox:control`` key), or as GitHub Actions'
token service hands them to a job (``GET /_sandbox/oidc/actions``)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reconciler.sandbox.errors import ErrorAnswer
from reconciler.sandbox.federation import ACCESS_TOKEN_PREFIX, FEDERATION_BETA, OAuthError
from reconciler.sandbox.middleware import CONTROL_PREFIX
from reconciler.sandbox.oidc import Signer
from reconciler.sandbox.paging import cursor_page

JWKS_PATH = "/.well-known/jwks.json"


def federation_routes(
    *,
    authorize: Callable[[Request, str], None],
    read_body: Callable[[Request], Awaitable[dict[str, Any]]],
) -> list[Route]:
    """The routes; ``authorize`` and ``read_body`` are the app's own."""

    async def token(request: Request) -> Response:
        try:
            flags = {f.strip() for f in request.headers.get("anthropic-beta", "").split(",")}
            if FEDERATION_BETA not in flags:
                raise OAuthError(
                    400,
                    "invalid_request",
                    f"The anthropic-beta header must include {FEDERATION_BETA}.",
                )
            body = await _grant(request, read_body)
            store = request.app.state.store
            settings = request.app.state.conditions.settings
            signer: Signer = request.app.state.signer
            with store.transaction():
                answer = store.admin.federation.exchange(
                    body,
                    signer,
                    organization_id=store.admin.organization()["id"],
                    lifetime=settings.access_token_seconds,
                    requests=settings.access_token_requests,
                )
        except OAuthError as exc:
            return JSONResponse(exc.body(), status_code=exc.status)
        return JSONResponse(answer, headers={"cache-control": "no-store"})

    async def jwks(request: Request) -> Response:
        signer: Signer = request.app.state.signer
        return JSONResponse(signer.jwks())

    async def discovery(request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        return JSONResponse(
            {
                "issuer": base,
                "jwks_uri": base + JWKS_PATH,
                "response_types_supported": ["id_token"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
            }
        )

    async def mint(request: Request) -> Response:
        authorize(request, "sandbox:control")
        asked = await read_body(request)
        for name, value in asked.items():
            if not _claim_value(value):
                raise ErrorAnswer(
                    400,
                    f"claim {name}: a value is a string, a number, a boolean, a list of "
                    "strings, or null (to leave the claim out).",
                )
        store = request.app.state.store
        claims = {**store.admin.federation.default_claims(time.time()), **asked}
        signer: Signer = request.app.state.signer
        kept = {name: value for name, value in claims.items() if value is not None}
        return JSONResponse({"token": signer.sign(kept)})

    async def actions(request: Request) -> Response:
        """GitHub Actions' token service, as a job with ``id-token: write`` calls it
        (``ACTIONS_ID_TOKEN_REQUEST_URL`` with ``&audience=``, the request token as
        bearer): a token the first rule accepts, for the audience asked."""
        authorize(request, "sandbox:control")
        store = request.app.state.store
        claims = store.admin.federation.default_claims(time.time())
        if audience := request.query_params.get("audience"):
            claims["aud"] = audience
        signer: Signer = request.app.state.signer
        return JSONResponse({"count": 1, "value": signer.sign(claims)})

    def oauth_only(request: Request) -> str:
        """An OAuth access token with ``org:admin``, as the SDK documents for these
        endpoints (Admin API keys are not accepted); the service account it acts as."""
        bearer = request.headers.get("authorization", "").partition(" ")[2].strip()
        if request.headers.get("x-api-key") or not bearer.startswith(ACCESS_TOKEN_PREFIX):
            raise ErrorAnswer(
                403,
                "This endpoint needs an OAuth access token with the org:admin scope; Admin "
                "API keys are not accepted.",
            )
        authorize(request, "organization:admin")
        actor: str = request.app.state.store.admin.federation.actor(bearer)
        return actor

    async def trusted(
        request: Request, act: Callable[[Any, str, dict[str, Any]], Any], *, wrote: bool
    ) -> Response:
        """One issuer or rule call (``admin_trust``), signed in by OAuth only."""
        actor = oauth_only(request)
        store = request.app.state.store
        sent = request.headers.get("content-length", "0") != "0"
        body = await read_body(request) if request.method == "POST" and sent else {}
        if not wrote:
            return JSONResponse(act(store.admin.trust, actor, body))
        with store.transaction():
            answer = act(store.admin.trust, actor, body)
        request.state.wrote = True
        return JSONResponse(answer)

    async def issuers(request: Request) -> Response:
        if request.method == "POST":
            return await trusted(request, lambda t, a, b: t.create_issuer(b, a), wrote=True)
        archived = request.query_params.get("include_archived", "false") == "true"
        return await trusted(
            request,
            lambda t, a, b: cursor_page(
                request.query_params, t.issuers(include_archived=archived), default=20
            ),
            wrote=False,
        )

    async def issuer(request: Request) -> Response:
        issuer_id = request.path_params["issuer_id"]
        if request.method == "GET":
            return await trusted(request, lambda t, a, b: t.issuer(issuer_id), wrote=False)
        return await trusted(request, lambda t, a, b: t.update_issuer(issuer_id, b, a), wrote=True)

    async def archive_issuer(request: Request) -> Response:
        issuer_id = request.path_params["issuer_id"]
        return await trusted(request, lambda t, a, b: t.archive_issuer(issuer_id, a), wrote=True)

    async def rules(request: Request) -> Response:
        admin = request.app.state.store.admin
        if request.method == "POST":

            def exists(workspace_id: str) -> bool:
                return any(
                    w["id"] == workspace_id
                    for w in admin.workspaces(include_archived=False, include_default=True)
                )

            return await trusted(request, lambda t, a, b: t.create_rule(b, a, exists), wrote=True)
        archived = request.query_params.get("include_archived", "false") == "true"
        issuer_id = request.query_params.get("issuer_id")
        return await trusted(
            request,
            lambda t, a, b: cursor_page(
                request.query_params,
                t.rules(include_archived=archived, issuer_id=issuer_id),
                default=20,
            ),
            wrote=False,
        )

    async def rule(request: Request) -> Response:
        rule_id = request.path_params["rule_id"]
        if request.method == "GET":
            return await trusted(request, lambda t, a, b: t.rule(rule_id), wrote=False)
        return await trusted(request, lambda t, a, b: t.update_rule(rule_id, b, a), wrote=True)

    async def archive_rule(request: Request) -> Response:
        rule_id = request.path_params["rule_id"]
        return await trusted(request, lambda t, a, b: t.archive_rule(rule_id, a), wrote=True)

    async def rule_workspaces(request: Request) -> Response:
        rule_id = request.path_params["rule_id"]
        admin = request.app.state.store.admin
        if request.method == "GET":
            names = {
                w["id"]: w["name"]
                for w in admin.workspaces(include_archived=True, include_default=True)
            }
            return await trusted(
                request,
                lambda t, a, b: cursor_page(
                    request.query_params,
                    [_enabled(rule_id, w, names.get(w)) for w in t.rule_workspaces(rule_id)],
                    default=20,
                ),
                wrote=False,
            )

        def add(t: Any, a: str, b: dict[str, Any]) -> Any:
            workspace_id = b.get("workspace_id")
            if not any(
                w["id"] == workspace_id
                for w in admin.workspaces(include_archived=False, include_default=True)
            ):
                raise ErrorAnswer(400, f"workspace_id: no active workspace {workspace_id!r}.")
            t.set_rule_workspace(rule_id, workspace_id, enabled=True, actor=a)
            return {**_enabled(rule_id, str(workspace_id), None), "created_by_actor_id": a}

        return await trusted(request, add, wrote=True)

    async def rule_workspace(request: Request) -> Response:
        rule_id, workspace_id = request.path_params["rule_id"], request.path_params["workspace_id"]

        def remove(t: Any, a: str, b: dict[str, Any]) -> Any:
            t.set_rule_workspace(rule_id, workspace_id, enabled=False, actor=a)
            return {
                "type": "federation_rule_workspace_deleted",
                "federation_rule_id": rule_id,
                "workspace_id": workspace_id,
            }

        return await trusted(request, remove, wrote=True)

    async def accounts(request: Request) -> Response:
        actor = oauth_only(request)
        store = request.app.state.store
        if request.method == "POST":
            body = await read_body(request)
            with store.transaction():
                created = store.admin.accounts.create(body, actor)
            request.state.wrote = True
            return JSONResponse(created)
        archived = request.query_params.get("include_archived", "false") == "true"
        found = store.admin.accounts.list(include_archived=archived)
        return JSONResponse(cursor_page(request.query_params, found, default=20))

    async def account(request: Request) -> Response:
        actor = oauth_only(request)
        store = request.app.state.store
        account_id = request.path_params["service_account_id"]
        if request.method == "GET":
            return JSONResponse(store.admin.accounts.get(account_id))
        body = await read_body(request)
        with store.transaction():
            updated = store.admin.accounts.update(account_id, body, actor)
        request.state.wrote = True
        return JSONResponse(updated)

    async def archive_account(request: Request) -> Response:
        actor = oauth_only(request)
        store = request.app.state.store
        with store.transaction():
            archived = store.admin.accounts.archive(
                request.path_params["service_account_id"], actor
            )
        request.state.wrote = True
        return JSONResponse(archived)

    async def account_workspaces(request: Request) -> Response:
        """A service account's workspace memberships: listed, added (or its role there
        replaced) in an active workspace."""
        actor = oauth_only(request)
        admin = request.app.state.store.admin
        account_id = request.path_params["service_account_id"]
        if request.method == "GET":
            default = admin.default_workspace()
            found = admin.accounts.memberships(account_id, default)
            return JSONResponse(cursor_page(request.query_params, found, default=20))
        body = await read_body(request)
        workspace_id = str(body.get("workspace_id"))
        active = {w["id"] for w in admin.workspaces(include_archived=False, include_default=True)}
        if workspace_id not in active:
            raise ErrorAnswer(400, f"workspace_id: no active workspace {workspace_id!r}.")
        with request.app.state.store.transaction():
            added = admin.accounts.add_membership(
                account_id, workspace_id, body.get("workspace_role"), actor
            )
        request.state.wrote = True
        return JSONResponse(added)

    async def account_workspace(request: Request) -> Response:
        oauth_only(request)
        store = request.app.state.store
        with store.transaction():
            removed = store.admin.accounts.remove_membership(
                request.path_params["service_account_id"], request.path_params["workspace_id"]
            )
        request.state.wrote = True
        return JSONResponse(removed)

    accounts_path = "/v1/organizations/service_accounts"
    issuers_path = "/v1/organizations/federation_issuers"
    rules_path = "/v1/organizations/federation_rules"
    return [
        Route(issuers_path, issuers, methods=["GET", "POST"]),
        Route(f"{issuers_path}/{{issuer_id}}", issuer, methods=["GET", "POST"]),
        Route(f"{issuers_path}/{{issuer_id}}/archive", archive_issuer, methods=["POST"]),
        Route(rules_path, rules, methods=["GET", "POST"]),
        Route(f"{rules_path}/{{rule_id}}", rule, methods=["GET", "POST"]),
        Route(f"{rules_path}/{{rule_id}}/archive", archive_rule, methods=["POST"]),
        Route(f"{rules_path}/{{rule_id}}/workspaces", rule_workspaces, methods=["GET", "POST"]),
        Route(
            f"{rules_path}/{{rule_id}}/workspaces/{{workspace_id}}",
            rule_workspace,
            methods=["DELETE"],
        ),
        Route(accounts_path, accounts, methods=["GET", "POST"]),
        Route(f"{accounts_path}/{{service_account_id}}", account, methods=["GET", "POST"]),
        Route(f"{accounts_path}/{{service_account_id}}/archive", archive_account, methods=["POST"]),
        Route(
            f"{accounts_path}/{{service_account_id}}/workspaces",
            account_workspaces,
            methods=["GET", "POST"],
        ),
        Route(
            f"{accounts_path}/{{service_account_id}}/workspaces/{{workspace_id}}",
            account_workspace,
            methods=["DELETE"],
        ),
        Route("/v1/oauth/token", token, methods=["POST"]),
        Route(f"{CONTROL_PREFIX}oidc/actions", actions, methods=["GET"]),
        Route(JWKS_PATH, jwks, methods=["GET"]),
        Route("/.well-known/openid-configuration", discovery, methods=["GET"]),
        Route(f"{CONTROL_PREFIX}oidc/token", mint, methods=["POST"]),
    ]


async def _grant(
    request: Request, read_body: Callable[[Request], Awaitable[dict[str, Any]]]
) -> dict[str, Any]:
    """The grant's fields, as JSON (as the SDK sends them); a body that is not a JSON
    object is an OAuth ``invalid_request``."""
    try:
        return await read_body(request)
    except ErrorAnswer as exc:
        raise OAuthError(400, "invalid_request", exc.message) from exc


def _enabled(rule_id: str, workspace_id: str, name: str | None) -> dict[str, Any]:
    """A rule's workspace as the SDK's ``BetaFederationRuleWorkspace``."""
    return {
        "type": "federation_rule_workspace",
        "federation_rule_id": rule_id,
        "workspace_id": workspace_id,
        "workspace_name": name,
        "created_at": "2026-04-01T00:00:00Z",
        "created_by_actor_id": None,
    }


def _claim_value(value: Any) -> bool:
    if value is None or isinstance(value, str | bool | int | float):
        return True
    return isinstance(value, list) and all(isinstance(item, str) for item in value)
