"""An organization user, with the invite that makes one (``users:``, keyed by email).
Created by an invitation email; removed by delete. Its planning is ``proposals``' (an
escape hatch: invites, re-invites with another role)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.core.model import Action, FieldChange
from reconciler.providers.anthropic_admin.kinds.planner import EntryKind, Planner
from reconciler.providers.kinds.spec import Kind, Named, Privilege, Removal, ranked


def _fixed(fields: Mapping[str, Any]) -> str | None:
    """An organization admin: the API cannot remove one (the Console can)."""
    return "organization admin" if fields.get("role") == "admin" else None


# An organization role in the order of what it may do; admin and billing users can
# change who else may (members, keys, limits) or what the organization pays.
ROLES = ("user", "claude_code_user", "developer", "billing", "admin")


SPEC = Kind(
    name="user",
    noun="user",
    section=("users",),
    fields=("role",),
    removal=Removal.DELETE,
    many="users and invites",
    prunable=True,
    case_free_keys=True,
    value_field="role",
    security=(
        Privilege(
            "role",
            "its role",
            ranked(ROLES),
            alarming=lambda r: r in ("admin", "billing"),
            said_on_create=False,
        ),
        Named("email"),
    ),
)


def plan(planner: Planner, address: str, names: tuple[str, ...], fields: Mapping[str, Any]) -> None:
    """The file's user: invited, re-invited with another role, or updated; an admin is
    a check, never a write."""
    email = names[0]
    now = planner.now(address)
    role = fields["role"]
    if role == "admin":  # a check, never a write: admins are made in the Console
        if now is None or now["role"] != "admin":
            live = "is not a member" if now is None else f"is {now['role']} live"
            planner.notes.append(
                (
                    address,
                    f"{address} is listed as an organization admin but {live}; admins "
                    "are made and removed in the Console, so reconciler changes nothing",
                )
            )
        return
    if now is None:
        planner.add(address, Action.CREATE, {"role": FieldChange(None, role)}, verb="invite")
    elif now["role"] == role:
        return
    elif email in planner.invited:
        changed = {"role": FieldChange(now["role"], role)}
        planner.add(address, Action.REPLACE, changed, verb="re-invite")
    elif now["role"] == "admin":
        planner.problems[address] = (
            f"{address} is an organization admin, and an admin's role cannot be changed "
            "through the API: change it in the Console, or write admin"
        )
    else:
        planner.updates[address] = ({"role": now["role"]}, {"role": role})


ENTRY = EntryKind(SPEC, plan, counted=True, fixed=_fixed)
