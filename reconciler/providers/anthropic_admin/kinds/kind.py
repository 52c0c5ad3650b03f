"""What an Admin API kind module gives the security surface's shared planner and
session beyond its ``Kind`` spec: its read through the SDK, its SDK objects as live
fields, its writes, and (the escape hatch) why reconciler may not write one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from reconciler.core.errors import ApiError
from reconciler.core.model import LiveResource, LiveState, ResourceChange
from reconciler.core.secret_sink import OperatorSecrets
from reconciler.providers.anthropic_admin import addresses
from reconciler.providers.base import SecretFlag
from reconciler.providers.kinds.spec import Kind

# Scopes a workload's OAuth token may manage rules for; any other needs a Console session.
WORKLOAD_SCOPES = frozenset({"workspace:developer", "workspace:inference"})
CONSOLE = "only a Console session (an administrator, interactively) can change it"


class Calls(Protocol):
    """What a kind's reads and writes need of the session."""

    org: Any

    async def listed(
        self, what: str, lister: Callable[..., Any], *, page_size: int = ..., **params: Any
    ) -> list[Any]: ...

    async def call(self, what: str, call: Awaitable[Any], *, missing_ok: bool = False) -> Any: ...

    async def create_once(
        self, what: str, send: Callable[[Any], Awaitable[Any]], address: str
    ) -> str | None: ...

    async def index(self) -> LiveState: ...


@dataclass(frozen=True)
class Names:
    """Ids by kind as read, so one kind's fields name another by its name."""

    by_kind: Mapping[str, Mapping[str, str]]
    workspaces: Mapping[str, str]

    def of(self, kind: str, some_id: str, fallback: str | None = None) -> str:
        return self.by_kind.get(kind, {}).get(some_id, fallback or some_id)


@dataclass(frozen=True)
class Watch:
    """What the planner knows when it asks why a resource may not be written."""

    now: Mapping[str, Any] | None
    wanted: Mapping[str, Any]
    name: str
    # The surface as read, by address (an issuer is watched for the rules behind it).
    live: Mapping[str, LiveResource]


@dataclass(frozen=True)
class View:
    """The surface a kind's ``explain`` sees: the file's entries and the live ones by
    address, what each kind quotes of its entries by name (an issuer's URL), and the
    live state (its workspaces)."""

    ours: Mapping[str, Mapping[str, Any]]
    # The live fields each entry planned is compared with (a rename: the old one's).
    now: Mapping[str, Mapping[str, Any] | None]
    current: Mapping[str, LiveResource]
    quoted: Mapping[str, Mapping[str, str]]
    live: LiveState


@dataclass(frozen=True)
class Explained:
    """What a kind adds to the plan of its entries: words beside a line, and notes."""

    about: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class AdminKind:
    """One kind of the Admin API's security surface."""

    spec: Kind
    # Read only with an OAuth access token (an Admin API key gets 403).
    oauth_only: bool
    # Every item of the kind through the SDK (None: not turned on, 404).
    read: Callable[[Calls], Awaitable[list[Any] | None]]
    # One item as ``(name, fields)``; None for one that no longer counts (archived).
    live: Callable[[Any, Names], tuple[str, dict[str, Any]] | None]
    write: Callable[[Calls, ResourceChange, OperatorSecrets], Awaitable[None]]
    # Why reconciler may not write it with a workload's credentials (None: it may).
    watched: Callable[[Watch], str | None] = lambda _: None
    # Why the API refuses the entry as the file has it, over its live fields (None: it
    # takes it): a problem at plan time, before any write.
    refused: Callable[[Mapping[str, Any]], str | None] = lambda _: None
    # The item's id and name, for ``Names``.
    ident: Callable[[Any], tuple[str, str]] = lambda item: (str(item.id), str(item.name))
    # The fields naming another kind's entry, and that kind (a rule: its issuer and
    # service account): read with it, and a new one waits for one this plan creates.
    refers: tuple[tuple[str, str], ...] = ()
    # Fields that never change once created (a rule's issuer; ``name``: no rename).
    fixed: tuple[str, ...] = ()
    # The field other kinds' words quote of an entry, by its name (an issuer's URL).
    quoted: str | None = None
    # What the kind adds to the plan of its entries, with the whole surface in view.
    explain: Callable[[View], Explained] | None = None
    # apply's options for the secrets it carries (the operator's only).
    flags: tuple[SecretFlag, ...] = ()
    # A secret the API answers once, on create ("signing secret"): a create needs a
    # sink for it (one of ``flags``) before any write.
    answers_once: str | None = None

    @property
    def names(self) -> tuple[str, ...]:
        """The kinds it names."""
        return tuple(kind for _, kind in self.refers)


def id_of(live: Mapping[str, LiveResource], address: str) -> str:
    """The id of a live resource a write names (by its address)."""
    found = live.get(address)
    if found is None or found.id is None:
        raise ApiError(
            f"{address} is not live (it is created by this plan, or was removed); run plan again."
        )
    return str(found.id)


async def live_of(calls: Calls, change: ResourceChange) -> LiveResource | None:
    """The live resource a change is about: at its address, or (a rename of an entry
    pinned by id) at its old name."""
    live = (await calls.index()).resources
    if change.address in live:
        return live[change.address]
    renamed = change.changes.get("name")
    if renamed is None:
        return None
    return live.get(addresses.make(addresses.parse(change.address)[0], str(renamed.before)))


async def offered(reading: Awaitable[list[Any]]) -> list[Any] | None:
    """A list, or None where the organization does not have it turned on (404)."""
    try:
        return await reading
    except ApiError as exc:
        if exc.status != 404:
            raise
        return None


async def removed(
    calls: Calls, change: ResourceChange, remove: Callable[[str], Awaitable[Any]]
) -> None:
    """Archive or delete a live resource (gone already: nothing to do)."""
    live = await live_of(calls, change)
    if live is None or live.id is None:
        return
    await calls.call(f"{change.action} {change.address}", remove(live.id), missing_ok=True)


async def require_live(calls: Calls, change: ResourceChange) -> LiveResource:
    live = await live_of(calls, change)
    if live is None or live.id is None:
        raise ApiError(
            f"{change.address} is not live any more (removed since the plan?); run plan again."
        )
    return live
