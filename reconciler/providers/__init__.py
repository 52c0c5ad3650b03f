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
from reconciler.core.escape import visible
from reconciler.core.model import DEFAULT_PROVIDER
from reconciler.providers.base import Provider

GROUP = "reconciler.providers"
__all__ = ["DEFAULT_PROVIDER", "Provider", "broken", "get", "installed", "names"]


def names() -> tuple[str, ...]:
    return tuple(_registry())


def installed() -> tuple[Provider, ...]:
    return tuple(_registry().values())


def get(name: str) -> Provider:
    """The provider called ``name``; an unknown name is a file problem, not a crash,
    and so is one whose package is installed but does not load."""
    registry = _registry()
    if name in registry:
        return registry[name]
    failed = broken()
    why = (
        f"provider {name!r} is installed but does not load ({failed[name]}); reinstall its "
        "package, or use one of " + str(names())
        if name in failed
        else f"unknown provider {name!r}; use one of {names()}"
    )
    raise ConfigError([Problem("", 1, 1, "provider", why)])


@cache
def _loaded() -> tuple[dict[str, Provider], dict[str, str]]:
    """Each entry point's provider, the default first; and, by entry point name, why
    each that does not load did not (one broken plugin must not break every command,
    nor the files of the other providers)."""
    found: dict[str, Provider] = {}
    broken: dict[str, str] = {}
    for point in sorted(entry_points(group=GROUP), key=lambda p: p.name != DEFAULT_PROVIDER):
        try:
            provider = point.load()()
        except Exception as exc:  # a plugin's own failure, named where its files are used
            broken[point.name] = f"{type(exc).__name__}: {visible(str(exc))[:200]}"
            continue
        found[provider.name] = provider
    if DEFAULT_PROVIDER not in found:
        raise RuntimeError(
            f"reconciler is not installed (no {GROUP} entry points); run pip install -e ."
        )
    return found, broken


def _registry() -> dict[str, Provider]:
    return _loaded()[0]


def broken() -> dict[str, str]:
    """Why each installed provider that does not load did not, by name."""
    return dict(_loaded()[1])
