"""The Admin API half of the sandbox's organization, in the same SQLite file.

Users, invites, workspaces and their members, API keys: the objects of
Anthropic's Admin API (see the facts in the project's design notes), with its
rules kept here rather than in the HTTP layer: ``admin`` is not assignable,
invites are deleted only while pending, a workspace is archived (never
deleted, never unarchived), the Default workspace is listed only when asked
for (``include_default``) and is not changed, archived or given members (its
limits are set like any workspace's), at most 100 active workspaces, archiving
deactivates the workspace's keys, a workspace's ``display_color`` is
``#RRGGBB`` and its ``external_key_id`` is write-once (an external key of the
organization's, never detached or replaced). Rate and spend
limits are ``admin_limits``'s.

Over 400 lines and one job: the Admin API's objects in SQLite and the rules the API
enforces on them (members, invites, workspaces, keys); the limits, the reports, the
service accounts and federation have modules of their own, and so does each resource
in ``resources.RESOURCES``, held here by its seed key.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from reconciler.sandbox.admin_accounts import AccountsStore
from reconciler.sandbox.admin_limits import LimitsStore
from reconciler.sandbox.admin_reports import ReportsStore
from reconciler.sandbox.admin_trust import TrustStore
from reconciler.sandbox.errors import ErrorAnswer
from reconciler.sandbox.federation import FederationStore
from reconciler.sandbox.resource import ResourceStore
from reconciler.sandbox.resources import RESOURCES

ORG_ROLES = ("user", "developer", "billing", "admin", "claude_code_user")
ASSIGNABLE_ROLES = ("user", "developer", "billing", "claude_code_user")
WORKSPACE_ROLES = (
    "workspace_user",
    "workspace_developer",
    "workspace_restricted_developer",
    "workspace_admin",
    "workspace_billing",
)
MAX_ACTIVE_WORKSPACES = 100
# Organization roles that carry a workspace role into every workspace.
_INHERITED = {"admin": "workspace_admin", "billing": "workspace_billing"}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS admin_org (id TEXT PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS admin_org_type (type TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS admin_users (
    id TEXT PRIMARY KEY, email TEXT NOT NULL UNIQUE, name TEXT NOT NULL, role TEXT NOT NULL,
    added_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS admin_invites (
    id TEXT PRIMARY KEY, email TEXT NOT NULL, role TEXT NOT NULL, status TEXT NOT NULL,
    invited_at TEXT NOT NULL, expires_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS admin_workspaces (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at TEXT NOT NULL, archived_at TEXT,
    display_color TEXT NOT NULL, data_residency TEXT NOT NULL, tags TEXT NOT NULL,
    external_key_id TEXT
);
CREATE TABLE IF NOT EXISTS admin_default_workspace (id TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS admin_members (
    workspace_id TEXT NOT NULL, user_id TEXT NOT NULL, workspace_role TEXT NOT NULL,
    PRIMARY KEY (workspace_id, user_id)
);
CREATE TABLE IF NOT EXISTS admin_api_keys (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL, workspace_id TEXT,
    created_at TEXT NOT NULL, created_by TEXT NOT NULL, partial_key_hint TEXT NOT NULL
);
"""


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:24]}"


