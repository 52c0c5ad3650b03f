"""A Claude Enterprise organization's Claude Code managed settings as the Admin API
serves them (``beta.organization.claude_code.managed_settings``): the mode and the
RBAC group order, each group's settings document, and the default.

The reference's rules (the SDK's docstrings and error details): every request
carries the beta header ``ce-claude-code-managed-settings-2026-10-06``, and without
it, or from an organization that is not Enterprise, the answer is 404; reads need
``read:claude_code_managed_settings``, writes ``write:...``. A member gets the
settings of the **first** group in ``rbac_group_order`` they belong to; new
settings join the end of the order; the order changes only with the
``rbac_group_order_version`` it was read at (409 otherwise, and a list whose order
moves between pages answers 409 too). Switching to ``rbac_groups`` with no group
settings and no default copies the organization settings (set in claude.ai) into a
new default, in the same write. A deleted group's settings stay in the order,
``deleted``. Documents are stored once each (groups with the same document share
it) and count against a **document limit**, unused ones included; every stored
version counts against a **history limit** that nothing lowers: once reached,
group settings, the default and the order are refused
(``settings_history_limit_exceeded``), the mode still changes unless it would copy.
The order holds at most so many groups (``rbac_group_order_limit_exceeded``); a
document is at most 1 MiB.

A seed's ``admin.claude_code`` says ``mode``, ``organization_settings``, ``default``,
``groups`` (each ``group_id`` and ``settings``, in order) and ``limits``
(``history``, ``history_used``, ``documents``, ``order``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reconciler.sandbox import gated
from reconciler.sandbox.admin_rbac_groups import RbacGroupsStore
from reconciler.sandbox.admin_settings_documents import SettingsDocuments, now
from reconciler.sandbox.errors import ErrorAnswer
from reconciler.sandbox.resource import Authorize, ReadBody, Resource

NAME = "claude_code"
BETA = "ce-claude-code-managed-settings-2026-10-06"
MODES = ("organization", "rbac_groups")
SCHEMA = """
CREATE TABLE IF NOT EXISTS admin_cc_config (
    mode TEXT NOT NULL, mode_updated_at TEXT, group_order TEXT NOT NULL,
    order_version INTEGER NOT NULL, organization_settings TEXT,
    default_document TEXT, default_updated_at TEXT
);
CREATE TABLE IF NOT EXISTS admin_cc_groups (
    group_id TEXT PRIMARY KEY, document TEXT NOT NULL, updated_at TEXT NOT NULL
);
"""


class ManagedSettingsStore:
    """The configuration (one row), the groups' settings and the stored documents."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        db.executescript(SCHEMA)
        self._docs = SettingsDocuments(db)

    def load(self, seed: Mapping[str, Any]) -> None:
        for table in ("admin_cc_config", "admin_cc_groups"):
            self._db.execute(f"DELETE FROM {table}")
        given = seed.get(NAME) or {}
        self._docs.load(given.get("limits") or {})
        org_settings = given.get("organization_settings")
        self._db.execute(
            "INSERT INTO admin_cc_config VALUES (?,?,?,?,?,?,?)",
            (
                given.get("mode", "organization"),
                None,
                "[]",
                1,
                None if org_settings is None else json.dumps(org_settings),
                None,
                None,
            ),
        )
        stamp = now()
        order = []
        for entry in given.get("groups") or []:
            document = self._docs.store(entry["settings"])
            self._db.execute(
                "INSERT INTO admin_cc_groups VALUES (?,?,?)", (entry["group_id"], document, stamp)
            )
            order.append(entry["group_id"])
        default = given.get("default")
        self._db.execute(
            "UPDATE admin_cc_config SET group_order = ?, default_document = ?, "
            "default_updated_at = ?",
            (
                json.dumps(order),
                None if default is None else self._docs.store(default),
                None if default is None else stamp,
            ),
        )

    # -- reads ---------------------------------------------------------------------

    def configuration(self) -> dict[str, Any]:
        row = self._config()
        return {
            "mode": {"type": row["mode"]},
            "mode_updated_at": row["mode_updated_at"],
            "rbac_group_order": json.loads(row["group_order"]),
            "rbac_group_order_version": _version(row),
            "type": "claude_code_managed_settings_configuration",
        }

    def summaries(self, groups: RbacGroupsStore) -> list[dict[str, Any]]:
        return [self._summary(g, groups) for g in json.loads(self._config()["group_order"])]

    def group(self, group_id: str, groups: RbacGroupsStore) -> dict[str, Any]:
        row = self._group_row(group_id)
        return {
            **self._summary(group_id, groups),
            "settings": self._docs.settings(row["document"]),
            "type": "claude_code_rbac_group_managed_settings",
        }

    def default(self) -> dict[str, Any]:
        row = self._config()
        document = row["default_document"]
        return {
            "settings": None if document is None else self._docs.settings(document),
            "type": "claude_code_rbac_group_default_managed_settings",
            "updated_at": row["default_updated_at"],
        }

    # -- writes --------------------------------------------------------------------

    def set_group(
        self, group_id: str, body: Mapping[str, Any], groups: RbacGroupsStore
    ) -> dict[str, Any]:
        settings = _settings(body, nullable=False) or {}
        if not groups.exists(group_id):
            raise ErrorAnswer(
                404,
                "The RBAC Group is not one of the organization's groups.",
                code="rbac_group_not_found",
            )
        self._docs.charge_history()
        order = json.loads(self._config()["group_order"])
        document = self._docs.store(settings)
        if group_id in order:
            self._db.execute(
                "UPDATE admin_cc_groups SET document = ?, updated_at = ? WHERE group_id = ?",
                (document, now(), group_id),
            )
        else:
            if len(order) >= self._docs.limits()["order"]:
                raise ErrorAnswer(
                    400,
                    "The RBAC Group order already has the most groups allowed. Delete another "
                    "group's settings first.",
                    code="rbac_group_order_limit_exceeded",
                )
            self._db.execute(
                "INSERT INTO admin_cc_groups VALUES (?,?,?)", (group_id, document, now())
            )
            self._set_order([*order, group_id])
        return self.group(group_id, groups)

    def delete_group(self, group_id: str) -> dict[str, Any]:
        self._group_row(group_id)
        self._docs.charge_history()
        self._db.execute("DELETE FROM admin_cc_groups WHERE group_id = ?", (group_id,))
        order = json.loads(self._config()["group_order"])
        self._set_order([g for g in order if g != group_id])
        deleted = "claude_code_rbac_group_managed_settings_deleted"
        return {"rbac_group_id": group_id, "type": deleted}

    def set_default(self, body: Mapping[str, Any]) -> dict[str, Any]:
        settings = _settings(body, nullable=True)
        self._docs.charge_history()
        document = None if settings is None else self._docs.store(settings)
        self._db.execute(
            "UPDATE admin_cc_config SET default_document = ?, default_updated_at = ?",
            (document, None if document is None else now()),
        )
        return self.default()

    def update_configuration(self, body: Mapping[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(body) - {"mode", "rbac_group_order", "rbac_group_order_version"})
        if unknown:
            raise ErrorAnswer(400, f"{unknown[0]}: unknown field.")
        if ("rbac_group_order" in body) != ("rbac_group_order_version" in body):
            raise ErrorAnswer(
                400, "rbac_group_order and rbac_group_order_version are sent together."
            )
        row = self._config()
        order = json.loads(row["group_order"])
        if "rbac_group_order" in body:
            if body["rbac_group_order_version"] != _version(row):
                raise ErrorAnswer(
                    409, "The RBAC Group order has changed since that read: read it again."
                )
            wanted = body["rbac_group_order"]
            if not isinstance(wanted, list) or sorted(wanted) != sorted(order):
                raise ErrorAnswer(
                    400,
                    "rbac_group_order: every RBAC Group that has settings, each listed once.",
                )
            if wanted != order:
                self._docs.charge_history()
                self._set_order(wanted)
        mode = body.get("mode")
        if mode is not None:
            if not isinstance(mode, dict) or mode.get("type") not in MODES:
                raise ErrorAnswer(400, 'mode: {"type": "organization"} or {"type": "rbac_groups"}.')
            if mode["type"] != row["mode"]:
                if mode["type"] == "rbac_groups" and not order and row["default_document"] is None:
                    self._copy_organization_settings(row)
                self._db.execute(
                    "UPDATE admin_cc_config SET mode = ?, mode_updated_at = ?",
                    (mode["type"], now()),
                )
        return self.configuration()

    # -- rules ---------------------------------------------------------------------

    def _copy_organization_settings(self, row: sqlite3.Row) -> None:
        """The switch's copy: the organization settings become a new default."""
        if row["organization_settings"] is None:
            return
        self._docs.charge_history()
        document = self._docs.store(json.loads(row["organization_settings"]))
        self._db.execute(
            "UPDATE admin_cc_config SET default_document = ?, default_updated_at = ?",
            (document, now()),
        )

    def _summary(self, group_id: str, groups: RbacGroupsStore) -> dict[str, Any]:
        row = self._group_row(group_id)
        return {
            "created_at": self._docs.created_at(row["document"]),
            "rbac_group_id": group_id,
            "rbac_group_status": {"type": "active" if groups.exists(group_id) else "deleted"},
            "type": "claude_code_rbac_group_managed_settings_summary",
            "updated_at": row["updated_at"],
        }

    def _set_order(self, order: list[str]) -> None:
        self._db.execute(
            "UPDATE admin_cc_config SET group_order = ?, order_version = order_version + 1",
            (json.dumps(order),),
        )

    def _group_row(self, group_id: str) -> sqlite3.Row:
        row: sqlite3.Row | None = self._db.execute(
            "SELECT * FROM admin_cc_groups WHERE group_id = ?", (group_id,)
        ).fetchone()
        if row is None:
            raise ErrorAnswer(
                404,
                "This RBAC Group has no Claude Code managed settings.",
                code="rbac_group_managed_settings_not_found",
            )
        return row

    def _config(self) -> sqlite3.Row:
        row: sqlite3.Row = self._db.execute("SELECT * FROM admin_cc_config").fetchone()
        return row


def _version(row: sqlite3.Row) -> str:
    return f"ov_{row['order_version']}"


def _settings(body: Mapping[str, Any], *, nullable: bool) -> dict[str, Any] | None:
    unknown = sorted(set(body) - {"settings"})
    if unknown:
        raise ErrorAnswer(400, f"{unknown[0]}: unknown field.")
    if "settings" not in body:
        raise ErrorAnswer(400, "settings: required.")
    settings = body["settings"]
    if settings is None and nullable:
        return None
    if not isinstance(settings, dict):
        raise ErrorAnswer(400, "settings: a JSON object of Claude Code managed settings.")
    return settings


def _page(request: Request, items: list[dict[str, Any]], version: str) -> dict[str, Any]:
    """``limit`` (1 to 100, default 20) summaries from the ``page`` cursor, which names
    the order's version it was made at: a list whose order moved answers 409."""
    raw = request.query_params.get("limit", "20")
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= 100:
        raise ErrorAnswer(400, f"limit: an integer from 1 to 100, not {raw!r}.")
    start, at = 0, version
    cursor = request.query_params.get("page")
    if cursor:
        offset, _, at = cursor.partition(".")
        if not (offset.isascii() and offset.isdigit()):
            raise ErrorAnswer(400, "page: not a cursor this list gave.")
        start = int(offset)
    if at != version:
        raise ErrorAnswer(409, "The RBAC Group order changed between pages: list again.")
    end = start + int(raw)
    return {"data": items[start:end], "next_page": f"{end}.{version}" if end < len(items) else None}


def managed_settings_routes(authorize: Authorize, read_body: ReadBody) -> list[Route]:
    """The routes: an Enterprise key with the scope each needs, and the beta header."""

    def stores(request: Request, scope: str) -> tuple[ManagedSettingsStore, RbacGroupsStore]:
        admin = request.app.state.store.admin
        if admin.organization_type() != "enterprise":  # "not enabled for this beta": 404
            raise ErrorAnswer(404, "Not found.")
        gated.gate(
            request,
            authorize,
            beta=BETA,
            missing=404,
            scope=f"{scope}:claude_code_managed_settings",
        )
        return admin.resources[NAME], admin.resources["rbac_groups"]

    def write(
        request: Request, action: Callable[[ManagedSettingsStore, RbacGroupsStore], Any]
    ) -> Response:
        settings, groups = stores(request, "write")
        return gated.written(request, lambda: action(settings, groups))

    async def configuration(request: Request) -> Response:
        if request.method == "GET":
            return JSONResponse(stores(request, "read")[0].configuration())
        body = await read_body(request)
        return write(request, lambda s, _: s.update_configuration(body))

    async def groups(request: Request) -> Response:
        settings, known = stores(request, "read")
        version = settings.configuration()["rbac_group_order_version"]
        return JSONResponse(_page(request, settings.summaries(known), version))

    async def group(request: Request) -> Response:
        group_id = request.path_params["group_id"]
        if request.method == "GET":
            settings, known = stores(request, "read")
            return JSONResponse(settings.group(group_id, known))
        if request.method == "DELETE":
            return write(request, lambda s, _: s.delete_group(group_id))
        body = await read_body(request)
        return write(request, lambda s, g: s.set_group(group_id, body, g))

    async def default(request: Request) -> Response:
        if request.method == "GET":
            return JSONResponse(stores(request, "read")[0].default())
        body = await read_body(request)
        return write(request, lambda s, _: s.set_default(body))

    path = "/v1/organizations/claude_code/managed_settings"
    return [
        Route(f"{path}/configuration", configuration, methods=["GET", "POST"]),
        Route(f"{path}/rbac_groups", groups, methods=["GET"]),
        Route(f"{path}/rbac_groups/{{group_id}}", group, methods=["GET", "POST", "DELETE"]),
        Route(f"{path}/rbac_group_default", default, methods=["GET", "POST"]),
    ]


def seed_problem(given: object) -> str | None:
    if given == []:
        return None
    if (
        isinstance(given, dict)
        and given.get("mode", "organization") in MODES
        and all(
            isinstance(g, dict)
            and isinstance(g.get("group_id"), str)
            and isinstance(g.get("settings"), dict)
            for g in given.get("groups") or []
        )
    ):
        return None
    return (
        "a mapping of mode (organization or rbac_groups), organization_settings, default, "
        "groups (each a group_id and settings) and limits"
    )


RESOURCE = Resource(NAME, ManagedSettingsStore, managed_settings_routes, seed_problem)
