"""Service accounts as the Admin API serves them (``beta.organization.service_accounts``):
listed, read, created, updated and archived, in the same SQLite file as the
federation that signs in with them (``federation.py`` keeps the table).

The rules are the reference's (the SDK's docstrings):

- Every call needs an **OAuth access token with ``org:admin``** (from federation, or an
  interactive login); an Admin API key is refused (401).
- A workload may only create **developer**-role service accounts; making or setting
  one ``admin`` needs an interactive credential (a user's OAuth token or a Console
  session). Every access token the sandbox issues is a workload's, so the sandbox
  refuses ``admin`` with 403, saying who can.
- ``name`` is a slug (lower-case letters, digits, hyphens), unique within the
  organization: a duplicate is 409. It cannot be changed.
- Only ``description`` and ``organization_role`` are updated; ``description: null``
  clears it (stored as ``""``). An archived account cannot be updated (400).
- Archiving is idempotent (the original ``archived_at`` stays) and refused (400) while
  a live federation rule targets the account.
- Lists are newest first, archived ones only with ``include_archived``, in pages of
  ``limit`` with an opaque ``next_page``.
"""

from __future__ import annotations

import re
import sqlite3
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from reconciler.sandbox.admin_trust_fields import description as checked_description
from reconciler.sandbox.errors import ErrorAnswer

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
SCHEMA = """
CREATE TABLE IF NOT EXISTS admin_service_account_changes (
    id TEXT PRIMARY KEY, updated_at TEXT NOT NULL, updated_by TEXT,
    created_by TEXT, archived_by TEXT
);
CREATE TABLE IF NOT EXISTS admin_service_account_workspaces (
    service_account_id TEXT NOT NULL, workspace_id TEXT NOT NULL,
    workspace_role TEXT NOT NULL, created_by TEXT,
    PRIMARY KEY (service_account_id, workspace_id)
);
"""
NO_BILLING_ROLES = ("workspace_user", "workspace_developer", "workspace_admin")
INTERACTIVE_ONLY = (
    "Only an interactive credential (a user's OAuth token or a Console session) can make a "
    "service account admin; a workload may create and keep developer-role service accounts."
)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class AccountsStore:
    """Service accounts; knows nothing of HTTP beyond the errors the reference names.
    ``actor`` is the tagged id of who is calling (the access token's service account)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        db.executescript(SCHEMA)

    def clear(self) -> None:
        self._db.execute("DELETE FROM admin_service_account_changes")
        self._db.execute("DELETE FROM admin_service_account_workspaces")

    # -- workspace memberships -----------------------------------------------------------

    def memberships(self, account_id: str, default_workspace: str | None) -> list[dict[str, Any]]:
        """The workspaces an account is a member of: the implicit Default membership
        first (``workspace_user``) unless an explicit one replaces it."""
        self._row(account_id)
        rows = self._db.execute(
            "SELECT * FROM admin_service_account_workspaces WHERE service_account_id = ? "
            "ORDER BY workspace_id",
            (account_id,),
        ).fetchall()
        found = [
            _membership(account_id, r["workspace_id"], r["workspace_role"], r["created_by"])
            for r in rows
        ]
        if default_workspace and default_workspace not in {r["workspace_id"] for r in rows}:
            implicit = _membership(account_id, default_workspace, "workspace_user", None)
            found.insert(0, {**implicit, "implicit": True})
        return found

    def add_membership(
        self, account_id: str, workspace_id: str, role: Any, actor: str
    ) -> dict[str, Any]:
        """Add the account to an active workspace, or replace its role there."""
        if self._row(account_id)["archived_at"]:
            raise ErrorAnswer(400, f"Service account {account_id} is archived.")
        if role not in NO_BILLING_ROLES:
            raise ErrorAnswer(
                400, f"workspace_role: one of {', '.join(NO_BILLING_ROLES)} (no billing role)."
            )
        self._db.execute(
            "INSERT OR REPLACE INTO admin_service_account_workspaces VALUES (?,?,?,?)",
            (account_id, workspace_id, role, actor),
        )
        return _membership(account_id, workspace_id, str(role), actor)

    def remove_membership(self, account_id: str, workspace_id: str) -> dict[str, Any]:
        """Idempotent; the implicit Default membership stays."""
        self._row(account_id)
        self._db.execute(
            "DELETE FROM admin_service_account_workspaces WHERE service_account_id = ? "
            "AND workspace_id = ?",
            (account_id, workspace_id),
        )
        return {
            "type": "service_account_workspace_member_deleted",
            "service_account_id": account_id,
            "workspace_id": workspace_id,
        }

    def list(self, *, include_archived: bool) -> list[dict[str, Any]]:
        query = "SELECT * FROM admin_service_accounts"
        if not include_archived:
            query += " WHERE archived_at IS NULL"
        rows = self._db.execute(query + " ORDER BY created_at DESC, id DESC").fetchall()
        return [self._shown(row) for row in rows]

    def get(self, account_id: str) -> dict[str, Any]:
        return self._shown(self._row(account_id))

    def create(self, body: Mapping[str, Any], actor: str) -> dict[str, Any]:
        name = body.get("name")
        if not isinstance(name, str) or not _SLUG.match(name):
            raise ErrorAnswer(
                400, "name: a slug of lower-case letters, digits and hyphens (1 to 64)."
            )
        role = body.get("organization_role") or "developer"
        if role not in ("admin", "developer"):
            raise ErrorAnswer(400, "organization_role: must be admin or developer.")
        if role == "admin":
            raise ErrorAnswer(403, INTERACTIVE_ONLY)
        description = checked_description(body.get("description"))
        taken = self._db.execute(
            "SELECT id FROM admin_service_accounts WHERE name = ?", (name,)
        ).fetchone()
        if taken is not None:
            raise ErrorAnswer(409, f"A service account named {name!r} already exists.")
        account_id = f"svac_{uuid.uuid4().hex[:24]}"
        now = _now()
        self._db.execute(
            "INSERT INTO admin_service_accounts VALUES (?,?,?,?,?,?)",
            (account_id, name, role, description, None, now),
        )
        self._db.execute(
            "INSERT INTO admin_service_account_changes VALUES (?,?,?,?,?)",
            (account_id, now, actor, actor, None),
        )
        return self.get(account_id)

    def update(self, account_id: str, body: Mapping[str, Any], actor: str) -> dict[str, Any]:
        row = self._row(account_id)
        unknown = sorted(set(body) - {"description", "organization_role"})
        if unknown:
            raise ErrorAnswer(
                400, f"{', '.join(unknown)}: cannot be changed (only description and role)."
            )
        if row["archived_at"]:
            raise ErrorAnswer(400, f"Service account {account_id} is archived.")
        role = body.get("organization_role")
        if role is not None and role not in ("admin", "developer"):
            raise ErrorAnswer(400, "organization_role: must be admin or developer.")
        if role == "admin":
            raise ErrorAnswer(403, INTERACTIVE_ONLY)
        if "description" in body:
            self._db.execute(
                "UPDATE admin_service_accounts SET description = ? WHERE id = ?",
                (checked_description(body["description"]) or "", account_id),
            )
        if role is not None:
            self._db.execute(
                "UPDATE admin_service_accounts SET organization_role = ? WHERE id = ?",
                (role, account_id),
            )
        self._touch(account_id, actor, archived=False)
        return self.get(account_id)

    def archive(self, account_id: str, actor: str) -> dict[str, Any]:
        row = self._row(account_id)
        if row["archived_at"]:
            return self._shown(row)
        targeting = self._db.execute(
            "SELECT id FROM federation_rules WHERE service_account_id = ? AND archived_at IS NULL",
            (account_id,),
        ).fetchone()
        if targeting is not None:
            raise ErrorAnswer(
                400,
                f"Federation rule {targeting['id']} still targets service account {account_id}; "
                "archive the rule or retarget it first.",
            )
        self._db.execute(
            "UPDATE admin_service_accounts SET archived_at = ? WHERE id = ?", (_now(), account_id)
        )
        self._touch(account_id, actor, archived=True)
        return self.get(account_id)

    def _touch(self, account_id: str, actor: str, *, archived: bool) -> None:
        found = self._db.execute(
            "SELECT * FROM admin_service_account_changes WHERE id = ?", (account_id,)
        ).fetchone()
        archived_by = actor if archived else (found["archived_by"] if found else None)
        self._db.execute(
            "INSERT OR REPLACE INTO admin_service_account_changes VALUES (?,?,?,?,?)",
            (account_id, _now(), actor, found["created_by"] if found else None, archived_by),
        )

    def _row(self, account_id: str) -> sqlite3.Row:
        row: sqlite3.Row | None = self._db.execute(
            "SELECT * FROM admin_service_accounts WHERE id = ?", (account_id,)
        ).fetchone()
        if row is None:
            raise ErrorAnswer(404, f"No service account with id {account_id!r}.")
        return row

    def _shown(self, row: sqlite3.Row) -> dict[str, Any]:
        change = self._db.execute(
            "SELECT * FROM admin_service_account_changes WHERE id = ?", (row["id"],)
        ).fetchone()
        return {
            "id": row["id"],
            "type": "service_account",
            "name": row["name"],
            "description": row["description"],
            "organization_role": row["organization_role"],
            "created_at": row["created_at"],
            "created_by_actor_id": change["created_by"] if change else None,
            "updated_at": change["updated_at"] if change else row["created_at"],
            "updated_by_actor_id": change["updated_by"] if change else None,
            "archived_at": row["archived_at"],
            "archived_by_actor_id": change["archived_by"] if change else None,
        }


def _membership(account_id: str, workspace_id: str, role: str, by: str | None) -> dict[str, Any]:
    return {
        "type": "service_account_workspace_member",
        "service_account_id": account_id,
        "workspace_id": workspace_id,
        "workspace_role": role,
        "created_by_actor_id": by,
        "implicit": False,
    }
