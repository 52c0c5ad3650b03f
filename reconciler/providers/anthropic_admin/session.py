"""The Admin API provider's ``Session``, over Anthropic's official SDK.

The SDK (``AsyncAnthropic(...).beta.organization``) is the authority on paths,
fields, headers, pagination and retries (429 with ``retry-after``, 5xx,
network failures); this module turns its objects into live resources, plan
changes into its calls, and its exceptions into reconciler's errors at one
boundary (``_calling``). Creates are not idempotent, so they are sent without the
SDK's retries: after a failure that may have written, the resource is looked
for, and the create is sent again only when it is not there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

import anthropic
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from reconciler.connection import Connection
from reconciler.errors import ApiError, AuthError, TransportError
from reconciler.model import LiveResource, LiveState, ResourceChange
from reconciler.providers.anthropic_admin import addresses as at
from reconciler.providers.anthropic_admin.addresses import API_KEY, MEMBER, USER, WORKSPACE

SCOPE = "organization:admin"
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
            http_client=anthropic.DefaultAsyncHttpxClient(follow_redirects=False),
            _strict_response_validation=True,
        )
        self.org = self._client.beta.organization
        self._limit = asyncio.Semaphore(connection.concurrency)
        self._index: LiveState | None = None
        self._index_lock = asyncio.Lock()
        self._created: dict[str, str] = {}  # workspace name -> id, made by this session

    async def __aenter__(self) -> AdminSession:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
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
            found[at.make(USER, user.email.lower())] = LiveResource(
                {"role": user.role, "status": "member"}, None, user.id
            )
        invited = set()
        for invite in invites:
            address = at.make(USER, invite.email.lower())
            if invite.status == "pending" and address not in found:
                invited.add(invite.email.lower())
                found[address] = LiveResource(
                    {"role": invite.role, "status": "invited"}, None, invite.id
                )
        active = [w for w in workspaces if w.archived_at is None]
        archived = {w.name: w.id for w in workspaces if w.archived_at is not None}
        for workspace in active:
            found[at.make(WORKSPACE, workspace.name)] = LiveResource(
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
                    address = at.make(MEMBER, workspace.name, emails[member.user_id])
                    found[address] = LiveResource(
                        {"workspace_role": member.workspace_role}, None, member.user_id
                    )
        for key in keys:
            found[at.make(API_KEY, key.id)] = LiveResource(
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

    async def read_back(self, addresses: Sequence[str]) -> Mapping[str, Mapping[str, Any] | None]:
        live = await self.read_live()
        return {a: (live.resources[a].fields if a in live.resources else None) for a in addresses}

    async def export(self) -> dict[str, Any]:
        """Every member but admins (whose role the API cannot set), pending invites,
        active workspaces with their explicit members, and every API key."""
        live = await self.read_live()
        users: dict[str, str] = {}
        workspaces: dict[str, dict[str, Any]] = {}
        keys: dict[str, dict[str, Any]] = {}
        for address, resource in sorted(live.resources.items()):
            kind, names = at.parse(address)
            fields = resource.fields
            if kind == USER and fields["role"] != "admin":
                users[names[0]] = fields["role"]
            elif kind == WORKSPACE:
                residency = {
                    name.split(".", 1)[1]: value
                    for name, value in fields.items()
                    if name.startswith("data_residency.")
                }
                workspaces[names[0]] = {"data_residency": residency, "tags": fields["tags"]}
            elif kind == API_KEY:
                keys[names[0]] = {"name": fields["name"], "status": fields["status"]}
        for address, resource in sorted(live.resources.items()):
            kind, names = at.parse(address)
            if kind == MEMBER:
                members = workspaces[names[0]].setdefault("members", {})
                members[names[1]] = resource.fields["workspace_role"]
        data: dict[str, Any] = {"version": 1, "provider": "anthropic-admin"}
        for section, found in (("users", users), ("workspaces", workspaces), ("api_keys", keys)):
            if found:
                data[section] = found
        return data

    # -- writes -----------------------------------------------------------------------------

    async def write(self, change: ResourceChange) -> str | None:
        kind, names = at.parse(change.address)
        action = str(change.action)
        write = getattr(self, f"_{action}_{kind}", None)
        if write is None:
            raise ApiError(f"{change.address}: the Admin API cannot {action} a {kind}.")
        await write(change, *names)
        return None

    async def _create_workspace(self, change: ResourceChange, name: str) -> None:
        after = change.after
        residency = _residency(after)
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
        residency = _residency(change.after)
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
        user_id = await self._id(at.make(USER, email), status="member")
        await self._create(
            f"add {email} to workspace {workspace!r}",
            lambda client: client.beta.organization.workspaces.members.add(
                workspace_id, user_id=user_id, workspace_role=change.after["workspace_role"]
            ),
            change.address,
        )

    async def _update_member(self, change: ResourceChange, workspace: str, email: str) -> None:
        workspace_id = await self._workspace_id(workspace)
        user_id = await self._id(at.make(USER, email), status="member")
        await self._calling(
            f"change the role of {email} in workspace {workspace!r}",
            self.org.workspaces.members.update(
                user_id, workspace_id=workspace_id, workspace_role=change.after["workspace_role"]
            ),
        )

    async def _delete_member(self, change: ResourceChange, workspace: str, email: str) -> None:
        workspace_id = await self._workspace_id(workspace)
        user_id = await self._id(at.make(USER, email), status="member")
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
        return await self._id(at.make(WORKSPACE, name))

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
                        if not _may_have_written(exc) and exc.status != 429:
                            raise
                        last = exc
                        found = await self.current(address) if exc.status != 429 else None
                        if found is not None:
                            return found.id
                        raise _Unsure() from None
        except _Unsure:
            assert last is not None
            raise type(last)(
                f"{what} did not succeed after {policy.attempts} attempts ({last.message}). "
                "Wait a little and run again; a re-run picks up where this left off.",
                status=last.status,
            ) from None
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
        except anthropic.APIResponseValidationError as exc:
            raise TransportError(
                f"{self._connection.base_url} answered when asked to {what}, but its answer is "
                f"not the Admin API's ({str(exc)[:120]}); is --base-url the Admin API?",
                status=exc.status_code,
            ) from None
        except anthropic.NotFoundError as exc:
            if missing_ok:
                return None  # type: ignore[return-value]  # a removal of what is gone
            raise self._status_error(exc, what, attempts) from None
        except anthropic.APIStatusError as exc:
            raise self._status_error(exc, what, attempts) from None
        except anthropic.APITimeoutError:
            raise TransportError(
                f"Could not {what}: no answer within {self._connection.retry.timeout:g} s, "
                f"{attempts} time{'s' if attempts > 1 else ''}. Check the network and run again."
            ) from None
        except anthropic.APIConnectionError as exc:
            cause = exc.__cause__
            why = (
                f"cannot connect to {self._connection.base_url}"
                if type(cause).__name__ == "ConnectError"
                else "the connection broke before the answer was complete"
            )
            raise TransportError(
                f"Could not {what}: {why} ({attempts} attempt{'s' if attempts > 1 else ''}). "
                "Check that the API is reachable and run again."
            ) from None

    def _status_error(self, exc: anthropic.APIStatusError, what: str, attempts: int) -> ApiError:
        """An error status as one sentence that says what to do, by status."""
        status, message, source = exc.status_code, _message(exc), self._connection.key_source
        kind: type[ApiError] = ApiError
        if status == 401:
            kind, text = (
                AuthError,
                (
                    f"The API did not accept the key in {source} ({message}); set {source} "
                    f"to a valid Admin API key (sk-ant-admin...) with the scope {SCOPE}."
                ),
            )
        elif status == 403:
            kind, text = (
                AuthError,
                (
                    f"The key in {source} may not {what}: it needs the scope {SCOPE} "
                    f"({message}). Use an Admin API key."
                ),
            )
        elif 300 <= status < 400:
            kind, text = (
                TransportError,
                (
                    f"{self._connection.base_url} answered with a redirect to "
                    f"{exc.response.headers.get('location', '?')} when asked to {what}; "
                    "reconciler does not follow redirects: set --base-url to the API's own "
                    "address."
                ),
            )
        elif status == 404:
            text = f"The API refused to {what} (404: {message}); run plan again."
        elif status == 429 or status >= 500:
            text = (
                f"Could not {what}: after {attempts} attempt{'s' if attempts > 1 else ''} "
                f"it kept answering {status} ({message}). Wait a little and run "
                "again; a re-run picks up where this left off."
            )
        else:
            text = f"The API refused to {what} ({status}: {message})."
        return kind(text, status=status, request_id=exc.request_id)


def _message(exc: anthropic.APIStatusError) -> str:
    """The API's own message from its error body, else the SDK's."""
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])[:300]
    return str(exc.message)[:300]


def _may_have_written(exc: ApiError) -> bool:
    return isinstance(exc, TransportError) or (exc.status is not None and exc.status >= 500)


def _workspace_fields(workspace: Any) -> dict[str, Any]:
    residency = workspace.data_residency
    allowed = residency.allowed_inference_geos
    return {
        "name": workspace.name,
        "data_residency.allowed_inference_geos": allowed
        if isinstance(allowed, str)
        else list(allowed),
        "data_residency.default_inference_geo": residency.default_inference_geo,
        "data_residency.workspace_geo": residency.workspace_geo,
        "tags": dict(workspace.tags or {}),
        "archived": workspace.archived_at is not None,
    }


def _residency(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {
        name.split(".", 1)[1]: value
        for name, value in fields.items()
        if name.startswith("data_residency.")
    }
