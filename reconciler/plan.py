"""Desired against live, over managed fields only: the ``Plan``; its warnings,
its split into this edit and drift, and its staleness against live values.
Saved plans on disk are ``planfile``'s."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from reconciler.errors import PlanError, StalePlanError
from reconciler.model import (
    Action,
    DesiredState,
    FieldChange,
    LiveState,
    Plan,
    ResourceChange,
)

PLAN_ORDER = ("build", "team", "scale", "enterprise")


def make_plan(desired: DesiredState, live: LiveState, *, targets: Iterable[str] = ()) -> Plan:
    """The changes that would make ``live`` match ``desired``, sorted by address.

    A project in the file that does not exist live is an error naming it (this
    API cannot create projects); live projects not in the file are counted as
    unmanaged and left alone.
    """
    chosen = select(desired.resources, targets, source=desired.source)
    missing = sorted(a for a in chosen if a not in live.resources)
    if missing:
        raise PlanError(
            f"{desired.source} names {_list(missing)}, which the live organization does not "
            "have; projects cannot be created through this API: fix the id or remove it."
        )
    current: dict[str, dict[str, Any]] = {}
    wanted: dict[str, dict[str, Any]] = {}
    for address in chosen:
        fields = desired.resources[address]
        now = {name: live.resources[address].fields.get(name) for name in fields}
        if now != fields or not _same_types(now, fields):
            current[address], wanted[address] = now, dict(fields)
    differing = _differing_fields(current, wanted)
    changes = [
        ResourceChange(
            address=address,
            action=Action.UPDATE,
            etag=live.resources[address].etag,
            changes={
                n: FieldChange(current[address][n], wanted[address][n])
                for n in sorted(differing[address])
            },
        )
        for address in sorted(differing, key=_address_order)
    ]
    managed = {a for a in desired.resources if a.startswith("project.")}
    unmanaged = sum(1 for a in live.resources if a.startswith("project.") and a not in managed)
    resources = tuple(changes)
    return Plan(
        resources=resources,
        warnings=tuple(warnings_for(resources, live)),
        unmanaged=unmanaged,
        targets=tuple(sorted(set(targets))),
        source={"file": desired.source, "sha256": desired.digest},
    )


def select(resources: Mapping[str, Any], targets: Iterable[str], *, source: str) -> list[str]:
    """The addresses a ``--target`` list keeps (all of them without one)."""
    targets = list(targets)
    if not targets:
        return list(resources)
    unknown = sorted(t for t in targets if t not in resources)
    if unknown:
        raise PlanError(
            f"--target {_list(unknown)} names nothing in {source}; targets are "
            "addresses like 'company' or 'project.proj_1'."
        )
    return [a for a in resources if a in set(targets)]


def _differing_fields(
    current: dict[str, dict[str, Any]], wanted: dict[str, dict[str, Any]]
) -> dict[str, set[str]]:
    """Per address, the managed fields deepdiff finds different (1, 1.0 and True are
    not the same value); one deepdiff over every resource that differs at all.

    Imported here: deepdiff pulls in numpy and pydantic (a quarter of a second), and
    only plans with a difference ever get this far."""
    if not current:
        return {}
    from deepdiff import DeepDiff

    found: dict[str, set[str]] = {}
    for change in DeepDiff(current, wanted, ignore_order=False, view="tree").values():
        for leaf in change:
            address, field, *_ = leaf.path(output_format="list")
            found.setdefault(str(address), set()).add(str(field))
    return found


def _same_types(current: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    return all(type(current[k]) is type(wanted[k]) for k in wanted)


def _address_order(address: str) -> tuple[int, str]:
    return (0 if address == "company" else 1, address)


def _list(items: list[str]) -> str:
    return ", ".join(items)


def warnings_for(resources: Iterable[ResourceChange], live: LiveState) -> list[str]:
    """Risky values a reviewer should see before approving."""
    found = []
    for resource in resources:
        for name, change in resource.changes.items():
            where = f"{resource.address}.{name}"
            if (
                name == "usage_limit"
                and resource.address == "company"
                and isinstance(change.after, int)
                and live.tokens_used is not None
                and change.after < live.tokens_used
            ):
                found.append(
                    f"{where}: {change.after} is below this month's usage "
                    f"({live.tokens_used} tokens); requests will be refused until the period ends"
                )
            if (
                name == "plan"
                and change.before in PLAN_ORDER
                and change.after in PLAN_ORDER
                and PLAN_ORDER.index(change.after) < PLAN_ORDER.index(change.before)
            ):
                found.append(f"{where}: downgrade from {change.before} to {change.after}")
            if name == "billing_email":
                before, after = _domain(change.before), _domain(change.after)
                if before and after and before != after:
                    found.append(f"{where}: billing email domain changes from {before} to {after}")
    return found


def _domain(email: Any) -> str | None:
    return email.rsplit("@", 1)[1].lower() if isinstance(email, str) and "@" in email else None


def check_not_stale(plan: Plan, live: LiveState) -> None:
    """Refuse the whole plan when any planned field's live value is not its ``before``."""
    moved = []
    for resource in plan.resources:
        current = live.resources.get(resource.address)
        if current is None:
            moved.append(f"{resource.address} (gone)")
            continue
        for name, change in resource.changes.items():
            now = current.fields.get(name)
            if now != change.before or type(now) is not type(change.before):
                moved.append(
                    f"{resource.address}.{name} (planned from {json.dumps(change.before)}"
                    f", now {json.dumps(now)})"
                )
    if moved:
        raise StalePlanError(
            f"The saved plan is stale: {_list(moved[:5])}"
            f"{f' and {len(moved) - 5} more' if len(moved) > 5 else ''} changed since it was "
            "made. Nothing was written; run plan again and review the new plan."
        )


def split_by_origin(plan: Plan, base: DesiredState) -> tuple[Plan, Plan]:
    """``(change, drift)``: what an edit of the file asks for, apart from drift that was
    already there. A field is drift when the file on the base branch already wanted the
    same value for it (the edit did not touch it, yet live differs)."""
    change: list[ResourceChange] = []
    drift: list[ResourceChange] = []
    for resource in plan.resources:
        wanted_before = base.resources.get(resource.address, {})
        split: dict[bool, dict[str, FieldChange]] = {True: {}, False: {}}
        for name, field_change in resource.changes.items():
            unchanged_intent = name in wanted_before and _same(
                wanted_before[name], field_change.after
            )
            split[unchanged_intent][name] = field_change
        for is_drift, fields in split.items():
            if fields:
                part = ResourceChange(resource.address, resource.action, resource.etag, fields)
                (drift if is_drift else change).append(part)
    return (
        replace(plan, resources=tuple(change)),
        replace(plan, resources=tuple(drift), warnings=()),
    )


def _same(a: Any, b: Any) -> bool:
    return bool(a == b and type(a) is type(b))
