"""Live Admin API state as a desired-state file that plans to no changes: the inverse
of ``proposals.resources``, each entry written by its kind's codec
(``providers.kinds.codec``)."""

from __future__ import annotations

from typing import Any

from reconciler.core.model import LiveState
from reconciler.providers.anthropic_admin import addresses
from reconciler.providers.anthropic_admin.kinds import BY_NAME
from reconciler.providers.kinds import codec

# The people and workspaces first, as a reader of the file expects them; the security
# sections after, in the order their addresses sort.
_FIRST = ("spend_limits", "users", "workspaces", "api_keys")


def file_data(live: LiveState) -> dict[str, Any]:
    """The organization's pin and spend limits; every member (admins as ``admin``, a check
    the plan makes and never a write), pending invites; active workspaces by id with their
    colour, key, explicit members, spend limits and rate-limit overrides (the Default
    workspace by id with its limits only); every API key; and every resource of the
    security surface read, with each of its fields."""
    entries: list[tuple[tuple[str, ...], Any]] = []
    for address, resource in sorted(live.resources.items()):
        kind, names = addresses.parse(address)
        value = codec.entry(BY_NAME[kind], resource, live.context)
        if value is not None:
            entries.append((codec.path_of(BY_NAME[kind], names), value))
    tops = list(dict.fromkeys(path[0] for path, _ in entries))
    data: dict[str, Any] = {"version": 1, "provider": "anthropic-admin"}
    if live.organization:
        data["organization"] = {"id": live.organization}
    for top in sorted(tops, key=lambda t: _FIRST.index(t) if t in _FIRST else len(_FIRST)):
        data[top] = {}
    codec.placed(data, entries)
    return data
