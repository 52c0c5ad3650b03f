"""Signing in to the Admin API by workload identity federation, through the SDK.

The SDK's ``WorkloadIdentityCredentials`` does the RFC 7523 exchange and its
``TokenCache`` refreshes the access token before it expires; this module adds
what a long, unattended apply needs around them: the exchange tried again (within
the connection's bounds) when the token endpoint answers 429 or 5xx or the
connection drops, since the SDK sends it once; one exchange per process while the
token is fresh (a 401 is renewed within the SDK's retries by ``sdk_errors``'s
``DocumentedRetries``); the
identity token read at each exchange, from ``Federation`` (a variable, or a file
read afresh) or from GitHub Actions' token service (``from_actions``); and every
refusal turned into one sentence naming the rule, the service account and, when
the token endpoint names it, the claim that did not match. Tokens never reach a
message: the SDK keeps only the OAuth error fields of an answer, and of the
identity token only its claims are kept, to say when it expired or what the
claim a refusal names held.
"""

from __future__ import annotations

import os
import re
import time
from typing import Any

import anthropic
import httpx
from anthropic.lib.credentials import (
    AccessToken,
    WorkloadIdentityCredentials,
    WorkloadIdentityError,
)
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from reconciler.core.errors import AuthError, CredentialsError, ReconcilerError, TransportError
from reconciler.core.escape import visible
from reconciler.net.connection import RetryPolicy, is_loopback
from reconciler.net.federation import (
    ACTIONS_TOKEN_VARIABLE,
    ACTIONS_URL_VARIABLE,
    Federation,
    checked,
    claims_of,
    expired_at,
)
from reconciler.providers.anthropic_admin.rule_words import names_only

CONSOLE = "the Console (Settings, Workload identity)"
_CLAIM = re.compile(r"'([A-Za-z0-9_:.\-]{1,64})' claim")


class IdentityTokenUnreadable(anthropic.AnthropicError):
    """The identity token could not be read at an exchange: an SDK error, so the SDK
    passes it through as it is rather than retrying it as a lost connection."""


# Access tokens this process holds, by where and who: a command that opens more than one
# session (an apply reads, then writes) signs in once, as long as the token is fresh.
_HELD: dict[tuple[str, str, str, str | None], AccessToken] = {}
# Reused only with more left than the SDK's advisory refresh window (two minutes).
FRESH_SECONDS = 120


class RetriedExchange:
    """An ``AccessTokenProvider``: the SDK's exchange, tried again on 429, 5xx and a
    lost connection within ``policy``; a refusal (4xx) is final. A token this process
    already holds is handed out again while it is fresh, unless the SDK forces a
    refresh (after a 401)."""

    def __init__(self, federation: Federation, policy: RetryPolicy) -> None:
        self._policy = policy
        self._federation = federation
        self._exchange = WorkloadIdentityCredentials(
            identity_token_provider=self._identity_token,
            federation_rule_id=federation.rule_id,
            organization_id=federation.organization_id,
            service_account_id=federation.service_account_id,
        )
        self.claims: dict[str, Any] = {}  # of the last identity token read
        self._held_as: tuple[str, str, str, str | None] = (
            "",
            federation.rule_id,
            federation.organization_id,
            federation.service_account_id,
        )

    def _identity_token(self) -> str:
        """Read at each exchange; its claims (never the token) kept to explain a refusal."""
        federation = self._federation
        try:
            token = (
                checked(from_actions(federation.actions_audience), federation.token_source)
                if federation.actions_audience
                else federation.identity_token()
            )
        except CredentialsError as exc:
            raise IdentityTokenUnreadable(exc.message) from None
        self.claims = claims_of(token)
        return token

    def __call__(self, *, force_refresh: bool = False) -> AccessToken:
        held = _HELD.get(self._held_as)
        expires = held.expires_at if held else None
        if held and not force_refresh and expires and expires - time.time() > FRESH_SECONDS:
            return held
        _HELD[self._held_as] = token = self._exchanged(force_refresh)
        return token

    def _exchanged(self, force_refresh: bool) -> AccessToken:
        policy = self._policy
        for attempt in Retrying(
            retry=retry_if_exception(_transient),
            stop=stop_after_attempt(policy.attempts),
            wait=wait_random_exponential(multiplier=policy.backoff, max=policy.max_wait),
            reraise=True,
        ):
            with attempt:
                return self._exchange(force_refresh=force_refresh)
        raise AssertionError("unreachable: tenacity re-raises the last failure")

    def for_base_url(self, base_url: str) -> RetriedExchange:
        """The SDK binds the exchange to the client's base URL: the sandbox on loopback,
        or the API the operator named (a token is valid only where it was minted)."""
        self._exchange = self._exchange.for_base_url(base_url)
        self._held_as = (base_url, *self._held_as[1:])
        return self

    def close(self) -> None:
        self._exchange.close()


def _transient(exc: BaseException) -> bool:
    """A token endpoint that was not reached, or answered 429 or 5xx: worth another try."""
    if not isinstance(exc, WorkloadIdentityError):
        return False
    status = exc.status_code
    if status is None:
        return str(exc).startswith("Failed to reach")
    return status == 429 or status >= 500


