"""The steps between the command line and the pipeline: read live state, plan,
check that a plan is safe and fresh, apply it. Each command is a few lines that
call one of these; which API is behind them is the provider's business."""

from __future__ import annotations

import asyncio
from typing import Any

from reconciler import plan as planning
from reconciler import providers
from reconciler.apply import OnResult, apply_plan
from reconciler.connection import Connection, base_url_for, key_for
from reconciler.errors import UnsafePlanError
from reconciler.model import ApplyReport, DesiredState, Plan

__all__ = ["Connection", "base_url_for", "key_for"]


async def plan_file(
    desired: DesiredState, connection: Connection, targets: tuple[str, ...] = ()
) -> Plan:
    provider = providers.get(desired.provider)
    planning.select(desired.resources, targets, source=desired.source, provider=provider)
    async with provider.session(connection) as session:  # targets were checked before reading
        live = await session.read_live()
    return planning.make_plan(desired, live, provider, targets=targets)


async def refresh_saved(plan: Plan, connection: Connection, targets: tuple[str, ...] = ()) -> Plan:
    """The saved plan, narrowed to ``targets``, after checking no planned value moved."""
    provider = providers.get(plan.provider)
    chosen = set(
        planning.select(
            {r.address: r for r in plan.resources},
            targets,
            source="the saved plan",
            provider=provider,
        )
    )
    narrowed = Plan(
        resources=tuple(r for r in plan.resources if r.address in chosen),
        warnings=plan.warnings,
        unmanaged=plan.unmanaged,
        targets=targets or plan.targets,
        source=plan.source,
        provider=plan.provider,
        guards=plan.guards,
    )
    if narrowed.is_empty:
        return narrowed
    async with provider.session(connection) as session:
        live = await session.read_live()
    planning.check_not_stale(narrowed, live)
    return narrowed


def check_safe(plan: Plan, *, max_changes: int | None, force: bool = False) -> None:
    """Refuse, before any write, a plan larger than ``--max-changes`` or one whose
    removals the provider guards (a large share of a section, an admin) unless forced."""
    if max_changes is not None and plan.to_change > max_changes:
        raise UnsafePlanError(
            f"The plan changes {plan.to_change} resources, more than --max-changes "
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
