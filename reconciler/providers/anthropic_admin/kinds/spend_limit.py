"""Spend limits: the organization's (``spend_limits:``) and a workspace's
(``workspaces.<name>.spend_limits:``), each by period. Set by one upsert; removed by
delete. A period with no limit is written as null."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.core.model import Action, FieldChange, ResourceChange
from reconciler.providers.anthropic_admin import limits
from reconciler.providers.anthropic_admin.kinds.planner import EntryKind, Guarded, Planner
from reconciler.providers.kinds.spec import Kind, Removal

SPEC = Kind(
    name="spend_limit",
    noun="spend limit",
    section=("spend_limits",),
    fields=("amount",),
    removal=Removal.DELETE,
    value_field="amount",
    absent_as_null=True,
)
WORKSPACE_SPEC = Kind(
    name="workspace_spend_limit",
    noun="workspace spend limit",
    section=("workspaces", "*", "spend_limits"),
    fields=("amount",),
    removal=Removal.DELETE,
    value_field="amount",
    absent_as_null=True,
)


def plan(planner: Planner, address: str, names: tuple[str, ...], fields: Mapping[str, Any]) -> None:
    """A spend limit of the organization (one name: its period) or of a workspace (the
    workspace, then the period): created, updated, or deleted when the file says null."""
    workspace = names[0] if len(names) > 1 else None
    if workspace in planner.archiving:
        return
    if not planner.live.context.get("spend_limits_readable", True):
        planner.spend_skipped.append(address)
        return
    now = planner.now(address)
    before, after = (now or {}).get("amount"), fields["amount"]
    planner.about[address] = limits.spend_about(before, after, planner.live.context.get("currency"))
    waits = planner.requires(workspace) if workspace else []
    if now is None:
        if after is not None:
            planner.add(address, Action.CREATE, {"amount": FieldChange(None, after)}, *waits)
    elif after is None:
        planner.add(address, Action.DELETE, {"amount": FieldChange(before, None)})
    else:
        planner.updates[address] = ({"amount": before}, {"amount": after})


def guarded(change: ResourceChange, names: tuple[str, ...]) -> Guarded | None:
    """A monthly limit is checked against this month's spend."""
    if names[-1] != "monthly":
        return None
    return Guarded("spend", names[0] if len(names) > 1 else None)


ENTRY = EntryKind(SPEC, plan, guarded=guarded)
WORKSPACE_ENTRY = EntryKind(WORKSPACE_SPEC, plan, guarded=guarded)
