"""What ``reconciler adopt`` writes into an Admin API file for one change of a plan:
the live value where the file writes it (a role is an entry's value, a workspace's
fields are keys under it, a rename renames the workspace's key)."""

from __future__ import annotations

from reconciler.core.edits import Drop, Edit, Put, Rename
from reconciler.core.model import Action, ResourceChange
from reconciler.providers.anthropic_admin import addresses
from reconciler.providers.anthropic_admin.addresses import (
    MEMBER,
    SPEND_LIMIT,
    USER,
    WORKSPACE,
    WORKSPACE_SPEND_LIMIT,
)
from reconciler.providers.anthropic_admin.surface import NESTED, SECTIONS

# Kinds whose file entry is a single value: (the field it holds).
_VALUE_OF = {
    USER: "role",
    MEMBER: "workspace_role",
    SPEND_LIMIT: "amount",
    WORKSPACE_SPEND_LIMIT: "amount",
}


def adoption(change: ResourceChange, path: tuple[str, ...]) -> list[Edit]:
    """The edits that make the entry at ``path`` say what is live (each ``before``)."""
    kind = addresses.parse(change.address)[0]
    if change.action is Action.CREATE:  # in the file, not live
        if kind in (SPEND_LIMIT, WORKSPACE_SPEND_LIMIT):
            return [Put(path, None)]  # no limit live: the file says so
        return [Drop(path)]
    before = {name: c.before for name, c in change.changes.items()}
    if kind in _VALUE_OF:
        return [Put(path, before[_VALUE_OF[kind]])]
    edits: list[Edit] = []
    for name, value in before.items():
        if kind in (WORKSPACE, *SECTIONS) and name == "name":
            edits.append(Rename(path, value))
        elif name.startswith(addresses.RESIDENCY):
            edits.append(Put((*path, "data_residency", name[len(addresses.RESIDENCY) :]), value))
        elif kind in SECTIONS and NESTED in name:
            edits.append(Put((*path, *name.split(NESTED, 1)), value))
        elif kind in (WORKSPACE, *SECTIONS) and value is None:
            edits.append(Drop((*path, name)))  # no colour or key live: not written
        else:
            edits.append(Put((*path, name), value))
    return edits
