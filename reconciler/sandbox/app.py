"""The sandbox as a Starlette app, over a ``Store`` and ``Conditions``: the Company
API's routes here, the Admin API's from ``admin_app``, the control API under
``/_sandbox/``.

Request flow: ``ConditionsMiddleware`` (``middleware.py``) → routing → an
endpoint, which checks the key's scope, validates the body against the OpenAPI
schemas and calls the store. Every failure is an ``ErrorAnswer`` rendered as
Anthropic's error JSON (``errors.py``).
"""

from __future__ import annotations

import json
import math
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reconciler.sandbox import contract
from reconciler.sandbox.admin_app import admin_routes
from reconciler.sandbox.admin_errors import check_rules
from reconciler.sandbox.conditions import Conditions
from reconciler.sandbox.errors import ERROR_TYPES, ErrorAnswer, error_response
from reconciler.sandbox.federation import ACCESS_TOKEN_PREFIX
from reconciler.sandbox.federation_app import federation_routes
from reconciler.sandbox.middleware import (
    CONTROL_PREFIX,
    LOOPBACK_HOSTS,
    ConditionsMiddleware,
    rfc3339,
)
from reconciler.sandbox.oidc import Signer
from reconciler.sandbox.resources import RESOURCES
from reconciler.sandbox.seed import SeedError, seed_from_data
from reconciler.sandbox.store import Store, etag_of

MAX_BODY_BYTES = 1024 * 1024

# -- request helpers -------------------------------------------------------------


def authorize(request: Request, scope_needed: str) -> None:
    key = request.headers.get("x-api-key") or _bearer(request.headers.get("authorization", ""))
    if not key:
        raise ErrorAnswer(401, "Missing x-api-key header (or Authorization: Bearer).")
    if key.startswith(ACCESS_TOKEN_PREFIX):
        request.app.state.store.admin.federation.authorize(
            key,
            scope_needed,
            beta=request.headers.get("anthropic-beta", ""),
            doing=f"{request.method} {request.url.path}",
        )
        return
    scopes = request.app.state.store.scopes_of(key)
    if scopes is None:
        raise ErrorAnswer(401, "Invalid x-api-key.")
    if scope_needed not in scopes:
        raise ErrorAnswer(
            403,
            f"This API key lacks the scope '{scope_needed}', which "
            f"{request.method} {request.url.path} needs.",
        )


def _bearer(header: str) -> str | None:
    """Anthropic's SDK sends the key as ``Authorization: Bearer`` where the Admin API
    also accepts it; the sandbox takes either."""
    scheme, _, token = header.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


