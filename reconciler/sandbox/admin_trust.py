"""Federation issuers and rules as the Admin API serves them
(``beta.organization.federation.issuers`` and ``.rules``, with a rule's ``workspaces``):
listed, read, created, updated and archived, over the tables ``federation.py`` keeps
for the token exchange (this module adds what only the endpoints show: descriptions,
workspaces, JWKS settings and who changed what).

The rules are the reference's (the SDK's docstrings):

- Every call needs an **OAuth access token with ``org:admin``**; the routes check it.
- **OAuth callers may only manage rules whose ``oauth_scope`` is ``workspace:developer``
  or ``workspace:inference``**: creating, updating or archiving a rule with any other
  scope (``org:admin``), before or after, needs a Console session (403), and so does
  updating an issuer that backs such a rule. Every access token the sandbox issues is a
  workload's, so these are always refused here.
- Names are slugs, unique within the organization: a duplicate is 409.
- A rule's ``match`` needs ``subject_prefix`` (not a bare wildcard), ``claims`` or a
  ``condition`` (a constant ``true`` is refused); on a well-known shared issuer (GitHub
  Actions, GitLab, ...) it must pin the tenant: an identity-bearing claim, a subject
  prefix naming the owner (``repo:OWNER/``), or a condition reading such a claim.
- ``issuer_id`` is immutable; an archived rule or issuer cannot be updated (400);
  archiving is idempotent, clears a rule's workspaces, and an issuer is refused (400)
  while a live rule references it.
- A rule needs ``workspace_id`` unless ``applies_to_all_workspaces``; more are added and
  removed through its ``workspaces`` sub-resource.

What the fields may hold is ``admin_trust_fields``'s. Over 400 lines and one job: the
issuers' and rules' endpoints over their tables; the two read one another (an issuer is
updated only while no rule it backs is Console-only, a rule needs a live issuer).
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from reconciler.sandbox import admin_trust_fields as checks
from reconciler.sandbox.admin_trust_fields import OAUTH_SCOPES
from reconciler.sandbox.errors import ErrorAnswer

CONSOLE_ONLY = (
    "OAuth callers may only manage federation rules whose oauth_scope is workspace:developer "
    "or workspace:inference; {what} needs a Console session."
)
SCHEMA = """
CREATE TABLE IF NOT EXISTS federation_rule_details (
    id TEXT PRIMARY KEY, description TEXT, applies_to_all INTEGER NOT NULL,
    workspace_ids TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
    created_by TEXT, updated_by TEXT, archived_by TEXT
);
CREATE TABLE IF NOT EXISTS federation_issuer_details (
    id TEXT PRIMARY KEY, check_jti INTEGER NOT NULL, jwks TEXT NOT NULL,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
    created_by TEXT, updated_by TEXT, archived_by TEXT
);
"""
SEEDED_AT = "2026-04-01T00:00:00Z"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class TrustStore:
    """Issuers and rules; knows nothing of HTTP beyond the errors the reference names.
    ``actor`` is the tagged id of who is calling (the access token's service account)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        db.executescript(SCHEMA)

    def load(self, seed: Mapping[str, Any]) -> None:
        """The details of a seed's issuers and rules (``federation.py`` loads the rest)."""
        self._db.execute("DELETE FROM federation_rule_details")
        self._db.execute("DELETE FROM federation_issuer_details")
        federation = seed.get("federation") or {}
        for row in self._db.execute("SELECT id FROM federation_issuers").fetchall():
            spec: Mapping[str, Any] = next(
                (i for i in federation.get("issuers", []) if i.get("id") == row["id"]), {}
            )
            self._db.execute(
                "INSERT INTO federation_issuer_details VALUES (?,?,?,?,?,?,?,?)",
                (
                    row["id"],
                    int(spec.get("check_jti", True)),
                    json.dumps(spec.get("jwks") or {"type": "discovery"}),
                    SEEDED_AT,
                    SEEDED_AT,
                    None,
                    None,
                    None,
                ),
            )
        for row in self._db.execute("SELECT id FROM federation_rules").fetchall():
            spec = next((r for r in federation.get("rules", []) if r.get("id") == row["id"]), {})
            self._db.execute(
                "INSERT INTO federation_rule_details VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    row["id"],
                    spec.get("description"),
                    int(spec.get("applies_to_all_workspaces", True)),
                    json.dumps(spec.get("workspace_ids") or []),
                    SEEDED_AT,
                    SEEDED_AT,
                    None,
                    None,
                    None,
                ),
            )

    # -- issuers -------------------------------------------------------------------------

    def issuers(self, *, include_archived: bool) -> list[dict[str, Any]]:
        query = "SELECT id FROM federation_issuers"
        if not include_archived:
            query += " WHERE archived_at IS NULL"
        return [self.issuer(r["id"]) for r in self._db.execute(query + " ORDER BY id")]

    def issuer(self, issuer_id: str) -> dict[str, Any]:
        row = self._issuer_row(issuer_id)
        details = self._details("federation_issuer_details", issuer_id)
        jwks = json.loads(details["jwks"]) if details else {"type": "discovery"}
        return {
            "id": row["id"],
            "type": "federation_issuer",
            "name": row["name"],
            "issuer_url": row["issuer_url"],
            "jwks": {"discovery_base": None, **jwks} if jwks["type"] == "discovery" else jwks,
            "check_jti": bool(details["check_jti"]) if details else True,
            "max_jwt_lifetime_seconds": row["max_jwt_lifetime_seconds"],
            "poll_status": None,
            "jwks_polling_disabled_at": None,
            **self._stamps(details, row["archived_at"]),
        }

    def create_issuer(self, body: Mapping[str, Any], actor: str) -> dict[str, Any]:
        name = checks.slug(body.get("name"))
        url = body.get("issuer_url")
        if not isinstance(url, str) or not url.startswith("https://"):
            raise ErrorAnswer(400, "issuer_url: an https URL, the tokens' 'iss' claim.")
        self._unique("federation_issuers", name, "federation issuer")
        issuer_id = f"fdis_{uuid.uuid4().hex[:24]}"
        now = _now()
        self._db.execute(
            "INSERT INTO federation_issuers VALUES (?,?,?,?,?)",
            (issuer_id, name, url, checks.lifetime(body.get("max_jwt_lifetime_seconds")), None),
        )
        self._db.execute(
            "INSERT INTO federation_issuer_details VALUES (?,?,?,?,?,?,?,?)",
            (
                issuer_id,
                int(body.get("check_jti", True) is not False),
                json.dumps(checks.jwks(body.get("jwks"))),
                now,
                now,
                actor,
                actor,
                None,
            ),
        )
        return self.issuer(issuer_id)

    def update_issuer(self, issuer_id: str, body: Mapping[str, Any], actor: str) -> dict[str, Any]:
        row = self._issuer_row(issuer_id)
        if row["archived_at"]:
            raise ErrorAnswer(400, f"Federation issuer {issuer_id} is archived; create a new one.")
        backing = self._db.execute(
            "SELECT oauth_scope FROM federation_rules WHERE issuer_id = ? AND archived_at IS NULL",
            (issuer_id,),
        ).fetchall()
        if any(not set(r["oauth_scope"].split()) <= OAUTH_SCOPES for r in backing):
            raise ErrorAnswer(
                403, CONSOLE_ONLY.format(what="updating an issuer that backs such a rule")
            )
        if "name" in body:
            name = checks.slug(body["name"])
            if name != row["name"]:
                self._unique("federation_issuers", name, "federation issuer")
            self._db.execute(
                "UPDATE federation_issuers SET name = ? WHERE id = ?", (name, issuer_id)
            )
        if "issuer_url" in body:
            if not isinstance(body["issuer_url"], str) or not body["issuer_url"].startswith(
                "https://"
            ):
                raise ErrorAnswer(400, "issuer_url: an https URL, the tokens' 'iss' claim.")
            self._db.execute(
                "UPDATE federation_issuers SET issuer_url = ? WHERE id = ?",
                (body["issuer_url"], issuer_id),
            )
        if body.get("max_jwt_lifetime_seconds") is not None:
            self._db.execute(
                "UPDATE federation_issuers SET max_jwt_lifetime_seconds = ? WHERE id = ?",
                (checks.lifetime(body["max_jwt_lifetime_seconds"]), issuer_id),
            )
        if body.get("check_jti") is not None:
            self._db.execute(
                "UPDATE federation_issuer_details SET check_jti = ? WHERE id = ?",
                (int(bool(body["check_jti"])), issuer_id),
            )
        if body.get("jwks") is not None:
            self._db.execute(
                "UPDATE federation_issuer_details SET jwks = ? WHERE id = ?",
                (json.dumps(checks.jwks(body["jwks"])), issuer_id),
            )
        self._touch("federation_issuer_details", issuer_id, actor)
        return self.issuer(issuer_id)

    def archive_issuer(self, issuer_id: str, actor: str) -> dict[str, Any]:
        row = self._issuer_row(issuer_id)
        if row["archived_at"]:
            return self.issuer(issuer_id)
        live = self._db.execute(
            "SELECT id FROM federation_rules WHERE issuer_id = ? AND archived_at IS NULL",
            (issuer_id,),
        ).fetchone()
        if live is not None:
            raise ErrorAnswer(
                400,
                f"Federation rule {live['id']} still references issuer {issuer_id}; archive "
                "its rules first.",
            )
        self._db.execute(
            "UPDATE federation_issuers SET archived_at = ? WHERE id = ?", (_now(), issuer_id)
        )
        self._touch("federation_issuer_details", issuer_id, actor, archived=True)
        return self.issuer(issuer_id)

    # -- rules ---------------------------------------------------------------------------

    def rules(self, *, include_archived: bool, issuer_id: str | None) -> list[dict[str, Any]]:
        query, args = "SELECT id FROM federation_rules WHERE 1 = 1", []
        if not include_archived:
            query += " AND archived_at IS NULL"
        if issuer_id:
            query, args = query + " AND issuer_id = ?", [issuer_id]
        return [self.rule(r["id"]) for r in self._db.execute(query + " ORDER BY position", args)]

    def rule(self, rule_id: str) -> dict[str, Any]:
        """A rule as the Admin API answers it (the SDK's ``BetaFederationRule``)."""
        row = self._rule_row(rule_id)
        details = self._details("federation_rule_details", rule_id)
        issuer = self._db.execute(
            "SELECT name FROM federation_issuers WHERE id = ?", (row["issuer_id"],)
        ).fetchone()
        account = self._db.execute(
            "SELECT name FROM admin_service_accounts WHERE id = ?", (row["service_account_id"],)
        ).fetchone()
        workspaces = json.loads(details["workspace_ids"]) if details else []
        return {
            "id": row["id"],
            "type": "federation_rule",
            "name": row["name"],
            "description": details["description"] if details else None,
            "issuer_id": row["issuer_id"],
            "issuer_name": issuer["name"] if issuer else None,
            "match": json.loads(row["match"]),
            "oauth_scope": row["oauth_scope"],
            "target": {
                "type": "service_account",
                "service_account_id": row["service_account_id"],
                "service_account_name": account["name"] if account else None,
            },
            "token_lifetime_seconds": row["token_lifetime_seconds"],
            "applies_to_all_workspaces": bool(details["applies_to_all"]) if details else False,
            "workspace_ids": [] if row["archived_at"] else workspaces,
            "workspace_id": workspaces[0] if len(workspaces) == 1 else None,
            "attributes": None,
            **self._stamps(details, row["archived_at"]),
        }

    def create_rule(
        self, body: Mapping[str, Any], actor: str, workspace_exists: Any
    ) -> dict[str, Any]:
        name = checks.slug(body.get("name"))
        scope = checks.scope(body.get("oauth_scope"))
        if not set(scope.split()) <= OAUTH_SCOPES:
            raise ErrorAnswer(403, CONSOLE_ONLY.format(what=f"a rule granting {scope!r}"))
        issuer = self._issuer_row(str(body.get("issuer_id")), status=400)
        if issuer["archived_at"]:
            raise ErrorAnswer(400, f"Federation issuer {issuer['id']} is archived.")
        account_id = self._target(body.get("target"))
        match = checks.match(body.get("match"), issuer["issuer_url"])
        if body.get("attributes"):
            raise ErrorAnswer(400, "attributes: not yet supported.")
        everywhere = body.get("applies_to_all_workspaces") is True
        workspace = body.get("workspace_id")
        if not everywhere and not workspace:
            raise ErrorAnswer(
                400, "workspace_id: required unless applies_to_all_workspaces is true."
            )
        if workspace and not workspace_exists(workspace):
            raise ErrorAnswer(400, f"workspace_id: no active workspace {workspace!r}.")
        self._unique("federation_rules", name, "federation rule")
        rule_id = f"fdrl_{uuid.uuid4().hex[:24]}"
        position = self._db.execute("SELECT COUNT(*) FROM federation_rules").fetchone()[0]
        self._db.execute(
            "INSERT INTO federation_rules VALUES (?,?,?,?,?,?,?,?,?)",
            (
                rule_id,
                position,
                name,
                issuer["id"],
                json.dumps(match),
                scope,
                account_id,
                checks.token_lifetime(body.get("token_lifetime_seconds", 3600)),
                None,
            ),
        )
        now = _now()
        self._db.execute(
            "INSERT INTO federation_rule_details VALUES (?,?,?,?,?,?,?,?,?)",
            (
                rule_id,
                checks.description(body.get("description")),
                int(everywhere),
                json.dumps([workspace] if workspace else []),
                now,
                now,
                actor,
                actor,
                None,
            ),
        )
        return self.rule(rule_id)

    def update_rule(self, rule_id: str, body: Mapping[str, Any], actor: str) -> dict[str, Any]:
        row = self._rule_row(rule_id)
        if row["archived_at"]:
            raise ErrorAnswer(400, f"Federation rule {rule_id} is archived; create a new rule.")
        scope = checks.scope(body["oauth_scope"]) if body.get("oauth_scope") else row["oauth_scope"]
        for granted in (row["oauth_scope"], scope):
            if not set(granted.split()) <= OAUTH_SCOPES:
                raise ErrorAnswer(403, CONSOLE_ONLY.format(what=f"a rule granting {granted!r}"))
        if "issuer_id" in body and body["issuer_id"] != row["issuer_id"]:
            raise ErrorAnswer(400, "issuer_id: cannot be changed; create a new rule.")
        if body.get("attributes"):
            raise ErrorAnswer(400, "attributes: not yet supported.")
        issuer = self._issuer_row(row["issuer_id"])
        sets: dict[str, Any] = {"oauth_scope": scope}
        if body.get("name") is not None:
            name = checks.slug(body["name"])
            if name != row["name"]:
                self._unique("federation_rules", name, "federation rule")
            sets["name"] = name
        if body.get("match") is not None:
            sets["match"] = json.dumps(checks.match(body["match"], issuer["issuer_url"]))
        if body.get("target") is not None:
            sets["service_account_id"] = self._target(body["target"])
        if body.get("token_lifetime_seconds") is not None:
            sets["token_lifetime_seconds"] = checks.token_lifetime(body["token_lifetime_seconds"])
        for column, value in sets.items():
            self._db.execute(
                f"UPDATE federation_rules SET {column} = ? WHERE id = ?",
                (value, rule_id),
            )
        if "description" in body:
            self._db.execute(
                "UPDATE federation_rule_details SET description = ? WHERE id = ?",
                (checks.description(body["description"]) or "", rule_id),
            )
        if body.get("applies_to_all_workspaces") is not None:
            everywhere = bool(body["applies_to_all_workspaces"])
            if not everywhere and not self.rule(rule_id)["workspace_ids"]:
                raise ErrorAnswer(
                    400, "applies_to_all_workspaces: false would leave no workspace enabled."
                )
            self._db.execute(
                "UPDATE federation_rule_details SET applies_to_all = ? WHERE id = ?",
                (int(everywhere), rule_id),
            )
        self._touch("federation_rule_details", rule_id, actor)
        return self.rule(rule_id)

    def archive_rule(self, rule_id: str, actor: str) -> dict[str, Any]:
        row = self._rule_row(rule_id)
        if row["archived_at"]:
            return self.rule(rule_id)
        if not set(row["oauth_scope"].split()) <= OAUTH_SCOPES:
            raise ErrorAnswer(
                403, CONSOLE_ONLY.format(what=f"archiving a rule granting {row['oauth_scope']!r}")
            )
        self._db.execute(
            "UPDATE federation_rules SET archived_at = ? WHERE id = ?", (_now(), rule_id)
        )
        self._db.execute(
            "UPDATE federation_rule_details SET workspace_ids = '[]', applies_to_all = 0 "
            "WHERE id = ?",
            (rule_id,),
        )
        self._touch("federation_rule_details", rule_id, actor, archived=True)
        return self.rule(rule_id)

    def rule_workspaces(self, rule_id: str) -> list[str]:
        return list(self.rule(rule_id)["workspace_ids"])

    def set_rule_workspace(
        self, rule_id: str, workspace_id: str, *, enabled: bool, actor: str
    ) -> None:
        """Add (or remove) one workspace of a rule's; OAuth callers only on their rules."""
        row = self._rule_row(rule_id)
        if row["archived_at"]:
            raise ErrorAnswer(400, f"Federation rule {rule_id} is archived.")
        if not set(row["oauth_scope"].split()) <= OAUTH_SCOPES:
            raise ErrorAnswer(
                403, CONSOLE_ONLY.format(what=f"a rule granting {row['oauth_scope']!r}")
            )
        now = self.rule_workspaces(rule_id)
        if enabled and workspace_id not in now:
            now.append(workspace_id)
        elif not enabled and workspace_id in now:  # removal is idempotent
            now.remove(workspace_id)
        self._db.execute(
            "UPDATE federation_rule_details SET workspace_ids = ? WHERE id = ?",
            (json.dumps(now), rule_id),
        )

    # -- rows ------------------------------------------------------------------------------

    def _issuer_row(self, issuer_id: str, *, status: int = 404) -> sqlite3.Row:
        row: sqlite3.Row | None = self._db.execute(
            "SELECT * FROM federation_issuers WHERE id = ?", (issuer_id,)
        ).fetchone()
        if row is None:
            raise ErrorAnswer(status, f"No federation issuer with id {issuer_id!r}.")
        return row

    def _rule_row(self, rule_id: str) -> sqlite3.Row:
        row: sqlite3.Row | None = self._db.execute(
            "SELECT * FROM federation_rules WHERE id = ?", (rule_id,)
        ).fetchone()
        if row is None:
            raise ErrorAnswer(404, f"No federation rule with id {rule_id!r}.")
        return row

    def _target(self, target: Any) -> str:
        if not isinstance(target, dict) or target.get("type") != "service_account":
            raise ErrorAnswer(400, "target: a service_account target is required.")
        account = self._db.execute(
            "SELECT id, archived_at FROM admin_service_accounts WHERE id = ?",
            (target.get("service_account_id"),),
        ).fetchone()
        if account is None or account["archived_at"]:
            raise ErrorAnswer(400, "target.service_account_id: no active service account.")
        return str(account["id"])

    def _unique(self, table: str, name: str, what: str) -> None:
        taken = self._db.execute(
            f"SELECT id FROM {table} WHERE name = ?",
            (name,),
        ).fetchone()
        if taken is not None:
            raise ErrorAnswer(409, f"A {what} named {name!r} already exists.")

    def _details(self, table: str, row_id: str) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self._db.execute(
            f"SELECT * FROM {table} WHERE id = ?",
            (row_id,),
        ).fetchone()
        return row

    def _touch(self, table: str, row_id: str, actor: str, *, archived: bool = False) -> None:
        column = "archived_by" if archived else "updated_by"
        self._db.execute(
            f"UPDATE {table} SET updated_at = ?, {column} = ? WHERE id = ?",
            (_now(), actor, row_id),
        )

    @staticmethod
    def _stamps(details: sqlite3.Row | None, archived_at: str | None) -> dict[str, Any]:
        return {
            "created_at": details["created_at"] if details else SEEDED_AT,
            "created_by_actor_id": details["created_by"] if details else None,
            "updated_at": details["updated_at"] if details else SEEDED_AT,
            "updated_by_actor_id": details["updated_by"] if details else None,
            "archived_at": archived_at,
            "archived_by_actor_id": details["archived_by"] if details else None,
        }
