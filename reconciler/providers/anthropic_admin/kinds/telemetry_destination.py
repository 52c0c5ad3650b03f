"""A telemetry destination (``telemetry_destinations:``, keyed by its display name):
where the organization's OpenTelemetry spans go, and whether they carry prompts and
outputs (``traces.content_mode: content``). At most 10. Deleted, never archived. Its
header values (the observability vendor's key) are write-only: the file names the
headers, the operator's file gives the values, bound to the host the operator gave
them for (``providers.kinds.secrets``), and the API drops them all when the
endpoint's host changes. A rename is by ``id:``."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from reconciler.core.errors import ApiError
from reconciler.core.escape import visible
from reconciler.core.model import Action, ResourceChange
from reconciler.core.secret_sink import OperatorSecrets
from reconciler.providers.anthropic_admin import addresses
from reconciler.providers.anthropic_admin.kinds.kind import (
    AdminKind,
    Calls,
    Names,
    id_of,
    live_of,
    offered,
    removed,
)
from reconciler.providers.base import SecretFlag
from reconciler.providers.kinds import secrets as operator_secrets
from reconciler.providers.kinds.spec import (
    Destination,
    Exposure,
    Kind,
    Privilege,
    Removal,
    Secret,
)

NAME = "telemetry_destination"
# Its traces settings are fields of their own (``traces.content_mode``), so each is
# compared, written and read back on its own.
TRACES = "traces."
TRACE_FIELDS = ("content_mode", "enabled", "endpoint_url", "max_content_bytes")
HEADERS = "--telemetry-headers-file"


def wanted(fields: dict[str, Any]) -> dict[str, Any]:
    """Its lists as compared (sorted), and its traces settings as fields."""
    found = {f"{TRACES}{n}": v for n, v in (fields.pop("traces", None) or {}).items()}
    if "header_names" in fields:
        found["header_names"] = sorted(str(n).lower() for n in fields["header_names"])
    scope = fields.get("workspaces")
    if isinstance(scope, Mapping):
        found["workspaces"] = {k: sorted(v) for k, v in scope.items()}
    fields.update(found)
    return fields


def _wider_scope(a: Any, b: Any) -> bool:
    """``b`` exports the spans of a workspace ``a`` does not."""
    if a == "all":
        return False
    if b == "all":
        return True
    ((was_kind, was),) = dict(a or {"include": []}).items()
    ((kind, now),) = dict(b or {"include": []}).items()
    if was_kind == kind == "include":
        return bool(set(now) - set(was))
    if was_kind == kind == "exclude":
        return bool(set(was) - set(now))
    return bool(kind == "exclude")  # from a list of some to all but some


SPEC = Kind(
    name=NAME,
    noun="telemetry destination",
    section=("telemetry_destinations",),
    fields=(
        "endpoint_url",
        "workspaces",
        "enabled",
        "header_names",
        *(f"{TRACES}{n}" for n in TRACE_FIELDS),
    ),
    removal=Removal.DELETE,
    prunable=True,
    removal_loses="its spans stop, and its header values are gone with it",
    security=(
        Destination("endpoint_url", "spans"),
        Destination(f"{TRACES}endpoint_url", "traces"),
        Exposure(f"{TRACES}content_mode", "content", "spans carry prompts and outputs"),
        Privilege("workspaces", "the workspaces whose spans it exports", _wider_scope),
    ),
    secret=Secret(
        "header values", names_field="header_names", host_field="endpoint_url", flag=HEADERS
    ),
    wanted=wanted,
)


async def read(calls: Calls) -> list[Any] | None:
    """Each destination, with the workspace ids on its list (include or exclude)."""
    org = calls.org
    destinations = await offered(
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


def live(item: Any, names: Names) -> tuple[str, dict[str, Any]]:
    destination, listed = item
    scope = destination.workspaces.type
    shown = sorted(names.workspaces.get(w, w) for w in listed)
    return destination.display_name or destination.id, {
        "name": destination.display_name,
        "endpoint_url": destination.endpoint_url,
        "workspaces": "all" if scope == "all" else {scope: shown},
        "enabled": destination.state.type == "enabled",
        "header_names": sorted(destination.header_names),
        **{f"{TRACES}{n}": getattr(destination.traces, n) for n in TRACE_FIELDS},
    }


async def write(calls: Calls, change: ResourceChange, secrets: OperatorSecrets) -> None:
    """Create or update a destination, its header values from the operator's file."""
    org = calls.org
    if change.action.removes:
        await removed(calls, change, org.telemetry_destinations.delete)
        return
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
    live_one = await live_of(calls, change)
    headers: dict[str, str | None] = dict(
        operator_secrets.values_for(
            SPEC, name, change, live_one.fields if live_one else None, secrets
        )
    )
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
                org.telemetry_destinations.update(str(created), state={"type": "disabled"}),
            )
        return
    if live_one is None or live_one.id is None:
        raise ApiError(
            f"{change.address} is not live any more (deleted since the plan?); plan again."
        )
    if headers:
        body["headers"] = headers
        body.setdefault("endpoint_url", live_one.fields["endpoint_url"])
    if "enabled" in after:
        body["state"] = {"type": "enabled" if after["enabled"] else "disabled"}
    await calls.call(
        f"update {change.address}", org.telemetry_destinations.update(str(live_one.id), **body)
    )


async def _scope(calls: Calls, scope: Any) -> dict[str, Any]:
    if scope == "all":
        return {"type": "all"}
    live_now = (await calls.index()).resources
    ((kind, listed),) = dict(scope).items()
    ids = [id_of(live_now, addresses.make(addresses.WORKSPACE, w)) for w in listed]
    return {"type": kind, "workspace_ids": ids}


def _elsewhere(fields: Mapping[str, Any]) -> str | None:
    """A traces endpoint on another scheme, host or port than the destination's: the
    API refuses it, as the SDK documents, since the headers registered for the
    destination's host would go there."""
    endpoint, traces = fields.get("endpoint_url"), fields.get(f"{TRACES}endpoint_url")
    if not endpoint or not traces:
        return None
    ours, theirs = urlsplit(str(endpoint)), urlsplit(str(traces))
    if (ours.scheme, ours.netloc) == (theirs.scheme, theirs.netloc):
        return None
    return (
        f"its traces.endpoint_url ({visible(str(traces))}) is not on the scheme, host and "
        f"port of its endpoint_url ({visible(str(endpoint))}), and the API refuses that, "
        "as the headers registered for one host would go to another; put both on one host"
    )


KIND = AdminKind(
    SPEC,
    oauth_only=False,
    read=read,
    live=live,
    write=write,
    refused=_elsewhere,
    ident=lambda item: (str(item[0].id), str(item[0].display_name or item[0].id)),
    flags=(
        SecretFlag(
            HEADERS,
            "values",
            "Read telemetry destinations' header values (write-only: the file names only "
            'the headers) from this JSON file: {destination: {"host": HOST, "values": '
            "{header: value}}}; each is sent only to the host (and port) its entry names.",
            "telemetry header value",
        ),
    ),
)
