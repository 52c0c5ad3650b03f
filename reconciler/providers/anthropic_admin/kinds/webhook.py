"""A webhook endpoint (``webhooks:``, keyed by its name): where the organization's
events go, signed with a secret the API answers once, on create. At most 32 (the
sandbox keeps the rule). Deleted, never archived: its deliveries stop and its secret
is gone with it. The secret goes only to the operator's sink, never a return value,
log or error; the create is sent once, never by the SDK's retries (a second endpoint
would be a second secret). A rename is by ``id:``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.core.errors import ApiError
from reconciler.core.model import Action, ResourceChange
from reconciler.core.secret_sink import OperatorSecrets, SecretSinkError
from reconciler.providers.anthropic_admin import addresses
from reconciler.providers.anthropic_admin.kinds.kind import (
    AdminKind,
    Calls,
    Names,
    offered,
    removed,
    require_live,
)
from reconciler.providers.base import SecretFlag
from reconciler.providers.kinds.spec import Destination, Kind, Privilege, Removal

NAME = "webhook"


def wanted(fields: dict[str, Any]) -> dict[str, Any]:
    if "events" in fields:
        fields["events"] = sorted(fields["events"])
    return fields


def _more_events(a: Any, b: Any) -> bool:
    return bool(set(b or []) - set(a or []))


SPEC = Kind(
    name=NAME,
    noun="webhook",
    section=("webhooks",),
    fields=("url", "events", "enabled", "description"),
    removal=Removal.DELETE,
    prunable=True,
    removal_loses="its deliveries stop, and its signing secret is gone with it",
    security=(
        Destination("url", "events"),
        Privilege("events", "the events it is sent", _more_events),
    ),
    wanted=wanted,
)


async def read(calls: Calls) -> list[Any] | None:
    return await offered(calls.listed("list webhooks", calls.org.webhooks.list, page_size=100))


def live(hook: Any, _: Names) -> tuple[str, dict[str, Any]]:
    return hook.name or hook.id, {
        "name": hook.name or None,
        "url": hook.url,
        "events": sorted(hook.enabled_events),
        "enabled": hook.state == "enabled",
        "description": hook.description or None,
    }


def _body(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The file's fields as the SDK's parameters."""
    body = dict(fields)
    if "events" in body:
        body["enabled_events"] = body.pop("events")
    if "enabled" in body:
        body["state"] = "enabled" if body.pop("enabled") else "disabled"
    if body.get("description") is None and "description" in body:
        body["description"] = ""
    return body


async def write(calls: Calls, change: ResourceChange, secrets: OperatorSecrets) -> None:
    org = calls.org
    if change.action.removes:
        await removed(calls, change, org.webhooks.delete)
        return
    after = {n: c.after for n, c in change.changes.items()}
    if change.action is Action.CREATE:
        await _create(calls, change, after, secrets)
        return
    live_one = await require_live(calls, change)
    await calls.call(f"update {change.address}", org.webhooks.update(live_one.id, **_body(after)))


async def _create(
    calls: Calls, change: ResourceChange, fields: Mapping[str, Any], secrets: OperatorSecrets
) -> None:
    address, name = change.address, addresses.parse(change.address)[1][0]
    sink = secrets.sink
    if sink is None:  # checked before any write (``ready``); never reached without one
        raise ApiError(f"{address}: no destination for its signing secret; nothing was sent.")
    body = {"name": name, **_body(fields)}
    body.pop("state", None)
    answered: list[Any] = []  # the create's answer: the only one with the secret

    async def send(client: Any) -> Any:
        created = await client.beta.organization.webhooks.create(**body)
        answered.append(created)
        return created

    # Sent once, not by the SDK's retries: a second endpoint would be a second secret.
    hook_id = await calls.create_once(f"create {address}", send, address)
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


KIND = AdminKind(
    SPEC,
    oauth_only=False,
    read=read,
    live=live,
    write=write,
    ident=lambda hook: (str(hook.id), str(hook.name or hook.id)),
    flags=(
        SecretFlag(
            "--webhook-secret-command",
            "sink_command",
            "Give each new webhook's signing secret to COMMAND on standard input (its "
            "name in RECONCILER_SECRET_NAME); run without a shell.",
            "webhook secret",
            metavar="COMMAND",
        ),
        SecretFlag(
            "--webhook-secrets-file",
            "sink_file",
            "Write each new webhook's signing secret into this JSON file (mode 0600), by "
            "the webhook's name. Creating a webhook needs this or --webhook-secret-command.",
            "webhook secret",
        ),
    ),
    answers_once="signing secret",
)
