"""Every write the Admin API provider makes, by action and kind of resource (the table
``_writes``), over the session's boundary (``Writer``): workspaces (created without
duplicates, finished by update after ``workspace_created_incomplete``, sent again after
``workspace_changed_concurrently`` only for what is still wanted), invites and roles
(an invite someone else sent with the file's role is done), members, API keys, spend and
rate limits; the security surface's writes are each kind module's own. The ids a write
needs come from the session's live index, and from this session's own creates and
renames (``ids``), since a name in the plan may not be live yet.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from reconciler.core.errors import ApiError
from reconciler.core.escape import visible
from reconciler.core.model import Action, LiveResource, ResourceChange
from reconciler.core.secret_sink import OperatorSecrets
from reconciler.providers.anthropic_admin import addresses, answers
from reconciler.providers.anthropic_admin.addresses import (
    API_KEY,
    MEMBER,
    RATE_LIMIT,
    SPEND_LIMIT,
    USER,
    WORKSPACE,
    WORKSPACE_SPEND_LIMIT,
)
from reconciler.providers.anthropic_admin.kinds import SURFACE_BY_NAME
from reconciler.providers.anthropic_admin.kinds.kind import Calls
from reconciler.providers.anthropic_admin.sdk_errors import (
    ALREADY_MEMBER,
    INVITE_EXISTS,
    WORKSPACE_CHANGED,
    Incomplete,
)

T = TypeVar("T")


class Writer(Calls, Protocol):
    """What the writes need of the session, beyond the security surface's ``Calls``."""

    @property
    def attempts(self) -> int:
        """How many times a write is sent at most."""

    @property
    def secrets(self) -> OperatorSecrets:
        """Where a secret answered once goes, and where write-only values come from."""

    async def current(self, address: str) -> LiveResource | None: ...

    async def read_one(self, what: str, reader: Callable[[], Awaitable[T]]) -> T: ...

    def forget_index(self) -> None: ...


