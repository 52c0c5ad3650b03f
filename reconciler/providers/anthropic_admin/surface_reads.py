"""The security surface's reads through the SDK (``surface`` says what they mean):
service accounts and their workspaces, federation issuers and rules (an OAuth access
token only: read when signed in by federation), webhooks and telemetry destinations
with their workspace lists (read always; an organization without them turned on
answers 404, and the plan says so only to a file that lists some). Every list at
once, then what hangs off each item."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from reconciler.core.errors import ApiError
from reconciler.providers.anthropic_admin.addresses import (
    ISSUER,
    RULE,
    SERVICE_ACCOUNT,
    TELEMETRY,
    WEBHOOK,
)
from reconciler.providers.anthropic_admin.surface import OAUTH_ONLY, SECTIONS, Found
from reconciler.providers.anthropic_admin.surface_calls import Calls


async def read(calls: Calls, *, oauth: bool, kinds: frozenset[str] | None) -> Found:
    """Every list at once (a destination's workspace list after its destination, an
    account's workspaces after the accounts): of ``kinds`` (None: all), and what they
    name (a rule's issuer and service account). Service accounts, issuers and rules
    only when ``oauth``: an Admin API key may not read them."""
    org = calls.org
    wanted = set(SECTIONS if kinds is None else kinds)
    if RULE in wanted:
        wanted |= {ISSUER, SERVICE_ACCOUNT}  # a rule names them

    async def nothing() -> None:
        return None

    def reading(kind: str, read: Callable[[], Awaitable[Any]]) -> Awaitable[Any]:
        allowed = kind in wanted and (oauth or kind not in OAUTH_ONLY)
        return read() if allowed else nothing()

    found = await asyncio.gather(
        reading(
            SERVICE_ACCOUNT,
            lambda: calls.listed("list service accounts", org.service_accounts.list),
        ),
        reading(
            ISSUER, lambda: calls.listed("list federation issuers", org.federation.issuers.list)
        ),
        reading(RULE, lambda: calls.listed("list federation rules", org.federation.rules.list)),
        reading(
            WEBHOOK,
            lambda: _offered(calls.listed("list webhooks", org.webhooks.list, page_size=100)),
        ),
        reading(TELEMETRY, lambda: _destinations(calls)),
    )
    accounts = [a for a in found[0] or [] if a.archived_at is None]
    joined = await asyncio.gather(
        *(
            calls.listed(
                f"list the workspaces of service account {a.name}",
                org.service_accounts.workspaces.list,
                service_account_id=a.id,
            )
            for a in accounts
        )
    )
    memberships = {
        a.id: {m.workspace_id: m.workspace_role for m in members if not m.implicit}
        for a, members in zip(accounts, joined, strict=True)
    }
    accounts_read, issuers, rules, hooks, destinations = found
    return Found(accounts_read, issuers, rules, hooks, destinations, memberships)


async def _offered(reading: Awaitable[list[Any]]) -> list[Any] | None:
    """A list, or None where the organization does not have it turned on (404)."""
    try:
        return await reading
    except ApiError as exc:
        if exc.status != 404:
            raise
        return None


async def _destinations(calls: Calls) -> list[tuple[Any, list[str]]] | None:
    org = calls.org
    destinations = await _offered(
        calls.listed("list telemetry destinations", org.telemetry_destinations.list, page_size=100)
    )
    if destinations is None:
        return None
    listed = [d for d in destinations if d.workspaces.type != "all"]
    lists = await asyncio.gather(
        *(
            calls.listed(
                f"list the workspaces of telemetry destination {d.id}",
                org.telemetry_destinations.workspaces.list,
                destination_id=d.id,
                page_size=100,
            )
            for d in listed
        )
    )
    ids = {d.id: [w.workspace_id for w in found] for d, found in zip(listed, lists, strict=True)}
    return [(d, ids.get(d.id, [])) for d in destinations]
