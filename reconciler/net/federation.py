"""Keyless authentication to the Admin API: workload identity federation, as the
operator configures it.

A CI job presents its own short-lived OIDC token (the identity token); Anthropic
exchanges it, under a federation rule that pins the issuer and the claims, for a
short-lived access token of a service account. No key is stored anywhere. Which
rule, organization and service account, and where the identity token is read, are
the operator's to say (flags, else the SDK's environment variables); a
desired-state file cannot choose any of them, as it cannot choose a key variable.

Who authenticates how: ``--auth key|federation`` (or ``RECONCILER_AUTH``) decides
when given; otherwise a configured rule means federation, and a configured rule
next to a key is a question the operator must answer, not one reconciler guesses.
Only the rule, service account and organization are ever shown (in every plan and
report): the identity token and the access token never are.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reconciler.core.errors import CredentialsError

RULE_VARIABLE = "ANTHROPIC_FEDERATION_RULE_ID"
ORGANIZATION_VARIABLE = "ANTHROPIC_ORGANIZATION_ID"
SERVICE_ACCOUNT_VARIABLE = "ANTHROPIC_SERVICE_ACCOUNT_ID"
TOKEN_VARIABLE = "ANTHROPIC_IDENTITY_TOKEN"
TOKEN_FILE_VARIABLE = "ANTHROPIC_IDENTITY_TOKEN_FILE"
AUTH_VARIABLE = "RECONCILER_AUTH"
AUDIENCE_VARIABLE = "RECONCILER_IDENTITY_TOKEN_AUDIENCE"
# In a GitHub Actions job with ``permissions: id-token: write``, the runner puts these in
# every step's environment; with them, reconciler asks for a fresh token at each exchange.
ACTIONS_URL_VARIABLE = "ACTIONS_ID_TOKEN_REQUEST_URL"
ACTIONS_TOKEN_VARIABLE = "ACTIONS_ID_TOKEN_REQUEST_TOKEN"
# The audience asked of GitHub Actions unless the operator names another: the rule's
# ``match.audience`` must be the same.
DEFAULT_AUDIENCE = "https://api.anthropic.com"
AUTH_CHOICES = ("key", "federation")
FEDERATED_PROVIDER = "anthropic-admin"


@dataclass(frozen=True)
class FederationChoice:
    """What the operator said on the command line (each may be None)."""

    auth: str | None = None
    rule_id: str | None = None
    organization_id: str | None = None
    service_account_id: str | None = None
    token_file: Path | None = None
    audience: str | None = None


@dataclass(frozen=True)
class Federation:
    """Who this run is (rule, organization, service account) and where its identity
    token is read from; the token itself is read afresh at each exchange (a file may
    be rotated under a long apply), never kept here."""

    rule_id: str
    organization_id: str
    service_account_id: str | None
    token_file: Path | None  # else the token is in TOKEN_VARIABLE, or asked of Actions
    actions_audience: str | None = None  # asked of GitHub Actions, with this audience

    @property
    def token_source(self) -> str:
        if self.token_file:
            return f"the file {self.token_file}"
        if self.actions_audience:
            return f"GitHub Actions (audience {self.actions_audience})"
        return TOKEN_VARIABLE

    @property
    def identity(self) -> str:
        """``service account svac_… (federation rule fdrl_…)``, for messages."""
        if self.service_account_id:
            return f"service account {self.service_account_id} (federation rule {self.rule_id})"
        return f"the service account of federation rule {self.rule_id}"

    @property
    def api(self) -> dict[str, str]:
        """What every plan and report names beside the base URL (never a token)."""
        named = {
            "auth": "federation",
            "federation_rule_id": self.rule_id,
            "organization_id": self.organization_id,
            "identity_token_from": str(self.token_file) if self.token_file else self.token_source,
        }
        if self.service_account_id:
            named["service_account_id"] = self.service_account_id
        return named

    def identity_token(self) -> str:
        """The identity token, read now: from the file, else from the variable (in
        GitHub Actions, the provider asks the runner: see ``actions_audience``)."""
        text = os.environ.get(TOKEN_VARIABLE, "")
        if self.token_file is not None:
            try:
                text = self.token_file.read_text("utf-8")  # pragma: no mutate: its spelling
            except (OSError, UnicodeDecodeError) as exc:
                raise CredentialsError(
                    f"Cannot read the identity token from {self.token_source} "
                    f"({getattr(exc, 'strerror', None) or type(exc).__name__}); point "
                    f"{TOKEN_FILE_VARIABLE} or --identity-token-file at the OIDC token."
                ) from None
        token = text.strip()
        if not token:
            raise CredentialsError(
                f"No identity token: {self.token_source} is empty; set {TOKEN_VARIABLE} "
                f"or {TOKEN_FILE_VARIABLE} to the CI job's OIDC token."
            )
        return checked(token, self.token_source)


def federation_for(
    choice: FederationChoice, *, provider: str, key_variables: tuple[str, ...]
) -> Federation | None:
    """Federation, when the operator chose it or configured it, else None (a key)."""
    auth = choice.auth or os.environ.get(AUTH_VARIABLE, "").strip() or None
    if auth is not None and auth not in AUTH_CHOICES:
        raise CredentialsError(
            f"{AUTH_VARIABLE} is {auth!r}; set it to key or federation (or leave it unset)."
        )
    rule = choice.rule_id or os.environ.get(RULE_VARIABLE, "").strip()
    explicit = auth == "federation" or bool(choice.rule_id) or bool(choice.organization_id)
    if auth == "key" or not (rule or explicit):
        return None
    if provider != FEDERATED_PROVIDER:
        if not explicit:
            return None  # the environment is set up for the Admin API, not for this one
        raise CredentialsError(
            f"Workload identity federation signs in to the Admin API (provider "
            f"{FEDERATED_PROVIDER}); the {provider} provider takes a key. Drop --auth "
            f"federation ({AUTH_VARIABLE}) and the federation options, or use a file of the "
            "Admin API."
        )
    if choice.auth is None and auth != "federation":
        held = [name for name in key_variables if os.environ.get(name, "").strip()]
        if held:
            raise CredentialsError(
                f"Both a key ({held[0]}) and federation ({RULE_VARIABLE}) are configured; "
                "pass --auth federation or --auth key (or set RECONCILER_AUTH) to choose, "
                "or unset the one not meant."
            )
    organization = choice.organization_id or os.environ.get(ORGANIZATION_VARIABLE, "").strip()
    account = choice.service_account_id or os.environ.get(SERVICE_ACCOUNT_VARIABLE, "").strip()
    token_file = choice.token_file or _path(os.environ.get(TOKEN_FILE_VARIABLE, "").strip())
    in_actions = all(os.environ.get(n) for n in (ACTIONS_URL_VARIABLE, ACTIONS_TOKEN_VARIABLE))
    audience = (
        None
        if token_file or os.environ.get(TOKEN_VARIABLE, "").strip() or not in_actions
        else choice.audience or os.environ.get(AUDIENCE_VARIABLE, "").strip() or DEFAULT_AUDIENCE
    )
    missing = [
        what
        for what, given in (
            (f"the federation rule's id ({RULE_VARIABLE} or --federation-rule)", rule),
            (f"the organization's id ({ORGANIZATION_VARIABLE} or --organization-id)", organization),
            (
                f"the identity token ({TOKEN_FILE_VARIABLE}, --identity-token-file or "
                f"{TOKEN_VARIABLE}; in GitHub Actions, permissions: id-token: write)",
                token_file or audience or os.environ.get(TOKEN_VARIABLE, "").strip(),
            ),
        )
        if not given
    ]
    if missing:
        raise CredentialsError(
            f"Federation needs {' and '.join(missing)}; set "
            f"{'it' if len(missing) == 1 else 'them'}, or use a key (--auth key)."
        )
    federation = Federation(rule, organization, account or None, token_file, audience)
    if audience is None:  # unreadable or not a token: said now, before any request
        federation.identity_token()
    return federation


def checked(token: str, source: str) -> str:
    """The token, if it can be a JWT: three dot-separated parts of printable ASCII."""
    if not (token.isascii() and token.isprintable()) or token.count(".") != 2:
        raise CredentialsError(
            f"{source} does not hold an identity token (a JWT is three dot-separated parts "
            "of printable ASCII); set it to the OIDC token alone."
        )
    return token


def _path(text: str) -> Path | None:
    return Path(text) if text else None


def claims_of(token: str) -> dict[str, Any]:
    """The identity token's claims, read without checking its signature (that is the
    token endpoint's job): only to say what the token is when it is refused."""
    try:
        payload = token.split(".")[1]
        padded = payload + "=" * (-len(payload) % 4)  # pragma: no mutate: excess = is ignored
        data = json.loads(base64.urlsafe_b64decode(padded))
    except (IndexError, ValueError, binascii.Error):
        return {}
    return data if isinstance(data, dict) else {}


def expired_at(claims: dict[str, Any], now: float) -> str | None:
    """When the token expired (UTC, to the second), or None if it has not."""
    exp = claims.get("exp")
    if isinstance(exp, int | float) and not isinstance(exp, bool) and exp <= now:
        return datetime.fromtimestamp(exp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return None
