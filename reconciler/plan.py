"""Desired against live, over managed fields only: the ``Plan``.

Also the life of a saved plan: written with the source file's digest (never
the key), read back, and checked for staleness against live values before
anything is written.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from reconciler.errors import PlanError, PlanFileError, StalePlanError
from reconciler.files import write_json
from reconciler.model import (
    FORMAT_VERSION,
    Action,
    ApplyReport,
    DesiredState,
    FieldChange,
    LiveState,
    Outcome,
    Plan,
    ResourceChange,
    ResourceResult,
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


# -- saved plans ---------------------------------------------------------------------------


Sections = tuple[Plan, Plan]


@dataclass(frozen=True)
class SavedPlan:
    """A plan read back from ``--out``: the plan, where to apply it, and (when it was
    made with ``--compare-to``) its split into this edit and drift, for ``show``."""

    plan: Plan
    api: Mapping[str, Any]
    sections: Sections | None = None


def saved_plan_data(
    plan: Plan, *, base_url: str, api_key_env: str | None, sections: Sections | None = None
) -> dict[str, Any]:
    """The plan's JSON plus where it came from; the key's value is never in it."""
    data = {
        **plan.data(),
        "source": dict(plan.source),
        "targets": list(plan.targets),
        "api": {"base_url": base_url, "api_key_env": api_key_env},
    }
    if sections is not None:
        change, drift = sections
        data["sections"] = {
            "change": change.data()["resources"],
            "drift": drift.data()["resources"],
        }
    return data


def save(
    plan: Plan,
    path: Path,
    *,
    base_url: str,
    api_key_env: str | None,
    sections: Sections | None = None,
) -> None:
    write_json(
        path,
        saved_plan_data(plan, base_url=base_url, api_key_env=api_key_env, sections=sections),
    )


def load_saved(path: Path) -> SavedPlan:
    """A saved plan; anything else is a ``PlanFileError`` saying how to make one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PlanFileError(
            f"{path} is not a readable plan file ({exc}); make one with "
            "'reconciler plan FILE --out PLAN.json'."
        ) from None
    if not isinstance(data, dict) or data.get("format_version") != FORMAT_VERSION:
        raise PlanFileError(
            f"{path} is not a reconciler plan of format_version "
            f"{FORMAT_VERSION}; make it again with 'reconciler plan --out'."
        )
    try:
        plan = Plan(
            resources=_resources(data["resources"]),
            warnings=tuple(str(w) for w in data.get("warnings", [])),
            unmanaged=int(data.get("summary", {}).get("unmanaged_projects", 0)),
            targets=tuple(data.get("targets", [])),
            source=dict(data.get("source", {})),
        )
        sections = None
        if "sections" in data:
            parts = data["sections"]
            sections = (
                replace(plan, resources=_resources(parts["change"])),
                replace(plan, resources=_resources(parts["drift"]), warnings=()),
            )
        api = dict(data.get("api") or {})
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise PlanFileError(
            f"{path} is damaged ({type(exc).__name__}: {exc}); make it again "
            "with 'reconciler plan --out'."
        ) from None
    return SavedPlan(plan, api, sections)


def _resources(items: Any) -> tuple[ResourceChange, ...]:
    return tuple(
        ResourceChange(
            address=str(r["address"]),
            action=Action(r["action"]),
            etag=r.get("etag"),
            changes={str(n): FieldChange(c["before"], c["after"]) for n, c in r["changes"].items()},
        )
        for r in items
    )


def check_source(saved: Plan, expected: Path) -> None:
    """Refuse a saved plan that was not made from ``expected`` as it is now: in CI, the
    reviewed plan must be the plan of the file being merged, or nothing is applied."""
    try:
        digest = hashlib.sha256(expected.read_bytes()).hexdigest()
    except OSError as exc:
        raise PlanFileError(f"cannot read {expected} to check the plan: {exc.strerror}") from None
    if saved.source.get("sha256") != digest:
        raise StalePlanError(
            f"The saved plan was not made from {expected} as it is now (it was made from "
            f"another version of the file); nothing was written. Run plan again and review "
            "the new plan."
        )


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


def is_saved_plan(path: Path) -> bool:
    """A ``.json`` file, or any file holding a JSON object with a ``format_version``."""
    if path.suffix.lower() == ".json":
        return True
    try:
        with path.open("rb") as handle:
            if not handle.read(256).lstrip().startswith(b"{"):
                return False
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and "format_version" in data


def warn_if_source_changed(plan: Plan, warn: Callable[[str], None]) -> None:
    """A saved plan applies what was reviewed; say so when the file has moved on since."""
    name, digest = plan.source.get("file"), plan.source.get("sha256")
    if not name or not digest:
        return
    try:
        current = hashlib.sha256(Path(name).read_bytes()).hexdigest()
    except OSError:
        return
    if current != digest:
        warn(
            f"{name} changed since this plan was made; applying the saved plan as reviewed, "
            "not the file as it is now."
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


class UndoRecorder:
    """``apply --undo-out``: after each applied resource, rewrite a saved plan that puts
    back every value changed so far, with the new ETags, so an interrupted apply
    still leaves a complete undo of what it did."""

    def __init__(self, path: Path, plan: Plan, *, base_url: str, api_key_env: str | None) -> None:
        self._path = path
        self._source = plan.source
        self._base_url = base_url
        self._api_key_env = api_key_env
        self._reverse: list[ResourceChange] = []

    def record(self, result: ResourceResult) -> None:
        if result.outcome is not Outcome.APPLIED:
            return
        self._reverse.append(
            ResourceChange(
                result.address,
                Action.UPDATE,
                result.etag,
                {n: FieldChange(c.after, c.before) for n, c in result.changes.items()},
            )
        )
        undo = Plan(resources=tuple(self._reverse), source=self._source)
        save(undo, self._path, base_url=self._base_url, api_key_env=self._api_key_env)


def load_report_if_report(path: Path) -> ApplyReport | None:
    """An apply report (``apply --report``), or None when the file is something else."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or "results" not in data:
        return None
    try:
        return ApplyReport(
            results=tuple(
                ResourceResult(
                    str(r["address"]),
                    Outcome(r["outcome"]),
                    {str(n): FieldChange(c["before"], c["after"]) for n, c in r["changes"].items()},
                    r.get("reason"),
                )
                for r in data["results"]
            ),
            warnings=tuple(str(w) for w in data.get("warnings", [])),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise PlanFileError(f"{path} is a damaged apply report ({type(exc).__name__}).") from None
