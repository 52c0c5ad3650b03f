"""The flows a command runs, each to be read top to bottom: plan a file, with a
reviewer's view of an edit (``plan_edit``); what apply would write from a source, a
file, a saved plan verified against its file or an undo plan by its signature
(``to_apply``), the safety check and how an apply that did not finish ends
(``check_safe``, ``failure``); export; adopt live state back into the file. They
return values (plans, ``ToApply`` or ``HeldBack``, reports) that commands render;
which API is behind them is the provider's business.

Over 400 lines and one job: the flows, each short; adopt's (reading the file's text,
checking the result plans to nothing) is the longest and could move to a module of its
own when it grows.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

import yaml

from reconciler import providers
from reconciler.core.edits import Put
from reconciler.core.errors import (
    AdoptionError,
    PlanFileError,
    ReconcilerError,
    UnsafePlanError,
)
from reconciler.core.escape import visible
from reconciler.core.files import read_input
from reconciler.core.model import ApplyReport, DesiredState, LiveState, Outcome, Plan
from reconciler.desired import document
from reconciler.engine import adoption, origin, planfile, planning
from reconciler.engine.execute import OnResult, apply_plan
from reconciler.net.connection import Connection, is_loopback, normalise_url
from reconciler.providers.base import Provider


async def plan_file(
    desired: DesiredState, connection: Connection, targets: tuple[str, ...] = ()
) -> Plan:
    provider = providers.get(desired.provider)
    planning.select(desired.resources, targets, source=desired.source, provider=provider)
    async with provider.session(connection) as session:  # targets were checked before reading
        live = provider.align(desired, await session.read_live(desired))
        plan = planning.make_plan(desired, live, provider, targets=targets)
        advice = await session.advise(plan.resources)
    return replace(planning.advised(plan, advice), api=connection.api)


@dataclass(frozen=True)
class PlannedFile:
    """A file's plan and, against the file before an edit (``--compare-to``), its split
    into what the edit asks for (its hold edits included) and drift already there."""

    plan: Plan
    sections: planfile.Sections | None = None

    @property
    def has_changes(self) -> bool:
        """Changes now, or (with a base) a hold the edit changes: it changes the
        organization later, unreviewed otherwise."""
        return (
            not self.plan.is_empty
            or bool(self.plan.alerts)
            or bool(self.plan.edit_alerts)
            or bool(self.sections and self.sections[0].holds)
        )


async def plan_edit(
    desired: DesiredState,
    connection: Connection,
    targets: tuple[str, ...] = (),
    *,
    base: DesiredState | None = None,
    ahead: bool = False,
) -> PlannedFile:
    """``plan``: the file against live state; with ``base`` (the file before this
    edit), a reviewer's view of it: an edit of ``api:`` warned about first, then this
    edit apart from drift. ``ahead``: the holds were resolved at another moment
    (``--as-of``), which the plan says first."""
    result = await plan_file(desired, connection, targets)
    if ahead:
        result = replace(
            result,
            warnings=(
                f"planned as of {result.made_at} (--as-of): holds are resolved at that time; "
                "apply uses the time it runs",
                *result.warnings,
            ),
        )
    if base is None:
        return PlannedFile(result)
    result = replace(result, warnings=planning.api_changes(base, desired) + result.warnings)
    edits = planning.hold_edits(base, desired)
    kept = tuple(h for h in edits if not targets or h.address in targets)
    change, drift, whole = origin.split_by_origin(result, base, hold_edits=kept)
    return PlannedFile(whole, (change, drift))


# How a flow gets the connection a source asks for: (what asks, its name, its provider).
Connect = Callable[[DesiredState | Plan, str, str], Connection]


@dataclass(frozen=True)
class ToApply:
    """What ``apply`` would write from a source, and the connection to write through."""

    plan: Plan
    connection: Connection


@dataclass(frozen=True)
class HeldBack:
    """Only ended holds may be applied (``--only-ended-holds``), and something else
    changes or a hold no reviewed plan listed ended: why nothing is applied, and the
    plan if one was made, for the reader."""

    why: str
    plan: Plan | None = None


async def to_apply(
    source: Path,
    connect: Connect,
    *,
    targets: tuple[str, ...] = (),
    expect_file: Path | None = None,
    reviewed: Path | None = None,
) -> ToApply | HeldBack:
    """``apply``'s first half, for one source: an undo plan verified by its signature;
    a saved plan verified against its file (``expect_file``, else the file it names)
    and live state; or a file planned now. With ``reviewed`` (``--only-ended-holds``),
    only what ended holds that saved plan listed change, or nothing (``held_back``)."""
    if planfile.is_saved_plan(source):
        if reviewed is not None:
            raise PlanFileError("--only-ended-holds goes with a FILE, planned as it runs.")
        loaded = planfile.load_saved(source)
        if loaded.is_undo:
            if expect_file is not None:
                raise PlanFileError(
                    "--expect-file goes with a plan from 'plan --out'; an undo plan is checked "
                    "by the signature apply gave it."
                )
            connection = connect(loaded.plan, str(source), loaded.plan.provider)
            return ToApply(await verified_undo(loaded, connection, targets), connection)
        desired = document.load(planfile.source_of(loaded, expect_file))
        connection = connect(desired, desired.source, desired.provider)
        saved = await verified_saved(loaded.plan, desired, connection, targets)
        return ToApply(saved, connection)
    if expect_file is not None:
        raise PlanFileError("--expect-file goes with a saved plan, not a file.")
    desired = document.load(source)
    if reviewed is not None:
        unseen = planning.unreviewed_ended_holds(desired, planfile.load_saved(reviewed).plan)
        if unseen:  # like a change from drift: nothing to do by itself, nothing wrong
            return HeldBack(
                f"Nothing was applied: {visible(str(reviewed))} does not list the hold on "
                f"{visible(', '.join(unseen[:5]))}{' and more' if len(unseen) > 5 else ''} as "
                "the file has it now, so no reviewer saw it end. Review a plan of the file "
                "(plan --out) and pass that, or apply the file yourself.",
            )
    connection = connect(desired, desired.source, desired.provider)
    result = await plan_file(desired, connection, targets)
    others = planning.not_from_ended_holds(result, desired) if reviewed is not None else []
    if others:
        return HeldBack(
            f"Nothing was applied: {visible(', '.join(others[:5]))} "
            f"{'changes' if len(others) == 1 else 'change'} for another reason than an "
            "ended hold (drift, or an edit of the file); --only-ended-holds applies only "
            "what holds that have ended change.",
            result,
        )
    return ToApply(result, connection)


def failure(outcome: ApplyReport) -> ReconcilerError | None:
    """How an apply that did not apply everything ends: one sentence for a key that
    may not write (the report lists the resources), else the count of failures."""
    if outcome.refused:
        why = outcome.refused.split(" (request-id")[0].split("; use a key")[0].rstrip(".")
        return ReconcilerError(
            f"{why}: {outcome.count(Outcome.APPLIED)} applied, "
            f"{outcome.count(Outcome.SKIPPED)} not attempted. Run apply again with a key "
            "that may write."
        )
    if not outcome.ok:
        return ReconcilerError(
            f"{outcome.count(Outcome.FAILED)} failed and {outcome.count(Outcome.SKIPPED)} "
            "skipped (see above); what was applied stays applied: run plan again to see "
            "what is left."
        )
    return None


async def verified_saved(
    saved: Plan, desired: DesiredState, connection: Connection, targets: tuple[str, ...] = ()
) -> Plan:
    """What apply may write of a saved plan: derived again from its file and live state,
    never read from the plan. The plan must have been made against this API, must not
    be stale, and every resource it holds must be one the file proposes now, to the
    value; warnings and guards come from the provider's review, not from the plan."""
    if saved.provider != desired.provider:
        raise PlanFileError(
            f"The saved plan is for the {visible(saved.provider)} provider but "
            f"{desired.source} is for {desired.provider}; nothing was written. Run plan again."
        )
    check_host(saved, connection)
    provider = providers.get(desired.provider)
    narrowed = _narrowed(saved, targets, provider, source="the saved plan")
    if narrowed.is_empty:
        return replace(narrowed, warnings=(), guards=(), api=connection.api)
    async with provider.session(connection) as session:
        live = await session.read_live(desired)
    return reviewed_saved(
        narrowed, desired, live, provider, api=connection.api, targets=targets, made_with=saved
    )


