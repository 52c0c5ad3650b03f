"""Workload identity federation in the sandbox: Anthropic's side of it (the
identity provider's is ``oidc``).

Here: service accounts, federation issuers and rules (the shapes of
the SDK's ``BetaServiceAccount``, ``BetaFederationIssuer`` and
``BetaFederationRule``), the RFC 7523 ``jwt-bearer`` exchange the SDK's
``WorkloadIdentityCredentials`` makes at ``POST /v1/oauth/token``, and the
short-lived access tokens it mints, which ``authorize`` then accepts as
``Authorization: Bearer`` with the ``oauth-2025-04-20`` beta.

The identity provider's side is ``oidc.Signer``: the exchange verifies assertions
with the sandbox's own key alone and never fetches an issuer's keys, so a test can
play a GitHub Actions job from the right repository or the wrong one without
leaving loopback.

Refusals of the exchange are OAuth errors (``{"error", "error_description"}``,
RFC 6749 5.2) that name the claim that did not match, never the value the rule
wants. Access tokens are stored hashed, like keys.

Over 400 lines and one job: the token exchange and what it checks; its routes are in
``federation_app`` and the issuer in ``oidc``.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from reconciler.sandbox.errors import ErrorAnswer
from reconciler.sandbox.oidc import BadSignature, Signer

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
FEDERATION_BETA = "oidc-federation-2026-04-01"
OAUTH_BETA = "oauth-2025-04-20"
ACCESS_TOKEN_PREFIX = "sk-ant-oat01-"
# The audience an assertion must carry when its rule names none.
DEFAULT_AUDIENCE = "https://api.anthropic.com"
# What each OAuth scope of a rule lets an access token do, in the sandbox's key scopes.
SCOPE_GRANTS = {"org:admin": "organization:admin"}
IDENTITY_TOKEN_SECONDS = 300

_SCHEMA = """
CREATE TABLE IF NOT EXISTS admin_service_accounts (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, organization_role TEXT NOT NULL,
    description TEXT, archived_at TEXT, created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS federation_issuers (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, issuer_url TEXT NOT NULL,
    max_jwt_lifetime_seconds INTEGER NOT NULL, archived_at TEXT
);
CREATE TABLE IF NOT EXISTS federation_rules (
    id TEXT PRIMARY KEY, position INTEGER NOT NULL, name TEXT NOT NULL,
    issuer_id TEXT NOT NULL, match TEXT NOT NULL, oauth_scope TEXT NOT NULL,
    service_account_id TEXT NOT NULL, token_lifetime_seconds INTEGER NOT NULL, archived_at TEXT
);
CREATE TABLE IF NOT EXISTS federation_access_tokens (
    token_sha256 TEXT PRIMARY KEY, rule_id TEXT NOT NULL, service_account_id TEXT NOT NULL,
    oauth_scope TEXT NOT NULL, expires_at REAL NOT NULL, requests_left INTEGER
);
"""
_TABLES = (
    "admin_service_accounts",
    "federation_issuers",
    "federation_rules",
    "federation_access_tokens",
)


class OAuthError(Exception):
    """A refused token exchange, answered as RFC 6749's error JSON."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _moment(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class FederationStore:
    """Service accounts, issuers, rules and the access tokens minted under them."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        self._db.executescript(_SCHEMA)

    # -- seeding -----------------------------------------------------------------------

    def load(self, seed: Mapping[str, Any]) -> None:
        """``service_accounts`` and ``federation: {issuers, rules}`` of a seed's ``admin``."""
        for table in _TABLES:
            self._db.execute(f"DELETE FROM {table}")
        for account in seed.get("service_accounts", []):
            self._db.execute(
                "INSERT INTO admin_service_accounts VALUES (?,?,?,?,?,?)",
                (
                    account.get("id") or f"svac_{uuid.uuid4().hex[:24]}",
                    account["name"],
                    account.get("organization_role", "developer"),
                    account.get("description"),
                    account.get("archived_at"),
                    account.get("created_at", _now_text()),
                ),
            )
        federation = seed.get("federation") or {}
        for issuer in federation.get("issuers", []):
            self._db.execute(
                "INSERT INTO federation_issuers VALUES (?,?,?,?,?)",
                (
                    issuer.get("id") or f"fdis_{uuid.uuid4().hex[:24]}",
                    issuer.get("name", issuer["issuer_url"]),
                    issuer["issuer_url"],
                    issuer.get("max_jwt_lifetime_seconds", 3600),
                    issuer.get("archived_at"),
                ),
            )
        for position, rule in enumerate(federation.get("rules", [])):
            self._db.execute(
                "INSERT INTO federation_rules VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    rule.get("id") or f"fdrl_{uuid.uuid4().hex[:24]}",
                    position,
                    rule.get("name", f"rule-{position + 1}"),
                    rule["issuer_id"],
                    json.dumps(rule.get("match") or {}),
                    rule.get("oauth_scope", "org:admin"),
                    rule["target"]["service_account_id"],
                    rule.get("token_lifetime_seconds", 600),
                    rule.get("archived_at"),
                ),
            )

    # -- reads -------------------------------------------------------------------------

    def _rule(self, rule_id: str) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self._db.execute(
            "SELECT * FROM federation_rules WHERE id = ? AND archived_at IS NULL", (rule_id,)
        ).fetchone()
        return row

    def _issuer(self, issuer_id: str) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self._db.execute(
            "SELECT * FROM federation_issuers WHERE id = ? AND archived_at IS NULL", (issuer_id,)
        ).fetchone()
        return row

    def _account(self, account_id: str) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self._db.execute(
            "SELECT * FROM admin_service_accounts WHERE id = ?", (account_id,)
        ).fetchone()
        return row

    def first_rule(self) -> tuple[str, str] | None:
        """The first active rule's id and the service account it targets."""
        row = self._first_rule()
        return None if row is None else (row["id"], row["service_account_id"])

    def _first_rule(self) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self._db.execute(
            "SELECT * FROM federation_rules WHERE archived_at IS NULL ORDER BY position LIMIT 1"
        ).fetchone()
        return row

    def default_claims(self, now: float) -> dict[str, Any]:
        """Claims the first active rule accepts, shaped as a GitHub Actions job's token:
        what a minting request with an empty body gets."""
        row = self._first_rule()
        claims: dict[str, Any] = {"iat": int(now), "nbf": int(now)}
        claims["exp"] = int(now) + IDENTITY_TOKEN_SECONDS
        claims["jti"] = uuid.uuid4().hex
        if row is None:
            return {**claims, "iss": "https://sandbox.invalid", "aud": DEFAULT_AUDIENCE}
        match = json.loads(row["match"])
        issuer = self._issuer(row["issuer_id"])
        wanted: dict[str, Any] = dict(match.get("claims") or {})
        repository, ref = wanted.get("repository"), wanted.get("ref")
        subject = str(match.get("subject_prefix") or "").removesuffix("*")
        if not subject and repository and ref:
            subject = f"repo:{repository}:ref:{ref}"
        return {
            **claims,
            "iss": issuer["issuer_url"] if issuer else "https://sandbox.invalid",
            "aud": match.get("audience") or DEFAULT_AUDIENCE,
            "sub": subject or "sandbox",
            **(_github_ids(str(repository)) if repository else {}),
            **wanted,
        }

    # -- the exchange ------------------------------------------------------------------

    def exchange(
        self,
        body: Mapping[str, Any],
        signer: Signer,
        *,
        organization_id: str,
        lifetime: int | None,
        requests: int | None,
    ) -> dict[str, Any]:
        """``POST /v1/oauth/token``: check the assertion against the rule, mint a token."""
        if body.get("grant_type") != JWT_BEARER:
            raise OAuthError(400, "unsupported_grant_type", f"grant_type must be {JWT_BEARER}.")
        for name in ("assertion", "federation_rule_id", "organization_id"):
            if not isinstance(body.get(name), str) or not body[name]:
                raise OAuthError(400, "invalid_request", f"{name} is required.")
        if body["organization_id"] != organization_id:
            raise OAuthError(
                401, "invalid_grant", "organization_id is not the organization of this rule."
            )
        rule = self._rule(body["federation_rule_id"])
        if rule is None:
            raise OAuthError(
                401,
                "invalid_grant",
                f"No active federation rule {body['federation_rule_id']} in this organization.",
            )
        issuer = self._issuer(rule["issuer_id"])
        if issuer is None:
            raise OAuthError(401, "invalid_grant", f"The issuer of rule {rule['id']} is archived.")
        try:
            claims = signer.verify(body["assertion"])
        except BadSignature as exc:
            raise OAuthError(
                401,
                "invalid_grant",
                f"The identity token's signature does not verify with the issuer's keys ({exc}).",
            ) from exc
        now = time.time()
        _check_times(claims, now, issuer["max_jwt_lifetime_seconds"])
        _check_match(claims, issuer["issuer_url"], json.loads(rule["match"]), rule["id"])
        asked = body.get("service_account_id")
        if asked is not None and asked != rule["service_account_id"]:
            raise OAuthError(
                401,
                "invalid_grant",
                f"service_account_id {asked} is not the target of federation rule {rule['id']}.",
            )
        account = self._account(rule["service_account_id"])
        if account is None or account["archived_at"]:
            raise OAuthError(
                401, "invalid_grant", f"Service account {rule['service_account_id']} is archived."
            )
        scopes = rule["oauth_scope"].split()
        if "org:admin" in scopes and account["organization_role"] != "admin":
            raise OAuthError(
                403,
                "access_denied",
                f"Federation rule {rule['id']} grants org:admin, but its service account "
                f"{account['id']} has the {account['organization_role']} role; only an admin "
                "service account can hold org:admin.",
            )
        seconds = lifetime or max(
            60, min(rule["token_lifetime_seconds"], 2 * int(claims["exp"] - now))
        )
        token = ACCESS_TOKEN_PREFIX + secrets.token_urlsafe(32)
        self._db.execute(
            "INSERT INTO federation_access_tokens VALUES (?,?,?,?,?,?)",
            (
                digest(token),
                rule["id"],
                account["id"],
                rule["oauth_scope"],
                now + seconds,
                requests,
            ),
        )
        return {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": seconds,
            "scope": rule["oauth_scope"],
        }

    # -- access tokens on API requests -------------------------------------------------

    def actor(self, token: str) -> str:
        """The service account an access token acts as (its tagged id)."""
        row = self._db.execute(
            "SELECT service_account_id FROM federation_access_tokens WHERE token_sha256 = ?",
            (digest(token),),
        ).fetchone()
        return str(row["service_account_id"]) if row else ""

    def authorize(self, token: str, scope_needed: str, *, beta: str, doing: str) -> None:
        """Let an access token through to an endpoint that needs ``scope_needed``, or
        refuse it as the Admin API would (401 for the token, 403 for what it may do)."""
        if OAUTH_BETA not in {flag.strip() for flag in beta.split(",")}:
            raise ErrorAnswer(401, "OAuth authentication is currently not supported.")
        row = self._db.execute(
            "SELECT * FROM federation_access_tokens WHERE token_sha256 = ?", (digest(token),)
        ).fetchone()
        if row is None:
            raise ErrorAnswer(401, "Invalid bearer token.")
        if row["expires_at"] <= time.time() or row["requests_left"] == 0:
            raise ErrorAnswer(
                401, "The access token has expired; exchange the identity token again."
            )
        if row["requests_left"] is not None:
            self._db.execute(
                "UPDATE federation_access_tokens SET requests_left = requests_left - 1 "
                "WHERE token_sha256 = ?",
                (row["token_sha256"],),
            )
        granted = {SCOPE_GRANTS.get(s) for s in row["oauth_scope"].split()}
        whose = f"service account {row['service_account_id']} (federation rule {row['rule_id']})"
        if scope_needed not in granted:
            raise ErrorAnswer(
                403,
                f"The access token of {whose} has the scope '{row['oauth_scope']}', which "
                f"does not allow {doing} (it needs org:admin).",
            )
        account = self._account(row["service_account_id"])
        if account is None or account["archived_at"]:
            raise ErrorAnswer(401, f"Service account {row['service_account_id']} is archived.")
        if account["organization_role"] != "admin":
            raise ErrorAnswer(
                403,
                f"Service account {account['id']} has the {account['organization_role']} role "
                f"now; {doing} needs an admin service account.",
            )


