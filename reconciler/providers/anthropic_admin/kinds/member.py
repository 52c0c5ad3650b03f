"""A workspace member (``workspaces.<name>.members:``, keyed by email): a user's role
in one workspace. Removed by delete."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.core.model import Action, FieldChange
from reconciler.providers.anthropic_admin import addresses
from reconciler.providers.anthropic_admin.addresses import USER, WORKSPACE
from reconciler.providers.anthropic_admin.kinds.planner import EntryKind, Planner
from reconciler.providers.kinds.spec import Kind, Named, Privilege, Removal, ranked

# A workspace role in the order of what it may do (billing is inherited, never given).
WORKSPACE_ROLES = (
    "workspace_user",
    "workspace_restricted_developer",
    "workspace_developer",
    "workspace_billing",
    "workspace_admin",
)

SPEC = Kind(
    name="member",
    noun="workspace member",
    section=("workspaces", "*", "members"),
    fields=("workspace_role",),
    removal=Removal.DELETE,
    many="members",
    prunable=True,
    case_free_keys=True,
    value_field="workspace_role",
    security=(
        Privilege(
            "workspace_role",
            "its workspace role",
            ranked(WORKSPACE_ROLES),
            said_on_create=False,
        ),
        Named("email"),
    ),
)


def plan(planner: Planner, address: str, names: tuple[str, ...], fields: Mapping[str, Any]) -> None:
    """The file's member: added or given another role, once its email is a member of the
    organization; an organization admin or billing user's inherited role is no write."""
    workspace, email = names
    if workspace in planner.archiving:
        return
    if planner.is_default(addresses.make(WORKSPACE, workspace)):
        planner.problems[address] = (
            f"{address}: the members of the organization's Default workspace are not "
            "managed through the API; remove the line"
        )
        return
    role = fields["workspace_role"]
    if email not in planner.org_roles:
        invited = (
            email in planner.invited
            or any(c.address == addresses.make(USER, email) for c in planner.changes)
            or addresses.make(USER, email) in planner.desired.resources
        )
        planner.notes.append(
            (
                address,
                f"{address}: {email} is not a member of the organization"
                + (
                    " yet; it joins the workspace on a plan after the invite is accepted"
                    if invited
                    else "; list it under users to invite it"
                ),
            )
        )
        return
    now = planner.now(address)
    org_role = planner.org_roles[email]
    if now is None and org_role == "admin":
        if role != "workspace_admin":
            planner.notes.append(
                (
                    address,
                    f"{address}: {email} is an organization admin and has workspace_admin "
                    f"in every workspace; {role} is not applied",
                )
            )
        return
    if now is None and org_role == "billing" and role == "workspace_billing":
        return  # inherited: billing users have workspace_billing everywhere
    if now is None:
        if role == "workspace_billing":
            planner.problems[address] = (
                f"{address}: workspace_billing cannot be given to a new member through the "
                "API; add the member with another role, or make the user a billing user"
            )
            return
        planner.add(
            address,
            Action.CREATE,
            {"workspace_role": FieldChange(None, role)},
            *planner.requires(workspace),
        )
        return
    planner.updates[address] = ({"workspace_role": now["workspace_role"]}, dict(fields))


ENTRY = EntryKind(SPEC, plan)
