"""Spend guardrails in the plan: what this month's money says about a change of a
spend limit or a rate limit, before anyone applies it.

A spend limit's line in the plan gets this month's spend and where the month is
heading beside the new number, and the plan warns when the new limit is already
below the month's spend (requests would be refused at once), below the
projection (they would be refused before the month ends), or when a limit is
removed. A rate limit lowered below the workspace's busiest minute of the last
24 hours warns likewise. Only the numbers are computed here; ``session.advise``
reads the reports, and only when the plan touches a limit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from reconciler.core.escape import visible
from reconciler.core.model import Action, ResourceChange
from reconciler.providers.anthropic_admin import addresses
from reconciler.providers.anthropic_admin.kinds import ENTRIES_BY_NAME
from reconciler.providers.anthropic_admin.money import Money, Spend, dollars
from reconciler.providers.base import Advice

# The usage report's fields a limiter type of a rate limit counts.
PER_MINUTE = {
    "requests_per_minute": ("requests",),
    "input_tokens_per_minute": ("uncached_input_tokens",),
    "input_tokens_per_minute_cache_aware": ("uncached_input_tokens", "cache_creation"),
    "output_tokens_per_minute": ("output_tokens",),
    "tokens_per_minute": ("total_tokens",),
}


@dataclass(frozen=True)
class Touched:
    """The limits a plan changes: spend limits (monthly), by workspace name (None: the
    organization's), and rate limits by workspace name and their limiter types."""

    spend: dict[str, str | None]  # address -> workspace name, or None
    rate: dict[str, str]  # address -> workspace name

    @property
    def any(self) -> bool:
        return bool(self.spend or self.rate)


def touched(changes: Sequence[ResourceChange]) -> Touched:
    spend: dict[str, str | None] = {}
    rate: dict[str, str] = {}
    for change in changes:
        kind, names = addresses.parse(change.address)
        entry = ENTRIES_BY_NAME.get(kind)
        guarded = entry.guarded(change, names) if entry is not None else None
        if guarded is None:
            continue
        if guarded.money == "spend":
            spend[change.address] = guarded.workspace
        elif guarded.workspace is not None:
            rate[change.address] = guarded.workspace
    return Touched(spend, rate)


def spend_advice(
    changes: Sequence[ResourceChange], found: Touched, money: Money, ids: Mapping[str, str]
) -> Advice:
    """Each spend-limit change against the month's money (``ids``: workspace name to id)."""
    by_id = {s.workspace_id: s for s in money.rows}
    warnings: list[str] = []
    about: dict[str, str] = {}
    for change in changes:
        if change.address not in found.spend:
            continue
        name = found.spend[change.address]
        if name is not None and name not in ids:
            continue  # a workspace still to be created (or renamed by this plan)
        spend = by_id.get(ids[name] if name is not None else None)
        where = f"workspace {visible(name)!s}" if name else "the organization"
        if spend is None:
            about[change.address] = "nothing spent this month"
            if change.action is Action.DELETE:
                warnings.append(f"{change.address}: removes the spend limit of {where}")
            continue
        about[change.address] = _month(spend, money.currency)
        field = change.changes.get("amount")
        new = None if change.action is Action.DELETE or field is None else field.after
        warnings += _against(change.address, where, new, spend, money)
    return Advice(tuple(warnings), about)


def _month(spend: Spend, currency: str) -> str:
    heading = spend.projection.projected
    ahead = f", heading for {dollars(heading, currency)}" if heading is not None else ""
    return f"spent {dollars(spend.spent, currency)} this month{ahead}"


def _against(address: str, where: str, new: int | None, spend: Spend, money: Money) -> list[str]:
    currency = money.currency
    spent = dollars(spend.spent, currency)
    if new is None:
        heading = spend.projection.projected
        ahead = f" and is heading for {dollars(heading, currency)}" if heading else ""
        return [
            f"{address}: removes the spend limit of {where}, which has spent {spent} this "
            f"month{ahead}: nothing would cap it"
        ]
    limit = dollars(new, currency)
    if new <= spend.spent:
        return [
            f"{address}: the new limit {limit} is at or below this month's spend in {where} "
            f"({spent}): requests in {where} would be refused at once"
        ]
    projected = spend.projection.projected
    if projected is not None and new < projected:
        when = _reached(new, spend, money)
        return [
            f"{address}: the new limit {limit} is below where this month is heading in "
            f"{where} ({dollars(projected, currency)} at this rate): requests would be "
            f"refused from about {when}"
        ]
    return []


def _reached(limit: int, spend: Spend, money: Money) -> str:
    """The day the month's straight line reaches ``limit``."""
    elapsed = (money.as_of - money.start).total_seconds()
    rate = float(spend.spent) / elapsed if elapsed > 0 else 0.0
    if rate <= 0:
        return "the month's end"
    return f"{money.start + timedelta(seconds=limit / rate):%Y-%m-%d}"


def busiest_minutes(rows: Sequence[Any]) -> dict[str | None, dict[str, int]]:
    """Per workspace id, the busiest minute of the usage report's rows (one a minute),
    for each limiter type ``PER_MINUTE`` knows."""
    peaks: dict[str | None, dict[str, int]] = {}
    for row in rows:
        usage = row.usage
        found = peaks.setdefault(row.group.workspace_id, {})
        for limiter, fields in PER_MINUTE.items():
            value = sum(_count(usage, name) for name in fields)
            found[limiter] = max(found.get(limiter, 0), value)
    return peaks


def _count(usage: Any, name: str) -> int:
    value: Any = getattr(usage, name, None)
    if value is None:
        return 0
    if name == "cache_creation":
        return int(value.ephemeral_1h_input_tokens + value.ephemeral_5m_input_tokens)
    return int(value)


def rate_advice(
    changes: Sequence[ResourceChange],
    found: Touched,
    peaks: Mapping[str | None, Mapping[str, int]],
    ids: Mapping[str, str],
    since: datetime,
) -> Advice:
    """Each rate limit lowered below the workspace's busiest minute since ``since``."""
    warnings = []
    for change in changes:
        name = found.rate.get(change.address)
        if name is None:
            continue
        peak = peaks.get(ids.get(name), {})
        for limiter, field in change.changes.items():
            new, busiest = field.after, peak.get(limiter)
            if isinstance(new, int) and busiest is not None and new < busiest:
                warnings.append(
                    f"{change.address}: {limiter} {new:,} is below the busiest minute of "
                    f"workspace {visible(name)} since {since:%Y-%m-%d %H:%M} UTC ({busiest:,}, "
                    "all models): requests past it would be refused with 429"
                )
    return Advice(tuple(warnings))
