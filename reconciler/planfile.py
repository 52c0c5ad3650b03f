"""The life of a saved plan (``plan --out``): written whole with the source file's
digest and never the key, read back, checked against the file it should come
from, rendered again; the undo plan ``apply --undo-out`` writes as it goes; and
apply reports read back for ``show``."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from reconciler import providers
from reconciler.errors import ConfigError, PlanFileError, StalePlanError
from reconciler.files import write_json
from reconciler.model import (
    FORMAT_VERSION,
    READABLE_FORMAT_VERSIONS,
    Action,
    ApplyReport,
    FieldChange,
    Outcome,
    Plan,
    ResourceChange,
    ResourceResult,
)

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
    if not isinstance(data, dict) or data.get("format_version") not in READABLE_FORMAT_VERSIONS:
        raise PlanFileError(
            f"{path} is not a reconciler plan of format_version "
            f"{FORMAT_VERSION}; make it again with 'reconciler plan --out'."
        )
    try:
        summary = data.get("summary", {})
        unmanaged = (
            {"project": int(summary.get("unmanaged_projects", 0))}
            if data["format_version"] == 1
            else {str(k): int(v) for k, v in summary.get("unmanaged", {}).items()}
        )
        plan = Plan(
            resources=_resources(data["resources"]),
            warnings=tuple(str(w) for w in data.get("warnings", [])),
            unmanaged=unmanaged,
            targets=tuple(data.get("targets", [])),
            source=dict(data.get("source", {})),
            provider=str(data.get("provider", "company")),
            guards=tuple(str(g) for g in data.get("guards", [])),
        )
        providers.get(plan.provider)
        sections = None
        if "sections" in data:
            parts = data["sections"]
            sections = (
                replace(plan, resources=_resources(parts["change"])),
                replace(plan, resources=_resources(parts["drift"]), warnings=()),
            )
        api = dict(data.get("api") or {})
    except (KeyError, TypeError, ValueError, AttributeError, ConfigError) as exc:
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
            requires=tuple(str(a) for a in r.get("requires", [])),
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


_UNDO = {
    Action.CREATE: Action.DELETE,
    Action.DELETE: Action.CREATE,
    Action.UPDATE: Action.UPDATE,
    Action.REPLACE: Action.REPLACE,
}


class UndoRecorder:
    """``apply --undo-out``: after each applied resource, rewrite a saved plan that puts
    back every value changed so far, with the new ETags, so an interrupted apply
    still leaves a complete undo of what it did. An archive cannot be undone (the
    API has no unarchive); it is named in the undo plan's warnings instead."""

    def __init__(self, path: Path, plan: Plan, *, base_url: str, api_key_env: str | None) -> None:
        self._path = path
        self._source = plan.source
        self._provider = plan.provider
        self._actions = {r.address: r.action for r in plan.resources}
        self._lost: list[str] = []
        self._base_url = base_url
        self._api_key_env = api_key_env
        self._reverse: list[ResourceChange] = []

    def record(self, result: ResourceResult) -> None:
        if result.outcome is not Outcome.APPLIED:
            return
        action = self._actions.get(result.address, Action.UPDATE)
        if action in _UNDO:
            self._reverse.append(
                ResourceChange(
                    result.address,
                    _UNDO[action],
                    result.etag,
                    {n: FieldChange(c.after, c.before) for n, c in result.changes.items()},
                )
            )
        else:
            self._lost.append(f"{result.address} was archived; archiving cannot be undone")
        undo = Plan(
            resources=tuple(self._reverse),
            source=self._source,
            provider=self._provider,
            warnings=tuple(self._lost),
        )
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
