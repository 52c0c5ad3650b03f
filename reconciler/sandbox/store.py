"""The sandbox's state: one organization in a SQLite file (the Company API's
company and projects here; the Admin API's objects in ``AdminStore``, same file).

Every write runs in one ``BEGIN IMMEDIATE`` transaction that re-reads the row,
checks the caller's ``If-Match`` against it and only then updates, so a
precondition failure or an error leaves the file exactly as it was, and a
second process on the same file (a plan, then an apply) sees the same data.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from reconciler.sandbox.admin_store import AdminStore
from reconciler.sandbox.errors import ErrorAnswer

COMPANY_FIELDS = ("id", "name", "billing_email", "plan", "usage_limit", "created_at")
PROJECT_FIELDS = ("id", "name", "description", "billing_email", "usage_limit", "created_at")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS company (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, billing_email TEXT NOT NULL,
    plan TEXT NOT NULL, usage_limit INTEGER, created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS usage (
    id INTEGER PRIMARY KEY CHECK (id = 1), tokens_used INTEGER NOT NULL,
    api_calls INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS projects (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, description TEXT NOT NULL,
    billing_email TEXT, usage_limit INTEGER, created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS keys (
    key_sha256 TEXT PRIMARY KEY, scopes TEXT NOT NULL
);
"""


def etag_of(resource: Mapping[str, Any]) -> str:
    """A strong validator: the hash of the canonical JSON of the representation."""
    canonical = json.dumps(resource, sort_keys=True, separators=(",", ":"))
    return '"' + hashlib.sha256(canonical.encode()).hexdigest()[:20] + '"'


def key_digest(key: str) -> str:
    """Keys are stored hashed, so the database file never holds a usable secret."""
    return hashlib.sha256(key.encode()).hexdigest()


class Store:
    """Reads and writes the organization; knows nothing of HTTP."""

    def __init__(self, path: Path | str) -> None:
        self._db = sqlite3.connect(
            str(path), isolation_level=None, check_same_thread=False, timeout=30
        )
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._edits = 0
        self.admin = AdminStore(self._db)  # the Admin API's objects, in the same file

    def close(self) -> None:
        self._db.close()

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._transaction()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- seeding -----------------------------------------------------------

    def is_empty(self) -> bool:
        count: int = self._db.execute("SELECT COUNT(*) FROM company").fetchone()[0]
        return count == 0

    def load(
        self,
        *,
        company: Mapping[str, Any],
        usage: Mapping[str, Any],
        projects: list[Mapping[str, Any]],
        keys: list[tuple[str, list[str]]],
        admin: Mapping[str, Any] | None = None,
        replace: bool = False,
    ) -> None:
        """Fill the database in one transaction (all or nothing); ``replace`` first
        empties it, keeping the keys unless new ones are given."""
        with self._transaction() as db:
            if replace:
                db.execute("DELETE FROM company")
                db.execute("DELETE FROM usage")
                db.execute("DELETE FROM projects")
                if keys:
                    db.execute("DELETE FROM keys")
            db.execute(
                "INSERT INTO company VALUES (?,?,?,?,?,?)",
                [company[f] for f in COMPANY_FIELDS],
            )
            db.execute(
                "INSERT INTO usage VALUES (1,?,?)", (usage["tokens_used"], usage["api_calls"])
            )
            db.executemany(
                "INSERT INTO projects VALUES (?,?,?,?,?,?)",
                ([p[f] for f in PROJECT_FIELDS] for p in projects),
            )
            self.admin.load(admin or {})
            db.executemany(
                "INSERT OR REPLACE INTO keys VALUES (?,?)",
                ((key_digest(k), json.dumps(sorted(s))) for k, s in keys),
            )

    # -- keys --------------------------------------------------------------

    def scopes_of(self, key: str) -> frozenset[str] | None:
        """The key's scopes, or None when the key is unknown."""
        row = self._db.execute(
            "SELECT scopes FROM keys WHERE key_sha256 = ?", (key_digest(key),)
        ).fetchone()
        return None if row is None else frozenset(json.loads(row[0]))

    # -- company -----------------------------------------------------------

    def company(self) -> dict[str, Any]:
        row = self._db.execute("SELECT * FROM company").fetchone()
        if row is None:
            raise ErrorAnswer(404, "Not found.")
        return dict(row)

    def edit_out_of_band(self, project_id: str | None) -> None:
        """Someone else's edit (the company's name, or a project's description)."""
        self._edits += 1
        marker = f"Edited out of band #{self._edits}"
        if project_id is None:
            self.update_company({"name": marker}, None)
        else:
            self.update_project(project_id, {"description": marker}, None)

    def update_company(self, fields: Mapping[str, Any], if_match: str | None) -> dict[str, Any]:
        with self._transaction() as db:
            current = self.company()
            _check_precondition(current, if_match)
            _update(db, "company", fields, "id = ?", current["id"])
            return self.company()

    def usage(self) -> dict[str, Any]:
        row = self._db.execute("SELECT tokens_used, api_calls FROM usage").fetchone()
        return {"tokens_used": 0, "api_calls": 0} if row is None else dict(row)

    def set_usage(self, fields: Mapping[str, int]) -> dict[str, Any]:
        """The month's usage as a test (or a demo of the dashboard) wants it to be."""
        with self._transaction() as db:
            usage = {**self.usage(), **fields}
            db.execute("DELETE FROM usage")
            db.execute(
                "INSERT INTO usage VALUES (1,?,?)", (usage["tokens_used"], usage["api_calls"])
            )
        return self.usage()

    # -- projects ----------------------------------------------------------

    def project(self, project_id: str) -> dict[str, Any]:
        row = self._db.execute("SELECT * FROM projects WHERE id = ?", (project_id,)).fetchone()
        if row is None:
            raise ErrorAnswer(404, f"No project with id {project_id!r}.")
        return dict(row)

    def projects_page(
        self, *, limit: int, after_id: str | None
    ) -> tuple[list[dict[str, Any]], bool]:
        """One page in id order, and whether more follow."""
        rows = self._db.execute(
            "SELECT * FROM projects WHERE id > ? ORDER BY id LIMIT ?",
            (after_id or "", limit + 1),
        ).fetchall()
        return [dict(r) for r in rows[:limit]], len(rows) > limit

    def update_project(
        self, project_id: str, fields: Mapping[str, Any], if_match: str | None
    ) -> dict[str, Any]:
        with self._transaction() as db:
            current = self.project(project_id)
            _check_precondition(current, if_match)
            _update(db, "projects", fields, "id = ?", project_id)
            return self.project(project_id)


def _check_precondition(current: Mapping[str, Any], if_match: str | None) -> None:
    if if_match is None or if_match.strip() == "*":
        return
    candidates = {tag.strip() for tag in if_match.split(",")}
    if etag_of(current) not in candidates:
        raise ErrorAnswer(
            412,
            "If-Match does not match the current ETag: the resource changed since it was read.",
        )


def _update(
    db: sqlite3.Connection, table: str, fields: Mapping[str, Any], where: str, *args: Any
) -> None:
    if not fields:
        return
    # Column names come from the validated, closed set of writable fields.
    assignments = ", ".join(f"{name} = ?" for name in fields)
    db.execute(f"UPDATE {table} SET {assignments} WHERE {where}", [*fields.values(), *args])
