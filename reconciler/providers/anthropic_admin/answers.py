"""Admin API objects as live resources: the SDK's workspaces, rate-limit entries and
spend limits turned into the fields a plan compares (one job: reading answers, so
the session only fetches and writes)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import anthropic

from reconciler.core.errors import TransportError
from reconciler.core.model import LiveResource
from reconciler.net import bounded
from reconciler.providers.anthropic_admin import addresses
from reconciler.providers.anthropic_admin.addresses import (
    RATE_LIMIT,
    SPEND_LIMIT,
    USER,
    WORKSPACE_SPEND_LIMIT,
)

T = TypeVar("T")


class NotAnAnswer(Exception):
    """An answer that is not of the type the SDK gives it; the message says what did not fit."""


class MalformedAnswer(Exception):
    """An answer holding a value out of bounds (``bounded``): what, and the request id."""

    def __init__(self, why: str, request_id: str | None) -> None:
        super().__init__(why)
        self.why, self.request_id = why, request_id


def checked(answer: T) -> T:
    """``answer`` after validating it against the SDK's own type for it. The SDK builds
    its objects from an answer without checking them (its strict mode is not public
    surface), so a server that is not the Admin API would otherwise surface later as a
    missing attribute."""
    validate = getattr(type(answer), "model_validate", None)
    if validate is not None:
        try:
            validate(answer.model_dump(warnings=False))  # type: ignore[attr-defined]
        except ValueError as exc:  # pydantic's ValidationError
            raise NotAnAnswer(str(exc).replace("\n", " ")) from None
    return answer


class JsonOnly(anthropic.Middleware):
    """A successful answer that is not JSON is not the Admin API's: the SDK would hand
    its text on in place of an object (its strict mode is not public surface)."""

    async def handle_async(
        self, request: anthropic.APIRequest, call_next: anthropic.AsyncCallNext
    ) -> anthropic.AsyncAPIResponse[Any]:
        response = await call_next(request)
        kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if response.status_code < 300 and response.status_code != 204 and not kind.endswith("json"):
            await response.close()
            raise NotAnAnswer(f"received {kind or 'no content type'}, not JSON")
        if kind.endswith("json"):  # an error's body too: its message reaches a sentence
            why = bounded.problem(await response.read())
            if why is not None:
                await response.close()
                raise MalformedAnswer(why, response.headers.get("request-id"))
        return response


def workspace_fields(workspace: Any) -> dict[str, Any]:
    residency = workspace.data_residency
    allowed = residency.allowed_inference_geos
    return {
        "name": workspace.name,
        f"{addresses.RESIDENCY}allowed_inference_geos": allowed
        if isinstance(allowed, str)
        else list(allowed),
        f"{addresses.RESIDENCY}default_inference_geo": residency.default_inference_geo,
        f"{addresses.RESIDENCY}workspace_geo": residency.workspace_geo,
        "tags": dict(workspace.tags or {}),
        "display_color": workspace.display_color,
        "external_key_id": workspace.external_key_id,
        "archived": workspace.archived_at is not None,
    }


def still_wanted(body: Mapping[str, Any], live: Any) -> dict[str, Any]:
    """The part of a workspace create or update ``body`` that ``live`` (the workspace as
    the SDK gives it) does not have yet: whole fields, and tags and data residency key
    by key."""
    fields = workspace_fields(live)
    wanted: dict[str, Any] = {}
    for field, value in body.items():
        if field == "tags":
            tags = {k: v for k, v in value.items() if live.tags.get(k) != v}
            if tags:
                wanted["tags"] = tags
        elif field == "data_residency":
            residency = {
                k: v for k, v in value.items() if fields.get(f"{addresses.RESIDENCY}{k}") != v
            }
            if residency:
                wanted["data_residency"] = residency
        elif fields.get(field) != value:
            wanted[field] = value
    return wanted


def people(
    users: Sequence[Any], invites: Sequence[Any]
) -> tuple[dict[str, LiveResource], frozenset[str]]:
    """Members and pending invites by email (members win over an invite of the same
    address), and the emails that are only invited."""
    found = {
        addresses.make(USER, u.email.lower()): LiveResource(
            {"role": u.role, "status": "member"}, None, u.id
        )
        for u in users
    }
    invited = set()
    for invite in invites:
        address = addresses.make(USER, invite.email.lower())
        if invite.status == "pending" and address not in found:
            invited.add(invite.email.lower())
            found[address] = LiveResource(
                {"role": invite.role, "status": "invited"}, None, invite.id
            )
    return found, frozenset(invited)


@dataclass(frozen=True)
class Workspaces:
    """The workspaces as the API lists them: the active ones, the Default among them
    (the one missing from a list made without ``include_default``), and the archived
    ones by name (the last archived of a name) with the day each was archived."""

    active: list[Any]
    default: Any | None
    archived: dict[str, str]
    archived_on: dict[str, str]

    @classmethod
    def of(cls, listed: Sequence[Any], *, listed_without_default: Sequence[Any]) -> Workspaces:
        others = {w.id for w in listed_without_default}
        active = [w for w in listed if w.archived_at is None]
        ended = sorted(
            (w for w in listed if w.archived_at is not None), key=lambda w: w.archived_at
        )
        return cls(
            active,
            next((w for w in active if w.id not in others), None),
            {w.name: w.id for w in ended},
            {w.name: w.archived_at.date().isoformat() for w in ended},
        )


def rate_limit_groups(table: Sequence[Any]) -> dict[str, dict[str, Any]]:
    """The organization's rate-limit table by group id: its entry, name, type and limits."""
    return {
        entry.group.id: {
            "entry": entry.id,
            "name": getattr(entry.group, "display_name", None),
            "type": entry.group.type,
            "limits": {v.type: v.value for v in entry.limits},
        }
        for entry in table
    }


def rate_limits(
    workspace: str, groups: Mapping[str, Any], overrides: Sequence[Any]
) -> dict[str, LiveResource]:
    """A resource per rate-limit group for one workspace: a field per limiter type of the
    group, the workspace's override or None (it inherits the organization's)."""
    found = {
        addresses.make(RATE_LIMIT, workspace, group_id): dict.fromkeys(group["limits"])
        for group_id, group in groups.items()
    }
    for entry in overrides:
        fields = found.setdefault(addresses.make(RATE_LIMIT, workspace, entry.group.id), {})
        for value in entry.limits:
            if value.source.type == "workspace":
                fields[value.type] = value.value
    return {address: LiveResource(fields, None) for address, fields in found.items()}


def spend_limits(limits: Sequence[Any], workspaces: Mapping[str, str]) -> dict[str, LiveResource]:
    """The organization's and active workspaces' spend limits by period (the read-only
    usage-tier cap is Anthropic's, not the file's). Amounts are minor units as integers."""
    found = {}
    for limit in limits:
        scope = limit.scope
        if scope.type == "organization":
            address = addresses.make(SPEND_LIMIT, limit.period)
        elif scope.type == "workspace" and scope.workspace_id in workspaces:
            address = addresses.make(
                WORKSPACE_SPEND_LIMIT, workspaces[scope.workspace_id], limit.period
            )
        else:
            continue
        found[address] = LiveResource({"amount": amount(limit.amount)}, None, limit.id)
    return found


def amount(text: str | None) -> int | None:
    if text is None:
        return None
    if not (text.isascii() and text.isdigit()):
        raise TransportError(
            f"The API answered a spend limit's amount as {text[:40]!r}, not a whole number of "
            "minor units; is --base-url the Admin API?"
        )
    return int(text)
