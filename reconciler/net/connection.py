"""Where an API is and how to reach it, for every provider: which base URL and
which key variable the operator allows (a desired-state file may only ask), the
key (read from the environment, kept out of every ``repr``), the refusal to send
a key in clear text off this machine, retry bounds and TLS.

Who decides: the operator (flags and environment) names the host and the key
variable; the default API and loopback need no naming. A file's ``api:`` section
is a request, granted only when it stays inside what the operator allowed, and
checked before any connection is opened or any key is read.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import re
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from urllib.parse import urlsplit, urlunsplit

import httpx

from reconciler.core.errors import CredentialsError, TransportError
from reconciler.core.escape import visible
from reconciler.core.model import DEFAULT_PROVIDER
from reconciler.core.secret_sink import OperatorSecrets
from reconciler.net.federation import Federation
from reconciler.net.pacing import Bucket

DEFAULT_BASE_URL = "https://api.anthropic.com"
BASE_URL_VARIABLE = "RECONCILER_BASE_URL"
KEY_VARIABLES_VARIABLE = "RECONCILER_KEY_VARIABLES"
RATE_LIMIT_WAIT_VARIABLE = "RECONCILER_RATE_LIMIT_WAIT"
# The key variables a file may name without the operator listing them: Anthropic's
# own naming (``ORG_A_ADMIN_KEY``, ``ANTHROPIC_...KEY``, ``CLAUDE_...KEY``), never a
# CI's or a cloud's secret (``GITHUB_TOKEN``, ``AWS_SECRET_ACCESS_KEY``).
FILE_KEY_VARIABLE = re.compile(r"[A-Z][A-Z0-9_]*_ADMIN_KEY|(?:ANTHROPIC|CLAUDE)_[A-Z0-9_]*KEY")
_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: attempts and total seconds bound every request's retries; a
    rate limit's 429s are not attempts, and are waited out for up to ``patience``
    seconds a request (``pacing``)."""

    attempts: int = 6
    total_seconds: float = 60.0
    backoff: float = 0.5
    max_wait: float = 10.0
    timeout: float = 15.0
    patience: float = 120.0

    @classmethod
    def of_operator(cls, timeout: float) -> RetryPolicy:
        """The operator's bounds: ``--timeout`` for one answer, and the seconds of 429s
        one request may wait out (``RECONCILER_RATE_LIMIT_WAIT``, else the default)."""
        given = os.environ.get(RATE_LIMIT_WAIT_VARIABLE, "").strip()
        if not given:
            return cls(timeout=timeout)
        try:
            patience = float(given)
        except ValueError:
            patience = -1.0
        if not 0 <= patience <= 3600:
            raise CredentialsError(
                f"{RATE_LIMIT_WAIT_VARIABLE} is {visible(given)!r}, not a number of seconds "
                f"from 0 to 3600; set it to one (the default is {cls.patience:g}), or unset it."
            )
        return cls(timeout=timeout, patience=patience)


@dataclass(frozen=True)
class Connection:
    """One provider's API, reachable: where, with which key (kept out of ``repr``) or
    which federated identity (``api_key`` then empty), how many writes at once and how
    hard to retry."""

    base_url: str
    api_key: str = field(repr=False)
    key_source: str
    insecure: bool = False
    concurrency: int = 8
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    transport: httpx.AsyncBaseTransport | None = field(default=None, repr=False)
    provider: str = DEFAULT_PROVIDER
    base_url_origin: str = "the default"
    # Told of each wait before a retry ("attempt 2 of 6 in 1.2 s: 503"), on a terminal.
    progress: Callable[[str], None] | None = field(default=None, repr=False, compare=False)
    federation: Federation | None = None
    # Where a secret answered once goes, and where write-only values come from (bound to
    # hosts): apply's flags, as the providers declare them; nothing for other commands.
    secrets: OperatorSecrets = field(default_factory=OperatorSecrets, repr=False)
    # What the sessions of this connection learn of the API's rate limit (``pacing``).
    bucket: Bucket = field(default_factory=Bucket, repr=False, compare=False)

    @property
    def where(self) -> str:
        """The base URL and where it came from, for messages about reaching it."""
        return f"{self.base_url} (from {self.base_url_origin})"

    @property
    def api(self) -> dict[str, str]:
        """What every plan and report names: the API, and the variable the key came from
        or the federated identity (rule, organization, service account; never a token)."""
        if self.federation is not None:
            return {"base_url": self.base_url, **self.federation.api}
        return {"base_url": self.base_url, "key_variable": self.key_source}


@dataclass(frozen=True)
class Endpoint:
    """The base URL to use and where it came from (for messages: "from --base-url")."""

    url: str
    origin: str


async def check_listening(connection: Connection) -> None:
    """Fail at once, with the likely reason, when nothing listens at a loopback API: a
    refused connection to this machine is a sandbox that is not running or a wrong
    port, which no retry mends. Other hosts, and injected transports, are left to
    the clients' own retries."""
    parts = urlsplit(connection.base_url)
    host = parts.hostname or ""
    if connection.transport is not None or not is_loopback(host):
        return
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port), timeout=connection.retry.timeout
        )
    except ConnectionRefusedError as exc:
        raise TransportError(
            f"Nothing is listening at {connection.where}: is the sandbox running? Start "
            "one with 'reconciler sandbox' (it prints the URL to use), or correct the port."
        ) from exc
    except (OSError, TimeoutError):
        return
    writer.close()
    await writer.wait_closed()


