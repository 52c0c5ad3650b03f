"""OpenTelemetry destinations as the Admin API serves them
(``beta.organization.telemetry_destinations`` and their ``workspaces``), and their routes.

The reference's rules (the SDK's docstrings): every request carries the beta header
``telemetry-destinations-2026-08-11``; an organization has **at most 10** destinations,
disabled ones included; ``endpoint_url`` is ``https`` with a hostname (not an IP
address), port 443 if any, no query, fragment or user, at most 2,048 characters; header
values are **write-only** (reads show ``header_names``; the sandbox keeps only a digest
of each value), at most 20 headers, names unique without case, reserved names refused;
``workspaces`` is ``all``, or an ``include`` or ``exclude`` list (of active workspaces)
read through its own list; an update replaces the list when it sends ``workspace_ids``,
merges ``headers`` by name (``null`` removes one), and a change of hostname or port
drops every header it does not send again; lists page with an opaque cursor.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reconciler.sandbox import admin_telemetry_fields as fields
from reconciler.sandbox import gated
from reconciler.sandbox.errors import ErrorAnswer
from reconciler.sandbox.gated import gate
from reconciler.sandbox.paging import cursor_page
from reconciler.sandbox.resource import Authorize, ReadBody, Resource, listed_with

TELEMETRY_BETA = "telemetry-destinations-2026-08-11"
MOST = 10
SCHEMA = """
CREATE TABLE IF NOT EXISTS admin_telemetry (
    id TEXT PRIMARY KEY, position INTEGER NOT NULL, display_name TEXT,
    endpoint_url TEXT NOT NULL, headers TEXT NOT NULL, state TEXT NOT NULL,
    traces TEXT NOT NULL, scope TEXT NOT NULL, workspace_ids TEXT NOT NULL,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL
);
"""
_TRACES = {"content_mode": "metadata_only", "enabled": True, "endpoint_url": None}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class TelemetryStore:
    """The organization's telemetry destinations. ``active`` tells an active workspace."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        db.executescript(SCHEMA)

    def load(self, seed: Mapping[str, Any]) -> None:
        """A seed's ``telemetry_destinations`` (each an ``endpoint_url``; ``id``,
        ``display_name``, ``header_names`` and ``workspaces`` when given)."""
        self._db.execute("DELETE FROM admin_telemetry")
        for position, spec in enumerate(seed.get("telemetry_destinations") or []):
            scope = spec.get("workspaces") or {"type": "all"}
            headers = {n: fields.digest("seeded") for n in spec.get("header_names") or []}
            self._insert(
                spec.get("id") or _new_id(),
                position,
                spec.get("display_name"),
                spec["endpoint_url"],
                headers,
                scope["type"],
                list(scope.get("workspace_ids") or []),
                {**_TRACES, "max_content_bytes": None},
            )

    def listed(self) -> list[dict[str, Any]]:
        rows = self._db.execute("SELECT * FROM admin_telemetry ORDER BY position").fetchall()
        return [_shown(row) for row in rows]

    def get(self, destination_id: str) -> dict[str, Any]:
        return _shown(self._row(destination_id))

    def workspaces(self, destination_id: str) -> list[dict[str, Any]]:
        row = self._row(destination_id)
        return [
            {
                "type": "telemetry_destination_workspace",
                "telemetry_destination_id": row["id"],
                "workspace_id": workspace_id,
                "created_at": row["created_at"],
            }
            for workspace_id in json.loads(row["workspace_ids"])
        ]

    def create(self, body: Mapping[str, Any], active: Callable[[str], bool]) -> dict[str, Any]:
        fields.check_fields(body, creating=True)
        count = self._db.execute("SELECT COUNT(*) FROM admin_telemetry").fetchone()[0]
        if count >= MOST:
            raise ErrorAnswer(
                400,
                f"This organization already has {MOST} telemetry destinations, the most it "
                "can have (disabled ones count); delete one first.",
            )
        scope, ids = fields.scope(body["workspaces"], active, now=("all", []))
        position = self._db.execute(
            "SELECT COALESCE(MAX(position) + 1, 0) FROM admin_telemetry"
        ).fetchone()[0]
        destination_id = _new_id()
        endpoint = fields.endpoint(body["endpoint_url"])
        traces = fields.traces({**_TRACES, "max_content_bytes": None}, body.get("traces") or {})
        self._insert(
            destination_id,
            position,
            body.get("display_name"),
            endpoint,
            fields.headers({}, body.get("headers") or {}),
            scope,
            ids,
            fields.same_origin(endpoint, traces),
        )
        return self.get(destination_id)

    def update(
        self, destination_id: str, body: Mapping[str, Any], active: Callable[[str], bool]
    ) -> dict[str, Any]:
        row = self._row(destination_id)
        fields.check_fields(body, creating=False)
        if not body:
            raise ErrorAnswer(400, "Send at least one field.")
        headers = json.loads(row["headers"])
        endpoint = row["endpoint_url"]
        if "endpoint_url" in body:
            new = fields.endpoint(body["endpoint_url"])
            if urlsplit(new).netloc != urlsplit(endpoint).netloc:
                headers = {}  # a new hostname or port: no header goes there unsent
            endpoint = new
        if body.get("headers"):
            if "endpoint_url" not in body:
                raise ErrorAnswer(
                    400, "A request that sets a header value must include endpoint_url."
                )
            headers = fields.headers(headers, body["headers"])
        traces = json.loads(row["traces"])
        if "traces" in body:
            base = {**_TRACES, "max_content_bytes": None} if body["traces"] is None else traces
            traces = fields.traces(base, body["traces"] or {})
        traces = fields.same_origin(endpoint, traces)
        state = row["state"]
        if "state" in body:
            state = fields.state(body["state"])
        scope, ids = row["scope"], json.loads(row["workspace_ids"])
        if "workspaces" in body:
            scope, ids = fields.scope(body["workspaces"], active, now=(scope, ids))
        self._db.execute(
            "UPDATE admin_telemetry SET display_name = ?, endpoint_url = ?, headers = ?, "
            "state = ?, traces = ?, scope = ?, workspace_ids = ?, updated_at = ? WHERE id = ?",
            (
                body.get("display_name", row["display_name"]),
                endpoint,
                json.dumps(headers),
                state,
                json.dumps(traces),
                scope,
                json.dumps(ids),
                _now(),
                destination_id,
            ),
        )
        return self.get(destination_id)

    def delete(self, destination_id: str) -> dict[str, Any]:
        self._row(destination_id)
        self._db.execute("DELETE FROM admin_telemetry WHERE id = ?", (destination_id,))
        return {"id": destination_id, "type": "telemetry_destination_deleted"}

    def _insert(
        self,
        destination_id: str,
        position: int,
        name: str | None,
        endpoint: str,
        headers: Mapping[str, str],
        scope: str,
        ids: list[str],
        traces: Mapping[str, Any],
    ) -> None:
        now = _now()
        self._db.execute(
            "INSERT INTO admin_telemetry VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                destination_id,
                position,
                name,
                endpoint,
                json.dumps(dict(headers)),
                "enabled",
                json.dumps(dict(traces)),
                scope,
                json.dumps(ids),
                now,
                now,
            ),
        )

    def _row(self, destination_id: str) -> sqlite3.Row:
        row: sqlite3.Row | None = self._db.execute(
            "SELECT * FROM admin_telemetry WHERE id = ?", (destination_id,)
        ).fetchone()
        if row is None:
            raise ErrorAnswer(404, f"No telemetry destination with id {destination_id!r}.")
        return row


