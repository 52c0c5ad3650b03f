"""What a reader of a plan needs to see about limits: money as money in the
organization's currency, a rate-limit group by its display name with the
organization's own limits beside the overrides, and the warnings a change of
limits deserves (an override above the organization's limit; the hour they take).

Live state carries the organization's rate-limit table in ``context`` as
``rate_limit_groups``: ``{group_id: {"entry": id, "name": display, "limits":
{type: value}}}``; and its billing currency as ``currency``."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from reconciler.core.model import LiveState, ResourceChange
from reconciler.providers.anthropic_admin import addresses

# ISO 4217 currencies whose minor unit is the unit itself (no cents).
_NO_MINOR_UNIT = frozenset({"JPY", "KRW", "VND", "CLP", "ISK", "UGX", "XAF", "XOF"})
_ISO_4217 = re.compile(r"[A-Z]{3}")
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "AUD": "A$", "CAD": "C$"}
TAKES_EFFECT = "rate-limit changes take effect within about an hour of being applied, not at once"
NO_SPEND_ACCESS = (
    "this organization cannot read or set spend limits through the Admin API (an early-access "
    "preview): ask your Anthropic account team for access, or set them in the Console"
)


def currency_code(text: str | None) -> str | None:
    """An ISO 4217 code as the API gave it, or None for anything else: the API's text
    reaches terminals, comments and charts, so only three capital letters pass."""
    return text if isinstance(text, str) and _ISO_4217.fullmatch(text) else None


def money(amount: int | None, currency: str | None) -> str:
    """``$500.00`` for 50000 in USD; ``no limit`` for None; the minor units and the
    words ``minor units`` when the currency is not known (no spend limit to read it from,
    or not a currency code)."""
    if amount is None:
        return "no limit"
    currency = currency_code(currency)
    if not currency:
        return f"{amount:,} minor units of the billing currency"
    whole = currency in _NO_MINOR_UNIT
    shown = f"{amount:,}" if whole else f"{amount // 100:,}.{amount % 100:02d}"
    symbol = _SYMBOLS.get(currency)
    return f"{symbol}{shown}" if symbol else f"{shown} {currency}"


def spend_about(before: int | None, after: int | None, currency: str | None) -> str:
    """``$500.00 → $600.00 a month``."""
    if before == after or before is None:
        return f"{money(after, currency)} a month"
    return f"{money(before, currency)} → {money(after, currency)} a month"


def group_name(group: Mapping[str, Any]) -> str:
    return str(group.get("name") or group.get("type") or "a rate-limit group")


def rate_about(group: Mapping[str, Any], types: Sequence[str]) -> str:
    """``Claude Sonnet 4.x; the organization's limits: requests_per_minute 4000``."""
    org = group.get("limits", {})
    shown = ", ".join(f"{t} {org[t]:,}" for t in types if org.get(t) is not None)
    return f"{group_name(group)}; the organization's limits: {shown or 'none of these'}"


def unknown_group(address: str, group: str, groups: Mapping[str, Any]) -> str:
    valid = ", ".join(f"{g} ({group_name(v)})" for g, v in sorted(groups.items()))
    return (
        f"{address}: {group} is not a rate-limit group of this organization; its groups are "
        f"{valid or 'none'} (keys are group ids, which never change; display names may)"
    )


def unknown_types(address: str, types: Sequence[str], group: Mapping[str, Any]) -> str:
    valid = ", ".join(sorted(group.get("limits", {})))
    return (
        f"{address}: {', '.join(types)} {'is' if len(types) == 1 else 'are'} not a limiter "
        f"type of {group_name(group)}; its types are {valid}"
    )


def review(changes: Sequence[ResourceChange], live: LiveState) -> list[str]:
    """Once per plan, when it changes rate limits (``changes``), that they take about an
    hour; and each override set above the organization's own limit (the lower one
    applies)."""
    groups: Mapping[str, Any] = live.context.get("rate_limit_groups", {})
    warnings: list[str] = []
    for change in changes:
        names = addresses.parse(change.address)[1]
        org = groups.get(names[1], {}).get("limits", {})
        for limiter, field in change.changes.items():
            if (
                field.after is not None
                and org.get(limiter) is not None
                and field.after > org[limiter]
            ):
                warnings.append(
                    f"{change.address}: {limiter} {field.after:,} is above the organization's "
                    f"{org[limiter]:,}; the lower one applies"
                )
    return ([TAKES_EFFECT] if changes else []) + warnings