def reviewed_saved(
    narrowed: Plan,
    desired: DesiredState,
    live: LiveState,
    provider: Provider,
    *,
    api: Mapping[str, str],
    made_with: Plan,
    targets: tuple[str, ...] = (),
) -> Plan:
    """``verified_saved`` once live state is read: the pin, ended holds, staleness, and
    the plan against what the file and live state propose now (with the targets the
    saved plan ``made_with`` was planned with)."""
    live = provider.align(desired, live)
    planning.check_organization(desired, live)
    planning.check_holds(narrowed, desired)
    planning.check_not_stale(narrowed, live)
    fresh = planning.make_plan(
        desired,
        live,
        provider,
        targets=made_with.targets,
        only=frozenset(r.address for r in narrowed.resources),
    )
    planning.check_matches(narrowed, fresh, source=desired.source)
    # The reviewed ETags stay: a write then fails if anything in its resource moved since
    # review (If-Match), which a changed ETag can only make stricter, never broader.
    reviewed = {r.address: r.etag for r in narrowed.resources}
    return replace(
        fresh,
        resources=tuple(replace(r, etag=reviewed[r.address]) for r in fresh.resources),
        targets=targets or fresh.targets,
        api=api,
    )


async def verified_undo(
    saved: planfile.SavedPlan, connection: Connection, targets: tuple[str, ...] = ()
) -> Plan:
    """An undo plan, after checking apply signed it with this key and this API, and that
    nothing it puts back moved since; reviewed like any plan (warnings and guards)."""
    planfile.check_undo(saved, connection.api_key)
    check_host(saved.plan, connection)
    provider = providers.get(saved.plan.provider)
    narrowed = _narrowed(saved.plan, targets, provider, source="the undo plan")
    if narrowed.is_empty:
        return replace(narrowed, guards=(), api=connection.api)
    async with provider.session(connection) as session:
        live = await session.read_live()
    return reviewed_undo(narrowed, live, provider, api=connection.api)


