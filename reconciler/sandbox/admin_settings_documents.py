"""The stored Claude Code settings documents of an Enterprise organization, and the
limits they count against (``admin_managed_settings`` writes through them).

A document is stored once (groups with the same document share it), and every
distinct one counts against the **document limit**, unused ones included
(``settings_document_limit_exceeded``). Every stored version of a group's
settings, of the default or of the order counts against the **history limit**,
which nothing in the API or claude.ai lowers (``settings_history_limit_exceeded``).
A document is at most 1 MiB as the server stores it.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from reconciler.sandbox.errors import ErrorAnswer

MOST_BYTES = 1024 * 1024
LIMITS = {"history": 1000, "history_used": 0, "documents": 100, "order": 50}
SCHEMA = """
CREATE TABLE IF NOT EXISTS admin_cc_documents (
    id TEXT PRIMARY KEY, body TEXT NOT NULL, created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS admin_cc_limits (limits TEXT NOT NULL);
"""
HISTORY = (
    "The organization has reached its settings history limit, a cap on stored versions "
    "of its settings documents. Nothing in the API or claude.ai lowers the count, so "
    "contact support."
)


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class SettingsDocuments:
    """The documents by id, and the limits (a seed's ``limits``: ``history``,
    ``history_used``, ``documents``, ``order``)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        db.executescript(SCHEMA)

    def load(self, limits: Mapping[str, int]) -> None:
        self._db.execute("DELETE FROM admin_cc_documents")
        self._db.execute("DELETE FROM admin_cc_limits")
        self._db.execute(
            "INSERT INTO admin_cc_limits VALUES (?)", (json.dumps({**LIMITS, **limits}),)
        )

    def limits(self) -> dict[str, int]:
        row = self._db.execute("SELECT limits FROM admin_cc_limits").fetchone()
        limits: dict[str, int] = json.loads(row[0]) if row else dict(LIMITS)
        return limits

    def charge_history(self) -> None:
        """Count one stored version, or refuse it once the history is full."""
        limits = self.limits()
        if limits["history_used"] >= limits["history"]:
            raise ErrorAnswer(400, HISTORY, code="settings_history_limit_exceeded")
        limits["history_used"] += 1
        self._db.execute("UPDATE admin_cc_limits SET limits = ?", (json.dumps(limits),))

    def store(self, settings: Mapping[str, Any]) -> str:
        """The stored document's id: a new one only for a document not stored yet."""
        body = json.dumps(settings, sort_keys=True, separators=(",", ":"))
        if len(body.encode()) > MOST_BYTES:
            raise ErrorAnswer(400, "settings: at most 1 MiB as the server stores it.")
        document = "doc_" + hashlib.sha256(body.encode()).hexdigest()[:24]
        known = self._db.execute(
            "SELECT 1 FROM admin_cc_documents WHERE id = ?", (document,)
        ).fetchone()
        if known is None:
            count = self._db.execute("SELECT COUNT(*) FROM admin_cc_documents").fetchone()[0]
            if count >= self.limits()["documents"]:
                raise ErrorAnswer(
                    400,
                    "The organization has reached its limit of settings documents, counting "
                    "unused ones.",
                    code="settings_document_limit_exceeded",
                )
            self._db.execute(
                "INSERT INTO admin_cc_documents VALUES (?,?,?)", (document, body, now())
            )
        return document

    def settings(self, document: str) -> dict[str, Any]:
        row = self._db.execute(
            "SELECT body FROM admin_cc_documents WHERE id = ?", (document,)
        ).fetchone()
        settings: dict[str, Any] = json.loads(row[0])
        return settings

    def created_at(self, document: str) -> str:
        row = self._db.execute(
            "SELECT created_at FROM admin_cc_documents WHERE id = ?", (document,)
        ).fetchone()
        return str(row[0])
