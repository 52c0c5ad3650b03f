"""The limits half of the sandbox's Admin API: the organization's rate-limit table,
each workspace's overrides of it, and spend limits; in the same SQLite file.

The rules are the reference's (the SDK's docstrings); where it is silent the
emulator decides, and says so here:

- A workspace override names a limiter type the organization's entry has; any
  other type is a 400 listing the entry's types. A value is an integer >= 0
  (0 stops the workspace's use of the group); ``null`` clears the override. An
  override above the organization's limit is stored (the lower one applies).
- A seed with ``rate_limits: false`` is an organization the rate-limit endpoints are
  not offered to: 403 for them.
- Spend limits of a Console organization: ``organization`` and ``workspace``
  scopes, ``monthly``, always with an amount (a non-negative integer decimal
  string in the minor unit of the billing currency). The read-only
  ``usage_tier`` limit is listed and cannot be set or deleted. An organization
  without the early-access preview (seed ``admin_api: false``) gets 403
  ``spend_limits_admin_api_writes_not_enabled`` for every spend-limit call, lists
  included; one with reads only (``admin_api: read``) gets it for set and delete.
  Lists need the ``spend-limit-reads-2026-09-26`` beta header and come newest first.

Over 400 lines and one job: the Admin API's spend and rate limits as the sandbox keeps
them, with every rule the real API documents for them.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from collections.abc import Mapping
from typing import Any

from reconciler.sandbox.errors import ErrorAnswer

LIMITER_TYPES = (
    "fast_itpmca",
    "fast_otpm",
    "input_tokens_per_minute",
    "input_tokens_per_minute_cache_aware",
    "output_tokens_per_minute",
    "requests_per_minute",
    "tokens_per_day",
    "tokens_per_minute",
    "tool_uses_per_second",
)
GROUP_TYPES = ("model_group", "batch", "token_count", "files", "skills", "web_search")
SPEND_READS_BETA = "spend-limit-reads-2026-09-26"
NO_SPEND_ACCESS = "spend_limits_admin_api_writes_not_enabled"
_AMOUNT = re.compile(r"^[0-9]{1,18}$")
_CREATED = "2024-01-15T10:30:00Z"

# The table a seed without ``rate_limits`` gets: group ids are the same in every
# organization (as the reference says), entry ids differ per organization.
DEFAULT_RATE_LIMITS: list[dict[str, Any]] = [
    {
        "group": {
            "id": "rlg_01VPTCmyiu5ZLsWkcxYG2pY8",
            "type": "model_group",
            "display_name": "Claude Sonnet 4.x",
        },
        "models": ["claude-sonnet-4-5", "claude-sonnet-4-5-20250929", "claude-sonnet-4-0"],
        "limits": {
            "requests_per_minute": 4000,
            "input_tokens_per_minute_cache_aware": 2000000,
            "output_tokens_per_minute": 400000,
        },
    },
    {
        "group": {
            "id": "rlg_01Hq7mXo3GfV9nNwQeK2ZtL5",
            "type": "model_group",
            "display_name": "Claude Opus 4.x",
        },
        "models": ["claude-opus-4-1", "claude-opus-4-1-20250805"],
        "limits": {
            "requests_per_minute": 2000,
            "input_tokens_per_minute_cache_aware": 1000000,
            "output_tokens_per_minute": 200000,
        },
    },
    {
        "group": {"id": "rlg_01BaTcH5pQ8sRw2LmYc4XvNd", "type": "batch"},
        "limits": {"requests_per_minute": 4000},
    },
]

SCHEMA = """
CREATE TABLE IF NOT EXISTS admin_billing (
    currency TEXT NOT NULL, spend_api INTEGER NOT NULL, rate_api INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS admin_external_keys (id TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS admin_rate_limits (
    id TEXT PRIMARY KEY, position INTEGER NOT NULL, group_id TEXT NOT NULL UNIQUE,
    group_type TEXT NOT NULL, display_name TEXT, models TEXT, limits TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS admin_workspace_rate_limits (
    workspace_id TEXT NOT NULL, rate_limit_id TEXT NOT NULL, type TEXT NOT NULL,
    value INTEGER NOT NULL, PRIMARY KEY (workspace_id, rate_limit_id, type)
);
CREATE TABLE IF NOT EXISTS admin_spend_limits (
    id TEXT PRIMARY KEY, serial INTEGER NOT NULL, scope_type TEXT NOT NULL, workspace_id TEXT,
    period TEXT NOT NULL, amount TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL
);
"""
TABLES = (
    "admin_billing",
    "admin_external_keys",
    "admin_rate_limits",
    "admin_workspace_rate_limits",
    "admin_spend_limits",
)


class LimitsStore:
    """Rate limits and spend limits; knows nothing of HTTP. ``workspace`` is the
    Admin store's reader of one workspace (404 when it does not exist)."""

    def __init__(self, db: sqlite3.Connection, workspace: Any, now: Any, new_id: Any) -> None:
        self._db = db
        self._workspace = workspace
        self._now = now
        self._new_id = new_id
        db.executescript(SCHEMA)

    def load(self, seed: Mapping[str, Any], org_id: str) -> None:
        db = self._db
        for name in TABLES:
            db.execute(f"DELETE FROM {name}")
        spend = seed.get("spend_limits") or {}
        access = {True: 2, "read": 1, False: 0}[spend.get("admin_api", True)]
        offered = seed.get("rate_limits", True) is not False
        db.execute(
            "INSERT INTO admin_billing VALUES (?, ?, ?)",
            (spend.get("currency", "USD"), access, int(offered)),
        )
        for key_id in seed.get("external_keys", []):
            db.execute("INSERT INTO admin_external_keys VALUES (?)", (key_id,))
        table = seed.get("rate_limits") or DEFAULT_RATE_LIMITS
        for position, entry in enumerate(table):
            group = entry["group"]
            entry_id = "rl_" + hashlib.sha256(f"{org_id}/{group['id']}".encode()).hexdigest()[:24]
            db.execute(
                "INSERT INTO admin_rate_limits VALUES (?,?,?,?,?,?,?)",
                (
                    entry_id,
                    position,
                    group["id"],
                    group["type"],
                    group.get("display_name"),
                    json.dumps(entry.get("models")) if group["type"] == "model_group" else None,
                    json.dumps(entry["limits"]),
                ),
            )
        db.execute(
            "INSERT INTO admin_spend_limits VALUES (?,?,?,?,?,?,?,?)",
            (
                self._new_id("spl"),
                0,
                "usage_tier",
                None,
                "monthly",
                str(spend.get("usage_tier", 10_000_000)),
                _CREATED,
                _CREATED,
            ),
        )
        if "organization" in spend:
            self._upsert_spend("organization", None, str(spend["organization"]))

    def load_workspace(self, workspace_id: str, seed: Mapping[str, Any]) -> None:
        """A seeded workspace's spend limit and rate-limit overrides (by group id)."""
        if "spend_limit" in seed:
            self._upsert_spend("workspace", workspace_id, str(seed["spend_limit"]))
        entries = {row["group_id"]: row["id"] for row in self._entries()}
        for group_id, limits in (seed.get("rate_limits") or {}).items():
            self.update_workspace_rate_limit(
                workspace_id,
                entries[group_id],
                [{"type": kind, "value": value} for kind, value in limits.items()],
            )

    # -- external keys ---------------------------------------------------------------------

    def check_external_key(self, key_id: str) -> None:
        found = self._db.execute(
            "SELECT 1 FROM admin_external_keys WHERE id = ?", (key_id,)
        ).fetchone()
        if not found:
            raise ErrorAnswer(
                400,
                f"external_key_id: no external key {key_id!r} in this organization.",
                code="external_key_not_found",
            )

    # -- rate limits -----------------------------------------------------------------------

    def _check_rate_limits_offered(self) -> None:
        row = self._db.execute("SELECT rate_api FROM admin_billing").fetchone()
        if row is not None and not row["rate_api"]:
            raise ErrorAnswer(
                403, "Rate limits are not available to this organization through the Admin API."
            )

    def rate_limits(self, group_type: str | None = None) -> list[dict[str, Any]]:
        self._check_rate_limits_offered()
        return [
            _entry(row)
            for row in self._entries()
            if group_type is None or row["group_type"] == group_type
        ]

    def _entries(self) -> list[sqlite3.Row]:
        return self._db.execute("SELECT * FROM admin_rate_limits ORDER BY position").fetchall()

    def workspace_rate_limits(
        self, workspace_id: str, *, include_inherited: bool, group_type: str | None = None
    ) -> list[dict[str, Any]]:
        self._workspace(workspace_id)
        self._check_rate_limits_offered()
        overrides: dict[str, dict[str, int]] = {}
        for row in self._db.execute(
            "SELECT * FROM admin_workspace_rate_limits WHERE workspace_id = ? ORDER BY type",
            (workspace_id,),
        ):
            overrides.setdefault(row["rate_limit_id"], {})[row["type"]] = row["value"]
        found = []
        for row in self._entries():
            if group_type is not None and row["group_type"] != group_type:
                continue
            if row["id"] not in overrides and not include_inherited:
                continue
            found.append(
                _workspace_entry(
                    row, workspace_id, overrides.get(row["id"], {}), inherited=include_inherited
                )
            )
        return found

    def update_workspace_rate_limit(
        self, workspace_id: str, rate_limit_id: str, limits: list[dict[str, Any]]
    ) -> dict[str, Any]:
        if self._workspace(workspace_id)["archived_at"] is not None:
            raise ErrorAnswer(400, "An archived workspace's rate limits cannot be changed.")
        row = self._db.execute(
            "SELECT * FROM admin_rate_limits WHERE id = ?", (rate_limit_id,)
        ).fetchone()
        if row is None:
            raise ErrorAnswer(404, f"No rate limit with id {rate_limit_id!r}.")
        known = json.loads(row["limits"])
        named = [limit["type"] for limit in limits]
        if len(named) != len(set(named)):
            raise ErrorAnswer(400, "limits: each limiter type may be named once.")
        for limit in limits:
            if limit["type"] not in known:
                raise ErrorAnswer(
                    400,
                    f"limits: {limit['type']!r} is not a limiter type of this group; its types "
                    f"are {', '.join(sorted(known))}.",
                )
        for limit in limits:
            if limit["value"] is None:
                self._db.execute(
                    "DELETE FROM admin_workspace_rate_limits "
                    "WHERE workspace_id = ? AND rate_limit_id = ? AND type = ?",
                    (workspace_id, rate_limit_id, limit["type"]),
                )
            else:
                self._db.execute(
                    "INSERT OR REPLACE INTO admin_workspace_rate_limits VALUES (?,?,?,?)",
                    (workspace_id, rate_limit_id, limit["type"], limit["value"]),
                )
        overrides = {
            r["type"]: r["value"]
            for r in self._db.execute(
                "SELECT * FROM admin_workspace_rate_limits "
                "WHERE workspace_id = ? AND rate_limit_id = ?",
                (workspace_id, rate_limit_id),
            )
        }
        return _workspace_entry(row, workspace_id, overrides, inherited=False)

    # -- spend limits ------------------------------------------------------------------------

    def _check_access(self, *, write: bool = False) -> str:
        """The billing currency, after checking the organization may make this call."""
        row = self._db.execute("SELECT currency, spend_api FROM admin_billing").fetchone()
        if row is None or row["spend_api"] < (2 if write else 1):
            raise ErrorAnswer(
                403,
                "This organization cannot retrieve, set or delete spend limits with an Admin "
                "API credential: the preview is early access; contact your Anthropic account "
                "team.",
                code=NO_SPEND_ACCESS,
            )
        return str(row["currency"])

    def spend_limits(
        self, *, scope_types: list[str], workspace_id: str | None
    ) -> list[dict[str, Any]]:
        currency = self._check_access()
        rows = self._db.execute("SELECT * FROM admin_spend_limits ORDER BY serial DESC").fetchall()
        return [
            _spend_limit(row, currency)
            for row in rows
            if (not scope_types or row["scope_type"] in scope_types)
            and (workspace_id is None or row["workspace_id"] == workspace_id)
        ]

    def spend_limit(self, limit_id: str) -> dict[str, Any]:
        currency = self._check_access()
        row = self._db.execute(
            "SELECT * FROM admin_spend_limits WHERE id = ?", (limit_id,)
        ).fetchone()
        if row is None:
            raise ErrorAnswer(404, f"No spend limit with id {limit_id!r}.")
        return _spend_limit(row, currency)

    def set_spend_limit(self, body: Mapping[str, Any]) -> dict[str, Any]:
        self._check_access(write=True)
        scope, period, amount = body["scope"], body.get("period", "monthly"), body["amount"]
        if scope.get("type") not in ("organization", "workspace"):
            raise ErrorAnswer(
                400,
                "scope: a Claude Console organization sets organization and workspace limits.",
            )
        if period != "monthly":
            raise ErrorAnswer(400, "period: a Claude Console organization's limits are monthly.")
        if not isinstance(amount, str) or not _AMOUNT.match(amount):
            raise ErrorAnswer(
                400, "amount: a non-negative integer as a decimal string, in the minor unit."
            )
        workspace_id = scope.get("workspace_id") if scope["type"] == "workspace" else None
        if workspace_id is not None and self._workspace(workspace_id)["archived_at"] is not None:
            raise ErrorAnswer(400, "An archived workspace's spend limit cannot be set.")
        return self.spend_limit(self._upsert_spend(scope["type"], workspace_id, amount))

    def _upsert_spend(self, scope_type: str, workspace_id: str | None, amount: str) -> str:
        """Set the monthly limit of a scope (an upsert on scope and period); its id."""
        existing = self._db.execute(
            "SELECT id FROM admin_spend_limits WHERE scope_type = ? AND workspace_id IS ? "
            "AND period = 'monthly'",
            (scope_type, workspace_id),
        ).fetchone()
        stamp = self._now()
        if existing:
            self._db.execute(
                "UPDATE admin_spend_limits SET amount = ?, updated_at = ? WHERE id = ?",
                (amount, stamp, existing["id"]),
            )
            return str(existing["id"])
        limit_id = str(self._new_id("spl"))
        serial = self._db.execute(
            "SELECT COALESCE(MAX(serial), 0) + 1 FROM admin_spend_limits"
        ).fetchone()[0]
        self._db.execute(
            "INSERT INTO admin_spend_limits VALUES (?,?,?,?,?,?,?,?)",
            (limit_id, serial, scope_type, workspace_id, "monthly", amount, stamp, stamp),
        )
        return limit_id

    def delete_spend_limit(self, limit_id: str) -> dict[str, Any]:
        self._check_access(write=True)
        if self.spend_limit(limit_id)["scope"]["type"] == "usage_tier":
            raise ErrorAnswer(
                400, "The usage_tier limit is set by Anthropic; it cannot be deleted."
            )
        self._db.execute("DELETE FROM admin_spend_limits WHERE id = ?", (limit_id,))
        return {"id": limit_id, "type": "spend_limit_deleted"}


def _group(row: sqlite3.Row) -> dict[str, Any]:
    group: dict[str, Any] = {"id": row["group_id"], "type": row["group_type"]}
    if row["group_type"] == "model_group":
        group["display_name"] = row["display_name"]
    return group


def _entry(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "group": _group(row),
        "limits": [{"type": t, "value": v} for t, v in json.loads(row["limits"]).items()],
        "models": json.loads(row["models"]) if row["models"] else None,
        "type": "rate_limit",
    }


def _workspace_entry(
    row: sqlite3.Row, workspace_id: str, overrides: Mapping[str, int], *, inherited: bool
) -> dict[str, Any]:
    org: dict[str, int] = json.loads(row["limits"])
    values = []
    for kind in sorted(set(overrides) | (set(org) if inherited else set())):
        source = "workspace" if kind in overrides else "organization"
        values.append(
            {
                "org_limit": org.get(kind),
                "source": {"type": source},
                "type": kind,
                "value": overrides[kind] if kind in overrides else org[kind],
            }
        )
    return {
        "group": _group(row),
        "limits": values,
        "models": json.loads(row["models"]) if row["models"] else None,
        "rate_limit_id": row["id"],
        "type": "workspace_rate_limit",
        "workspace_id": workspace_id,
    }


def _spend_limit(row: sqlite3.Row, currency: str) -> dict[str, Any]:
    scope: dict[str, Any] = {"type": row["scope_type"]}
    if row["workspace_id"]:
        scope["workspace_id"] = row["workspace_id"]
    return {
        "id": row["id"],
        "amount": row["amount"],
        "created_at": row["created_at"],
        "currency": currency,
        "is_enabled": True,
        "period": row["period"],
        "scope": scope,
        "type": "spend_limit",
        "updated_at": row["updated_at"],
    }
