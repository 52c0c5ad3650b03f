"""A Claude Enterprise organization's RBAC groups, their members and the read-only
roles attached to them, as the Admin API serves them (``beta.organization.rbac_groups``,
``rbac_roles``).

The reference's rules (the SDK's docstrings and error details): groups are
Enterprise-only (any other organization gets ``organization_type_not_supported``);
a group the API creates is ``direct``, one the identity provider made is ``scim``
and cannot be renamed, deleted or have its membership changed here; members are
users of the organization only; a group with a role that grants owner access
refuses membership changes and deletion (``rbac_group_grants_owner_access``);
``role_ids`` are read-only; names are not unique. Lists page with an opaque
``page`` cursor (1 to 1,000). Reads need ``read:rbac_groups``, writes
``write:rbac_groups``, roles ``read:members``.

A seed says ``admin.rbac_roles`` (``id``, ``display_name``, ``source``, and
``owner_access: true`` for a role that grants it) and ``admin.rbac_groups`` (``name``;
``id``, ``source_type``, ``role_ids`` and ``members`` by email when given).
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reconciler.sandbox import gated
from reconciler.sandbox.errors import ErrorAnswer
from reconciler.sandbox.paging import cursor_page
from reconciler.sandbox.resource import Authorize, ReadBody, Resource

NAME = "rbac_groups"
SCHEMA = """
CREATE TABLE IF NOT EXISTS admin_rbac_groups (
    id TEXT PRIMARY KEY, position INTEGER NOT NULL, name TEXT NOT NULL,
    source_type TEXT NOT NULL, role_ids TEXT NOT NULL,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS admin_rbac_group_members (
    group_id TEXT NOT NULL, email TEXT NOT NULL, created_at TEXT NOT NULL,
    PRIMARY KEY (group_id, email)
);
CREATE TABLE IF NOT EXISTS admin_rbac_roles (
    id TEXT PRIMARY KEY, display_name TEXT NOT NULL, source TEXT NOT NULL,
    owner_access INTEGER NOT NULL, created_at TEXT NOT NULL
);
"""
SCIM = (
    'Groups provisioned by an identity provider (source type "scim") cannot be '
    "modified via the API."
)
OWNER_ACCESS = (
    "A role attached to an RBAC Group in the request grants owner access, so this API "
    "does not add members to that group (directly or through an invite), remove its "
    "members, or delete it. Make the change in the organization's admin settings in Claude."
)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class RbacGroupsStore:
    """The groups, their members (by email: a member is one of the organization's
    users, whose id is read from the users' table) and the roles."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        db.executescript(SCHEMA)

    def load(self, seed: Mapping[str, Any]) -> None:
        for table in ("admin_rbac_groups", "admin_rbac_group_members", "admin_rbac_roles"):
            self._db.execute(f"DELETE FROM {table}")
        now = _now()
        for role in seed.get("rbac_roles") or []:
            self._db.execute(
                "INSERT INTO admin_rbac_roles VALUES (?,?,?,?,?)",
                (
                    role.get("id") or f"rbac_role_{uuid.uuid4().hex[:24]}",
                    role.get("display_name", "Role"),
                    role.get("source", "custom"),
                    int(bool(role.get("owner_access"))),
                    now,
                ),
            )
        for position, group in enumerate(seed.get(NAME) or []):
            group_id = group.get("id") or new_group_id()
            self._db.execute(
                "INSERT INTO admin_rbac_groups VALUES (?,?,?,?,?,?,?)",
                (
                    group_id,
                    position,
                    group["name"],
                    group.get("source_type", "direct"),
                    json.dumps(list(group.get("role_ids") or [])),
                    now,
                    now,
                ),
            )
            for email in group.get("members") or []:
                self._db.execute(
                    "INSERT INTO admin_rbac_group_members VALUES (?,?,?)", (group_id, email, now)
                )

    # -- groups --------------------------------------------------------------------

    def listed(self) -> list[dict[str, Any]]:
        rows = self._db.execute("SELECT * FROM admin_rbac_groups ORDER BY position").fetchall()
        return [_group(row) for row in rows]

    def get(self, group_id: str) -> dict[str, Any]:
        return _group(self._row(group_id))

    def exists(self, group_id: str) -> bool:
        """Whether the organization has this group (managed settings ask)."""
        found = self._db.execute(
            "SELECT 1 FROM admin_rbac_groups WHERE id = ?", (group_id,)
        ).fetchone()
        return found is not None

    def create(self, body: Mapping[str, Any]) -> dict[str, Any]:
        name = _name(body, required=True)
        position = self._db.execute(
            "SELECT COALESCE(MAX(position) + 1, 0) FROM admin_rbac_groups"
        ).fetchone()[0]
        group_id, now = new_group_id(), _now()
        self._db.execute(
            "INSERT INTO admin_rbac_groups VALUES (?,?,?,?,?,?,?)",
            (group_id, position, name, "direct", "[]", now, now),
        )
        return self.get(group_id)

    def update(self, group_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        row = self._row(group_id)
        self._direct(row)
        name = _name(body, required=False)
        if name is not None:
            self._db.execute(
                "UPDATE admin_rbac_groups SET name = ?, updated_at = ? WHERE id = ?",
                (name, _now(), group_id),
            )
        return self.get(group_id)

    def delete(self, group_id: str) -> dict[str, Any]:
        row = self._row(group_id)
        self._direct(row)
        self._not_owner(row)
        self._db.execute("DELETE FROM admin_rbac_groups WHERE id = ?", (group_id,))
        self._db.execute("DELETE FROM admin_rbac_group_members WHERE group_id = ?", (group_id,))
        return {"id": group_id, "type": "rbac_group_deleted"}

    # -- members -------------------------------------------------------------------

    def members(self, group_id: str) -> list[dict[str, Any]]:
        self._row(group_id)
        rows = self._db.execute(
            "SELECT m.group_id, m.email, m.created_at, u.id AS user_id "
            "FROM admin_rbac_group_members m JOIN admin_users u ON u.email = m.email "
            "WHERE m.group_id = ? ORDER BY m.created_at, m.email",
            (group_id,),
        ).fetchall()
        return [_member(row) for row in rows]

    def add(self, group_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        row = self._row(group_id)
        if set(body) - {"user_id"} or not isinstance(body.get("user_id"), str):
            raise ErrorAnswer(400, "user_id: required, the ID of one of the organization's users.")
        self._direct(row)
        self._not_owner(row)
        email = self._email_of(body["user_id"])
        self._db.execute(
            "INSERT OR IGNORE INTO admin_rbac_group_members VALUES (?,?,?)",
            (group_id, email, _now()),
        )
        return next(m for m in self.members(group_id) if m["user_id"] == body["user_id"])

    def remove(self, group_id: str, user_id: str) -> dict[str, Any]:
        row = self._row(group_id)
        self._direct(row)
        self._not_owner(row)
        email = self._email_of(user_id)
        gone = self._db.execute(
            "DELETE FROM admin_rbac_group_members WHERE group_id = ? AND email = ?",
            (group_id, email),
        )
        if not gone.rowcount:
            raise ErrorAnswer(404, f"The user {user_id} is not a member of the RBAC Group.")
        return {"rbac_group_id": group_id, "user_id": user_id, "type": "rbac_group_member_deleted"}

    # -- roles ---------------------------------------------------------------------

    def roles(self) -> list[dict[str, Any]]:
        rows = self._db.execute("SELECT * FROM admin_rbac_roles ORDER BY id").fetchall()
        return [_role(row) for row in rows]

    def role(self, role_id: str) -> dict[str, Any]:
        row = self._db.execute("SELECT * FROM admin_rbac_roles WHERE id = ?", (role_id,)).fetchone()
        if row is None:
            raise ErrorAnswer(404, f"No RBAC Role {role_id!r}.", code="rbac_role_not_found")
        return _role(row)

    # -- rules ---------------------------------------------------------------------

    def _row(self, group_id: str) -> sqlite3.Row:
        row: sqlite3.Row | None = self._db.execute(
            "SELECT * FROM admin_rbac_groups WHERE id = ?", (group_id,)
        ).fetchone()
        if row is None:
            raise ErrorAnswer(
                404,
                "The RBAC Group is not one of the organization's groups.",
                code="rbac_group_not_found",
            )
        return row

    @staticmethod
    def _direct(row: sqlite3.Row) -> None:
        if row["source_type"] == "scim":
            raise ErrorAnswer(400, SCIM)

    def _not_owner(self, row: sqlite3.Row) -> None:
        roles = json.loads(row["role_ids"])
        if not roles:
            return
        marks = ",".join("?" * len(roles))
        owner = self._db.execute(
            f"SELECT 1 FROM admin_rbac_roles WHERE owner_access = 1 AND id IN ({marks})", roles
        ).fetchone()
        if owner is not None:
            raise ErrorAnswer(400, OWNER_ACCESS, code="rbac_group_grants_owner_access")

    def _email_of(self, user_id: str) -> str:
        row = self._db.execute("SELECT email FROM admin_users WHERE id = ?", (user_id,)).fetchone()
        if row is None:
            raise ErrorAnswer(404, f"No user with id {user_id!r}.")
        return str(row[0])


def new_group_id() -> str:
    return f"rbac_group_{uuid.uuid4().hex[:24]}"


def _name(body: Mapping[str, Any], *, required: bool) -> str | None:
    unknown = sorted(set(body) - {"name"})
    if unknown:
        raise ErrorAnswer(400, f"{unknown[0]}: unknown field.")
    name = body.get("name")
    if name is None and not required:
        return None
    if not isinstance(name, str) or not name.strip() or len(name) > 255:
        raise ErrorAnswer(400, "name: text of 1 to 255 characters.")
    return name


def _group(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "created_at": row["created_at"],
        "name": row["name"],
        "role_ids": json.loads(row["role_ids"]),
        "source_type": row["source_type"],
        "type": "rbac_group",
        "updated_at": row["updated_at"],
    }


def _member(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "created_at": row["created_at"],
        "email": row["email"],
        "rbac_group_id": row["group_id"],
        "type": "rbac_group_member",
        "user_id": row["user_id"],
    }


def _role(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "created_at": row["created_at"],
        "display_name": row["display_name"],
        "source": {"type": row["source"]},
        "type": "rbac_role",
        "updated_at": row["created_at"],
    }


def rbac_routes(authorize: Authorize, read_body: ReadBody) -> list[Route]:
    """The routes: an Enterprise organization's key with the scope each one needs."""

    def store(request: Request, scope: str) -> RbacGroupsStore:
        gated.enterprise_only(request)
        authorize(request, scope)
        groups: RbacGroupsStore = request.app.state.store.admin.resources[NAME]
        return groups

    def page(request: Request, items: list[dict[str, Any]]) -> Response:
        return JSONResponse(cursor_page(request.query_params, items, default=20))

    async def groups(request: Request) -> Response:
        if request.method == "GET":
            return page(request, store(request, "read:rbac_groups").listed())
        body = await read_body(request)
        found = store(request, "write:rbac_groups")
        return gated.written(request, lambda: found.create(body))

    async def group(request: Request) -> Response:
        group_id = request.path_params["group_id"]
        if request.method == "GET":
            return JSONResponse(store(request, "read:rbac_groups").get(group_id))
        found = store(request, "write:rbac_groups")
        if request.method == "DELETE":
            return gated.written(request, lambda: found.delete(group_id))
        body = await read_body(request)
        return gated.written(request, lambda: found.update(group_id, body))

    async def members(request: Request) -> Response:
        group_id = request.path_params["group_id"]
        if request.method == "GET":
            return page(request, store(request, "read:rbac_groups").members(group_id))
        body = await read_body(request)
        found = store(request, "write:rbac_groups")
        return gated.written(request, lambda: found.add(group_id, body))

    async def member(request: Request) -> Response:
        found = store(request, "write:rbac_groups")
        group_id, user_id = request.path_params["group_id"], request.path_params["user_id"]
        return gated.written(request, lambda: found.remove(group_id, user_id))

    async def roles(request: Request) -> Response:
        return page(request, store(request, "read:members").roles())

    async def role(request: Request) -> Response:
        return JSONResponse(store(request, "read:members").role(request.path_params["role_id"]))

    path = "/v1/organizations/rbac_groups"
    return [
        Route(path, groups, methods=["GET", "POST"]),
        Route(f"{path}/{{group_id}}", group, methods=["GET", "POST", "DELETE"]),
        Route(f"{path}/{{group_id}}/members", members, methods=["GET", "POST"]),
        Route(f"{path}/{{group_id}}/members/{{user_id}}", member, methods=["DELETE"]),
        Route("/v1/organizations/rbac_roles", roles, methods=["GET"]),
        Route("/v1/organizations/rbac_roles/{role_id}", role, methods=["GET"]),
    ]


def seed_problem(listed: object) -> str | None:
    if isinstance(listed, list) and all(
        isinstance(g, dict)
        and isinstance(g.get("name"), str)
        and g.get("source_type", "direct") in ("direct", "scim")
        and all(isinstance(e, str) for e in g.get("members") or [])
        for g in listed
    ):
        return None
    return "a list, each with a name, a source_type of direct or scim, and members by email"


RESOURCE = Resource(NAME, RbacGroupsStore, rbac_routes, seed_problem)