def normalise_url(url: str) -> str:
    """One spelling per URL: scheme and host in lower case, no trailing slash, so
    ``HTTPS://API.example.com/`` is compared (and verified) as ``https://api.example.com``."""
    parts = urlsplit(url.strip())
    netloc = parts.netloc
    if parts.hostname:
        host = parts.hostname
        shown = f"[{host}]" if ":" in host else host
        netloc = shown + (f":{parts.port}" if _port(url) else "")
    return urlunsplit((parts.scheme.lower(), netloc, parts.path.rstrip("/"), parts.query, ""))


def _port(url: str) -> int | None:
    try:
        return urlsplit(url.strip()).port
    except ValueError as exc:
        raise CredentialsError(
            f"The base URL {url!r} has an invalid port; set --base-url to a URL like "
            "https://api.anthropic.com."
        ) from exc


def endpoint_for(flag: str | None, from_file: str | None, *, source: str = "the file") -> Endpoint:
    """The operator's URL (``--base-url``, else ``RECONCILER_BASE_URL``), else the default;
    a file (or saved plan) may only ask for one of those, or it is refused here, before
    anything is sent. Loopback is no exception: on a shared or self-hosted runner any
    local process can listen on a port, so the key and the identity token go there only
    when the operator names it."""
    variable = os.environ.get(BASE_URL_VARIABLE) or None
    operator = (
        Endpoint(normalise_url(flag), "--base-url")
        if flag
        else Endpoint(normalise_url(variable), BASE_URL_VARIABLE)
        if variable
        else None
    )
    if from_file:
        asked = normalise_url(from_file)
        allowed = {normalise_url(DEFAULT_BASE_URL)} | ({operator.url} if operator else set())
        if asked not in allowed:
            local = " (loopback too: any process on this machine can listen there)"
            host = urlsplit(asked).hostname or ""  # pragma: no mutate: no host is not loopback
            raise CredentialsError(
                f"{source} asks for the API at {visible(asked)} (api.base_url), a host the "
                f"operator did not name{local if is_loopback(host) else ''}; nothing was sent. "
                f"If that host is meant, pass --base-url {visible(asked)} or set "
                f"{BASE_URL_VARIABLE} to it."
            )
    return operator or Endpoint(normalise_url(DEFAULT_BASE_URL), "the default")


def key_variable_for(
    operator: str | None, from_file: str | None, *, defaults: tuple[str, ...], source: str
) -> tuple[str, ...]:
    """The variables to read the key from, in order: the operator's ``--api-key-env``,
    else the file's ``api.api_key_env`` when the operator allows it, else the
    provider's defaults. A file may name a default, a variable the operator listed in
    ``RECONCILER_KEY_VARIABLES``, or one in Anthropic's naming (``*_ADMIN_KEY``,
    ``ANTHROPIC_*KEY``, ``CLAUDE_*KEY``); any other (``AWS_SECRET_ACCESS_KEY``,
    ``GITHUB_TOKEN``) is refused before it is read."""
    if operator:
        if not _VARIABLE_NAME.fullmatch(operator):
            raise CredentialsError(
                f"--api-key-env {operator!r} is not a variable name; name the variable "
                "holding the key, not the key."
            )
        return (operator,)
    if not from_file:
        return defaults
    listed = {n for n in re.split(r"[\s,]+", os.environ.get(KEY_VARIABLES_VARIABLE, "")) if n}
    if from_file in defaults or from_file in listed or FILE_KEY_VARIABLE.fullmatch(from_file):
        return (from_file,)
    raise CredentialsError(
        f"{source} asks for the key from {from_file} (api.api_key_env), which is not a key "
        "variable the operator allowed; nothing was read or sent. Name it in "
        f"{KEY_VARIABLES_VARIABLE} or pass --api-key-env {from_file} if it is meant, or "
        "rename it to end in _ADMIN_KEY."
    )


def key_for(names: tuple[str, ...], *, scope: str, from_file: bool = False) -> tuple[str, str]:
    """The key and the name of the variable it came from; never a literal. A value that
    cannot be a key (a line break inside, text that is not ASCII) is refused at once:
    no API would accept it, so retrying could only repeat the failure."""
    for name in names:
        key = os.environ.get(name, "").strip()
        if key:
            if not (key.isascii() and key.isprintable()):
                raise CredentialsError(
                    f"The variable {name} does not hold a key (it contains a line break, a "
                    "control character or non-ASCII text); set it to the key alone."
                )
            return key, name
    wanted = " (or ".join(names) + (")" if len(names) > 1 else "")
    named = ", the variable the file's api.api_key_env names," if from_file else ""
    raise CredentialsError(f"No API key: set {wanted}{named} to a key with the scope {scope}.")


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        address = host.strip("[]")  # pragma: no mutate: no address ends in X
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def check_base_url(base_url: str, *, insecure: bool, carrying: str = "the API key") -> None:
    """Refuse, before any byte is sent, to send a key (or a token) in clear text off this
    machine."""
    parts = urlsplit(normalise_url(base_url))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CredentialsError(
            f"The base URL {base_url!r} is not an http(s) URL; set --base-url to one, "
            "like https://api.anthropic.com."
        )
    if parts.scheme == "http" and not is_loopback(parts.hostname) and not insecure:
        raise CredentialsError(
            f"Refusing to send {carrying} over plain http:// to {parts.hostname}; use https://"
            + (", or pass --insecure if you really mean it." if carrying == "the API key" else ".")
        )


def verify_for(base_url: str) -> ssl.SSLContext | bool:
    """TLS verification for ``base_url``: always on for https (whatever the spelling of
    the scheme), and nothing to verify for plain http (loopback, or --insecure)."""
    return tls_context() if urlsplit(base_url).scheme.lower() == "https" else False


@cache
def tls_context() -> ssl.SSLContext:
    """One verifying TLS context per process: building one loads the CA bundle (about
    30 ms), and a plan followed by an apply would otherwise pay it per client."""
    return httpx.create_ssl_context()
