"""The plan of the security surface's sections (``surface``): creates, updates and
removals of what reconciler may write; alerts and adoptable settlements for what it
may not; each change's security meaning in both directions (from its kind's spec); a
rule's effect in words beside its line, and the warnings a reviewer needs.

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
    SecurityNote,
)
from reconciler.providers.anthropic_admin import addresses, rule_words, surface
from reconciler.providers.anthropic_admin.kinds import SURFACE_BY_NAME
from reconciler.providers.anthropic_admin.kinds.federation_issuer import NAME as ISSUER
from reconciler.providers.anthropic_admin.kinds.federation_rule import NAME as RULE
from reconciler.providers.anthropic_admin.kinds.kind import WORKLOAD_SCOPES
from reconciler.providers.anthropic_admin.kinds.service_account import NAME as SERVICE_ACCOUNT
from reconciler.providers.base import Proposal, Settlement
from reconciler.providers.kinds import security
from reconciler.providers.kinds.spec import Removal

KINDS = tuple(SURFACE_BY_NAME)
# Where a removal verb of a kind is planned.
REMOVES = {Removal.ARCHIVE: Action.ARCHIVE, Removal.DELETE: Action.DELETE}


def _kind(address: str) -> str:
    return addresses.parse(address)[0]


def propose(desired: DesiredState, live: LiveState) -> Proposal:
    """What the file's security sections ask of the live organization."""
    context = live.context
    unoffered = context.get("unoffered", [])
    readable = {
        kind: bool(context.get("oauth")) if kind in surface.OAUTH_ONLY else kind not in unoffered
        for kind in KINDS
    }
    ours = {a: f for a, f in desired.resources.items() if _kind(a) in KINDS}
    current = {a: r for a, r in live.resources.items() if _kind(a) in KINDS}
    problems: dict[str, str] = {}
    renamed: set[str] = set()  # live addresses a pinned entry renames
    why: str | None
    blocked = [a for a in ours if not readable[_kind(a)]]
    if blocked:
        why = (
            surface.NEEDS_FEDERATION
            if any(_kind(a) in surface.OAUTH_ONLY for a in blocked)
            else f"the Admin API answered 404 for {SURFACE_BY_NAME[_kind(blocked[0])].spec.noun}s: "
            "they are not turned on for this organization; remove the section, or ask "
            "Anthropic to turn them on"
        )
        problems[blocked[0]] = why
    issuer_urls = _issuer_urls(ours, current)
    console_issuers = {
        str(r.fields.get("issuer"))
        for a, r in current.items()
        if _kind(a) == RULE and not set(str(r.fields.get("oauth_scope")).split()) <= WORKLOAD_SCOPES
    }
    changes: list[ResourceChange] = []
    updates: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    before: dict[str, Mapping[str, Any] | None] = {}  # each change's live fields
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
        before[address] = now
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
    pruned: dict[str, LiveResource] = {}
    for address, resource in current.items():
        kind = _kind(address)
        if address in ours or address in renamed or not readable[kind]:
            continue
        if any(address.startswith(p) for p in desired.prune):
            named = {"_name": addresses.parse(address)[1][0]}
            why = surface.watched_why(kind, resource.fields, named, console_issuers)
            removal = REMOVES.get(SURFACE_BY_NAME[kind].spec.removal)
            if why is None and removal is not None:
                gone = {n: FieldChange(v, None) for n, v in resource.fields.items()}
                changes.append(ResourceChange(address, removal, None, gone))
                pruned[address] = resource
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
    kept = {_kind(a) for a in [*ours, *desired.prune]}
    watched_here = {a: r for a, r in unmanaged.items() if _kind(a) in kept}
    alerts[:0] = [
        *surface.found_live(watched_here, issuer_urls),
        *surface.found_live(pruned, issuer_urls, pruned=True),
    ]
    notes += _unjoined(ours, current, _default_name(live))
    counts: dict[str, int] = {}
    for address in unmanaged:
        noun = SURFACE_BY_NAME[_kind(address)].spec.noun
        counts[noun] = counts.get(noun, 0) + 1
    return Proposal(
        changes,
        unmanaged=counts,
        problems=problems,
        settlements=settlements,
        notes=notes,
        about=about,
        alerts=alerts,
        security=_meanings(changes, before, ours, issuer_urls),
    )


def _meanings(
    changes: list[ResourceChange],
    before: Mapping[str, Mapping[str, Any] | None],
    ours: Mapping[str, Mapping[str, Any]],
    issuer_urls: Mapping[str, str],
) -> list[SecurityNote]:
    """Each change's security meaning, by its kind's declaration, in both directions."""
    found: list[SecurityNote] = []
    for change in changes:
        if change.action.removes:
            continue  # a pruned resource is said as found live (``found_live``)
        spec = SURFACE_BY_NAME[_kind(change.address)].spec
        now = before.get(change.address)
        wanted = {**(now or {}), **ours.get(change.address, {})}
        found += security.notes(
            spec,
            change,
            None if now is None else surface.with_context(now, issuer_urls),
            surface.with_context(wanted, issuer_urls),
        )
    return found


def _pinned(
    address: str, pinned_id: str, current: Mapping[str, LiveResource]
) -> tuple[str, LiveResource] | str | None:
    """A file entry pinned by ``id``: None when it is live at its own name (or not live
    at all), the live address and resource when it is live under another name (a
    rename), or the problem that says why the pin cannot hold."""
    kind = _kind(address)
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
        if _kind(address) == addresses.WORKSPACE
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
        if _kind(address) != RULE or not isinstance(where, list):
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
    """A resource waits for those it names that this plan creates (a new rule for its
    issuer and service account)."""
    needed = [
        addresses.make(named, str(wanted.get(field)))
        for named, field in (
            (ISSUER, "issuer"),
            (SERVICE_ACCOUNT, "service_account"),
        )
        if named in SURFACE_BY_NAME[kind].names
    ]
    return [a for a in needed if a in ours and a not in current]