class AdminStore:
    """Reads and writes the Admin API objects; knows nothing of HTTP."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        self._db.executescript(_SCHEMA)
        self.limits = LimitsStore(db, self.workspace, now, new_id)
        self.reports = ReportsStore(db)  # cost and usage: each workspace's steady rate
        self.federation = FederationStore(db)  # service accounts, issuers, rules, tokens
        self.accounts = AccountsStore(db)  # the service accounts' own endpoints
        self.trust = TrustStore(db)  # the issuers' and rules' own endpoints
        # Each resource served from a module of its own, by its seed key.
        self.resources: dict[str, ResourceStore] = {r.name: r.store(db) for r in RESOURCES}

    # -- seeding -----------------------------------------------------------------------

    def load(self, seed: Mapping[str, Any]) -> None:
        """Fill the Admin API tables from a seed's ``admin`` section (ids generated when
        absent), replacing what is there."""
        db = self._db
        for table in (
            "admin_org",
            "admin_org_type",
            "admin_default_workspace",
            "admin_users",
            "admin_invites",
            "admin_workspaces",
            "admin_members",
            "admin_api_keys",
        ):
            db.execute(f"DELETE FROM {table}")
        org = seed.get("organization") or {"id": str(uuid.uuid4()), "name": "Sandbox Org"}
        db.execute("INSERT INTO admin_org VALUES (?, ?)", (org["id"], org["name"]))
        db.execute("INSERT INTO admin_org_type VALUES (?)", (org.get("type", "console"),))
        self.limits.load(seed, org["id"])
        self.reports.clear(seed)
        self.federation.load(seed)
        self.accounts.clear()
        self.trust.load(seed)
        for resource in self.resources.values():
            resource.load(seed)
        for user in seed.get("users", []):
            db.execute(
                "INSERT INTO admin_users VALUES (?,?,?,?,?)",
                (
                    user.get("id") or new_id("user"),
                    user["email"],
                    user.get("name", user["email"]),
                    user.get("role", "user"),
                    user.get("added_at", now()),
                ),
            )
        default = seed.get("default_workspace") or {}
        created = self.create_workspace(
            {"name": default.get("name", "Default")},
            workspace_id=default.get("id") or f"wrkspc_default{org['id'].replace('-', '')[:12]}",
        )
        db.execute("INSERT INTO admin_default_workspace VALUES (?)", (created["id"],))
        self.limits.load_workspace(created["id"], default)
        self.reports.load_workspace(created["id"], default)
        for invite in seed.get("invites", []):
            self.create_invite(invite["email"], invite.get("role", "user"))
        for workspace in seed.get("workspaces", []):
            created = self.create_workspace(workspace, workspace_id=workspace.get("id"))
            for member in workspace.get("members", []):
                user = self.user_by_email(member["email"])
                self.add_member(created["id"], user["id"], member["workspace_role"])
            self.limits.load_workspace(created["id"], workspace)
            self.reports.load_workspace(created["id"], workspace)
        for key in seed.get("api_keys", []):
            db.execute(
                "INSERT INTO admin_api_keys VALUES (?,?,?,?,?,?,?)",
                (
                    key.get("id") or new_id("apikey"),
                    key["name"],
                    key.get("status", "active"),
                    key.get("workspace_id"),
                    key.get("created_at", now()),
                    key.get("created_by", "user_sandbox"),
                    key.get("partial_key_hint", "sk-ant-...AAAA"),
                ),
            )

    # -- organization ------------------------------------------------------------------

    def organization(self) -> dict[str, Any]:
        row = self._db.execute("SELECT id, name FROM admin_org").fetchone()
        if row is None:
            raise ErrorAnswer(404, "No organization.")
        return {"id": row[0], "name": row[1], "type": "organization"}

    def organization_type(self) -> str:
        """``console`` (a Claude Console organization) or ``enterprise`` (Claude
        Enterprise): which endpoints the organization has."""
        row = self._db.execute("SELECT type FROM admin_org_type").fetchone()
        return "console" if row is None else str(row[0])

    # -- users ---------------------------------------------------------------------------

    def users(self) -> list[dict[str, Any]]:
        rows = self._db.execute("SELECT * FROM admin_users ORDER BY id").fetchall()
        return [_user(r) for r in rows]

    def user(self, user_id: str) -> dict[str, Any]:
        row = self._db.execute("SELECT * FROM admin_users WHERE id = ?", (user_id,)).fetchone()
        if row is None:
            raise ErrorAnswer(404, f"No user with id {user_id!r}.")
        return _user(row)

    def user_by_email(self, email: str) -> dict[str, Any]:
        row = self._db.execute("SELECT * FROM admin_users WHERE email = ?", (email,)).fetchone()
        if row is None:
            raise ErrorAnswer(404, f"No user with email {email!r}.")
        return _user(row)

    def update_user(self, user_id: str, role: str) -> dict[str, Any]:
        current = self.user(user_id)
        _check_assignable(role)
        if current["role"] == "admin":
            raise ErrorAnswer(400, "An admin's role cannot be changed through the API.")
        self._db.execute("UPDATE admin_users SET role = ? WHERE id = ?", (role, user_id))
        return self.user(user_id)

    def remove_user(self, user_id: str) -> dict[str, Any]:
        if self.user(user_id)["role"] == "admin":
            raise ErrorAnswer(400, "An admin cannot be removed through the API.")
        self._db.execute("DELETE FROM admin_members WHERE user_id = ?", (user_id,))
        self._db.execute("DELETE FROM admin_users WHERE id = ?", (user_id,))
        return {"id": user_id, "type": "user_deleted"}

    def disable_keys_of(self, user_id: str) -> None:
        """Turn off the active API keys a user created (what a removal that could not be
        confirmed leaves behind: the user stays, their keys are off)."""
        self.user(user_id)
        self._db.execute(
            "UPDATE admin_api_keys SET status = 'inactive' "
            "WHERE created_by = ? AND status = 'active'",
            (user_id,),
        )

    # -- invites ---------------------------------------------------------------------------

    def invites(self) -> list[dict[str, Any]]:
        rows = self._db.execute("SELECT * FROM admin_invites ORDER BY id").fetchall()
        return [_invite(r) for r in rows]

    def invite(self, invite_id: str) -> dict[str, Any]:
        row = self._db.execute("SELECT * FROM admin_invites WHERE id = ?", (invite_id,)).fetchone()
        if row is None:
            raise ErrorAnswer(404, f"No invite with id {invite_id!r}.")
        return _invite(row)

    def create_invite(self, email: str, role: str) -> dict[str, Any]:
        _check_assignable(role)
        taken = self._db.execute("SELECT id FROM admin_users WHERE email = ?", (email,)).fetchone()
        if taken:
            raise ErrorAnswer(
                400, f"{email} already belongs to the user {taken[0]}.", code="already_member"
            )
        pending = self._db.execute(
            "SELECT id FROM admin_invites WHERE email = ? AND status = 'pending'", (email,)
        ).fetchone()
        if pending:
            raise ErrorAnswer(
                400,
                f"A pending invite ({pending[0]}) already exists for {email}.",
                code="invite_already_exists",
            )
        invited = datetime.now(UTC)
        invite_id = new_id("invite")
        self._db.execute(
            "INSERT INTO admin_invites VALUES (?,?,?,?,?,?)",
            (
                invite_id,
                email,
                role,
                "pending",
                invited.isoformat(timespec="seconds").replace("+00:00", "Z"),
                (invited + timedelta(days=21)).isoformat(timespec="seconds").replace("+00:00", "Z"),
            ),
        )
        return self.invite(invite_id)

    def delete_invite(self, invite_id: str) -> dict[str, Any]:
        if self.invite(invite_id)["status"] != "pending":
            raise ErrorAnswer(400, "Only a pending invite can be deleted.")
        self._db.execute("DELETE FROM admin_invites WHERE id = ?", (invite_id,))
        return {"id": invite_id, "type": "invite_deleted"}

    # -- workspaces ----------------------------------------------------------------------------

    def workspaces(self, *, include_archived: bool, include_default: bool) -> list[dict[str, Any]]:
        query = "SELECT * FROM admin_workspaces WHERE 1 = 1"
        if not include_archived:
            query += " AND archived_at IS NULL"
        if not include_default:
            query += " AND id NOT IN (SELECT id FROM admin_default_workspace)"
        return [_workspace(r) for r in self._db.execute(query + " ORDER BY id").fetchall()]

    def default_workspace(self) -> str | None:
        """The Default workspace's id (every service account is implicitly its member)."""
        row = self._db.execute("SELECT id FROM admin_default_workspace").fetchone()
        return str(row["id"]) if row else None

    def _refuse_default(self, workspace_id: str, what: str) -> None:
        """The Default workspace is listed and read, and has limits; nothing else of it
        is changed through the API (the sandbox's reading of the SDK, which is silent)."""
        if self._db.execute(
            "SELECT 1 FROM admin_default_workspace WHERE id = ?", (workspace_id,)
        ).fetchone():
            raise ErrorAnswer(400, f"The Default workspace cannot be {what} through the API.")

    def workspace(self, workspace_id: str) -> dict[str, Any]:
        row = self._db.execute(
            "SELECT * FROM admin_workspaces WHERE id = ?", (workspace_id,)
        ).fetchone()
        if row is None:
            raise ErrorAnswer(404, f"No workspace with id {workspace_id!r}.")
        return _workspace(row)

    def create_workspace(
        self, body: Mapping[str, Any], *, workspace_id: str | None = None
    ) -> dict[str, Any]:
        active = self._db.execute(
            "SELECT COUNT(*) FROM admin_workspaces WHERE archived_at IS NULL "
            "AND id NOT IN (SELECT id FROM admin_default_workspace)"
        ).fetchone()[0]
        if active >= MAX_ACTIVE_WORKSPACES:
            raise ErrorAnswer(
                400,
                f"An organization has at most {MAX_ACTIVE_WORKSPACES} "
                "active workspaces; archive one first.",
            )
        if body.get("external_key_id") is not None:
            self.limits.check_external_key(body["external_key_id"])
        residency = body.get("data_residency") or {}
        stored = {
            "allowed_inference_geos": residency.get("allowed_inference_geos", "unrestricted"),
            "default_inference_geo": residency.get("default_inference_geo", "global"),
            "workspace_geo": residency.get("workspace_geo", "us"),
        }
        workspace_id = workspace_id or new_id("wrkspc")
        self._db.execute(
            "INSERT INTO admin_workspaces VALUES (?,?,?,?,?,?,?,?)",
            (
                workspace_id,
                body["name"],
                now(),
                None,
                body.get("display_color") or "#6C5BB9",
                json.dumps(stored),
                json.dumps(body.get("tags") or {}),
                body.get("external_key_id"),
            ),
        )
        return self.workspace(workspace_id)

    def update_workspace(self, workspace_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        current = self.workspace(workspace_id)
        self._refuse_default(workspace_id, "changed")
        if current["archived_at"] is not None:
            raise ErrorAnswer(400, "An archived workspace cannot be changed.")
        residency = dict(current["data_residency"])
        changes = body.get("data_residency") or {}
        if "workspace_geo" in changes and changes["workspace_geo"] != residency["workspace_geo"]:
            raise ErrorAnswer(400, "data_residency.workspace_geo is set at creation only.")
        residency.update({k: v for k, v in changes.items() if k != "workspace_geo"})
        tags = dict(current["tags"])
        for key, value in (body.get("tags") or {}).items():
            if value is None:
                tags.pop(key, None)
            else:
                tags[key] = value
        key = body.get("external_key_id", current["external_key_id"])
        if key != current["external_key_id"]:
            if current["external_key_id"] is not None:
                raise ErrorAnswer(
                    400,
                    "external_key_id is write-once: this workspace's key "
                    f"{current['external_key_id']!r} cannot be detached or replaced.",
                )
            self.limits.check_external_key(key)
        self._db.execute(
            "UPDATE admin_workspaces SET name = ?, data_residency = ?, tags = ?, "
            "display_color = ?, external_key_id = ? WHERE id = ?",
            (
                body.get("name", current["name"]),
                json.dumps(residency),
                json.dumps(tags),
                body.get("display_color", current["display_color"]),
                key,
                workspace_id,
            ),
        )
        return self.workspace(workspace_id)

    def archive_workspace(self, workspace_id: str) -> dict[str, Any]:
        current = self.workspace(workspace_id)
        self._refuse_default(workspace_id, "archived")
        if current["archived_at"] is None:
            self._db.execute(
                "UPDATE admin_workspaces SET archived_at = ? WHERE id = ?", (now(), workspace_id)
            )
            self._db.execute(
                "UPDATE admin_api_keys SET status = 'archived' "
                "WHERE workspace_id = ? AND status != 'archived'",
                (workspace_id,),
            )
        return self.workspace(workspace_id)

    # -- members ------------------------------------------------------------------------------

    def members(self, workspace_id: str) -> list[dict[str, Any]]:
        self.workspace(workspace_id)
        rows = self._db.execute(
            "SELECT * FROM admin_members WHERE workspace_id = ? ORDER BY user_id", (workspace_id,)
        ).fetchall()
        return [_member(r) for r in rows]

    def member(self, workspace_id: str, user_id: str) -> dict[str, Any]:
        """An explicit member, or the role an organization admin (workspace_admin) or
        billing user (workspace_billing) has in every workspace without being added."""
        row = self._explicit_member(workspace_id, user_id)
        if row is not None:
            return _member(row)
        inherited = _INHERITED.get(self._role_of(user_id) or "")
        if inherited and self.workspace(workspace_id)["archived_at"] is None:
            return {
                "type": "workspace_member",
                "user_id": user_id,
                "workspace_id": workspace_id,
                "workspace_role": inherited,
            }
        raise ErrorAnswer(404, f"User {user_id!r} is not a member of {workspace_id!r}.")

    def _explicit_member(self, workspace_id: str, user_id: str) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self._db.execute(
            "SELECT * FROM admin_members WHERE workspace_id = ? AND user_id = ?",
            (workspace_id, user_id),
        ).fetchone()
        return row

    def _role_of(self, user_id: str) -> str | None:
        row = self._db.execute("SELECT role FROM admin_users WHERE id = ?", (user_id,)).fetchone()
        return str(row["role"]) if row else None

    def _explicit(self, workspace_id: str, user_id: str) -> None:
        """Only an explicit membership can be changed or removed; an inherited role
        follows the organization role."""
        self.member(workspace_id, user_id)
        if self._explicit_member(workspace_id, user_id) is None:
            raise ErrorAnswer(
                400,
                f"User {user_id!r} has an inherited role in {workspace_id!r} (from their "
                "organization role); it cannot be changed or removed here.",
            )

    def add_member(self, workspace_id: str, user_id: str, role: str) -> dict[str, Any]:
        self._refuse_default(workspace_id, "given members")
        if self.workspace(workspace_id)["archived_at"] is not None:
            raise ErrorAnswer(400, "Members cannot be added to an archived workspace.")
        self.user(user_id)
        _check_workspace_role(role, adding=True)
        if self._db.execute(
            "SELECT 1 FROM admin_members WHERE workspace_id = ? AND user_id = ?",
            (workspace_id, user_id),
        ).fetchone():
            raise ErrorAnswer(400, f"User {user_id!r} is already a member of {workspace_id!r}.")
        self._db.execute("INSERT INTO admin_members VALUES (?,?,?)", (workspace_id, user_id, role))
        return self.member(workspace_id, user_id)

    def update_member(self, workspace_id: str, user_id: str, role: str) -> dict[str, Any]:
        self._explicit(workspace_id, user_id)
        _check_workspace_role(role, adding=False)
        self._db.execute(
            "UPDATE admin_members SET workspace_role = ? WHERE workspace_id = ? AND user_id = ?",
            (role, workspace_id, user_id),
        )
        return self.member(workspace_id, user_id)

    def remove_member(self, workspace_id: str, user_id: str) -> dict[str, Any]:
        self._explicit(workspace_id, user_id)
        self._db.execute(
            "DELETE FROM admin_members WHERE workspace_id = ? AND user_id = ?",
            (workspace_id, user_id),
        )
        return {
            "type": "workspace_member_deleted",
            "user_id": user_id,
            "workspace_id": workspace_id,
        }

    # -- API keys ---------------------------------------------------------------------------------

    def api_keys(self) -> list[dict[str, Any]]:
        rows = self._db.execute("SELECT * FROM admin_api_keys ORDER BY id").fetchall()
        return [_api_key(r) for r in rows]

    def api_key(self, key_id: str) -> dict[str, Any]:
        row = self._db.execute("SELECT * FROM admin_api_keys WHERE id = ?", (key_id,)).fetchone()
        if row is None:
            raise ErrorAnswer(404, f"No API key with id {key_id!r}.")
        return _api_key(row)

    def update_api_key(self, key_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        current = self.api_key(key_id)
        status = body.get("status", current["status"])
        if current["status"] == "archived" and status != "archived":
            raise ErrorAnswer(400, "An archived API key cannot be reactivated.")
        self._db.execute(
            "UPDATE admin_api_keys SET name = ?, status = ? WHERE id = ?",
            (body.get("name", current["name"]), status, key_id),
        )
        return self.api_key(key_id)


def _check_assignable(role: str) -> None:
    if role == "admin":
        raise ErrorAnswer(
            400,
            "role: 'admin' cannot be assigned through the API; assignable "
            f"roles are {', '.join(ASSIGNABLE_ROLES)}.",
        )
    if role not in ASSIGNABLE_ROLES:
        raise ErrorAnswer(400, f"role: {role!r} is not one of {', '.join(ASSIGNABLE_ROLES)}.")


def _check_workspace_role(role: str, *, adding: bool) -> None:
    allowed = [r for r in WORKSPACE_ROLES if not (adding and r == "workspace_billing")]
    if role not in allowed:
        raise ErrorAnswer(400, f"workspace_role: {role!r} is not one of {', '.join(allowed)}.")


def _user(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "added_at": row["added_at"],
        "email": row["email"],
        "name": row["name"],
        "role": row["role"],
        "type": "user",
    }


def _invite(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "accepted_at": None,
        "email": row["email"],
        "expires_at": row["expires_at"],
        "invited_at": row["invited_at"],
        "rbac_group_ids": [],
        "role": row["role"],
        "status": row["status"],
        "type": "invite",
    }


def _workspace(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "archived_at": row["archived_at"],
        "compartment_id": row["id"],
        "created_at": row["created_at"],
        "data_residency": json.loads(row["data_residency"]),
        "display_color": row["display_color"],
        "external_key_id": row["external_key_id"],
        "name": row["name"],
        "tags": json.loads(row["tags"]),
        "type": "workspace",
    }


def _member(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "type": "workspace_member",
        "user_id": row["user_id"],
        "workspace_id": row["workspace_id"],
        "workspace_role": row["workspace_role"],
    }


def _api_key(row: sqlite3.Row) -> dict[str, Any]:
    scope = (
        {"type": "workspace", "workspace_id": row["workspace_id"]}
        if row["workspace_id"]
        else {"type": "organization"}
    )
    return {
        "id": row["id"],
        "created_at": row["created_at"],
        "created_by": {"id": row["created_by"], "type": "user"},
        "expires_at": None,
        "name": row["name"],
        "partial_key_hint": row["partial_key_hint"],
        "principal": None,
        "scope": scope,
        "status": row["status"],
        "type": "api_key",
    }
