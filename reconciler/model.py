"""The plain values that flow through the pipeline.

    DesiredState ─┐
                  ├─► Plan (ResourceChange, FieldChange) ─► ApplyReport (ResourceResult)
    LiveState ────┘

Resources are addressed (``company``, ``project.proj_1``) and carry an action
and field changes, so a provider with creates and deletes adds values, not
special cases.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

FORMAT_VERSION = 1


class Action(enum.StrEnum):
    UPDATE = "update"


class Outcome(enum.StrEnum):
    APPLIED = "applied"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class DesiredState:
    """What a file asks for: managed fields per address, nothing more."""

    source: str
    digest: str
    resources: Mapping[str, Mapping[str, Any]]
    base_url: str | None = None
    api_key_env: str | None = None


@dataclass(frozen=True)
class LiveResource:
    fields: Mapping[str, Any]
    etag: str | None


@dataclass(frozen=True)
class LiveState:
    """What the API holds now, plus the context plans warn about."""

    resources: Mapping[str, LiveResource]
    tokens_used: int | None = None


@dataclass(frozen=True)
class FieldChange:
    before: Any
    after: Any


def changes_data(changes: Mapping[str, FieldChange]) -> dict[str, dict[str, Any]]:
    """The JSON form of field changes, shared by plans and reports."""
    return {name: {"before": c.before, "after": c.after} for name, c in changes.items()}


@dataclass(frozen=True)
class ResourceChange:
    """One resource's change: only the fields that differ."""

    address: str
    action: Action
    etag: str | None
    changes: Mapping[str, FieldChange]

    def data(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "action": str(self.action),
            "etag": self.etag,
            "changes": changes_data(self.changes),
        }

    @property
    def after(self) -> dict[str, Any]:
        return {name: c.after for name, c in self.changes.items()}


@dataclass(frozen=True)
class Plan:
    """Sorted resource changes, warnings and counts; knows its JSON form and its size."""

    resources: tuple[ResourceChange, ...]
    warnings: tuple[str, ...] = ()
    unmanaged: int = 0
    targets: tuple[str, ...] = ()
    source: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def to_change(self) -> int:
        return len(self.resources)

    @property
    def fields(self) -> int:
        return sum(len(r.changes) for r in self.resources)

    @property
    def is_empty(self) -> bool:
        return not self.resources

    def summary(self) -> str:
        if self.is_empty:
            head = "No changes: the live organization matches the file."
        else:
            noun = "resource" if self.to_change == 1 else "resources"
            fields = "field" if self.fields == 1 else "fields"
            head = f"Plan: {self.to_change} {noun} to change ({self.fields} {fields})."
        unmanaged = "project" if self.unmanaged == 1 else "projects"
        return f"{head} {self.unmanaged} unmanaged {unmanaged}."

    def data(self) -> dict[str, Any]:
        """The documented, versioned JSON form (format_version 1)."""
        return {
            "format_version": FORMAT_VERSION,
            "resources": [r.data() for r in self.resources],
            "warnings": list(self.warnings),
            "summary": {
                "to_change": self.to_change,
                "fields": self.fields,
                "unmanaged_projects": self.unmanaged,
            },
        }


@dataclass(frozen=True)
class ResourceResult:
    address: str
    outcome: Outcome
    changes: Mapping[str, FieldChange]
    reason: str | None = None
    etag: str | None = None

    def data(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "outcome": str(self.outcome),
            "reason": self.reason,
            "changes": changes_data(self.changes),
        }


@dataclass(frozen=True)
class ApplyReport:
    """Per resource, applied / failed (why) / skipped (why)."""

    results: tuple[ResourceResult, ...]
    warnings: tuple[str, ...] = ()

    def count(self, outcome: Outcome) -> int:
        return sum(1 for r in self.results if r.outcome is outcome)

    @property
    def ok(self) -> bool:
        return all(r.outcome is Outcome.APPLIED for r in self.results)

    def summary(self) -> str:
        return (
            f"Apply: {self.count(Outcome.APPLIED)} applied, {self.count(Outcome.FAILED)} failed, "
            f"{self.count(Outcome.SKIPPED)} skipped."
        )

    def data(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "results": [r.data() for r in self.results],
            "warnings": list(self.warnings),
            "summary": {outcome.value: self.count(outcome) for outcome in Outcome},
        }