def reviewed_undo(
    narrowed: Plan, live: LiveState, provider: Provider, *, api: Mapping[str, str]
) -> Plan:
    """``verified_undo`` once live state is read: nothing it puts back moved since, and
    the provider's review (warnings and guards) of what it would do now."""
    planning.check_not_stale(narrowed, live)
    warnings, guards = provider.review(narrowed.resources, live)
    return replace(
        narrowed,
        # The undo plan says what its writer's review said; live may say the same again.
        warnings=tuple(dict.fromkeys((*narrowed.warnings, *warnings))),
        guards=tuple(guards),
        api=api,
    )


def check_host(saved: Plan, connection: Connection) -> None:
    """A saved plan applies only to the API it was made against, before anything is sent."""
    recorded = saved.api.get("base_url")
    if not recorded or normalise_url(recorded) != connection.base_url:
        shown = visible(recorded) if recorded else "an API it does not record"
        head = (
            f"The saved plan was made against {shown}, not {connection.base_url} where this "
            "apply would write; nothing was sent."
        )
        if not recorded:
            raise PlanFileError(f"{head} Run plan again against {connection.base_url}.")
        host = urlsplit(recorded).hostname
        if host is not None and is_loopback(host):
            # A sandbox on this machine: most likely what the operator left out.
            raise PlanFileError(
                f"{head} To apply it to the sandbox it was made against, add --base-url "
                f"{shown}; or run plan again against {connection.base_url}."
            )
        raise PlanFileError(
            f"{head} Run plan again against {connection.base_url}, or pass --base-url "
            f"{shown} if that API is meant."
        )


def _narrowed(plan: Plan, targets: tuple[str, ...], provider: Provider, *, source: str) -> Plan:
    chosen = set(
        planning.select(
            {r.address: r for r in plan.resources}, targets, source=source, provider=provider
        )
    )
    return replace(
        plan,
        resources=tuple(r for r in plan.resources if r.address in chosen),
        targets=targets or plan.targets,
    )


def check_safe(plan: Plan, *, max_changes: int | None, force: bool = False) -> None:
    """Refuse, before any write, a plan larger than ``--max-changes`` or one whose
    removals the provider guards (a large share of a section, an admin) unless forced."""
    if max_changes is not None and plan.to_change > max_changes:
        raise UnsafePlanError(
            f"The plan changes {plan.to_change} "
            f"{'resource' if plan.to_change == 1 else 'resources'}, more than --max-changes "
            f"{max_changes} allows; nothing was written. Review it, then raise the limit or "
            "narrow it with --target."
        )
    if plan.guards and not force:
        raise UnsafePlanError(
            f"The plan {'; '.join(plan.guards)}; nothing was written. Review the removals, "
            "then apply with --force if they are meant."
        )


async def apply(
    plan: Plan,
    connection: Connection,
    *,
    stop: asyncio.Event | None = None,
    on_result: OnResult | None = None,
) -> ApplyReport:
    async with providers.get(plan.provider).session(connection) as session:
        return await apply_plan(
            plan, session, concurrency=connection.concurrency, stop=stop, on_result=on_result
        )


async def export(connection: Connection) -> dict[str, Any]:
    """The live organization as desired-state data: every writable field."""
    async with providers.get(connection.provider).session(connection) as session:
        return await session.export()


@dataclass(frozen=True)
class Adopted:
    """What ``adopt`` makes of a file: its new text (the old one when nothing drifted),
    the drift it took in (as planned: live to file), and the live resources it added."""

    text: str
    drift: Plan
    added: tuple[Put, ...]
    written: frozenset[str] = frozenset()  # the addresses the file wrote before
    settled: tuple[Any, ...] = ()  # the ended holds written out of the file
    decided: tuple[tuple[str, str], ...] = ()  # (address, what the file says now)

    @property
    def is_empty(self) -> bool:
        return self.drift.is_empty and not self.added and not self.settled and not self.decided


