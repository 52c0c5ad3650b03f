"""The Company API over httpx: the only module that speaks HTTP.

It authenticates, paginates, carries ETags, validates every answer against the
contract's schemas (a server that answers nonsense is an error, never the
basis of a write), paces itself by the rate-limit headers, retries what is
safe to retry (429 with ``retry-after``, 5xx, 529, network failures) with
jittered exponential backoff bounded in attempts and time, and translates
every httpx and HTTP failure into ``reconciler.core.errors`` at one boundary.

Over 400 lines and one job: the Company API's HTTP boundary (auth, pagination, ETags,
validation, retries, pacing and error translation are each a few lines of the same
request path).
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import httpx
import jsonschema_rs
import yaml
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)

from reconciler import __version__
from reconciler.core.errors import ApiError, AuthError, ConflictError, TransportError
from reconciler.core.model import LiveResource, LiveState
from reconciler.net import bounded, pacing
from reconciler.net.connection import RetryPolicy, check_base_url, normalise_url, verify_for
from reconciler.net.pacing import Pacer, RateLimitOutlasted
from reconciler.providers.company.kinds import company, kind_of

API_VERSION = "2023-06-01"
# The variable Anthropic's Admin API keys are usually read from.
ADMIN_API_VARIABLE = "ANTHROPIC_ADMIN_KEY"
PAGE_SIZE = 1000
MAX_PAGES = 1_000  # 1,000,000 projects: far past any real organization, and bounded
# 429 is the pacer's (``pacing.Pacer.send``): waited out, never an attempt.
RETRYABLE_STATUSES = frozenset({500, 502, 503, 504, 529})
READ_SCOPE, WRITE_SCOPE = "organization:read", "organization:write"


class _Retryable(ApiError):
    """An answer worth another attempt; becomes a plain error when attempts run out."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        network: bool = False,
    ) -> None:
        super().__init__(message, status=status, request_id=request_id)
        self.retry_after = retry_after
        self.network = network


@dataclass
class Politeness:
    """What conditional reads saved: how many GETs were sent, and how many of them the
    API answered ``304 Not Modified`` (no body: the copy held was current)."""

    reads: int = 0
    not_modified: int = 0


def _located(address: str) -> tuple[str, str]:
    """The API path of ``address`` and the contract's schema of its answer."""
    kind, names = kind_of(address)
    return kind.api_path(names), kind.component


@cache
def _contract() -> dict[str, Any]:
    text = resources.files("reconciler").joinpath("schemas/company-api.openapi.yaml").read_text()
    # libyaml when available: the pure-Python loader takes 0.17 s over this file.
    loaded: dict[str, Any] = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return loaded


@cache
def _validator(component: str) -> Any:
    """A validator for ``#/components/schemas/<component>`` of the contract.

    jsonschema-rs, not jsonschema: every answer is checked, and a plan of 10,000
    projects checks 10,000 list items; jsonschema takes about 0.25 ms an item
    (2.7 s of CPU for such a plan), jsonschema-rs about 1 microsecond."""
    uri = "urn:reconciler:company-api"
    registry = jsonschema_rs.Registry([(uri, _contract())])
    return jsonschema_rs.validator_for(
        {"$ref": f"{uri}#/components/schemas/{component}"}, registry=registry
    )


