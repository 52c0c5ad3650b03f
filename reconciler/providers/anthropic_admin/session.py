"""The Admin API provider's ``Session``, over Anthropic's official SDK: the client, the
reads, and the one boundary every call crosses.

The SDK (``AsyncAnthropic(...).beta.organization``) is the authority on paths,
fields, headers, pagination and retries (429 with ``retry-after``, 5xx,
network failures); this module turns its objects into live resources and lets
``sdk_errors`` turn its exceptions into reconciler's errors at one boundary
(``_calling``). Creates are not idempotent, so they are sent without the SDK's
retries (``create_once``): after a failure that may have written, the resource is
looked for, and the create is sent again only when it is not there (after a 401 when
signed in by federation, at once: nothing was written, and the next attempt
exchanges a fresh access token). The session signs in with the connection's key or,
with no key, by workload identity federation (``federated``).

What each change sends is ``writes`` (and each security surface kind's module for
its own); what is read for the reports' sake is ``reports``; the security surface's
reads are ``surface.read``: each over this module's public methods.

Over 400 lines (about 560) and one job: talking to the Admin API through the SDK;
reading and writing share the client, the concurrency limit, the live index and the
error translation.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

import anthropic
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from reconciler.core.errors import ApiError, TransportError, UnsafePlanError
from reconciler.core.model import (
    Action,
    DesiredState,
    LiveResource,
    LiveState,
    RateLimitWaits,
    ResourceChange,
)
from reconciler.core.secret_sink import OperatorSecrets
from reconciler.net import bounded
from reconciler.net.connection import Connection, check_listening, verify_for
from reconciler.net.pacing import Pacer, RateLimitOutlasted
from reconciler.providers.anthropic_admin import (
    addresses,
    answers,
    reports,
    surface,
)
from reconciler.providers.anthropic_admin.addresses import (
    API_KEY,
    MEMBER,
    WORKSPACE,
)
from reconciler.providers.anthropic_admin.export import file_data
from reconciler.providers.anthropic_admin.federated import (
    RetriedExchange,
    checks_names_only,
    refusal,
    what_it_checks,
)
from reconciler.providers.anthropic_admin.kinds import BY_NAME, SURFACE, UNDER_WORKSPACE
from reconciler.providers.anthropic_admin.kinds import workspace as workspace_kind
from reconciler.providers.anthropic_admin.paced import Paced
from reconciler.providers.anthropic_admin.sdk_errors import (
    CREATED_INCOMPLETE,
    Context,
    DocumentedRetries,
    Incomplete,
    SpendLimitsNotEnabled,
    may_have_written,
    not_the_admin_api,
    translated,
)
from reconciler.providers.anthropic_admin.transport import ThroughConnection
from reconciler.providers.anthropic_admin.writes import Writes
from reconciler.providers.base import Advice
from reconciler.providers.kinds import secrets as operator_secrets

PAGE_SIZE = 1000
T = TypeVar("T")


class _Unsure(Exception):
    """A create failed in a way that may have written: look before sending it again."""


class AdminSession:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        federation = connection.federation
        # Federated: no key; the SDK exchanges the identity token for access tokens and
        # refreshes them before they expire (``federated``).
        self._exchange = RetriedExchange(federation, connection.retry) if federation else None
        retries = max(0, connection.retry.attempts - 1)
        self.pacer = Pacer(
            concurrency=connection.concurrency,
            progress=connection.progress,
            bucket=connection.bucket,
        )
        self._paced = Paced(self.pacer, connection.retry)
        self._client = anthropic.AsyncAnthropic(
            api_key=None if federation else connection.api_key,
            credentials=self._exchange,
            base_url=connection.base_url,
            max_retries=retries,
            timeout=connection.retry.timeout,
            middleware=[
                answers.JsonOnly(),
                DocumentedRetries(retries, renew=federation is not None),
                self._paced,
            ],
            # The key must never follow a redirect to another host.
            http_client=anthropic.DefaultAsyncHttpxClient(
                follow_redirects=False,
                verify=verify_for(connection.base_url),
                transport=ThroughConnection(connection.transport) if connection.transport else None,
            ),
        )
        self.org = self._client.beta.organization
        self._limit = asyncio.Semaphore(connection.concurrency)
        self._index: LiveState | None = None
        self._index_lock = asyncio.Lock()
        self._writer = Writes(self)
        # The security surface's kinds an apply writes (``ready``): what the ids read.
        self._touched: frozenset[str] | None = None
        self._retries = _RetryNotes(connection.progress)

    @property
    def waits(self) -> RateLimitWaits:
        return self.pacer.waits

    async def __aenter__(self) -> AdminSession:
        await check_listening(self._connection)
        if self._connection.progress is not None:
            _SDK_LOG.addHandler(self._retries)
            _SDK_LOG.setLevel(logging.INFO)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        _SDK_LOG.removeHandler(self._retries)
        await self._client.close()

    # -- reads ------------------------------------------------------------------------------

    async def read_live(self, desired: DesiredState | None = None) -> LiveState:
        """The organization, users, invites, workspaces (archived ones too), API keys, the
        rate-limit table and spend limits concurrently, then the members and rate-limit
        overrides of every active workspace concurrently; every list to its end. The
        security surface (``surface.read``): the sections ``desired`` keeps, or all."""
        kinds = surface.kept([*desired.resources, *desired.prune]) if desired else None
        return await self._read_kinds(kinds)

    async def _read_kinds(self, kinds: frozenset[str] | None) -> LiveState:
        """What ``read_live`` reads, with the security surface's ``kinds`` (None: all)."""
        reads: list[Any] = await asyncio.gather(
            self._all("list users", self.org.users.list),
            self._all("list invites", self.org.invites.list),
            self._all(
                "list workspaces",
                self.org.workspaces.list,
                include_archived=True,
                include_default=True,
            ),
            # Only the Default workspace is missing from this list: that is how it is told.
            self._all("list workspaces", self.org.workspaces.list),
            self._all("list API keys", self.org.api_keys.list),
            self._rate_limit_table(),
            self._spend_limits(),
            self._read("read the organization", self.org.retrieve),
            self._signed_in_under(),
            surface.read(
                self,
                oauth=self._connection.federation is not None,
                kinds=kinds,
            ),
        )
        (users, invites, workspaces, others, keys) = reads[:5]
        (table, unreadable), spend, organization, rule, guarded = reads[5:]
        found, invited = answers.people(users, invites)
        emails = {u.id: u.email.lower() for u in users}
        spaces = answers.Workspaces.of(workspaces, listed_without_default=others)
        active, default = spaces.active, spaces.default
        for space in active:
            found[addresses.make(WORKSPACE, space.name)] = LiveResource(
                answers.workspace_fields(space), None, space.id
            )
        listers: list[tuple[str, Callable[..., Any]]] = [
            ("members", self.org.workspaces.members.list)
        ]
        if table is not None:  # overrides of a table that could not be read: none to read
            listers.append(("rate limits", self.org.workspaces.rate_limits.list))
        lists = await asyncio.gather(
            *(
                self._all(f"list the {what} of workspace {w.name!r}", lister, w.id)
                if what != "members" or w is not default
                else _nothing()
                for w in active
                for what, lister in listers
            )
        )
        groups = answers.rate_limit_groups(table or [])
        per = len(listers)
        for index, workspace in enumerate(active):
            members = lists[per * index]
            overrides = lists[per * index + 1] if per > 1 else []
            for member in members:
                if member.user_id in emails:
                    address = addresses.make(MEMBER, workspace.name, emails[member.user_id])
                    found[address] = LiveResource(
                        {"workspace_role": member.workspace_role}, None, member.user_id
                    )
            found.update(answers.rate_limits(workspace.name, groups, overrides))
        found.update(answers.spend_limits(spend or [], {w.id: w.name for w in active}))
        for key in keys:
            found[addresses.make(API_KEY, key.id)] = LiveResource(
                {"name": key.name, "status": key.status}, None, key.id
            )
        named = {w.id: w.name for w in active}
        found.update(surface.live_resources(guarded, named))
        return LiveState(
            found,
            context={
                "org_roles": {u.email.lower(): u.role for u in users},
                "invited": invited,
                "archived_workspaces": spaces.archived,
                "archived_on": spaces.archived_on,
                "default_workspace": default.id if default else None,
                "sign_in_warnings": [w for w in [checks_names_only(rule)] if w] if rule else [],
                "rate_limit_groups": groups,
                "rate_limits_unreadable": unreadable,
                "spend_limits_readable": spend is not None,
                "currency": next((limit.currency for limit in spend or []), None),
                "oauth": self._connection.federation is not None,
                "unoffered": surface.unoffered(guarded),
            },
            organization=organization.id,
        )

    async def _signed_in_under(self) -> Any | None:
        """The federation rule this session signed in under, to say when it checks the
        repository by name only; None with a key, or when the rule cannot be read (an
        answer about the rule, never a reason to stop a plan)."""
        federation = self._connection.federation
        if federation is None:
            return None
        try:
            rule = await self._read(
                f"read federation rule {federation.rule_id}",
                lambda: self.org.federation.rules.retrieve(federation.rule_id),
            )
        except ApiError:
            return None
        if self._connection.progress is not None:
            self._connection.progress(what_it_checks(rule))
        return rule

    async def _rate_limit_table(self) -> tuple[list[Any] | None, str | None]:
        """The organization's rate-limit table, or None and why when the API refuses it
        (an organization or key it is not offered to): a file that does not write rate
        limits must still plan, and one that does is told why it cannot."""
        try:
            return await self._all("list the rate limits", self.org.rate_limits.list), None
        except ApiError as exc:
            if (
                isinstance(exc, TransportError)
                or exc.status in (401, 429)
                or (exc.status or 0) >= 500
            ):
                raise
            return None, exc.message

    async def _spend_limits(self) -> list[Any] | None:
        """The spend limits, or None when the organization has no Admin API access to
        them (an early-access preview): then the rest of the organization is still read."""
        try:
            # betas=[]: the SDK sends the list's required beta header only when given.
            return await self._all("list spend limits", self.org.spend_limits.list, betas=[])
        except SpendLimitsNotEnabled:
            return None

    async def advise(self, changes: Sequence[ResourceChange]) -> Advice:
        """This month's money and use beside a plan's limit changes (``reports``)."""
        return await reports.advise(self, changes)

    async def spend_limits(self) -> list[Any] | None:
        """The spend limits, or None without Admin API access to them."""
        return await self._spend_limits()

    async def listed(
        self, what: str, lister: Callable[..., Any], *, page_size: int = PAGE_SIZE, **params: Any
    ) -> list[Any]:
        """Every item of one of the SDK's lists (``page_size`` at a time: the webhooks' list
        takes at most 100), each checked against its type."""
        return await self._all(what, lister, page_size=page_size, **params)

    async def report(
        self, what: str, lister: Callable[..., Any], **params: Any
    ) -> tuple[list[Any], datetime | None]:
        """Every row of a report (cost, usage), each checked against its type, and
        the moment the first page says the data is as of."""

        async def collect() -> tuple[list[Any], datetime | None]:
            first = await lister(limit=PAGE_SIZE, **params)
            rows = [answers.checked(row) async for row in first]
            return rows, first.data_refreshed_at

        return await self._calling(what, collect())

    async def current(self, address: str) -> LiveResource | None:
        live = await self._read_kinds(surface.kept([address]))
        return live.resources.get(self._as_live(address, live))

    async def read_back(self, chosen: Sequence[str]) -> Mapping[str, Mapping[str, Any] | None]:
        live = await self._read_kinds(surface.kept(chosen))
        found = {a: live.resources.get(self._as_live(a, live)) for a in chosen}
        return {a: (r.fields if r else None) for a, r in found.items()}

    def _as_live(self, address: str, live: LiveState) -> str:
        return workspace_kind.present(address, self._writer.ids, live, UNDER_WORKSPACE)

    async def export(self) -> dict[str, Any]:
        live = await self.read_live()
        return file_data(live)

    # -- what the security surface's calls need (``surface_calls.Calls``) -------------------

    async def call(self, what: str, call: Awaitable[Any], *, missing_ok: bool = False) -> Any:
        return await self._calling(what, call, missing_ok=missing_ok)

    async def create_once(
        self, what: str, send: Callable[[anthropic.AsyncAnthropic], Awaitable[Any]], address: str
    ) -> str | None:
        return await self._create(what, send, address)

    async def index(self) -> LiveState:
        return await self._live()

    def forget_index(self) -> None:
        """What was read for ids is out of date (a create a later write may name)."""
        self._index = None

    async def read_one(self, what: str, reader: Callable[[], Awaitable[T]]) -> T:
        return await self._read(what, reader)

    @property
    def attempts(self) -> int:
        return self._connection.retry.attempts

    @property
    def secrets(self) -> OperatorSecrets:
        return self._connection.secrets

    async def ready(self, changes: Sequence[ResourceChange]) -> None:
        """Refuse, before any write, a create whose secret the API answers once with
        nowhere for it to go, or an operator's value missing or bound to another host
        than the write's; and note which kinds the writes need ids of."""
        self._touched = surface.kept(c.address for c in changes)
        live = (await self._live()).resources
        sink = self._connection.secrets.sink
        for change in changes:
            kind, names = addresses.parse(change.address)
            spec = BY_NAME.get(kind)
            if spec is not None and spec.secret is not None:
                found = live.get(change.address)
                operator_secrets.check(
                    spec, names[0], change, found.fields if found else None, self.secrets
                )
        for answering in (k for k in SURFACE if k.answers_once):
            once = [
                c.address
                for c in changes
                if c.action is Action.CREATE
                and addresses.parse(c.address)[0] == answering.spec.name
            ]
            if once and sink is None:
                flags = " or ".join(
                    f"{f.flag} {f.metavar or 'PATH'}"
                    for f in sorted(answering.flags, key=lambda f: f.role, reverse=True)
                )
                raise UnsafePlanError(
                    f"The plan creates {', '.join(once)}, and a {answering.spec.noun}'s "
                    f"{answering.answers_once} is answered only once: say where it goes with "
                    f"{flags}; nothing was written."
                )
            if once and sink is not None:
                sink.check([addresses.parse(a)[1][0] for a in once])

    # -- writes (``writes``) ------------------------------------------------------------------

    async def write(self, change: ResourceChange) -> str | None:
        await self._writer.write(change)
        return None

    # -- ids ----------------------------------------------------------------------------------

    async def _live(self) -> LiveState:
        """Live state read once per session, for the ids the writes need."""
        async with self._index_lock:
            if self._index is None:
                self._index = await self._read_kinds(self._touched)
            return self._index

    # -- the boundary ---------------------------------------------------------------------------

    async def _create(
        self,
        what: str,
        send: Callable[[anthropic.AsyncAnthropic], Awaitable[Any]],
        address: str,
    ) -> str | None:
        """Send a create without the SDK's retries; the new resource's id. When it fails
        in a way that may have written (5xx, a lost answer), look: if the resource
        exists now, it was ours; if not, send it again, within the retry bounds."""
        # Without the SDK's retries (and without renewing on a 401: see below).
        once = self._client.with_options(
            max_retries=0, middleware=[answers.JsonOnly(), self._paced]
        )
        policy = self._connection.retry
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(_Unsure),
            stop=stop_after_attempt(policy.attempts),
            wait=wait_random_exponential(multiplier=policy.backoff, max=policy.max_wait),
            reraise=True,
        )
        last: ApiError | None = None
        try:
            async for attempt in retrying:
                with attempt:
                    try:
                        created = await self._calling(what, send(once), retry_hint=False)
                        return getattr(created, "id", None)
                    except ApiError as exc:
                        if exc.code == CREATED_INCOMPLETE and "workspace_id" in exc.details:
                            raise Incomplete(str(exc.details["workspace_id"])) from exc
                        if exc.status == 401 and self._renew_access_token():
                            last = exc  # refused before anything was written: send again
                            raise _Unsure() from exc
                        if not may_have_written(exc):
                            raise  # a 429 among them: waited out already, past patience
                        last = exc
                        found = await self.current(address)
                        if found is not None:
                            return found.id
                        raise _Unsure() from exc
        except _Unsure as exc:
            assert last is not None
            raise type(last)(
                f"{what} did not succeed after {policy.attempts} attempts ({last.message}). "
                "Wait a little and run again; a re-run picks up where this left off.",
                status=last.status,
            ) from exc
        return None

    def _renew_access_token(self) -> bool:
        """After a 401 on a create (sent without the SDK's retries): whether another
        attempt signs in afresh. The SDK's auth flow has already dropped the refused
        access token from its cache, so the next request exchanges again; with a key
        there is nothing to renew."""
        return self._exchange is not None

    async def _all(
        self,
        what: str,
        lister: Callable[..., Any],
        *args: Any,
        page_size: int = PAGE_SIZE,
        **params: Any,
    ) -> list[Any]:
        async def collect() -> list[Any]:
            return [
                answers.checked(item) async for item in lister(*args, limit=page_size, **params)
            ]

        return await self._calling(what, collect())

    async def _read(self, what: str, reader: Callable[[], Awaitable[T]]) -> T:
        async def read() -> T:
            return answers.checked(await reader())

        return await self._calling(what, read())

    async def _calling(
        self,
        what: str,
        call: Awaitable[T],
        *,
        missing_ok: bool = False,
        retry_hint: bool = True,
    ) -> T:
        """The one place SDK exceptions become reconciler errors, each one sentence
        saying what happened and what to do; the key never appears in them."""
        attempts = self._connection.retry.attempts if retry_hint else 1
        try:
            async with self._limit:
                return await call
        except asyncio.CancelledError:
            # Cancelled while waiting for its turn (a sibling read failed): the call was
            # never started, and is closed so that it is not reported as never awaited.
            if inspect.iscoroutine(call):
                call.close()
            raise
        except anthropic.NotFoundError as exc:
            if missing_ok:
                return None  # type: ignore[return-value]  # a removal of what is gone
            raise translated(exc, self._context(what, attempts)) from exc
        except anthropic.APIError as exc:
            raise translated(exc, self._context(what, attempts)) from exc
        except RateLimitOutlasted as exc:
            patience = self._connection.retry.patience
            raise ApiError(
                f"The API rate limited reconciler (429) when asked to {what}, for "
                f"{exc.waited:.0f} s, past the {patience:.0f} s a request waits. Wait a little "
                "and run again; a re-run picks up where this left off.",
                status=429,
                request_id=exc.answer.headers.get("request-id"),
            ) from None
        except answers.NotAnAnswer as exc:
            raise not_the_admin_api(self._context(what, attempts), str(exc)) from None
        except answers.MalformedAnswer as exc:
            sentence = bounded.refusal(
                self._connection.where, f"when asked to {what}", exc.why, exc.request_id
            )
            raise TransportError(sentence, request_id=exc.request_id) from None
        except anthropic.AnthropicError as exc:  # signing in: the token exchange
            federation = self._connection.federation
            if federation is None:
                raise
            claims = self._exchange.claims if self._exchange else {}
            raise refusal(exc, federation, where=self._connection.where, claims=claims) from None

    def _context(self, what: str, attempts: int) -> Context:
        connection = self._connection
        return Context(
            what,
            connection.where,
            connection.key_source,
            connection.retry.timeout,
            attempts,
            identity=connection.federation.identity if connection.federation else None,
        )


async def _nothing() -> list[Any]:
    """The members of the Default workspace: not read (it has none the API manages)."""
    return []


# The SDK retries on its own and says so only in its log (the "anthropic" logger its
# documentation names, ANTHROPIC_LOG's): its waits reach the operator's terminal
# through it.
_SDK_LOG = logging.getLogger("anthropic")


class _RetryNotes(logging.Handler):
    """The SDK's first "Retrying request to URL in N seconds" of a session as a progress
    line: a sign of life, not a line a retry (a rate limit is the pacer's to say)."""

    def __init__(self, progress: Callable[[str], None] | None) -> None:
        super().__init__(logging.INFO)
        self._progress = progress
        self._said = False

    def emit(self, record: logging.LogRecord) -> None:
        if self._progress and not self._said and record.getMessage().startswith("Retrying"):
            url, seconds = record.args if isinstance(record.args, tuple) else ("?", 0.0)
            wait = seconds if isinstance(seconds, int | float) else 0.0
            self._said = True
            self._progress(
                f"{url}: no usable answer (a server error or a lost connection); trying again "
                f"in {wait:.1f} s, and again as needed without saying so"
            )