def refusal(
    exc: anthropic.AnthropicError,
    federation: Federation,
    *,
    where: str,
    claims: dict[str, Any],
) -> ReconcilerError:
    """One sentence for a sign-in that failed, naming who tried and what to do; the
    identity token's ``claims`` say what the token was (its expiry, the claim named)."""
    who = federation.identity
    if isinstance(exc, IdentityTokenUnreadable):
        return CredentialsError(str(exc))
    if not isinstance(exc, WorkloadIdentityError):
        return CredentialsError(
            f"Could not sign in by federation as {who}: {visible(str(exc))[:300]}"
        )
    status = exc.status_code
    body: Any = exc.body
    description = body.get("error_description", "") if isinstance(body, dict) else ""
    error = body.get("error", "") if isinstance(body, dict) else ""
    said = visible(str(description))[:300]
    if status is None and not _transient(exc):
        return CredentialsError(f"Could not sign in as {who}: {visible(str(exc))[:300]}")
    if status is None:
        return TransportError(
            f"Could not reach the token endpoint of {where} to sign in as {who}; check that "
            "the API is reachable and run again."
        )
    if status == 429 or status >= 500:
        return TransportError(
            f"The token endpoint of {where} kept answering {status} when signing in as {who}; "
            "wait a little and run again."
        )
    ended = expired_at(claims, time.time())
    if ended:
        return AuthError(
            f"The identity token from {federation.token_source} expired at {ended}, so "
            f"{who} cannot sign in; give reconciler a fresh one (in GitHub Actions, "
            "re-run the job: each run's token lives minutes).",
            status=status,
        )
    if status == 403:
        return AuthError(
            f"The token exchange for {who} was refused: {said} Ask an organization admin "
            f"to give the service account the admin role again in {CONSOLE}; reconciler "
            "needs org:admin.",
            status=status,
        )
    if status == 401:
        named = _CLAIM.search(str(description))
        claim = named.group(1) if named else None
        value = claims.get(claim) if claim else None
        has = f" (the token's {claim} is {visible(repr(value))})" if value is not None else ""
        what = f"its {claim} claim" if claim else "it"
        return AuthError(
            f"Federation rule {federation.rule_id} refused the identity token from "
            f"{federation.token_source}: {what} does not match{has}. Run from the repository, "
            f"branch or environment the rule pins, or change the rule's match in {CONSOLE}"
            f"{f' ({said})' if not claim and said else ''}.",
            status=status,
        )
    return CredentialsError(
        f"The token exchange for {who} was refused ({status} {visible(str(error))}: {said}); "
        f"check the federation rule and organization ids (--federation-rule, "
        "--organization-id).",
    )


def from_actions(audience: str) -> str:
    """A fresh identity token from the GitHub Actions runner's token service (as
    ``core.getIDToken`` asks it): the request token goes only to the runner's own URL,
    over https (or loopback), never following a redirect."""
    url = os.environ.get(ACTIONS_URL_VARIABLE, "")
    parts = httpx.URL(url) if url.startswith(("https://", "http://")) else None
    if parts is None or (parts.scheme != "https" and not is_loopback(parts.host)):
        raise CredentialsError(
            f"{ACTIONS_URL_VARIABLE} is not an https URL; reconciler sends the job's request "
            "token only to the runner's own token service."
        )
    try:
        answer = httpx.get(
            url,
            params={"audience": audience},
            headers={"Authorization": f"Bearer {os.environ.get(ACTIONS_TOKEN_VARIABLE, '')}"},
            follow_redirects=False,
            timeout=30,
        )
    except httpx.HTTPError as exc:
        raise CredentialsError(
            f"Could not reach GitHub Actions' token service ({type(exc).__name__}); run the "
            "job again."
        ) from None
    try:
        value = answer.json().get("value") if answer.status_code == 200 else None
    except (ValueError, AttributeError):  # not JSON, or not an object
        value = None
    if not isinstance(value, str):
        raise CredentialsError(
            f"GitHub Actions gave no identity token (HTTP {answer.status_code}); the job needs "
            "permissions: id-token: write."
        )
    return value


def what_it_checks(rule: Any) -> str:
    """The matchers of ``rule`` (the SDK's ``BetaFederationRule``), for ``--debug``."""
    match = rule.match
    checks = [f"aud {match.audience!r}"] if match.audience else []
    if match.subject_prefix:
        checks.append(f"sub prefix {match.subject_prefix!r}")
    checks += [f"{name} {value!r}" for name, value in sorted((match.claims or {}).items())]
    if match.condition:
        checks.append(f"condition {match.condition!r}")
    return visible(f"federation rule {rule.id} checks: {', '.join(checks) or 'nothing'}")


def checks_names_only(rule: Any) -> str | None:
    """A warning when ``rule`` (the SDK's ``BetaFederationRule``) checks which repository
    a job runs in only by name (a ``repo:`` subject prefix, or the name claims) and
    never by id: a name can be given up and registered again by someone else, whose
    jobs then match. None when an id is pinned, or a condition may check one."""
    checked = names_only(rule.match.to_dict())
    if checked is None:
        return None
    return (
        f"federation rule {visible(rule.id)} checks the repository only by name "
        f"({visible(checked)}); a name can be registered again by someone else: "
        "pin repository_id and repository_owner_id in the rule's claims (Keyless CI)"
    )
