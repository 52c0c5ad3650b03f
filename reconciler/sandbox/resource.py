"""What a resource the sandbox serves from a module of its own declares: its store,
its routes and its seed check (registered in ``resources``).

A resource module owns its table, its rules, its routes and what a seed may say of
it; ``AdminStore``, the app and the seed iterate over the registry and name none.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from starlette.requests import Request
from starlette.routing import Route

Authorize = Callable[[Request, str], None]
ReadBody = Callable[[Request], Awaitable[dict[str, Any]]]


class ResourceStore(Protocol):
    """A resource's rows in the sandbox's SQLite file."""

    def load(self, seed: Mapping[str, Any]) -> None:
        """Replace the rows with what a seed's ``admin`` section holds."""


@dataclass(frozen=True)
class Resource:
    """One resource: ``name`` is its key in a seed's ``admin`` section and in
    ``AdminStore.resources``; ``seed_problem`` says what is wrong with the seed's
    entries (None: nothing)."""

    name: str
    store: Callable[[sqlite3.Connection], ResourceStore]
    routes: Callable[[Authorize, ReadBody], list[Route]]
    seed_problem: Callable[[object], str | None]


def listed_with(required: tuple[str, ...]) -> Callable[[object], str | None]:
    """The seed check of a resource listed as mappings that each hold ``required``."""

    def problem(listed: object) -> str | None:
        if isinstance(listed, list) and all(
            isinstance(d, dict) and all(k in d for k in required) for d in listed
        ):
            return None
        return f"a list, each with {' and '.join(required)}"

    return problem
