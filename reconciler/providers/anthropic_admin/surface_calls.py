"""The security surface's writes through the SDK (``surface`` says what they mean;
``surface_reads`` reads it): service accounts and their workspaces, federation issuers
and rules (names resolved to ids), webhooks and telemetry destinations.

Secrets only to and from the operator (``OperatorSecrets``): a created webhook's signing
secret goes to the operator's sink, never a return value, log or error; a telemetry
destination's header values come from the operator's file. Creates go through the
session's ``create_once`` (sent without the SDK's retries; looked for after a failure
that may have written).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol
from urllib.parse import urlsplit

from reconciler.core.errors import ApiError
from reconciler.core.model import Action, LiveResource, LiveState, ResourceChange
from reconciler.core.secret_sink import HeaderValues, OperatorSecrets, SecretSink, SecretSinkError
from reconciler.providers.anthropic_admin import addresses
from reconciler.providers.anthropic_admin.addresses import (
    ISSUER,
    RULE,
    SERVICE_ACCOUNT,
    TELEMETRY,
    WEBHOOK,
    WORKSPACE,
)
from reconciler.providers.anthropic_admin.surface import TRACES


class Calls(Protocol):
    """What these calls need of the session."""

    org: Any

    async def listed(
        self, what: str, lister: Callable[..., Any], *, page_size: int = ..., **params: Any
    ) -> list[Any]: ...

    async def call(self, what: str, call: Awaitable[Any], *, missing_ok: bool = False) -> Any: ...

    async def create_once(
        self, what: str, send: Callable[[Any], Awaitable[Any]], address: str
    ) -> str | None: ...

    async def index(self) -> LiveState: ...


async def write(calls: Calls, change: ResourceChange, secrets: OperatorSecrets) -> None:
    kind, names = addresses.parse(change.address)
    name = names[0]
    after = {n: c.after for n, c in change.changes.items()}
    org = calls.org
    if kind == TELEMETRY and not change.action.removes:
        await _destination(calls, change, secrets.header_values)
        return
    if kind == SERVICE_ACCOUNT and not change.action.removes:
        await _account(calls, change)
        return
    if change.action is Action.CREATE:
        await _create(calls, kind, name, after, secrets.sink)
        return
    live = await _live_of(calls, change)
    if live is None or live.id is None:
        if change.action.removes:
            return  # gone already
        raise ApiError(
            f"{change.address} is not live any more (removed since the plan?); run plan again."
        )
    what = f"{change.action} {change.address}"
    if change.action.removes:
        gone = {
            SERVICE_ACCOUNT: org.service_accounts.archive,
            ISSUER: org.federation.issuers.archive,
            RULE: org.federation.rules.archive,
            WEBHOOK: org.webhooks.delete,
            TELEMETRY: org.telemetry_destinations.delete,
        }[kind]
        await calls.call(what, gone(live.id), missing_ok=True)
        return
    if kind == RULE:
        await _update_rule(calls, live.id, after, live.fields)
        return
    update = {
        SERVICE_ACCOUNT: org.service_accounts.update,
        ISSUER: org.federation.issuers.update,
        WEBHOOK: org.webhooks.update,
    }[kind]
    await calls.call(what, update(live.id, **_body(kind, after)))


def needed_headers(change: ResourceChange, live_names: list[str]) -> list[str]:
    """The header values a telemetry write must send: every header the file names on a
    create, or when the endpoint's host or port changes (the API then drops them all);
    on another update, the headers the file adds. ``live_names`` are the live ones."""
    if addresses.parse(change.address)[0] != TELEMETRY or change.action.removes:
        return []
    names = change.changes.get("header_names")
    wanted = [str(n) for n in (names.after if names else live_names) or []]
    if change.action is Action.CREATE:
        return sorted(wanted)
    endpoint = change.changes.get("endpoint_url")
    if endpoint is not None and _host(endpoint.before) != _host(endpoint.after):
        return sorted(wanted)
    return sorted(set(wanted) - set(live_names))


async def _account(calls: Calls, change: ResourceChange) -> None:
    """Create or update a service account, then its workspace memberships (an add sets
    the role, a remove is idempotent; the implicit Default membership is not listed)."""
    name = addresses.parse(change.address)[1][0]
    after = {n: c.after for n, c in change.changes.items()}
    joined = after.pop("workspaces", None)
    live = await _live_of(calls, change)
    if change.action is Action.CREATE:
        account_id = await calls.create_once(
            f"create {change.address}",
            lambda c: c.beta.organization.service_accounts.create(name=name, **after),
            change.address,
        )
    elif live is None or live.id is None:
        raise ApiError(f"{change.address} is not live any more (archived since the plan?).")
    else:
        account_id = live.id
        if after:
            await calls.call(
                f"update {change.address}", calls.org.service_accounts.update(live.id, **after)
            )
    if joined is None:
        return
    was: Mapping[str, str] = (live.fields.get("workspaces") or {}) if live else {}
    index = (await calls.index()).resources
    for workspace, role in sorted(dict(joined).items()):
        if was.get(workspace) != role:
            await calls.call(
                f"give {change.address} {role} in workspace {workspace!r}",
                calls.org.service_accounts.workspaces.add(
                    str(account_id),
                    workspace_id=_id_of(index, addresses.make(WORKSPACE, workspace)),
                    workspace_role=role,
                ),
            )
    for workspace in sorted(set(was) - set(joined)):
        await calls.call(
            f"remove {change.address} from workspace {workspace!r}",
            calls.org.service_accounts.workspaces.remove(
                _id_of(index, addresses.make(WORKSPACE, workspace)),
                service_account_id=str(account_id),
            ),
            missing_ok=True,
        )


async def _live_of(calls: Calls, change: ResourceChange) -> LiveResource | None:
    """The live resource a change is about: at its address, or (a rename of an entry
    pinned by id) at its old name."""
    live = (await calls.index()).resources
    if change.address in live:
        return live[change.address]
    renamed = change.changes.get("name")
    if renamed is None:
        return None
    return live.get(addresses.make(addresses.parse(change.address)[0], str(renamed.before)))


def _host(url: Any) -> str:
    return urlsplit(str(url)).netloc


async def _destination(calls: Calls, change: ResourceChange, values: HeaderValues | None) -> None:
    """Create or update a telemetry destination, header values from the operator's file."""
    name = addresses.parse(change.address)[1][0]
    after = {n: c.after for n, c in change.changes.items()}
    body: dict[str, Any] = {}
    if "endpoint_url" in after:
        body["endpoint_url"] = after["endpoint_url"]
    if "name" in after:  # a rename of a destination pinned by id
        body["display_name"] = after["name"]
    if "workspaces" in after:
        body["workspaces"] = await _scope(calls, after["workspaces"])
    traces = {n.removeprefix(TRACES): v for n, v in after.items() if n.startswith(TRACES)}
    if traces:
        body["traces"] = traces
    live = await _live_of(calls, change)
    live_names = list(live.fields["header_names"]) if live else []
    needed = needed_headers(change, live_names)
    headers: dict[str, str | None] = {}
    if needed:
        given = values.of(name) if values else {}
        headers.update({n: given[n] for n in needed})
    names = change.changes.get("header_names")
    if names is not None and change.action is Action.UPDATE:
        headers.update(dict.fromkeys(set(names.before or []) - set(names.after or [])))
    if change.action is Action.CREATE:
        created = await calls.create_once(
            f"create {change.address}",
            lambda c: c.beta.organization.telemetry_destinations.create(
                display_name=name, headers={k: v for k, v in headers.items() if v}, **body
            ),
            change.address,
        )
        if after.get("enabled") is False:  # a destination starts enabled
            await calls.call(
                f"disable {change.address}",
                calls.org.telemetry_destinations.update(str(created), state={"type": "disabled"}),
            )
        return
    if live is None or live.id is None:
        raise ApiError(
            f"{change.address} is not live any more (deleted since the plan?); plan again."
        )
    if headers:
        body["headers"] = headers
        body.setdefault("endpoint_url", live.fields["endpoint_url"])
    if "enabled" in after:
        body["state"] = {"type": "enabled" if after["enabled"] else "disabled"}
    await calls.call(
        f"update {change.address}",
        calls.org.telemetry_destinations.update(str(live.id), **body),
    )


