"""The Admin API provider's ``Session``, over Anthropic's official SDK.

The SDK (``AsyncAnthropic(...).beta.organization``) is the authority on paths,
fields, headers, pagination and retries (429 with ``retry-after``, 5xx,
network failures); this module turns its objects into live resources, plan
changes into its calls, and lets ``sdk_errors`` turn its exceptions into
reconciler's errors at one boundary (``_calling``). Creates are not idempotent,
so they are sent without the SDK's retries: after a failure that may have
written, the resource is looked for, and the create is sent again only when it
is not there.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

import anthropic
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from reconciler.connection import Connection, check_listening, verify_for
from reconciler.errors import ApiError
from reconciler.model import LiveResource, LiveState, ResourceChange
from reconciler.providers.anthropic_admin import addresses
from reconciler.providers.anthropic_admin.addresses import API_KEY, MEMBER, USER, WORKSPACE
from reconciler.providers.anthropic_admin.export import file_data
from reconciler.providers.anthropic_admin.sdk_errors import Context, may_have_written, translated

PAGE_SIZE = 1000
T = TypeVar("T")


class _Unsure(Exception):
    """A create failed in a way that may have written: look before sending it again."""


class AdminSession:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._client = anthropic.AsyncAnthropic(
            api_key=connection.api_key,
            base_url=connection.base_url,
            max_retries=max(0, connection.retry.attempts - 1),
            timeout=connection.retry.timeout,
            # The key must never follow a redirect to another host.
            http_client=anthropic.DefaultAsyncHttpxClient(
                follow_redirects=False,
                verify=verify_for(connection.base_url),
            ),
            _strict_response_validation=True,
        )
        self.org = self._client.beta.organization
        self._limit = asyncio.Semaphore(connection.concurrency)
        self._index: LiveState | None = None
        self._index_lock = asyncio.Lock()
        self._created: dict[str, str] = {}  # workspace name -> id, made by this session
        self._retries = _RetryNotes(connection.progress)

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

    async def read_live(self) -> LiveState:
        """Users, invites, workspaces (archived ones too) and API keys concurrently, then
        the members of every active workspace concurrently; every list to its end."""
        users, invites, workspaces, keys = await asyncio.gather(
            self._all("list users", self.org.users.list),
            self._all("list invites", self.org.invites.list),
            self._all("list workspaces", self.org.workspaces.list, include_archived=True),
            self._all("list API keys", self.org.api_keys.list),
        )
        found: dict[str, LiveResource] = {}
        emails = {u.id: u.email.lower() for u in users}
        org_roles = {u.email.lower(): u.role for u in users}
        for user in users:
            found[addresses.make(USER, user.email.lower())] = LiveResource(
                {"role": user.role, "status": "member"}, None, user.id
            )
        invited = set()
        for invite in invites:
            address = addresses.make(USER, invite.email.lower())
            if invite.status == "pending" and address not in found:
                invited.add(invite.email.lower())
                found[address] = LiveResource(
                    {"role": invite.role, "status": "invited"}, None, invite.id
                )
        active = [w for w in workspaces if w.archived_at is None]
        archived = {w.name: w.id for w in workspaces if w.archived_at is not None}
        for workspace in active:
            found[addresses.make(WORKSPACE, workspace.name)] = LiveResource(
                _workspace_fields(workspace), None, workspace.id
            )
        member_lists = await asyncio.gather(
            *(
                self._all(
                    f"list the members of workspace {w.name!r}",
                    self.org.workspaces.members.list,
                    w.id,
                )
                for w in active
            )
        )
        for workspace, members in zip(active, member_lists, strict=True):
            for member in members:
                if member.user_id in emails:
                    address = addresses.make(MEMBER, workspace.name, emails[member.user_id])
                    found[address] = LiveResource(
                        {"workspace_role": member.workspace_role}, None, member.user_id
                    )
        for key in keys:
            found[addresses.make(API_KEY, key.id)] = LiveResource(
                {"name": key.name, "status": key.status}, None, key.id
            )
        return LiveState(
            found,
            context={
                "org_roles": org_roles,
                "invited": frozenset(invited),
                "archived_workspaces": archived,
            },
        )

    async def current(self, address: str) -> LiveResource | None:
        return (await self.read_live()).resources.get(address)

    async def read_back(self, chosen: Sequence[str]) -> Mapping[str, Mapping[str, Any] | None]:
        live = await self.read_live()
        return {a: (live.resources[a].fields if a in live.resources else None) for a in chosen}

    async def export(self) -> dict[str, Any]:
        return file_data(await self.read_live())

    # -- writes -----------------------------------------------------------------------------

    async def write(self, change: ResourceChange) -> str | None:
        kind, names = addresses.parse(change.address)
        action = str(change.action)
        write = getattr(self, f"_{action}_{kind}", None)
        if write is None:
            raise ApiError(f"{change.address}: the Admin API cannot {action} a {kind}.")
        await write(change, *names)
        return None

    async def _create_workspace(self, change: ResourceChange, name: str) -> None:
        after = change.after
        residency = addresses.residency(after)
        body: dict[str, Any] = {"name": name}
        if residency:
            body["data_residency"] = residency
        if "tags" in after:
            body["tags"] = after["tags"]
        created = await self._create(
            f"create workspace {name!r}",
            lambda client: client.beta.organization.workspaces.create(**body),
            change.address,
        )
        if created is not None:
            self._created[name] = created

    async def _update_workspace(self, change: ResourceChange, name: str) -> None:
        body: dict[str, Any] = {}
        residency = addresses.residency(change.after)
        if residency:
            body["data_residency"] = residency
        if "tags" in change.changes:
            before, after = change.changes["tags"].before or {}, change.changes["tags"].after
            body["tags"] = {**{k: None for k in before if k not in after}, **after}
        workspace_id = await self._workspace_id(name)
        await self._calling(
            f"update workspace {name!r}", self.org.workspaces.update(workspace_id, **body)
        )

    async def _archive_workspace(self, change: ResourceChange, name: str) -> None:
        workspace_id = await self._workspace_id(name)
        await self._calling(
            f"archive workspace {name!r}", self.org.workspaces.archive(workspace_id)
        )

    async def _create_user(self, change: ResourceChange, email: str) -> None:
        await self._create(
            f"invite {email}",
            lambda client: client.beta.organization.invites.create(
                email=email, role=change.after["role"]
            ),
            change.address,
        )

    async def _update_user(self, change: ResourceChange, email: str) -> None:
        user_id = await self._id(change.address, status="member")
        await self._calling(
            f"change the role of {email}",
            self.org.users.update(user_id, role=change.after["role"]),
        )

    async def _replace_user(self, change: ResourceChange, email: str) -> None:
        """A pending invite with another role: delete it, invite again."""
        await self._delete_user(change, email, status="invited")
        self._index = None
        await self._create_user(change, email)

    async def _delete_user(
        self, change: ResourceChange, email: str, *, status: str | None = None
    ) -> None:
        live = (await self._live()).resources.get(change.address)
        if live is None:
            return  # gone already: what a removal wants
        if status and live.fields["status"] != status:
            raise ApiError(
                f"{change.address} is no longer a pending invite (it was accepted or removed "
                "since the plan); run plan again."
            )
        assert live.id is not None
        if live.fields["status"] == "invited":
            call: Awaitable[Any] = self.org.invites.delete(live.id)
            what = f"delete the invite of {email}"
        else:
            call, what = self.org.users.remove(live.id), f"remove {email}"
        await self._calling(what, call, missing_ok=True)

    async def _create_member(self, change: ResourceChange, workspace: str, email: str) -> None:
        workspace_id = await self._workspace_id(workspace)
        user_id = await self._id(addresses.make(USER, email), status="member")
        await self._create(
            f"add {email} to workspace {workspace!r}",
            lambda client: client.beta.organization.workspaces.members.add(
                workspace_id, user_id=user_id, workspace_role=change.after["workspace_role"]
            ),
            change.address,
        )

    async def _update_member(self, change: ResourceChange, workspace: str, email: str) -> None:
        workspace_id = await self._workspace_id(workspace)
        user_id = await self._id(addresses.make(USER, email), status="member")
        await self._calling(
            f"change the role of {email} in workspace {workspace!r}",
            self.org.workspaces.members.update(
                user_id, workspace_id=workspace_id, workspace_role=change.after["workspace_role"]
            ),
        )

    async def _delete_member(self, change: ResourceChange, workspace: str, email: str) -> None:
        workspace_id = await self._workspace_id(workspace)
        user_id = await self._id(addresses.make(USER, email), status="member")
        await self._calling(
            f"remove {email} from workspace {workspace!r}",
            self.org.workspaces.members.remove(user_id, workspace_id=workspace_id),
            missing_ok=True,
        )

    async def _update_api_key(self, change: ResourceChange, key_id: str) -> None:
        await self._calling(
            f"update API key {key_id}", self.org.api_keys.update(key_id, **change.after)
        )

    # -- ids ----------------------------------------------------------------------------------

    async def _live(self) -> LiveState:
        """Live state read once per session, for the ids the writes need."""
        async with self._index_lock:
            if self._index is None:
                self._index = await self.read_live()
            return self._index

    async def _id(self, address: str, *, status: str | None = None) -> str:
        found = (await self._live()).resources.get(address)
        if found is None or found.id is None or (status and found.fields.get("status") != status):
            raise ApiError(
                f"{address} is not in the live organization (removed since the plan?); "
                "run plan again."
            )
        return found.id

    async def _workspace_id(self, name: str) -> str:
        if name in self._created:
            return self._created[name]
        return await self._id(addresses.make(WORKSPACE, name))

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
        once = self._client.with_options(max_retries=0)
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
                        if not may_have_written(exc) and exc.status != 429:
                            raise
                        last = exc
                        found = await self.current(address) if exc.status != 429 else None
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

    async def _all(
        self, what: str, lister: Callable[..., Any], *args: Any, **params: Any
    ) -> list[Any]:
        async def collect() -> list[Any]:
            return [item async for item in lister(*args, limit=PAGE_SIZE, **params)]

        return await self._calling(what, collect())

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
        except anthropic.NotFoundError as exc:
            if missing_ok:
                return None  # type: ignore[return-value]  # a removal of what is gone
            raise translated(exc, self._context(what, attempts)) from exc
        except anthropic.APIError as exc:
            raise translated(exc, self._context(what, attempts)) from exc

    def _context(self, what: str, attempts: int) -> Context:
        connection = self._connection
        return Context(
            what, connection.where, connection.key_source, connection.retry.timeout, attempts
        )


# The SDK retries on its own and says so only in its log: its waits reach the
# operator's terminal through this logger.
_SDK_LOG = logging.getLogger("anthropic._base_client")


class _RetryNotes(logging.Handler):
    """The SDK's "Retrying request to URL in N seconds" as progress lines."""

    def __init__(self, progress: Callable[[str], None] | None) -> None:
        super().__init__(logging.INFO)
        self._progress = progress

    def emit(self, record: logging.LogRecord) -> None:
        if self._progress and record.getMessage().startswith("Retrying request"):
            url, seconds = record.args if isinstance(record.args, tuple) else ("?", 0.0)
            wait = seconds if isinstance(seconds, int | float) else 0.0
            self._progress(f"{url}: no usable answer; trying again in {wait:.1f} s")


def _workspace_fields(workspace: Any) -> dict[str, Any]:
    residency = workspace.data_residency
    allowed = residency.allowed_inference_geos
    return {
        "name": workspace.name,
        f"{addresses.RESIDENCY}allowed_inference_geos": allowed
        if isinstance(allowed, str)
        else list(allowed),
        f"{addresses.RESIDENCY}default_inference_geo": residency.default_inference_geo,
        f"{addresses.RESIDENCY}workspace_geo": residency.workspace_geo,
        "tags": dict(workspace.tags or {}),
        "archived": workspace.archived_at is not None,
    }
