"""What the Admin API accepts in a federation issuer's or rule's fields (the SDK's
docstrings): slugs, scopes, lifetimes, JWKS shapes, descriptions, and a rule's
``match``, which must narrow something and, on a well-known shared issuer, pin the
tenant. Each refusal is the 400 the reference names."""

from __future__ import annotations

import re
from typing import Any

from reconciler.sandbox.errors import ErrorAnswer

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
OAUTH_SCOPES = frozenset({"workspace:developer", "workspace:inference"})
KNOWN_SCOPES = OAUTH_SCOPES | {"org:admin"}
# Well-known shared issuers, and the claims that say whose tenant a token is from.
SHARED_ISSUERS = {
    "https://token.actions.githubusercontent.com": (
        "repository_owner",
        "repository_owner_id",
        "repository",
        "repository_id",
    ),
    "https://gitlab.com": ("namespace_id", "namespace_path", "project_id", "project_path"),
    "https://agent.buildkite.com": ("organization_slug", "organization_id"),
    "https://app.terraform.io": ("terraform_organization_id", "terraform_organization_name"),
    "https://accounts.google.com": ("hd", "email"),
}


def slug(name: Any) -> str:
    if not isinstance(name, str) or not _SLUG.match(name):
        raise ErrorAnswer(400, "name: a slug of lower-case letters, digits and hyphens (1 to 64).")
    return name


def scope(scope: Any) -> str:
    if not isinstance(scope, str) or not scope.split():
        raise ErrorAnswer(400, "oauth_scope: space-separated OAuth scopes.")
    unknown = sorted(set(scope.split()) - KNOWN_SCOPES)
    if unknown:
        raise ErrorAnswer(400, f"oauth_scope: unknown scope {unknown[0]!r}.")
    return " ".join(scope.split())


def lifetime(value: Any) -> int:
    if value is None:
        return 3600
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 176400:
        raise ErrorAnswer(400, "max_jwt_lifetime_seconds: 1 to 176400.")
    return value


def token_lifetime(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 60 <= value <= 86400:
        raise ErrorAnswer(400, "token_lifetime_seconds: 60 to 86400.")
    return value


def jwks(value: Any) -> dict[str, Any]:
    if value is None:
        return {"type": "discovery"}
    if not isinstance(value, dict) or value.get("type") not in (
        "discovery",
        "explicit_url",
        "inline",
    ):
        raise ErrorAnswer(400, "jwks: type is discovery, explicit_url or inline.")
    return dict(value)


def description(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 1000:
        raise ErrorAnswer(400, "description: text of at most 1,000 characters.")
    return value


def match(match: Any, issuer_url: str) -> dict[str, Any]:
    """A rule's match, checked as the reference says: it narrows something, and on a
    shared issuer it pins the tenant."""
    if not isinstance(match, dict):
        raise ErrorAnswer(400, "match: an object.")
    unknown = sorted(set(match) - {"audience", "claims", "condition", "subject_prefix"})
    if unknown:
        raise ErrorAnswer(400, f"match.{unknown[0]}: unknown field.")
    prefix = match.get("subject_prefix") or ""
    claims = dict(match.get("claims") or {})
    if not all(isinstance(v, str) for v in claims.values()):
        raise ErrorAnswer(400, "match.claims: only string values can be matched.")
    condition = match.get("condition") or ""
    if condition.strip() == "true":
        raise ErrorAnswer(400, "match.condition: a constant-true condition is refused.")
    narrowing = {k: v for k, v in claims.items() if not (k == "iss" and v == issuer_url)}
    if not (prefix.strip("*") or narrowing or condition):
        raise ErrorAnswer(
            400, "match: needs subject_prefix (not only a wildcard), claims or a condition."
        )
    tenant = SHARED_ISSUERS.get(issuer_url.rstrip("/"))
    if tenant and not (
        any(k in narrowing for k in tenant)
        or re.match(r"^(repo|project_path|organization):[^*/:]+[/:]", prefix)
        or any(f"claims.{k}" in condition for k in tenant)
    ):
        raise ErrorAnswer(
            400,
            f"match: on the shared issuer {issuer_url} a rule must pin the tenant: one of "
            f"the claims {', '.join(tenant)}, a subject prefix naming the owner, or a "
            "condition reading one of them.",
        )
    return {k: v for k, v in match.items() if v not in (None, "", {})}