async def _scope(calls: Calls, scope: Any) -> dict[str, Any]:
    if scope == "all":
        return {"type": "all"}
    live = (await calls.index()).resources
    ((kind, names),) = dict(scope).items()
    ids = [_id_of(live, addresses.make(WORKSPACE, w)) for w in names]
    return {"type": kind, "workspace_ids": ids}


def _body(kind: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    """The file's fields as the SDK's parameters."""
    body = dict(fields)
    if kind == WEBHOOK:
        if "events" in body:
            body["enabled_events"] = body.pop("events")
        if "enabled" in body:
            body["state"] = "enabled" if body.pop("enabled") else "disabled"
        if body.get("description") is None and "description" in body:
            body["description"] = ""
    return body


async def _create(
    calls: Calls, kind: str, name: str, fields: Mapping[str, Any], sink: SecretSink | None
) -> None:
    address = addresses.make(kind, name)
    what = f"create {address}"
    if kind == ISSUER:
        await calls.create_once(
            what,
            lambda c: c.beta.organization.federation.issuers.create(name=name, **fields),
            address,
        )
    elif kind == RULE:
        body = await _rule_body(calls, fields, creating=True)
        extra = body.pop("_more_workspaces", [])
        rule_id = await calls.create_once(
            what, lambda c: c.beta.organization.federation.rules.create(name=name, **body), address
        )
        for workspace_id in extra:
            await calls.call(
                f"enable {address} in workspace {workspace_id}",
                calls.org.federation.rules.workspaces.add(str(rule_id), workspace_id=workspace_id),
            )
    elif kind == WEBHOOK:
        if sink is None:  # checked before any write (``ready``); never reached without one
            raise ApiError(f"{address}: no destination for its signing secret; nothing was sent.")
        body = {"name": name, **_body(WEBHOOK, fields)}
        body.pop("state", None)
        answered: list[Any] = []  # the create's answer: the only one with the secret

        async def send(client: Any) -> Any:
            created = await client.beta.organization.webhooks.create(**body)
            answered.append(created)
            return created

        # Sent once, not by the SDK's retries: a second endpoint would be a second secret.
        hook_id = await calls.create_once(what, send, address)
        if not answered:  # it was created, but its answer (and secret) was lost
            raise ApiError(
                f"{address} was created, but the answer with its signing secret was lost; "
                "regenerate the secret (webhooks.regenerate_signing_secret) and store it."
            )
        try:
            sink.put(name, answered[-1].signing_secret)
        except (SecretSinkError, OSError) as exc:
            raise ApiError(
                f"{address} was created, but its signing secret could not be given to "
                f"{sink.described} ({exc}); it is not kept anywhere else: regenerate it "
                "(webhooks.regenerate_signing_secret) once the destination works."
            ) from None
        if fields.get("enabled") is False:
            await calls.call(
                f"disable {address}", calls.org.webhooks.update(str(hook_id), state="disabled")
            )


async def _rule_body(calls: Calls, fields: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
    """A rule's fields as the SDK's parameters: names resolved to ids."""
    live = (await calls.index()).resources
    body: dict[str, Any] = {}
    for name, value in fields.items():
        if name == "issuer":
            body["issuer_id"] = _id_of(live, addresses.make(ISSUER, value))
        elif name == "service_account":
            body["target"] = {
                "type": "service_account",
                "service_account_id": _id_of(live, addresses.make(SERVICE_ACCOUNT, value)),
            }
        elif name == "workspaces" and creating:
            if value == "all":
                body["applies_to_all_workspaces"] = True
            else:
                ids = [_id_of(live, addresses.make(WORKSPACE, w)) for w in value]
                body["workspace_id"], body["_more_workspaces"] = ids[0], ids[1:]
        elif name != "workspaces":
            body[name] = value
    return body


async def _update_rule(
    calls: Calls, rule_id: str, fields: Mapping[str, Any], now: Mapping[str, Any]
) -> None:
    body = await _rule_body(
        calls, {n: v for n, v in fields.items() if n != "workspaces"}, creating=False
    )
    if body:
        await calls.call(
            f"update federation rule {rule_id}", calls.org.federation.rules.update(rule_id, **body)
        )
    if "workspaces" not in fields:
        return
    wanted, was = fields["workspaces"], now.get("workspaces")
    if wanted == "all" or was == "all":
        await calls.call(
            f"update federation rule {rule_id}",
            calls.org.federation.rules.update(rule_id, applies_to_all_workspaces=wanted == "all"),
        )
    live = (await calls.index()).resources

    def ids(names: Any) -> set[str]:
        listed = names if isinstance(names, list) else []
        return {_id_of(live, addresses.make(WORKSPACE, w)) for w in listed}

    for workspace_id in sorted(ids(wanted) - ids(was)):
        await calls.call(
            f"enable rule {rule_id} in {workspace_id}",
            calls.org.federation.rules.workspaces.add(rule_id, workspace_id=workspace_id),
        )
    for workspace_id in sorted(ids(was) - ids(wanted)):
        await calls.call(
            f"disable rule {rule_id} in {workspace_id}",
            calls.org.federation.rules.workspaces.remove(workspace_id, federation_rule_id=rule_id),
            missing_ok=True,
        )


def _id_of(live: Mapping[str, Any], address: str) -> str:
    found = live.get(address)
    if found is None or found.id is None:
        raise ApiError(
            f"{address} is not live (it is created by this plan, or was removed); run plan again."
        )
    return str(found.id)
