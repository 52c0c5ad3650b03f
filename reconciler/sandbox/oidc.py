"""The sandbox as an OIDC identity provider: it signs identity tokens (RS256) for
any issuer in its seed, with one key per process, published as a JWKS at
``/.well-known/jwks.json``, and checks a token's signature against that key. A
restart is a key rotation: tokens signed before it no longer verify."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey


class BadSignature(Exception):
    """A token this provider did not sign (or not a token); the message names why."""


class Signer:
    """The identity provider's key: made on first use (about 40 ms), kept for the process."""

    def __init__(self) -> None:
        self._key: RSAKey | None = None

    @property
    def key(self) -> RSAKey:
        if self._key is None:
            self._key = RSAKey.generate_key(
                2048, parameters={"use": "sig", "alg": "RS256"}, auto_kid=True
            )
        return self._key

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.key.as_dict(private=False)]}

    def sign(self, claims: Mapping[str, Any]) -> str:
        return jwt.encode(
            {"alg": "RS256", "typ": "JWT", "kid": self.key.kid}, dict(claims), self.key
        )

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims, if this key signed it (RS256 only: no ``none``, no HMAC)."""
        public = KeySet([RSAKey.import_key(self.key.as_dict(private=False))])
        try:
            claims: dict[str, Any] = jwt.decode(token, public, algorithms=["RS256"]).claims
        except (JoseError, ValueError) as exc:
            raise BadSignature(type(exc).__name__) from exc
        return claims
