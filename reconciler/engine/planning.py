"""Desired against live, over managed fields only: the ``Plan``; its warnings and
holds, its split into this edit and drift, the organization pin, and its
staleness against live values and ended holds. Saved plans on disk are
``planfile``'s."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from reconciler.core.errors import PlanError, PlanFileError, StalePlanError
from reconciler.core.fielddiff import same
from reconciler.core.model import (
    Action,
    DesiredState,
    Hold,
    LiveState,
    Plan,
    PlannedHold,
    ResourceChange,
)
from reconciler.desired import holds
from reconciler.engine.origin import said_by_origin

if TYPE_CHECKING:
    from reconciler.providers.base import Advice, Provider


def make_plan(
    desired: DesiredState,
    live: LiveState,
    provider: Provider,
    *,
    targets: Iterable[str] = (),
    only: frozenset[str] | None = None,
) -> Plan:
    """The changes that would make ``live`` match ``desired``, in the order of the
    provider (the file's: the caller looks it up, so this module imports none).

    The provider proposes changes for the whole file; ``--target`` then keeps only
    the addresses it names (so a target never prunes), and ``only`` (the addresses of
    a saved plan being applied) narrows further. Problems of chosen addresses (a
    project that does not exist, say) fail the plan with one sentence. Warnings and
    guards are the provider's review of exactly the changes kept.
    """
    check_organization(desired, live)
    chosen = set(select(desired.resources, targets, source=desired.source, provider=provider))
    targets = tuple(sorted(set(targets)))
    proposal = provider.propose(desired, live)
    problems = [
        f"{_where(desired, address)}: {why}"
        for address, why in proposal.problems.items()
        if address in chosen
    ]
    if problems:
        raise PlanError("\n".join(problems) + ".")

    def kept(address: str) -> bool:
        return (not targets or address in chosen) and (only is None or address in only)

    changes = tuple(_identified(c, live) for c in proposal.changes if kept(c.address))
    # A grant whose hold ended is a removal like any other: the guards count it, or a
    # file could remove most of an organization on a date by holding what is live.
    warnings, guards = provider.review(changes, live)
    notes = [note for address, note in proposal.notes if kept(address)]
    meanings = tuple(n for n in proposal.security if kept(n.address))
    live_words, edit_words = said_by_origin(meanings, changes)
    as_of = desired.as_of or datetime.now(UTC)
    notes += [w for a, w in holds.ending_soon(desired.holds, as_of, desired.source) if kept(a)]
    return Plan(
        resources=changes,
        alerts=tuple(alert for address, alert in proposal.alerts if kept(address)) + live_words,
        edit_alerts=edit_words,
        security=meanings,
        warnings=tuple(notes + warnings),
        unmanaged=dict(proposal.unmanaged),
        targets=targets,
        source={"file": desired.source, "sha256": desired.digest},
        provider=provider.name,
        guards=tuple(guards),
        about=_about(proposal.about, desired.holds, {c.address: c for c in changes}),
        made_at=_instant(as_of),
        holds=tuple(planned(h) for h in desired.holds if not targets or h.address in chosen),
    )


def _identified(change: ResourceChange, live: LiveState) -> ResourceChange:
    """The change with who its resource is live: its id, and its address there when
    this plan renames it (what a policy's rule may be written against)."""
    resource = live.resources.get(change.address)
    return replace(
        change,
        live_id=resource.id if resource is not None else None,
        live_address=live.moved.get(change.address),
    )


def advised(plan: Plan, advice: Advice) -> Plan:
    """The plan with what the API's reports say of its changes: the warnings after the
    plan's own, and each address's words after its line."""
    if not advice.warnings and not advice.about:
        return plan
    about = dict(plan.about)
    for address, text in advice.about.items():
        about[address] = f"{about[address]}; {text}" if address in about else text
    return replace(plan, warnings=plan.warnings + advice.warnings, about=about)


def _instant(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def planned(hold: Hold, edit: str | None = None) -> PlannedHold:
    """A hold as plans show and save it."""
    return PlannedHold(
        path=".".join(hold.path),
        address=hold.address,
        grant=hold.grant,
        value=hold.value,
        then=hold.then,
        until=hold.written,
        ends_at=_instant(hold.until),
        ended=hold.expired,
        edit=edit,
        field=None if hold.grant else hold.field,
    )


def hold_edits(base: DesiredState, desired: DesiredState) -> tuple[PlannedHold, ...]:
    """What an edit of the file does to its holds: each hold it adds, extends, shortens
    or changes (value, ``then``, a role), and each it removes (shown as the base wrote
    it). A hold is a change to come even when nothing changes live now, so a reviewer
    must see these as changes of the edit."""
    before = {".".join(h.path): planned(h) for h in base.holds}
    found = []
    for hold in desired.holds:
        now = planned(hold)
        was = before.pop(now.path, None)
        if was is None:
            found.append(replace(now, edit="added"))
        elif not now.same_hold(was):
            same_but_end = replace(was, ends_at=now.ends_at).same_hold(now)
            edit = "changed"
            if same_but_end:
                edit = "extended" if now.ends_at > was.ends_at else "shortened"
            found.append(replace(now, edit=edit))
    found += [replace(was, edit="removed") for was in before.values()]
    return tuple(found)


def _about(
    provider: Mapping[str, str], held: tuple[Hold, ...], changes: Mapping[str, ResourceChange]
) -> dict[str, str]:
    """The reader's line of each changed resource: the provider's (money as money), and
    its holds: ``usage_limit (until 2026-12-31, then 1000000)``, ``(expired 2026-12-31)``."""
    found = {a: [text] for a, text in provider.items() if a in changes}
    for hold in held:
        change = changes.get(hold.address)
        if change is None or (hold.field is not None and hold.field not in change.changes):
            continue
        found.setdefault(hold.address, []).append(
            f"{hold.field} {hold.shown}" if hold.field else hold.shown
        )
    return {a: "; ".join(texts) for a, texts in found.items()}


def not_from_ended_holds(plan: Plan, desired: DesiredState) -> list[str]:
    """The addresses whose changes are not all the work of ended holds (an ended grant's
    removal, a held value's ``then``): drift, or an edit of the file."""
    ended = {(h.address, h.field) for h in desired.holds if h.expired}
    return [
        r.address
        for r in plan.resources
        if r.address not in desired.expired
        and (r.address, None) not in ended
        and not all((r.address, name) in ended for name in r.changes)
    ]


def unreviewed_ended_holds(desired: DesiredState, reviewed: Plan) -> list[str]:
    """The ended holds of ``desired`` that ``reviewed`` (a saved plan a reviewer saw)
    does not list as they are now: same place, kind, values and end. What only a
    reviewed plan showed may end by itself; anything else waits for a person."""
    return [
        f"{'.'.join(hold.path)} (until {hold.written})"
        for hold in desired.holds
        if hold.expired and not any(planned(hold).same_hold(seen) for seen in reviewed.holds)
    ]


def check_holds(saved: Plan, desired: DesiredState) -> None:
    """Refuse a saved plan that a hold has ended since: the file asks for something else
    now (a value became its ``then``, a grant ended), whatever live state says."""
    if not saved.made_at:
        return
    made = datetime.fromisoformat(saved.made_at)  # Python 3.11 reads the Z
    now = desired.as_of or datetime.now(UTC)
    planned = {r.address for r in saved.resources}
    ended = [h for h in desired.holds if h.address in planned and made < h.until <= now]
    if ended:
        shown = ", ".join(f"{'.'.join(h.path)} (until {h.written})" for h in ended[:5])
        raise StalePlanError(
            f"The saved plan is stale: the hold on {shown} ended after it was made "
            f"({saved.made_at}), so the file asks for something else now. Nothing was "
            "written; run plan again and review the new plan."
        )


def check_organization(desired: DesiredState, live: LiveState) -> None:
    """Refuse, before anything is planned or written, a key of another organization than
    the one the file pins: the most expensive mistake a tool like this can make."""
    if desired.organization is None or desired.organization == live.organization:
        return
    belongs = (
        f"belongs to organization {json.dumps(live.organization)}"
        if live.organization
        else "does not say which organization it belongs to"
    )
    raise PlanError(
        f"{desired.source} is pinned to organization {json.dumps(desired.organization)} "
        f"(organization.id), but the key {belongs}; nothing was planned or written. Use a key "
        "of the pinned organization, or correct the pin."
    )


def _where(desired: DesiredState, address: str) -> str:
    """``org.yaml:12:3`` where the file writes ``address``, else the file's name."""
    if address in desired.positions:
        line, column = desired.positions[address]
        return f"{desired.source}:{line}:{column}"
    return desired.source


def select(
    resources: Mapping[str, Any], targets: Iterable[str], *, source: str, provider: Provider
) -> list[str]:
    """The addresses a ``--target`` list keeps (all of them without one)."""
    targets = list(targets)
    if not targets:
        return list(resources)
    unknown = sorted(t for t in targets if t not in resources)
    if unknown:
        close = difflib.get_close_matches(unknown[0], list(resources))
        hint = f"did you mean {close[0]}? " if close else ""
        raise PlanError(
            f"--target {_list(unknown)} names nothing in {source}; {hint}targets are "
            f"addresses of the file, like {provider.address_example}."
        )
    return [a for a in resources if a in set(targets)]


def _list(items: list[str]) -> str:
    return ", ".join(items)


def check_not_stale(plan: Plan, live: LiveState) -> None:
    """Refuse the whole plan when any planned field's live value is not its ``before``
    (or a resource to create exists by now, or one to change is gone)."""
    if plan.resources and all(_holds_after(r, live) for r in plan.resources):
        raise StalePlanError(
            "The saved plan looks applied already: live already holds every value it asks "
            "for. Nothing was written; run plan again to see what, if anything, is left."
        )
    moved = []
    for resource in plan.resources:
        current = live.resources.get(resource.address)
        if resource.action is Action.CREATE:
            if current is not None:
                moved.append(f"{resource.address} (exists now)")
            continue
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


def check_matches(saved: Plan, fresh: Plan, *, source: str) -> None:
    """Refuse a saved plan that claims more than its file asks for: every resource it
    holds must be, to the value, one the file and live state propose now (same action,
    fields, values and requirements). A plan may hold fewer (a subset), never other."""
    proposed = {r.address: r for r in fresh.resources}
    unasked = []
    for resource in saved.resources:
        wanted = proposed.get(resource.address)
        if wanted is None or not _same_change(resource, wanted):
            unasked.append(resource.address)
    if unasked:
        raise PlanFileError(
            f"The saved plan does not match {source}: {_list(unasked[:5])}"
            f"{f' and {len(unasked) - 5} more' if len(unasked) > 5 else ''} "
            f"{'is' if len(unasked) == 1 else 'are'} not what the file asks for; nothing was "
            "written. Run plan again from the file and review the new plan."
        )


def _same_change(a: ResourceChange, b: ResourceChange) -> bool:
    return (
        a.action is b.action
        and a.requires == b.requires
        and a.changes.keys() == b.changes.keys()
        and all(
            same(c.before, b.changes[n].before) and same(c.after, b.changes[n].after)
            for n, c in a.changes.items()
        )
    )


def api_changes(base: DesiredState, desired: DesiredState) -> tuple[str, ...]:
    """Warnings for a reviewer when an edit changes where the key goes or which variable
    holds it: the operator's rules still decide, but such an edit deserves a look."""
    found = []
    for name, before, after in (
        ("api.base_url", base.base_url, desired.base_url),
        ("api.api_key_env", base.api_key_env, desired.api_key_env),
    ):
        if before != after:
            found.append(
                f"this edit changes {name} from {json.dumps(before)} to {json.dumps(after)}: "
                "where the key is sent or which secret is read; check who asked for it"
            )
    return tuple(found)


def _holds_after(resource: ResourceChange, live: LiveState) -> bool:
    """Whether live already is what this change would make it (a plan applied twice)."""
    current = live.resources.get(resource.address)
    if resource.action.removes:
        return current is None
    if current is None:
        return False
    return all(
        same(current.fields.get(name), change.after) for name, change in resource.changes.items()
    )
