"""A hostile stand-in for the Company API, for tests only.

Each scenario lives under its own path prefix (``http://HOST:PORT/<scenario>``
used as the base URL), so one server on a loopback port serves them all. It
counts requests by method, so a test can prove no write was sent."""

from __future__ import annotations

import asyncio
import json
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

COMPANY = {
    "id": "org_h",
    "name": "Hostile",
    "billing_email": "a@example.com",
    "plan": "team",
    "usage_limit": 10,
    "created_at": "2024-01-01T00:00:00Z",
}
USAGE = {
    "tokens_used": 1,
    "tokens_remaining": 9,
    "api_calls": 1,
    "period_start": "2026-11-01T00:00:00Z",
    "period_end": "2026-12-01T00:00:00Z",
}
EMPTY_PAGE = {"data": [], "has_more": False, "first_id": None, "last_id": None}

SCENARIOS = (
    "malformed-json",
    "wrong-types",
    "missing-fields",
    "endless-list",
    "html",
    "hang",
    "redirect",
    "error-without-json",
    "nonsense-after-patch",
    "huge-count",
    "not-finite",
    "lone-surrogate",
)
# Answers that are JSON Python reads, but no count or name can be (issue 27): each
# scenario's company and usage bodies, written as raw text.
UNBOUNDED = {
    "huge-count": (
        ('"usage_limit": 10', f'"usage_limit": {2**63}'),
        ('"tokens_used": 1', '"tokens_used": 1' + "0" * 400),
    ),
    "not-finite": (
        ('"usage_limit": 10', '"usage_limit": NaN'),
        ('"tokens_used": 1', '"tokens_used": Infinity'),
    ),
    "lone-surrogate": (
        ('"name": "Hostile"', '"name": "Ho\\ud800stile"'),
        ('"api_calls": 1', '"api_calls": 1, "note": "\\udfff"'),
    ),
}


def unbounded(scenario: str, body: dict[str, Any], which: int) -> Response:
    old, new = UNBOUNDED[scenario][which]
    text = json.dumps(body)
    assert old in text
    return Response(text.replace(old, new), media_type="application/json")


class Hostile:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    async def handle(self, request: Request) -> Response:
        scenario = request.path_params["scenario"]
        rest = request.path_params["rest"]
        self.calls[request.method] += 1
        if scenario == "hang":
            await asyncio.sleep(3600)
        if scenario == "redirect":
            return Response(status_code=302, headers={"location": "http://elsewhere.invalid/"})
        if scenario == "html":
            return PlainTextResponse("<html><body>Sign in</body></html>", media_type="text/html")
        if scenario == "error-without-json":
            return PlainTextResponse("Bad Gateway", status_code=502)
        if scenario == "malformed-json" and rest.endswith("company"):
            return Response('{"id": "org_h", "name": ', media_type="application/json")
        if scenario == "wrong-types" and rest.endswith("company"):
            return JSONResponse({**COMPANY, "usage_limit": "lots"})
        if scenario == "missing-fields" and rest.endswith("company"):
            return JSONResponse({k: v for k, v in COMPANY.items() if k != "billing_email"})
        if scenario in UNBOUNDED:
            return unbounded(
                scenario, USAGE if rest.endswith("/usage") else COMPANY, rest.endswith("/usage")
            )
        if rest.endswith("/usage"):
            return JSONResponse(USAGE)
        if rest.endswith("/projects"):
            if scenario == "endless-list":
                after = request.query_params.get("after_id", "proj_000000")
                next_id = f"proj_{int(after.split('_')[1]) + 1:06d}"
                item = {
                    "id": next_id,
                    "name": "x",
                    "description": "",
                    "billing_email": None,
                    "usage_limit": None,
                    "created_at": "2024-01-01T00:00:00Z",
                    "etag": '"e"',
                }
                return JSONResponse(
                    {"data": [item], "has_more": True, "first_id": next_id, "last_id": next_id}
                )
            return JSONResponse(EMPTY_PAGE)
        if request.method == "PATCH" and scenario == "nonsense-after-patch":
            return JSONResponse({"ok": True})
        return JSONResponse(COMPANY, headers={"etag": '"c"'})


def app(handler: Hostile) -> Starlette:
    return Starlette(
        routes=[
            Route(
                "/{scenario}/{rest:path}",
                handler.handle,
                methods=["GET", "PATCH", "POST", "DELETE"],
            )
        ]
    )


@contextmanager
def hostile_server() -> Iterator[tuple[str, Hostile]]:
    """Serve on a free loopback port in a thread; yields the base address and the counter."""
    handler = Hostile()
    config = uvicorn.Config(
        app(handler),
        host="127.0.0.1",
        port=0,
        log_level="critical",
        lifespan="off",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    started = threading.Event()
    original_startup = server.startup

    async def startup(sockets: Any = None) -> None:
        await original_startup(sockets)
        started.set()

    server.startup = startup  # type: ignore[method-assign]
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    assert started.wait(timeout=15), "the hostile server did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", handler
    finally:
        server.should_exit = True
        server.force_exit = True
        thread.join(timeout=10)
