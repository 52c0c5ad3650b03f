"""Where an API is and how to reach it, for every provider: the base URL and its
precedence, the key (read from the environment, kept out of every ``repr``),
the refusal to send a key in clear text off this machine, retry bounds and TLS."""

from __future__ import annotations

import ipaddress
import os
import ssl
from dataclasses import dataclass, field
from functools import cache
from urllib.parse import urlsplit

import httpx

from reconciler.errors import CredentialsError

DEFAULT_BASE_URL = "https://api.anthropic.com"
BASE_URL_VARIABLE = "RECONCILER_BASE_URL"


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: attempts and total seconds bound every request's retries."""

    attempts: int = 6
    total_seconds: float = 60.0
    backoff: float = 0.5
    max_wait: float = 10.0
    timeout: float = 15.0


@dataclass(frozen=True)
class Connection:
    """One provider's API, reachable: where, with which key (kept out of ``repr``),
    how many writes at once and how hard to retry."""

    base_url: str
    api_key: str = field(repr=False)
    key_source: str
    insecure: bool = False
    concurrency: int = 8
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    transport: httpx.AsyncBaseTransport | None = field(default=None, repr=False)
    provider: str = "company"


def base_url_for(flag: str | None, from_file: str | None) -> str:
    """``--base-url``, else ``RECONCILER_BASE_URL``, else the file's ``api.base_url``."""
    return flag or os.environ.get(BASE_URL_VARIABLE) or from_file or DEFAULT_BASE_URL


def key_for(api_key_env: str | None, *, variables: tuple[str, ...], scope: str) -> tuple[str, str]:
    """The key and the name of the variable it came from; never a literal."""
    names = (api_key_env,) if api_key_env else variables
    for name in names:
        key = os.environ.get(name, "").strip()
        if key:
            return key, name
    wanted = " (or ".join(names) + (")" if len(names) > 1 else "")
    raise CredentialsError(f"No API key: set {wanted} to a key with the scope {scope}.")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_base_url(base_url: str, *, insecure: bool) -> None:
    """Refuse, before any byte is sent, to send a key in clear text off this machine."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CredentialsError(
            f"The base URL {base_url!r} is not an http(s) URL; set --base-url to one, "
            "like https://api.anthropic.com."
        )
    if parts.scheme == "http" and not is_loopback(parts.hostname) and not insecure:
        raise CredentialsError(
            f"Refusing to send the API key over plain http:// to {parts.hostname}; use https://, "
            "or pass --insecure if you really mean it."
        )


@cache
def tls_context() -> ssl.SSLContext:
    """One verifying TLS context per process: building one loads the CA bundle (about
    30 ms), and a plan followed by an apply would otherwise pay it per client."""
    return httpx.create_ssl_context()
