"""The providers installed: every entry point of the group ``reconciler.providers``
(this package's own ``company`` and ``anthropic-admin``, declared in
``pyproject.toml``, and any other package's), loaded once, by name.

The built-in providers live in this package's subpackages; like any other, they
are reached through their entry points, never imported by the engine.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points

from reconciler.core.errors import ConfigError, Problem
from reconciler.core.model import DEFAULT_PROVIDER
from reconciler.providers.base import Provider

GROUP = "reconciler.providers"
__all__ = ["DEFAULT_PROVIDER", "Provider", "get", "installed", "names"]


def names() -> tuple[str, ...]:
    return tuple(_registry())


def installed() -> tuple[Provider, ...]:
    return tuple(_registry().values())


def get(name: str) -> Provider:
    """The provider called ``name``; an unknown name is a file problem, not a crash."""
    registry = _registry()
    if name not in registry:
        raise ConfigError(
            [Problem("", 1, 1, "provider", f"unknown provider {name!r}; use one of {names()}")]
        )
    return registry[name]


@cache
def _registry() -> dict[str, Provider]:
    """Each entry point's provider, the default first. An entry point that does not
    load is left out rather than breaking every command."""
    found: dict[str, Provider] = {}
    for point in sorted(entry_points(group=GROUP), key=lambda p: p.name != DEFAULT_PROVIDER):
        provider = point.load()()
        found[provider.name] = provider
    if DEFAULT_PROVIDER not in found:
        raise RuntimeError(
            f"reconciler is not installed (no {GROUP} entry points); run pip install -e ."
        )
    return found