def _github_ids(repository: str) -> dict[str, str]:
    """The claims GitHub puts beside a repository's name: its owner, and the numeric ids
    of both (as strings, as GitHub writes them), which stay when a name is given up and
    registered again by someone else. Made up here, stable for a name."""
    owner = repository.partition("/")[0]

    def number(name: str) -> str:
        return str(int(hashlib.sha256(name.encode()).hexdigest()[:8], 16))

    return {
        "repository_owner": owner,
        "repository_id": number(repository),
        "repository_owner_id": number(owner),
    }


def _check_times(claims: Mapping[str, Any], now: float, max_lifetime: int) -> None:
    for name in ("iat", "exp"):
        if not isinstance(claims.get(name), int | float):
            raise OAuthError(401, "invalid_grant", f"The identity token has no '{name}' claim.")
    if claims["exp"] <= now:
        raise OAuthError(
            401,
            "invalid_grant",
            f"The identity token expired at {_moment(claims['exp'])} (claim 'exp').",
        )
    if claims["iat"] > now + 60:
        raise OAuthError(
            401,
            "invalid_grant",
            f"The identity token was issued in the future, at {_moment(claims['iat'])} "
            "(claim 'iat').",
        )
    nbf = claims.get("nbf")
    if isinstance(nbf, int | float) and nbf > now + 60:
        raise OAuthError(
            401,
            "invalid_grant",
            f"The identity token is not valid before {_moment(nbf)} (claim 'nbf').",
        )
    if claims["exp"] - claims["iat"] > max_lifetime:
        raise OAuthError(
            401,
            "invalid_grant",
            f"The identity token lives longer than its issuer allows ({max_lifetime} s, "
            "claims 'iat' to 'exp').",
        )