class CompanyClient:
    """Async client of one organization; use as ``async with CompanyClient(...) as c``."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        key_source: str,
        insecure: bool = False,
        concurrency: int = 8,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        pacer: Pacer | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        where: str | None = None,
        progress: Callable[[str], None] | None = None,
        conditional: bool = False,
    ) -> None:
        """``conditional``: keep the last answer (and ETag) of each company and project
        read, and ask again with ``If-None-Match``, as a poller should; off for a plan,
        which reads each thing once."""
        check_base_url(base_url, insecure=insecure)
        self.base_url = normalise_url(base_url)
        self._where = where or self.base_url  # "URL (from --base-url)", for messages
        self._progress = progress
        self._key_source = key_source
        self._retry = retry or RetryPolicy()
        self._limit = asyncio.Semaphore(concurrency)
        self.pacer = pacer or Pacer(concurrency=concurrency, sleep=sleep, progress=progress)
        self._sleep = sleep
        self._copies: dict[str, tuple[str, dict[str, Any]]] | None = {} if conditional else None
        self.politeness = Politeness()
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers={
                "x-api-key": api_key,
                "anthropic-version": API_VERSION,
                "user-agent": f"reconciler/{__version__}",
            },
            timeout=httpx.Timeout(self._retry.timeout, connect=min(10.0, self._retry.timeout)),
            transport=transport,
            follow_redirects=False,
            verify=verify_for(self.base_url),
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        )

    async def __aenter__(self) -> CompanyClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._http.aclose()

    # -- reads ----------------------------------------------------------------------------

    async def read_live(self) -> LiveState:
        """Company, usage and every project, read concurrently (pages follow each other)."""
        company, usage, projects = await asyncio.gather(
            self.get("company"), self.usage(), self.projects()
        )
        found: dict[str, LiveResource] = {"company": company}
        for project in projects:
            etag = project.pop("etag")
            found[f"project.{project['id']}"] = LiveResource(project, etag)
        return LiveState(
            resources=found,
            context={"tokens_used": usage["tokens_used"]},
            organization=company.fields.get("id"),
        )

    async def get(self, address: str) -> LiveResource:
        path, component = _located(address)
        body, etag = await self._read(path, component)
        return LiveResource(body, etag)

    async def usage(self) -> dict[str, Any]:
        response = await self._request("GET", f"{company.PATH}/usage", scope=READ_SCOPE)
        return self._body(response, "Usage")

    async def projects(self, *, page_size: int = PAGE_SIZE) -> list[dict[str, Any]]:
        """Every project, following the cursor; a cursor that does not advance is an error."""
        found: list[dict[str, Any]] = []
        after: str | None = None
        for _ in range(MAX_PAGES):
            params: dict[str, Any] = {"limit": page_size}
            if after is not None:
                params["after_id"] = after
            page, _ = await self._read(f"{company.PATH}/projects", "ProjectPage", params)
            found.extend(page["data"])
            if not page["has_more"]:
                return found
            last = page["last_id"]
            if not page["data"] or last is None or (after is not None and last <= after):
                raise TransportError(
                    f"{self.base_url} answered GET {company.PATH}/projects, but its project "
                    "list's cursor does not advance; is --base-url the Company API?"
                )
            after = last
        raise TransportError(
            f"The project list at {self.base_url} did not end after {MAX_PAGES} pages; "
            "is --base-url the Company API?"
        )

    async def _read(
        self, path: str, component: str, params: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], str | None]:
        """One GET's validated body and ETag; a conditional client sends the ETag of its
        copy as ``If-None-Match`` and, on ``304 Not Modified``, answers with the copy."""
        url = str(httpx.URL(path, params=params))
        held = self._copies.get(url) if self._copies is not None else None
        headers = {"if-none-match": held[0]} if held else {}
        response = await self._request(
            "GET", path, scope=READ_SCOPE, params=params, headers=headers
        )
        self.politeness.reads += 1
        if held and response.status_code == 304:
            self.politeness.not_modified += 1
            return copy.deepcopy(held[1]), held[0]
        body, etag = self._body(response, component), response.headers.get("etag")
        if self._copies is not None and etag:
            self._copies[url] = (etag, copy.deepcopy(body))
        return body, etag

    # -- writes -----------------------------------------------------------------------------

    async def patch(self, address: str, fields: dict[str, Any], etag: str | None) -> LiveResource:
        """One PATCH of only ``fields``; with ``etag``, a concurrent edit fails it with 412."""
        path, component = _located(address)
        headers = {"if-match": etag} if etag else {}
        response = await self._request(
            "PATCH", path, scope=WRITE_SCOPE, json=fields, headers=headers
        )
        return LiveResource(self._body(response, component), response.headers.get("etag"))

    # -- the boundary -------------------------------------------------------------------------

    async def _request(
        self, method: str, path: str, *, scope: str, **kwargs: Any
    ) -> httpx.Response:
        retrying = AsyncRetrying(
            retry=retry_if_exception(lambda exc: isinstance(exc, _Retryable)),
            wait=self._wait,
            stop=stop_after_attempt(self._retry.attempts)
            | stop_after_delay(self._retry.total_seconds),
            reraise=True,
            sleep=self._sleep,
            before_sleep=self._tell_retry(method, path),
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._attempt(method, path, scope=scope, **kwargs)
        except _Retryable as exc:
            tries = retrying.statistics.get("attempt_number", self._retry.attempts)
            what = "the network failed" if exc.network else f"it kept answering {exc.status}"
            raise (TransportError if exc.network else ApiError)(
                f"{method} {path} did not succeed after {tries} attempts: {what} "
                f"({exc.message}). Wait a little and run again; a re-run picks up where this "
                "left off.",
                status=exc.status,
            ) from exc
        raise AssertionError("unreachable: tenacity either returns or raises")

    def _tell_retry(self, method: str, path: str) -> Callable[[RetryCallState], None]:
        """Each wait before a retry, told to the operator's terminal: a slow API shows
        signs of life instead of silence."""

        def tell(state: RetryCallState) -> None:
            if self._progress is None or state.next_action is None:
                return
            exc = state.outcome.exception() if state.outcome else None
            why = exc.message if isinstance(exc, ApiError) else "no answer"
            self._progress(
                f"{method} {path}: attempt {state.attempt_number + 1} of "
                f"{self._retry.attempts} in {state.next_action.sleep:.1f} s ({why})"
            )

        return tell

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Retryable) and exc.retry_after is not None:
            return min(exc.retry_after, self._retry.max_wait)
        backoff = wait_random_exponential(multiplier=self._retry.backoff, max=self._retry.max_wait)
        return float(backoff(state))

    async def _attempt(
        self, method: str, path: str, *, scope: str, **kwargs: Any
    ) -> httpx.Response:
        async def once() -> httpx.Response:
            try:
                response = await self._http.request(method, path, **kwargs)
                await response.aread()
            except httpx.TimeoutException as exc:
                raise _Retryable(
                    f"no answer within {self._retry.timeout:g} s", network=True
                ) from exc
            except httpx.TransportError as exc:
                raise _Retryable(_network_reason(exc, self._where), network=True) from exc
            return response

        async with self._limit:
            try:
                response = await self.pacer.send(
                    once,
                    patience=self._retry.patience,
                    discard=_discarded,
                    backoff=self._retry.backoff,
                    max_wait=self._retry.max_wait,
                )
            except RateLimitOutlasted as exc:
                raise ApiError(
                    f"{method} {path} was rate limited (429) for {exc.waited:.0f} s, past "
                    f"the {self._retry.patience:.0f} s a request waits. Wait a little and run "
                    "again; a re-run picks up where this left off.",
                    status=429,
                    request_id=exc.answer.headers.get("request-id"),
                ) from None
        asked_if_changed = "if-none-match" in response.request.headers
        if response.is_success or (response.status_code == 304 and asked_if_changed):
            return response
        raise self._error(response, method, path, scope)

    def _error(self, response: httpx.Response, method: str, path: str, scope: str) -> ApiError:
        status = response.status_code
        request_id = response.headers.get("request-id")
        message = _server_message(response)
        if status in RETRYABLE_STATUSES:
            retry_after = pacing.retry_after(response.headers)
            return _Retryable(
                f"{status}: {message}",
                status=status,
                request_id=request_id,
                retry_after=retry_after,
            )
        if status == 401:
            return AuthError(
                f"The API did not accept the key in {self._key_source} ({message}); set "
                f"{self._key_source} to a valid key with the scope {scope}."
                + self._admin_key_hint(),
                status=status,
                request_id=request_id,
            )
        if status == 403:
            said = "" if scope in message else f" ({message})"
            return AuthError(
                f"The key in {self._key_source} lacks the scope {scope}, which {method} "
                f"{path} needs{said}; use a key that has it." + self._admin_key_hint(),
                status=status,
                request_id=request_id,
            )
        if status == 412:
            return ConflictError(
                "changed since plan; run plan again", status=status, request_id=request_id
            )
        if 300 <= status < 400:
            return TransportError(
                f"{self.base_url} answered {method} {path} with a redirect to "
                f"{response.headers.get('location', '?')}; reconciler does not follow redirects: "
                "set --base-url to the API's own address.",
                status=status,
                request_id=request_id,
            )
        return ApiError(
            f"The API refused {method} {path} ({status}: {message}).",
            status=status,
            request_id=request_id,
        )

    def _admin_key_hint(self) -> str:
        """A refused key read from the Admin API's usual variable is most likely an Admin
        API key brought to the Company API: say which API this is, and where to go."""
        if self._key_source != ADMIN_API_VARIABLE:
            return ""
        return (
            f" This is the Company API; if {ADMIN_API_VARIABLE} holds an Anthropic Admin API "
            "key, write provider: anthropic-admin in the file (reconciler init --provider "
            "anthropic-admin starts one). reconciler usage reads the Company API only; for "
            "the Admin API, usage and cost are in the Console."
        )

    def _body(self, response: httpx.Response, component: str) -> dict[str, Any]:
        try:
            body = bounded.loads(response.content)
        except bounded.Unbounded as exc:
            request = response.request
            raise TransportError(
                bounded.refusal(
                    self.base_url,
                    f"{request.method} {request.url.path}",
                    str(exc),
                    response.headers.get("request-id"),
                ),
                status=response.status_code,
                request_id=response.headers.get("request-id"),
            ) from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise self._nonsense(response, "its answer is not JSON") from exc
        validator = _validator(component)
        if not validator.is_valid(body):
            error = next(iter(validator.iter_errors(body)))
            where = ".".join(str(p) for p in error.instance_path) or "the body"
            raise self._nonsense(
                response, f"its answer is not a {component} ({where}: {error.message[:120]})"
            )
        result: dict[str, Any] = body
        return result

    def _nonsense(self, response: httpx.Response, why: str) -> TransportError:
        request = response.request
        return TransportError(
            f"{self.base_url} answered {request.method} {request.url.path}, but {why}; "
            "is --base-url the Company API?",
            status=response.status_code,
            request_id=response.headers.get("request-id"),
        )


def _server_message(response: httpx.Response) -> str:
    try:
        message = response.json()["error"]["message"]
        return str(message)[:300]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return response.reason_phrase or "no message"


async def _discarded(response: httpx.Response) -> None:
    await response.aclose()


def _network_reason(exc: httpx.TransportError, base_url: str) -> str:
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect to {base_url}"
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return "the connection broke before the answer was complete"
    return f"{type(exc).__name__}"
