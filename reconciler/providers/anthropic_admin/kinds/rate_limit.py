"""A workspace's rate-limit overrides of one group (``workspaces.<name>.rate_limits:``),
a field per limiter type. Never deleted: an override is set back, or cleared."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.core.model import Action, FieldChange, LiveResource, ResourceChange
from reconciler.providers.anthropic_admin import limits
from reconciler.providers.anthropic_admin.kinds.planner import EntryKind, Guarded, Planner
from reconciler.providers.kinds.spec import Kind, Removal


def _overrides(resource: LiveResource, context: Mapping[str, Any]) -> dict[str, Any] | None:
    """The limiter types the workspace overrides (None: it inherits every one)."""
    return {t: v for t, v in resource.fields.items() if v is not None} or None


SPEC = Kind(
    name="rate_limit",
    noun="rate limit",
    section=("workspaces", "*", "rate_limits"),
    fields=(),
    removal=Removal.NONE,
    exported=_overrides,
)


def plan(planner: Planner, address: str, names: tuple[str, ...], fields: Mapping[str, Any]) -> None:
    """A workspace's overrides of one group's limiter types (null clears one), checked
    against the groups the organization has."""
    workspace, group = names
    if workspace in planner.archiving:
        return
    groups: Mapping[str, Any] = planner.live.context.get("rate_limit_groups", {})
    if planner.live.context.get("rate_limits_unreadable"):
        why = planner.live.context["rate_limits_unreadable"]
        planner.problems[address] = (
            f"{address}: the organization's rate limits could not be read ({why}), so "
            "the file's overrides cannot be planned"
        )
        return
    if group not in groups:
        planner.problems[address] = limits.unknown_group(address, group, groups)
        return
    unknown = [t for t in fields if t not in groups[group]["limits"]]
    if unknown:
        planner.problems[address] = limits.unknown_types(address, unknown, groups[group])
        return
    planner.about[address] = limits.rate_about(groups[group], list(fields))
    now = planner.now(address)
    if now is not None:
        planner.updates[address] = ({t: now.get(t) for t in fields}, dict(fields))
        return
    wanted = {t: FieldChange(None, v) for t, v in fields.items() if v is not None}
    if wanted:  # a workspace this plan creates: its overrides come with it
        planner.add(address, Action.CREATE, wanted, *planner.requires(workspace))


def guarded(change: ResourceChange, names: tuple[str, ...]) -> Guarded | None:
    """A changed override is checked against the workspace's busiest minute."""
    return Guarded("rate", names[0]) if change.action is Action.UPDATE else None


ENTRY = EntryKind(SPEC, plan, guarded=guarded, review=limits.review)
