"""Live Admin API state as a desired-state file that plans to no changes: the inverse
of ``planning.resources``."""

from __future__ import annotations

from typing import Any

from reconciler.model import LiveState
from reconciler.providers.anthropic_admin import addresses
from reconciler.providers.anthropic_admin.addresses import API_KEY, MEMBER, USER, WORKSPACE


def file_data(live: LiveState) -> dict[str, Any]:
    """Every member but admins (whose role the API cannot set), pending invites, active
    workspaces with their explicit members, and every API key."""
    users: dict[str, str] = {}
    workspaces: dict[str, dict[str, Any]] = {}
    keys: dict[str, dict[str, Any]] = {}
    members: list[tuple[str, str, str]] = []
    for address, resource in sorted(live.resources.items()):
        kind, names = addresses.parse(address)
        fields = resource.fields
        if kind == USER and fields["role"] != "admin":
            users[names[0]] = fields["role"]
        elif kind == WORKSPACE:
            workspaces[names[0]] = {
                "data_residency": addresses.residency(fields),
                "tags": fields["tags"],
            }
        elif kind == MEMBER:
            members.append((names[0], names[1], fields["workspace_role"]))
        elif kind == API_KEY:
            keys[names[0]] = {"name": fields["name"], "status": fields["status"]}
    for workspace, email, role in members:
        workspaces[workspace].setdefault("members", {})[email] = role
    data: dict[str, Any] = {"version": 1, "provider": "anthropic-admin"}
    for section, found in (("users", users), ("workspaces", workspaces), ("api_keys", keys)):
        if found:
            data[section] = found
    return data
