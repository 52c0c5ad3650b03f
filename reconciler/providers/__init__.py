"""Providers: the APIs reconciler can manage, each behind the same small interface.

The engine (config, plan, render, apply, cli) knows addresses, actions and field
changes; a provider knows one API: its file schema, how a file becomes resources,
how live state is read and written, what is risky. Adding a provider adds a
package here and a line in ``PROVIDERS``, not a special case in the engine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from reconciler.connection import Connection
from reconciler.errors import ConfigError, Problem
from reconciler.model import DesiredState, LiveResource, LiveState, ResourceChange

DEFAULT_PROVIDER = "company"


@dataclass(frozen=True)
class Proposal:
    """What a provider proposes for a whole file, before ``--target`` narrows it.

    ``problems`` are addresses the file names that cannot be planned (with why);
    they fail the plan only when the address is chosen. ``notes`` are warnings
    tied to an address, kept with it when narrowing."""

    changes: Sequence[ResourceChange]
    unmanaged: Mapping[str, int] = field(default_factory=dict)
    problems: Mapping[str, str] = field(default_factory=dict)
    notes: Sequence[tuple[str, str]] = ()


class Session(Protocol):
    """An open connection to one provider's API: what plan and apply need of it."""

    async def __aenter__(self) -> Session: ...

    async def __aexit__(self, *exc_info: object) -> None: ...

    async def read_live(self) -> LiveState: ...

    async def write(self, change: ResourceChange) -> str | None:
        """Make one change; the resource's new ETag when the API has them."""

    async def current(self, address: str) -> LiveResource | None:
        """The resource as it is now, or None when it does not exist."""

    async def read_back(self, addresses: Sequence[str]) -> Mapping[str, Mapping[str, Any] | None]:
        """The live fields of each address (None: absent), read in as few requests as
        the API allows, to verify an apply."""

    async def export(self) -> dict[str, Any]:
        """The live organization as this provider's file data."""


class Provider(Protocol):
    name: str
    schema_file: str
    key_variables: tuple[str, ...]
    read_scope: str
    write_scope: str
    address_example: str

    def resources(
        self, data: Mapping[str, Any]
    ) -> tuple[dict[str, dict[str, Any]], frozenset[str]]:
        """A valid file's managed resources by address, and the sections it prunes."""

    def propose(self, desired: DesiredState, live: LiveState) -> Proposal: ...

    def review(
        self, changes: Sequence[ResourceChange], live: LiveState
    ) -> tuple[list[str], list[str]]:
        """``(warnings, guards)`` for the changes chosen: what a reviewer should see, and
        why apply must refuse without ``--force``."""

    def session(self, connection: Connection) -> Session: ...


def names() -> tuple[str, ...]:
    return tuple(_registry())


def get(name: str) -> Provider:
    """The provider called ``name``; an unknown name is a file problem, not a crash."""
    registry = _registry()
    if name not in registry:
        raise ConfigError(
            [Problem("", 1, 1, "provider", f"unknown provider {name!r}; use one of {names()}")]
        )
    return registry[name]


def _registry() -> dict[str, Provider]:
    from reconciler.providers.anthropic_admin import AnthropicAdminProvider
    from reconciler.providers.company import CompanyProvider

    return {"company": CompanyProvider(), "anthropic-admin": AnthropicAdminProvider()}
