"""The Admin API's reports as reconciler reads them through a session: the month's
money for ``usage`` (workspaces, spend limits, the cost report by workspace and day),
and what the plan's spend guardrails read (``spend_guard`` judges it), only when a
plan touches a limit. The session is the boundary (the SDK, its errors); this module
says which reports, over which range, and that a report that cannot be read never
fails a plan."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from reconciler.core.errors import ApiError
from reconciler.core.model import ResourceChange
from reconciler.providers.anthropic_admin import spend_guard
from reconciler.providers.anthropic_admin.money import money_of, month_around, report_end
from reconciler.providers.base import Advice


class Reader(Protocol):
    """What this module needs of the session (``AdminSession`` is one): the SDK's
    organization resource and its checked reads."""

    org: Any

    async def listed(self, what: str, lister: Callable[..., Any], **params: Any) -> list[Any]: ...

    async def spend_limits(self) -> list[Any] | None: ...

    async def report(
        self, what: str, lister: Callable[..., Any], **params: Any
    ) -> tuple[list[Any], datetime | None]: ...


async def money_reads(
    session: Reader, start: datetime, end: datetime
) -> tuple[list[Any], list[Any] | None, list[Any], datetime | None]:
    """What ``usage`` needs of the organization's money, read concurrently: the active
    workspaces (the Default one too), the spend limits (None without access to them),
    and the cost report by workspace in day buckets from ``start`` to ``end``, with the
    moment its data is as of."""
    org = session.org
    workspaces, limits, (rows, refreshed) = await asyncio.gather(
        session.listed("list workspaces", org.workspaces.list, include_default=True),
        session.spend_limits(),
        session.report(
            "read the cost report",
            org.analytics.cost.list,
            starting_at=start,
            ending_at=end,
            group_by=["workspace_id"],
            time_bucket_width="1d",
        ),
    )
    return workspaces, limits, rows, refreshed


async def advise(session: Reader, changes: Sequence[ResourceChange]) -> Advice:
    """This month's money beside each spend-limit change, and the busiest minute of the
    last 24 hours beside each rate limit lowered; nothing read when the plan touches no
    limit, and a report that cannot be read is one warning, never a failed plan."""
    found = spend_guard.touched(changes)
    if not found.any:
        return Advice()
    now = datetime.now(UTC)
    try:
        workspaces, limits, rows, refreshed = await money_reads(
            session, month_around(now)[0], report_end(now)
        )
        ids = {w.name: w.id for w in workspaces}
        money = money_of(workspaces, limits, rows, refreshed, now)
        advice = spend_guard.spend_advice(changes, found, money, ids)
        if not found.rate:
            return advice
        until = refreshed or now
        since = until - timedelta(hours=24)
        minutes, _ = await session.report(
            "read the usage report",
            session.org.analytics.usage.list,
            starting_at=since,
            ending_at=until,
            group_by=["workspace_id"],
            time_bucket_width="1m",
            workspace_ids=sorted({ids[n] for n in found.rate.values() if n in ids}),
        )
    except ApiError as exc:
        return Advice(
            (
                f"this month's spend and use could not be read ({exc.message}); the "
                "limits are planned without them",
            )
        )
    peaks = spend_guard.busiest_minutes(minutes)
    rate = spend_guard.rate_advice(changes, found, peaks, ids, since)
    return Advice(advice.warnings + rate.warnings, advice.about)
