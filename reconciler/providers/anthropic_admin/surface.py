"""The Admin API's security surface in a file: who can sign in for the organization
(service accounts, federation issuers and rules) and where its events go (webhook
endpoints). Each section is keyed by the name a reader knows the resource by (a
slug, or a webhook's name), and refers to others by name (a rule's ``issuer`` and
``service_account``, its ``workspaces``); ``prune: true`` removes (archives, for
accounts, issuers and rules) what the section does not list.

What reconciler may write with the credentials it has is planned like anything else.
What it may not (an admin-role service account; a rule whose scope is more than
``workspace:developer`` or ``workspace:inference``, which needs a Console session, and
the issuer behind one) is compared and reported as drift, with who can change it, and
never planned as a write: ``adopt`` writes the live values into the file. Drift here
is also an *alert* at the top of a plan: a new rule or a changed ``match``, a new webhook
URL, a new admin-role service account.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.core.edits import Put
from reconciler.core.escape import visible
from reconciler.core.model import Action, LiveResource, ResourceChange
from reconciler.providers.anthropic_admin import addresses, rule_words
from reconciler.providers.anthropic_admin.addresses import (
    ISSUER,
    RULE,
    SERVICE_ACCOUNT,
    TELEMETRY,
    WEBHOOK,
)
from reconciler.providers.base import Settlement

# Scopes a workload's OAuth token may manage rules for; any other needs a Console session.
WORKLOAD_SCOPES = frozenset({"workspace:developer", "workspace:inference"})
CONSOLE = "only a Console session (an administrator, interactively) can change it"
SECTIONS = {
    SERVICE_ACCOUNT: ("service_accounts",),
    ISSUER: ("federation", "issuers"),
    RULE: ("federation", "rules"),
    WEBHOOK: ("webhooks",),
    TELEMETRY: ("telemetry_destinations",),
}
# What cannot be read with an Admin API key (the SDK: an OAuth access token only).
OAUTH_ONLY = (SERVICE_ACCOUNT, ISSUER, RULE)
NEEDS_FEDERATION = (
    "service accounts and federation issuers and rules are read and written only with an "
    "OAuth access token with org:admin, never an Admin API key: sign in by workload "
    "identity federation (ANTHROPIC_FEDERATION_RULE_ID and the identity token, see "
    "docs/federation.md), or remove these sections"
)
# Fields of each kind, as the file writes them (the order ``export`` writes them in).
FIELDS = {
    SERVICE_ACCOUNT: ("organization_role", "description", "workspaces"),
    ISSUER: ("issuer_url", "max_jwt_lifetime_seconds", "check_jti"),
    RULE: (
        "issuer",
        "service_account",
        "oauth_scope",
        "match",
        "token_lifetime_seconds",
        "workspaces",
        "description",
    ),
    WEBHOOK: ("url", "events", "enabled", "description"),
    TELEMETRY: (
        "endpoint_url",
        "workspaces",
        "enabled",
        "header_names",
        *(f"traces.{n}" for n in ("content_mode", "enabled", "endpoint_url", "max_content_bytes")),
    ),
}
# A destination's traces settings are fields of their own (``traces.content_mode``),
# so each is compared, written and read back on its own.
TRACES = "traces."
TRACE_FIELDS = ("content_mode", "enabled", "endpoint_url", "max_content_bytes")


def file_resources(
    data: Mapping[str, Any],
) -> tuple[dict[str, dict[str, Any]], set[str]]:
    """The sections of a valid file as resources by address, and the prefixes pruned."""
    found: dict[str, dict[str, Any]] = {}
    prune: set[str] = set()
    for kind, path in SECTIONS.items():
        section: Any = data
        for step in path:
            section = (section or {}).get(step)
        entries = dict(section or {})
        if entries.pop("prune", False):
            prune.add(addresses.prefix(kind))
        for name, fields in entries.items():
            wanted = dict(fields or {})
            if kind == RULE and isinstance(wanted.get("workspaces"), list):
                wanted["workspaces"] = sorted(wanted["workspaces"])
            if kind == WEBHOOK and "events" in wanted:
                wanted["events"] = sorted(wanted["events"])
            if kind == RULE and "match" in wanted:
                wanted["match"] = _match(wanted["match"])
            if kind == TELEMETRY:
                wanted.update(_telemetry(wanted))
            found[addresses.make(kind, name)] = wanted
    return found, prune


def _telemetry(fields: dict[str, Any]) -> dict[str, Any]:
    """A destination's lists as compared (sorted), and its traces settings as fields."""
    found: dict[str, Any] = {
        f"{TRACES}{n}": v for n, v in (fields.pop("traces", None) or {}).items()
    }
    if "header_names" in fields:
        found["header_names"] = sorted(str(n).lower() for n in fields["header_names"])
    scope = fields.get("workspaces")
    if isinstance(scope, Mapping):
        found["workspaces"] = {k: sorted(v) for k, v in scope.items()}
    return found


