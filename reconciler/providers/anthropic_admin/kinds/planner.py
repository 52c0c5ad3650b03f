"""The shared planner of the kinds planned one entry at a time (workspaces, users,
members, API keys, spend and rate limits): what one kind's plan reads of another's
(a workspace created, renamed or being archived), the changes, updates, problems,
notes and settlements they collect, and the removals no single entry asks for (holds
ended, pruned sections). Each kind's own rules are its module's ``plan``; the
security surface is planned by ``surface_plan``."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from reconciler.core.fielddiff import differing
from reconciler.core.model import (
    Action,
    DesiredState,
    FieldChange,
    LiveState,
    ResourceChange,
    SecurityNote,
)
from reconciler.providers.anthropic_admin import addresses, limits
from reconciler.providers.anthropic_admin.addresses import WORKSPACE
from reconciler.providers.base import Proposal, Settlement
from reconciler.providers.kinds import security
from reconciler.providers.kinds.codec import EACH
from reconciler.providers.kinds.spec import Kind


@dataclass(frozen=True)
class Guarded:
    """A limit the month's money is checked against before the plan is applied: a
    monthly ``spend`` limit or a ``rate`` limit lowered, of a workspace (None: the
    organization's)."""

    money: Literal["spend", "rate"]
    workspace: str | None


@dataclass(frozen=True)
class EntryKind:
    """A kind planned entry by entry: its spec, its rules (``plan``: what one entry of
        the file asks of live state), whether a section's ``prune: true`` removes what it
        does not list, whether one live and not in the file is counted as left out, and
        (``fixed``) who the API cannot remove (None: anyone can be); and the escape hatches of
    the limits: what the month's money guards, and what the plan says of them once."""

    spec: Kind
    plan: Callable[[Planner, str, tuple[str, ...], Mapping[str, Any]], None]
    counted: bool = False
    fixed: Callable[[Mapping[str, Any]], str | None] = lambda fields: None
    # What the month's money is checked against for one change (``spend_guard``).
    guarded: Callable[[ResourceChange, tuple[str, ...]], Guarded | None] = lambda c, n: None
    # What a reviewer should know of the plan's changes of this kind, once a plan.
    review: Callable[[Sequence[ResourceChange], LiveState], list[str]] = lambda c, live: []

    def inside_workspace(self) -> bool:
        return EACH in self.spec.section


class Planner:
    """One plan of the entry kinds: their rules record what they find here."""

    def __init__(
        self, desired: DesiredState, live: LiveState, kinds: Mapping[str, EntryKind]
    ) -> None:
        self.desired = desired
        self.live = live
        self.kinds = kinds
        self.changes: list[ResourceChange] = []
        self.updates: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
        self.problems: dict[str, str] = {}
        self.notes: list[tuple[str, str]] = []
        self.org_roles: Mapping[str, str] = live.context.get("org_roles", {})
        self.invited: frozenset[str] = frozenset(live.context.get("invited", ()))
        self.archived: Mapping[str, str] = live.context.get("archived_workspaces", {})
        self.archived_on: Mapping[str, str] = live.context.get("archived_on", {})
        self.default: str | None = live.context.get("default_workspace")
        self.settlements: dict[str, Settlement] = {}
        self.created_workspaces: set[str] = set()
        self.renamed_workspaces: set[str] = set()
        self.archiving: set[str] = set()
        self.about: dict[str, str] = {}
        self.spend_skipped: list[str] = []

    def plan(self, address: str, fields: Mapping[str, Any]) -> None:
        """The file's entry at ``address``, by its kind's rules."""
        kind, names = addresses.parse(address)
        self.kinds[kind].plan(self, address, names, fields)

    def now(self, address: str) -> Mapping[str, Any] | None:
        found = self.live.resources.get(address)
        return found.fields if found else None

    def add(
        self,
        address: str,
        action: Action,
        changes: dict[str, FieldChange],
        *requires: str,
        verb: str | None = None,
    ) -> None:
        change = ResourceChange(address, action, None, changes, tuple(requires), verb=verb)
        self.changes.append(change)

    def requires(self, workspace: str) -> list[str]:
        """What a change inside ``workspace`` waits for: its creation or its rename."""
        waits = self.created_workspaces | self.renamed_workspaces
        return [addresses.make(WORKSPACE, workspace)] if workspace in waits else []

    def is_default(self, address: str) -> bool:
        found = self.live.resources.get(address)
        return found is not None and self.default is not None and found.id == self.default

    def fixed(self, address: str, fields: Mapping[str, Any]) -> str | None:
        """Who the live resource at ``address`` is when the API cannot remove it."""
        return self.kinds[addresses.parse(address)[0]].fixed(fields)

    # -- removals -------------------------------------------------------------------------

    def expire(self) -> None:
        """A removal for each grant whose hold has ended (pruned section or not), but of
        what the API cannot remove (an organization admin)."""
        for address in sorted(self.desired.expired):
            resource = self.live.resources.get(address)
            who = self.fixed(address, resource.fields) if resource is not None else None
            if who is not None:
                self.notes.append(
                    (
                        address,
                        f"{address}: the hold has ended, but an {who} cannot be removed "
                        "through the API; remove them in the Console",
                    )
                )
            elif resource is not None:
                self._remove(address)

    def prune(self) -> None:
        """A removal for each live entry a pruned section does not list; never what the
        API cannot remove (nor a file add), nor what an archived workspace takes with
        it."""
        for address, resource in self.live.resources.items():
            kind, names = addresses.parse(address)
            entry = self.kinds.get(kind)
            if entry is None or not entry.spec.prunable or address in self.desired.resources:
                continue
            if self.fixed(address, resource.fields) is not None:
                continue
            if address in self.desired.expired:
                continue  # removed by expire()
            if entry.inside_workspace() and names[0] in self.archiving:
                continue
            if any(address.startswith(p) for p in self.desired.prune):
                self._remove(address)

    def _remove(self, address: str) -> None:
        fields = self.live.resources[address].fields
        self.add(
            address,
            Action.DELETE,
            {n: FieldChange(v, None) for n, v in fields.items() if n != "status"},
        )

    def proposal(self, order: Mapping[str, int]) -> Proposal:
        """What was found, its changes in the registry's ``order`` of kinds."""
        found = differing(self.updates)
        self.changes += [
            ResourceChange(address, Action.UPDATE, None, changes, self._update_requires(address))
            for address, changes in found.items()
        ]
        if self.spend_skipped:
            shown = ", ".join(self.spend_skipped)
            self.notes.append(
                (self.spend_skipped[0], f"{shown} not planned: {limits.NO_SPEND_ACCESS}")
            )
        self.changes.sort(key=lambda c: (order[addresses.parse(c.address)[0]], c.address))
        alerts = self._found_live()
        return Proposal(
            self.changes,
            unmanaged=self._unmanaged(),
            problems=self.problems,
            settlements=self.settlements,
            notes=self.notes,
            about=self.about,
            alerts=alerts,
            security=self._meanings(),
        )

    def _meanings(self) -> list[SecurityNote]:
        """Each change's security meaning, by its kind's declaration, in both directions
        (a role widened, a look-alike email invited); a removal is said as found live."""
        found: list[SecurityNote] = []
        for change in self.changes:
            if change.action.removes:
                continue
            now = self.now(change.address)
            wanted = {**(now or {}), **self.desired.resources.get(change.address, {})}
            spec = self.kinds[addresses.parse(change.address)[0]].spec
            found += security.notes(spec, change, now, wanted)
        return found

    def _found_live(self) -> list[tuple[str, str]]:
        """An entry live and not in the file whose kind says who can act (an admin or
        billing user, an active API key), in a section the file keeps (lists or
        prunes): an alert, never just a count; one the plan removes says so. Active
        keys in a section it does not keep are named in one note."""
        listed = {addresses.parse(a)[0] for a in self.desired.resources}
        removed = {c.address for c in self.changes if c.action is Action.DELETE}
        said, elsewhere = [], []
        for address, resource in sorted(self.live.resources.items()):
            kind = addresses.parse(address)[0]
            entry = self.kinds.get(kind)
            if entry is None or address in self.desired.resources:
                continue
            words = security.found_live(entry.spec, address, resource.fields)
            if words is None:
                continue
            if kind in listed or any(address.startswith(p) for p in self.desired.prune):
                gone = "; this plan removes it" if address in removed else ""
                said.append((address, words + gone))
            elif kind == "api_key":  # a user outside a kept users: is only counted
                elsewhere.append(address)
        named = security.unmanaged_named(elsewhere)
        if named is not None:
            self.notes.append((elsewhere[0], f"Active API keys {named}"))
        return said

    def _update_requires(self, address: str) -> tuple[str, ...]:
        """An update inside a renamed workspace waits for the rename."""
        kind, names = addresses.parse(address)
        if self.kinds[kind].inside_workspace():
            return tuple(self.requires(names[0]))
        return ()

    def _unmanaged(self) -> dict[str, int]:
        removed = {c.address for c in self.changes if c.action is Action.DELETE}
        counts: dict[str, int] = {}
        for address in self.live.resources:
            entry = self.kinds.get(addresses.parse(address)[0])
            if self.is_default(address):
                continue  # not a workspace anyone made: never counted as left out
            if entry is None or not entry.counted:
                continue
            if address not in self.desired.resources and address not in removed:
                counts[entry.spec.noun] = counts.get(entry.spec.noun, 0) + 1
        return counts