async def adopt(
    path: Path, connection: Connection, *, add_unmanaged: bool = False, saved: Plan | None = None
) -> Adopted:
    """The file edited in place to say what is live, for what it manages (and, with
    ``add_unmanaged``, what it does not name yet); checked before anyone writes it: the
    new text must validate and plan to no changes against the same live state."""
    if saved is not None:
        check_host(saved, connection)  # as apply: a plan speaks only of the API it read
    raw = read_input(path, what="the file")
    desired = document.from_bytes(raw, str(path))
    provider = providers.get(desired.provider)
    async with provider.session(connection) as session:
        live = await session.read_live()
        exported = await session.export() if add_unmanaged else None
    return adopted(raw, desired, live, exported=exported, saved=saved, api=connection.api)


def adopted(
    raw: bytes,
    desired: DesiredState,
    live: LiveState,
    *,
    exported: dict[str, Any] | None = None,
    saved: Plan | None = None,
    api: Mapping[str, str] = MappingProxyType({}),
) -> Adopted:
    """``adopt`` once live state is read: the drift (planned now, or a saved plan that
    still matches), its edits and the ``exported`` resources the file does not name,
    and the new text, refused unless it plans to nothing against ``live``."""
    name = desired.source
    provider = providers.get(desired.provider)
    live = provider.align(desired, live)
    root = document.compose(raw, name)
    # Problems only a decision in the file settles (a workspace archived live): recorded
    # first, as what is live, so the rest is planned against the file that says so.
    settlements = provider.propose(desired, live).settlements
    decided = tuple((address, s.said) for address, s in sorted(settlements.items()))
    planned_from = desired.digest  # what a saved plan was made of: the file before them
    if settlements:
        edits = [e for s in settlements.values() for e in s.edits]
        raw = adoption.apply_edits(raw.decode("utf-8"), root, edits, _indent_step(root)).encode()
        desired = document.from_bytes(raw, name)
        root = document.compose(raw, name)
    if saved is None:
        drift = planning.make_plan(desired, live, provider)
    else:
        if saved.source.get("sha256") != planned_from:
            raise PlanFileError(
                f"{name} changed since the saved plan was made; nothing was adopted. Plan "
                "the file again and adopt from the new plan."
            )
        planning.check_not_stale(saved, live)
        # A saved plan is a claim, here as in apply: it may only hold drift the file and
        # live state show now, or it could bring into the file what nobody reviewed.
        planning.check_matches(saved, planning.make_plan(desired, live, provider), source=name)
        drift = saved
    edits = adoption.around_holds(
        [
            e
            for c in drift.resources
            if c.address not in desired.expired
            for e in provider.adoption(c)
        ],
        desired.holds,
    )
    added = tuple(
        adoption.unmanaged(provider.adoptable, document.parse(raw, name), exported)
        if exported is not None
        else ()
    )
    text = raw.decode("utf-8")
    written = frozenset(desired.resources)
    if not edits and not added and not decided:  # (an ended hold is always an edit)
        return Adopted(text, drift, added, written)
    step = _indent_step(root)
    new_text = adoption.apply_edits(text, root, [*edits, *added], step)
    scheduled = {h.address for h in desired.holds if h.expired}
    _check_adopted(new_text, name, live, provider, scheduled)
    ended = tuple(h for h in desired.holds if h.expired)
    return Adopted(new_text, replace(drift, api=api), added, written, ended, decided)


def _check_adopted(
    text: str, name: str, live: Any, provider: Provider, scheduled: set[str]
) -> None:
    """Refuse to write text that does not say exactly what is live, apart from what an
    ended hold still has to change (``scheduled``: apply makes those, adopt does not
    undo them)."""
    try:
        after = document.from_bytes(text.encode("utf-8"), name)
        left = planning.make_plan(after, provider.align(after, live), provider)
    except ReconcilerError as exc:
        raise AdoptionError(
            f"adopt could not write {name} faithfully ({visible(str(exc))[:300]}); the file "
            "was left as it was."
        ) from exc
    differing = [r for r in left.resources if r.address not in scheduled]
    if differing:
        shown = ", ".join(r.address for r in differing[:5])
        raise AdoptionError(
            f"adopt could not write {name} faithfully: {shown} would still differ from live "
            "state; the file was left as it was."
        )


def _indent_step(root: yaml.Node) -> int:
    """How far the file indents a nested mapping (2 when it never does)."""
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if isinstance(value, yaml.MappingNode) and value.value and not value.flow_style:
                step: int = value.value[0][0].start_mark.column - key.start_mark.column
                return max(1, step)
    return 2
