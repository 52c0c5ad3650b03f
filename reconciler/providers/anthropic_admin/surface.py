"""The Admin API's security surface over its kind modules (``kinds.SURFACE``): who can
sign in for the organization and where its data goes. This module knows no
particular kind: each kind's section, fields, reads, live fields and rules are its
module's, and what they mean for security is its spec's (``providers.kinds``).

Each section is keyed by the name a reader knows the resource by, and refers to others
by name; ``prune: true`` removes (by the kind's removal verb) what the section does not
list. What reconciler may not write with the credentials it has (a kind's ``watched``)
is compared and reported as drift, with who can change it, and never planned as a
write: ``adopt`` writes the live values into the file.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import Any

from reconciler.core.edits import Put
from reconciler.core.escape import visible
from reconciler.core.model import LiveResource
from reconciler.providers.anthropic_admin import addresses
from reconciler.providers.anthropic_admin.kinds import SURFACE, SURFACE_BY_NAME
from reconciler.providers.anthropic_admin.kinds.kind import Calls, Names, Watch
from reconciler.providers.base import Settlement
from reconciler.providers.kinds import security

SECTIONS = {k.spec.name: k.spec.section for k in SURFACE}
FIELDS = {k.spec.name: k.spec.fields for k in SURFACE}
# What cannot be read with an Admin API key (the SDK: an OAuth access token only).
OAUTH_ONLY = tuple(k.spec.name for k in SURFACE if k.oauth_only)
NEEDS_FEDERATION = (
    "service accounts and federation issuers and rules are read and written only with an "
    "OAuth access token with org:admin, never an Admin API key: sign in by workload "
    "identity federation (ANTHROPIC_FEDERATION_RULE_ID and the identity token, see "
    "docs/federation.md), or remove these sections"
)

# The surface as read: each kind's SDK items, None for what was not read (with a key:
# the OAuth-only kinds) or is not offered (not turned on: 404).
Found = Mapping[str, list[Any] | None]


async def read(calls: Calls, *, oauth: bool, kinds: frozenset[str] | None) -> Found:
    """Every list at once: of ``kinds`` (None: all) and the kinds they name (a rule's
    issuer and service account); the OAuth-only kinds only when ``oauth``."""
    wanted = set(SECTIONS if kinds is None else kinds)
    for kind in SURFACE:
        if kind.spec.name in wanted:
            wanted |= set(kind.names)
    reading = [k for k in SURFACE if k.spec.name in wanted and (oauth or not k.oauth_only)]
    lists = await asyncio.gather(*(k.read(calls) for k in reading))
    found: dict[str, list[Any] | None] = {k.spec.name: [] for k in SURFACE}
    found.update({k.spec.name: listed for k, listed in zip(reading, lists, strict=True)})
    return found


def live_resources(read: Found, workspace_names: Mapping[str, str]) -> dict[str, LiveResource]:
    """The SDK's items (the ones that count) as live resources, references by name."""
    names = Names(
        {k.spec.name: dict(k.ident(item) for item in read.get(k.spec.name) or []) for k in SURFACE},
        workspace_names,
    )
    found: dict[str, LiveResource] = {}
    for kind in SURFACE:
        for item in read.get(kind.spec.name) or []:
            seen = kind.live(item, names)
            if seen is not None:
                name, fields = seen
                found[addresses.make(kind.spec.name, name)] = LiveResource(
                    fields, None, kind.ident(item)[0]
                )
    return found


def kept(named: Iterable[str]) -> frozenset[str]:
    """The security surface's kinds among addresses (and pruned sections' prefixes): what
    a file keeps, or what a plan writes."""
    found = {addresses.parse(a)[0] for a in named}
    return frozenset(k for k in SECTIONS if k in found)


def unoffered(read: Found) -> list[str]:
    """The kinds the organization does not have turned on (the API answered 404)."""
    return [k.spec.name for k in SURFACE if k.spec.name in read and read[k.spec.name] is None]


# -- planning ------------------------------------------------------------------------------


def watched_why(
    kind: str,
    now: Mapping[str, Any] | None,
    wanted: Mapping[str, Any],
    current: Mapping[str, LiveResource],
) -> str | None:
    """Why reconciler may not write this resource with a workload's credentials (None:
    it may): the sentence a reviewer reads beside its drift."""
    return SURFACE_BY_NAME[kind].watched(Watch(now, wanted, str(wanted.get("_name")), current))


def watched(
    address: str, now: Mapping[str, Any] | None, wanted: Mapping[str, Any], why: str
) -> tuple[str, Settlement | None]:
    """The alert for a resource reconciler may not write that differs from the file, and
    the edits ``adopt`` makes to write the live values into the file."""
    kind, names = addresses.parse(address)
    path = (*SECTIONS[kind], names[0])
    if now is None:
        return (
            f"{address} is in the file but not live, and reconciler will not create it: {why}",
            None,
        )
    differing = sorted(n for n in wanted if not n.startswith("_") and wanted[n] != now.get(n))
    shown = "; ".join(
        f"{n} is {visible(repr(now.get(n)))} live, {visible(repr(wanted[n]))} in the file"
        for n in differing
    )
    edits = [Put((*path, n), now.get(n)) for n in differing]
    return (
        f"{address} differs from the file ({shown}), and reconciler will not write it: {why}; "
        "reconciler adopt writes the live values into the file",
        Settlement(edits, f"{', '.join(differing)} written as live") if edits else None,
    )


Quoted = Mapping[str, Mapping[str, str]]


def quoted(*entries: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, str]]:
    """What each kind's words quote of another's entries, by kind and name (an issuer's
    URL), from ``entries`` by address (a later one over an earlier: the file's over
    the live one)."""
    found: dict[str, dict[str, str]] = {}
    for fields_by_address in entries:
        for address, fields in fields_by_address.items():
            kind, names = addresses.parse(address)
            field = SURFACE_BY_NAME[kind].quoted if kind in SURFACE_BY_NAME else None
            if field is not None and field in fields:
                found.setdefault(kind, {})[names[0]] = str(fields[field])
    return found


def with_context(kind: str, fields: Mapping[str, Any], quotes: Quoted) -> dict[str, Any]:
    """A resource's fields with what its words quote of the entries it names beside
    them (a rule's issuer's URL, as ``_issuer_url``)."""
    beside = dict(fields)
    for field, named in SURFACE_BY_NAME[kind].refers:
        what = SURFACE_BY_NAME[named].quoted
        value = quotes.get(named, {}).get(str(fields.get(field)))
        if what is not None and value is not None:
            beside[f"_{what}"] = value
    return beside


def found_live(
    unmanaged: Mapping[str, LiveResource], quotes: Quoted, *, pruned: bool = False
) -> list[tuple[str, str]]:
    """The alert for each resource live that the file does not list, by its kind's
    security meaning: what would let someone else sign in as the organization or
    receive its events. ``pruned``: the plan removes them (said, never framed as a
    mere loss)."""
    said = []
    for address, resource in sorted(unmanaged.items()):
        name = addresses.parse(address)[0]
        kind = SURFACE_BY_NAME[name].spec
        words = security.found_live(kind, address, with_context(name, resource.fields, quotes))
        if words is not None:
            tail = f"; this plan {'archives' if kind.removal == 'archive' else 'deletes'} it"
            said.append((address, words + (tail if pruned else "")))
    return said
