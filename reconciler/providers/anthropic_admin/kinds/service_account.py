"""A service account: a workload's identity in the organization (``service_accounts:``,
keyed by its name, which never changes), with its explicit workspace memberships.
Every account is implicitly ``workspace_user`` in the Default workspace, which is not
listed. Archived, never deleted. Its role and memberships decide what a workload that
signs in as it may do; an admin-role account is made and changed only interactively,
so reconciler watches one and never writes it."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from reconciler.core.errors import ApiError
from reconciler.core.model import Action, ResourceChange
from reconciler.core.secret_sink import OperatorSecrets
from reconciler.providers.anthropic_admin import addresses
from reconciler.providers.anthropic_admin.kinds.kind import (
    AdminKind,
    Calls,
    Names,
    Watch,
    id_of,
    live_of,
    removed,
)
from reconciler.providers.anthropic_admin.kinds.member import WORKSPACE_ROLES
from reconciler.providers.kinds.spec import Kind, Named, Privilege, Removal, ranked

NAME = "service_account"
ROLES = ("developer", "admin")
_wider_role = ranked(ROLES)
_wider_in_workspace = ranked(WORKSPACE_ROLES)


def _wider_memberships(a: Any, b: Any) -> bool:
    """``b`` gives a workspace ``a`` does not, or a higher role in one."""
    was, now = dict(a or {}), dict(b or {})
    return any(w not in was or _wider_in_workspace(was[w], r) for w, r in now.items())


SPEC = Kind(
    name=NAME,
    noun="service account",
    section=("service_accounts",),
    fields=("organization_role", "description", "workspaces"),
    removal=Removal.ARCHIVE,
    prunable=True,
    security=(
        Privilege(
            "organization_role", "its organization role", _wider_role, lambda r: r == "admin"
        ),
        Privilege("workspaces", "its workspace roles", _wider_memberships),
        Named("name"),
    ),
)


async def read(calls: Calls) -> list[Any]:
    """Active accounts, each with its explicit memberships (workspace id -> role)."""
    org = calls.org
    accounts = [
        a
        for a in await calls.listed("list service accounts", org.service_accounts.list)
        if a.archived_at is None
    ]
    joined = await asyncio.gather(
        *(
            calls.listed(
                f"list the workspaces of service account {a.name}",
                org.service_accounts.workspaces.list,
                service_account_id=a.id,
            )
            for a in accounts
        )
    )
    return [
        (a, {m.workspace_id: m.workspace_role for m in members if not m.implicit})
        for a, members in zip(accounts, joined, strict=True)
    ]


def live(item: Any, names: Names) -> tuple[str, dict[str, Any]] | None:
    account, joined = item
    if account.archived_at is not None:
        return None
    return account.name, {
        "organization_role": account.organization_role,
        "description": account.description or None,
        "workspaces": {names.workspaces.get(w, w): r for w, r in sorted(joined.items())},
    }


def watched(seen: Watch) -> str | None:
    if "admin" in ((seen.now or {}).get("organization_role"), seen.wanted.get("organization_role")):
        return (
            "an admin-role service account is made and changed only with an interactive "
            "credential (a user's OAuth token or a Console session), never by a workload"
        )
    return None


async def write(calls: Calls, change: ResourceChange, _: OperatorSecrets) -> None:
    """Create or update an account, then its workspace memberships (an add sets the
    role, a remove is idempotent; the implicit Default membership is not listed)."""
    if change.action.removes:
        await removed(calls, change, calls.org.service_accounts.archive)
        return
    name = addresses.parse(change.address)[1][0]
    after = {n: c.after for n, c in change.changes.items()}
    joined = after.pop("workspaces", None)
    live_one = await live_of(calls, change)
    if change.action is Action.CREATE:
        account_id = await calls.create_once(
            f"create {change.address}",
            lambda c: c.beta.organization.service_accounts.create(name=name, **after),
            change.address,
        )
    elif live_one is None or live_one.id is None:
        raise ApiError(f"{change.address} is not live any more (archived since the plan?).")
    else:
        account_id = live_one.id
        if after:
            await calls.call(
                f"update {change.address}", calls.org.service_accounts.update(live_one.id, **after)
            )
    if joined is None:
        return
    was: Mapping[str, str] = (live_one.fields.get("workspaces") or {}) if live_one else {}
    index = (await calls.index()).resources
    for workspace, role in sorted(dict(joined).items()):
        if was.get(workspace) != role:
            await calls.call(
                f"give {change.address} {role} in workspace {workspace!r}",
                calls.org.service_accounts.workspaces.add(
                    str(account_id),
                    workspace_id=id_of(index, addresses.make(addresses.WORKSPACE, workspace)),
                    workspace_role=role,
                ),
            )
    for workspace in sorted(set(was) - set(joined)):
        await calls.call(
            f"remove {change.address} from workspace {workspace!r}",
            calls.org.service_accounts.workspaces.remove(
                id_of(index, addresses.make(addresses.WORKSPACE, workspace)),
                service_account_id=str(account_id),
            ),
            missing_ok=True,
        )


KIND = AdminKind(
    SPEC,
    oauth_only=True,
    read=read,
    live=live,
    write=write,
    watched=watched,
    fixed=("name",),
    ident=lambda item: (str(item[0].id), str(item[0].name)),
)