class Writes:
    """The writes of one session; ``ids`` are the workspaces it created or renamed."""

    def __init__(self, session: Writer) -> None:
        self._s = session
        # workspace name -> id, for workspaces this session created or renamed
        self.ids: dict[str, str] = {}

    async def _surface(self, change: ResourceChange, *names: str) -> None:
        kind = SURFACE_BY_NAME[addresses.parse(change.address)[0]]
        await kind.write(self._s, change, self._s.secrets)
        if change.action is Action.CREATE:
            self._s.forget_index()  # what is created next may refer to it by name

    async def write(self, change: ResourceChange) -> None:
        kind, names = addresses.parse(change.address)
        write = self._writes().get((change.action, kind))
        if write is None:
            raise ApiError(f"{change.address}: the Admin API cannot {change.action} a {kind}.")
        await write(change, *names)

    def _writes(self) -> dict[tuple[Action, str], Callable[..., Awaitable[None]]]:
        """Every write the Admin API can make, by action and kind of resource: the
        table a reader checks, and the only way in to the methods below."""
        return {
            (Action.CREATE, WORKSPACE): self._create_workspace,
            (Action.UPDATE, WORKSPACE): self._update_workspace,
            (Action.ARCHIVE, WORKSPACE): self._archive_workspace,
            **{
                (action, kind): self._surface
                for kind in SURFACE_BY_NAME
                for action in (Action.CREATE, Action.UPDATE, Action.ARCHIVE, Action.DELETE)
            },
            (Action.CREATE, USER): self._create_user,
            (Action.UPDATE, USER): self._update_user,
            (Action.REPLACE, USER): self._replace_user,
            (Action.DELETE, USER): self._delete_user,
            (Action.CREATE, MEMBER): self._create_member,
            (Action.UPDATE, MEMBER): self._update_member,
            (Action.DELETE, MEMBER): self._delete_member,
            (Action.UPDATE, API_KEY): self._update_api_key,
            # A limit is set by one upsert, whether it exists or not.
            (Action.CREATE, SPEND_LIMIT): self._set_spend_limit,
            (Action.UPDATE, SPEND_LIMIT): self._set_spend_limit,
            (Action.DELETE, SPEND_LIMIT): self._delete_spend_limit,
            (Action.CREATE, WORKSPACE_SPEND_LIMIT): self._set_workspace_spend_limit,
            (Action.UPDATE, WORKSPACE_SPEND_LIMIT): self._set_workspace_spend_limit,
            (Action.DELETE, WORKSPACE_SPEND_LIMIT): self._delete_spend_limit,
            (Action.CREATE, RATE_LIMIT): self._set_rate_limit,
            (Action.UPDATE, RATE_LIMIT): self._set_rate_limit,
        }

    async def _create_workspace(self, change: ResourceChange, name: str) -> None:
        after = change.after
        residency = addresses.residency(after)
        body: dict[str, Any] = {"name": name}
        if residency:
            body["data_residency"] = residency
        for field in ("tags", "display_color", "external_key_id"):
            if field in after:
                body[field] = after[field]
        try:
            created = await self._s.create_once(
                f"create workspace {name!r}",
                lambda client: client.beta.organization.workspaces.create(**body),
                change.address,
            )
        except Incomplete as incomplete:
            created = incomplete.workspace_id
            await self._complete_workspace(name, created, body)
        if created is not None:
            self.ids[name] = created

    async def _complete_workspace(self, name: str, workspace_id: str, body: dict[str, Any]) -> None:
        """After ``workspace_created_incomplete``: the workspace exists; send what of the
        create did not take effect as an update (never the create again)."""
        live = await self._s.read_one(
            f"read workspace {name!r}", lambda: self._s.org.workspaces.retrieve(workspace_id)
        )
        missing = answers.still_wanted(body, live)
        missing.pop("name", None)
        if missing:
            await self._s.call(
                f"finish creating workspace {name!r}",
                self._s.org.workspaces.update(workspace_id, **missing),
            )

    async def _update_workspace(self, change: ResourceChange, name: str) -> None:
        body: dict[str, Any] = {}
        residency = addresses.residency(change.after)
        if residency:
            body["data_residency"] = residency
        if "tags" in change.changes:
            before, after = change.changes["tags"].before or {}, change.changes["tags"].after
            body["tags"] = {**{k: None for k in before if k not in after}, **after}
        for field in ("name", "display_color", "external_key_id"):
            if field in change.changes:
                body[field] = change.changes[field].after
        renamed = change.changes.get("name")
        workspace_id = await self._workspace_id(renamed.before if renamed else name)
        # Both names lead to it for the rest of this session (ids never change).
        self.ids[name] = self.ids[body.get("name", name)] = workspace_id
        for attempt in range(self._s.attempts):
            try:
                await self._s.call(
                    f"update workspace {name!r}",
                    self._s.org.workspaces.update(workspace_id, **body),
                )
                return
            except ApiError as exc:
                if exc.code != WORKSPACE_CHANGED or attempt + 1 == self._s.attempts:
                    raise
                body = await self._after_concurrent_change(change, name, workspace_id, body)
                if not body:
                    return

    async def _after_concurrent_change(
        self, change: ResourceChange, name: str, workspace_id: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        """After ``workspace_changed_concurrently``: read the workspace, as the SDK says,
        and send again only what is still wanted, unless someone else set a field the
        plan changes to a third value (then the plan is out of date)."""
        live = await self._s.read_one(
            f"read workspace {name!r}", lambda: self._s.org.workspaces.retrieve(workspace_id)
        )
        fields = answers.workspace_fields(live)
        for field in ("name", "display_color", "external_key_id"):
            planned = change.changes.get(field)
            if planned is None or field not in body:
                continue
            now = fields[field]
            if now not in (planned.before, planned.after):
                raise ApiError(
                    f"Could not update workspace {name!r}: someone else changed its {field} to "
                    f"{visible(repr(now))} while reconciler applied the plan; run plan again "
                    "to see the change.",
                    status=409,
                    code=WORKSPACE_CHANGED,
                )
        return answers.still_wanted(body, live)

    async def _archive_workspace(self, change: ResourceChange, name: str) -> None:
        workspace_id = await self._workspace_id(name)
        await self._s.call(
            f"archive workspace {name!r}", self._s.org.workspaces.archive(workspace_id)
        )

    async def _create_user(self, change: ResourceChange, email: str) -> None:
        try:
            await self._s.create_once(
                f"invite {email}",
                lambda client: client.beta.organization.invites.create(
                    email=email, role=change.after["role"]
                ),
                change.address,
            )
        except ApiError as exc:
            if exc.code not in (ALREADY_MEMBER, INVITE_EXISTS):
                raise
            await self._invited_meanwhile(change, email, exc)

    async def _invited_meanwhile(self, change: ResourceChange, email: str, exc: ApiError) -> None:
        """``already_member`` or ``invite_already_exists``: someone joined or invited the
        address since the plan. Done when the role is the file's; otherwise the plan is
        out of date."""
        live = await self._s.current(change.address)
        role = change.after["role"]
        if live is not None and live.fields["role"] == role:
            return
        if live is None:
            said = "is a member" if exc.code == ALREADY_MEMBER else "has a pending invite"
            why = (
                f"the API says the address {said}, but the organization's lists do not show it "
                "yet; run plan again in a minute"
            )
        else:
            how = "joined the organization" if exc.code == ALREADY_MEMBER else "was invited"
            now = visible(str(live.fields["role"]))
            why = (
                f"the address {how} as {now} since the plan, not as {role}; run plan again to "
                "plan the role the file gives"
            )
        raise ApiError(
            f"Could not invite {email}: {why}.",
            status=exc.status,
            request_id=exc.request_id,
            code=exc.code,
        )

    async def _update_user(self, change: ResourceChange, email: str) -> None:
        user_id = await self._id(change.address, status="member")
        await self._s.call(
            f"change the role of {email}",
            self._s.org.users.update(user_id, role=change.after["role"]),
        )

    async def _replace_user(self, change: ResourceChange, email: str) -> None:
        """A pending invite with another role: delete it, invite again."""
        await self._delete_user(change, email, status="invited")
        self._s.forget_index()
        await self._create_user(change, email)

    async def _delete_user(
        self, change: ResourceChange, email: str, *, status: str | None = None
    ) -> None:
        live = (await self._s.index()).resources.get(change.address)
        if live is None:
            return  # gone already: what a removal wants
        if status and live.fields["status"] != status:
            raise ApiError(
                f"{change.address} is no longer a pending invite (it was accepted or removed "
                "since the plan); run plan again."
            )
        assert live.id is not None
        if live.fields["status"] == "invited":
            call: Awaitable[Any] = self._s.org.invites.delete(live.id)
            what = f"delete the invite of {email}"
        else:
            call, what = self._s.org.users.remove(live.id), f"remove {email}"
        await self._s.call(what, call, missing_ok=True)

    async def _create_member(self, change: ResourceChange, workspace: str, email: str) -> None:
        workspace_id = await self._workspace_id(workspace)
        user_id = await self._id(addresses.make(USER, email), status="member")
        await self._s.create_once(
            f"add {email} to workspace {workspace!r}",
            lambda client: client.beta.organization.workspaces.members.add(
                workspace_id, user_id=user_id, workspace_role=change.after["workspace_role"]
            ),
            change.address,
        )

    async def _update_member(self, change: ResourceChange, workspace: str, email: str) -> None:
        workspace_id = await self._workspace_id(workspace)
        user_id = await self._id(addresses.make(USER, email), status="member")
        await self._s.call(
            f"change the role of {email} in workspace {workspace!r}",
            self._s.org.workspaces.members.update(
                user_id, workspace_id=workspace_id, workspace_role=change.after["workspace_role"]
            ),
        )

    async def _delete_member(self, change: ResourceChange, workspace: str, email: str) -> None:
        workspace_id = await self._workspace_id(workspace)
        user_id = await self._id(addresses.make(USER, email), status="member")
        await self._s.call(
            f"remove {email} from workspace {workspace!r}",
            self._s.org.workspaces.members.remove(user_id, workspace_id=workspace_id),
            missing_ok=True,
        )

    async def _update_api_key(self, change: ResourceChange, key_id: str) -> None:
        await self._s.call(
            f"update API key {key_id}", self._s.org.api_keys.update(key_id, **change.after)
        )

    async def _set_spend(self, change: ResourceChange, scope: Any, what: str) -> None:
        """Set (an upsert on scope and period, so a retry is harmless) a monthly limit."""
        await self._s.call(
            f"set the monthly spend limit of {what}",
            self._s.org.spend_limits.set(
                amount=str(change.after["amount"]),
                scope=scope,
                period="monthly",
            ),
        )

    async def _set_spend_limit(self, change: ResourceChange, period: str) -> None:
        await self._set_spend(change, {"type": "organization"}, "the organization")

    async def _delete_spend_limit(self, change: ResourceChange, *names: str) -> None:
        limit_id = await self._id(change.address)
        await self._s.call(
            f"delete {change.address}", self._s.org.spend_limits.delete(limit_id), missing_ok=True
        )

    async def _set_workspace_spend_limit(
        self, change: ResourceChange, workspace: str, period: str
    ) -> None:
        workspace_id = await self._workspace_id(workspace)
        scope = {"type": "workspace", "workspace_id": workspace_id}
        await self._set_spend(change, scope, f"workspace {workspace!r}")

    async def _set_rate_limit(self, change: ResourceChange, workspace: str, group: str) -> None:
        """Set each named limiter type's override (None clears it); others stay."""
        workspace_id = await self._workspace_id(workspace)
        entry = (await self._s.index()).context["rate_limit_groups"][group]["entry"]
        limits = [{"type": t, "value": c.after} for t, c in change.changes.items()]
        await self._s.call(
            f"set the rate limits of {group} in workspace {workspace!r}",
            self._s.org.workspaces.rate_limits.update(
                entry,
                workspace_id=workspace_id,
                limits=limits,
            ),
        )

    async def _id(self, address: str, *, status: str | None = None) -> str:
        found = (await self._s.index()).resources.get(address)
        if found is None or found.id is None or (status and found.fields.get("status") != status):
            raise ApiError(
                f"{address} is not in the live organization (removed since the plan?); "
                "run plan again."
            )
        return found.id

    async def _workspace_id(self, name: str) -> str:
        if name in self.ids:
            return self.ids[name]
        return await self._id(addresses.make(WORKSPACE, name))
