"""The plan of the security surface's sections (``surface``): creates, updates and
removals of what reconciler may write; alerts and adoptable settlements for what it
may not; each change's security meaning in both directions (from its kind's spec); a
rule's effect in words beside its line, and the warnings a reviewer needs.

Service accounts, issuers and rules are read only when signed in by federation (an
Admin API key cannot read them): a file that lists them, signed in with a key, gets one
problem that says so and nothing else of them is planned.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.core.fielddiff import differing
from reconciler.core.model import (
    Action,
    DesiredState,
    FieldChange,
    LiveResource,
    LiveState,
    ResourceChange,
    SecurityNote,
)
from reconciler.providers.anthropic_admin import addresses, surface
from reconciler.providers.anthropic_admin.kinds import SURFACE, SURFACE_BY_NAME
from reconciler.providers.anthropic_admin.kinds.kind import AdminKind, View
from reconciler.providers.base import Proposal, Settlement
from reconciler.providers.kinds import security
from reconciler.providers.kinds.spec import Removal

KINDS = tuple(SURFACE_BY_NAME)
# Where a removal verb of a kind is planned.
REMOVES = {Removal.ARCHIVE: Action.ARCHIVE, Removal.DELETE: Action.DELETE}


def _kind(address: str) -> str:
    return addresses.parse(address)[0]


def propose(desired: DesiredState, live: LiveState) -> Proposal:
    """What the file's security sections ask of the live organization."""
    context = live.context
    unoffered = context.get("unoffered", [])
    readable = {
        name: bool(context.get("oauth")) if kind.oauth_only else name not in unoffered
        for name, kind in SURFACE_BY_NAME.items()
    }
    ours = {a: f for a, f in desired.resources.items() if _kind(a) in KINDS}
    current = {a: r for a, r in live.resources.items() if _kind(a) in KINDS}
    problems: dict[str, str] = {}
    renamed: set[str] = set()  # live addresses a pinned entry renames
    why: str | None
    blocked = [a for a in ours if not readable[_kind(a)]]
    if blocked:
        why = (
            surface.NEEDS_FEDERATION
            if any(SURFACE_BY_NAME[_kind(a)].oauth_only for a in blocked)
            else f"the Admin API answered 404 for {SURFACE_BY_NAME[_kind(blocked[0])].spec.noun}s: "
            "they are not turned on for this organization; remove the section, or ask "
            "Anthropic to turn them on"
        )
        problems[blocked[0]] = why
    quotes = surface.quoted({a: r.fields for a, r in current.items()}, ours)
    changes: list[ResourceChange] = []
    updates: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    before: dict[str, Mapping[str, Any] | None] = {}  # each change's live fields
    alerts: list[tuple[str, str]] = []
    settlements: dict[str, Settlement] = {}
    planned: dict[str, Mapping[str, Any] | None] = {}  # what each entry is compared with
    for address, fields in ours.items():
        kind, names = addresses.parse(address)
        if not readable[kind]:
            continue
        resource = current.get(address)
        now = resource.fields if resource else None
        wanted = {n: v for n, v in fields.items() if n != "id"}
        if "id" in fields:
            pin = _pinned(address, str(fields["id"]), current)
            if isinstance(pin, str):
                problems[address] = pin
                continue
            if pin is not None:  # live under another name: renamed, never created again
                old, resource = pin
                renamed.add(old)
                now = {**resource.fields, "name": addresses.parse(old)[1][0]}
                wanted["name"] = names[0]
        planned[address] = now
        why = surface.watched_why(kind, now, {**wanted, "_name": names[0]}, current)
        if why is not None:
            if now is None or any(wanted[n] != now.get(n) for n in wanted):
                said, settlement = surface.watched(address, now, wanted, why)
                alerts.append((address, said))
                if settlement is not None:
                    settlements[address] = settlement
            continue
        refused = SURFACE_BY_NAME[kind].refused({**(now or {}), **wanted})
        if refused is not None:
            problems[address] = f"{address}: {refused}"
            continue
        before[address] = now
        if now is None:
            requires = _requires(SURFACE_BY_NAME[kind], wanted, ours, current)
            changes.append(
                ResourceChange(
                    address,
                    Action.CREATE,
                    None,
                    {n: FieldChange(None, v) for n, v in wanted.items()},
                    tuple(requires),
                )
            )
            continue
        fixed = _fixed(address, SURFACE_BY_NAME[kind], now, wanted)
        if fixed is not None:
            problems[address] = fixed
            continue
        updates[address] = ({n: now.get(n) for n in wanted}, wanted)
    changes += [
        ResourceChange(address, Action.UPDATE, None, found)
        for address, found in differing(updates).items()
    ]
    unmanaged: dict[str, LiveResource] = {}
    pruned: dict[str, LiveResource] = {}
    for address, resource in current.items():
        kind = _kind(address)
        if address in ours or address in renamed or not readable[kind]:
            continue
        if any(address.startswith(p) for p in desired.prune):
            named = {"_name": addresses.parse(address)[1][0]}
            why = surface.watched_why(kind, resource.fields, named, current)
            removal = REMOVES.get(SURFACE_BY_NAME[kind].spec.removal)
            if why is None and removal is not None:
                gone = {n: FieldChange(v, None) for n, v in resource.fields.items()}
                changes.append(ResourceChange(address, removal, None, gone))
                pruned[address] = resource
                continue
            alerts.append(
                (
                    address,
                    f"{address} is live and not in the pruned section, and reconciler "
                    f"will not remove it: {why}",
                )
            )
        unmanaged[address] = resource
    # Alerts of what the file does not list only in sections it keeps (lists or prunes):
    # a file that leaves webhooks alone is not told of each one every night.
    kept = {_kind(a) for a in [*ours, *desired.prune]}
    watched_here = {a: r for a, r in unmanaged.items() if _kind(a) in kept}
    alerts[:0] = [
        *surface.found_live(watched_here, quotes),
        *surface.found_live(pruned, quotes, pruned=True),
    ]
    view = View(ours, planned, current, quotes, live)
    explained = [k.explain(view) for k in SURFACE if k.explain is not None]
    about = {a: said for e in explained for a, said in e.about.items()}
    notes = [n for e in explained for n in e.notes]
    elsewhere = sorted(a for a in unmanaged if a not in watched_here)
    listing = security.unmanaged_named(elsewhere)
    if listing is not None:
        notes.append((elsewhere[0], f"Security resources {listing}"))
    counts: dict[str, int] = {}
    for address in unmanaged:
        noun = SURFACE_BY_NAME[_kind(address)].spec.noun
        counts[noun] = counts.get(noun, 0) + 1
    return Proposal(
        changes,
        unmanaged=counts,
        problems=problems,
        settlements=settlements,
        notes=notes,
        about=about,
        alerts=alerts,
        security=_meanings(changes, before, ours, quotes),
    )


