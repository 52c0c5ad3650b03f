"""The seam between the engine and an API: what a provider is (``Provider``), what an
open connection to it does (``Session``), and what it proposes for a file
(``Proposal``).

The engine (reading the file, planning, rendering, executing, the commands) knows addresses,
actions and field changes; a provider knows one API: its file schema, how a file
becomes resources, how live state is read and written, what is risky, and any
command of its own. Providers are found through the entry points of the group
``reconciler.providers`` (see ``providers``), so a package of another author adds
one without touching this one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from reconciler.core.edits import Edit
from reconciler.core.model import (
    Action,
    DesiredState,
    FieldChange,
    LiveResource,
    LiveState,
    RateLimitWaits,
    ResourceChange,
    SecurityNote,
)
from reconciler.net.connection import Connection

if TYPE_CHECKING:
    import click  # a provider's commands are click's; the seam needs click only to say so


def undoing(applied: ResourceChange, action: Action) -> ResourceChange:
    """The change that puts back every value ``applied`` changed, by ``action``."""
    return ResourceChange(
        applied.address,
        action,
        applied.etag,
        {name: FieldChange(c.after, c.before) for name, c in applied.changes.items()},
    )


@dataclass(frozen=True)
class SecretFlag:
    """An ``apply`` option a provider declares for a secret only the operator holds:
    where one the API answers once goes (``sink_file``, ``sink_command``: one of them
    at most), or a file of write-only values bound to hosts (``values``). ``what`` names
    the secret in the sentences about it. The CLI adds every installed provider's."""

    flag: str
    role: str  # "sink_file", "sink_command" or "values"
    help: str
    what: str
    metavar: str | None = None


@dataclass(frozen=True)
class Settlement:
    """How ``adopt`` settles a problem by writing what is live: the edits, and what the
    file says afterwards (one line for the person reading adopt's report)."""

    edits: Sequence[Edit]
    said: str


@dataclass(frozen=True)
class Proposal:
    """What a provider proposes for a whole file, before ``--target`` narrows it.

    ``problems`` are addresses the file names that cannot be planned (with why);
    they fail the plan only when the address is chosen. ``settlements`` are the
    problems only a decision in the file settles, with the edits that record what is
    live (``adopt`` writes them). ``notes`` are warnings tied to an address, kept
    with it when narrowing."""

    changes: Sequence[ResourceChange]
    unmanaged: Mapping[str, int] = field(default_factory=dict)
    problems: Mapping[str, str] = field(default_factory=dict)
    settlements: Mapping[str, Settlement] = field(default_factory=dict)
    notes: Sequence[tuple[str, str]] = ()
    # One line per address for a reader of the plan (``$500.00 → $600.00 a month``).
    about: Mapping[str, str] = field(default_factory=dict)
    # Security-relevant drift, by address: said at the top of a plan, and drift for
    # --detailed-exitcode even when nothing will be written.
    alerts: Sequence[tuple[str, str]] = ()
    # What each change means for security, in both directions: the engine says the
    # live words for drift and the edit words for this edit (``SecurityNote``).
    security: Sequence[SecurityNote] = ()


@dataclass(frozen=True)
class Advice:
    """What the API can tell a reviewer about a plan's changes beyond live state (the
    money a spend-limit change meets): warnings, and words added to an address's line."""

    warnings: tuple[str, ...] = ()
    about: Mapping[str, str] = field(default_factory=dict)


class Session(Protocol):
    """An open connection to one provider's API: what plan and apply need of it."""

    # What the API's rate limit has cost this session so far (for apply's report).
    waits: RateLimitWaits

    async def __aenter__(self) -> Session: ...

    async def __aexit__(self, *exc_info: object) -> None: ...

    async def read_live(self, desired: DesiredState | None = None) -> LiveState:
        """The live organization; given the file, an API may leave out the sections the
        file does not keep (a plan reads what it compares, an export reads everything)."""

    async def write(self, change: ResourceChange) -> str | None:
        """Make one change; the resource's new ETag when the API has them."""

    async def current(self, address: str) -> LiveResource | None:
        """The resource as it is now, or None when it does not exist."""

    async def read_back(self, addresses: Sequence[str]) -> Mapping[str, Mapping[str, Any] | None]:
        """The live fields of each address (None: absent), read in as few requests as
        the API allows, to verify an apply."""

    async def export(self) -> dict[str, Any]:
        """The live organization as this provider's file data."""

    async def ready(self, changes: Sequence[ResourceChange]) -> None:
        """Refuse, before any write, what this API cannot do safely as the operator
        set it up (a secret answered once with nowhere to go); nothing when it can."""

    async def advise(self, changes: Sequence[ResourceChange]) -> Advice:
        """What the API's reports say about ``changes`` before they are applied; reads
        nothing when no change needs it, and never fails a plan (an unreadable report
        is one warning)."""