def _new_id() -> str:
    return f"tdst_{uuid.uuid4().hex[:24]}"


def _shown(row: sqlite3.Row) -> dict[str, Any]:
    state = (
        {"type": "enabled"}
        if row["state"] == "enabled"
        else {"type": "disabled", "reason": {"type": "caller"}}
    )
    return {
        "id": row["id"],
        "type": "telemetry_destination",
        "display_name": row["display_name"],
        "endpoint_url": row["endpoint_url"],
        "header_names": sorted(json.loads(row["headers"])),
        "state": state,
        "traces": json.loads(row["traces"]),
        "workspaces": {"type": row["scope"]},
        "delivery_health": {"last_error": None, "last_error_at": None, "last_success_at": None},
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def telemetry_routes(authorize: Authorize, read_body: ReadBody) -> list[Route]:
    """The routes: a key or an OAuth access token with the organization's admin scope,
    and the beta header."""

    def store(request: Request) -> TelemetryStore:
        gate(request, authorize, beta=TELEMETRY_BETA, missing=400)
        found: TelemetryStore = request.app.state.store.admin.resources[NAME]
        return found

    def active(request: Request) -> Callable[[str], bool]:
        admin = request.app.state.store.admin
        ids = {w["id"] for w in admin.workspaces(include_archived=False, include_default=True)}
        return ids.__contains__

    async def written(request: Request, write: Callable[[TelemetryStore], Any]) -> Response:
        found = store(request)
        return gated.written(request, lambda: write(found))

    async def destinations(request: Request) -> Response:
        if request.method == "POST":
            body = await read_body(request)
            return await written(request, lambda t: t.create(body, active(request)))
        found = store(request).listed()
        return JSONResponse(cursor_page(request.query_params, found, default=20))

    async def destination(request: Request) -> Response:
        destination_id = request.path_params["destination_id"]
        if request.method == "GET":
            return JSONResponse(store(request).get(destination_id))
        if request.method == "DELETE":
            return await written(request, lambda t: t.delete(destination_id))
        body = await read_body(request)
        return await written(request, lambda t: t.update(destination_id, body, active(request)))

    async def workspaces(request: Request) -> Response:
        found = store(request).workspaces(request.path_params["destination_id"])
        return JSONResponse(cursor_page(request.query_params, found, default=20))

    path = "/v1/organizations/telemetry_destinations"
    return [
        Route(path, destinations, methods=["GET", "POST"]),
        Route(f"{path}/{{destination_id}}", destination, methods=["GET", "POST", "DELETE"]),
        Route(f"{path}/{{destination_id}}/workspaces", workspaces, methods=["GET"]),
    ]


NAME = "telemetry_destinations"
RESOURCE = Resource(NAME, TelemetryStore, telemetry_routes, listed_with(("endpoint_url",)))