def _match(match: Mapping[str, Any]) -> dict[str, Any]:
    """A rule's match as compared: unset matchers left out, as the API answers it."""
    return {k: v for k, v in sorted(match.items()) if v not in (None, "", {})}


# -- live ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    """The surface as read: None for what was not read (with a key: accounts, issuers,
    rules) or is not offered (webhooks or telemetry not turned on: 404)."""

    accounts: list[Any] | None
    issuers: list[Any] | None
    rules: list[Any] | None
    hooks: list[Any] | None
    # Each destination, and the workspace ids on its list (include or exclude).
    destinations: list[tuple[Any, list[str]]] | None
    # Each active account's explicit workspace memberships: workspace id -> role.
    memberships: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


def live_resources(read: Found, workspace_names: Mapping[str, str]) -> dict[str, LiveResource]:
    """The SDK's objects (active ones) as live resources, references by name."""
    accounts, issuers, rules, hooks = read.accounts, read.issuers, read.rules, read.hooks
    found: dict[str, LiveResource] = {}
    account_names = {a.id: a.name for a in accounts or []}
    issuer_names = {i.id: i.name for i in issuers or []}
    for account in accounts or []:
        if account.archived_at is None:
            joined = read.memberships.get(account.id, {})
            fields = {
                "organization_role": account.organization_role,
                "description": account.description or None,
                "workspaces": {workspace_names.get(w, w): r for w, r in sorted(joined.items())},
            }
            found[addresses.make(SERVICE_ACCOUNT, account.name)] = LiveResource(
                fields, None, account.id
            )
    for issuer in issuers or []:
        if issuer.archived_at is None:
            fields = {
                "name": issuer.name,  # what a rename (an entry pinned by id) reads back
                "issuer_url": issuer.issuer_url,
                "max_jwt_lifetime_seconds": issuer.max_jwt_lifetime_seconds,
                "check_jti": issuer.check_jti,
            }
            found[addresses.make(ISSUER, issuer.name)] = LiveResource(fields, None, issuer.id)
    for rule in rules or []:
        if rule.archived_at is None:
            found[addresses.make(RULE, rule.name)] = LiveResource(
                _rule_fields(rule, issuer_names, account_names, workspace_names), None, rule.id
            )
    for hook in hooks or []:
        fields = {
            "name": hook.name or None,
            "url": hook.url,
            "events": sorted(hook.enabled_events),
            "enabled": hook.state == "enabled",
            "description": hook.description or None,
        }
        found[addresses.make(WEBHOOK, hook.name or hook.id)] = LiveResource(fields, None, hook.id)
    for destination, listed in read.destinations or []:
        scope = destination.workspaces.type
        names = sorted(workspace_names.get(w, w) for w in listed)
        fields = {
            "name": destination.display_name,
            "endpoint_url": destination.endpoint_url,
            "workspaces": "all" if scope == "all" else {scope: names},
            "enabled": destination.state.type == "enabled",
            "header_names": sorted(destination.header_names),
            **{f"{TRACES}{n}": getattr(destination.traces, n) for n in TRACE_FIELDS},
        }
        address = addresses.make(TELEMETRY, destination.display_name or destination.id)
        found[address] = LiveResource(fields, None, destination.id)
    return found


def _rule_fields(
    rule: Any,
    issuers: Mapping[str, str],
    accounts: Mapping[str, str],
    workspaces: Mapping[str, str],
) -> dict[str, Any]:
    enabled = list(rule.workspace_ids) or ([rule.workspace_id] if rule.workspace_id else [])
    return {
        "name": rule.name,
        "issuer": issuers.get(rule.issuer_id, rule.issuer_name or rule.issuer_id),
        "service_account": accounts.get(
            rule.target.service_account_id,
            rule.target.service_account_name or rule.target.service_account_id,
        ),
        "oauth_scope": rule.oauth_scope,
        "match": _match(rule.match.to_dict()),
        "token_lifetime_seconds": rule.token_lifetime_seconds,
        "workspaces": "all"
        if rule.applies_to_all_workspaces
        else sorted(workspaces.get(w, w) for w in enabled),
        "description": rule.description or None,
    }


def kept(named: Iterable[str]) -> frozenset[str]:
    """The security surface's kinds among addresses (and pruned sections' prefixes): what
    a file keeps, or what a plan writes."""
    found = {addresses.parse(a)[0] for a in named}
    return frozenset(k for k in SECTIONS if k in found)


def unoffered(read: Found) -> list[str]:
    """The kinds the organization does not have turned on (the API answered 404)."""
    return [
        kind
        for kind, listed in ((WEBHOOK, read.hooks), (TELEMETRY, read.destinations))
        if listed is None
    ]


