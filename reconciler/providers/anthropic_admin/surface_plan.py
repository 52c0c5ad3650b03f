"""The plan of the security surface's sections (``surface``): creates, updates and
removals of what reconciler may write; alerts and adoptable settlements for what it
may not; a rule's effect in words beside its line, and the warnings a reviewer needs.

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
)
from reconciler.providers.anthropic_admin import addresses, rule_words, surface
from reconciler.providers.anthropic_admin.addresses import (
    ISSUER,
    RULE,
    SERVICE_ACCOUNT,
    TELEMETRY,
    WEBHOOK,
)
from reconciler.providers.base import Proposal, Settlement

KINDS = (SERVICE_ACCOUNT, ISSUER, RULE, WEBHOOK, TELEMETRY)
_NAMES = {
    SERVICE_ACCOUNT: "service account",
    ISSUER: "federation issuer",
    RULE: "federation rule",
    WEBHOOK: "webhook",
    TELEMETRY: "telemetry destination",
}


def propose(desired: DesiredState, live: LiveState) -> Proposal:
    """What the file's security sections ask of the live organization."""
    context = live.context
    unoffered = context.get("unoffered", [])
    readable = {
        kind: bool(context.get("oauth")) if kind in surface.OAUTH_ONLY else kind not in unoffered
        for kind in KINDS
    }
    ours = {a: f for a, f in desired.resources.items() if addresses.parse(a)[0] in KINDS}
    current = {a: r for a, r in live.resources.items() if addresses.parse(a)[0] in KINDS}
    problems: dict[str, str] = {}
    renamed: set[str] = set()  # live addresses a pinned entry renames
    why: str | None
    blocked = [a for a in ours if not readable[addresses.parse(a)[0]]]
    if blocked:
        why = (
            surface.NEEDS_FEDERATION
            if any(addresses.parse(a)[0] in surface.OAUTH_ONLY for a in blocked)
            else f"the Admin API answered 404 for {_NAMES[addresses.parse(blocked[0])[0]]}s: "
            "they are not turned on for this organization; remove the section, or ask "
            "Anthropic to turn them on"
        )
        problems[blocked[0]] = why
    issuer_urls = _issuer_urls(ours, current)
    console_issuers = {
        str(r.fields.get("issuer"))
        for a, r in current.items()
        if addresses.parse(a)[0] == RULE
        and not set(str(r.fields.get("oauth_scope")).split()) <= surface.WORKLOAD_SCOPES
    }
    changes: list[ResourceChange] = []
    updates: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    notes: list[tuple[str, str]] = []
    alerts: list[tuple[str, str]] = []
    settlements: dict[str, Settlement] = {}
    about: dict[str, str] = {}
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
        if kind == RULE:
            url = issuer_urls.get(str(wanted.get("issuer")))
            about[address] = rule_words.effect({**(now or {}), **wanted}, url)
            notes += [(address, w) for w in rule_words.warnings(address, wanted, url)]
        why = surface.watched_why(kind, now, {**wanted, "_name": names[0]}, console_issuers)
        if why is not None:
            if now is None or any(wanted[n] != now.get(n) for n in wanted):
                said, settlement = surface.watched(address, now, wanted, why)
                alerts.append((address, said))
                if settlement is not None:
                    settlements[address] = settlement
            continue
        if now is None:
            requires = _requires(kind, wanted, ours, current)
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
        if kind == RULE and "issuer" in wanted and wanted["issuer"] != now["issuer"]:
            problems[address] = (
                f"{address}: its issuer is {now['issuer']} live and {wanted['issuer']} in the "
                "file, and a rule's issuer never changes: give the new rule another name, "
                "and remove this one"
            )
            continue
        updates[address] = ({n: now.get(n) for n in wanted}, wanted)
    changes += [
        ResourceChange(address, Action.UPDATE, None, found)
        for address, found in differing(updates).items()
    ]
    unmanaged: dict[str, LiveResource] = {}
    for address, resource in current.items():
        kind = addresses.parse(address)[0]
        if address in ours or address in renamed or not readable[kind]:
            continue
        if any(address.startswith(p) for p in desired.prune):
            named = {"_name": addresses.parse(address)[1][0]}
            why = surface.watched_why(kind, resource.fields, named, console_issuers)
            if why is None:
                removal = Action.DELETE if kind in (WEBHOOK, TELEMETRY) else Action.ARCHIVE
                gone = {n: FieldChange(v, None) for n, v in resource.fields.items()}
                changes.append(ResourceChange(address, removal, None, gone))
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
    kept = {addresses.parse(a)[0] for a in [*ours, *desired.prune]}
    watched_here = {a: r for a, r in unmanaged.items() if addresses.parse(a)[0] in kept}
    alerts[:0] = surface.alerts_for(changes, watched_here, issuer_urls)
    notes += _unjoined(ours, current, _default_name(live))
    counts: dict[str, int] = {}
    for address in unmanaged:
        noun = _NAMES[addresses.parse(address)[0]]
        counts[noun] = counts.get(noun, 0) + 1
    return Proposal(
        changes,
        unmanaged=counts,
        problems=problems,
        settlements=settlements,
        notes=notes,
        about=about,
        alerts=alerts,
    )