@dataclass(frozen=True)
class UsageRequest:
    """What ``reconciler usage`` was asked, its combination already checked by the CLI:
    the API's connection options and how to show the month."""

    base_url: str | None
    api_key_env: str | None
    fmt: str  # text, json or markdown
    watch: float | None  # seconds between polls; None: read once
    log: Path | None
    count: int | None
    warn_at: float | None  # a share of each limit: 0.8 for --warn-at 80%
    serve: bool
    port: int
    interval: float
    db: Path


class CommandKit(Protocol):
    """What the CLI lends a provider's own commands (``reconciler.cli.options`` is one):
    its shared options and plumbing, so no provider imports the CLI."""

    @property
    def global_options(self) -> Callable[[Callable[..., Any]], Callable[..., Any]]: ...
    @property
    def base_url_option(self) -> Callable[[Callable[..., Any]], Callable[..., Any]]: ...
    @property
    def api_key_env_option(self) -> Callable[[Callable[..., Any]], Callable[..., Any]]: ...
    @property
    def check_outputs(self) -> Callable[..., None]: ...
    @property
    def connection_for(self) -> Callable[..., Connection]: ...
    @property
    def echo(self) -> Callable[..., None]: ...
    @property
    def run(self) -> Callable[..., Any]: ...


class Provider(Protocol):
    """One API, everything reconciler needs of it. The engine asks only this."""

    name: str
    display_name: str  # "Company API": how messages and the demo name it
    key_variables: tuple[str, ...]  # where its key is read from, in order
    read_scope: str
    write_scope: str
    address_example: str
    demo_example: str  # a file inside the package that `reconciler demo` plans
    sandbox_key: str  # the sandbox seed's key for this API (the demo's)
    # Where a file lists resources one by one (``*``: any key), for ``adopt
    # --add-unmanaged``: live ones the file does not name are added there.
    adoptable: tuple[tuple[str, ...], ...]
    # apply's options for secrets only the operator holds (none: the API has none).
    secret_flags: tuple[SecretFlag, ...]

    def schema(self) -> Mapping[str, Any]:
        """The JSON Schema (2020-12) of this provider's desired-state file."""

    def resources(
        self, data: Mapping[str, Any]
    ) -> tuple[dict[str, dict[str, Any]], frozenset[str]]:
        """A valid file's managed resources by address, and the sections it prunes."""

    def path_of(self, address: str) -> tuple[str, ...]:
        """Where in a file an address is written (``("projects", "proj_1")``), so a
        problem with it can name its line."""

    def align(self, desired: DesiredState, live: LiveState) -> LiveState:
        """Live state under the names the file gives (a workspace the file pins by id is
        addressed by the file's name, so a rename is an update, not a create); what
        every comparison with the file is made against."""

    def propose(self, desired: DesiredState, live: LiveState) -> Proposal: ...

    def review(
        self, changes: Sequence[ResourceChange], live: LiveState
    ) -> tuple[list[str], list[str]]:
        """``(warnings, guards)`` for the changes chosen: what a reviewer should see, and
        why apply must refuse without ``--force``."""

    def adoption(self, change: ResourceChange) -> Sequence[Edit]:
        """How the file must change to say what is live, for one change of a plan (a
        plan goes from live to the file, so each ``before`` is the live value)."""

    def admits(
        self, desired: DesiredState, claims: Mapping[str, Any]
    ) -> Sequence[tuple[str, str, str | None]]:
        """For each federation rule of the file: its address, what it grants in words,
        and why an identity token with ``claims`` is not admitted (None: it is).
        Offline; empty for an API without federation rules."""

    def session(self, connection: Connection) -> Session: ...

    def reversal(self, applied: ResourceChange) -> tuple[ResourceChange | None, str | None]:
        """How ``apply --undo-out`` undoes a change that was applied: the change that puts
        it back (None: it cannot be undone; see ``undoing``), and what the undo plan warns."""

    def commands(self, kit: CommandKit) -> Sequence[click.Command]:
        """Commands of this API's own, added to the CLI, built with the CLI's shared
        options and plumbing (``kit``)."""

    def usage(self, kit: CommandKit, ctx: click.Context, request: UsageRequest) -> None:
        """``reconciler usage`` for this API: the month's use or money against its
        limits; exits 2 when ``warn_at`` is crossed. An API without a report of its
        use raises ``ConfigError``."""