def export_sections(resources: Mapping[str, LiveResource]) -> dict[str, Any]:
    """The security sections of ``export``: every field of each live resource."""
    data: dict[str, Any] = {}
    for address, resource in sorted(resources.items()):
        kind, names = addresses.parse(address)
        if kind not in SECTIONS:
            continue
        entry: dict[str, Any] = {}
        for name in FIELDS[kind]:
            value = resource.fields.get(name)
            if value is None:
                continue
            if name.startswith(TRACES):
                entry.setdefault("traces", {})[name.removeprefix(TRACES)] = value
            else:
                entry[name] = value
        where = data
        *parents, leaf = SECTIONS[kind]
        for step in parents:
            where = where.setdefault(step, {})
        where.setdefault(leaf, {})[names[0]] = entry
    return data


# -- planning ------------------------------------------------------------------------------


def watched_why(
    kind: str, now: Mapping[str, Any] | None, wanted: Mapping[str, Any], console_issuers: set[str]
) -> str | None:
    """Why reconciler may not write this resource with a workload's credentials (None:
    it may): the sentence a reviewer reads beside its drift."""
    if kind == SERVICE_ACCOUNT and "admin" in (
        (now or {}).get("organization_role"),
        wanted.get("organization_role"),
    ):
        return (
            "an admin-role service account is made and changed only with an interactive "
            "credential (a user's OAuth token or a Console session), never by a workload"
        )
    if kind == RULE:
        scopes = {*str((now or {}).get("oauth_scope", "")).split()}
        scopes |= {*str(wanted.get("oauth_scope", "")).split()}
        beyond = sorted(scopes - WORKLOAD_SCOPES)
        if beyond:
            return f"it grants {' '.join(beyond)}, and {CONSOLE}"
    if kind == ISSUER and now is not None and wanted.get("_name") in console_issuers:
        return f"it backs a rule granting more than workspace scopes, and {CONSOLE}"
    return None


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


def alerts_for(
    changes: list[ResourceChange],
    unmanaged: Mapping[str, LiveResource],
    issuer_urls: Mapping[str, str],
) -> list[tuple[str, str]]:
    """Security-relevant drift, for the top of a plan: what found live would let
    someone else sign in as the organization or receive its events."""
    said: list[tuple[str, str]] = []
    for address, resource in sorted(unmanaged.items()):
        kind = addresses.parse(address)[0]
        fields = resource.fields
        if kind == RULE:
            words = rule_words.effect(fields, issuer_urls.get(str(fields.get("issuer"))))
            said.append((address, f"{address} is live and not in the file: {words}"))
        elif kind == WEBHOOK:
            url = visible(str(fields["url"]))
            said.append((address, f"{address} is live and not in the file: events go to {url}"))
        elif kind == TELEMETRY:
            url = visible(str(fields["endpoint_url"]))
            said.append((address, f"{address} is live and not in the file: spans go to {url}"))
        elif kind == SERVICE_ACCOUNT and fields.get("organization_role") == "admin":
            said.append(
                (address, f"{address}: an admin-role service account live, not in the file")
            )
    for change in changes:
        kind = addresses.parse(change.address)[0]
        if kind == RULE and change.action is Action.UPDATE and "match" in change.changes:
            said.append((change.address, f"{change.address}: its match was changed live"))
        elif kind == WEBHOOK and change.action is Action.UPDATE and "url" in change.changes:
            url = visible(str(change.changes["url"].before))
            said.append((change.address, f"{change.address}: its URL was changed live to {url}"))
        elif kind == TELEMETRY and change.action is Action.UPDATE:
            said += _telemetry_alerts(change)
    return said


def _telemetry_alerts(change: ResourceChange) -> list[tuple[str, str]]:
    """Where spans go, and whether they carry prompts, changed live."""
    said = []
    if "endpoint_url" in change.changes:
        url = visible(str(change.changes["endpoint_url"].before))
        said.append((change.address, f"{change.address}: its endpoint was changed live to {url}"))
    mode = change.changes.get(f"{TRACES}content_mode")
    if mode is not None and mode.before == "content":
        said.append(
            (change.address, f"{change.address} was set live to export prompts and outputs")
        )
    return said


def admitted(
    resources: Mapping[str, Mapping[str, Any]], claims: Mapping[str, Any]
) -> list[tuple[str, str, str | None]]:
    """Each rule of the file, in words, and why a token with ``claims`` is not admitted
    (None: it is), its issuer's URL taken from the file (a rule whose issuer the file
    does not list is checked without ``iss``)."""
    urls = {
        addresses.parse(a)[1][0]: str(f["issuer_url"])
        for a, f in resources.items()
        if addresses.parse(a)[0] == ISSUER and "issuer_url" in f
    }
    found = []
    for address, fields in resources.items():
        if addresses.parse(address)[0] == RULE:
            url = urls.get(str(fields.get("issuer")))
            found.append(
                (address, rule_words.effect(fields, url), rule_words.admits(fields, url, claims))
            )
    return found