def _pinned(
    address: str, pinned_id: str, current: Mapping[str, LiveResource]
) -> tuple[str, LiveResource] | str | None:
    """A file entry pinned by ``id``: None when it is live at its own name (or not live
    at all), the live address and resource when it is live under another name (a
    rename), or the problem that says why the pin cannot hold."""
    kind = addresses.parse(address)[0]
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
    if kind == SERVICE_ACCOUNT:
        return (
            f"{address} is pinned to id {pinned_id}, which is live as {found}, and a service "
            "account's name never changes: write the live name"
        )
    return found, current[found]


def _default_name(live: LiveState) -> str | None:
    """The Default workspace's name: every service account is implicitly its member."""
    names = {
        resource.id: addresses.parse(address)[1][0]
        for address, resource in live.resources.items()
        if addresses.parse(address)[0] == addresses.WORKSPACE
    }
    return names.get(live.context.get("default_workspace"))


def _unjoined(
    ours: Mapping[str, Mapping[str, Any]],
    current: Mapping[str, LiveResource],
    default: str | None,
) -> list[tuple[str, str]]:
    """A rule enabled in a workspace its service account is not a member of: the
    exchange refuses a token for that workspace (every account is implicitly a member
    of the Default workspace)."""
    said = []
    for address, fields in ours.items():
        where = fields.get("workspaces")
        if addresses.parse(address)[0] != RULE or not isinstance(where, list):
            continue
        account = addresses.make(SERVICE_ACCOUNT, str(fields.get("service_account")))
        live = current.get(account)
        now = live.fields.get("workspaces") if live else ({} if account in ours else None)
        joined = ours.get(account, {}).get("workspaces", now)
        if joined is None:
            continue  # an account the plan cannot see: nothing to say
        missing = [w for w in where if w not in joined and w != default]
        if missing:
            said.append(
                (
                    address,
                    f"{address} is enabled in {', '.join(missing)}, where service account "
                    f"{fields.get('service_account')} is not a member: the exchange refuses a "
                    "token for that workspace; add the workspace to the account's workspaces",
                )
            )
    return said


def _issuer_urls(
    ours: Mapping[str, Mapping[str, Any]], current: Mapping[str, LiveResource]
) -> dict[str, str]:
    """Each issuer's URL by name, the file's over the live one."""
    urls: dict[str, str] = {}
    for found in (
        {a: r.fields for a, r in current.items()},
        ours,
    ):
        for address, fields in found.items():
            kind, names = addresses.parse(address)
            if kind != ISSUER:
                continue
            if "issuer_url" in fields:
                urls[names[0]] = str(fields["issuer_url"])
    return urls


def _requires(
    kind: str,
    wanted: Mapping[str, Any],
    ours: Mapping[str, Mapping[str, Any]],
    current: Mapping[str, LiveResource],
) -> list[str]:
    """A new rule waits for its issuer and service account when this plan creates them."""
    if kind != RULE:
        return []
    needed = [
        addresses.make(ISSUER, str(wanted.get("issuer"))),
        addresses.make(SERVICE_ACCOUNT, str(wanted.get("service_account"))),
    ]
    return [a for a in needed if a in ours and a not in current]


def review(changes: list[ResourceChange]) -> list[str]:
    """Warnings for the removals of the security surface (they cannot be undone)."""
    said = []
    for change in changes:
        kind = addresses.parse(change.address)[0]
        if kind in (SERVICE_ACCOUNT, ISSUER, RULE) and change.action is Action.ARCHIVE:
            said.append(f"{change.address}: archiving cannot be undone")
        if kind in (WEBHOOK, TELEMETRY) and change.action is Action.DELETE:
            said.append(
                f"{change.address}: deleting it stops its deliveries, and its signing secret "
                "is gone with it"
            )
    return said