def _check_match(
    claims: Mapping[str, Any], issuer_url: str, match: Mapping[str, Any], rule_id: str
) -> None:
    """Every populated matcher of the rule, in a fixed order; the first that fails is
    named (the claim, never the value the rule wants)."""

    def refuse(claim: str) -> OAuthError:
        return OAuthError(
            401,
            "invalid_grant",
            f"The identity token's '{claim}' claim does not match federation rule {rule_id}.",
        )

    if claims.get("iss") != issuer_url:
        raise refuse("iss")
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if (match.get("audience") or DEFAULT_AUDIENCE) not in audiences:
        raise refuse("aud")
    prefix = match.get("subject_prefix")
    if prefix:
        subject = str(claims.get("sub", ""))
        wildcard = prefix.endswith("*")
        if not (subject.startswith(prefix[:-1]) if wildcard else subject == prefix):
            raise refuse("sub")
    for name, wanted in sorted((match.get("claims") or {}).items()):
        if claims.get(name) != wanted:
            raise refuse(name)
    if match.get("condition") and not _holds(str(match["condition"]), claims):
        raise OAuthError(
            401,
            "invalid_grant",
            f"The identity token's claims do not satisfy the condition of federation rule "
            f"{rule_id}.",
        )


def _holds(condition: str, claims: Mapping[str, Any]) -> bool:
    """A rule's CEL condition over ``claims`` (its only variable): true, or refused
    (false, an error, or not a boolean)."""
    from cel_expr_python import cel  # only a rule with a condition pays for it

    environment = cel.NewEnv(variables={"claims": cel.Type.Map(cel.Type.STRING, cel.Type.DYN)})
    try:
        found = environment.compile(condition).eval(data={"claims": dict(claims)})
    except Exception:  # a condition that does not compile admits no one
        return False
    return found.type() == cel.Type.BOOL and found.value() is True
