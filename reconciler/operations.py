"""The operations a command performs: plan a file against live state, verify a
saved plan against its file (an undo plan by its signature), check a plan is
safe, apply it, export. Each command is a few lines that
call one of these; which API is behind them is the provider's business."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from reconciler import planfile, planning, providers
from reconciler.apply import OnResult, apply_plan
from reconciler.connection import Connection, normalise_url
from reconciler.errors import PlanFileError, UnsafePlanError
from reconciler.escape import visible
from reconciler.model import ApplyReport, DesiredState, Plan
from reconciler.provider import Provider


async def plan_file(
    desired: DesiredState, connection: Connection, targets: tuple[str, ...] = ()
) -> Plan:
    provider = providers.get(desired.provider)
    planning.select(desired.resources, targets, source=desired.source, provider=provider)
    async with provider.session(connection) as session:  # targets were checked before reading
        live = provider.align(desired, await session.read_live())
    return replace(planning.make_plan(desired, live, provider, targets=targets), api=connection.api)


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
        live = provider.align(desired, await session.read_live())
    planning.check_organization(desired, live)
    planning.check_not_stale(narrowed, live)
    fresh = planning.make_plan(
        desired,
        live,
        provider,
        targets=saved.targets,
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
        api=connection.api,
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
    planning.check_not_stale(narrowed, live)
    warnings, guards = provider.review(narrowed.resources, live)
    return replace(
        narrowed,
        warnings=narrowed.warnings + tuple(warnings),
        guards=tuple(guards),
        api=connection.api,
    )


def check_host(saved: Plan, connection: Connection) -> None:
    """A saved plan applies only to the API it was made against, before anything is sent."""
    recorded = saved.api.get("base_url")
    if not recorded or normalise_url(recorded) != connection.base_url:
        shown = visible(recorded) if recorded else "an API it does not record"
        raise PlanFileError(
            f"The saved plan was made against {shown}, not {connection.base_url} where this "
            f"apply would write; nothing was sent. Run plan again against {connection.base_url}."
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
