"""A plan split by origin (``plan --compare-to``): what an edit of the file asks for,
apart from drift that was already there, and each change's security meaning said in
the words its origin calls for (found live, or this edit)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from reconciler.core.fielddiff import same
from reconciler.core.model import (
    Action,
    DesiredState,
    FieldChange,
    Plan,
    PlannedHold,
    ResourceChange,
    SecurityNote,
)


def said_by_origin(
    meanings: Iterable[SecurityNote],
    changes: Iterable[ResourceChange],
    drift: set[tuple[str, str]] | None = None,
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(live, edit)``: each change's security meaning in the words its origin calls
    for. ``drift`` (with ``--compare-to``) holds the ``(address, field)`` pairs the edit
    did not make: a meaning all of whose fields are drift questions the live value, any
    other the edit's. Without it a create is the file's and anything else is drift,
    and a meaning with words for one direction only is said in that one."""
    actions = {c.address: c.action for c in changes}
    live: list[str] = []
    edit: list[str] = []
    for note in meanings:
        if drift is not None:
            is_drift = bool(note.fields) and all((note.address, f) in drift for f in note.fields)
            words = note.live if is_drift else note.edit
            (live if is_drift else edit).extend([words] if words else [])
            continue
        prefer_edit = actions.get(note.address) is Action.CREATE
        if note.edit and (prefer_edit or not note.live):
            edit.append(note.edit)
        elif note.live:
            live.append(note.live)
    return tuple(live), tuple(edit)


def split_by_origin(
    plan: Plan, base: DesiredState, *, hold_edits: tuple[PlannedHold, ...] = ()
) -> tuple[Plan, Plan, Plan]:
    """``(change, drift, whole)``: what an edit of the file asks for, apart from drift
    that was already there, and the whole plan with its security meanings said by that
    origin (``said_by_origin``). A field is drift when the file on the base branch
    already wanted the same value for it (the edit did not touch it, yet live
    differs); a removal is drift when the base file pruned it too. Only updates are
    split field by field: a create or a removal is one step, drift only when all of
    it is. ``hold_edits`` (what the
    edit did to its holds) are the change's holds; drift has none."""
    change: list[ResourceChange] = []
    drift: list[ResourceChange] = []
    for resource in plan.resources:
        wanted_before = base.resources.get(resource.address, {})
        split: dict[bool, dict[str, FieldChange]] = {True: {}, False: {}}
        for name, field_change in resource.changes.items():
            if resource.action is Action.DELETE:
                unchanged_intent = resource.address not in base.resources and any(
                    resource.address.startswith(prefix) for prefix in base.prune
                )
            else:
                unchanged_intent = name in wanted_before and same(
                    wanted_before[name], field_change.after
                )
            split[unchanged_intent][name] = field_change
        mixed = split[True] and split[False]  # pragma: no mutate: the same when none is drift
        if mixed and resource.action is not Action.UPDATE:
            split = {False: dict(resource.changes)}
        for is_drift, fields in split.items():
            if fields:
                (drift if is_drift else change).append(replace(resource, changes=fields))
    drifted = {(r.address, name) for r in drift for name in r.changes}
    said_live = {n.live for n in plan.security}
    found = tuple(a for a in plan.alerts if a not in said_live)
    live_words, edit_words = said_by_origin(plan.security, plan.resources, drifted)
    return (
        replace(plan, resources=tuple(change), holds=hold_edits),
        replace(plan, resources=tuple(drift), warnings=(), holds=()),
        replace(plan, alerts=found + live_words, edit_alerts=edit_words),
    )
