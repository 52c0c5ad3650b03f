"""The organization's money this month, for ``reconciler usage`` on an Admin file:
each workspace's cost so far (the cost report, by workspace and day), against its
monthly spend limit and the organization's, with the straight-line projection to
the month's end and the day a limit would be reached.

Spend limits are monthly and the month is the calendar month in UTC. Amounts are
the API's: minor units (cents for USD), the cost report's fractional. Workspace
names come from the API: they are untrusted text, shown only through ``visible``
and cut to a length. Nothing here reads the network; ``reports.money_reads`` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from reconciler.core.errors import TransportError
from reconciler.core.escape import visible
from reconciler.core.projection import Projection, project
from reconciler.providers.anthropic_admin.limits import currency_code, money

ORGANIZATION = "Organization"
NAME_WIDTH = 40  # a workspace name's most characters on a line
DAY = timedelta(days=1)
FINE = 10_000
MOST_ROWS = 1_000_000  # a month's rows: 31 days x 32,000 workspaces, and more
MOST_MINOR_UNITS = Decimal(10) ** 15


@dataclass(frozen=True)
class Spend:
    """One workspace's month (or the organization's, ``workspace_id`` None)."""

    name: str
    workspace_id: str | None
    spent: Decimal  # minor units so far this month
    limit: int | None  # the monthly spend limit in minor units; None: no limit
    daily: tuple[Decimal, ...]  # spent by the end of each day, from the 1st to today
    projection: Projection

    def share(self, *, projected: bool = False) -> float | None:
        """Spent (or projected) as a share of the limit; None without one."""
        return self.projection.share(of_projected=projected)


@dataclass(frozen=True)
class Money:
    """The month: the organization first, then each workspace, most spent first."""

    start: datetime
    end: datetime
    as_of: datetime
    currency: str
    organization: Spend
    workspaces: tuple[Spend, ...]
    limits_readable: bool

    @property
    def rows(self) -> tuple[Spend, ...]:
        return (self.organization, *self.workspaces)


def month_around(now: datetime) -> tuple[datetime, datetime]:
    """The calendar month (UTC) holding ``now``: its first moment and the next's."""
    start = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    following = (start + timedelta(days=32)).replace(day=1)
    return start, following


def report_end(now: datetime) -> datetime:
    """The cost report's end: the start of tomorrow, within the month."""
    end = month_around(now)[1]
    tomorrow = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + DAY
    return min(tomorrow, end)


