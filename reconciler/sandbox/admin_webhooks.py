"""Organization webhook endpoints as the Admin API serves them
(``beta.organization.webhooks``), and their routes.

The reference's rules (the SDK's docstrings): every request carries the beta header
``webhooks-2026-10-07``, and without it the answer is 404, as if the API did not exist;
an organization has **at most 32** endpoints, enabled or disabled; ``url`` is HTTPS and
``enabled_events`` lists at least one known event; the create's answer is the only
one that carries the **signing secret** (``whsec_...``), which the sandbox keeps only as
a SHA-256 digest (so neither its database nor its request log can give it back); an
update's empty ``enabled_events`` leaves the set unchanged, ``state: enabled`` clears
``disabled_reason``; lists are newest first and page with ``after_id``/``before_id``.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reconciler.sandbox import gated
from reconciler.sandbox.errors import ErrorAnswer
from reconciler.sandbox.gated import gate
from reconciler.sandbox.resource import Authorize, ReadBody, Resource, listed_with

WEBHOOKS_BETA = "webhooks-2026-10-07"
MOST = 32
EVENTS = (
    "external_key.failed",
    "external_key.recovered",
    "external_storage.failed",
    "external_storage.recovered",
    "user_profile.enforcement_action_opened",
    "user_profile.enforcement_action_resolved",
    "user_profile.program_status_updated",
)
SCHEMA = """
CREATE TABLE IF NOT EXISTS admin_webhooks (
    id TEXT PRIMARY KEY, position INTEGER NOT NULL, name TEXT NOT NULL,
    description TEXT NOT NULL, url TEXT NOT NULL, events TEXT NOT NULL, state TEXT NOT NULL,
    disabled_reason TEXT NOT NULL, secret_sha256 TEXT NOT NULL,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL
);
"""


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class WebhooksStore:
    """The organization's webhook endpoints."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        db.executescript(SCHEMA)

    def load(self, seed: Mapping[str, Any]) -> None:
        """A seed's ``webhooks`` (each ``url`` and ``enabled_events``; ``id``, ``name``,
        ``description`` and ``state`` when given)."""
        self._db.execute("DELETE FROM admin_webhooks")
        for position, hook in enumerate(seed.get("webhooks") or []):
            self._insert(
                hook.get("id") or _new_id(),
                position,
                hook,
                secret="",
                state=hook.get("state", "enabled"),
            )

    def list(self) -> list[dict[str, Any]]:
        rows = self._db.execute("SELECT * FROM admin_webhooks ORDER BY position DESC").fetchall()
        return [_shown(row) for row in rows]

    def get(self, hook_id: str) -> dict[str, Any]:
        return _shown(self._row(hook_id))

    def create(self, body: Mapping[str, Any]) -> dict[str, Any]:
        _check(body, creating=True)
        count = self._db.execute("SELECT COUNT(*) FROM admin_webhooks").fetchone()[0]
        if count >= MOST:
            raise ErrorAnswer(
                400,
                f"This organization already has {MOST} webhook endpoints, the most it can "
                "have; delete one first.",
            )
        position = self._db.execute(
            "SELECT COALESCE(MAX(position) + 1, 0) FROM admin_webhooks"
        ).fetchone()[0]
        secret = "whsec_" + secrets.token_urlsafe(32)
        hook_id = _new_id()
        self._insert(hook_id, position, body, secret=secret, state="enabled")
        return {**self.get(hook_id), "signing_secret": secret}

    def update(self, hook_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        row = self._row(hook_id)
        _check(body, creating=False)
        events = body.get("enabled_events") or json.loads(row["events"])
        state = body.get("state", row["state"])
        self._db.execute(
            "UPDATE admin_webhooks SET name = ?, description = ?, url = ?, events = ?, "
            "state = ?, disabled_reason = ?, updated_at = ? WHERE id = ?",
            (
                body.get("name", row["name"]),
                body.get("description", row["description"]),
                body.get("url", row["url"]),
                json.dumps(list(events)),
                state,
                "" if state == "enabled" else row["disabled_reason"],
                _now(),
                hook_id,
            ),
        )
        return self.get(hook_id)

    def delete(self, hook_id: str) -> dict[str, Any]:
        self._row(hook_id)
        self._db.execute("DELETE FROM admin_webhooks WHERE id = ?", (hook_id,))
        return {"id": hook_id, "type": "webhook_endpoint_deleted"}

    def signed_by(self, hook_id: str, secret: str) -> bool:
        """Whether ``secret`` is the endpoint's signing secret (for tests: the secret
        reached where the operator said)."""
        digest = hashlib.sha256(secret.encode()).hexdigest()
        return bool(secrets.compare_digest(self._row(hook_id)["secret_sha256"], digest))

    def _insert(
        self, hook_id: str, position: int, body: Mapping[str, Any], *, secret: str, state: str
    ) -> None:
        now = _now()
        self._db.execute(
            "INSERT INTO admin_webhooks VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                hook_id,
                position,
                body.get("name", ""),
                body.get("description", ""),
                body["url"],
                json.dumps(list(body["enabled_events"])),
                state,
                "",
                hashlib.sha256(secret.encode()).hexdigest(),
                now,
                now,
            ),
        )

    def _row(self, hook_id: str) -> sqlite3.Row:
        row: sqlite3.Row | None = self._db.execute(
            "SELECT * FROM admin_webhooks WHERE id = ?", (hook_id,)
        ).fetchone()
        if row is None:
            raise ErrorAnswer(404, f"No webhook endpoint with id {hook_id!r}.")
        return row


