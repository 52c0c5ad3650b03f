"""The security surface's reads and writes through the SDK (``surface`` says what they
mean): service accounts, federation issuers and rules (an OAuth access token only:
read when signed in by federation), and webhook endpoints (read always; an
organization without them answers 404, and the plan says so only if the file lists
some).

A created webhook's signing secret goes only to the operator's ``SecretSink``: never a
return value, log or error. Creates go through the session's ``create_once`` (sent
without the SDK's retries; looked for after a failure that may have written).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from reconciler.core.errors import ApiError
from reconciler.core.model import Action, LiveState, ResourceChange
from reconciler.core.secret_sink import SecretSink, SecretSinkError
from reconciler.providers.anthropic_admin import addresses
from reconciler.providers.anthropic_admin.addresses import (
    ISSUER,
    RULE,
    SERVICE_ACCOUNT,
    WEBHOOK,
    WORKSPACE,
)


class Calls(Protocol):
    """What these calls need of the session."""

    org: Any

    async def listed(
        self, what: str, lister: Callable[..., Any], *, page: int = ..., **params: Any
    ) -> list[Any]: ...

    async def call(self, what: str, call: Awaitable[Any], *, missing_ok: bool = False) -> Any: ...

    async def create_once(
        self, what: str, send: Callable[[Any], Awaitable[Any]], address: str
    ) -> str | None: ...

    async def index(self) -> LiveState: ...


async def read(calls: Calls, *, oauth: bool) -> tuple[list[Any] | None, ...]:
    """Service accounts, issuers and rules (None each with a key), and webhooks (None
    when the organization has none to offer: a 404)."""
    org = calls.org
    trusted: list[list[Any] | None] = [None, None, None]
    if oauth:
        trusted = list(
            await asyncio.gather(
                calls.listed("list service accounts", org.service_accounts.list),
                calls.listed("list federation issuers", org.federation.issuers.list),
                calls.listed("list federation rules", org.federation.rules.list),
            )
        )
    try:
        hooks: list[Any] | None = await calls.listed("list webhooks", org.webhooks.list, page=100)
    except ApiError as exc:
        if exc.status != 404:
            raise
        hooks = None
    return (*trusted, hooks)


async def write(calls: Calls, change: ResourceChange, sink: SecretSink | None) -> None:
    kind, names = addresses.parse(change.address)
    name = names[0]
    after = {n: c.after for n, c in change.changes.items()}
    org = calls.org
    if change.action is Action.CREATE:
        await _create(calls, kind, name, after, sink)
        return
    live = (await calls.index()).resources.get(change.address)
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
    if kind == SERVICE_ACCOUNT:
        await calls.create_once(
            what,
            lambda c: c.beta.organization.service_accounts.create(name=name, **fields),
            address,
        )
    elif kind == ISSUER:
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
        created = await calls.call(what, calls.org.webhooks.create(**body))
        try:
            sink.put(name, created.signing_secret)
        except (SecretSinkError, OSError) as exc:
            raise ApiError(
                f"{address} was created, but its signing secret could not be given to "
                f"{sink.described} ({exc}); it is not kept anywhere else: regenerate it "
                "(webhooks.regenerate_signing_secret) once the destination works."
            ) from None
        if fields.get("enabled") is False:
            await calls.call(
                f"disable {address}", calls.org.webhooks.update(created.id, state="disabled")
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