def _meanings(
    changes: list[ResourceChange],
    before: Mapping[str, Mapping[str, Any] | None],
    ours: Mapping[str, Mapping[str, Any]],
    quotes: surface.Quoted,
) -> list[SecurityNote]:
    """Each change's security meaning, by its kind's declaration, in both directions."""
    found: list[SecurityNote] = []
    for change in changes:
        if change.action.removes:
            continue  # a pruned resource is said as found live (``found_live``)
        kind = _kind(change.address)
        now = before.get(change.address)
        wanted = {**(now or {}), **ours.get(change.address, {})}
        found += security.notes(
            SURFACE_BY_NAME[kind].spec,
            change,
            None if now is None else surface.with_context(kind, now, quotes),
            surface.with_context(kind, wanted, quotes),
        )
    return found


def _pinned(
    address: str, pinned_id: str, current: Mapping[str, LiveResource]
) -> tuple[str, LiveResource] | str | None:
    """A file entry pinned by ``id``: None when it is live at its own name (or not live
    at all), the live address and resource when it is live under another name (a
    rename), or the problem that says why the pin cannot hold."""
    kind = SURFACE_BY_NAME[_kind(address)]
    here = current.get(address)
    if here is not None and here.id != pinned_id:
        return f"{address} is pinned to id {pinned_id}, but the live one of this name is {here.id}"
    if here is not None:
        return None
    found = next((a for a, r in current.items() if r.id == pinned_id), None)
    if found is None:
        return (
            f"{address} is pinned to id {pinned_id}, but nothing live has that id (removed, "
            "or another organization's?)"
        )
    if "name" in kind.fixed:
        return (
            f"{address} is pinned to id {pinned_id}, which is live as {found}, and a "
            f"{kind.spec.noun}'s name never changes: write the live name"
        )
    return found, current[found]


def _fixed(
    address: str, kind: AdminKind, now: Mapping[str, Any], wanted: Mapping[str, Any]
) -> str | None:
    """The problem of an entry that changes a field its kind never changes."""
    for field in kind.fixed:
        if field in wanted and wanted[field] != now.get(field):
            noun = kind.spec.noun
            return (
                f"{address}: its {field} is {now.get(field)} live and {wanted[field]} in the "
                f"file, and a {noun}'s {field} never changes: give the new {noun} another "
                "name, and remove this one"
            )
    return None


def _requires(
    kind: AdminKind,
    wanted: Mapping[str, Any],
    ours: Mapping[str, Mapping[str, Any]],
    current: Mapping[str, LiveResource],
) -> list[str]:
    """A resource waits for those it names that this plan creates (a new rule for its
    issuer and service account)."""
    needed = [addresses.make(named, str(wanted.get(field))) for field, named in kind.refers]
    return [a for a in needed if a in ours and a not in current]