def _new_id() -> str:
    return f"whep_{uuid.uuid4().hex[:24]}"


def _check(body: Mapping[str, Any], *, creating: bool) -> None:
    allowed = {"name", "description", "url", "enabled_events"} | (set() if creating else {"state"})
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ErrorAnswer(400, f"{unknown[0]}: unknown field.")
    if creating and ("url" not in body or not body.get("enabled_events")):
        raise ErrorAnswer(400, "url and enabled_events (at least one event) are required.")
    url = body.get("url", "https://")
    if not isinstance(url, str) or not url.startswith("https://") or len(url) > 2048:
        raise ErrorAnswer(400, "url: an HTTPS URL of at most 2,048 characters.")
    events = body.get("enabled_events") or []
    if not isinstance(events, list) or any(e not in EVENTS for e in events):
        raise ErrorAnswer(400, f"enabled_events: each one of {', '.join(EVENTS)}.")
    for name in ("name", "description"):
        if not isinstance(body.get(name, ""), str):
            raise ErrorAnswer(400, f"{name}: text.")
    if body.get("state", "enabled") not in ("enabled", "disabled"):
        raise ErrorAnswer(400, "state: enabled or disabled.")


def _shown(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "description": row["description"],
        "url": row["url"],
        "enabled_events": json.loads(row["events"]),
        "state": row["state"],
        "disabled_reason": row["disabled_reason"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def webhook_routes(authorize: Authorize, read_body: ReadBody) -> list[Route]:
    """The routes: a key or an OAuth access token with the organization's admin scope,
    and the beta header (404 without it, as the reference says)."""

    def store(request: Request) -> WebhooksStore:
        gate(request, authorize, beta=WEBHOOKS_BETA, missing=404)
        hooks: WebhooksStore = request.app.state.store.admin.resources[NAME]
        return hooks

    async def written(request: Request, write: Callable[[WebhooksStore], Any]) -> Response:
        hooks = store(request)
        return gated.written(request, lambda: write(hooks))

    async def hooks(request: Request) -> Response:
        if request.method == "POST":
            body = await read_body(request)
            return await written(request, lambda h: h.create(body))
        return JSONResponse(_page(request.query_params, store(request).list()))

    async def hook(request: Request) -> Response:
        hook_id = request.path_params["hook_id"]
        if request.method == "GET":
            return JSONResponse(store(request).get(hook_id))
        if request.method == "DELETE":
            return await written(request, lambda h: h.delete(hook_id))
        body = await read_body(request)
        return await written(request, lambda h: h.update(hook_id, body))

    path = "/v1/organizations/webhooks"
    return [
        Route(path, hooks, methods=["GET", "POST"]),
        Route(f"{path}/{{hook_id}}", hook, methods=["GET", "POST", "DELETE"]),
    ]


def _page(params: Mapping[str, str], items: list[dict[str, Any]]) -> dict[str, Any]:
    """``limit`` (default 20, at most 100) items after ``after_id`` or before
    ``before_id``, in list order."""
    raw = params.get("limit", "20")
    if not (raw.isascii() and raw.isdigit()) or not 0 <= int(raw) <= 100:
        raise ErrorAnswer(400, f"limit: an integer from 0 to 100, not {raw!r}.")
    limit = int(raw) or 20
    ids = [item["id"] for item in items]
    after, before = params.get("after_id"), params.get("before_id")
    if after in ids:
        window = items[ids.index(after) + 1 :][:limit]
        more = ids.index(after) + 1 + limit < len(items)
    elif before in ids:
        window = items[: ids.index(before)][:limit]
        more = ids.index(before) > limit
    else:
        window, more = items[:limit], len(items) > limit
    return {
        "data": window,
        "has_more": more,
        "first_id": window[0]["id"] if window else None,
        "last_id": window[-1]["id"] if window else None,
    }


NAME = "webhooks"
RESOURCE = Resource(NAME, WebhooksStore, webhook_routes, listed_with(("url", "enabled_events")))