async def read_json_object(request: Request) -> dict[str, Any]:
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise ErrorAnswer(400, "Content-Type must be application/json.")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise ErrorAnswer(413, f"Request body is over {MAX_BODY_BYTES} bytes.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise ErrorAnswer(413, f"Request body is over {MAX_BODY_BYTES} bytes.")
        chunks.append(chunk)
    try:
        body = json.loads(b"".join(chunks), parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise ErrorAnswer(400, f"Request body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise ErrorAnswer(400, "Request body must be a JSON object.")
    odd = _odd_value(body)
    if odd:
        raise ErrorAnswer(400, f"Request body holds {odd}, which the API does not accept.")
    return body


def _odd_value(value: Any) -> str | None:
    """What is wrong with a JSON value, keys included: text with a lone surrogate (not
    Unicode; SQLite cannot store it) or a control character (a trailing newline that
    would be stored and then break every read), or a number past a float (``1e400``
    reads as infinity), or None."""
    if isinstance(value, dict):
        return next(filter(None, (_odd_value(k) or _odd_value(v) for k, v in value.items())), None)
    if isinstance(value, list):
        return next(filter(None, map(_odd_value, value)), None)
    if isinstance(value, float) and not math.isfinite(value):
        return "a number too large to be one"
    if isinstance(value, str):
        for c in value:
            if 0xD800 <= ord(c) <= 0xDFFF:
                return f"text with a lone surrogate (U+{ord(c):04X})"
            if ord(c) < 0x20 or ord(c) == 0x7F:
                return f"text with a control character (U+{ord(c):04X})"
    return None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def checked_update(body: dict[str, Any], component: str, resource: str) -> dict[str, Any]:
    """The body's fields, after naming every unknown or read-only one, then the first bad value."""
    writable = contract.properties(component)
    readable = contract.properties(resource)
    read_only = sorted(k for k in body if k not in writable and k in readable)
    if read_only:
        raise ErrorAnswer(400, f"{', '.join(read_only)}: read-only, cannot be changed.")
    unknown = sorted(k for k in body if k not in writable)
    if unknown:
        raise ErrorAnswer(
            400, f"{', '.join(unknown)}: unknown field (writable: {', '.join(writable)})."
        )
    problem = contract.first_error(component, body)
    if problem:
        raise ErrorAnswer(400, problem)
    return {k: int(v) if isinstance(v, float) else v for k, v in body.items()}


def interfere(request: Request, project_id: str | None) -> None:
    """With the ``conflict_rate`` setting, someone else edits the resource first."""
    if request.app.state.conditions.draw_conflict():
        request.app.state.store.edit_out_of_band(project_id)
        request.state.conflict = True


def resource_response(request: Request, resource: Any) -> Response:
    """The resource with its ETag; to a GET whose ``If-None-Match`` already names that
    ETag, ``304 Not Modified`` and no body (a poller's cached copy is current)."""
    etag = etag_of(resource)
    if request.method in ("GET", "HEAD") and _matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers={"etag": etag})
    return JSONResponse(resource, headers={"etag": etag})


def _matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 13.1.2: ``*``, or any listed tag equal to ``etag`` by the weak
    comparison (a ``W/`` prefix ignored)."""
    tags = {tag.strip().removeprefix("W/") for tag in (if_none_match or "").split(",")}
    return "*" in tags or etag in tags


# -- endpoints ---------------------------------------------------------------------


async def get_company(request: Request) -> Response:
    authorize(request, "organization:read")
    return resource_response(request, request.app.state.store.company())


async def patch_company(request: Request) -> Response:
    authorize(request, "organization:write")
    fields = checked_update(await read_json_object(request), "CompanyUpdate", "Company")
    interfere(request, None)
    company = request.app.state.store.update_company(fields, request.headers.get("if-match"))
    request.state.wrote = True
    return resource_response(request, company)


async def get_usage(request: Request) -> Response:
    authorize(request, "organization:read")
    store: Store = request.app.state.store
    usage = store.usage()
    limit = store.company()["usage_limit"]
    now = datetime.now(UTC)
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (start + timedelta(days=32)).replace(day=1)
    return JSONResponse(
        {
            "tokens_used": usage["tokens_used"],
            "tokens_remaining": None if limit is None else max(0, limit - usage["tokens_used"]),
            "api_calls": usage["api_calls"],
            "period_start": rfc3339(start),
            "period_end": rfc3339(end),
        }
    )


async def list_projects(request: Request) -> Response:
    authorize(request, "organization:read")
    raw_limit = request.query_params.get("limit", "100")
    if not (raw_limit.isascii() and raw_limit.isdigit()) or not 1 <= int(raw_limit) <= 1000:
        raise ErrorAnswer(400, f"limit: must be an integer from 1 to 1000, not {raw_limit!r}.")
    after_id = request.query_params.get("after_id")
    page, has_more = request.app.state.store.projects_page(limit=int(raw_limit), after_id=after_id)
    data = [{**project, "etag": etag_of(project)} for project in page]
    return resource_response(
        request,
        {
            "data": data,
            "has_more": has_more,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
        },
    )


async def get_project(request: Request) -> Response:
    authorize(request, "organization:read")
    return resource_response(
        request, request.app.state.store.project(request.path_params["project_id"])
    )


async def patch_project(request: Request) -> Response:
    authorize(request, "organization:write")
    project_id = request.path_params["project_id"]
    request.app.state.store.project(project_id)  # 404 before complaining about the body
    fields = checked_update(await read_json_object(request), "ProjectUpdate", "Project")
    interfere(request, project_id)
    project = request.app.state.store.update_project(
        project_id, fields, request.headers.get("if-match")
    )
    request.state.wrote = True
    return resource_response(request, project)


async def control_body(request: Request, component: str) -> dict[str, Any]:
    """A control request's JSON body, valid against ``component`` (else a 400)."""
    body = await read_json_object(request)
    problem = contract.first_error(component, body)
    if problem:
        raise ErrorAnswer(400, problem)
    return body


async def sandbox_settings(request: Request) -> Response:
    authorize(request, "sandbox:control")
    conditions: Conditions = request.app.state.conditions
    if request.method == "PATCH":
        changes = await control_body(request, "SandboxSettingsUpdate")
        check_rules(changes.get("admin_errors", []))
        conditions.update(changes)
    return JSONResponse(conditions.settings.as_json())


async def sandbox_usage(request: Request) -> Response:
    """The month's usage, read or set, so a dashboard has something to show move."""
    authorize(request, "sandbox:control")
    store: Store = request.app.state.store
    if request.method == "PATCH":
        store.set_usage(await control_body(request, "SandboxUsage"))
    return JSONResponse(store.usage())


async def sandbox_reset(request: Request) -> Response:
    """Replace the whole organization with the seed in the body (keys kept unless given),
    so a test harness can run many cases against one server process."""
    authorize(request, "sandbox:control")
    body = await read_json_object(request)
    try:
        seed = seed_from_data(body, source="request body")
    except SeedError as exc:
        raise ErrorAnswer(400, str(exc).removeprefix("request body: ")) from exc
    request.app.state.store.load(**seed, replace=True)
    return JSONResponse({"projects": len(seed["projects"])})


async def sandbox_requests(request: Request) -> Response:
    authorize(request, "sandbox:control")
    log: deque[dict[str, Any]] = request.app.state.log
    if request.method == "DELETE":
        log.clear()
        return Response(status_code=204)
    return JSONResponse({"data": list(log)})


Endpoint = Callable[[Request], Awaitable[Response]]


def by_method(**endpoints: Endpoint) -> Endpoint:
    """One route per path, so a wrong method gets a 405 listing every allowed one."""

    async def dispatch(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        return await endpoints[method](request)

    return dispatch


# -- error handlers ------------------------------------------------------------------


async def on_error_answer(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ErrorAnswer)
    return error_response(exc.status, exc.message, exc.headers, code=exc.code, details=exc.details)


async def on_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        allow = (exc.headers or {}).get("Allow", "")
        return error_response(
            405,
            f"{request.method} is not allowed on {request.url.path} (allowed: {allow}).",
            {"allow": allow},
        )
    if exc.status_code == 404:
        return error_response(404, f"No such path: {request.url.path}.")
    status = exc.status_code if exc.status_code in ERROR_TYPES else 400
    return error_response(status, exc.detail)


async def on_crash(request: Request, exc: Exception) -> Response:
    return error_response(500, "Internal server error.")


def create_app(
    store: Store,
    conditions: Conditions | None = None,
    *,
    log_size: int = 200_000,
    on_request: Callable[[dict[str, Any]], None] | None = None,
    hosts: frozenset[str] = LOOPBACK_HOSTS,
) -> Starlette:
    """The sandbox app; ``conditions`` default to none (no latency, faults or limit);
    ``on_request`` is told of each API request once it is answered."""
    conditions = conditions or Conditions()
    log: deque[dict[str, Any]] = deque(maxlen=log_size)
    base = "/v1/organizations/company"
    app = Starlette(
        routes=[
            *admin_routes(authorize=authorize, read_body=read_json_object),
            *federation_routes(authorize=authorize, read_body=read_json_object),
            *(r for resource in RESOURCES for r in resource.routes(authorize, read_json_object)),
            Route(base, by_method(GET=get_company, PATCH=patch_company), methods=["GET", "PATCH"]),
            Route(f"{base}/usage", get_usage, methods=["GET"]),
            Route(f"{base}/projects", list_projects, methods=["GET"]),
            Route(
                f"{base}/projects/{{project_id}}",
                by_method(GET=get_project, PATCH=patch_project),
                methods=["GET", "PATCH"],
            ),
            Route(f"{CONTROL_PREFIX}settings", sandbox_settings, methods=["GET", "PATCH"]),
            Route(f"{CONTROL_PREFIX}requests", sandbox_requests, methods=["GET", "DELETE"]),
            Route(f"{CONTROL_PREFIX}reset", sandbox_reset, methods=["POST"]),
            Route(f"{CONTROL_PREFIX}usage", sandbox_usage, methods=["GET", "PATCH"]),
        ],
        exception_handlers={
            ErrorAnswer: on_error_answer,
            HTTPException: on_http_exception,
            Exception: on_crash,
        },
    )
    app.state.store = store
    app.state.conditions = conditions
    app.state.log = log
    app.state.signer = Signer()  # the identity provider's key, made on first use
    app.add_middleware(
        ConditionsMiddleware, conditions=conditions, log=log, on_request=on_request, hosts=hosts
    )
    return app