def money_of(
    workspaces: Sequence[Any],
    limits: Sequence[Any] | None,
    rows: Sequence[Any],
    refreshed: datetime | None,
    now: datetime,
) -> Money:
    """The month from what ``reports.money_reads`` read. The projection runs to the
    moment the report's data is as of (``refreshed``), not to now: a report that lags
    by an hour would otherwise read as a slower month."""
    start, end = month_around(now)
    as_of = min(max(refreshed or now, start), end)
    days = max(1, -(-(as_of - start) // DAY))
    names = {w.id: w.name for w in workspaces}
    by_workspace: dict[str | None, list[Decimal]] = {}
    total = [Decimal(0)] * days
    if len(rows) > MOST_ROWS:
        raise TransportError(
            f"The cost report answered {len(rows):,} rows for one month, more than any "
            f"organization has ({MOST_ROWS:,}); is --base-url the Admin API?"
        )
    for row in rows:
        index = (row.starting_at.astimezone(UTC) - start) // DAY
        if not 0 <= index < days:
            continue
        amount = cost_of(row.cost.amount)
        by_workspace.setdefault(row.group.workspace_id, [Decimal(0)] * days)[index] += amount
        total[index] += amount
    org_limit, workspace_limits = _monthly_limits(limits or [])
    found = [
        _spend(names[w], w, spent_by_day, workspace_limits.get(w), start, end, as_of)
        for w, spent_by_day in by_workspace.items()
        if w is not None and w in names
    ]
    found += [
        _spend(w.name, w.id, [Decimal(0)] * days, workspace_limits[w.id], start, end, as_of)
        for w in workspaces
        if w.id in workspace_limits and w.id not in by_workspace
    ]
    currency = currency_code(next((limit.currency for limit in limits or []), None))
    return Money(
        start,
        end,
        as_of,
        # XXX: ISO 4217's "no currency", for a code that is not one.
        currency or currency_code(next((row.cost.currency for row in rows), "USD")) or "XXX",
        _spend(ORGANIZATION, None, total, org_limit, start, end, as_of),
        tuple(sorted(found, key=lambda s: (-s.spent, s.name))),
        limits is not None,
    )


def cost_of(text: str) -> Decimal:
    """A cost report's amount (fractional minor units, a decimal string), checked: a
    finite number from 0 to 10^15 (ten trillion dollars), or one sentence."""
    try:
        amount = Decimal(text)
    except (InvalidOperation, TypeError, ValueError):
        amount = Decimal(-1)
    if not (amount.is_finite() and 0 <= amount <= MOST_MINOR_UNITS):
        raise TransportError(
            f"The cost report answered an amount of {visible(str(text))[:40]!r}, not a number "
            "of minor units; is --base-url the Admin API?"
        )
    return amount


def _monthly_limits(limits: Sequence[Any]) -> tuple[int | None, dict[str, int]]:
    organization: int | None = None
    workspaces: dict[str, int] = {}
    for limit in limits:
        if limit.period != "monthly" or limit.amount is None:
            continue
        if limit.scope.type == "organization" and limit.is_enabled:
            organization = int(limit.amount)
        elif limit.scope.type == "workspace":
            workspaces[limit.scope.workspace_id] = int(limit.amount)
    return organization, workspaces


def _spend(
    name: str,
    workspace_id: str | None,
    by_day: list[Decimal],
    limit: int | None,
    start: datetime,
    end: datetime,
    as_of: datetime,
) -> Spend:
    running, daily = Decimal(0), []
    for amount in by_day:
        running += amount
        daily.append(running)
    # Projected in ten-thousandths of a minor unit, so a fractional cent's rate does
    # not come out a few cents short by the month's end; then back to minor units.
    fine = project(int(running * FINE), None if limit is None else limit * FINE, start, end, as_of)
    ahead = replace(
        fine,
        used=int(running),
        projected=None if fine.projected is None else round(fine.projected / FINE),
        limit=limit,
    )
    return Spend(visible(name)[:NAME_WIDTH], workspace_id, running, limit, tuple(daily), ahead)


def dollars(minor: Decimal | int | None, currency: str) -> str:
    """An amount of minor units as money (``limits.money``: ``$1,234.56``, ``¥1,234``),
    rounded half up to the minor unit; ``-`` for none (no limit, no projection yet)."""
    if minor is None:
        return "-"
    return money(int(Decimal(minor).quantize(Decimal(1), rounding=ROUND_HALF_UP)), currency)


def crossing(spend: Spend, threshold: float, currency: str) -> str | None:
    """The sentence saying a workspace (or the organization) is at or past
    ``threshold`` of its spend limit now, or will be by the month's end at this rate;
    None when it is not, or has no limit."""
    used, projected = spend.share(), spend.share(projected=True)
    if spend.limit is None or used is None:
        return None
    limit, mark = dollars(spend.limit, currency), f"{threshold * 100:g}%"
    if used >= threshold:
        return f"{spend.name}: {used:.1%} of its spend limit ({limit}) is spent, past {mark}"
    if projected is not None and projected >= threshold:
        return (
            f"{spend.name}: at this rate the month ends at {projected:.1%} of its spend "
            f"limit ({limit}), past {mark}"
        )
    return None


def crossings(money: Money, threshold: float) -> list[str]:
    """Every workspace (and the organization) past ``threshold``, now or by projection."""
    return [s for s in (crossing(r, threshold, money.currency) for r in money.rows) if s]
