"""A federation rule (``federation.rules:``, keyed by name): which tokens of an issuer
may sign in as which service account, with which scope, for how long and where. It
is reviewed as what it grants (``rule_words``). A workload may write only rules whose
scope is ``workspace:developer`` or ``workspace:inference``; any other is watched. Its
issuer never changes. Archived, never deleted. Its workspaces have endpoints of their
own. A rename is by ``id:``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.core.model import Action, LiveState, ResourceChange
from reconciler.core.secret_sink import OperatorSecrets
from reconciler.providers.anthropic_admin import addresses, rule_words
from reconciler.providers.anthropic_admin.kinds.kind import (
    CONSOLE,
    WORKLOAD_SCOPES,
    AdminKind,
    Calls,
    Explained,
    Names,
    View,
    Watch,
    id_of,
    removed,
    require_live,
)
from reconciler.providers.kinds.spec import Grant, Kind, Privilege, Removal, longer

NAME = "federation_rule"
ISSUER, SERVICE_ACCOUNT = "federation_issuer", "service_account"  # the kinds it names
# Set by the planner beside a rule's fields: its issuer's URL, for the words.
ISSUER_URL = "_issuer_url"


def match_as_compared(match: Mapping[str, Any]) -> dict[str, Any]:
    """A rule's match as compared: unset matchers left out, as the API answers it."""
    return {k: v for k, v in sorted(match.items()) if v not in (None, "", {})}


def wanted(fields: dict[str, Any]) -> dict[str, Any]:
    if isinstance(fields.get("workspaces"), list):
        fields["workspaces"] = sorted(fields["workspaces"])
    if "match" in fields:
        fields["match"] = match_as_compared(fields["match"])
    return fields


def words(fields: Mapping[str, Any]) -> str:
    return rule_words.effect(fields, fields.get(ISSUER_URL))


def _wider_scope(a: Any, b: Any) -> bool:
    return bool(set(str(b or "").split()) - set(str(a or "").split()))


def _wider_places(a: Any, b: Any) -> bool:
    if b == "all":
        return bool(a != "all")
    return a != "all" and bool(set(b or []) - set(a or []))


SPEC = Kind(
    name=NAME,
    noun="federation rule",
    section=("federation", "rules"),
    fields=(
        "issuer",
        "service_account",
        "oauth_scope",
        "match",
        "token_lifetime_seconds",
        "workspaces",
        "description",
    ),
    removal=Removal.ARCHIVE,
    prunable=True,
    security=(
        Grant(("match", "service_account"), words),
        Privilege("oauth_scope", "its scope", _wider_scope),
        Privilege("workspaces", "its workspaces", _wider_places),
        Privilege("token_lifetime_seconds", "its tokens' lifetime", longer),
    ),
    wanted=wanted,
)


async def read(calls: Calls) -> list[Any]:
    return list(await calls.listed("list federation rules", calls.org.federation.rules.list))


def live(rule: Any, names: Names) -> tuple[str, dict[str, Any]] | None:
    if rule.archived_at is not None:
        return None
    enabled = list(rule.workspace_ids) or ([rule.workspace_id] if rule.workspace_id else [])
    return rule.name, {
        "name": rule.name,
        "issuer": names.of(ISSUER, rule.issuer_id, rule.issuer_name or rule.issuer_id),
        "service_account": names.of(
            SERVICE_ACCOUNT,
            rule.target.service_account_id,
            rule.target.service_account_name or rule.target.service_account_id,
        ),
        "oauth_scope": rule.oauth_scope,
        "match": match_as_compared(rule.match.to_dict()),
        "token_lifetime_seconds": rule.token_lifetime_seconds,
        "workspaces": "all"
        if rule.applies_to_all_workspaces
        else sorted(names.workspaces.get(w, w) for w in enabled),
        "description": rule.description or None,
    }


def watched(seen: Watch) -> str | None:
    scopes = {*str((seen.now or {}).get("oauth_scope", "")).split()}
    scopes |= {*str(seen.wanted.get("oauth_scope", "")).split()}
    beyond = sorted(scopes - WORKLOAD_SCOPES)
    return f"it grants {' '.join(beyond)}, and {CONSOLE}" if beyond else None


async def write(calls: Calls, change: ResourceChange, _: OperatorSecrets) -> None:
    org = calls.org
    if change.action.removes:
        await removed(calls, change, org.federation.rules.archive)
        return
    after = {n: c.after for n, c in change.changes.items()}
    if change.action is Action.CREATE:
        name = addresses.parse(change.address)[1][0]
        body = await _body(calls, after, creating=True)
        extra = body.pop("_more_workspaces", [])
        rule_id = await calls.create_once(
            f"create {change.address}",
            lambda c: c.beta.organization.federation.rules.create(name=name, **body),
            change.address,
        )
        for workspace_id in extra:
            await calls.call(
                f"enable {change.address} in workspace {workspace_id}",
                org.federation.rules.workspaces.add(str(rule_id), workspace_id=workspace_id),
            )
        return
    live_one = await require_live(calls, change)
    await _update(calls, str(live_one.id), after, live_one.fields)


