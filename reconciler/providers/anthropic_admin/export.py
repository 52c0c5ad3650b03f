"""Live Admin API state as a desired-state file that plans to no changes: the inverse
of ``proposals.resources``."""

from __future__ import annotations

from typing import Any

from reconciler.core.model import LiveState
from reconciler.providers.anthropic_admin import addresses
from reconciler.providers.anthropic_admin.addresses import (
    API_KEY,
    MEMBER,
    RATE_LIMIT,
    SPEND_LIMIT,
    USER,
    WORKSPACE,
    WORKSPACE_SPEND_LIMIT,
)


def file_data(live: LiveState) -> dict[str, Any]:
    """The organization's pin and spend limits; every member (admins as ``admin``, a check
    the plan makes and never a write), pending invites; active workspaces by id with their
    colour, key, explicit members, spend limits and rate-limit overrides (the Default
    workspace by id with its limits only); every API key."""
    users: dict[str, str] = {}
    workspaces: dict[str, dict[str, Any]] = {}
    keys: dict[str, dict[str, Any]] = {}
    spend: dict[str, int] = {}
    inside: list[tuple[str, str, str, Any]] = []  # (workspace, section, key, value)
    default = live.context.get("default_workspace")
    for address, resource in sorted(live.resources.items()):
        kind, names = addresses.parse(address)
        fields = resource.fields
        if kind == USER:
            users[names[0]] = fields["role"]
        elif kind == WORKSPACE and resource.id == default:
            workspaces[names[0]] = {"id": resource.id}  # the Default: its limits only
        elif kind == WORKSPACE:
            workspaces[names[0]] = {
                "id": resource.id,
                "display_color": fields["display_color"],
                **(
                    {"external_key_id": fields["external_key_id"]}
                    if fields.get("external_key_id")
                    else {}
                ),
                "data_residency": addresses.residency(fields),
                "tags": fields["tags"],
            }
        elif kind == MEMBER:
            inside.append((names[0], "members", names[1], fields["workspace_role"]))
        elif kind == WORKSPACE_SPEND_LIMIT and fields["amount"] is not None:
            inside.append((names[0], "spend_limits", names[1], fields["amount"]))
        elif kind == RATE_LIMIT:
            overrides = {t: v for t, v in fields.items() if v is not None}
            if overrides:
                inside.append((names[0], "rate_limits", names[1], overrides))
        elif kind == SPEND_LIMIT and fields["amount"] is not None:
            spend[names[0]] = fields["amount"]
        elif kind == API_KEY:
            keys[names[0]] = {"name": fields["name"], "status": fields["status"]}
    for workspace, section, key, value in inside:
        workspaces[workspace].setdefault(section, {})[key] = value
    data: dict[str, Any] = {"version": 1, "provider": "anthropic-admin"}
    if live.organization:
        data["organization"] = {"id": live.organization}
    for section, found in (
        ("spend_limits", spend),
        ("users", users),
        ("workspaces", workspaces),
        ("api_keys", keys),
    ):
        if found:
            data[section] = found
    return data
