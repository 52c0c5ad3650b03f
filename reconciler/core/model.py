"""The plain values that flow through the pipeline.

    DesiredState ─┐
                  ├─► Plan (ResourceChange, FieldChange) ─► ApplyReport (ResourceResult)
    LiveState ────┘

Resources are addressed (``company``, ``project.proj_1``, ``user["ada@example.com"]``)
and carry an action and field changes; every provider speaks in these values, so
the engine (plan, render, apply) knows no provider's resources.

Over 400 lines and one job: the values themselves and their JSON forms, which every
stage shares; splitting them would make each import the others.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from reconciler.core.verdict import Verdict

FORMAT_VERSION = 2
# A file without ``provider:`` is a Company API file: the file format's default.
DEFAULT_PROVIDER = "company"
READABLE_FORMAT_VERSIONS = (1, 2)


class Action(enum.StrEnum):
    """What a change does to its resource. A create's ``before`` values and a delete's
    ``after`` values are null; archive is a removal the API keeps a record of;
    replace deletes and creates again (a pending invite with another role)."""

    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"
    ARCHIVE = "archive"

    @property
    def symbol(self) -> str:
        return _SYMBOLS[self]

    @property
    def removes(self) -> bool:
        return self in (Action.DELETE, Action.ARCHIVE)


# What an API calls an action when its own word says more (the Admin API creates a user
# by sending an invitation email): a change's ``verb``, only ever with its action.
VERBS = {"invite": Action.CREATE, "re-invite": Action.REPLACE}

_SYMBOLS = {
    Action.CREATE: "+",
    Action.UPDATE: "~",
    Action.REPLACE: "-/+",
    Action.DELETE: "-",
    Action.ARCHIVE: "-",
}


class Outcome(enum.StrEnum):
    APPLIED = "applied"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Hold:
    """One hold of a file: where it is written, what it holds, and when it ends."""

    path: tuple[str, ...]
    until: datetime  # the first moment it no longer holds
    written: str  # ``until`` as the file writes it
    value: Any  # the held value; for a grant, the role
    then: Any = None
    grant: bool = False
    expired: bool = False
    address: str = ""  # filled once the provider has named the file's resources
    field: str | None = None  # the field of that resource (None: the resource itself)

    @property
    def shown(self) -> str:
        if self.expired:
            return f"(expired {self.written})"
        if self.grant:
            return f"(until {self.written})"
        return f"(until {self.written}, then {json.dumps(self.then, ensure_ascii=False)})"


@dataclass(frozen=True)
class DesiredState:
    """What a file asks for: managed fields per address, nothing more."""

    source: str
    digest: str
    resources: Mapping[str, Mapping[str, Any]]
    base_url: str | None = None
    api_key_env: str | None = None
    provider: str = DEFAULT_PROVIDER
    prune: frozenset[str] = frozenset()
    # The organization the file pins (``organization.id``): a key of another one is refused.
    organization: str | None = None
    # Its holds (values and grants that end), resolved at ``as_of``; the addresses of
    # grants whose hold has ended, which the plan removes live.
    holds: tuple[Hold, ...] = ()
    expired: frozenset[str] = frozenset()
    as_of: datetime | None = None
    # Where each address is written in the file: (line, column), for problems with it.
    positions: Mapping[str, tuple[int, int]] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class LiveResource:
    fields: Mapping[str, Any]
    etag: str | None
    id: str | None = None


@dataclass(frozen=True)
class LiveState:
    """What the API holds now, plus the provider's context that plans warn about
    (the month's usage, archived workspaces, ...)."""

    resources: Mapping[str, LiveResource]
    context: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    # The id of the organization the key belongs to, when the API says.
    organization: str | None = None
    # Where ``align`` moved a resource from: its address under the file's names (a
    # workspace renamed by its pinned id, and what is kept under it) to the one live
    # state has now. A policy sees both, so a rename cannot dodge a rule.
    moved: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class FieldChange:
    before: Any
    after: Any


def changes_data(changes: Mapping[str, FieldChange]) -> dict[str, dict[str, Any]]:
    """The JSON form of field changes, shared by plans and reports."""
    return {name: {"before": c.before, "after": c.after} for name, c in changes.items()}


def sections_data(change: Plan, drift: Plan) -> dict[str, Any]:
    """The JSON form of a plan split into this edit and drift (``--compare-to``), the
    same in a saved plan and in ``plan --format json``."""
    return {
        "change": [r.data() for r in change.resources],
        "drift": [r.data() for r in drift.resources],
        "holds": [h.data() for h in change.holds],
    }


_KIND = re.compile(r"[^\[.]*")


def kind_of(address: str) -> str:
    """An address's kind, up to its first ``[`` or ``.``: ``project`` of
    ``project.proj_1``, ``user`` of ``user["a.b@example.com"]``, ``company``."""
    return _KIND.match(address)[0]  # type: ignore[index]  # matches every text


_QUOTED = re.compile(r'\["((?:[^"\\]|\\.)*)"\]')


def name_of(address: str) -> str:
    """The entry's own key, the last of its address: ``ben@example.com`` of
    ``user["ben@example.com"]`` and of ``member["Research"]["ben@example.com"]``,
    ``proj_1`` of ``project.proj_1``, ``""`` of ``company``."""
    quoted = _QUOTED.findall(address)
    if quoted:
        last: str = json.loads(f'"{quoted[-1]}"')
        return last
    return address.partition(".")[2]


@dataclass(frozen=True)
class ResourceChange:
    """One resource's change: only the fields that differ."""

    address: str
    action: Action
    etag: str | None
    changes: Mapping[str, FieldChange]
    requires: tuple[str, ...] = ()
    # The API's own word for the action where it says more (``VERBS``): an invite sends
    # an email, which "create" hides from a reviewer.
    verb: str | None = None
    # Who the resource is live: its id there, and the address live state names it by
    # when this plan renames it (a workspace, and what is kept under it).
    live_id: str | None = None
    live_address: str | None = None

    def data(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "address": self.address,
            "action": str(self.action),
            "etag": self.etag,
            "changes": changes_data(self.changes),
        }
        if self.requires:
            data["requires"] = list(self.requires)
        if self.verb:
            data["verb"] = self.verb
        if self.live_id:
            data["live_id"] = self.live_id
        if self.live_address:
            data["live_address"] = self.live_address
        return data

    @property
    def says(self) -> str:
        """The action as a reader is told it: the verb when there is one."""
        return self.verb or str(self.action)

    @property
    def after(self) -> dict[str, Any]:
        return {name: c.after for name, c in self.changes.items()}


# What an edit of a file can do to a hold (``plan --compare-to``).
HOLD_EDITS = ("added", "extended", "shortened", "changed", "removed")


@dataclass(frozen=True)
class PlannedHold:
    """A hold as a plan shows it to a reviewer: where the file writes it, what it holds,
    when it ends and what happens then. With ``--compare-to``, ``edit`` says what this
    edit of the file did to it (``added``, ``extended``, ``shortened``, ``changed``,
    ``removed``: then the other fields are the base file's)."""

    path: str  # dotted, as the file writes it: ``users.ben@example.com``
    address: str
    grant: bool
    value: Any  # the held value; for a grant, its role
    then: Any  # the value after it ends (None for a grant: the entry is removed)
    until: str  # as the file writes it
    ends_at: str  # the first moment it no longer holds, ISO 8601 in UTC
    ended: bool
    edit: str | None = None
    field: str | None = None  # the resource's field it holds (None: a grant)

    @property
    def effect(self) -> str:
        """What happens when it ends: ``then removed``, ``then 100``."""
        return "then removed" if self.grant else f"then {json.dumps(self.then, ensure_ascii=False)}"

    def data(self) -> dict[str, Any]:
        data = {
            "path": self.path,
            "address": self.address,
            "kind": "grant" if self.grant else "value",
            "value": self.value,
            "then": self.then,
            "until": self.until,
            "ends_at": self.ends_at,
            "ended": self.ended,
            "effect": self.effect,
        }
        if self.edit is not None:
            data["edit"] = self.edit
        if self.field is not None:
            data["field"] = self.field
        return data

    def same_hold(self, other: PlannedHold) -> bool:
        """The same hold: place, kind, values and end (as JSON, so 1 is not true)."""
        mine, theirs = self.data(), other.data()
        keys = ("path", "kind", "value", "then", "ends_at")
        return all(json.dumps(mine[k]) == json.dumps(theirs[k]) for k in keys)


@dataclass(frozen=True)
class Plan:
    """Sorted resource changes, warnings and counts; knows its JSON form and its size."""

    resources: tuple[ResourceChange, ...]
    warnings: tuple[str, ...] = ()
    unmanaged: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    targets: tuple[str, ...] = ()
    source: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    provider: str = DEFAULT_PROVIDER
    guards: tuple[str, ...] = ()
    # The API it was planned against and the variable the key came from (never the key).
    api: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # A line explaining a resource's values to a reader (money as money), by address.
    about: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # When it was planned (holds were resolved at this moment), ISO 8601 in UTC.
    made_at: str | None = None
    # Every hold of the file (of the targeted addresses), changing now or not: a hold is
    # a change to come, so a reviewer sees each with its end and effect.
    holds: tuple[PlannedHold, ...] = ()
    # The operator's policy on these changes (--policy); never read back from a saved
    # plan, which is untrusted: apply and show judge again.
    policy: Verdict | None = None
    # Security-relevant drift found live (who can sign in, what they may do, where data
    # goes, as each provider's kinds declare it), written or not: said first.
    alerts: tuple[str, ...] = ()
    # Security-relevant changes this edit makes (a new trust root, spans sent with
    # prompts, a secret sent to a new host): said first too, beside the live ones.
    edit_alerts: tuple[str, ...] = ()
    # Each change's security meaning in both directions, which ``alerts`` and
    # ``edit_alerts`` were said from (and are said again from when an edit is split
    # from drift); not saved: a saved plan is judged again.
    security: tuple[SecurityNote, ...] = ()

    @property
    def to_change(self) -> int:
        return len(self.resources)

    def count(self, action: Action) -> int:
        return sum(1 for r in self.resources if r.action is action)

    @property
    def fields(self) -> int:
        return sum(len(r.changes) for r in self.resources)

    @property
    def is_empty(self) -> bool:
        return not self.resources

    def summary(self) -> str:
        edited = sum(1 for h in self.holds if h.edit)
        if self.is_empty and edited:
            head = (
                f"No changes now; {edited} hold{'s' if edited != 1 else ''} edited, "
                "each a change when it ends."
            )
        elif self.is_empty and self.alerts:
            head = (
                "No changes to write, but the live organization differs from the file in "
                f"{len(self.alerts)} security-relevant way{'s' if len(self.alerts) != 1 else ''}."
            )
        elif self.is_empty:
            head = "No changes: the live organization matches the file."
        else:
            noun = "resource" if self.to_change == 1 else "resources"
            fields = "field" if self.fields == 1 else "fields"
            head = f"Plan: {self.to_change} {noun} to change ({self.fields} {fields})."
            actions = [f"{self.count(a)} to {a}" for a in Action if self.count(a)]
            if actions != [f"{self.to_change} to update"]:
                head = head[:-1] + f": {', '.join(actions)}."
        for kind, count in self.unmanaged.items():
            head += f" {count} unmanaged {kind if count == 1 else kind + 's'}."
        return head

    def data(self) -> dict[str, Any]:
        """The documented, versioned JSON form (format_version 2)."""
        return {
            "format_version": FORMAT_VERSION,
            "provider": self.provider,
            "api": dict(self.api),
            "resources": [r.data() for r in self.resources],
            "alerts": list(self.alerts),
            "edit_alerts": list(self.edit_alerts),
            "warnings": list(self.warnings),
            "guards": list(self.guards),
            "about": dict(self.about),
            "made_at": self.made_at,
            "holds": [h.data() for h in self.holds],
            **({"policy": self.policy.data()} if self.policy else {}),
            "summary": {
                "to_change": self.to_change,
                "fields": self.fields,
                **{str(a): self.count(a) for a in Action},
                "unmanaged": dict(self.unmanaged),
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


@dataclass
class RateLimitWaits:
    """What the API's rate limit cost one session (``net.pacing`` counts it): answers
    of 429, each sent again, and the seconds requests waited for the API's bucket,
    pacing and 429s alike."""

    refused: int = 0
    seconds: float = 0.0

    def said(self) -> str | None:
        """ "Waited 12 s for the rate limit (3 answered 429, sent again).", or None when
        it cost nothing worth saying."""
        if self.seconds < 0.5 and not self.refused:
            return None
        refused = f" ({self.refused} answered 429, sent again)" if self.refused else ""
        return f"Waited {self.seconds:.0f} s for the rate limit{refused}."

    def data(self) -> dict[str, Any]:
        return {"waited_s": round(self.seconds, 3), "answered_429": self.refused}


@dataclass(frozen=True)
class ApplyReport:
    """Per resource, applied / failed (why) / skipped (why)."""

    results: tuple[ResourceResult, ...]
    warnings: tuple[str, ...] = ()
    api: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    refused: str | None = None  # why the key was refused, when that stopped the apply
    policy: Verdict | None = None  # the policy the apply was judged by, and who waived what
    rate_limit: RateLimitWaits = field(default_factory=RateLimitWaits)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for r in self.results if r.outcome is outcome)

    @property
    def ok(self) -> bool:
        return all(r.outcome is Outcome.APPLIED for r in self.results)

    def summary(self) -> str:
        waited = self.rate_limit.said()
        return (
            f"Apply: {self.count(Outcome.APPLIED)} applied, {self.count(Outcome.FAILED)} failed, "
            f"{self.count(Outcome.SKIPPED)} skipped." + (f" {waited}" if waited else "")
        )

    def data(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "api": dict(self.api),
            "results": [r.data() for r in self.results],
            "warnings": list(self.warnings),
            **({"policy": self.policy.data()} if self.policy else {}),
            "summary": {outcome.value: self.count(outcome) for outcome in Outcome},
            "rate_limit": self.rate_limit.data(),
        }


@dataclass(frozen=True)
class SecurityNote:
    """What one change means for who can sign in, what they may do, where data goes or
    which secret goes where, in both directions: ``live`` questions the live value
    (drift), ``edit`` the file's (this edit). The plan says one of them, by the
    origin of ``fields``."""

    address: str
    fields: tuple[str, ...]
    live: str | None = None
    edit: str | None = None