async def _body(calls: Calls, fields: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
    """A rule's fields as the SDK's parameters: names resolved to ids."""
    live = (await calls.index()).resources
    body: dict[str, Any] = {}
    for name, value in fields.items():
        if name == "issuer":
            body["issuer_id"] = id_of(live, addresses.make(ISSUER, value))
        elif name == "service_account":
            body["target"] = {
                "type": "service_account",
                "service_account_id": id_of(live, addresses.make(SERVICE_ACCOUNT, value)),
            }
        elif name == "workspaces" and creating:
            if value == "all":
                body["applies_to_all_workspaces"] = True
            else:
                ids = [id_of(live, addresses.make(addresses.WORKSPACE, w)) for w in value]
                body["workspace_id"], body["_more_workspaces"] = ids[0], ids[1:]
        elif name != "workspaces":
            body[name] = value
    return body


async def _update(
    calls: Calls, rule_id: str, fields: Mapping[str, Any], now: Mapping[str, Any]
) -> None:
    org = calls.org
    body = await _body(
        calls, {n: v for n, v in fields.items() if n != "workspaces"}, creating=False
    )
    if body:
        await calls.call(
            f"update federation rule {rule_id}", org.federation.rules.update(rule_id, **body)
        )
    if "workspaces" not in fields:
        return
    wanted_places, was = fields["workspaces"], now.get("workspaces")
    if wanted_places == "all" or was == "all":
        await calls.call(
            f"update federation rule {rule_id}",
            org.federation.rules.update(rule_id, applies_to_all_workspaces=wanted_places == "all"),
        )
    live = (await calls.index()).resources

    def ids(names: Any) -> set[str]:
        listed = names if isinstance(names, list) else []
        return {id_of(live, addresses.make(addresses.WORKSPACE, w)) for w in listed}

    for workspace_id in sorted(ids(wanted_places) - ids(was)):
        await calls.call(
            f"enable rule {rule_id} in {workspace_id}",
            org.federation.rules.workspaces.add(rule_id, workspace_id=workspace_id),
        )
    for workspace_id in sorted(ids(was) - ids(wanted_places)):
        await calls.call(
            f"disable rule {rule_id} in {workspace_id}",
            org.federation.rules.workspaces.remove(workspace_id, federation_rule_id=rule_id),
            missing_ok=True,
        )


def explain(view: View) -> Explained:
    """Each rule's effect in words beside its line, with its warnings; and a rule
    enabled in a workspace its service account is not a member of."""
    about: dict[str, str] = {}
    notes: list[tuple[str, str]] = []
    urls = view.quoted.get(ISSUER, {})
    for address, now in view.now.items():
        if addresses.parse(address)[0] != NAME:
            continue
        wanted = {n: v for n, v in view.ours[address].items() if n != "id"}
        url = urls.get(str(wanted.get("issuer")))
        about[address] = rule_words.effect({**(now or {}), **wanted}, url)
        notes += [(address, w) for w in rule_words.warnings(address, wanted, url)]
    return Explained(about, (*notes, *_unjoined(view)))


def _unjoined(view: View) -> list[tuple[str, str]]:
    """A rule enabled in a workspace its service account is not a member of: the
    exchange refuses a token for that workspace (every account is implicitly a member
    of the Default workspace)."""
    default = _default_name(view.live)
    said = []
    for address, fields in view.ours.items():
        where = fields.get("workspaces")
        if addresses.parse(address)[0] != NAME or not isinstance(where, list):
            continue
        account = addresses.make(SERVICE_ACCOUNT, str(fields.get("service_account")))
        live = view.current.get(account)
        now = live.fields.get("workspaces") if live else ({} if account in view.ours else None)
        joined = view.ours.get(account, {}).get("workspaces", now)
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


def _default_name(live: LiveState) -> str | None:
    """The Default workspace's name: every service account is implicitly its member."""
    names = {
        resource.id: addresses.parse(address)[1][0]
        for address, resource in live.resources.items()
        if addresses.parse(address)[0] == addresses.WORKSPACE
    }
    return names.get(live.context.get("default_workspace"))


KIND = AdminKind(
    SPEC,
    oauth_only=True,
    read=read,
    live=live,
    write=write,
    watched=watched,
    refers=(("issuer", ISSUER), ("service_account", SERVICE_ACCOUNT)),
    fixed=("issuer",),
    explain=explain,
)


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
        if addresses.parse(address)[0] == NAME:
            url = urls.get(str(fields.get("issuer")))
            found.append(
                (address, rule_words.effect(fields, url), rule_words.admits(fields, url, claims))
            )
    return found
